"""Run example rows x repeats through the simple_agent loop against a live model, at most N rollouts at a time.

Each rollout ends with a reward or with errors, kept apart: a rollout whose model server failed, whose
resources server failed, whose verify gave an unusable reward, whose tool-call arguments were not JSON or
that hit max_steps is an error, never a reward of 0. A tool call the server refuses with a 4xx (a tool the
row does not offer, arguments that do not fit) is the model's mistake: the model reads the refusal, as in
NeMo Gym, and the rollout goes on.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gym_conform.agent.loop import run_rollout
from gym_conform.agent.model import ModelClient
from gym_conform.agent.rollouts import rollout_line, write_rollouts
from gym_conform.errors import GymConformError
from gym_conform.server.client import RolloutSession, ServerClient, ToolResult

# Error kinds, in report order.
MODEL_HTTP = "model_http"
SERVER_HTTP = "server_http"
BAD_REWARD = "bad_reward"
INVALID_TOOL_JSON = "invalid_tool_json"
MAX_STEPS = "max_steps"
ERROR_KINDS = (MODEL_HTTP, SERVER_HTTP, BAD_REWARD, INVALID_TOOL_JSON, MAX_STEPS)
# NeMo Gym's agents loop without limit unless max_steps is set; a live run must end.
DEFAULT_MAX_STEPS = 32
_SHOWN_CHARS = 300


@dataclass(frozen=True)
class LiveRow:
    """One example row: its line in example.jsonl and NeMo Gym's task index (identical rows share one)."""

    line: int
    task_index: int
    row: dict


@dataclass(frozen=True)
class RolloutError:
    """Why a rollout does not count as a reward: its kind (one of ERROR_KINDS) and what happened."""

    kind: str
    message: str


@dataclass
class LiveRollout:
    """One sample of one row: its reward (None when it has none), its errors, and the rollout line to save."""

    row: LiveRow
    repeat: int
    reward: float | None = None
    errors: list[RolloutError] = field(default_factory=list)
    refused_tool_calls: int = 0
    steps: int = 0
    line: dict | None = None

    @property
    def clean(self) -> bool:
        """Return True when the rollout has a reward and no error, so its reward counts."""
        return self.reward is not None and not self.errors


def live_rows(rows: Sequence[tuple[int, dict]]) -> list[LiveRow]:
    """Number the rows as NeMo Gym's rollout collection does: identical rows get the same task index."""
    seen: dict[str, int] = {}
    numbered = []
    for line, row in rows:
        key = json.dumps(row, sort_keys=True)
        numbered.append(LiveRow(line, seen.setdefault(key, len(seen)), row))
    return numbered


async def run_live(
    client: ServerClient,
    model: ModelClient,
    rows: Sequence[LiveRow],
    *,
    repeats: int = 1,
    concurrency: int = 32,
    max_steps: int | None = None,
    reward_range: tuple[float, float] = (0.0, 1.0),
    agent_ref: dict | None = None,
) -> list[LiveRollout]:
    """Run every row `repeats` times (at most `concurrency` rollouts at once); return them in row, repeat order."""
    limit = asyncio.Semaphore(concurrency)
    steps = max_steps or DEFAULT_MAX_STEPS

    async def one(row: LiveRow, repeat: int) -> LiveRollout:
        async with limit:
            return await _rollout(client, model, row, repeat, steps, reward_range, agent_ref)

    return list(await asyncio.gather(*(one(row, repeat) for row in rows for repeat in range(repeats))))


def save_rollouts(path: Path, rollouts: Sequence[LiveRollout]) -> int:
    """Write the rollout lines of every rollout that was verified (NeMo Gym's format); return how many."""
    lines = [rollout.line for rollout in rollouts if rollout.line is not None]
    write_rollouts(path, lines)
    return len(lines)


class _WatchedSession:
    """A rollout's server session that keeps each tool answer, to tell refused calls from failed ones."""

    def __init__(self, session: RolloutSession) -> None:
        self._session = session
        self.tool_results: list[tuple[str, ToolResult]] = []

    async def seed_session(self, row: dict) -> dict:
        """Seed the session with the row."""
        return await self._session.seed_session(row)

    async def call_tool(self, name: str, arguments: Any) -> ToolResult:
        """Call a tool and keep its answer."""
        result = await self._session.call_tool(name, arguments)
        self.tool_results.append((name, result))
        return result

    async def verify(self, payload: dict) -> dict:
        """Verify the rollout."""
        return await self._session.verify(payload)


async def _rollout(
    client: ServerClient,
    model: ModelClient,
    row: LiveRow,
    repeat: int,
    max_steps: int,
    reward_range: tuple[float, float],
    agent_ref: dict | None,
) -> LiveRollout:
    outcome = LiveRollout(row, repeat)
    session = _WatchedSession(client.rollout())
    try:
        result = await run_rollout(row.row, session, model, max_steps=max_steps)  # type: ignore[arg-type]
    except GymConformError as error:
        problems = error.problems
        kind = MODEL_HTTP if any(p.code.startswith("model.") for p in problems) else SERVER_HTTP
        text = "; ".join(f"{p.message} [{p.code}]" for p in problems)
        outcome.errors.append(RolloutError(kind, _shown(text)))
        return outcome
    outcome.steps = result.steps
    outcome.line = rollout_line(
        result.verify_response, task_index=row.task_index, rollout_index=repeat, agent_ref=agent_ref
    )
    offered = _offered_tools(row.row)
    for name, answer in session.tool_results:
        if answer.ok:
            continue
        if answer.status_code >= 500 or (answer.status_code in (404, 405) and name in offered):
            why = "raised" if answer.status_code >= 500 else "is offered by the row but has no route"
            outcome.errors.append(
                RolloutError(SERVER_HTTP, f"tool {name} {why}: HTTP {answer.status_code}: {_shown(answer.text)}")
            )
        else:
            outcome.refused_tool_calls += 1
    outcome.errors += _invalid_arguments(result.response)
    if result.stop_reason == "max_steps":
        outcome.errors.append(RolloutError(MAX_STEPS, f"stopped after max_steps={max_steps} model calls"))
    reward = result.reward
    if _usable(reward, reward_range):
        outcome.reward = float(reward)
    else:
        low, high = reward_range
        outcome.errors.append(
            RolloutError(BAD_REWARD, f"verify returned reward {json.dumps(reward)}, not a number in [{low}, {high}]")
        )
    return outcome


def _offered_tools(row: dict) -> set[str]:
    tools = (row.get("responses_create_params") or {}).get("tools") or []
    return {tool["name"] for tool in tools if isinstance(tool, dict) and isinstance(tool.get("name"), str)}


def _invalid_arguments(response: dict) -> list[RolloutError]:
    """Return one error per function call whose arguments are not JSON (the model saw an error text instead)."""
    errors = []
    for item in response.get("output") or []:
        if not isinstance(item, dict) or item.get("type") != "function_call":
            continue
        try:
            json.loads(item.get("arguments") or "")
        except ValueError as error:
            shown = _shown(str(item.get("arguments")))
            errors.append(RolloutError(INVALID_TOOL_JSON, f"{item.get('name')} arguments {shown!r}: {error}"))
    return errors


def _usable(reward: Any, reward_range: tuple[float, float]) -> bool:
    low, high = reward_range
    return (
        isinstance(reward, (int, float))
        and not isinstance(reward, bool)
        and math.isfinite(reward)
        and low <= reward <= high
    )


def _shown(text: str) -> str:
    return text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + "..."
