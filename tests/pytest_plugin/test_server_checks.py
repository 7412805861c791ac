"""Server checks through pytest: each broken verify fails only the checks about it, with a row to paste."""

from __future__ import annotations

import json

import pytest

from tests.checks import ROWS, rollout
from tests.checks.server_apps import BOXED, app, config
from tests.pytest_plugin.conftest import match_lines

SERVER_CHECKS = (
    "import", "row_fields", "replay", "verifier_cases", "fuzz_rows", "fuzz_verify", "contract_empty", "contract_gold",
    "reward_hacking",
)  # fmt: skip
STATIC_CHECKS = ("config", "license", "readme", "example_data", "example_metrics", "example_rollouts")
CI = ("--gym-hypothesis-profile", "gym-conform-ci")


def serve(repo, verify_body: str = BOXED, *, reward: float = 1.0, gold: bool = True, **config_fields) -> None:
    """Create resources_servers/alpha with an app.py whose verify runs `verify_body`; rollouts record `reward`."""
    options = {"config": config(**config_fields)} if config_fields else {}
    folder = repo.server(rollouts=[rollout(row, reward) for row in ROWS], **options)
    (folder / "app.py").write_text(app(verify_body) if gold else app(verify_body, extra=""))


def run_with_report(repo, *args: str) -> tuple[pytest.RunResult, dict[str, dict]]:
    """Run pytest with the JSON report; return the result and alpha's checks by id."""
    result = repo.run(*CI, "--gym-report", "report.json", *args)
    (server,) = json.loads((repo.path / "report.json").read_text())["servers"]
    return result, {check["id"]: check for check in server["checks"]}


def failed(checks: dict[str, dict]) -> set[str]:
    return {check_id for check_id, check in checks.items() if check["outcome"] == "failed"}


def counterexample(check: dict) -> dict:
    """Return the shrunk row of a fuzz failure: the last line of its message, one JSON object."""
    (problem,) = check["problems"]
    return json.loads(problem["message"].splitlines()[-1])


def test_a_conforming_server_passes_every_server_check(repo):
    serve(repo)

    result, checks = run_with_report(repo)

    assert failed(checks) == set()
    assert {check_id: checks[check_id]["outcome"] for check_id in SERVER_CHECKS} == {
        **dict.fromkeys(SERVER_CHECKS, "passed"),
        "verifier_cases": "skipped",
    }
    assert "verifier_cases.jsonl" in checks["verifier_cases"]["skip_reason"]
    assert result.ret == 0


def test_a_verify_that_crashes_on_empty_output_fails_fuzz_verify_and_contract_empty_only(repo):
    serve(repo, "first = body.response.output[0]\n" + BOXED)

    result, checks = run_with_report(repo)

    assert failed(checks) == {"fuzz_verify", "contract_empty"}
    (fuzz_problem,) = checks["fuzz_verify"]["problems"]
    assert fuzz_problem["message"].startswith("verify raised: IndexError('list index out of range')")
    assert counterexample(checks["fuzz_verify"])["response"]["output"] == []
    # The terminal shows the same row, ready to paste, and where to paste it.
    match_lines(
        result,
        "*resources_servers/alpha/app.py:*: verify: verify raised: IndexError('list index out of range')",
        "*counterexample (shrunk), one JSON line:",
        '*{"responses_create_params": {"input": [{"role": "user", "content": "What is 1+1?"}]}, '
        '"expected_answer": "2", "response": {*"output": []}* [fuzz_verify.reward]',
        "*hint: paste the row into tests/verifier_cases.jsonl*",
    )


def test_a_verify_returning_1_5_fails_fuzz_verify_and_contract_empty_only(repo):
    serve(repo, "reward = 1.5", reward=1.5, gold=False)

    _, checks = run_with_report(repo)

    assert failed(checks) == {"fuzz_verify", "contract_empty"}
    assert (
        "verify returned reward 1.5, outside the declared reward_range [0.0, 1.0]"
        in (checks["fuzz_verify"]["problems"][0]["message"])
    )
    assert counterexample(checks["fuzz_verify"])["response"]["output"] == []
    assert checks["contract_empty"]["problems"][0]["message"].endswith("outside the declared reward_range [0.0, 1.0]")


def test_a_verify_returning_nan_on_empty_output_fails_fuzz_verify_and_contract_empty_only(repo):
    serve(
        repo, 'reward = float("nan") if not text else 1.0 if text == "\\\\boxed{" + body.expected_answer + "}" else 0.0'
    )

    _, checks = run_with_report(repo)

    assert failed(checks) == {"fuzz_verify", "contract_empty"}
    assert checks["fuzz_verify"]["problems"][0]["message"].startswith(
        "verify returned reward null: a NaN or infinite reward is sent as null"
    )


def test_a_nondeterministic_verify_fails_fuzz_verify_and_reward_hacking_only(repo):
    serve(
        repo, "reward = 1.0 if text == '\\\\boxed{' + body.expected_answer + '}' else random.random() if text else 0.0"
    )

    _, checks = run_with_report(repo)

    assert failed(checks) == {"fuzz_verify", "reward_hacking"}
    (problem,) = checks["fuzz_verify"]["problems"]
    assert problem["code"] == "fuzz_verify.nondeterministic"
    assert {p["code"] for p in checks["reward_hacking"]["problems"]} == {"reward_hacking.nondeterministic"}
    assert counterexample(checks["fuzz_verify"])["response"]["output"]


def test_the_same_verify_declared_stochastic_passes(repo):
    serve(
        repo,
        "reward = 1.0 if text == '\\\\boxed{' + body.expected_answer + '}' else random.random() if text else 0.0",
        stochastic="true",
    )

    _, checks = run_with_report(repo)

    assert failed(checks) == set()


def test_an_unimportable_server_fails_import_and_skips_the_other_server_checks_with_the_reason(repo):
    folder = repo.server()
    (folder / "app.py").write_text("import not_a_real_module_xyz\n")

    result, checks = run_with_report(repo)

    assert failed(checks) == {"import"}
    reason = "server could not be imported: app.py imports 'not_a_real_module_xyz', which is not installed"
    assert {checks[check_id]["skip_reason"] for check_id in SERVER_CHECKS[1:]} == {reason}
    match_lines(result, "*resources_servers/alpha/app.py:1: app.py imports 'not_a_real_module_xyz'*")


def test_static_level_checks_the_files_of_an_unimportable_server_and_collects_no_server_check(repo):
    marker = repo.path / "app_imported.txt"
    folder = repo.server()
    (folder / "app.py").write_text(f"open({str(marker)!r}, 'w').write('imported')\nimport not_a_real_module_xyz\n")

    result, checks = run_with_report(repo, "--gym-level", "static")

    assert {check_id: checks[check_id]["outcome"] for check_id in STATIC_CHECKS} == dict.fromkeys(
        STATIC_CHECKS, "passed"
    )
    assert not set(checks) & set(SERVER_CHECKS)  # no item for a server check, so none ran
    match_lines(result, "*check(s) above --gym-level static not collected (* server, * live)*")
    assert result.ret == 0
    assert not marker.exists()


def test_gym_update_expected_rewrites_the_verifier_cases_through_pytest(repo):
    from tests.checks import write_lines
    from tests.checks.test_server_verifier_cases import GOOD_CASES

    serve(repo)
    cases = repo.path / "resources_servers" / "alpha" / "tests" / "verifier_cases.jsonl"
    write_lines(cases, [GOOD_CASES[0], GOOD_CASES[1] | {"expected_reward": 0.5}, GOOD_CASES[2]])

    stale, checks = run_with_report(repo, "-k", "verifier_cases")
    assert failed(checks) == {"verifier_cases"}
    updated, checks = run_with_report(repo, "-k", "verifier_cases", "--gym-update-expected")

    assert checks["verifier_cases"]["outcome"] == "passed"
    assert "updated expected_reward of 1 case(s)" in checks["verifier_cases"]["notes"][0]
    assert [json.loads(line).get("expected_reward") for line in cases.read_text().splitlines()] == [1.0, 0.0, None]
