"""Tests for the `config` check: schema problems, first block, agent wiring and the example dataset path."""

from __future__ import annotations

import pytest

from gym_conform.checks import CheckFailed, CheckSettings, FolderContext, Level
from gym_conform.checks.static_config import check_config
from tests.checks import CONFIG, build_server

AGENT_FIRST = """\
alpha_simple_agent:
  responses_api_agents:
    simple_agent:
      entrypoint: app.py
      resources_server:
        type: resources_servers
        name: alpha_resources_server
      datasets:
      - name: example
        type: example
        jsonl_fpath: resources_servers/alpha/data/example.jsonl
alpha_resources_server:
  resources_servers:
    alpha:
      entrypoint: app.py
      domain: math
"""


def context(folder, root) -> FolderContext:
    return FolderContext(folder, CheckSettings(level=Level.STATIC), root=root)


def failure(folder, root) -> CheckFailed:
    with pytest.raises(CheckFailed) as raised:
        check_config(context(folder, root))
    return raised.value


def test_a_valid_folder_passes(tmp_path):
    check_config(context(build_server(tmp_path), tmp_path))


def test_license_problems_are_left_to_the_license_check(tmp_path):
    check_config(context(build_server(tmp_path, train_license="Apache-2.0"), tmp_path))


def test_an_invalid_domain_is_reported_with_file_and_line(tmp_path):
    folder = build_server(tmp_path, config=CONFIG.format(name="alpha", train_license="MIT").replace("math", "maths", 1))

    (problem,) = failure(folder, tmp_path).problems

    assert problem.code == "config.domain.invalid"
    assert problem.location.path.endswith("resources_servers/alpha/configs/alpha.yaml")
    assert problem.location.line == 5
    assert "Did you mean 'math'?" in problem.hint


def test_invalid_yaml_is_reported_with_its_line(tmp_path):
    folder = build_server(tmp_path, config="alpha_resources_server:\n  resources_servers: [unclosed\n")

    (problem,) = failure(folder, tmp_path).problems

    assert problem.code == "config.yaml"
    assert problem.location.line is not None


def test_the_resources_block_must_come_first(tmp_path):
    folder = build_server(tmp_path, config=AGENT_FIRST)

    (problem,) = failure(folder, tmp_path).problems

    assert problem.code == "config.resources_not_first"
    assert problem.location.path == "resources_servers/alpha/configs/alpha.yaml"
    assert problem.location.line == 1
    assert "'alpha_resources_server' (line 12) must come first" in problem.message
    assert "README environment table" in problem.hint


def test_scalar_keys_before_the_resources_block_are_fine(tmp_path):
    text = "policy_base_url: http://localhost\n" + CONFIG.format(name="alpha", train_license="MIT")

    check_config(context(build_server(tmp_path, config=text), tmp_path))


def test_a_resources_server_no_agent_uses_is_reported(tmp_path):
    text = CONFIG.format(name="alpha", train_license="MIT").replace(
        "      resources_server:\n        type: resources_servers\n        name: alpha_resources_server\n", ""
    )
    folder = build_server(tmp_path, config=text)

    (problem,) = failure(folder, tmp_path).problems

    assert problem.code == "config.no_agent"
    assert problem.location.line == 3
    assert "resources_server: {type: resources_servers, name: alpha_resources_server}" in problem.hint


def test_an_implementation_named_unlike_the_folder_is_reported(tmp_path):
    folder = build_server(
        tmp_path, config=CONFIG.format(name="alpha", train_license="MIT").replace("    alpha:", "    beta:")
    )

    (problem,) = failure(folder, tmp_path).problems

    assert problem.code == "config.no_resources_server"
    assert "('alpha')" in problem.message


def test_the_example_dataset_must_read_data_example_jsonl(tmp_path):
    text = CONFIG.format(name="alpha", train_license="MIT").replace("data/example.jsonl", "data/examples.jsonl")
    folder = build_server(tmp_path, config=text)

    (problem,) = failure(folder, tmp_path).problems

    assert problem.code == "config.example_path"
    assert problem.location.line == 29
    assert "jsonl_fpath: resources_servers/alpha/data/example.jsonl" in problem.hint


def test_a_missing_example_dataset_is_reported(tmp_path):
    text = CONFIG.format(name="alpha", train_license="MIT").split("      - name: example")[0]
    folder = build_server(tmp_path, config=text)

    (problem,) = failure(folder, tmp_path).problems

    assert problem.code == "config.no_example_dataset"
    assert "type: example" in problem.hint


def test_every_config_file_is_checked(tmp_path):
    folder = build_server(tmp_path)
    (folder / "configs" / "variant.yaml").write_text(
        CONFIG.format(name="alpha", train_license="MIT").replace("domain: math", "domain: cooking")
    )

    (problem,) = failure(folder, tmp_path).problems

    assert problem.code == "config.domain.invalid"
    assert problem.location.path.endswith("variant.yaml")


def test_a_folder_without_configs_fails_with_what_to_add(tmp_path):
    folder = tmp_path / "resources_servers" / "alpha"
    folder.mkdir(parents=True)

    failed = failure(folder, tmp_path)

    assert failed.summary == "resources_servers/alpha has no config file"
    assert [p.code for p in failed.problems] == ["config.no_file"]
