"""Under pytest-xdist the JSON report, the summary table, JUnit XML and --gym-update-metrics match a plain run."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from tests.pytest_plugin.test_server_checks import serve

QUICK = ("--gym-hypothesis-profile", "gym-conform-ci", "--gym-max-examples", "5")
_TIME = re.compile(r"\s+\d+(\.\d+)?s$")


def without_times(report: dict) -> dict:
    """Return the JSON report without its timings, the one part two runs cannot share."""
    report = json.loads(json.dumps(report))
    for server in report["servers"]:
        assert server.pop("duration") == pytest.approx(sum(check["duration"] for check in server["checks"]), abs=1e-3)
        for check in server["checks"]:
            assert check.pop("duration") >= 0
    summary = report["summary"]
    slowest = [entry["duration"] for entry in summary.pop("slowest")]
    assert slowest == sorted(slowest, reverse=True) and len(slowest) == min(10, summary["checks"])
    summary.pop("duration")
    assert {entry["folder"] for entry in summary.pop("slowest_servers")} == {s["folder"] for s in report["servers"]}
    return report


def summary_table(output: str) -> list[str]:
    """Return the gym-conform summary's lines, each server row without its time cell, timed lines left out."""
    lines = output.splitlines()
    start = next(index for index, line in enumerate(lines) if "gym-conform summary" in line)
    table = []
    for line in lines[start + 1 :]:
        if line.startswith("=") or line.startswith("JSON report:"):
            break
        if not line.startswith(("slowest checks:", "slowest servers:")):
            table.append(_TIME.sub("", re.sub(r"; [\d.]+s in checks$", "", line)))
    return table


def run(repo, tag: str, *args: str) -> tuple[pytest.RunResult, dict, Path]:
    """Run the repository's checks with a JSON report and JUnit XML named after `tag`."""
    result = repo.run(*QUICK, "--gym-report", f"{tag}.json", "--junitxml", f"{tag}.xml", *args, subprocess=True)
    return result, json.loads((repo.path / f"{tag}.json").read_text()), repo.path / f"{tag}.xml"


def test_two_workers_report_what_one_process_reports(repo):
    serve(repo)  # alpha: every server check runs (and passes)
    beta = repo.server("beta", train_license="Apache-2.0", metrics=False, readme=None)
    repo.pytester.makeini(
        "[pytest]\ngym_waive =\n    beta::readme  written later\n    alpha::example_data  not needed\n"
    )
    metrics = beta / "data" / "example_metrics.json"

    plain, plain_report, _ = run(repo, "plain", "--gym-update-metrics")
    written = metrics.read_bytes()
    metrics.unlink()
    spread, spread_report, junit = run(repo, "spread", "--gym-update-metrics", "-n", "2")

    assert "2 workers" in spread.stdout.str()
    assert plain.ret == spread.ret == 1
    assert metrics.read_bytes() == written
    assert without_times(spread_report) == without_times(plain_report)
    summary = spread_report["summary"]
    assert (summary["servers"], summary["not_run"]) == (2, 0)
    failed = {c["nodeid"] for s in spread_report["servers"] for c in s["checks"] if c["outcome"] == "failed"}
    assert failed == {"resources_servers/beta::license", "resources_servers/beta::import"}
    notes = {c["id"]: c["notes"] for s in spread_report["servers"] for c in s["checks"] if c["notes"]}
    (note,) = notes.pop("example_metrics")
    assert note.startswith("created resources_servers/beta/data/example_metrics.json from ")
    assert notes.pop("readme")[0].startswith("waived by tox.ini gym_waive (beta::readme: written later): ")
    assert notes.pop("import") == ["reached: child process, AlphaServer (gym-conform ResourcesServer)"]
    assert [(w["waiver"], w["matched"], w["status"]) for w in spread_report["waivers"]] == [
        ("beta::readme", 1, "used"),
        ("alpha::example_data", 0, "stale"),
    ]
    assert summary_table(spread.stdout.str()) == summary_table(plain.stdout.str())
    assert any(line.startswith("resources_servers/alpha ") and _TIME.search(line) for line in spread.outlines)
    assert any(line.startswith("slowest checks: resources_servers/") for line in spread.outlines)

    cases = {
        (properties["gym_server"], properties["gym_check"]): case
        for case in ElementTree.parse(junit).getroot().iter("testcase")
        if (properties := {p.get("name"): p.get("value") for p in case.iter("property")})
    }
    assert len(cases) == summary["checks"]
    assert {name for case in cases.values() for name in (p.get("name") for p in case.iter("property"))} == {
        "gym_server",
        "gym_check",
        "gym_level",
    }
    failure = cases["resources_servers/beta", "license"].find("failure")
    assert failure is not None
    assert (
        "resources_servers/beta/configs/beta.yaml:22: "
        "beta_simple_agent.responses_api_agents.simple_agent.datasets[0].license: "
        "'Apache-2.0' is not a valid license [license.invalid]" in failure.text
    )
    assert "hint: Use 'Apache 2.0'" in failure.text
    assert cases["resources_servers/alpha", "license"].find("failure") is None
