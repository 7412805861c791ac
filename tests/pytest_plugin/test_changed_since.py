"""--gym-changed-since REF: only the servers a git change touches run, and the run says why (a real git repo)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.pytest_plugin.conftest import match_lines

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(repo, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo.path), *args], capture_output=True, text=True, env={**os.environ, **GIT_ENV}
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def pr(repo):
    """Three servers committed on main (beta's train data lives in shared/), then a branch `pr` checked out."""
    repo.server("alpha")
    beta = repo.server("beta")
    config = beta / "configs" / "beta.yaml"
    config.write_text(config.read_text().replace("resources_servers/beta/data/train.jsonl", "shared/train.jsonl"))
    (repo.path / "shared").mkdir()
    (repo.path / "shared" / "train.jsonl").write_text("")
    repo.server("gamma")
    (repo.path / "README.md").write_text("# servers\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "servers")
    git(repo, "checkout", "-q", "-b", "pr")
    return repo


def run(repo, *args: str) -> tuple[pytest.RunResult, dict]:
    result = repo.static("--gym-changed-since", "main", "--gym-report", "report.json", *args)
    return result, json.loads((repo.path / "report.json").read_text())


def servers(report: dict) -> list[str]:
    return [server["folder"] for server in report["servers"]]


def test_a_change_to_one_server_runs_that_server_only(pr):
    readme = pr.path / "resources_servers" / "alpha" / "README.md"
    readme.write_text(readme.read_text() + "\nMore words.\n")
    git(pr, "commit", "-q", "-am", "alpha: README")

    result, report = run(pr)

    assert servers(report) == ["resources_servers/alpha"]
    match_lines(
        result,
        "gym-conform: changed since main (merge base *): 1 file(s); 1 of 3 server(s) selected",
        "  resources_servers/alpha: resources_servers/alpha/README.md changed",
    )
    changed = report["changed_since"]
    assert changed["ref"] == "main" and changed["base"] == git(pr, "rev-parse", "main").strip()
    assert changed["selected"] == {"resources_servers/alpha": "resources_servers/alpha/README.md changed"}
    assert changed["everything"] is None
    assert result.ret == 0


def test_a_file_a_config_names_selects_its_server_and_uncommitted_changes_count(pr):
    (pr.path / "shared" / "train.jsonl").write_text('{"x": 1}\n')  # unstaged
    (pr.path / "resources_servers" / "gamma" / "notes.txt").write_text("new\n")  # untracked

    result, report = run(pr)

    assert servers(report) == ["resources_servers/beta", "resources_servers/gamma"]
    assert report["changed_since"]["selected"] == {
        "resources_servers/beta": "shared/train.jsonl changed (named by its configs)",
        "resources_servers/gamma": "resources_servers/gamma/notes.txt changed",
    }
    match_lines(result, "*2 of 3 server(s) selected")


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("resources_servers/common.py", "shared code beside the server folders"),
        ("pyproject.toml", "test or packaging configuration of every server"),
        ("nemo_gym/server_utils.py", "the nemo_gym package every server runs on"),
    ],
)
def test_a_change_every_server_depends_on_runs_them_all(pr, path, why):
    (pr.path / path).parent.mkdir(parents=True, exist_ok=True)
    (pr.path / path).write_text("x = 1\n")
    git(pr, "add", path)
    git(pr, "commit", "-q", "-m", "shared")

    result, report = run(pr)

    assert servers(report) == [f"resources_servers/{name}" for name in ("alpha", "beta", "gamma")]
    assert report["changed_since"]["everything"] == f"{path} changed ({why})"
    match_lines(result, f"*; all 3 server(s) selected: {path} changed ({why})")


def test_a_change_that_touches_no_server_runs_nothing_and_passes(pr):
    (pr.path / "README.md").write_text("# servers, documented\n")

    result, report = run(pr)

    assert servers(report) == [] and result.ret == 0
    match_lines(result, "*; 0 of 3 server(s) selected", "  1 changed file(s) select no server: README.md")


def test_the_ini_key_and_an_unknown_ref(pr):
    pr.pytester.makeini("[pytest]\ngym_changed_since = origin/nowhere\n")

    result = pr.static()

    assert result.ret == 4
    result.stderr.fnmatch_lines(
        [
            "ERROR: --gym-changed-since origin/nowhere: error: git merge-base origin/nowhere failed: fatal: *",
            "*hint: fetch the ref and enough history for a merge base (in GitHub Actions: *fetch-depth: 0*",
        ]
    )
