"""The issue-13 checks through pytest: a planted defect fails its own check; options reach the checks."""

from __future__ import annotations

import json

from tests.checks import ROWS, rollout
from tests.checks.server_apps import BOXED, app
from tests.pytest_plugin.conftest import match_lines

CI = ("--gym-hypothesis-profile", "gym-conform-ci")
NEW_CHECKS = {"reward_hacking", "floors", "session_isolation", "fuzz_tools", "judge_failures", "verify_budget"}


def outcomes(repo, *args: str) -> dict[str, dict]:
    repo.run(*CI, "--gym-report", "report.json", *args)
    (server,) = json.loads((repo.path / "report.json").read_text())["servers"]
    return {check["id"]: check for check in server["checks"]}


def serve(repo, verify_body: str) -> None:
    folder = repo.server(rollouts=[rollout(row) for row in ROWS])
    (folder / "app.py").write_text(app(verify_body))


def test_a_substring_verifier_fails_reward_hacking_and_no_other_new_check(repo):
    serve(repo, "reward = 1.0 if body.expected_answer in text else 0.0")

    checks = outcomes(repo)

    failed = {cid for cid, check in checks.items() if check["outcome"] == "failed"}
    assert failed & NEW_CHECKS == {"reward_hacking"}
    assert checks["verify_budget"]["outcome"] == "passed"
    assert {checks[cid]["outcome"] for cid in ("fuzz_tools", "judge_failures")} == {"skipped"}


def test_the_verify_budget_option_and_ini_key_reach_the_check(repo):
    serve(repo, 'import time\nif text == "\\\\boxed{4}":\n    time.sleep(0.3)\n' + BOXED)

    checks = outcomes(repo, "--gym-verify-budget", "0.1", "-k", "verify_budget")
    assert checks["verify_budget"]["outcome"] == "failed"
    assert "over the budget of 0.1 s" in checks["verify_budget"]["problems"][0]["message"]

    repo.pytester.makeini("[pytest]\ngym_verify_budget = 10\n")
    assert outcomes(repo, "-k", "verify_budget")["verify_budget"]["outcome"] == "passed"


def test_a_verify_budget_that_is_not_a_number_is_a_usage_error(repo):
    serve(repo, BOXED)

    result = repo.run("--gym-verify-budget", "0", "-k", "verify_budget")

    assert result.ret != 0
    match_lines(result, "*--gym-verify-budget must be more than 0 seconds, got 0.0*")
