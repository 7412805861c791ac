"""Tests for `fuzz_verify`: crashes, out-of-range and non-finite rewards, nondeterminism, each shrunk to one row."""

from __future__ import annotations

import json

import pytest

from gym_conform.checks import CheckFailed
from gym_conform.checks.server_fuzz import check_fuzz_verify
from tests.checks.server_apps import app, context, isolated_imports, server_folder  # noqa: F401

pytestmark = pytest.mark.usefixtures("isolated_imports")
CRASH_ON_EMPTY = "first = body.response.output[0]\nreward = 0.0"
RANDOM_UNLESS_EMPTY = "reward = random.random() if body.response.output else 0.0"


def not_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return True
    return False


def fuzz_failure(folder, root, **settings):
    with pytest.raises(CheckFailed) as raised:
        check_fuzz_verify(context(folder, root, **settings))
    (problem,) = raised.value.problems
    counterexample = json.loads(problem.message.splitlines()[-1])
    return problem, counterexample


def test_a_verify_that_scores_any_response_passes(tmp_path):
    check_fuzz_verify(context(server_folder(tmp_path), tmp_path))


def test_a_crash_on_empty_output_is_shrunk_to_the_empty_response(tmp_path):
    problem, counterexample = fuzz_failure(server_folder(tmp_path, app(CRASH_ON_EMPTY)), tmp_path)

    assert problem.code == "fuzz_verify.reward"
    assert problem.message.startswith("verify raised: IndexError('list index out of range')")
    assert counterexample["response"]["output"] == []
    assert counterexample["expected_answer"] == "2"
    assert counterexample["responses_create_params"] == {"input": [{"role": "user", "content": "What is 1+1?"}]}
    assert (problem.location.path, problem.location.field) == ("resources_servers/alpha/app.py", "verify")
    assert "tests/verifier_cases.jsonl" in problem.hint


def test_a_reward_above_the_range_fails(tmp_path):
    problem, _ = fuzz_failure(server_folder(tmp_path, app("reward = 1.5")), tmp_path)

    assert "verify returned reward 1.5, outside the declared reward_range [0.0, 1.0]" in problem.message


def test_a_declared_range_is_honoured(tmp_path):
    folder = server_folder(tmp_path, app("reward = 1.5"), config_fields={"reward_range": "[0, 2]"})

    check_fuzz_verify(context(folder, tmp_path))


def test_a_nan_reward_fails_as_null(tmp_path):
    problem, _ = fuzz_failure(server_folder(tmp_path, app('reward = float("nan")')), tmp_path)

    assert "verify returned reward null: a NaN or infinite reward is sent as null" in problem.message


def test_a_nondeterministic_verify_fails(tmp_path):
    problem, counterexample = fuzz_failure(server_folder(tmp_path, app(RANDOM_UNLESS_EMPTY)), tmp_path)

    assert problem.code == "fuzz_verify.nondeterministic"
    assert "the same row and response scored" in problem.message
    assert "stochastic: true" in problem.message
    assert counterexample["response"]["output"]


def test_a_server_declared_stochastic_may_vary(tmp_path):
    folder = server_folder(tmp_path, app(RANDOM_UNLESS_EMPTY), config_fields={"stochastic": "true"})

    check_fuzz_verify(context(folder, tmp_path))


def test_a_verify_that_trips_on_tool_call_arguments_is_found(tmp_path):
    body = """\
    calls = [item for item in body.response.output if item.type == "function_call"]
    arguments = [json.loads(call.arguments) for call in calls]
    reward = 0.0
    """
    folder = server_folder(tmp_path, "import json\n" + app(body))

    problem, counterexample = fuzz_failure(folder, tmp_path)

    assert "verify raised: JSONDecodeError" in problem.message
    calls = [item for item in counterexample["response"]["output"] if item["type"] == "function_call"]
    assert any(not_json(call["arguments"]) for call in calls)


def test_max_examples_bounds_the_number_of_verify_calls(tmp_path):
    counter = tmp_path / "calls.txt"
    body = f"open({str(counter)!r}, 'a').write('.')\nreward = 0.0"
    folder = server_folder(tmp_path, app(body))

    check_fuzz_verify(context(folder, tmp_path, max_examples=4))

    assert len(counter.read_text()) == 2 * 4


def test_an_unknown_hypothesis_profile_is_a_clear_failure(tmp_path):
    with pytest.raises(CheckFailed) as raised:
        check_fuzz_verify(context(server_folder(tmp_path), tmp_path, hypothesis_profile="nope"))

    assert raised.value.problems[0].code == "check.hypothesis_profile"
