"""Tests of example_session_state: seeding, the counter tools, verify, and isolation of concurrent sessions."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from gym_conform.agent import ReplayModel, RolloutResult, run_rollout
from gym_conform.core.responses import make_response, message_item
from gym_conform.errors import ServerError
from gym_conform.server.client import RolloutSession, ServerClient
from resources_servers.example_session_state.app import NOT_SEEDED, ExampleSessionStateResourcesServer

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "example.jsonl"
PROMPT = {"input": [{"role": "user", "content": "Add to the counter."}]}


def row(initial_count: int, expected_count: int) -> dict:
    return {"responses_create_params": PROMPT, "initial_count": initial_count, "expected_count": expected_count}


async def verify(session: RolloutSession, task: dict) -> dict:
    response = make_response([message_item("done")]).model_dump(mode="json")
    return await session.verify({**task, "response": response})


def with_client(scenario):
    async def run():
        async with ServerClient.in_process(ExampleSessionStateResourcesServer()) as client:
            return await scenario(client)

    return asyncio.run(run())


def test_seeded_counter_is_changed_by_tools_and_rewarded() -> None:
    async def scenario(client: ServerClient) -> None:
        session = client.rollout()
        task = row(3, 7)
        await session.seed_session(task)
        before = await session.call_tool("get_counter_value", {})
        incremented = await session.call_tool("increment_counter", {"count": 4})
        after = await session.call_tool("get_counter_value", {})
        assert json.loads(before.text) == {"count": 3}
        assert json.loads(incremented.text) == {"success": True}
        assert json.loads(after.text) == {"count": 7}
        result = await verify(session, task)
        assert result["reward"] == 1.0 and result["final_count"] == 7
        assert result["initial_count"] == 3 and result["expected_count"] == 7

    with_client(scenario)


def test_wrong_final_count_scores_zero() -> None:
    async def scenario(client: ServerClient) -> None:
        session = client.rollout()
        task = row(7, 5)
        await session.seed_session(task)
        await session.call_tool("increment_counter", {"count": 2})
        result = await verify(session, task)
        assert result["reward"] == 0.0 and result["final_count"] == 9

    with_client(scenario)


def test_unseeded_session_is_refused_with_400() -> None:
    async def scenario(client: ServerClient) -> None:
        session = client.rollout()
        for name, arguments in (("increment_counter", {"count": 1}), ("get_counter_value", {})):
            answer = await session.call_tool(name, arguments)
            assert answer.status_code == 400
            assert json.loads(answer.text) == {"detail": NOT_SEEDED}
        with pytest.raises(ServerError, match="Session not initialized"):
            await verify(session, row(0, 0))

    with_client(scenario)


def test_malformed_tool_arguments_get_422_and_leave_the_counter() -> None:
    async def scenario(client: ServerClient) -> None:
        session = client.rollout()
        await session.seed_session(row(1, 1))
        for arguments in ({"count": "lots"}, {}, {"amount": 2}):
            assert (await session.call_tool("increment_counter", arguments)).status_code == 422
        assert json.loads((await session.call_tool("get_counter_value", {})).text) == {"count": 1}

    with_client(scenario)


def test_seed_without_initial_count_is_a_422() -> None:
    async def scenario(client: ServerClient) -> None:
        with pytest.raises(ServerError) as raised:
            await client.rollout().seed_session({"responses_create_params": PROMPT})
        assert raised.value.code == "server.seed_session_http" and "422" in raised.value.message

    with_client(scenario)


def test_fifty_concurrent_rollouts_keep_their_own_counters() -> None:
    async def one_rollout(client: ServerClient, index: int) -> dict:
        session = client.rollout()
        task = row(initial_count=index * 10, expected_count=index * 10 + index)
        await session.seed_session(task)
        for _ in range(index):
            await session.call_tool("increment_counter", {"count": 1})
            await asyncio.sleep(0)  # let the other rollouts interleave between calls
        return await verify(session, task)

    async def scenario(client: ServerClient) -> list[dict]:
        return await asyncio.gather(*(one_rollout(client, i) for i in range(50)))

    results = with_client(scenario)
    assert [r["final_count"] for r in results] == [i * 11 for i in range(50)]
    assert all(r["reward"] == 1.0 for r in results)


def test_gold_response_replayed_through_the_agent_loop_scores_one_on_every_example_row() -> None:
    server = ExampleSessionStateResourcesServer()
    rows = [json.loads(line) for line in EXAMPLES.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 5

    async def scenario(client: ServerClient) -> list[RolloutResult]:
        return [
            await run_rollout(row, client.rollout(), ReplayModel(server.gold_response(row).model_dump()["output"]))
            for row in rows
        ]

    for row, result in zip(rows, with_client(scenario), strict=True):
        assert result.errors == [] and result.stop_reason == "message"
        assert result.verify_response["reward"] == 1.0
        assert result.verify_response["final_count"] == row["expected_count"]
