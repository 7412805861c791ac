"""Tests for `floors`: trivial policies that reach the top and reference answers in prompts are caught."""

from __future__ import annotations

import json

import pytest

from gym_conform.checks import CheckFailed
from gym_conform.checks.probes import probe_rows
from gym_conform.checks.server_floors import check_floors, leaked_gold, trivial_answers
from tests.checks import make_row
from tests.checks.server_apps import app, context, isolated_imports, server_folder  # noqa: F401

pytestmark = pytest.mark.usefixtures("isolated_imports")
EXAMPLE = "resources_servers/alpha/data/example.jsonl"
ID_ROWS = [make_row(n, id=n) for n in range(1, 6)]


def codes_of(folder, root) -> list[tuple[str, int]]:
    with pytest.raises(CheckFailed) as raised:
        check_floors(context(folder, root))
    return [(p.code, p.location.line) for p in raised.value.problems]


def test_a_verifier_that_needs_the_answer_passes_with_nothing_to_note(tmp_path):
    ctx = context(server_folder(tmp_path, rows=ID_ROWS), tmp_path)

    check_floors(ctx)

    assert ctx.notes == []


def test_a_verifier_reading_the_wrong_field_is_solved_by_copying_it(tmp_path):
    folder = server_folder(
        tmp_path, app('reward = 1.0 if text.strip() == str(body.model_extra["id"]) else 0.0'), rows=ID_ROWS
    )

    with pytest.raises(CheckFailed) as raised:
        check_floors(context(folder, tmp_path))

    problems = raised.value.problems
    assert [(p.code, p.location.line) for p in problems] == [("floors.trivial_policy", n) for n in range(1, 6)]
    assert problems[0].message.startswith("the trivial policy 'copy the row field 'id'' scored 1, the highest reward")
    assert json.loads(problems[0].message.splitlines()[-1])["response"]["output"][0]["content"][0]["text"] == "1"


def test_always_yes_is_caught_and_partial_floors_are_noted(tmp_path):
    folder = server_folder(tmp_path, app('reward = 1.0 if text.strip() == "yes" else 0.5 if text == "Yes" else 0.0'))
    assert codes_of(folder, tmp_path) == [("floors.trivial_policy", n) for n in range(1, 6)]

    half = server_folder(tmp_path / "h", app('reward = 0.5 if text.strip() == "Yes" else 0.0'))
    ctx = context(half, tmp_path / "h")
    check_floors(ctx)
    assert ctx.notes[0].endswith(
        "1: 0.5 (always Yes); 2: 0.5 (always Yes); 3: 0.5 (always Yes); 4: 0.5 (always Yes); 5: 0.5 (always Yes)"
    )


def test_a_reference_answer_in_the_prompt_is_reported_at_the_row(tmp_path):
    leaky = {
        **make_row(100),
        "responses_create_params": {"input": [{"role": "user", "content": "100+100 is 200. What is 100+100?"}]},
    }
    folder = server_folder(tmp_path, rows=[leaky, *[make_row(n) for n in range(1, 5)]])

    assert codes_of(folder, tmp_path) == [("floors.gold_in_prompt", 1)]


def test_fields_named_like_answers_are_not_copied():
    (row,) = probe_rows([{**make_row(1), "outputs": ["A"], "expected_count": 3, "gold_label": "x", "id": 7}])
    assert [policy for policy, _ in trivial_answers(row)] == [
        "echo the prompt",
        "copy the row field 'id'",
        "always yes",
        "always Yes",
    ]


def test_leaked_gold_needs_whole_words_of_three_characters():
    prompt = {"input": "Add 5 to 4500 and report 20."}
    assert leaked_gold({"responses_create_params": prompt, "expected_answer": "500"}) is None
    assert leaked_gold({"responses_create_params": prompt, "expected_answer": "20"}) is None
    assert leaked_gold({"responses_create_params": prompt, "answer": "4500"}) == "4500"
    assert leaked_gold({"responses_create_params": {"input": 'say "x" twice'}, "answer": '"x" twice'}) == '"x" twice'


def mc_row(gold: str) -> dict:
    prompt = "Which is largest?\nA) 1\nB) 5\nC) 3\nD) 2"
    return {"responses_create_params": {"input": [{"role": "user", "content": prompt}]}, "expected_answer": gold}


def test_a_verifier_that_scores_the_first_option_is_solved_by_always_answering_it(tmp_path):
    # Planted: verify compares with the option listed first, not the row's expected_answer.
    rows = [mc_row(gold) for gold in "BBCDB"]
    folder = server_folder(tmp_path, app('reward = 1.0 if text.strip() == "A" else 0.0'), rows=rows)

    with pytest.raises(CheckFailed) as raised:
        check_floors(context(folder, tmp_path))

    problems = raised.value.problems
    assert [(p.code, p.location.line) for p in problems] == [("floors.trivial_policy", n) for n in range(1, 6)]
    assert problems[0].message.startswith("the trivial policy 'always the first option' scored 1")


def test_a_verifier_that_rewards_restating_the_question_is_solved_by_echoing_it(tmp_path):
    folder = server_folder(tmp_path, app('reward = 1.0 if "What is" in text else 0.0'))

    with pytest.raises(CheckFailed) as raised:
        check_floors(context(folder, tmp_path))

    assert raised.value.problems[0].message.startswith("the trivial policy 'echo the prompt' scored 1")


def test_an_answer_the_prompt_offers_as_a_choice_is_no_leak():
    def row(prompt: str, gold: str) -> dict:
        return {"responses_create_params": {"input": prompt}, "expected_answer": gold}

    # As on 0.7.0's hotpotqa_qa and imo_gradingbench: one side of "X or Y", one of the labels the prompt lists.
    assert leaked_gold(row("Who was born first, Ed Wood or Steven Spielberg?", "Ed Wood")) is None
    labels = "Answer with one of: correct, almost, partial, incorrect."
    assert leaked_gold(row(labels, "partial"), others=["correct", "almost"]) is None
    assert leaked_gold(row("Ed Wood was born first. Who was born first?", "Ed Wood")) == "Ed Wood"


def test_a_trivial_answer_that_states_the_gold_is_a_lucky_guess_not_a_finding(tmp_path):
    # "yes" is row 1's answer; the verifier is right to credit it, and the floor is still noted.
    rows = [make_row(1, expected_answer="yes"), *[make_row(n) for n in range(2, 6)]]
    ctx = context(
        server_folder(
            tmp_path, rows=rows, app_text=app("reward = 1.0 if text.strip() == body.expected_answer else 0.0")
        ),
        tmp_path,
    )

    check_floors(ctx)

    assert "1: 1 (always yes)" in ctx.notes[0]
