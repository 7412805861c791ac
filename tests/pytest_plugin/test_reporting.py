"""Reporting: the summary table, the JSON report, JUnit XML, exit codes and ini mirrors of the options."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ElementTree

import pytest

from gym_conform.checks import REGISTRY, Level
from tests.pytest_plugin.conftest import match_lines

STATIC_IDS = [check.id for check in REGISTRY if check.level == Level.STATIC]
SKIPPED = 3  # per folder at static: leakage, task_data, manifest (checks above the level get no item)
ABOVE = {level.label: sum(check.level == level for check in REGISTRY) for level in (Level.SERVER, Level.LIVE)}


def test_exit_codes_are_pytests(repo):
    repo.server()
    assert repo.static().ret == 0

    (repo.path / "resources_servers" / "alpha" / "README.md").unlink()
    assert repo.static().ret == 1


def test_the_summary_table_lists_server_by_check(repo):
    repo.server("alpha")
    repo.server("beta", readme=None)

    result = repo.static()

    match_lines(
        result,
        "*- gym-conform summary -*",
        "server * config  license  readme  example_data*",
        "resources_servers/alpha * pass    pass     pass    pass*",
        "resources_servers/beta  * pass    pass     FAIL    pass*",
    )
    match_lines(result, "server * leakage*", "resources_servers/alpha * skip*", "resources_servers/beta  * skip*")
    match_lines(
        result,
        f"2 server(s): 1 without failures, 1 with failures; checks: 13 passed, 1 failed, {2 * SKIPPED} skipped; "
        "*s in checks",
        "slowest checks: resources_servers/*::* *s, *",
        "Each failure above names the file, line and fix; rerun one server with `pytest resources_servers/beta`*",
        f"{2 * sum(ABOVE.values())} check(s) above --gym-level static not collected ({2 * ABOVE['server']} server, "
        f"{2 * ABOVE['live']} live); run at a higher level to include them.",
    )


def test_the_json_report_has_stable_ids_outcomes_problems_and_skip_reasons(repo):
    repo.server("alpha", train_license="Apache-2.0")
    repo.server("beta")

    result = repo.static("--gym-strict", "--gym-report", "out/report.json")

    report = json.loads((repo.path / "out" / "report.json").read_text())
    assert report["version"] == 1 and report["level"] == "static"
    alpha, beta = report["servers"]
    assert alpha["folder"] == "resources_servers/alpha"
    assert [check["id"] for check in alpha["checks"]] == STATIC_IDS
    license_check = alpha["checks"][1]
    assert license_check["nodeid"] == "resources_servers/alpha::license"
    assert (license_check["outcome"], license_check["level"]) == ("failed", "static")
    (problem,) = license_check["problems"]
    assert problem == {
        "code": "license.invalid",
        "message": "'Apache-2.0' is not a valid license",
        "path": "resources_servers/alpha/configs/alpha.yaml",
        "line": 22,
        "field": "alpha_simple_agent.responses_api_agents.simple_agent.datasets[0].license",
        "hint": problem["hint"],
    }
    assert problem["hint"].startswith("Use 'Apache 2.0'")
    leakage = beta["checks"][STATIC_IDS.index("leakage")]
    assert leakage["outcome"] == "skipped"
    assert leakage["skip_reason"].startswith("no validation data present locally")
    assert {check["outcome"] for check in beta["checks"][:4]} == {"passed"}
    summary = report["summary"]
    assert (summary["servers"], summary["failed"], summary["exit_status"]) == (2, 1, 1)
    assert summary["checks"] == 2 * len(STATIC_IDS)
    assert summary["not_collected"] == {name: 2 * count for name, count in ABOVE.items()}
    match_lines(result, "JSON report: */out/report.json")


def test_every_check_and_server_is_timed_and_the_slowest_checks_are_named(repo):
    for name in ("alpha", "beta", "gamma"):
        repo.server(name)

    result = repo.static("--gym-report", "report.json")

    report = json.loads((repo.path / "report.json").read_text())
    checks = {check["nodeid"]: check for server in report["servers"] for check in server["checks"]}
    for server in report["servers"]:
        assert server["duration"] == pytest.approx(sum(check["duration"] for check in server["checks"]), abs=1e-3)
    slowest = report["summary"]["slowest"]
    assert len(slowest) == 10 and [e["duration"] for e in slowest] == sorted(
        (e["duration"] for e in slowest), reverse=True
    )
    assert all(checks[entry["nodeid"]]["duration"] == entry["duration"] for entry in slowest)
    others = [c["duration"] for nodeid, c in checks.items() if nodeid not in {e["nodeid"] for e in slowest}]
    assert max(others) <= slowest[-1]["duration"]
    assert report["summary"]["duration"] == pytest.approx(sum(s["duration"] for s in report["servers"]), abs=1e-3)
    # The table's last column is each server's time; the footer names the five slowest checks, slowest first.
    header = next(line for line in result.outlines if line.startswith("server") and line.endswith("time"))
    rows = result.outlines[result.outlines.index(header) + 1 :][:3]
    assert [row.split()[0] for row in rows] == [f"resources_servers/{name}" for name in ("alpha", "beta", "gamma")]
    assert all(re.fullmatch(r"\d+(\.\d+)?s", row.split()[-1]) for row in rows)
    by_server = report["summary"]["slowest_servers"]
    assert sorted(entry["folder"] for entry in by_server) == [
        f"resources_servers/{n}" for n in ("alpha", "beta", "gamma")
    ]
    assert [e["duration"] for e in by_server] == sorted((s["duration"] for s in report["servers"]), reverse=True)
    (servers_line,) = [line for line in result.outlines if line.startswith("slowest servers: ")]
    assert [item.rsplit(" ", 1)[0] for item in servers_line.removeprefix("slowest servers: ").split(", ")] == [
        entry["folder"] for entry in by_server
    ]
    (listed,) = [line for line in result.outlines if line.startswith("slowest checks: ")]
    assert [item.rsplit(" ", 1)[0] for item in listed.removeprefix("slowest checks: ").split(", ")] == [
        entry["nodeid"] for entry in slowest[:5]
    ]


def test_a_report_path_that_cannot_be_written_is_a_warning(repo):
    repo.server()
    (repo.path / "taken").mkdir()

    result = repo.static("--gym-report", "taken")

    assert result.ret == 0
    result.stdout.fnmatch_lines(["*PytestWarning: gym-conform: cannot write the JSON report to *taken*"])
    assert "JSON report:" not in result.stdout.str()


def test_junit_xml_carries_the_node_ids(repo):
    repo.server(readme=None)

    repo.static("--junitxml", "junit.xml")

    cases = ElementTree.parse(repo.path / "junit.xml").getroot().iter("testcase")
    by_id = {f"{case.get('classname').replace('.', '/')}::{case.get('name')}": case for case in cases}
    assert set(by_id) >= {f"resources_servers/alpha::{check_id}" for check_id in STATIC_IDS}
    assert by_id["resources_servers/alpha::readme"].find("failure") is not None
    assert by_id["resources_servers/alpha::config"].find("failure") is None
    properties = {p.get("name"): p.get("value") for p in by_id["resources_servers/alpha::readme"].iter("property")}
    assert properties == {"gym_server": "resources_servers/alpha", "gym_check": "readme", "gym_level": "static"}
    assert "resources_servers/alpha has no README.md" in by_id["resources_servers/alpha::readme"].find("failure").text


def test_options_are_mirrored_as_ini_keys(repo):
    repo.server()
    repo.pytester.makeini("[pytest]\ngym_level = static\ngym_report = report.json\n")

    result = repo.run()

    assert result.ret == 0
    assert json.loads((repo.path / "report.json").read_text())["level"] == "static"


def test_a_command_line_option_wins_over_its_ini_key(repo):
    repo.server()
    repo.pytester.makeini("[pytest]\ngym_level = server\n")

    result = repo.static("--gym-report", "report.json")

    assert json.loads((repo.path / "report.json").read_text())["level"] == "static"
    assert result.ret == 0


def test_a_bad_ini_level_is_a_usage_error(repo):
    repo.pytester.makeini("[pytest]\ngym_level = fast\n")

    result = repo.run()

    assert result.ret == 4
    result.stderr.fnmatch_lines(["*gym_level: unknown gym-conform level 'fast'; use one of: static, server, live*"])


def test_update_metrics_from_the_ini(repo):
    folder = repo.server(metrics=False)
    repo.pytester.makeini("[pytest]\ngym_update_metrics = true\n")

    result = repo.static()

    assert result.ret == 0
    assert (folder / "data" / "example_metrics.json").is_file()
    match_lines(
        result, "resources_servers/alpha::example_metrics: created resources_servers/alpha/data/example_metrics.json*"
    )


def test_no_summary_without_check_items(repo):
    repo.pytester.makepyfile(test_plain="def test_plain():\n    pass\n")

    result = repo.run()

    assert "gym-conform summary" not in result.stdout.str()
