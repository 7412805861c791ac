"""The `session_isolation` check: a row's reward and tool results do not depend on the other sessions open at once.

Each example row is played with its gold response, or else the response of its recorded example rollout
(seed_session, the response's tool calls, verify) alone, twice, in fresh sessions: that is its reference
(tool results that differ between the two runs are not compared). Then every ordered pair of rows is
played interleaved (seed A, seed B, A's tools, B's tools, verify A, verify B) and all rows are played
concurrently; a reward or tool result that differs from the reference means state leaks between sessions (a
module-level dict, a global, an object not keyed by the session id), and the failure names both rows.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from gym_conform.checks.base import CheckFailed, CheckSkipped
from gym_conform.checks.context import FolderContext
from gym_conform.checks.server_import import client_of, reward_range, server_or_skip
from gym_conform.checks.server_references import reference_responses
from gym_conform.checks.server_rows import verifiable_rows
from gym_conform.checks.server_session import RESPONSE, VerifyFailed, judged_reward, row_only
from gym_conform.errors import Location, Problem, ServerError
from gym_conform.server import ServerClient

_HINT = (
    "keep per-rollout state keyed by the session id (`self.session_id(request)`, set up in seed_session), never "
    "in a module-level dict, a global or a shared object; paste both rows into a test that plays them interleaved"
)


@dataclass
class Outcome:
    """What one play of a row gave: its reward (None when verify failed) and each tool call's result text."""

    reward: float | None
    tools: list[str] = field(default_factory=list)


class Play:
    """One row played in its own session with a fixed response, step by step (seed, each tool call, verify)."""

    def __init__(self, client: ServerClient, row: dict, response: dict, bounds: tuple[float, float]) -> None:
        self.session = client.rollout()
        self.row = row
        self.response = response
        self.bounds = bounds
        self.calls = [
            (item["name"], item.get("arguments") or "{}")
            for item in response.get("output", [])
            if isinstance(item, dict) and item.get("type") == "function_call"
        ]
        self.outcome = Outcome(None)

    async def seed(self) -> None:
        """POST the row to /seed_session."""
        await self.session.seed_session(row_only(self.row))

    async def tool(self, index: int) -> None:
        """Make the response's `index`-th tool call (when it has one) and record the result text."""
        if index >= len(self.calls):
            return
        name, arguments = self.calls[index]
        try:
            parsed: Any = json.loads(arguments)
        except ValueError:
            parsed = arguments
        result = await self.session.call_tool(name, parsed)
        self.outcome.tools.append(f"HTTP {result.status_code}: {result.text}")

    async def verify(self) -> Outcome:
        """Verify the row with the response; return the outcome (reward None when verify failed)."""
        try:
            answer = await self.session.verify({**row_only(self.row), RESPONSE: self.response})
            self.outcome.reward = judged_reward(answer.get("reward"), self.bounds)
        except (ServerError, VerifyFailed):
            self.outcome.reward = None
        return self.outcome

    async def whole(self) -> Outcome:
        """Play every step in order."""
        await self.seed()
        for index in range(len(self.calls)):
            await self.tool(index)
        return await self.verify()


async def interleaved(plays: list[Play]) -> list[Outcome]:
    """Seed all, then the tool calls round-robin, then verify all: several sessions open at once."""
    for play in plays:
        await play.seed()
    for index in range(max((len(p.calls) for p in plays), default=0)):
        for play in plays:
            await play.tool(index)
    return [await play.verify() for play in plays]


def check_session_isolation(ctx: FolderContext) -> None:
    """Fail for every pair of rows whose interleaved or concurrent play changes a reward or a tool result."""
    loaded = server_or_skip(ctx)
    golds, source = reference_responses(ctx, loaded, verifiable_rows(ctx, loaded))
    if len(golds) < 2:
        raise CheckSkipped(
            "session isolation needs responses to play for at least two example rows: gold responses "
            f"(gold_response) or recorded rollouts ({ctx.show(ctx.rollouts_path)}) of different rows"
        )
    client = client_of(ctx)
    bounds = reward_range(loaded)
    shown = ctx.show(ctx.example_path)

    def play(index: int) -> Play:
        _, row, response = golds[index]
        return Play(client, row, response, bounds)

    try:
        first = [ctx.run_async(play(i).whole()) for i in range(len(golds))]
        second = [ctx.run_async(play(i).whole()) for i in range(len(golds))]
    except ServerError as error:
        raise CheckSkipped(f"a {source} cannot be played alone: {error.message} (see contract_gold, replay)") from None
    # Tool results that differ between two runs alone (ids, clocks) carry no isolation signal.
    steady = [a.tools == b.tools for a, b in zip(first, second, strict=True)]
    alone = [Outcome(a.reward if a.reward == b.reward else None, a.tools) for a, b in zip(first, second, strict=True)]
    problems: dict[tuple[int, str], Problem] = {}

    def compare(index: int, got: Outcome, other: str, how: str) -> None:
        reference = alone[index]
        line = golds[index][0]
        if reference.reward is not None and got.reward != reference.reward:
            message = f"the row scored {reference.reward:g} alone but {_shown(got.reward)} {how} {other}"
        elif steady[index] and got.tools != reference.tools:
            message = f"the row's tool results differ {how} {other}: {_first_difference(reference.tools, got.tools)}"
        else:
            return
        problems.setdefault((line, how), Problem("session.leak", message, Location(shown, line), _HINT))

    try:
        for a, b in itertools.permutations(range(len(golds)), 2):
            got = ctx.run_async(interleaved([play(a), play(b)]))
            other = f"{shown}:{golds[b][0]}"
            compare(a, got[0], other, "interleaved with the session of")
            compare(b, got[1], f"{shown}:{golds[a][0]}", "interleaved (second) with the session of")
        for _ in range(2):
            plays = [play(i) for i in range(len(golds))]
            outcomes = ctx.run_async(_concurrently(plays))
            for index, outcome in enumerate(outcomes):
                others = ", ".join(str(golds[i][0]) for i in range(len(golds)) if i != index)
                compare(index, outcome, f"lines {others}", "played concurrently with")
    except ServerError as error:
        message = f"a call failed only when sessions overlap: {error.message}"
        problems[(0, "error")] = Problem("session.leak", message, Location(shown), _HINT)
    if problems:
        found = list(problems.values())
        raise CheckFailed(found, summary=f"{len(found)} row(s) of {shown} see another session's state")


async def _concurrently(plays: list[Play]) -> list[Outcome]:
    return list(await asyncio.gather(*(play.whole() for play in plays)))


def _shown(reward: float | None) -> str:
    return "nothing (verify failed)" if reward is None else f"{reward:g}"


def _first_difference(expected: list[str], got: list[str]) -> str:
    for index, (a, b) in enumerate(zip(expected, got, strict=False)):
        if a != b:
            return f"tool call {index + 1} gave {b[:200]!r}, alone {a[:200]!r}"
    return f"{len(got)} tool result(s), alone {len(expected)}"
