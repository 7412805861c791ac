"""--gym-html: one self-contained page, checked as headless Chromium renders it (table, failures, time bars)."""

from __future__ import annotations

import json
import re

import pytest

from tests.browser import rendered
from tests.pytest_plugin.conftest import match_lines


def test_the_page_shows_the_table_the_failures_and_the_time_per_server(repo):
    repo.server("alpha")
    repo.server("beta", train_license="Apache-2.0")

    result = repo.static("--gym-html", "out/report.html", "--gym-report", "out/report.json")

    page = repo.path / "out" / "report.html"
    match_lines(result, f"HTML report: {page}")
    text = page.read_text()
    assert not re.search(r"(src|href)=\"(?!#)|https?://|@import|<script", text)  # nothing to fetch, nothing to run
    report = json.loads((repo.path / "out" / "report.json").read_text())
    shown = rendered(page)

    assert shown["title"] == "gym-conform report"
    checks = [check["id"] for check in report["servers"][0]["checks"]]
    assert shown["headers"] == ["server", *checks, "time"]
    rows = {row["server"]: {cell["check"]: cell for cell in row["cells"]} for row in shown["rows"]}
    assert set(rows) == {"resources_servers/alpha", "resources_servers/beta"}
    failed, passed = rows["resources_servers/beta"]["license"], rows["resources_servers/alpha"]["license"]
    assert (failed["text"], failed["outcome"], passed["text"]) == ("FAIL", "failed", "pass")
    assert failed["background"] != passed["background"] and failed["width"] > 0
    for server in report["servers"]:
        for check in server["checks"]:
            assert rows[server["folder"]][check["id"]]["outcome"] == check["outcome"]
        assert rows[server["folder"]][None]["text"].endswith(" s")  # the time column

    (failure,) = shown["failures"]
    assert failure["visible"] and failure["id"] == "fail-resources-servers-beta--license"
    assert (
        "resources_servers/beta/configs/beta.yaml:22: beta_simple_agent.responses_api_agents.simple_agent."
        "datasets[0].license 'Apache-2.0' is not a valid license [license.invalid]hint: Use 'Apache 2.0'"
    ) in failure["text"]

    bars = {bar["server"]: bar for bar in shown["bars"]}
    assert set(bars) == set(rows)
    durations = {server["folder"]: server["duration"] for server in report["servers"]}
    longest = max(durations.values())
    for folder, bar in bars.items():
        # Drawn to scale: the longest bar is 480 px; each other one in proportion (at least 1 px).
        assert bar["height"] > 0
        assert bar["width"] == pytest.approx(max(1.0, 480 * durations[folder] / longest), abs=1.5)
    assert len(shown["slowest"]) == len(report["summary"]["slowest"])
    assert shown["slowest"][0].startswith(report["summary"]["slowest"][0]["nodeid"])
    assert shown["histograms"] == [] and shown["means"] == []  # no live run


def test_a_run_without_failures_says_so(repo):
    repo.server()

    repo.static("--gym-html", "report.html")

    assert '<p id="no-failures">No check failed.</p>' in (repo.path / "report.html").read_text()
