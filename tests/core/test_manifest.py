"""Tests for 0.7.0's manifest.yaml: schema, SPDX licensing (with and without `packaging`), located problems."""

from __future__ import annotations

import sys

import pytest

from gym_conform.checks import CheckFailed, CheckSettings, FolderContext, Level
from gym_conform.checks.static_manifest import check_manifest
from gym_conform.core.manifest import find_manifest, load_manifest, spdx_problem

MANIFEST = """\
name: calc
version: 0.1.0
kind: environment
integration_profile: custom-gym-verifier
domain: math
description: Add two numbers.
modality: text
licensing: Apache-2.0 OR MIT
authors: [ada]
reward:
  range: [0.0, 1.0]
  higher_is_better: true
determinism: seeded
resources_server: calc
agent_server: calc_simple_agent
model_server: policy_model
datasets:
- name: example
  type: example
  jsonl_fpath: environments/calc/data/example.jsonl
"""

CONFIG = """\
calc:
  resources_servers:
    calc:
      entrypoint: app.py
      domain: math
calc_simple_agent:
  responses_api_agents:
    simple_agent:
      entrypoint: app.py
      resources_server: {type: resources_servers, name: calc}
      datasets:
      - {name: example, type: example, jsonl_fpath: environments/calc/data/example.jsonl}
"""


def write(tmp_path, text=MANIFEST, name="calc"):
    folder = tmp_path / "environments" / name
    folder.mkdir(parents=True)
    (folder / "manifest.yaml").write_text(text)
    (folder / "config.yaml").write_text(CONFIG)
    return folder


def test_a_valid_manifest_loads_with_its_reward_ends(tmp_path):
    loaded = load_manifest(write(tmp_path) / "manifest.yaml")

    assert loaded.problems == []
    assert (loaded.manifest.reward.best, loaded.manifest.reward.worst) == (1.0, 0.0)


def test_every_problem_is_reported_at_its_line(tmp_path):
    text = (
        MANIFEST.replace("Apache-2.0 OR MIT", "Apache 2.0")
        .replace("[0.0, 1.0]", "[1.0, 0.0]")
        .replace("determinism: seeded", "determinism: sometimes\nflavour: mint")
        .replace("model_server: policy_model\n", "")
    )

    problems = load_manifest(write(tmp_path, text) / "manifest.yaml").problems

    by_code = {(p.code, p.location.field): p.location.line for p in problems}
    assert by_code[("manifest.licensing", "licensing")] == 8
    assert by_code[("manifest.invalid", "reward.range")] == 11
    assert by_code[("manifest.invalid", "determinism")] == 13
    assert by_code[("manifest.unknown_key", "flavour")] == 14
    assert len(problems) == 4  # the profile rule needs a valid manifest first, as in 0.7.0


def test_a_profile_without_its_required_server_fails(tmp_path):
    (problem,) = load_manifest(
        write(tmp_path, MANIFEST.replace("model_server: policy_model\n", "")) / "manifest.yaml"
    ).problems

    assert problem.code == "manifest.profile_field" and "requires `model_server`" in problem.message


@pytest.mark.parametrize(
    ("expression", "valid"),
    [
        ("MIT", True),
        ("Apache-2.0 OR (MIT AND BSD-3-Clause)", True),
        ("GPL-2.0-or-later WITH Classpath-exception-2.0", True),
        ("LicenseRef-Internal", True),
        ("MIT OR", False),
        ("(MIT", False),
        ("Apache 2.0", False),
        ("AND MIT", False),
    ],
)
def test_spdx_expressions_with_packaging_and_with_the_fallback_parser(expression, valid, monkeypatch):
    assert (spdx_problem(expression) is None) is valid
    monkeypatch.setitem(sys.modules, "packaging.licenses", None)  # as if packaging were too old or absent
    assert (spdx_problem(expression) is None) is valid


def test_the_check_reports_name_and_mirror_mismatches(tmp_path):
    folder = write(tmp_path, MANIFEST.replace("name: calc", "name: calculator").replace("example.jsonl", "ex.jsonl"))

    with pytest.raises(CheckFailed) as raised:
        check_manifest(FolderContext(folder, CheckSettings(level=Level.STATIC), root=tmp_path))

    assert sorted(p.code for p in raised.value.problems) == ["manifest.mirror", "manifest.name"]


def test_a_resources_server_finds_the_manifest_of_the_environment_naming_it(tmp_path):
    env = write(tmp_path)
    server = tmp_path / "resources_servers" / "calc"
    server.mkdir(parents=True)

    assert find_manifest(server, tmp_path) == env / "manifest.yaml"
    assert find_manifest(tmp_path / "resources_servers" / "other", tmp_path) is None
