"""The resources-server contract over HTTP: routes, validation, sessions, errors and the verify echo."""

from __future__ import annotations

import asyncio
import json
import logging

import httpx
import pytest
from fastapi import Request
from pydantic import BaseModel

from gym_conform.core.responses import make_response, message_item
from gym_conform.errors import ServerError
from gym_conform.server import (
    SESSION_ID_KEY,
    BaseVerifyRequest,
    BaseVerifyResponse,
    ResourcesServer,
    ResourcesServerConfig,
    ServerClient,
    tool,
)
from tests.standins.loopback import serve_uvicorn
from tests.standins.servers import (
    CounterServer,
    CounterVerifyRequest,
    CounterVerifyResponse,
    EchoServer,
    EchoVerifyRequest,
    EchoVerifyResponse,
)


def rcp(text: str = "count") -> dict:
    return {"input": [{"role": "user", "content": text}]}


def response_json(text: str) -> dict:
    return make_response([message_item(text)]).model_dump(mode="json")


def raw_client(server: ResourcesServer) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=server.app), base_url="http://testserver")


def test_health_route_answers_ok():
    async def scenario():
        async with ServerClient.in_process(CounterServer(name="c")) as client:
            return await client.rollout().health()

    assert asyncio.run(scenario()) == {"status": "ok"}


def test_tool_route_validates_its_body_and_answers_json():
    async def scenario():
        async with raw_client(CounterServer(name="c")) as http:
            bad = await http.post("/increment", json={"by": "lots"})
            good = await http.post("/increment", json={"by": 2})
            return bad, good

    bad, good = asyncio.run(scenario())
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "by"]
    assert good.status_code == 200
    assert good.json() == {"count": 2}


def test_seed_session_tool_and_verify_share_one_session_cookie():
    server = CounterServer(name="counter")

    async def scenario():
        async with ServerClient.in_process(server) as client:
            session = client.rollout()
            await session.seed_session({"responses_create_params": rcp(), "start": 10})
            tool_result = await session.call_tool("increment", {"by": 5})
            verified = await session.verify(
                {"responses_create_params": rcp(), "response": response_json("15"), "expected_count": 15}
            )
            return tool_result, verified

    tool_result, verified = asyncio.run(scenario())
    assert tool_result.status_code == 200 and tool_result.text == '{"count":15}'
    assert verified["reward"] == 1.0 and verified["final_count"] == 15
    assert list(server.counts.values()) == [15]


def test_session_cookie_is_named_after_the_class_and_the_instance_name():
    async def scenario():
        async with raw_client(CounterServer(name="counter")) as http:
            return await http.post("/seed_session", json={"start": 1})

    answer = asyncio.run(scenario())
    assert answer.status_code == 200
    assert answer.headers["set-cookie"].startswith("CounterServer___counter=")


@pytest.mark.parametrize("where", ["in_process", "remote"])
def test_fifty_concurrent_rollouts_keep_their_own_session(where):
    server = CounterServer(name="counter")

    async def one(client: ServerClient, start: int) -> dict:
        session = client.rollout()
        await session.seed_session({"responses_create_params": rcp(), "start": start})
        for _ in range(3):
            await asyncio.sleep(0)
            await session.call_tool("increment", {"by": start})
        return await session.verify(
            {"responses_create_params": rcp(), "response": response_json("x"), "expected_count": 4 * start}
        )

    async def scenario(client: ServerClient) -> list[dict]:
        async with client:
            return await asyncio.gather(*(one(client, start) for start in range(50)))

    if where == "remote":
        with serve_uvicorn(server.app) as base_url:
            results = asyncio.run(scenario(ServerClient.remote(base_url)))
    else:
        results = asyncio.run(scenario(ServerClient.in_process(server)))
    assert [r["final_count"] for r in results] == [4 * start for start in range(50)]
    assert all(r["reward"] == 1.0 for r in results)
    assert len(server.counts) == 50


def test_crashing_verify_is_a_json_500_and_is_logged(caplog):
    row = {"responses_create_params": rcp(), "response": response_json("a"), "expected_answer": "a", "crash": True}

    async def scenario():
        async with raw_client(EchoServer(name="echo")) as http:
            return await http.post("/verify", json=row)

    with caplog.at_level(logging.ERROR, logger="gym_conform.server.base"):
        answer = asyncio.run(scenario())
    assert answer.status_code == 500
    assert answer.json() == {"error": "RuntimeError('verify crashed on purpose')"}
    assert "POST /verify raised RuntimeError" in caplog.text


def test_verify_echoes_every_request_field_plus_the_reward():
    row = {
        "responses_create_params": rcp("say hi"),
        "response": response_json("hi"),
        "expected_answer": "hi",
        "task_id": 7,
        "metadata": {"source": "hand", "tags": ["a", "b"]},
    }

    async def scenario():
        async with ServerClient.in_process(EchoServer(name="echo")) as client:
            return await client.rollout().verify(row)

    result = asyncio.run(scenario())
    assert result["reward"] == 1.0
    assert result["task_id"] == 7 and result["metadata"] == row["metadata"]
    assert result["expected_answer"] == "hi" and result["crash"] is False
    assert result["response"]["output"][0]["content"][0]["text"] == "hi"
    assert result["responses_create_params"]["input"][0]["content"] == "say hi"


def test_verify_works_with_and_without_the_request_parameter():
    counter, echo = CounterServer(name="c"), EchoServer(name="e")
    assert counter.verify_request_model() is CounterVerifyRequest
    assert counter.verify_response_model() is CounterVerifyResponse
    assert echo.verify_request_model() is EchoVerifyRequest
    assert echo.verify_response_model() is EchoVerifyResponse

    async def scenario():
        payload = {"responses_create_params": rcp(), "response": response_json("1")}
        async with ServerClient.in_process(counter) as c, ServerClient.in_process(echo) as e:
            return (
                await c.rollout().verify({**payload, "expected_count": 0}),
                await e.rollout().verify({**payload, "expected_answer": "2"}),
            )

    counted, echoed = asyncio.run(scenario())
    assert counted["reward"] == 1.0
    assert echoed["reward"] == 0.0


def test_a_verify_body_that_does_not_match_the_request_model_is_a_422():
    async def scenario():
        async with ServerClient.in_process(EchoServer(name="e")) as client:
            await client.rollout().verify({"responses_create_params": rcp(), "response": response_json("1")})

    with pytest.raises(ServerError) as caught:
        asyncio.run(scenario())
    assert caught.value.code == "server.verify_http"
    assert "HTTP 422" in caught.value.message and "expected_answer" in caught.value.message


def test_tool_names_list_tool_routes_including_ones_added_in_setup_webserver():
    class Extended(CounterServer):
        async def lookup(self, body: dict) -> dict:
            return body

        def setup_webserver(self):
            app = super().setup_webserver()
            app.post("/lookup")(self.lookup)
            return app

    assert CounterServer().tool_names() == ["increment"]
    assert Extended().tool_names() == ["increment", "lookup"]
    assert EchoServer().tool_names() == []


def test_session_id_is_a_uuid_stored_under_the_session_key():
    class Whoami(EchoServer):
        @tool
        async def whoami(self, request: Request) -> dict:
            return {"id": self.session_id(request), "raw": request.session[SESSION_ID_KEY]}

    async def scenario():
        async with ServerClient.in_process(Whoami(name="w")) as client:
            first, second = client.rollout(), client.rollout()
            return [await s.call_tool("whoami", {}) for s in (first, first, second)]

    one, again, other = [result.text for result in asyncio.run(scenario())]
    assert one == again != other
    assert len(json.loads(one)["id"]) == 36 and json.loads(one)["id"] == json.loads(one)["raw"]


def test_config_comes_from_a_config_object_or_keywords():
    class Config(ResourcesServerConfig):
        threshold: float = 0.5

    class Thresholded(EchoServer):
        config_class = Config

    assert Thresholded(name="t", threshold=0.9).config.threshold == 0.9
    from_base = Thresholded(config=ResourcesServerConfig(name="t", threshold=0.7))
    assert isinstance(from_base.config, Config) and from_base.config.threshold == 0.7
    overridden = Thresholded(config=Config(name="t"), threshold=0.1)
    assert overridden.config.threshold == 0.1 and overridden.config.name == "t"
    assert Thresholded().config.reward_range == (0.0, 1.0) and Thresholded().config.stochastic is False


def test_a_server_without_verify_cannot_be_built_and_gold_response_defaults_to_none():
    class NoVerify(ResourcesServer):
        pass

    with pytest.raises(TypeError, match="verify"):
        NoVerify()
    assert EchoServer().gold_response({"expected_answer": "x"}) is None


def test_tool_marks_methods_in_definition_order_and_keeps_them_when_overridden():
    class Args(BaseModel):
        x: int

    class Tools(EchoServer):
        @tool
        async def second(self, body: Args) -> dict:
            return {"x": body.x}

        @tool
        async def first(self, body: Args) -> dict:
            return {"x": body.x}

    class Overrides(Tools):
        async def second(self, body: Args) -> dict:
            return {"x": -body.x}

    assert Tools().tool_names() == ["second", "first"]
    assert Overrides().tool_names() == ["second", "first"]


def test_base_verify_models_are_the_defaults_for_an_unannotated_verify():
    class Loose(ResourcesServer):
        async def verify(self, body):
            return {"reward": 0.0}

    assert Loose().verify_request_model() is BaseVerifyRequest
    assert Loose().verify_response_model() is BaseVerifyResponse
