"""The reward contract derived from the example rows: empty responses score the minimum, gold ones the maximum.

`contract_empty`: for each example row, a response with no output and one whose only item is an empty
assistant message must score the bottom of `reward_range`. `contract_gold`: where the server builds a
gold response from a row (`gold_response`, e.g. `\\boxed{<expected_answer>}` for math), that response,
run through the agent loop so its tool calls reach the server, must score the top.
"""

from __future__ import annotations

from gym_conform.agent.loop import run_rollout
from gym_conform.agent.model import ReplayModel
from gym_conform.checks.base import CheckFailed, CheckSkipped
from gym_conform.checks.context import FolderContext
from gym_conform.checks.server_import import (
    checked_range,
    client_of,
    declares_reward_range,
    reward_range,
    server_or_skip,
    skip_if_judged_by_standin,
)
from gym_conform.checks.server_rows import verifiable_rows_or_skip
from gym_conform.checks.server_session import VerifyFailed, judged_reward, response_dump, response_json, verify_reward
from gym_conform.core.responses import message_item
from gym_conform.errors import GymConformError, Location, Problem
from gym_conform.server import LoadedServer
from gym_conform.server.watch import REQUEST, watched

EMPTY_RESPONSES = (
    ("a response with no output", lambda: response_json([])),
    ("a response holding one empty assistant message", lambda: response_json([message_item("", id="msg_empty")])),
)


def check_contract_empty(ctx: FolderContext) -> None:
    """Fail for every example row for which an empty response does not score the lowest reward."""
    loaded = server_or_skip(ctx)
    rows = _rows_or_skip(ctx, loaded)
    client = client_of(ctx)
    bounds = checked_range(loaded)
    # Without a declared range (NeMo Gym's servers) the floor is unknown: an empty answer must earn nothing.
    declared = declares_reward_range(loaded)
    low = bounds[0] if declared else 0.0
    shown = ctx.show(ctx.example_path)
    problems = []
    for line, row in rows:
        for what, build in EMPTY_RESPONSES:
            try:
                reward = ctx.run_async(verify_reward(client, row, build(), bounds))
            except VerifyFailed as failure:
                problems.append(_problem("contract.empty", f"{what}: {failure.message}", shown, line, _CRASH_HINT))
                continue
            if (reward != low) if declared else (reward > low):
                wanted = f"the lowest reward {low}" if declared else "at most 0 (the config declares no reward_range)"
                problems.append(
                    _problem("contract.empty", f"{what} scored {reward}, not {wanted}", shown, line, _EMPTY_HINT)
                )
    if problems:
        raise CheckFailed(problems, summary=f"{len(problems)} empty response(s) did not score {low} in {shown}")


def check_contract_gold(ctx: FolderContext) -> None:
    """Fail for every example row whose gold response (from `gold_response`) does not score the highest reward."""
    loaded = server_or_skip(ctx)
    skip_if_judged_by_standin(loaded, "a gold answer scoring the maximum")
    rows = _rows_or_skip(ctx, loaded)
    client = client_of(ctx)
    bounds = reward_range(loaded)
    high = bounds[1]
    shown = ctx.show(ctx.example_path)
    problems = []
    checked = 0
    for line, row in rows:
        try:
            with watched(REQUEST, f"{type(loaded.server).__name__}.gold_response(row)"):
                gold = loaded.server.gold_response(row)
        except Exception as error:
            message = f"gold_response(row) raised {type(error).__name__}: {error}"
            problems.append(_problem("contract.gold_raised", message, shown, line, _GOLD_HINT))
            continue
        if gold is None:
            continue
        checked += 1
        try:
            recorded = response_dump(gold)
            result = ctx.run_async(
                run_rollout(row, client.rollout(), ReplayModel(recorded["output"], envelope=recorded))
            )
            reward = judged_reward(result.reward, bounds)
        except VerifyFailed as failure:
            problems.append(
                _problem("contract.gold", f"the gold response: {failure.message}", shown, line, _CRASH_HINT)
            )
            continue
        except GymConformError as error:
            problems.append(_problem("contract.gold", f"the gold response: {error.message}", shown, line, _CRASH_HINT))
            continue
        if reward != high:
            message = f"the gold response scored {reward}, not the highest reward {high}"
            extra = f"; tool errors: {'; '.join(result.errors)}" if result.errors else ""
            problems.append(_problem("contract.gold", message + extra, shown, line, _GOLD_HINT))
    if not checked and not problems:
        raise CheckSkipped("the server builds no gold response (gold_response returns None for every example row)")
    if problems:
        raise CheckFailed(problems, summary=f"{len(problems)} gold response(s) did not score {high} in {shown}")


def _rows_or_skip(ctx: FolderContext, loaded: LoadedServer) -> list[tuple[int, dict]]:
    rows = verifiable_rows_or_skip(ctx, loaded)
    return rows


def _problem(code: str, message: str, path: str, line: int, hint: str) -> Problem:
    return Problem(code, message, Location(path, line), hint)


_CRASH_HINT = "verify() must answer every well-formed response with a finite reward inside reward_range"
_EMPTY_HINT = (
    "a response that says nothing must not earn reward; check what verify() rewards when the output is empty "
    "(e.g. a row whose expected state is already its initial state is solved by doing nothing)"
)
_GOLD_HINT = (
    "gold_response(row) must build a response that verify() scores with the top of reward_range; fix "
    "gold_response or verify() (or the row's expected fields)"
)
