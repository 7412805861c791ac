"""Tests for .ci/corpus_compare.py: the real-corpus step's comparison of a report with the expectations file."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO_ROOT

SCRIPT = REPO_ROOT / ".ci" / "corpus_compare.py"


def report(*failures: tuple[str, str, str], folders: tuple[str, ...] = ("resources_servers/a",)) -> dict:
    servers = {folder: [] for folder in folders}
    for folder, check, code in failures:
        servers.setdefault(folder, []).append(
            {"id": check, "outcome": "failed", "problems": [{"code": code, "message": f"{code} happened"}]}
        )
    return {
        "level": "static",
        "servers": [{"folder": f, "checks": checks} for f, checks in servers.items()],
        "summary": {"servers": len(servers), "failed": len(failures)},
    }


def run(tmp_path, data: dict, expected: list[dict] | None, *args: str) -> subprocess.CompletedProcess:
    (tmp_path / "r.json").write_text(json.dumps(data))
    if expected is not None:
        (tmp_path / "e.json").write_text(json.dumps({"failures": expected}))
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path / "r.json"), str(tmp_path / "e.json"), *args],
        capture_output=True,
        text=True,
    )


LICENSE = {"folder": "resources_servers/a", "check": "license", "code": "license.invalid", "reason": "upstream too"}


def test_the_same_failing_set_with_reasons_passes(tmp_path):
    result = run(
        tmp_path, report(("resources_servers/a", "license", "license.invalid")), [LICENSE], "--pytest-exit", "1"
    )

    assert result.returncode == 0, result.stderr
    assert "matches" in result.stdout


def test_a_new_and_a_gone_failure_fail_with_a_clear_diff(tmp_path):
    data = report(("resources_servers/a", "config", "config.bad_ref"))

    result = run(tmp_path, data, [LICENSE], "--pytest-exit", "1")

    assert result.returncode == 1
    assert "NEW failure    resources_servers/a::config [config.bad_ref]: config.bad_ref happened" in result.stderr
    assert "GONE (fixed?)  resources_servers/a::license [license.invalid] (expected because: upstream too)" in (
        result.stderr
    )


def test_a_crashed_check_a_bad_exit_and_a_missing_reason_fail(tmp_path):
    data = report(
        ("resources_servers/a", "readme", "check.crashed"), ("resources_servers/a", "license", "license.invalid")
    )
    expected = [LICENSE | {"reason": ""}, {**LICENSE, "check": "readme", "code": "check.crashed", "reason": "x"}]

    result = run(tmp_path, data, expected, "--pytest-exit", "3")

    assert result.returncode == 1
    assert "pytest exited with 3" in result.stderr
    assert "internal error: resources_servers/a::readme crashed" in result.stderr
    assert "no reason      resources_servers/a::license [license.invalid]" in result.stderr


def test_update_keeps_written_reasons_and_marks_new_entries_todo(tmp_path):
    data = report(("resources_servers/a", "license", "license.invalid"), ("resources_servers/b", "config", "x.y"))

    result = run(tmp_path, data, [LICENSE], "--update")

    assert result.returncode == 0
    failures = json.loads((tmp_path / "e.json").read_text())["failures"]
    assert [(f["folder"], f["reason"]) for f in failures] == [
        ("resources_servers/a", "upstream too"),
        ("resources_servers/b", "TODO: explain"),
    ]
    assert run(tmp_path, data, None).returncode == 1  # a TODO reason fails until it is written


def test_the_committed_expectations_give_every_failure_a_reason():
    failures = json.loads((REPO_ROOT / ".ci" / "nemo_gym_070_expected.json").read_text())["failures"]

    assert failures and all(f["reason"].strip() and not f["reason"].startswith("TODO") for f in failures)


def test_a_listed_server_that_is_no_longer_reached_fails_and_the_list_is_printed_and_kept(tmp_path):
    data = report(folders=("resources_servers/a", "resources_servers/b"))
    data["level"] = "server"
    data["servers"][0]["checks"] = [{"id": "import", "outcome": "passed", "problems": []}]
    data["servers"][1]["checks"] = [{"id": "import", "outcome": "skipped", "problems": []}]
    expected = {"servers": ["resources_servers/a", "resources_servers/b"], "failures": []}
    (tmp_path / "e.json").write_text(json.dumps(expected))
    (tmp_path / "r.json").write_text(json.dumps(data))
    command = [sys.executable, str(SCRIPT), str(tmp_path / "r.json"), str(tmp_path / "e.json")]

    result = subprocess.run(command, capture_output=True, text=True)
    listed = subprocess.run(
        [sys.executable, str(SCRIPT), "--list-servers", str(tmp_path / "e.json")], capture_output=True, text=True
    )
    subprocess.run([*command, "--update"], check=True, capture_output=True)

    assert result.returncode == 1
    assert "not reached    resources_servers/b (import skipped)" in result.stderr
    assert "server run differs" in result.stderr and "resources_servers/a (" not in result.stderr
    assert listed.stdout.split() == ["resources_servers/a", "resources_servers/b"]
    assert json.loads((tmp_path / "e.json").read_text())["servers"] == expected["servers"]
