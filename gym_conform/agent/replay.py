"""Replay recorded rollouts against a server's current code and compare each new reward with the recorded one.

`ng_replay_rollouts` and the `replay` conformance check share this code path: the recorded model turns
are sent again through the simple_agent loop, the server's tools and verify() answer them.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from gym_conform.agent.loop import run_rollout
from gym_conform.agent.model import ReplayModel
from gym_conform.agent.rollouts import (
    AGENT_REF_KEY,
    ROLLOUT_INDEX_KEY,
    TASK_INDEX_KEY,
    RolloutRecord,
    rollout_line,
    row_of,
)
from gym_conform.errors import GymConformError
from gym_conform.server import LoadedServer, ResourcesServer, ServerClient

Verdict = Literal["unchanged", "changed", "failed"]
AGENT_SERVER_TYPE = "responses_api_agents"


@dataclass
class ReplayOutcome:
    """One replayed rollout: the fresh rollout line, the loop's tool errors, or the error that stopped it."""

    record: RolloutRecord
    line: dict | None = None
    tool_errors: tuple[str, ...] = ()
    error: GymConformError | None = None

    @property
    def recorded_reward(self) -> Any:
        """Return the reward the recording holds (None when the line has none, e.g. a hand-written draft)."""
        return self.record.data.get("reward")

    @property
    def new_reward(self) -> Any:
        """Return the reward of the replay (None when it failed)."""
        return self.line.get("reward") if self.line is not None else None

    def verdict(self) -> tuple[Verdict, str]:
        """Return unchanged, changed or failed, and a one-line explanation."""
        if self.error is not None:
            rendered = "\n    ".join(p.render() for p in self.error.problems)
            return "failed", f"ERROR {rendered}"
        new = self.new_reward
        if not _is_number(new):
            return "failed", f"ERROR verify returned reward {new!r}, not a number"
        old = self.recorded_reward
        if "reward" in self.record.data and same_reward(old, new):
            return "unchanged", f"reward {old} == {new}"
        shown_old = old if "reward" in self.record.data else "(none)"
        return "changed", f"reward CHANGED {shown_old} -> {new}"


def verify_extras(server: ResourcesServer) -> set[str]:
    """Return the keys verify adds besides the reward: its response model's fields its request model lacks."""
    return set(server.verify_response_model().model_fields) - set(server.verify_request_model().model_fields)


def agent_max_steps(loaded: LoadedServer) -> dict[str, int]:
    """Return `max_steps` of every agent that uses this server and sets it, by agent instance name."""
    found = {}
    for instance in loaded.instances:
        target = instance.fields.get("resources_server")
        steps = instance.fields.get("max_steps")
        if (
            instance.server_type == AGENT_SERVER_TYPE
            and isinstance(target, dict)
            and target.get("name") == loaded.name
            and isinstance(steps, int)
            and not isinstance(steps, bool)
        ):
            found[instance.name] = steps
    return found


def steps_for(data: dict, max_steps: dict[str, int]) -> int | None:
    """Return the max_steps of the rollout's agent (agent_ref), or the one all agents of this server agree on."""
    agent = data.get(AGENT_REF_KEY)
    if isinstance(agent, dict) and agent.get("name") in max_steps:
        return max_steps[agent["name"]]
    values = set(max_steps.values())
    return values.pop() if len(values) == 1 else None


async def replay_rollout(
    client: ServerClient, record: RolloutRecord, *, extras: set[str], max_steps: dict[str, int]
) -> ReplayOutcome:
    """Replay one recorded rollout in its own session; a GymConformError becomes the outcome's error."""
    data = record.data
    try:
        model = ReplayModel(data["response"]["output"], envelope=data["response"])
        result = await run_rollout(
            row_of(data, verify_extras=extras), client.rollout(), model, max_steps=steps_for(data, max_steps)
        )
    except GymConformError as error:
        return ReplayOutcome(record, error=error)
    line = rollout_line(
        result.verify_response,
        task_index=data.get(TASK_INDEX_KEY),
        rollout_index=data.get(ROLLOUT_INDEX_KEY),
        agent_ref=data.get(AGENT_REF_KEY),
    )
    return ReplayOutcome(record, line=line, tool_errors=tuple(result.errors))


async def replay_rollouts(
    client: ServerClient,
    loaded: LoadedServer,
    records: Sequence[RolloutRecord],
    *,
    concurrency: int = 8,
) -> list[ReplayOutcome]:
    """Replay every record against `client` (which serves `loaded`), at most `concurrency` at a time, in order."""
    extras = verify_extras(loaded.server)
    max_steps = agent_max_steps(loaded)
    limit = asyncio.Semaphore(concurrency)

    async def replay(record: RolloutRecord) -> ReplayOutcome:
        async with limit:
            return await replay_rollout(client, record, extras=extras, max_steps=max_steps)

    return list(await asyncio.gather(*(replay(record) for record in records)))


def same_reward(old: Any, new: Any) -> bool:
    """Return whether two rewards are the same number (exactly: any drift in verify() shows; NaN never matches)."""
    return (
        _is_number(old) and _is_number(new) and not math.isnan(old) and not math.isnan(new) and float(old) == float(new)
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
