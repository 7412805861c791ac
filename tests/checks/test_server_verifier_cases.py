"""Tests for `verifier_cases`: NeMo Gym's declarative fixture, run case by case on fresh servers."""

from __future__ import annotations

import pytest

from gym_conform.checks import CheckFailed, CheckSkipped
from gym_conform.checks.server_session import response_json
from gym_conform.checks.server_verifier_cases import check_verifier_cases
from gym_conform.core.responses import message_item
from tests.checks import make_row, write_lines
from tests.checks.server_apps import app, context, isolated_imports, server_folder  # noqa: F401

pytestmark = pytest.mark.usefixtures("isolated_imports")
CASES = "resources_servers/alpha/tests/verifier_cases.jsonl"


def request(text: str, **row) -> dict:
    return {**make_row(2, **row), "response": response_json([message_item(text)])}


GOOD_CASES = [
    {"name": "right answer", "kind": "full_reward", "request": request("\\boxed{4}"), "expected_reward": 1.0},
    {"name": "wrong answer", "kind": "zero_reward", "request": request("\\boxed{5}"), "expected_reward": 0.0},
    {
        "name": "no expected answer",
        "kind": "malformed",
        "request": {"responses_create_params": {"input": "hi"}, "response": response_json([])},
        "expected_error": "expected_answer",
    },
    {"name": "same twice", "kind": "determinism", "request": request("\\boxed{4}"), "expected_reward": 1.0},
]


def with_cases(tmp_path, cases, app_text=None, **options):
    folder = server_folder(tmp_path, app_text, **options)
    write_lines(folder / "tests" / "verifier_cases.jsonl", cases)
    return context(folder, tmp_path)


def problems_of(ctx) -> list:
    with pytest.raises(CheckFailed) as raised:
        check_verifier_cases(ctx)
    return raised.value.problems


def test_without_the_fixture_file_the_check_skips(tmp_path):
    with pytest.raises(CheckSkipped, match="no resources_servers/alpha/tests/verifier_cases.jsonl"):
        check_verifier_cases(context(server_folder(tmp_path), tmp_path))


def test_a_fixture_whose_cases_hold_passes(tmp_path):
    check_verifier_cases(with_cases(tmp_path, GOOD_CASES))


def test_each_failing_case_is_named_with_its_line(tmp_path):
    cases = [
        GOOD_CASES[0] | {"request": request("\\boxed{5}")},
        GOOD_CASES[1],
        GOOD_CASES[2] | {"request": request("fine")},
        GOOD_CASES[2] | {"name": "wrong error", "expected_error": "no such text"},
    ]

    problems = problems_of(with_cases(tmp_path, cases))

    assert [(p.location.path, p.location.line) for p in problems] == [(CASES, 1), (CASES, 3), (CASES, 4)]
    assert problems[0].message == "full_reward case 'right answer' expects reward 1.0, observed 0.0"
    assert (
        problems[1].message
        == "malformed case 'no expected answer' did not raise an error: verify accepted it and scored 0.0"
    )
    assert problems[2].message.startswith(
        "malformed case 'wrong error' raised, but the error does not contain 'no such text'"
    )


def test_a_malformed_case_may_be_caught_by_verify_itself(tmp_path):
    guarded = "if not text:\n    raise ValueError('empty answer')\nreward = 0.0"
    cases = [
        GOOD_CASES[2] | {"request": {**make_row(2), "response": response_json([])}, "expected_error": "empty answer"}
    ]
    folder_ctx = with_cases(tmp_path, cases, app(guarded))

    problems = problems_of(folder_ctx)

    assert [p.code for p in problems] == ["verifier_cases.missing_kinds"]
    assert problems[0].message == "the verifier fixture is missing required cases: full_reward, zero_reward"


def test_full_and_zero_cases_must_pin_the_ends_of_the_range(tmp_path):
    cases = [GOOD_CASES[0] | {"expected_reward": 0.5}, GOOD_CASES[1], GOOD_CASES[2]]

    problems = problems_of(with_cases(tmp_path, cases))

    assert problems[0].code == "verifier_cases.case"
    assert problems[0].message == "full-reward case 'right answer' expects 0.5, not the top of reward_range 1.0"


def test_invalid_lines_and_cases_are_located(tmp_path):
    cases = [
        "{not json",
        GOOD_CASES[0] | {"expected_error": "x"},
        {"name": " ", "kind": "full_reward", "request": {}, "expected_reward": 1.0},
        GOOD_CASES[1] | {"kind": "half_reward"},
        GOOD_CASES[2],
    ]

    problems = problems_of(with_cases(tmp_path, cases))

    assert [(p.location.line, p.location.field) for p in problems] == [
        (1, None),
        (2, None),
        (3, "name"),
        (4, "kind"),
        (None, None),
    ]
    assert (
        problems[1].message
        == "invalid case: Value error, a full_reward case needs expected_reward and no expected_error"
    )
    assert problems[-1].message == "the verifier fixture is missing required cases: full_reward, zero_reward"


def test_each_case_runs_on_a_fresh_server(tmp_path):
    # Rewards 1.0 on a server instance's first verify only: shared instances would fail the second case.
    first_call_only = (
        "self.calls = getattr(self, 'calls', 0) + 1\n"
        "reward = 1.0 if self.calls == 1 and text == '\\\\boxed{' + body.expected_answer + '}' else 0.0"
    )

    check_verifier_cases(with_cases(tmp_path, GOOD_CASES + [GOOD_CASES[0] | {"name": "again"}], app(first_call_only)))


def test_a_determinism_case_fails_when_two_fresh_servers_disagree(tmp_path):
    randomized = "reward = 1.0 if text == '\\\\boxed{4}' else random.random() if text == 'other' else 0.0"
    cases = [*GOOD_CASES[:3], GOOD_CASES[3] | {"request": request("other"), "expected_reward": 0.0}]

    (problem,) = problems_of(with_cases(tmp_path, cases, app(randomized)))

    assert (problem.location.line, problem.code) == (4, "verifier_cases.failed")
    assert problem.message.startswith("determinism case 'same twice': two fresh servers scored ")


def test_a_stochastic_server_skips_its_determinism_cases_with_a_note(tmp_path):
    ctx = with_cases(tmp_path, GOOD_CASES, app(), config_fields={"stochastic": "true"})

    check_verifier_cases(ctx)

    assert ctx.notes == ["verifier_cases: determinism case(s) same twice not run: the server declares stochastic: true"]
