"""The `verify_budget` check: no verify() call on an example row takes longer than the budget (default 3 s).

Each example row is verified twice through the server's HTTP contract (its gold response when the server
builds one, else its recorded example rollout's response; and a wrong boxed answer), each call timed; one
untimed call first absorbs start-up work (worker processes, caches). A call slower than `--gym-verify-budget`
(ini `gym_verify_budget`) fails with the figure measured, the row and the request (a passing run's times
are the report's, per check and server).
"""

from __future__ import annotations

import time

from gym_conform.checks.base import CheckFailed
from gym_conform.checks.context import FolderContext
from gym_conform.checks.probes import boxed, probe_rows
from gym_conform.checks.server_import import client_of, reward_range, server_or_skip
from gym_conform.checks.server_probes import answer_response
from gym_conform.checks.server_references import gold_responses, recorded_responses
from gym_conform.checks.server_rows import verifiable_rows_or_skip
from gym_conform.checks.server_session import VerifyFailed, payload_line, verify_reward
from gym_conform.errors import Location, Problem
from gym_conform.server import ServerClient

_HINT = (
    "a slow verify() stalls every rollout batch of training; cache what does not depend on the response (in "
    "__init__ or seed_session), bound external calls with a timeout, or raise --gym-verify-budget "
    "(ini gym_verify_budget) if the task needs it"
)


def check_verify_budget(ctx: FolderContext) -> None:
    """Fail for every example row whose verify() takes longer than the budget."""
    loaded = server_or_skip(ctx)
    lines_rows = verifiable_rows_or_skip(ctx, loaded)
    client = client_of(ctx)
    bounds = reward_range(loaded)
    budget = ctx.settings.verify_budget
    shown = ctx.show(ctx.example_path)
    # The right answer is often the slow one (its code runs, its tool calls replay): the gold response, else
    # the row's recorded rollout (a NeMo Gym server has no gold hook), then a wrong answer.
    references = gold_responses(loaded, lines_rows) or recorded_responses(ctx, lines_rows)
    calls = []
    for (line, row), probe_row in zip(lines_rows, probe_rows([row for _, row in lines_rows]), strict=True):
        if line in references:
            calls.append((line, row, references[line]))
        calls.append((line, row, answer_response(boxed(probe_row.wrong or "0"))))
    _timed(ctx, client, *calls[0][1:], bounds)  # start-up work (worker pools, lazy imports) is not the budget's
    slowest = (0.0, 0)
    problems: list[Problem] = []
    for line, row, response in calls:
        took = _timed(ctx, client, row, response, bounds)
        slowest = max(slowest, (took, line))
        if took > budget:
            message = (
                f"verify took {took:.2f} s, over the budget of {budget:g} s\n"
                f"    request, one JSON line:\n    {payload_line(row, response)}"
            )
            problems.append(Problem("verify_budget.slow", message, Location(shown, line), _HINT))
    if problems:
        summary = f"{len(problems)} verify call(s) over {budget:g} s in {shown} (slowest {slowest[0]:.2f} s)"
        raise CheckFailed(problems, summary=summary)


def _timed(ctx: FolderContext, client: ServerClient, row: dict, response: dict, bounds: tuple[float, float]) -> float:
    """Return the seconds one seed + verify took; a verify that fails is timed too (the other checks report it)."""
    started = time.perf_counter()
    try:
        ctx.run_async(verify_reward(client, row, response, bounds))
    except VerifyFailed:
        pass
    return time.perf_counter() - started
