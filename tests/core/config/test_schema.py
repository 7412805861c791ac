"""Tests for server-instance validation: shapes, domains, references, and collect-all problem reports."""

import pytest

from gym_conform.core.config.loader import NO_MODEL_DEFAULTS, LoadedConfig, load_config
from gym_conform.core.config.schema import Domain, ServerInstance, parse_server_instances
from gym_conform.errors import ProblemsFound

SERVER = """\
weather:
  resources_servers:
    weather:
      entrypoint: app.py
      domain: agent
      verified: true
      verified_url: https://example.com/run
      num_processes: 4
weather_agent:
  responses_api_agents:
    simple_agent:
      entrypoint: app.py
      resources_server:
        type: resources_servers
        name: weather
      model_server:
        type: responses_api_models
        name: policy_model
      datasets:
      - name: example
        type: example
        jsonl_fpath: data/example.jsonl
"""

BROKEN = """\
judge:
  resources_servers:
    judge:
      entrypoint: app.py
      domain: maths
      judge_model_server:
        type: responses_api_models
        name: policy_modle
judge_agent:
  responses_api_agents:
    simple_agent:
      entrypoint: app.py
      resources_server:
        type: resources_servers
        name: judge
      datasets:
      - name: train
        type: train
        jsonl_fpath: data/train.jsonl
        license: Apache-2.0
      - name: validation
        type: validation
        jsonl_fpath: data/validation.jsonl
        num_repeats: 0
"""

SECOND_FILE = """\
other_agent:
  responses_api_agents:
    simple_agent:
      entrypoint: app.py
      datasets:
      - name: example
        type: example
        jsonl_fpath: data/example.jsonl
        licence: MIT
"""


def load_text(tmp_path, monkeypatch, *texts: str) -> LoadedConfig:
    monkeypatch.chdir(tmp_path)
    names = []
    for index, text in enumerate(texts):
        names.append(f"c{index}.yaml")
        (tmp_path / names[-1]).write_text(text)
    return load_config({"config_paths": names}, initial=NO_MODEL_DEFAULTS, roots=[tmp_path])


def problems_of(cfg: LoadedConfig):
    with pytest.raises(ProblemsFound) as info:
        parse_server_instances(cfg)
    return info.value.problems


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def test_domain_has_nemo_gyms_twelve_values():
    assert [d.value for d in Domain] == [
        "math", "coding", "agent", "knowledge", "instruction_following", "long_context",
        "safety", "games", "translation", "e2e", "rlhf", "other",
    ]  # fmt: skip


def test_valid_servers_keep_config_order_and_every_extra_field(tmp_path, monkeypatch):
    instances = parse_server_instances(load_text(tmp_path, monkeypatch, SERVER))
    assert [i.name for i in instances] == ["weather", "weather_agent", "policy_model"]
    weather = instances[0]
    assert weather == ServerInstance(
        "weather",
        "resources_servers",
        "weather",
        {
            "entrypoint": "app.py",
            "domain": "agent",
            "verified": True,
            "verified_url": "https://example.com/run",
            "num_processes": 4,
        },
        [],
    )
    assert [d.name for d in instances[1].datasets] == ["example"]


def test_reserved_and_non_server_top_level_keys_are_not_servers(tmp_path, monkeypatch):
    extra = "hf_token: hf_x\noutput_dirpath: data\nhead_server:\n  host: 0.0.0.0\nnotes:\n  a: 1\n"
    instances = parse_server_instances(load_text(tmp_path, monkeypatch, SERVER + extra))
    assert [i.name for i in instances] == ["weather", "weather_agent", "policy_model"]


def test_missing_domain_on_a_resources_server(tmp_path, monkeypatch):
    text = SERVER.replace("      domain: agent\n", "")
    (problem,) = problems_of(load_text(tmp_path, monkeypatch, text))
    assert problem.code == "config.domain.missing"
    assert problem.message == "A domain is required for resources servers."
    assert problem.location.field == "weather.resources_servers.weather.domain"
    assert problem.location.line == line_of(text, "    weather:")


def test_domain_is_not_required_on_agents_or_models(tmp_path, monkeypatch):
    text = SERVER.replace(
        "      entrypoint: app.py\n      resources_server:",
        "      entrypoint: app.py\n      domain: nonsense\n      resources_server:",
    )
    assert len(parse_server_instances(load_text(tmp_path, monkeypatch, text))) == 3


def test_bad_domain_names_the_valid_ones(tmp_path, monkeypatch):
    (problem,) = problems_of(load_text(tmp_path, monkeypatch, SERVER.replace("domain: agent", "domain: agents")))
    assert problem.code == "config.domain.invalid"
    assert "instruction_following" in problem.message and "rlhf" in problem.message
    assert "Did you mean 'agent'?" in problem.hint


def test_two_implementations_in_one_instance(tmp_path, monkeypatch):
    text = SERVER + "    second_impl:\n      entrypoint: app.py\n"
    (problem,) = problems_of(load_text(tmp_path, monkeypatch, text))
    assert problem.code == "config.server.implementations"
    assert "found 2: simple_agent, second_impl" in problem.message
    assert problem.location.line == line_of(text, "  responses_api_agents:")


def test_a_block_that_looks_like_a_server_but_lacks_entrypoint_is_reported(tmp_path, monkeypatch):
    text = SERVER.replace("    weather:\n      entrypoint: app.py\n", "    weather:\n      entrypiont: app.py\n")
    (problem,) = problems_of(load_text(tmp_path, monkeypatch, text))
    assert problem.code == "config.server.missing_field"
    assert problem.location.field == "weather.resources_servers.weather.entrypoint"


def test_bad_reference_suggests_the_closest_instance(tmp_path, monkeypatch):
    text = SERVER.replace("name: weather\n", "name: wether\n")
    (problem,) = problems_of(load_text(tmp_path, monkeypatch, text))
    assert problem.code == "config.bad_ref"
    assert problem.message == (
        "In server instance 'weather_agent', field 'resources_server' references resources_servers/'wether', "
        "which is not defined in the merged config."
    )
    assert problem.hint == "Did you mean: 'weather'?"
    assert problem.location.line == line_of(text, "name: wether")


def test_reference_to_an_instance_of_another_type(tmp_path, monkeypatch):
    text = SERVER.replace("name: weather\n", "name: weather_agent\n")
    (problem,) = problems_of(load_text(tmp_path, monkeypatch, text))
    assert problem.hint.startswith("'weather_agent' is a responses_api_agents instance.")


def test_without_no_model_defaults_policy_model_is_an_undefined_reference(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.yaml").write_text(SERVER)
    cfg = load_config({"config_paths": ["c.yaml"]}, roots=[tmp_path])
    (problem,) = problems_of(cfg)
    assert problem.code == "config.bad_ref"
    assert "responses_api_models/'policy_model'" in problem.message
    assert problem.hint.startswith("Available responses_api_models: (none). No config beside this one defines")


def test_every_problem_in_every_file_is_reported_with_its_file_and_line(tmp_path, monkeypatch):
    problems = problems_of(load_text(tmp_path, monkeypatch, BROKEN, SECOND_FILE))
    found = [(p.code, p.location.path, p.location.line, p.location.field) for p in problems]
    agent = "judge_agent.responses_api_agents.simple_agent"
    assert found == [
        ("config.domain.invalid", "c0.yaml", line_of(BROKEN, "domain: maths"), "judge.resources_servers.judge.domain"),
        ("config.bad_ref", "c0.yaml", line_of(BROKEN, "name: policy_modle"),
         "judge.resources_servers.judge.judge_model_server.name"),
        ("license.invalid", "c0.yaml", line_of(BROKEN, "license: Apache-2.0"), f"{agent}.datasets[0].license"),
        ("dataset.num_repeats", "c0.yaml", line_of(BROKEN, "num_repeats: 0"), f"{agent}.datasets[1].num_repeats"),
        ("license.missing", "c0.yaml", line_of(BROKEN, "- name: validation"), f"{agent}.datasets[1].license"),
        ("dataset.unknown_key", "c1.yaml", line_of(SECOND_FILE, "licence: MIT"),
         "other_agent.responses_api_agents.simple_agent.datasets[0].licence"),
    ]  # fmt: skip
    rendered = ProblemsFound(problems).render()
    assert (
        "c0.yaml:20: judge_agent.responses_api_agents.simple_agent.datasets[0].license: "
        "'Apache-2.0' is not a valid license [license.invalid]" in rendered
    )
    assert "hint: Use 'Apache 2.0'" in rendered
