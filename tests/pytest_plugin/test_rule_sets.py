"""The default rule set (NeMo Gym's own rules), --gym-strict, values a config needs, and waivers."""

from __future__ import annotations

import json

from tests.checks import CONFIG, README, make_row, write_lines
from tests.pytest_plugin.conftest import match_lines

NO_LICENSING = README.split("# Licensing information")[0]


def outcome(report: dict, folder: str, check: str) -> dict:
    server = next(s for s in report["servers"] if s["folder"] == f"resources_servers/{folder}")
    return next(c for c in server["checks"] if c["id"] == check)


def test_gym_strict_ini_key_turns_the_strict_set_on(repo):
    repo.server(readme=NO_LICENSING)
    repo.pytester.makeini("[pytest]\ngym_strict = true\n")

    result = repo.static()

    assert result.ret == 1
    match_lines(result, "FAILED resources_servers/alpha::readme - *")


def test_leakage_is_a_strict_check_skipped_with_its_reason_by_default(repo):
    folder = repo.server()
    write_lines(folder / "data" / "validation.jsonl", [make_row(1)])

    result = repo.static("--gym-report", "r.json")

    assert result.ret == 0
    leakage = outcome(json.loads((repo.path / "r.json").read_text()), "alpha", "leakage")
    assert leakage["outcome"] == "skipped"
    assert "--gym-strict" in leakage["skip_reason"]


def test_an_unset_environment_variable_is_a_note_not_a_failure(repo, monkeypatch):
    monkeypatch.delenv("ALPHA_JUDGE_URL", raising=False)
    config = CONFIG.format(name="alpha", train_license="MIT").replace(
        "      description: Add two numbers\n",
        "      description: Add two numbers\n      judge_url: ${oc.env:ALPHA_JUDGE_URL}\n",
    )
    repo.server(config=config)

    result = repo.static("--gym-report", "r.json")

    assert result.ret == 0
    notes = outcome(json.loads((repo.path / "r.json").read_text()), "alpha", "config")["notes"]
    (note,) = notes
    assert "needs value: 'alpha_resources_server.resources_servers.alpha.judge_url' reads environment " in note
    assert "[config.needs_value]" in note and "alpha.yaml:8" in note


def test_a_malformed_interpolation_still_fails_config(repo):
    config = CONFIG.format(name="alpha", train_license="MIT").replace(
        "      description: Add two numbers\n", "      description: Add two numbers\n      judge_url: ${oc.env:X\n"
    )
    repo.server(config=config)

    result = repo.static()

    match_lines(result, "FAILED resources_servers/alpha::config - *")
    match_lines(result, "*malformed interpolation*")


def test_a_waiver_turns_its_failure_into_a_listed_note(repo):
    repo.server("alpha", train_license="Apache-2.0")
    repo.pytester.makeini(
        "[pytest]\ngym_waive =\n    resources_servers/alpha::license  upstream's own value, fix pending in PR 12\n"
    )

    result = repo.static("--gym-report", "r.json")

    assert result.ret == 0
    report = json.loads((repo.path / "r.json").read_text())
    license_check = outcome(report, "alpha", "license")
    assert license_check["outcome"] == "passed"
    assert license_check["notes"][0].startswith("waived by tox.ini gym_waive (resources_servers/alpha::license: ")
    (waiver,) = report["waivers"]
    assert waiver == {
        "waiver": "resources_servers/alpha::license",
        "reason": "upstream's own value, fix pending in PR 12",
        "source": waiver["source"],
        "matched": 1,
        "status": "used",
    }
    match_lines(result, "waiver resources_servers/alpha::license (*upstream's own value*): matched 1 problem(s)")


def test_a_waiver_of_one_rule_code_leaves_the_other_codes_reported(repo):
    repo.server("alpha", train_license="Apache-2.0", readme=None)
    repo.pytester.makeini("[pytest]\ngym_waive =\n    alpha::readme::readme.section_missing  not this one\n")

    result = repo.static("--gym-report", "r.json")

    assert result.ret == 1
    report = json.loads((repo.path / "r.json").read_text())
    assert outcome(report, "alpha", "readme")["problems"][0]["code"] == "readme.missing"
    assert report["waivers"][0]["status"] == "stale"


def test_a_stale_waiver_is_flagged(repo):
    repo.server("alpha")
    repo.pytester.makeini("[pytest]\ngym_waive =\n    alpha::license  was needed once\n")

    result = repo.static("--gym-report", "r.json")

    assert result.ret == 0
    assert json.loads((repo.path / "r.json").read_text())["waivers"][0]["status"] == "stale"
    match_lines(result, "waiver alpha::license (*was needed once): STALE, matched nothing")


def test_a_waiver_without_a_reason_is_a_usage_error(repo):
    repo.server("alpha")
    repo.pytester.makeini("[pytest]\ngym_waive =\n    alpha::license\n")

    result = repo.static()

    assert result.ret == 4
    result.stderr.fnmatch_lines(["*waiver 1 ('alpha::license') must read `<folder>::<check>*"])
