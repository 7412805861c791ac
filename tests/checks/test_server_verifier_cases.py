"""Tests for `verifier_cases`: NeMo Gym's declarative fixture, run case by case on fresh servers."""

from __future__ import annotations

import json

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
    assert problems[0].message == (
        "full-reward case 'right answer' expects 0.5, not the best end of the reward range 1.0 "
        "(higher is better, from config)"
    )


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

    assert ctx.notes == ["verifier_cases: determinism case(s) same twice not run: determinism is stochastic"]


MANIFEST = """\
name: alpha_env
version: 0.1.0
kind: environment
integration_profile: custom-gym-verifier
domain: math
description: Add two numbers.
modality: text
licensing: Apache-2.0
authors: [ada]
reward: {{range: [0.0, 1.0], higher_is_better: {better}}}
determinism: {determinism}
resources_server: alpha
agent_server: alpha_simple_agent
model_server: policy_model
datasets: [{{name: example, type: example, jsonl_fpath: environments/alpha_env/data/example.jsonl}}]
"""


def with_manifest(tmp_path, better="true", determinism="unknown"):
    env = tmp_path / "environments" / "alpha_env"
    env.mkdir(parents=True)
    (env / "manifest.yaml").write_text(MANIFEST.format(better=better, determinism=determinism))


def test_lower_is_better_in_the_manifest_swaps_the_ends_full_and_zero_must_pin(tmp_path):
    with_manifest(tmp_path, better="false")
    swapped = [
        GOOD_CASES[1] | {"kind": "full_reward", "name": "wrong answer is best"},
        GOOD_CASES[0] | {"kind": "zero_reward", "name": "right answer is worst"},
        GOOD_CASES[2],
    ]

    check_verifier_cases(with_cases(tmp_path, swapped))


def test_with_lower_is_better_the_usual_ends_no_longer_pin(tmp_path):
    with_manifest(tmp_path, better="false")

    problems = problems_of(with_cases(tmp_path, GOOD_CASES[:3]))

    assert [p.code for p in problems] == ["verifier_cases.case", "verifier_cases.case"]
    assert problems[0].message == (
        "full-reward case 'right answer' expects 1.0, not the best end of the reward range 0.0 "
        "(lower is better, from environments/alpha_env/manifest.yaml)"
    )


def test_a_seeded_manifest_requires_a_determinism_case(tmp_path):
    with_manifest(tmp_path, determinism="seeded")

    (problem,) = problems_of(with_cases(tmp_path, GOOD_CASES[:3]))

    assert problem.message == "the verifier fixture is missing required cases: determinism"
    assert "determinism: seeded" in problem.hint


def test_a_manifest_that_is_not_seeded_skips_determinism_cases_as_0_7_0_does(tmp_path):
    with_manifest(tmp_path, determinism="unknown")
    ctx = with_cases(tmp_path, GOOD_CASES)

    check_verifier_cases(ctx)

    assert ctx.notes == ["verifier_cases: determinism case(s) same twice not run: determinism is unknown"]


def test_update_expected_rewrites_the_observed_rewards_in_one_atomic_write(tmp_path):
    cases = [
        GOOD_CASES[0] | {"expected_reward": 0.75},
        GOOD_CASES[1],
        GOOD_CASES[2],
        GOOD_CASES[0] | {"expected_reward": 0.25, "kind": "determinism"},
    ]
    ctx = with_cases(tmp_path, cases)
    ctx.settings.update_expected = True
    path = tmp_path / CASES
    before = path.read_text()

    check_verifier_cases(ctx)

    rewritten = [json.loads(line) for line in path.read_text().splitlines()]
    assert [case.get("expected_reward") for case in rewritten] == [1.0, 0.0, None, 1.0]
    assert rewritten[2]["expected_error"] == "expected_answer"
    assert ctx.notes == [f"updated expected_reward of 2 case(s) in {CASES} (--gym-update-expected)"]
    assert path.read_text() != before
    ctx.settings.update_expected = False
    check_verifier_cases(ctx)  # now they hold as written


def test_update_expected_changes_nothing_when_a_case_fails(tmp_path):
    cases = [GOOD_CASES[0] | {"expected_reward": 0.5}, GOOD_CASES[1], GOOD_CASES[2] | {"request": request("fine")}]
    ctx = with_cases(tmp_path, cases)
    ctx.settings.update_expected = True
    before = (tmp_path / CASES).read_text()

    problems_of(ctx)

    assert (tmp_path / CASES).read_text() == before
