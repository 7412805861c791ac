"""The `floors` check: what a policy that never reads the task scores, per example row, and gold leaked in prompts.

Trivial policies answer each row offline: the prompt echoed, a copy of each non-answer row field, always the
first option, always "yes". A row's floor is the best of their rewards; when a floor is above the lowest
reward, the check notes every row's floor next to the top of `reward_range` (what `contract_gold` expects of
the gold answer). It fails when a trivial policy reaches the top, or when the row's reference answer
(`expected_answer`, `answer`, ...) stands verbatim in its `responses_create_params`, where the model can copy it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from gym_conform.checks.base import CheckFailed
from gym_conform.checks.context import FolderContext
from gym_conform.checks.probes import GOLD_FIELDS, ProbeRow, probe_rows, row_golds, states_gold
from gym_conform.checks.server_import import client_of, reward_range, server_or_skip
from gym_conform.checks.server_probes import answer_response
from gym_conform.checks.server_rows import NEMO_GYM_FIELDS, verifiable_rows_or_skip
from gym_conform.checks.server_session import VerifyFailed, payload_line, verify_reward
from gym_conform.core.jsonl import RCP
from gym_conform.errors import Location, Problem

# A shorter reference answer ("4", "A") turns up in prompts by chance; from three characters on it is a leak.
MIN_LEAK_CHARS = 3
_FIELD_CHARS = 2000
# Fields named like a reference answer (`outputs`, `expected_count`, `gold_label`): copying one is no finding.
_ANSWER_NAME = re.compile(
    r"(^|_)(answers?|outputs?|targets?|labels?|golds?|solutions?|references?|truths?|expected|correct)(_|$)", re.I
)
_HINT = (
    "a policy that never reads the task earns full reward on this row, so training teaches it nothing; make "
    "verify() compare the answer with the row's reference, or fix the row"
)
_LEAK_HINT = (
    "the model can copy the reference answer from its own prompt; remove it from responses_create_params "
    "(keep it in the row's own field, which only verify() reads)"
)


def trivial_answers(row: ProbeRow) -> list[tuple[str, str]]:
    """Return (policy, answer text) for the row: echo, each non-answer row field, the first option, "yes"."""
    answers = [("echo the prompt", row.prompt)] if row.prompt.strip() else []
    golds = set(row.golds)
    for key, value in row.row.items():
        if key in NEMO_GYM_FIELDS or key in GOLD_FIELDS or _ANSWER_NAME.search(key):
            continue
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        if text.strip() and text not in golds and len(text) <= _FIELD_CHARS:
            answers.append((f"copy the row field {key!r}", text))
    if row.options:
        answers.append(("always the first option", row.options[0]))
    answers += [("always yes", "yes"), ("always Yes", "Yes")]
    return answers


def leaked_gold(row: dict, others: Iterable[str] = ()) -> str | None:
    """Return the row's reference answer when it stands verbatim (as whole words) in its create params.

    An answer the prompt offers as a choice is no leak: one side of "X or Y", or among the labels the prompt
    lists, which `others` (the other example rows' answers) standing there too shows.
    """
    params = json.dumps(row.get(RCP), ensure_ascii=False)
    if any(len(other) >= MIN_LEAK_CHARS and _stands_in(other, params) for other in others):
        return None
    for gold in row_golds({key: row[key] for key in GOLD_FIELDS if key in row}):
        if len(gold) >= MIN_LEAK_CHARS and _stands_in(gold, params):
            encoded = re.escape(json.dumps(gold, ensure_ascii=False)[1:-1])
            if not re.search(rf"(?<!\w)(or\s+{encoded}(?!\w)|{encoded}\s+or(?!\w))", params, re.IGNORECASE):
                return gold
    return None


def _stands_in(text: str, params: str) -> bool:
    """Return whether `text` stands as whole words in the JSON text of the create params."""
    encoded = json.dumps(text, ensure_ascii=False)[1:-1]
    return re.search(rf"(?<!\w){re.escape(encoded)}(?!\w)", params) is not None


def check_floors(ctx: FolderContext) -> None:
    """Fail for every row a trivial policy solves or whose reference answer stands in its prompt; note floors."""
    loaded = server_or_skip(ctx)
    lines_rows = verifiable_rows_or_skip(ctx, loaded)
    client = client_of(ctx)
    bounds = reward_range(loaded)
    low, high = bounds
    shown = ctx.show(ctx.example_path)
    problems: list[Problem] = []
    floors: list[tuple[float, str]] = []
    inputs = probe_rows([row for _, row in lines_rows])
    for (line, row), probe_row in zip(lines_rows, inputs, strict=True):
        where = Location(shown, line)
        best, best_policy = low, ""
        for policy, text in trivial_answers(probe_row):
            response = answer_response(text)
            try:
                reward = ctx.run_async(verify_reward(client, row, response, bounds))
            except VerifyFailed:
                continue  # fuzz_verify and contract_empty report a verify that cannot score an answer
            if reward > best:
                best, best_policy = reward, policy
            if reward >= high and not states_gold(text, probe_row.golds):
                # An answer that states the gold (the prompt's example is the answer, "yes" is) is a lucky
                # guess the verifier is right to credit; it still raises the floor noted below.
                message = (
                    f"the trivial policy '{policy}' scored {reward:g}, the highest reward\n"
                    f"    request, one JSON line:\n    {payload_line(row, response)}"
                )
                problems.append(Problem("floors.trivial_policy", message, where, _HINT))
                break
        floors.append((best, f"{line}: {best:g}" + (f" ({best_policy})" if best > low else "")))
        gold = leaked_gold(row, [other.gold for other in inputs if other is not probe_row and other.gold])
        if gold is not None:
            message = f"the reference answer {gold!r} stands verbatim in responses_create_params"
            problems.append(Problem("floors.gold_in_prompt", message, Location(shown, line, RCP), _LEAK_HINT))
    # Floors at the lowest reward say nothing; a raised floor is worth a line in the report even when it passes.
    if any(best > low for best, _ in floors):
        shown_floors = "; ".join(text for _, text in floors)
        ctx.note(f"model-free floor per line of {shown} (gold scores {high:g}): {shown_floors}")
    if problems:
        raise CheckFailed(problems, summary=f"{len(problems)} row(s) of {shown} are solved without the task")
