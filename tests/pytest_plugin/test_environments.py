"""0.7.0 environments (`environments/<name>/config.yaml` + data/): discovered beside resources servers."""

from __future__ import annotations

import json

from tests.checks import ROWS, write_lines

ENV_CONFIG = """\
calc:
  resources_servers:
    alpha:
      entrypoint: app.py
      domain: math
calc_simple_agent:
  responses_api_agents:
    simple_agent:
      entrypoint: app.py
      resources_server:
        type: resources_servers
        name: calc
      model_server:
        type: responses_api_models
        name: policy_model
      datasets:
      - name: example
        type: example
        jsonl_fpath: {example}
calc_environment_server:
  environment_servers:
    legacy_agent:
      entrypoint: app.py
      agent_server:
        type: responses_api_agents
        name: calc_simple_agent
"""


def build_environment(root, name="calc", *, rows=ROWS, example=None):
    folder = root / "environments" / name
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text(ENV_CONFIG.format(example=example or f"environments/{name}/data/example.jsonl"))
    if rows is not None:
        write_lines(folder / "data" / "example.jsonl", rows)
    return folder


def checks(report, folder):
    server = next(s for s in report["servers"] if s["folder"] == folder)
    return {c["id"]: c for c in server["checks"]}


def test_an_environment_is_collected_beside_the_resources_servers(repo):
    repo.server("alpha")
    build_environment(repo.path)
    (repo.path / "environments" / "no_config").mkdir()  # a folder without config*.yaml is not an environment

    result = repo.static("--gym-report", "r.json")

    report = json.loads((repo.path / "r.json").read_text())
    assert [s["folder"] for s in report["servers"]] == ["environments/calc", "resources_servers/alpha"]
    env = checks(report, "environments/calc")
    assert env["config"]["outcome"] == "passed"
    assert env["example_data"]["outcome"] == "passed"
    # 0.7.0's CI asks resources servers (not environments) for README, metrics and rollouts.
    assert env["readme"]["outcome"] == "skipped"
    assert env["example_metrics"]["outcome"] == "skipped"
    assert env["example_rollouts"]["outcome"] == "skipped"
    assert result.ret == 0


def test_a_bad_row_of_an_environment_fails_with_its_line(repo):
    build_environment(repo.path, rows=[ROWS[0], {"responses_create_params": {"input": 3}}])

    result = repo.static("environments")

    assert result.ret == 1
    result.stdout.fnmatch_lines(["*environments/calc/data/example.jsonl:2: responses_create_params.input*"])


def test_an_environment_reading_another_folders_examples_leaves_them_to_that_folder(repo):
    repo.server("alpha")
    build_environment(repo.path, rows=None, example="resources_servers/alpha/data/example.jsonl")

    result = repo.static("environments", "--gym-report", "r.json")

    env = checks(json.loads((repo.path / "r.json").read_text()), "environments/calc")
    assert env["example_data"]["outcome"] == "skipped"
    assert "resources_servers/alpha/data/example.jsonl" in env["example_data"]["skip_reason"]
    assert result.ret == 0


def test_an_environment_missing_its_declared_example_file_fails(repo):
    build_environment(repo.path, rows=None)

    result = repo.static("environments")

    assert result.ret == 1
    result.stdout.fnmatch_lines(["FAILED environments/calc::example_data - *"])
