"""Replaying recorded rollouts (shared by ng_replay_rollouts and the `replay` check): outcomes and verdicts."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

from gym_conform.agent.replay import ReplayOutcome, replay_rollouts, same_reward, steps_for, verify_extras
from gym_conform.agent.rollouts import RolloutRecord
from gym_conform.core.responses import function_call_item, make_response, message_item
from gym_conform.errors import ServerError
from gym_conform.server import LoadedServer, ServerClient
from tests.standins.servers import CounterServer


def loaded(server: CounterServer) -> LoadedServer:
    return LoadedServer(Path("."), "counter", "counter", server.config, server, Path("c.yaml"), Path("app.py"))


def recording(expected: int, reward: float | None, increments: int = 2) -> dict:
    calls = [function_call_item("increment", {"by": 1}, f"call_{n}") for n in range(increments)]
    response = make_response([*calls, message_item("done")]).model_dump(mode="json")
    line = {"responses_create_params": {"input": "count"}, "expected_count": expected, "response": response}
    if reward is not None:
        line["reward"] = reward
    return line


def replay(records: list[dict]) -> list[ReplayOutcome]:
    server = CounterServer()

    async def run() -> list[ReplayOutcome]:
        async with ServerClient.in_process(server) as client:
            numbered = [RolloutRecord(line, data) for line, data in enumerate(records, start=1)]
            return await replay_rollouts(client, loaded(server), numbered, concurrency=2)

    return asyncio.run(run())


def test_replay_runs_the_recorded_tool_calls_again_and_compares_rewards():
    unchanged, changed, draft = replay([recording(2, 1.0), recording(3, 1.0), recording(2, None)])

    assert unchanged.verdict() == ("unchanged", "reward 1.0 == 1.0")
    assert changed.verdict() == ("changed", "reward CHANGED 1.0 -> 0.0")
    assert draft.verdict() == ("changed", "reward CHANGED (none) -> 1.0")
    assert unchanged.line["final_count"] == 2
    assert [o.record.line for o in (unchanged, changed, draft)] == [1, 2, 3]


def test_a_rollout_that_cannot_be_replayed_is_a_failed_outcome():
    broken = recording(2, 1.0)
    broken["response"]["output"] = [{"type": "no_such_item"}]

    (outcome,) = replay([broken])

    verdict, text = outcome.verdict()
    assert verdict == "failed" and text.startswith("ERROR ")
    assert outcome.new_reward is None


def test_a_failed_verify_is_a_failed_outcome():
    outcome = ReplayOutcome(RolloutRecord(1, {"reward": 1.0}), error=ServerError("boom", code="server.verify_http"))

    assert outcome.verdict() == ("failed", "ERROR boom [server.verify_http]")


def test_same_reward_is_exact_and_never_true_for_nan_or_non_numbers():
    assert same_reward(1, 1.0)
    assert not same_reward(1.0, 1.0000001)
    assert not same_reward(math.nan, math.nan)
    assert not same_reward(True, 1.0)
    assert not same_reward(None, 0.0)


def test_steps_come_from_the_rollouts_agent_or_the_one_value_all_agents_share():
    assert steps_for({"agent_ref": {"name": "b"}}, {"a": 3, "b": 5}) == 5
    assert steps_for({}, {"a": 3, "b": 3}) == 3
    assert steps_for({}, {"a": 3, "b": 5}) is None


def test_verify_extras_are_the_response_fields_the_request_lacks():
    assert verify_extras(CounterServer()) == {"reward", "final_count"}
