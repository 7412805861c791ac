"""Tests for finding resources-server folders under roots, reading YAML only."""

from __future__ import annotations

from pathlib import Path

from gym_conform.checks.discovery import (
    config_files,
    declares_resources_server,
    find_server_folders,
    is_candidate,
    is_root,
    is_server_folder,
)
from tests.checks import build_server


def make_config(folder: Path, name: str, text: str) -> Path:
    path = folder / "configs" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_folder_with_a_resources_server_block_qualifies(tmp_path):
    folder = build_server(tmp_path)

    assert is_server_folder(folder)
    assert find_server_folders([tmp_path / "resources_servers"]) == [folder]


def test_a_folder_whose_configs_declare_only_other_servers_does_not_qualify(tmp_path):
    folder = tmp_path / "resources_servers" / "agent_only"
    make_config(folder, "a.yaml", "my_agent:\n  responses_api_agents:\n    simple_agent:\n      entrypoint: app.py\n")

    assert not is_server_folder(folder)
    assert find_server_folders([tmp_path / "resources_servers"]) == []


def test_a_folder_without_configs_does_not_qualify(tmp_path):
    (tmp_path / "helpers").mkdir()

    assert not is_server_folder(tmp_path / "helpers")
    assert config_files(tmp_path / "helpers") == []


def test_a_config_that_does_not_parse_qualifies_the_folder_so_it_is_reported(tmp_path):
    folder = tmp_path / "broken"
    path = make_config(folder, "broken.yaml", "a: [unclosed\n")

    assert declares_resources_server(path) is None
    assert is_server_folder(folder)


def test_config_files_are_sorted_yaml_and_yml(tmp_path):
    make_config(tmp_path, "b.yml", "{}")
    make_config(tmp_path, "a.yaml", "{}")
    make_config(tmp_path, "notes.txt", "")

    assert [path.name for path in config_files(tmp_path)] == ["a.yaml", "b.yml"]


def test_default_roots_are_every_directory_named_resources_servers_or_environments(tmp_path):
    root = tmp_path / "anywhere" / "resources_servers"

    assert is_root(root, None)
    assert is_candidate(root / "alpha", None)
    assert not is_candidate(root / "alpha" / "tests", None)
    assert is_root(tmp_path / "environments", None)
    assert not is_root(tmp_path / "benchmarks", None)


def test_explicit_roots_replace_the_default(tmp_path):
    roots = [tmp_path / "envs"]

    assert is_candidate(tmp_path / "envs" / "alpha", roots)
    assert not is_candidate(tmp_path / "resources_servers" / "alpha", roots)


def test_a_root_that_is_itself_a_server_folder_is_found(tmp_path):
    folder = build_server(tmp_path)

    assert find_server_folders([folder]) == [folder]


def test_an_environment_folder_is_found_by_its_top_level_config(tmp_path):
    from gym_conform.checks.discovery import config_files, is_environment_folder

    env = tmp_path / "environments" / "calc"
    env.mkdir(parents=True)
    (env / "config_remote.yaml").write_text("config_paths: [resources_servers/calc/configs/calc.yaml]\n")
    (env / "notes.yaml").write_text("calc: {responses_api_agents: {simple_agent: {}}}\n")
    (tmp_path / "environments" / "scripts").mkdir()
    (tmp_path / "environments" / "scripts" / "config.yaml").write_text("just: data\n")

    assert is_environment_folder(env) and is_server_folder(env)
    assert config_files(env) == [env / "config_remote.yaml"]
    assert not is_server_folder(tmp_path / "environments" / "scripts")
    assert find_server_folders([tmp_path / "environments"]) == [env]
