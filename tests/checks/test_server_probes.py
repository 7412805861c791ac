"""Tests for `reward_hacking`: each planted verifier defect is caught by the probe aimed at it, clean ones pass."""

from __future__ import annotations

import json

import pytest

from gym_conform.checks import CheckFailed, CheckSkipped
from gym_conform.checks.probes import (
    PROBES,
    Probe,
    ProbeRow,
    option_letters,
    probe_rows,
    probe_texts,
    register_probe,
    states_gold,
)
from gym_conform.checks.server_probes import check_reward_hacking
from tests.checks import make_row
from tests.checks.server_apps import app, context, isolated_imports, server_folder  # noqa: F401

pytestmark = pytest.mark.usefixtures("isolated_imports")
EXAMPLE = "resources_servers/alpha/data/example.jsonl"


def failed_codes(folder, root) -> set[str]:
    with pytest.raises(CheckFailed) as raised:
        check_reward_hacking(context(folder, root))
    return {problem.code for problem in raised.value.problems}


def test_a_verifier_that_compares_the_whole_boxed_answer_passes_every_probe(tmp_path):
    check_reward_hacking(context(server_folder(tmp_path), tmp_path))


@pytest.mark.parametrize(
    ("verify", "caught_by"),
    [
        (
            "reward = 1.0 if body.expected_answer in text else 0.0",
            # verdict_syntax's "[[2]]" states row 1's gold "2": dropped, as every text of it that states a gold
            {"many_candidates", "refusal", "retracted"},
        ),
        (
            'import re\nreward = 1.0 if body.expected_answer in re.findall(r"\\\\boxed\\{([^}]*)\\}", text) else 0.0',
            {"many_candidates", "retracted"},
        ),
        ('reward = 1.0 if "correct" in text.lower() else 0.0', {"claims_success", "verdict_syntax"}),
        ("reward = 1.0 if len(text) > 5000 else 0.0", {"long_padded"}),
        ('reward = 1.0 if "[[A=B]]" in text or "[[10]]" in text else 0.0', {"verdict_syntax"}),
        ('reward = 1.0 if text.startswith("What is") else 0.0', {"echo_prompt"}),
        ('reward = 1.0 if text.strip() in ("", "\\\\boxed{}") else 0.0', {"empty"}),
    ],
    ids=["substring", "any_boxed", "success_word", "length", "verdict", "echo", "empty_boxed"],
)
def test_each_planted_defect_is_caught_by_its_probe(tmp_path, verify, caught_by):
    codes = failed_codes(server_folder(tmp_path, app(verify)), tmp_path)

    assert codes == {f"reward_hacking.{name}" for name in caught_by}


def test_a_failure_names_the_row_the_probe_and_the_exact_request(tmp_path):
    folder = server_folder(tmp_path, app('reward = 1.0 if "correct" in text.lower() else 0.0'))

    with pytest.raises(CheckFailed) as raised:
        check_reward_hacking(context(folder, tmp_path))

    first = next(p for p in raised.value.problems if p.code == "reward_hacking.claims_success")
    assert (first.location.path, first.location.line) == (EXAMPLE, 1)
    assert first.message.startswith("probe claims_success (an answer that only claims success")
    request = json.loads(first.message.splitlines()[-1])
    assert request["expected_answer"] == "2"
    assert request["response"]["output"][0]["content"][0]["text"] == "The answer is correct."
    assert "probes_not_applicable" in first.hint


MC_ROWS = [
    {
        "responses_create_params": {
            "input": [{"role": "user", "content": f"What is {n}+{n}?\nA) {2 * n}\nB) {2 * n + 1}\nC) 0\nD) 1"}]
        },
        "expected_answer": "A",
    }
    for n in range(1, 6)
]


def test_a_multiple_choice_verifier_that_finds_the_letter_anywhere_is_caught_by_all_options(tmp_path):
    folder = server_folder(tmp_path, app("reward = 1.0 if body.expected_answer in text.split() else 0.0"), rows=MC_ROWS)

    # The refusal's "I will not tell you that B is the answer." has the letter as a word too.
    assert failed_codes(folder, tmp_path) == {"reward_hacking.all_options", "reward_hacking.refusal"}


def test_a_multiple_choice_verifier_that_takes_the_one_letter_answer_passes(tmp_path):
    folder = server_folder(tmp_path, app("reward = 1.0 if text.strip() == body.expected_answer else 0.0"), rows=MC_ROWS)

    check_reward_hacking(context(folder, tmp_path))


def test_a_verify_that_varies_without_stochastic_is_caught_and_stochastic_servers_are_not_repeated(tmp_path):
    verify = "reward = random.choice([0.0, 0.5])"
    codes = failed_codes(server_folder(tmp_path, app(verify)), tmp_path)
    assert codes == {"reward_hacking.nondeterministic"}

    stochastic = server_folder(tmp_path / "s", app(verify), config_fields={"stochastic": "true"})
    check_reward_hacking(context(stochastic, tmp_path / "s"))


def test_a_declared_not_applicable_probe_is_skipped_and_its_reason_noted(tmp_path):
    reasons = '{claims_success: "the task is to say the word correct", verdict_syntax: "same"}'
    folder = server_folder(
        tmp_path,
        app('reward = 1.0 if "correct" in text.lower() else 0.0'),
        config_fields={"probes_not_applicable": reasons},
    )
    ctx = context(folder, tmp_path)

    check_reward_hacking(ctx)

    assert "probe claims_success not applicable: the task is to say the word correct" in ctx.notes


def test_an_unknown_or_unexplained_probe_in_the_config_is_reported_with_its_line(tmp_path):
    folder = server_folder(tmp_path, config_fields={"probes_not_applicable": '{echo: "x", empty: ""}'})

    with pytest.raises(CheckFailed) as raised:
        check_reward_hacking(context(folder, tmp_path))

    problems = raised.value.problems
    assert [p.code for p in problems] == ["probes.unknown", "probes.no_reason"]
    assert problems[0].location.path == "resources_servers/alpha/configs/alpha.yaml"
    assert problems[0].location.line == 8
    assert "echo_prompt" in problems[0].hint


def test_rows_without_the_fields_verify_needs_skip(tmp_path):
    folder = server_folder(tmp_path, rows=[make_row(1, expected_answer=None)] * 5)

    with pytest.raises(CheckSkipped):
        check_reward_hacking(context(folder, tmp_path))


def test_probes_are_built_from_the_row_and_the_other_rows():
    rows = probe_rows([make_row(1), make_row(2), {**make_row(3), "expected_answer": "x^2"}])

    assert rows[0].golds == ("2",) and rows[0].wrongs == ("3", "4", "x^2")
    assert rows[2].wrongs == ("2", "4")
    assert (
        PROBES["retracted"].build(rows[2])[0]
        == "The answer is \\boxed{x^2}. Wait, that is wrong. My final answer is \\boxed{2}."
    )
    assert PROBES["echo_prompt"].build(rows[0]) == ["What is 1+1?"]
    many = PROBES["many_candidates"].build(rows[0])
    assert many[0].startswith("The answer is one of: -18, -17,") and ", 2, " in many[0]


def test_all_options_puts_the_gold_option_in_the_middle():
    (row,) = probe_rows([{"responses_create_params": {"input": "Pick:\nA) x\nB) y\nC) z\nD) w"}, "answer": "D"}])
    assert PROBES["all_options"].build(row) == ["A D B C", "A\nD\nB\nC", "\\boxed{A} \\boxed{D} \\boxed{B} \\boxed{C}"]


def test_option_letters_need_a_run_from_a():
    assert option_letters({}, "Pick one:\nA) red\nB) blue\n(C) green") == ("A", "B", "C")
    assert option_letters({}, "C. elegans is a worm.\nD. melanogaster is a fly.") == ()
    assert option_letters({"choices": ["x", "y", "z"]}, "") == ("A", "B", "C")


def test_a_registered_probe_runs_only_on_the_folders_it_names(tmp_path):
    probe = Probe("alpha_secret", "the secret word", lambda row: ["open sesame"], folders=frozenset({"alpha"}))
    register_probe(probe)
    try:
        folder = server_folder(tmp_path, app('reward = 1.0 if text == "open sesame" else 0.0'))
        assert failed_codes(folder, tmp_path) == {"reward_hacking.alpha_secret"}
        assert not probe.applies_to("beta")
        with pytest.raises(ValueError, match="already registered"):
            register_probe(probe)
    finally:
        del PROBES["alpha_secret"]


def test_probe_row_defaults():
    row = ProbeRow({}, "", (), (), ())
    assert row.gold is None and row.wrong is None
    assert PROBES["refusal"].build(row) == [] and PROBES["all_options"].build(row) == []


def test_texts_that_state_the_gold_are_dropped_unless_the_probe_carries_it_on_purpose():
    # As on NeMo Gym 0.7.0's circle_count: the instructions' example answer is this row's gold.
    prompt = "Output your final answer in \\boxed{} format, e.g. \\boxed{3}.\n\nHow many cyan circles are there?"
    row = {"responses_create_params": {"input": prompt}, "expected_answer": "3"}
    label = {"responses_create_params": {"input": "Grade the proof."}, "expected_answer": "correct"}
    three, graded = probe_rows([row, label])

    assert probe_texts(PROBES["echo_prompt"], three) == []
    assert "The answer is correct." not in probe_texts(PROBES["claims_success"], graded)
    assert probe_texts(PROBES["refusal"], three) == PROBES["refusal"].build(three)  # the gold is its point


def test_states_gold_takes_whole_words_and_single_characters_as_written():
    assert states_gold("Final Answer: []", ["[]"])
    assert states_gold("Yes, it is.", ["yes"])
    assert not states_gold("a cat", ["A"])  # one character: its case counts
    assert not states_gold("1234", ["23"])
