"""run_rollout: NeMo Gym's simple_agent loop against a real (in-process) server."""

from __future__ import annotations

import asyncio
import json

from gym_conform.agent import ReplayModel, RolloutResult, run_rollout
from gym_conform.core.responses import (
    Response,
    function_call_item,
    function_call_output_item,
    make_response,
    message_item,
    reasoning_item,
)
from gym_conform.server import ServerClient
from tests.standins.servers import CounterServer, EchoServer


def counter_row(start: int = 0, expected: int = 0, text: str | list = "count please") -> dict:
    return {"responses_create_params": {"input": text}, "start": start, "expected_count": expected}


def increment(by: int | str, call_id: str) -> dict:
    return function_call_item("increment", by if isinstance(by, str) else {"by": by}, call_id)


class ScriptedModel:
    """Answers with given responses in order and records every request and session key."""

    def __init__(self, *responses: Response) -> None:
        self.responses = list(responses)
        self.requests: list[dict] = []
        self.session_keys: list[str | None] = []

    async def respond(self, params: dict, *, session_key: str | None = None) -> Response:
        self.requests.append(params)
        self.session_keys.append(session_key)
        return self.responses.pop(0)


def rollout(row: dict, model, server=None, **options) -> RolloutResult:
    async def scenario():
        async with ServerClient.in_process(server or CounterServer(name="c")) as client:
            return await run_rollout(row, client.rollout(), model, **options)

    return asyncio.run(scenario())


def test_single_tool_call_then_message():
    model = ReplayModel([increment(2, "call_a"), function_call_output_item("call_a", "old"), message_item("2")])
    result = rollout(counter_row(start=0, expected=2), model)
    assert (result.stop_reason, result.steps, result.errors) == ("message", 2, [])
    assert result.reward == 1.0 and result.verify_response["final_count"] == 2
    types = [item["type"] for item in result.response["output"]]
    assert types == ["function_call", "function_call_output", "message"]
    assert result.response["output"][1] == {
        "type": "function_call_output",
        "call_id": "call_a",
        "output": '{"count":2}',
    }
    assert result.verify_response["response"]["output"][1]["output"] == '{"count":2}'


def test_two_parallel_calls_run_in_order_with_their_call_ids():
    model = ReplayModel([increment(1, "c1"), increment(10, "c2"), message_item("11")])
    result = rollout(counter_row(start=5, expected=16), model)
    outputs = [item for item in result.response["output"] if item["type"] == "function_call_output"]
    assert [(o["call_id"], o["output"]) for o in outputs] == [("c1", '{"count":6}'), ("c2", '{"count":16}')]
    assert result.reward == 1.0 and result.steps == 2


def test_invalid_json_arguments_send_an_error_text_and_count_as_an_error():
    model = ReplayModel([increment("{by: 3", "bad"), message_item("done")])
    result = rollout(counter_row(start=0, expected=0), model)
    output = result.response["output"][1]["output"]
    assert json.loads(output)["error"].startswith("Invalid tool call arguments: JSONDecodeError(")
    assert len(result.errors) == 1 and "bad" in result.errors[0] and "not valid JSON" in result.errors[0]
    assert result.verify_response["final_count"] == 0 and result.reward == 1.0


def test_tool_http_errors_reach_the_model_and_count_as_errors():
    model = ReplayModel([increment('{"by": "x"}', "c1"), message_item("done")])
    result = rollout(counter_row(), model)
    assert json.loads(result.response["output"][1]["output"])["detail"][0]["loc"] == ["body", "by"]
    assert len(result.errors) == 1 and "HTTP 422" in result.errors[0]


def test_max_steps_stops_the_loop_after_that_many_model_calls():
    recorded = []
    for n in range(3):
        recorded += [increment(1, f"c{n}"), function_call_output_item(f"c{n}", "")]
    model = ReplayModel(recorded + [message_item("3")])
    result = rollout(counter_row(start=0, expected=2), model, max_steps=2)
    assert (result.stop_reason, result.steps) == ("max_steps", 2)
    assert result.verify_response["final_count"] == 2 and result.reward == 1.0
    assert model.remaining == 2


def test_an_incomplete_response_stops_before_running_its_tool_calls():
    cut = make_response([increment(1, "c1")], status="incomplete", incomplete_details={"reason": "max_output_tokens"})
    result = rollout(counter_row(), ScriptedModel(cut))
    assert (result.stop_reason, result.steps) == ("incomplete", 1)
    assert [item["type"] for item in result.response["output"]] == ["function_call"]
    assert result.verify_response["final_count"] == 0
    assert result.response["incomplete_details"] == {"reason": "max_output_tokens"}


def test_string_input_is_wrapped_for_the_model_but_not_for_verify():
    model = ScriptedModel(make_response([message_item("0")]))
    result = rollout(counter_row(text="What is the count?"), model)
    assert model.requests[0]["input"] == [{"role": "user", "content": "What is the count?"}]
    assert result.verify_response["responses_create_params"]["input"] == "What is the count?"


def test_reasoning_only_turn_loops_again_and_inputs_grow_with_outputs():
    first = make_response([reasoning_item("thinking", id="rs_1")], usage={"input_tokens": 3, "output_tokens": 1})
    second = make_response(
        [increment(4, "c1")], usage={"input_tokens": 5, "output_tokens": 2, "output_tokens_details": {"x": 1}}
    )
    third = make_response([message_item("4", id="msg_1")], usage={"input_tokens": 9, "output_tokens": 1})
    model = ScriptedModel(first, second, third)
    row = counter_row(start=0, expected=4, text=[{"role": "user", "content": "add 4"}])
    result = rollout(row, model, session_key="rollout-7")
    assert (result.stop_reason, result.steps, result.reward) == ("message", 3, 1.0)
    assert [len(request["input"]) for request in model.requests] == [1, 2, 4]
    assert model.requests[2]["input"][1] == {
        "type": "reasoning",
        "id": "rs_1",
        "summary": [{"type": "summary_text", "text": "thinking"}],
    }
    assert model.requests[2]["input"][3] == {"type": "function_call_output", "call_id": "c1", "output": '{"count":4}'}
    assert model.session_keys == ["rollout-7"] * 3
    assert result.response["usage"] == {"input_tokens": 17, "output_tokens": 4, "output_tokens_details": {"x": 1}}


def test_one_session_key_per_rollout_is_made_up_when_none_is_given():
    model = ScriptedModel(make_response([reasoning_item("hm")]), make_response([message_item("0")]))
    rollout(counter_row(), model)
    assert model.session_keys[0] and model.session_keys[0] == model.session_keys[1]


def test_a_turn_without_output_stops_the_loop():
    result = rollout(counter_row(), ScriptedModel(make_response([])))
    assert (result.stop_reason, result.steps, result.response["output"]) == ("no_output", 1, [])


def test_verify_gets_the_row_and_the_last_response_with_all_outputs():
    model = ScriptedModel(make_response([message_item("42")], id="resp_last", model="m"))
    row = {"responses_create_params": {"input": "q"}, "expected_answer": "42", "extra": {"k": [1]}}
    result = rollout(row, model, server=EchoServer(name="e"))
    assert result.reward == 1.0 and result.verify_response["extra"] == {"k": [1]}
    assert result.response["id"] == "resp_last" and result.response["model"] == "m"
    assert result.verify_response["response"]["id"] == "resp_last"


def test_a_recording_that_ends_with_tool_calls_is_verified_with_its_own_envelope():
    # NeMo Gym's response model accepts only its own incomplete reasons: the replay's sentinel must not reach verify.
    recorded = [increment(1, "c1"), function_call_output_item("c1", "1")]
    model = ReplayModel(recorded, envelope={"id": "resp_rec", "status": "completed", "model": "m"})
    result = rollout(counter_row(start=0, expected=1), model)
    assert result.stop_reason == "incomplete" and result.steps == 2
    assert result.response["status"] == "completed" and result.response["id"] == "resp_rec"
    assert "incomplete_details" not in result.response or result.response["incomplete_details"] is None
    assert [item["type"] for item in result.response["output"]] == ["function_call", "function_call_output"]
    assert result.reward == 1.0
