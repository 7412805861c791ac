"""VLLMModelClient over real HTTP against the scripted vLLM stand-in, and its config."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import pytest

from gym_conform.agent.model import ModelClient
from gym_conform.errors import ProblemsFound, ServerError
from gym_conform.models.vllm import VLLMModelClient, VLLMModelConfig
from tests.conftest import VLLM_REPLIES
from tests.standins.openai_server import (
    RESPONSES_PATH,
    TOKENIZE_PATH,
    OpenAIStandIn,
    Reply,
    chat_completion,
    context_length_error,
    error_body,
    responses_function_call,
    responses_message,
    responses_object,
    token_logprobs,
    tool_call,
)

SECRET = "sk-test-d41d8cd98f00b204"
WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
ASK = {"input": [{"role": "user", "content": "Weather in Paris?"}], "max_output_tokens": 64}


@pytest.fixture
def standin():
    with OpenAIStandIn() as server:
        yield server


def cfg(base_url: str | list[str], **fields) -> VLLMModelConfig:
    defaults = {"model": "tiny", "api_key": SECRET, "retry_backoff_seconds": 0.01, "timeout_seconds": 5.0}
    return VLLMModelConfig(base_url=base_url, **(defaults | fields))


def respond(config: VLLMModelConfig, params: dict = ASK, session_key: str | None = None):
    async def go():
        async with VLLMModelClient(config) as client:
            return await client.respond(params, session_key=session_key)

    return asyncio.run(go())


def failure(config: VLLMModelConfig, params: dict = ASK) -> ServerError:
    with pytest.raises(ServerError) as caught:
        respond(config, params)
    assert SECRET not in caught.value.render()
    return caught.value


# ---------------------------------------------------------------- answers


def test_plain_answer_sends_the_translated_request_with_the_bearer_key(standin):
    standin.script(Reply(chat_completion("Hello from the tiny model.")))
    response = respond(cfg(standin.base_url))
    assert response.output_text == "Hello from the tiny model."
    (request,) = standin.requests
    assert request.path == "/v1/chat/completions" and request.bearer == SECRET
    assert request.json == {"model": "tiny", "messages": [ASK["input"][0]], "max_tokens": 64}


def test_no_authorization_header_without_a_key(standin, monkeypatch):
    for name in ("POLICY_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    respond(cfg(standin.base_url, api_key=""))
    assert "authorization" not in standin.requests[0].headers


def test_single_tool_call(standin):
    response = respond(cfg(standin.base_url), ASK | {"tools": [WEATHER_TOOL]})
    (item,) = response.output
    assert (item.type, item.name, item.arguments) == ("function_call", "get_weather", '{"city": "Paris"}')
    assert item.call_id.startswith("chatcmpl-tool-")
    assert standin.requests[0].json["tools"][0]["function"]["name"] == "get_weather"


def test_parallel_and_malformed_tool_calls_pass_through(standin):
    calls = [tool_call("get_weather", {"city": "Paris"}), tool_call("get_weather", '{"city": "Ro')]
    standin.script(Reply(chat_completion(None, tool_calls=calls)))
    response = respond(cfg(standin.base_url), ASK | {"tools": [WEATHER_TOOL]})
    assert [item.arguments for item in response.output] == ['{"city": "Paris"}', '{"city": "Ro']


def test_a_tool_round_trip_sends_the_call_and_its_output_back(standin):
    config = cfg(standin.base_url)
    first = respond(config, ASK | {"tools": [WEATHER_TOOL]})
    call = first.output[0]
    follow_up = [*ASK["input"], call, {"type": "function_call_output", "call_id": call.call_id, "output": "20C"}]
    second = respond(config, ASK | {"tools": [WEATHER_TOOL], "input": follow_up})
    assert second.output_text == "Hello from the tiny model."
    messages = standin.requests[1].json["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool"]
    assert messages[2] == {"role": "tool", "tool_call_id": call.call_id, "content": "20C"}


@pytest.mark.parametrize(
    "completion",
    [
        chat_completion("4", reasoning="2+2"),
        chat_completion("4", reasoning="2+2", reasoning_field="reasoning_content"),
        chat_completion("<think>2+2</think>4"),
    ],
    ids=["reasoning", "reasoning_content", "think_tags"],
)
def test_every_reasoning_spelling_becomes_a_reasoning_item(standin, completion):
    standin.script(Reply(completion))
    response = respond(cfg(standin.base_url))
    assert [item.type for item in response.output] == ["reasoning", "message"]
    assert response.output[0].summary[0].text == "2+2" and response.output_text == "4"


def test_transformers_serve_shapes_are_read(standin):
    completion = chat_completion("", tool_calls=[tool_call("get_weather", {"city": "Paris"}, id="0")])
    completion |= {"id": str(uuid.uuid4()), "created": time.time(), "model": "local/tiny-scripted@main"}
    standin.script(Reply(completion))
    response = respond(cfg(standin.base_url), ASK | {"tools": [WEATHER_TOOL]})
    assert [item.type for item in response.output] == ["function_call"] and response.model == "tiny"


def test_finish_reason_length_makes_an_incomplete_response(standin):
    standin.script(Reply(chat_completion("partial", finish_reason="length")))
    response = respond(cfg(standin.base_url))
    assert response.status == "incomplete" and response.incomplete_details == {"reason": "max_output_tokens"}


# ---------------------------------------------------------------- errors and retries


def test_context_length_400_gives_an_empty_incomplete_response(standin):
    standin.script(context_length_error())
    response = respond(cfg(standin.base_url))
    assert response.status == "incomplete" and response.incomplete_details == {"reason": "max_output_tokens"}
    assert response.output_text == "" and len(standin.requests) == 1


def test_other_4xx_is_a_clear_error_with_the_status_and_body_and_never_the_key(standin):
    standin.script(Reply(error_body(f"Incorrect API key provided: {SECRET}", status=401), status=401))
    error = failure(cfg(standin.base_url))
    assert error.code == "model.http" and "HTTP 401" in error.message and "Incorrect API key" in error.message
    assert "policy_api_key" in error.hint and len(standin.requests) == 1


def test_long_error_bodies_are_truncated(standin):
    standin.script(Reply(error_body("x" * 5000, status=422), status=422))
    error = failure(cfg(standin.base_url))
    assert "(truncated)" in error.message and len(error.message) < 700


def test_429_is_retried_after_the_retry_after_delay(standin):
    standin.script(Reply(error_body("slow down", status=429), status=429, headers={"Retry-After": "1"}))
    started = time.monotonic()
    response = respond(cfg(standin.base_url))
    assert time.monotonic() - started >= 0.9
    assert response.output_text == "Hello from the tiny model." and len(standin.requests) == 2


def test_503_until_retries_run_out_is_a_clear_error(standin):
    standin.script(*[Reply(error_body("overloaded", status=503), status=503)] * 3)
    error = failure(cfg(standin.base_url, max_retries=2))
    assert error.code == "model.http" and "HTTP 503 after 3 attempt(s)" in error.message
    assert len(standin.requests) == 3


@pytest.mark.parametrize("status", [500, 502, 504])
def test_server_errors_are_retried(standin, status):
    standin.script(Reply("upstream failed", status=status))
    assert respond(cfg(standin.base_url)).output_text and len(standin.requests) == 2


def test_a_reply_slower_than_the_timeout_is_a_timeout_error(standin):
    standin.script(Reply(chat_completion("late"), delay=1.0), Reply(chat_completion("late"), delay=1.0))
    error = failure(cfg(standin.base_url, timeout_seconds=0.2, max_retries=1))
    assert error.code == "model.timeout" and "0.2 s after 2 attempt(s)" in error.message


def test_a_timeout_is_retried(standin):
    standin.script(Reply(chat_completion("late"), delay=1.0))
    assert respond(cfg(standin.base_url, timeout_seconds=0.3)).output_text == "Hello from the tiny model."


def test_a_dropped_connection_is_retried(standin):
    standin.script(Reply(drop=True))
    assert respond(cfg(standin.base_url)).output_text == "Hello from the tiny model."
    assert len(standin.requests) == 2


def test_an_unreachable_server_is_a_clear_error(standin):
    with OpenAIStandIn() as gone:
        url = gone.base_url
    error = failure(cfg(url, max_retries=1))
    assert error.code == "model.unreachable" and "2 attempt(s)" in error.message


def test_a_reply_that_is_not_json_is_a_bad_reply(standin):
    standin.script(Reply("<html>proxy page</html>"))
    assert failure(cfg(standin.base_url)).code == "model.bad_reply"


# ---------------------------------------------------------------- routing and concurrency


def test_sticky_routing_keeps_a_session_on_one_replica_and_spreads_sessions():
    with OpenAIStandIn() as first, OpenAIStandIn() as second:
        config = cfg([first.base_url, second.base_url])

        async def go():
            async with VLLMModelClient(config) as client:
                for key in [f"rollout-{i}" for i in range(12)]:
                    for _ in range(3):
                        await client.respond(ASK | {"metadata": {"key": key}}, session_key=key)

        asyncio.run(go())
        served = {
            request.json["metadata"]["key"]: name
            for name, server in (("first", first), ("second", second))
            for request in server.requests
        }
        assert len(first.requests) + len(second.requests) == 36
        for name, server in (("first", first), ("second", second)):
            assert all(served[request.json["metadata"]["key"]] == name for request in server.requests)
        assert set(served.values()) == {"first", "second"}
        client = VLLMModelClient(config)
        assert client.base_url_for("rollout-3") == client.base_url_for("rollout-3")


def test_round_robin_without_a_session_key():
    with OpenAIStandIn() as first, OpenAIStandIn() as second:
        config = cfg([first.base_url, second.base_url])

        async def go():
            async with VLLMModelClient(config) as client:
                for _ in range(4):
                    await client.respond(ASK)

        asyncio.run(go())
        assert len(first.requests) == len(second.requests) == 2


@pytest.mark.parametrize("concurrency", [3, 20])
def test_exactly_concurrency_requests_are_in_flight_at_most(concurrency):
    with OpenAIStandIn(latency=0.2) as standin:
        config = cfg(standin.base_url, concurrency=concurrency)

        async def go():
            async with VLLMModelClient(config) as client:
                await asyncio.gather(*[client.respond(ASK) for _ in range(2 * concurrency)])

        asyncio.run(go())
        assert standin.max_in_flight == concurrency and len(standin.requests) == 2 * concurrency


def test_the_concurrency_bound_holds_across_replicas():
    with OpenAIStandIn(latency=0.2) as first, OpenAIStandIn(latency=0.2) as second:
        config = cfg([first.base_url, second.base_url], concurrency=3)

        async def go():
            async with VLLMModelClient(config) as client:
                await asyncio.gather(*[client.respond(ASK) for _ in range(12)])

        asyncio.run(go())
        events = sorted(
            [(start, 1) for start, _ in first.busy_intervals + second.busy_intervals]
            + [(end, -1) for _, end in first.busy_intervals + second.busy_intervals]
        )
        running = [sum(step for _, step in events[: index + 1]) for index in range(len(events))]
        assert max(running) == 3 and len(first.requests) == len(second.requests) == 6


def test_the_client_is_a_model_client_of_the_agent_loop():
    client = VLLMModelClient(cfg("http://127.0.0.1:9/v1"))
    assert isinstance(client, ModelClient)
    asyncio.run(client.aclose())


# ---------------------------------------------------------------- token ids and the Responses API


def test_token_ids_use_tokenize_for_the_prompt_when_the_reply_lacks_it(standin):
    standin.script(Reply(chat_completion("Hello", logprobs=token_logprobs([510, 2], [-0.25, -0.5]))))
    standin.script(
        Reply({"count": 3, "max_model_len": 2048, "tokens": [11, 12, 13], "token_strs": None}), path=TOKENIZE_PATH
    )
    response = respond(cfg(standin.base_url, return_token_id_information=True), ASK | {"tools": [WEATHER_TOOL]})
    tokens = response.output[-1].training_tokens
    assert (tokens.prompt_token_ids, tokens.generation_token_ids, tokens.generation_log_probs) == (
        [11, 12, 13],
        [510, 2],
        [-0.25, -0.5],
    )
    chat_request, tokenize = standin.requests
    assert chat_request.json["return_tokens_as_token_ids"] is True and tokenize.path == TOKENIZE_PATH
    assert (
        tokenize.json["messages"] == chat_request.json["messages"]
        and tokenize.json["tools"] == chat_request.json["tools"]
    )


def test_token_ids_come_in_the_reply_when_requested(standin):
    config = cfg(standin.base_url, return_token_id_information=True, request_prompt_and_generation_token_ids=True)
    tokens = respond(config).output[-1].training_tokens
    assert tokens.generation_token_ids == [510, 2] and tokens.prompt_token_ids
    assert [request.path for request in standin.requests] == ["/v1/chat/completions"]


def test_responses_native_mode_forwards_to_the_responses_route(standin):
    response = respond(cfg(standin.base_url, is_responses_native=True), ASK | {"tools": [WEATHER_TOOL]})
    (request,) = standin.requests
    assert request.path == RESPONSES_PATH and request.json["stream"] is False and request.json["model"] == "tiny"
    assert request.json["input"] == ASK["input"]
    assert [item.type for item in response.output] == ["function_call"]


def test_responses_native_mode_reads_transformers_serve_shapes(standin):
    reply = responses_object([responses_message(""), responses_function_call("get_weather", {"city": "Paris"})])
    reply |= {"id": str(uuid.uuid4()), "created_at": time.time(), "model": "local/tiny-scripted@main"}
    standin.script(Reply(reply), path=RESPONSES_PATH)
    response = respond(cfg(standin.base_url, is_responses_native=True), ASK | {"tools": [WEATHER_TOOL]})
    assert [item.type for item in response.output] == ["message", "function_call"]


def test_responses_native_mode_answers_a_context_length_400_with_an_empty_incomplete_response(standin):
    standin.script(context_length_error(), path=RESPONSES_PATH)
    response = respond(cfg(standin.base_url, is_responses_native=True))
    assert response.incomplete_details == {"reason": "max_output_tokens"} and response.output_text == ""


def test_responses_native_mode_rejects_a_non_response(standin):
    standin.script(Reply({"object": "list"}), path=RESPONSES_PATH)
    assert failure(cfg(standin.base_url, is_responses_native=True)).code == "model.bad_reply"


# ---------------------------------------------------------------- config and the stand-in's shapes


def test_config_block_normalises_urls_and_keeps_unknown_keys():
    config = VLLMModelConfig.from_config_block(
        {"entrypoint": "app.py", "base_url": "http://h:8000/v1/", "api_key": "k", "model": "m"}
    )
    assert config.base_url == ["http://h:8000/v1"] and config.model_extra == {"entrypoint": "app.py"}
    assert config.concurrency == 32 and config.uses_reasoning_parser and not config.return_token_id_information


def test_config_block_reports_every_invalid_field():
    with pytest.raises(ProblemsFound) as caught:
        VLLMModelConfig.from_config_block({"base_url": "localhost:8000", "model": "", "concurrency": 0})
    fields = {problem.location.field for problem in caught.value.problems}
    assert fields == {"base_url", "model", "concurrency"}
    assert all(problem.hint for problem in caught.value.problems)


@pytest.mark.parametrize(
    ("env", "expected"),
    [({"POLICY_API_KEY": "p", "OPENAI_API_KEY": "o"}, "p"), ({"OPENAI_API_KEY": "o"}, "o"), ({}, "")],
)
def test_an_empty_api_key_falls_back_to_the_environment(monkeypatch, env, expected):
    for name in ("POLICY_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for empty in ("", None):
        config = VLLMModelConfig.from_config_block({"base_url": "http://h/v1", "model": "m", "api_key": empty})
        assert config.api_key.get_secret_value() == expected
    assert VLLMModelConfig(base_url="http://h/v1", model="m", api_key="own").api_key.get_secret_value() == "own"


def test_the_key_is_never_in_a_repr():
    config = cfg(["http://user:pw@h:1/v1"], hf_token="hf_secret")
    client = VLLMModelClient(config)
    for text in (repr(config), repr(client), str(config)):
        assert SECRET not in text and "hf_secret" not in text and "user:pw" not in text
    asyncio.run(client.aclose())


def _shape(value):
    """Return the key structure of a JSON value (dict keys in order, first list element), leaves as None."""
    if isinstance(value, dict):
        return [(key, _shape(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [_shape(value[0])] if value and isinstance(value[0], (dict, list)) else []
    return None


def test_the_stand_in_replies_in_the_recorded_vllm_shapes():
    recorded = json.loads(VLLM_REPLIES.read_text(encoding="utf-8"))
    tool = {"type": "function", "name": "get_weather", "parameters": WEATHER_TOOL["parameters"]}
    built = {
        "chat_plain": chat_completion("Hello from the tiny model."),
        "chat_tools": chat_completion(None, tool_calls=[tool_call("get_weather", {"city": "Paris"})]),
        "chat_after_tool": chat_completion("Hello from the tiny model."),
        "chat_logprobs": chat_completion("Hello from the tiny model.", logprobs=token_logprobs([510, 2])),
        "responses_tools": responses_object(
            [responses_function_call("get_weather", {"city": "Paris"})], {"tools": [tool], "max_output_tokens": 64}
        ),
    }
    assert built.keys() == recorded.keys()
    for name, reply in built.items():
        assert _shape(reply) == _shape(recorded[name]), name
