"""model_source: the live model from the command line over env.yaml, the API key from config or environment."""

from __future__ import annotations

import asyncio

import pytest

from gym_conform.errors import ConfigError, ProblemsFound
from gym_conform.live.model_setup import ModelSource, model_source
from gym_conform.models.vllm import VLLMModelClient

SECRET = "sk-live-0123456789abcdef"


@pytest.fixture(autouse=True)
def no_host_keys(monkeypatch):
    for name in ("POLICY_API_KEY", "OPENAI_API_KEY", "NEMO_GYM_EXTRA_ROOTS"):
        monkeypatch.delenv(name, raising=False)


def source(root, env_yaml: str | None = None, **options) -> ModelSource | None:
    (root / "env.yaml").write_text(env_yaml or "")
    return model_source(roots=[root], **options)


def test_env_yaml_names_the_model_as_for_ng_prepare_data(tmp_path):
    env = f"policy_base_url: http://gpu-box:8000/v1/\npolicy_model_name: qwen\npolicy_api_key: {SECRET}\n"

    found = source(tmp_path, env)

    assert found.config.base_url == ["http://gpu-box:8000/v1"]
    assert found.config.model == "qwen"
    assert found.config.api_key.get_secret_value() == SECRET
    assert (found.config.uses_reasoning_parser, found.config.return_token_id_information) == (True, False)
    assert SECRET not in repr(found) and SECRET not in found.describe()
    assert found.describe() == "qwen at http://gpu-box:8000/v1"


def test_command_line_values_win_over_env_yaml(tmp_path):
    env = "policy_base_url: http://gpu-box:8000/v1\npolicy_model_name: qwen\n"

    found = source(tmp_path, env, base_url="http://other:9000/v1", model_name="llama", concurrency=4)

    assert (found.config.base_url, found.config.model, found.config.concurrency) == (
        ["http://other:9000/v1"],
        "llama",
        4,
    )


def test_the_model_block_of_env_yaml_tunes_the_client(tmp_path):
    env = (
        "policy_base_url: [http://a:8000/v1, http://b:8000/v1]\npolicy_model_name: qwen\n"
        "policy_model:\n  responses_api_models:\n    vllm_model:\n      max_retries: 0\n"
        "      uses_reasoning_parser: false\n"
    )

    found = source(tmp_path, env)

    assert found.config.max_retries == 0 and found.config.uses_reasoning_parser is False
    assert found.describe() == "qwen at http://a:8000/v1 (+1 replica(s))"


def test_the_api_key_falls_back_to_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("POLICY_API_KEY", SECRET)

    found = source(tmp_path, base_url="http://h:1/v1", model_name="m")

    assert found.config.api_key.get_secret_value() == SECRET


def test_no_url_anywhere_means_no_model(tmp_path):
    assert source(tmp_path, "hf_token: x\n") is None
    assert source(tmp_path, model_name="qwen") is None


def test_a_url_without_a_model_name_says_where_to_set_it(tmp_path):
    with pytest.raises(ConfigError) as raised:
        source(tmp_path, "policy_base_url: http://gpu-box:8000/v1\n")

    assert raised.value.code == "config.model.name_missing"
    assert raised.value.location.path.endswith("env.yaml")
    assert "--gym-model-name" in raised.value.hint


def test_an_invalid_url_is_a_located_problem(tmp_path):
    with pytest.raises(ProblemsFound) as raised:
        source(tmp_path, base_url="gpu-box:8000", model_name="m")

    (problem,) = raised.value.problems
    assert problem.location.field == "base_url" and "policy_base_url" in problem.hint


def test_vllm_serve_points_the_client_at_its_own_loopback_port(tmp_path):
    found = source(tmp_path, "policy_base_url: http://ignored:1/v1\n", vllm_serve="/models/qwen", vllm_args=["--x"])

    assert found.serve is not None and found.serve.extra_args == ["--x"]
    assert found.config.base_url == [found.serve.base_url]
    assert found.config.base_url[0].startswith("http://127.0.0.1:")
    assert found.config.model == "/models/qwen"
    assert found.describe().endswith("started with `vllm serve /models/qwen`")


def test_a_url_and_a_model_to_serve_conflict(tmp_path):
    with pytest.raises(ConfigError) as raised:
        source(tmp_path, base_url="http://h:1/v1", vllm_serve="/models/qwen")

    assert raised.value.code == "config.model.conflict"


def test_open_gives_a_new_client_each_time(tmp_path):
    found = source(tmp_path, base_url="http://h:1/v1", model_name="m")

    first, second = found.open(), found.open()

    assert isinstance(first, VLLMModelClient) and first is not second
    asyncio.run(first.aclose())
    asyncio.run(second.aclose())
