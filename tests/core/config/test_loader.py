"""Tests for config loading: includes, env.yaml, precedence, key order, directives, `???`, interpolation."""

import os
from pathlib import Path

import pytest

from gym_conform.core.config.loader import (
    NO_MODEL_DEFAULTS,
    LoadedConfig,
    load_config,
    resolve_read_path,
    search_roots,
)
from gym_conform.core.config.schema import parse_server_instances
from gym_conform.errors import ConfigError, ProblemsFound

# resources_servers/math_with_judge/configs/openmathinstruct2.yaml, verbatim from the custom-dataset tutorial.
OPENMATHINSTRUCT2_YAML = """\
math_with_judge:
  resources_servers:
    math_with_judge:
      entrypoint: app.py
      judge_model_server:
        type: responses_api_models
        name: policy_model
      judge_responses_create_params: {
        input: []
      }
      should_use_judge: false
      domain: math
      verified: false
      description: Open math dataset with math-verify
      value: Improve math capabilities
math_with_judge_simple_agent:
  responses_api_agents:
    simple_agent:
      entrypoint: app.py
      resources_server:
        type: resources_servers
        name: math_with_judge
      model_server:
        type: responses_api_models
        name: policy_model
      datasets:
      - name: train
        type: train
        jsonl_fpath: train.jsonl
        license: Creative Commons Attribution 4.0 International
      - name: validation
        type: validation
        jsonl_fpath: validation.jsonl
        license: Creative Commons Attribution 4.0 International
"""

# Shaped like resources_servers/example_multi_step/configs/example_multi_step.yaml (data-format seed).
EXAMPLE_MULTI_STEP_YAML = """\
example_multi_step_resources_server:
  resources_servers:
    example_multi_step:
      entrypoint: app.py
      domain: instruction_following
      verified: false
      description: Multi-step tool calling
example_multi_step_simple_agent:
  responses_api_agents:
    simple_agent:
      entrypoint: app.py
      resources_server:
        type: resources_servers
        name: example_multi_step_resources_server
      model_server:
        type: responses_api_models
        name: policy_model
      datasets:
      - name: train
        type: train
        jsonl_fpath: resources_servers/example_multi_step/data/train.jsonl
        num_repeats: 1
        gitlab_identifier:
          dataset_name: example_multi_step
          version: 0.0.1
          artifact_fpath: train.jsonl
        license: Apache 2.0
      - name: validation
        type: validation
        jsonl_fpath: resources_servers/example_multi_step/data/validation.jsonl
        num_repeats: 1
        source:
          type: gitlab
          dataset_name: example_multi_step
          version: 0.0.1
          artifact_fpath: validation.jsonl
        license: Apache 2.0
      - name: example
        type: example
        jsonl_fpath: resources_servers/example_multi_step/data/example.jsonl
        num_repeats: 1
"""

VLLM_MODEL_YAML = """\
policy_model:
  responses_api_models:
    vllm_model:
      entrypoint: app.py
      base_url: ${policy_base_url}
      api_key: ${policy_api_key}
      model: ${policy_model_name}
      return_token_id_information: true
      uses_reasoning_parser: true
"""

MODEL = "responses_api_models/vllm_model/configs/vllm_model_for_training.yaml"
SERVER = "resources_servers/example_multi_step/configs/example_multi_step.yaml"
TUTORIAL = "resources_servers/math_with_judge/configs/openmathinstruct2.yaml"


@pytest.fixture
def root(tmp_path, monkeypatch):
    """A repo-like directory holding the real-shaped configs; cwd for the test."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NEMO_GYM_EXTRA_ROOTS", raising=False)
    write(tmp_path, MODEL, VLLM_MODEL_YAML)
    write(tmp_path, SERVER, EXAMPLE_MULTI_STEP_YAML)
    write(tmp_path, TUTORIAL, OPENMATHINSTRUCT2_YAML)
    return tmp_path


def write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def load(root: Path, *paths: str, initial=None, **cli) -> LoadedConfig:
    return load_config({"config_paths": list(paths), **cli}, initial=initial, roots=[root])


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


# --- real-shaped configs -------------------------------------------------------------------------------


def test_tutorial_config_loads_without_a_model_config(root):
    cfg = load(root, TUTORIAL, initial=NO_MODEL_DEFAULTS)
    instances = parse_server_instances(cfg)
    # Like NeMo Gym, the no-model defaults come after the files' keys (they ride with the command line).
    assert [(i.name, i.server_type, i.implementation) for i in instances] == [
        ("math_with_judge", "resources_servers", "math_with_judge"),
        ("math_with_judge_simple_agent", "responses_api_agents", "simple_agent"),
        ("policy_model", "responses_api_models", "dummy_model"),
    ]
    judge, agent = instances[0], instances[1]
    assert [(d.name, d.type, d.license) for d in agent.datasets] == [
        ("train", "train", "Creative Commons Attribution 4.0 International"),
        ("validation", "validation", "Creative Commons Attribution 4.0 International"),
    ]
    assert judge.fields["judge_responses_create_params"] == {"input": []}
    assert judge.fields["value"] == "Improve math capabilities"
    assert cfg.data["config_paths"] == [TUTORIAL]


def test_tutorial_config_with_the_vllm_model_keeps_one_model_implementation(root):
    cfg = load(root, MODEL, TUTORIAL, initial=NO_MODEL_DEFAULTS, policy_base_url="http://h:8000/v1")
    implementations = cfg.data["policy_model"]["responses_api_models"]
    assert list(implementations) == ["vllm_model"]
    assert implementations["vllm_model"]["base_url"] == "http://h:8000/v1"
    assert implementations["vllm_model"]["model"] == ""
    names = [i.name for i in parse_server_instances(cfg)]
    assert names == ["policy_model", "math_with_judge", "math_with_judge_simple_agent"]


def test_no_model_defaults_never_override_configured_values(root):
    write(root, "env.yaml", "policy_base_url: http://from-env/v1\n")
    cfg = load(root, MODEL, TUTORIAL, initial=NO_MODEL_DEFAULTS)
    assert cfg.data["policy_model"]["responses_api_models"]["vllm_model"]["base_url"] == "http://from-env/v1"
    assert cfg.data["policy_api_key"] == ""


def test_seed_quick_start_configs_load(root):
    cfg = load(root, MODEL, SERVER, initial=NO_MODEL_DEFAULTS)
    agent = next(i for i in parse_server_instances(cfg) if i.server_type == "responses_api_agents")
    assert [d.name for d in agent.datasets] == ["train", "validation", "example"]
    assert cfg.files == [root / MODEL, root / SERVER]
    location = cfg.locate(["example_multi_step_simple_agent", "responses_api_agents", "simple_agent", "datasets", 2])
    assert location.path == SERVER
    assert location.line == line_of(EXAMPLE_MULTI_STEP_YAML, "- name: example")


def test_no_model_dummy_stays_when_no_model_config_is_given(root):
    cfg = load(root, SERVER, initial=NO_MODEL_DEFAULTS)
    assert cfg.data["policy_model"] == {"responses_api_models": {"dummy_model": {"entrypoint": "app.py"}}}
    assert cfg.data["policy_base_url"] == ""


def test_model_config_without_defaults_needs_policy_values(root):
    with pytest.raises(ProblemsFound) as info:
        load(root, MODEL)
    messages = [p.message for p in info.value.problems]
    assert (
        "Config value 'policy_model.responses_api_models.vllm_model.base_url' references 'policy_base_url', "
        "which is not set after merging." in messages
    )
    assert len(messages) == 3
    first = info.value.problems[0]
    assert first.code == "config.interpolation"
    assert first.hint == (
        "Provide it via a CLI override, in env.yaml, or in a config passed via config_paths, "
        "e.g. ++policy_base_url=<value>"
    )
    assert (first.location.path, first.location.line) == (MODEL, line_of(VLLM_MODEL_YAML, "base_url"))


# --- includes, precedence and order --------------------------------------------------------------------


def test_includes_are_loaded_breadth_first_and_merged_in_post_order(root):
    write(root, "top.yaml", "config_paths: [a.yaml, b.yaml]\nx: top\n")
    write(root, "a.yaml", "config_paths: [a_inner.yaml]\nx: a\ny: a\nonly_a: 1\n")
    write(root, "a_inner.yaml", "x: a_inner\ny: a_inner\nz: a_inner\n")
    write(root, "b.yaml", "config_paths: [b_inner.yaml, a_inner.yaml]\ny: b\n")
    write(root, "b_inner.yaml", "z: b_inner\nw: b_inner\n")
    cfg = load(root, "top.yaml")
    assert cfg.data["config_paths"] == ["top.yaml", "a.yaml", "b.yaml", "a_inner.yaml", "b_inner.yaml"]
    assert cfg.files == [root / n for n in ["a_inner.yaml", "a.yaml", "b_inner.yaml", "b.yaml", "top.yaml"]]
    # A config overrides what it included; a later sibling (and its includes) overrides an earlier one.
    assert (cfg.data["x"], cfg.data["y"], cfg.data["z"], cfg.data["w"]) == ("top", "b", "b_inner", "b_inner")
    assert cfg.locate(["y"]).path == "b.yaml"


def test_command_line_beats_env_yaml_beats_config_files(root):
    write(root, "c.yaml", "a: file\nb: file\nc: file\n")
    write(root, "env.yaml", "b: env\nc: env\n")
    cfg = load(root, "c.yaml", c="cli")
    assert (cfg.data["a"], cfg.data["b"], cfg.data["c"]) == ("file", "env", "cli")
    assert cfg.locate(["b"]).path == "env.yaml"
    assert cfg.locate(["c"]).path == "<command line>"
    assert cfg.files == [root / "c.yaml", root / "env.yaml"]


def test_env_yaml_may_hold_config_paths(root):
    write(root, "env.yaml", f"config_paths: [{SERVER}]\n")
    cfg = load_config({}, initial=NO_MODEL_DEFAULTS, roots=[root])
    assert "example_multi_step_simple_agent" in cfg.data
    assert cfg.data["config_paths"] == [SERVER]


def test_first_seen_key_order_is_kept(root):
    write(root, "one.yaml", "zeta_agent: 1\nalpha_agent: 1\n")
    write(root, "two.yaml", "mid_agent: 2\nzeta_agent: 2\n")
    cfg = load(root, "one.yaml", "two.yaml")
    assert list(cfg.data) == ["zeta_agent", "alpha_agent", "mid_agent", "config_paths"]
    assert cfg.data["zeta_agent"] == 2


# --- interpolation and ??? -----------------------------------------------------------------------------


def test_oc_env_reads_the_environment_or_its_default(root, monkeypatch):
    write(root, "c.yaml", "set: ${oc.env:GYM_TEST_SET,fallback}\nunset: ${oc.env:GYM_TEST_UNSET,fallback}\n")
    monkeypatch.setenv("GYM_TEST_SET", "from-env")
    monkeypatch.delenv("GYM_TEST_UNSET", raising=False)
    cfg = load(root, "c.yaml")
    assert (cfg.data["set"], cfg.data["unset"]) == ("from-env", "fallback")


def test_oc_env_without_default_names_the_variable(root, monkeypatch):
    monkeypatch.delenv("GYM_TEST_UNSET", raising=False)
    write(root, "c.yaml", "a: ${oc.env:GYM_TEST_UNSET}\n")
    with pytest.raises(ConfigError) as info:
        load(root, "c.yaml")
    assert info.value.code == "config.interpolation"
    assert "GYM_TEST_UNSET" in info.value.message
    assert "Traceback" not in info.value.render()


def test_unresolvable_reference_message(root):
    write(root, "c.yaml", "a:\n  b: ${nope.key}\n")
    with pytest.raises(ConfigError) as info:
        load(root, "c.yaml")
    assert info.value.message == "Config value 'a.b' references 'nope.key', which is not set after merging."
    assert info.value.hint.endswith("e.g. ++nope.key=<value>")
    assert (info.value.location.path, info.value.location.line) == ("c.yaml", 2)


def test_bad_interpolation_syntax_is_a_config_error(root):
    write(root, "c.yaml", "x: 1\na: ${oops\n")
    with pytest.raises(ConfigError) as info:
        load(root, "c.yaml")
    assert info.value.code == "config.interpolation"
    assert (info.value.location.path, info.value.location.line) == ("c.yaml", 2)


def test_every_unset_value_is_listed_in_one_error(root):
    write(root, "c.yaml", "agent:\n  resources_server:\n    name: ???\n  other: ???\nlist:\n- 1\n- ???\n")
    with pytest.raises(ConfigError) as info:
        load(root, "c.yaml")
    error = info.value
    assert error.code == "config.missing_value"
    assert error.message.startswith("3 required config value(s) are unset (still '???') after merging:")
    for key in ["agent.resources_server.name", "agent.other", "list[1]"]:
        assert f"  - {key}" in error.message
        assert f"++{key}=<value>" in error.hint
    assert "c.yaml:3" in error.message
    assert (error.location.path, error.location.line) == ("c.yaml", 3)


def test_an_override_fills_a_missing_value(root):
    write(root, "c.yaml", "agent:\n  name: ???\n")
    assert load(root, "c.yaml", agent={"name": "x"}).data["agent"] == {"name": "x"}


# --- errors about files --------------------------------------------------------------------------------


def test_missing_config_path_lists_roots_and_suggests_close_names(root, tmp_path_factory):
    other = tmp_path_factory.mktemp("extra")
    with pytest.raises(ConfigError) as info:
        load_config({"config_paths": [SERVER.replace("multi_step.yaml", "multistep.yaml")]}, roots=[other, root])
    error = info.value
    assert error.code == "config.not_found"
    assert error.message == (
        "config_paths entry 'resources_servers/example_multi_step/configs/example_multistep.yaml' was not found. "
        f"Looked in:\n  - {other}\n  - {root}"
    )
    assert SERVER in error.hint
    assert (error.location.path, error.location.field) == ("<command line>", "config_paths[0]")


def test_missing_nested_include_points_at_the_including_line(root):
    write(root, "top.yaml", "x: 1\nconfig_paths:\n  - gone.yaml\n")
    with pytest.raises(ConfigError) as info:
        load(root, "top.yaml")
    assert (info.value.location.path, info.value.location.line) == ("top.yaml", 3)


def test_yaml_syntax_error_in_an_included_file(root):
    write(root, "bad.yaml", "a: 1\n  b: 2\n")
    with pytest.raises(ConfigError) as info:
        load(root, "bad.yaml")
    assert info.value.code == "config.yaml"
    assert info.value.location.line == 2
    assert str(root / "bad.yaml") in info.value.location.path


def test_top_level_must_be_a_mapping(root):
    write(root, "list.yaml", "- a\n- b\n")
    with pytest.raises(ConfigError) as info:
        load(root, "list.yaml")
    assert info.value.code == "config.not_mapping"
    assert "list" in info.value.message


@pytest.mark.parametrize("given", ["a.yaml", [1, 2], {"a": "b.yaml"}])
def test_config_paths_must_be_a_list_of_strings(root, given):
    with pytest.raises(ConfigError) as info:
        load_config({"config_paths": given}, roots=[root])
    assert info.value.code == "config.paths_not_list"
    assert repr(given) in info.value.message


def test_unsupported_yaml_values_become_config_errors(root):
    write(root, "c.yaml", "name: x\nreleased: 2024-01-01\n")
    with pytest.raises(ConfigError) as info:
        load(root, "c.yaml")
    assert info.value.code == "config.invalid_value"
    assert (info.value.location.path, info.value.location.line) == ("c.yaml", 2)


def test_a_mapping_over_a_list_is_a_located_merge_error(root):
    write(root, "c.yaml", "agent:\n  datasets:\n  - name: train\n")
    with pytest.raises(ConfigError) as info:
        load(root, "c.yaml", agent={"datasets": {"0": {"license": "MIT"}}})
    assert info.value.code == "config.merge"
    assert (info.value.location.path, info.value.location.field) == ("<command line>", "agent.datasets")
    assert "list" in info.value.message and "mapping" in info.value.message


# --- directives through the loader ---------------------------------------------------------------------


def test_inherit_from_with_overrides_and_located_keys(root):
    text = (
        f"config_paths: [{TUTORIAL}]\naime_server:\n  _inherit_from: math_with_judge\n"
        "  resources_servers:\n    math_with_judge:\n      domain: knowledge\n"
    )
    write(root, "bench.yaml", text)
    cfg = load(root, "bench.yaml", initial=NO_MODEL_DEFAULTS)
    assert "math_with_judge" not in cfg.data
    block = cfg.data["aime_server"]["resources_servers"]["math_with_judge"]
    assert (block["domain"], block["should_use_judge"]) == ("knowledge", False)
    domain = cfg.locate(["aime_server", "resources_servers", "math_with_judge", "domain"])
    assert (domain.path, domain.line) == ("bench.yaml", 6)
    inherited = cfg.locate(["aime_server", "resources_servers", "math_with_judge", "should_use_judge"])
    assert (inherited.path, inherited.line) == (TUTORIAL, line_of(OPENMATHINSTRUCT2_YAML, "should_use_judge"))


def test_copy_and_delete_key_through_the_loader(root):
    write(root, "c.yaml", "g:\n  a: 1\n  b: 2\nc: ${copy:g}\nd:\n  _copy: g\n  _delete_key: b\n")
    cfg = load(root, "c.yaml")
    assert (cfg.data["g"], cfg.data["c"], cfg.data["d"]) == ({"a": 1, "b": 2}, {"a": 1, "b": 2}, {"a": 1})


def test_inherit_from_a_missing_path_is_located(root):
    write(root, "c.yaml", "a: 1\ns:\n  _inherit_from: nope\n")
    with pytest.raises(ConfigError) as info:
        load(root, "c.yaml")
    assert info.value.code == "config.inherit_not_found"
    assert (info.value.location.path, info.value.location.line) == ("c.yaml", 3)


# --- search roots and secrets --------------------------------------------------------------------------


def test_search_roots_order_extra_roots_then_cwd_deduplicated(tmp_path, monkeypatch):
    first, second = tmp_path / "first", tmp_path / "second"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEMO_GYM_EXTRA_ROOTS", os.pathsep.join([str(first), str(second), str(first), ""]))
    roots = search_roots()
    assert roots[:3] == [first, second, tmp_path]
    assert len(roots) == len(set(roots))


def test_resolve_read_path_uses_the_first_root_holding_the_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first, second = tmp_path / "first", tmp_path / "second"
    write(second, "x.yaml", "")
    write(first, "y.yaml", "")
    write(second, "y.yaml", "")
    assert resolve_read_path("x.yaml", [first, second]) == second / "x.yaml"
    assert resolve_read_path("y.yaml", [first, second]) == first / "y.yaml"
    assert resolve_read_path("z.yaml", [first, second]) == tmp_path / "z.yaml"
    assert resolve_read_path(second / "x.yaml", [first]) == second / "x.yaml"


def test_extra_roots_are_searched_for_config_paths(tmp_path, monkeypatch):
    extra = tmp_path / "checkout"
    write(extra, SERVER, EXAMPLE_MULTI_STEP_YAML)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEMO_GYM_EXTRA_ROOTS", str(extra))
    cfg = load_config({"config_paths": [SERVER]}, initial=NO_MODEL_DEFAULTS)
    assert cfg.files[0] == extra / SERVER


def test_repr_never_shows_secrets(root):
    write(root, "env.yaml", "hf_token: hf_SECRET1\npolicy_api_key: sk-SECRET2\nmlflow_tracking_token: SECRET3\n")
    cfg = load(root, MODEL, initial=NO_MODEL_DEFAULTS)
    assert cfg.data["policy_model"]["responses_api_models"]["vllm_model"]["api_key"] == "sk-SECRET2"
    text = repr(cfg)
    assert "SECRET" not in text
    assert "hf_token" in text and "***" in text


def test_inputs_are_not_modified(root):
    cli = {"config_paths": [TUTORIAL]}
    initial = {"policy_model": {"responses_api_models": {"dummy_model": {"entrypoint": "app.py"}}}}
    load_config(cli, initial=initial, roots=[root])
    assert cli == {"config_paths": [TUTORIAL]}
    assert NO_MODEL_DEFAULTS["policy_model"] == initial["policy_model"]
