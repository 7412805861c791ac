"""NeMo Gym 0.7.0's config vocabulary: environment servers, datasets on resources servers, overlays, pairing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gym_conform.core.config.loader import NO_MODEL_DEFAULTS, load_config
from gym_conform.core.config.schema import ServerConfig, parse_server_config
from gym_conform.core.config.schema_datasets import validate_dataset
from gym_conform.core.rows import check_row
from gym_conform.errors import ProblemsFound

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures070" / "configs"


@pytest.fixture
def configs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the hand-made 0.7.0-style configs in a fresh working directory."""
    shutil.copytree(FIXTURES, tmp_path / "configs")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def parsed(root: Path, *names: str) -> ServerConfig:
    cfg = load_config({"config_paths": [f"configs/{n}" for n in names]}, initial=NO_MODEL_DEFAULTS, roots=[root])
    return parse_server_config(cfg)


def problems(root: Path, *names: str) -> list:
    with pytest.raises(ProblemsFound) as info:
        parsed(root, *names)
    return info.value.problems


def test_environment_server_is_a_server_type_whose_refs_resolve(configs: Path) -> None:
    result = parsed(configs, "weather.yaml", "weather_judge.yaml")
    types = {i.name: i.server_type for i in result.instances}
    assert types["weather_environment_server"] == "environment_servers"
    text = (configs / "configs/weather.yaml").read_text().replace("name: weather_simple_agent", "name: nobody")
    (configs / "configs/weather.yaml").write_text(text)
    (problem,) = problems(configs, "weather.yaml", "weather_judge.yaml")
    assert problem.code == "config.bad_ref" and "responses_api_agents/'nobody'" in problem.message
    assert problem.location.path.endswith("weather.yaml") and problem.location.line == 39


def test_datasets_on_the_resources_server_with_070_keys_are_read(configs: Path) -> None:
    result = parsed(configs, "weather.yaml", "weather_judge.yaml")
    weather = next(i for i in result.instances if i.name == "weather")
    example, bench = weather.datasets
    assert example.prepare_dependencies == ["numpy"] and example.prepare_script == "weather/prepare.py"
    # 0.7.0 leaves preparation and routing out of a dataset's metrics, and keeps set ones in the type's.
    assert "prepare_script" not in example.metrics_fields() and "agent" not in example.metrics_fields()
    assert example.type_metrics_fields()["prepare_dependencies"] == ["numpy"]
    assert bench.type == "benchmark"


def test_a_benchmark_license_is_a_warning_not_an_error(configs: Path) -> None:
    result = parsed(configs, "weather.yaml", "weather_judge.yaml")
    (warning,) = result.warnings
    assert warning.code == "dataset.benchmark_license" and warning.location.line == 22
    assert "Creative Commons Attribution 4.0 International" in warning.message


def test_taskset_and_agent_keys_are_known_and_unknown_keys_still_fail() -> None:
    base = {"name": "e", "type": "example", "jsonl_fpath": "e.jsonl"}
    model, issues = validate_dataset({**base, "taskset": "env:example", "agent": "a"})
    assert issues == [] and model.taskset == "env:example"
    assert model.model_dump(mode="json").keys() >= {"taskset", "agent"}
    assert "taskset" not in model.metrics_fields()
    plain, _ = validate_dataset(base)
    assert "taskset" not in plain.model_dump(mode="json")  # a 0.5 entry dumps as before
    _, issues = validate_dataset({**base, "tasksett": "x"})
    assert [(i.code, i.path) for i in issues] == [("dataset.unknown_key", ("tasksett",))]
    assert "Did you mean 'taskset'?" in issues[0].hint
    _, issues = validate_dataset({**base, "taskset": ""})
    assert [i.path for i in issues] == [("taskset",)]


def test_datasets_on_a_model_server_are_an_error(configs: Path) -> None:
    text = (configs / "configs/weather_judge.yaml").read_text()
    text += "      datasets:\n        - {name: example, type: example, jsonl_fpath: x.jsonl}\n"
    (configs / "configs/weather_judge.yaml").write_text(text)
    (problem,) = problems(configs, "weather.yaml", "weather_judge.yaml")
    assert problem.code == "config.datasets_on_model" and "'weather_judge'" in problem.message


def test_an_overlay_alone_is_a_note_and_merges_over_its_server(configs: Path) -> None:
    alone = parsed(configs, "weather_local_judge.yaml")
    assert [i.name for i in alone.instances] == ["weather_local_judge", "policy_model"]
    (note,) = alone.notes
    assert note.code == "config.overlay" and "'weather' has no entrypoint" in note.message
    both = parsed(configs, "weather.yaml", "weather_local_judge.yaml")
    weather = next(i for i in both.instances if i.name == "weather")
    assert weather.fields["judge_model_server"]["name"] == "weather_local_judge"
    assert weather.fields["domain"] == "agent" and both.notes == []


def test_a_copy_of_policy_model_leaves_no_placeholder_beside_the_real_model(configs: Path) -> None:
    result = parsed(configs, "simulator.yaml", "policy_vllm.yaml")
    models = {i.name: (i.implementation, i.fields) for i in result.instances if i.server_type == "responses_api_models"}
    assert models["simulator_model"][0] == "vllm_model" and models["policy_model"][0] == "vllm_model"
    assert models["simulator_model"][1]["base_url"] == "http://127.0.0.1:8000/v1"


def test_a_model_defined_in_another_config_is_reported_as_needs_config(configs: Path) -> None:
    (problem,) = problems(configs, "weather.yaml")
    assert problem.code == "config.needs_config"
    assert "needs config configs/weather_judge.yaml" in problem.message
    assert "+config_paths=[<your configs>,configs/weather_judge.yaml]" in problem.hint
    (configs / "configs/weather_judge.yaml").unlink()
    (problem,) = problems(configs, "weather.yaml")
    assert problem.code == "config.bad_ref"


def test_allowed_model_types_refuse_another_model_unless_waived(configs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = configs / "configs/weather.yaml"
    path.write_text(path.read_text().replace("allowed_agents: [simple_agent]", "allowed_model_types: [openai_model]"))
    assert parsed(configs, "weather.yaml", "weather_judge.yaml").instances  # dummy_model is never refused
    (problem,) = problems(configs, "weather.yaml", "weather_judge.yaml", "policy_vllm.yaml")
    assert problem.code == "config.unsupported_model_pairing" and "(type 'vllm_model')" in problem.message
    monkeypatch.setenv("NEMO_GYM_ALLOW_UNSUPPORTED_PAIRING", "1")
    assert parsed(configs, "weather.yaml", "weather_judge.yaml", "policy_vllm.yaml").instances


def test_allowed_agents_that_omit_the_paired_agent_warn_and_a_bad_shape_fails(configs: Path) -> None:
    path = configs / "configs/weather.yaml"
    path.write_text(path.read_text().replace("allowed_agents: [simple_agent]", "allowed_agents: [hermes_agent]"))
    codes = [w.code for w in parsed(configs, "weather.yaml", "weather_judge.yaml").warnings]
    assert "config.unlisted_agent_pairing" in codes
    path.write_text(path.read_text().replace("allowed_agents: [hermes_agent]", "allowed_agents: {a: 1}"))
    (problem,) = problems(configs, "weather.yaml", "weather_judge.yaml")
    assert problem.code == "config.allowed_agents" and problem.location.line == 7


def test_the_seven_070_request_fields_are_valid_in_rows() -> None:
    params = {
        "input": "hi",
        "context_management": [{"type": "compaction", "compact_threshold": 1000}],
        "conversation": {"id": "conv_1"},
        "moderation": {"model": "omni-moderation-latest"},
        "prompt_cache_key": "k",
        "prompt_cache_retention": "24h",
        "safety_identifier": "user-1",
        "stream_options": {"include_obfuscation": False},
    }
    assert check_row({"responses_create_params": params}) == []
    issues = check_row({"responses_create_params": {**params, "prompt_cache_retention": "1h"}})
    assert [i.field for i in issues] == ["responses_create_params.prompt_cache_retention"]
