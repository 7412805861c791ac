"""ServerClient: the same answers in process and over HTTP, and clear errors when a server misbehaves."""

from __future__ import annotations

import asyncio
import socket

import pytest
from fastapi import HTTPException
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from gym_conform.core.responses import make_response, message_item
from gym_conform.errors import ServerError
from gym_conform.server import ServerClient, ToolResult, tool
from tests.standins.loopback import serve_uvicorn
from tests.standins.servers import CounterServer, EchoServer

RCP = {"input": [{"role": "user", "content": "count"}]}
RESPONSE = make_response([message_item("3")], id="resp_fixed", created_at=0.0).model_dump(mode="json")


class Delay(BaseModel):
    seconds: float


class Misbehaving(EchoServer):
    """Tools and a seed_session that break the contract in the ways the client must report."""

    @tool
    async def sleep(self, body: Delay) -> dict:
        await asyncio.sleep(body.seconds)
        return {"slept": body.seconds}

    @tool
    async def refuse(self, body: dict) -> dict:
        raise HTTPException(status_code=409, detail="not now")

    async def seed_session(self, body: dict):
        return PlainTextResponse("seeded, but not as JSON")


async def same_calls(client: ServerClient) -> list:
    async with client:
        session = client.rollout()
        return [
            await session.health(),
            await session.seed_session({"responses_create_params": RCP, "start": 1}),
            await session.call_tool("increment", {"by": 2}),
            await session.call_tool("increment", {"by": "two"}),
            await session.call_tool("no_such_tool", {}),
            await session.call_tool("increment", None),
            await session.verify({"responses_create_params": RCP, "response": RESPONSE, "expected_count": 3}),
        ]


def test_in_process_and_remote_clients_give_identical_results():
    in_process = asyncio.run(same_calls(ServerClient.in_process(CounterServer(name="c"))))
    with serve_uvicorn(CounterServer(name="c").app) as base_url:
        remote = asyncio.run(same_calls(ServerClient.remote(base_url)))
    assert in_process == remote
    assert in_process[2] == ToolResult(200, '{"count":3}')
    assert in_process[3].status_code == 422 and not in_process[3].ok
    assert in_process[4].status_code == 404
    assert in_process[6]["reward"] == 1.0 and in_process[6]["final_count"] == 3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_server_is_a_clear_error():
    async def scenario():
        async with ServerClient.remote(f"http://127.0.0.1:{free_port()}", timeout=5) as client:
            await client.rollout().health()

    with pytest.raises(ServerError) as caught:
        asyncio.run(scenario())
    assert caught.value.code == "server.unreachable"
    assert "start the server" in caught.value.hint


def test_a_slow_server_times_out_with_the_configured_timeout():
    async def scenario(base_url: str):
        async with ServerClient.remote(base_url, timeout=0.1) as client:
            await client.rollout().call_tool("sleep", {"seconds": 1})

    with serve_uvicorn(Misbehaving(name="m").app) as base_url:
        with pytest.raises(ServerError) as caught:
            asyncio.run(scenario(base_url))
    assert caught.value.code == "server.timeout"
    assert "0.1s" in caught.value.message


def test_tool_errors_come_back_as_status_and_raw_text():
    async def scenario():
        async with ServerClient.in_process(Misbehaving(name="m")) as client:
            return await client.rollout().call_tool("refuse", {})

    assert asyncio.run(scenario()) == ToolResult(409, '{"detail":"not now"}')


def test_a_seed_session_answer_that_is_not_json_is_reported():
    async def scenario():
        async with ServerClient.in_process(Misbehaving(name="m")) as client:
            await client.rollout().seed_session({"responses_create_params": RCP})

    with pytest.raises(ServerError) as caught:
        asyncio.run(scenario())
    assert caught.value.code == "server.bad_json"
    assert "seeded, but not as JSON" in caught.value.message


def test_a_failing_verify_reports_status_and_body():
    payload = {"responses_create_params": RCP, "response": RESPONSE, "expected_answer": "3", "crash": True}

    async def scenario():
        async with ServerClient.in_process(EchoServer(name="e")) as client:
            await client.rollout().verify(payload)

    with pytest.raises(ServerError) as caught:
        asyncio.run(scenario())
    assert caught.value.code == "server.verify_http"
    assert "HTTP 500" in caught.value.message and "verify crashed on purpose" in caught.value.message
