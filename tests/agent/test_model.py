"""ReplayModel: recorded turns come back one per call, with the recorded envelope, then an exhausted stop."""

from __future__ import annotations

import asyncio

import pytest

from gym_conform.agent import ModelClient, ReplayModel
from gym_conform.agent.model import REPLAY_EXHAUSTED
from gym_conform.core.responses import (
    function_call_item,
    function_call_output_item,
    message_item,
    reasoning_item,
)
from gym_conform.errors import ProblemsFound


def replay(model: ReplayModel, calls: int) -> list:
    async def scenario():
        return [await model.respond({"input": []}, session_key="k") for _ in range(calls)]

    return asyncio.run(scenario())


def item_types(response) -> list[str]:
    return [item.type for item in response.output]


def test_turns_are_cut_at_tool_outputs_which_are_not_replayed():
    recorded = [
        reasoning_item("plan", id="rs_1"),
        function_call_item("a", {}, "call_1"),
        function_call_item("b", {}, "call_2"),
        function_call_output_item("call_1", "A"),
        function_call_output_item("call_2", "B"),
        function_call_item("c", {}, "call_3"),
        function_call_output_item("call_3", "C"),
        message_item("done"),
    ]
    model = ReplayModel(recorded)
    turns = replay(model, 3)
    assert [item_types(t) for t in turns] == [
        ["reasoning", "function_call", "function_call"],
        ["function_call"],
        ["message"],
    ]
    assert [item.call_id for item in turns[0].output[1:]] == ["call_1", "call_2"]
    assert model.remaining == 0
    assert isinstance(model, ModelClient)


def test_hand_written_calls_followed_by_a_message_are_two_turns():
    turns = replay(ReplayModel([function_call_item("a", {}, "c1"), message_item("done")]), 2)
    assert [item_types(t) for t in turns] == [["function_call"], ["message"]]


def test_asking_past_the_recording_returns_an_empty_incomplete_response():
    (turn, extra, again) = replay(ReplayModel([function_call_item("a", {}, "c1")]), 3)
    assert item_types(turn) == ["function_call"] and turn.incomplete_details is None
    for exhausted in (extra, again):
        assert exhausted.output == [] and exhausted.status == "incomplete"
        assert exhausted.incomplete_details == {"reason": REPLAY_EXHAUSTED}


def test_the_envelope_gives_ids_to_every_turn_usage_to_the_first_and_status_to_the_last():
    envelope = {
        "id": "resp_rec",
        "created_at": 12.0,
        "model": "policy",
        "usage": {"input_tokens": 7},
        "status": "incomplete",
        "incomplete_details": {"reason": "max_output_tokens"},
        "output": ["ignored: the recorded output is given separately"],
        "custom": 1,
    }
    recorded = [function_call_item("a", {}, "c1"), function_call_output_item("c1", "x"), message_item("cut")]
    first, last = replay(ReplayModel(recorded, envelope=envelope), 2)
    assert (first.id, first.model, first.created_at, first.custom) == ("resp_rec", "policy", 12.0, 1)
    assert (last.id, last.model) == ("resp_rec", "policy")
    assert first.usage == {"input_tokens": 7} and last.usage is None
    assert first.status == "completed" and first.incomplete_details is None
    assert last.status == "incomplete" and last.incomplete_details == {"reason": "max_output_tokens"}


def test_each_call_returns_a_fresh_copy():
    model = ReplayModel([message_item("a")])
    (turn,) = replay(model, 1)
    turn.output.clear()
    assert model.remaining == 0 and replay(model, 1)[0].incomplete_details == {"reason": REPLAY_EXHAUSTED}


def test_bad_recorded_items_are_reported_with_their_paths():
    recorded = [message_item("ok"), {"type": "function_call", "name": "a", "arguments": "{}"}, {"kind": "?"}]
    with pytest.raises(ProblemsFound) as caught:
        ReplayModel(recorded)
    fields = [problem.location.field for problem in caught.value.problems]
    assert "response.output[1].call_id" in fields
    assert any(field.startswith("response.output[2]") for field in fields)


def test_a_bad_envelope_is_reported():
    with pytest.raises(ProblemsFound) as caught:
        ReplayModel([message_item("a")], envelope={"created_at": "yesterday"})
    assert [p.location.field for p in caught.value.problems] == ["response.created_at"]
