"""Tests for the Responses API models: strict create params, tolerant responses, item constructors."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from gym_conform.core.responses import (
    Response,
    ResponseCreateParams,
    function_call_item,
    function_call_output_item,
    make_response,
    message_item,
    reasoning_item,
)
from tests.conftest import VLLM_REPLIES

TOKENS = {"prompt_token_ids": [1, 2], "generation_token_ids": [3], "generation_log_probs": [-0.5]}
WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    "strict": True,
}


def error_types(data: dict) -> list[tuple[tuple, str]]:
    with pytest.raises(ValidationError) as caught:
        ResponseCreateParams.model_validate(data)
    return [(e["loc"], e["type"]) for e in caught.value.errors()]


def test_string_input_dumps_back_only_the_given_keys():
    params = ResponseCreateParams.model_validate({"input": "What is 2+2?", "temperature": 1})

    assert params.model_dump(exclude_unset=True) == {"input": "What is 2+2?", "temperature": 1.0}


EVERY_ITEM_KIND = [
    {"role": "system", "content": "Be brief."},
    {"type": "message", "role": "user", "status": "completed", "content": [
        {"type": "input_text", "text": "Look:"},
        {"type": "input_image", "image_url": "https://example.com/a.png", "detail": "auto"},
        {"type": "input_file", "file_id": "file_1", "filename": "a.pdf"},
        {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
    ]},
    {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "Need the weather."}]},
    {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": '{"city": "Paris"}'},
    {"type": "function_call_output", "call_id": "call_1", "output": '{"temp": 20}'},
    {"type": "function_call_output", "call_id": "call_2", "output": [{"type": "input_text", "text": "20C"}]},
    {"id": "msg_1", "type": "message", "role": "assistant", "status": "completed", "content": [
        {"type": "output_text", "text": "It is 20C.", "annotations": []},
        {"type": "refusal", "refusal": "No more."},
    ]},
    {"role": "assistant", "content": "Plain assistant text."},
    {"type": "mcp_call", "id": "mcp_1", "name": "search", "server_label": "docs", "arguments": "{}"},
]  # fmt: skip


def test_list_input_accepts_every_item_kind_and_round_trips():
    data = {"input": EVERY_ITEM_KIND, "tools": [WEATHER_TOOL, {"type": "web_search", "filters": None}]}

    params = ResponseCreateParams.model_validate(data)

    assert params.model_dump(exclude_unset=True) == data


@pytest.mark.parametrize(
    "item",
    [
        {"role": "assistant", "content": "Hi", **TOKENS},
        {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}", **TOKENS},
        {"type": "reasoning", "id": "rs_1", "summary": [], **TOKENS, "routed_experts": "nrlre1:opaque"},
    ],
)
def test_training_variants_with_all_three_token_fields_are_accepted(item):
    params = ResponseCreateParams.model_validate({"input": [item]})

    assert params.input[0].training_tokens.generation_token_ids == [3]


@pytest.mark.parametrize(
    "partial",
    [
        {"prompt_token_ids": [1]},
        {"prompt_token_ids": [1], "generation_token_ids": [2]},
        {"routed_experts": [[[0, 1]]]},
    ],
)
def test_training_fields_are_all_or_none(partial):
    item = {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}", **partial}

    assert error_types({"input": [item]}) == [(("input", "~list", 0, "~function_call"), "training_fields_incomplete")]


def test_unknown_key_inside_an_item_is_an_error():
    item = {"role": "user", "content": "hi", "contnet": "typo"}

    assert error_types({"input": [item]}) == [(("input", "~list", 0, "~message", "contnet"), "extra_forbidden")]


def test_unknown_item_type_gives_one_error_listing_the_accepted_types():
    with pytest.raises(ValidationError) as caught:
        ResponseCreateParams.model_validate({"input": [{"type": "function_cal", "name": "f"}]})

    (error,) = caught.value.errors()
    assert error["type"] == "type_unknown"
    assert "function_call, function_call_output, reasoning" in error["msg"]


def test_a_bad_message_is_reported_against_the_message_model_only():
    assert error_types({"input": [{"role": "usr", "content": "hi"}]}) == [
        (("input", "~list", 0, "~message", "role"), "literal_error")
    ]


def test_assistant_output_parts_need_an_id_and_annotations_like_nemo_gym():
    item = {"role": "assistant", "content": [{"type": "output_text", "text": "hi"}]}

    assert error_types({"input": [item]}) == [
        (("input", "~list", 0, "~output_message", "id"), "missing"),
        (("input", "~list", 0, "~output_message", "content", 0, "~output_text", "annotations"), "missing"),
    ]


def test_output_parts_are_refused_in_a_user_message():
    item = {"role": "user", "content": [{"type": "output_text", "text": "hi", "annotations": []}]}

    assert error_types({"input": [item]}) == [
        (("input", "~list", 0, "~message", "content", "~list", 0, "~unknown"), "type_unknown")
    ]


@pytest.mark.parametrize(
    ("data", "expected_type"),
    [
        ({"metadata": {"n": 3}}, "string_type"),
        ({"temperature": True}, "bool_not_number"),
        ({"max_output_tokens": False}, "bool_not_number"),
        ({"stream": True}, "literal_error"),
        ({"tool_choice": "sometimes"}, "literal_error"),
        ({"truncation": "yes"}, "literal_error"),
    ],
)
def test_wrong_top_level_values_are_rejected(data, expected_type):
    [(_, error_type)] = error_types({"input": "hi", **data})

    assert error_type == expected_type


def test_ints_are_fine_for_float_fields():
    params = ResponseCreateParams.model_validate({"input": "hi", "temperature": 0, "top_p": 1, "stream": False})

    assert (params.temperature, params.top_p) == (0.0, 1.0)


def test_function_tool_is_strict_and_unknown_tool_types_get_one_error():
    typo_tool = {**WEATHER_TOOL, "paramters": {}}

    assert error_types({"input": "hi", "tools": [typo_tool, {"type": "web_serch"}]}) == [
        (("tools", 0, "~function", "paramters"), "extra_forbidden"),
        (("tools", 1, "~unknown"), "type_unknown"),
    ]


def load_vllm_reply() -> dict:
    return json.loads(VLLM_REPLIES.read_text())["responses_tools"]


def test_response_accepts_the_real_vllm_reply_with_its_extra_fields():
    reply = load_vllm_reply()

    response = Response.model_validate(reply)

    (call,) = response.output
    assert (call.type, call.name, call.arguments) == ("function_call", "get_weather", '{"city": "Paris"}')
    assert "kv_transfer_params" in response.model_extra
    assert response.model_dump(mode="json")["output"][0]["caller"] is None


def test_vllm_output_item_replays_as_strict_input_without_server_extras():
    call = Response.model_validate(load_vllm_reply()).output[0]

    replayed = call.as_input_item()

    assert not {"async", "caller", "namespace"} & replayed.keys()
    ResponseCreateParams.model_validate({"input": [replayed]})


def test_response_output_items_must_carry_a_type():
    with pytest.raises(ValidationError) as caught:
        make_response([{"role": "assistant", "content": []}])

    assert caught.value.errors()[0]["type"] == "type_missing"


def test_output_text_joins_the_text_parts_of_message_items_only():
    second = message_item("two")
    second["content"].append({"type": "refusal", "refusal": "no"})
    second["content"].append({"type": "output_text", "text": "three", "annotations": []})

    response = make_response(
        [reasoning_item("thinking"), message_item("one "), function_call_item("f", "{}", "c"), second]
    )

    assert response.output_text == "one twothree"


def test_make_response_fills_defaults_and_round_trips_through_json():
    output = [
        reasoning_item("r"),
        function_call_item("f", {"x": 1}, "call_1", id="fc_1"),
        function_call_output_item("call_1", "ok"),
        message_item("done"),
    ]

    response = make_response(output, temperature=0.5)

    assert response.id.startswith("resp_")
    assert (response.model, response.object, response.status, response.temperature) == (
        "unknown",
        "response",
        "completed",
        0.5,
    )
    dumped = json.loads(json.dumps(response.model_dump(mode="json")))
    assert Response.model_validate(dumped).model_dump(mode="json") == dumped


def test_constructed_items_are_valid_strict_input():
    items = [
        reasoning_item("r"),
        message_item("hi"),
        function_call_item("f", "{}", "c"),
        function_call_output_item("c", "ok"),
    ]

    params = ResponseCreateParams.model_validate({"input": items})

    assert params.model_dump(exclude_unset=True)["input"] == items


def test_training_tokens_are_read_from_output_items_and_absent_ones_not_dumped():
    with_tokens = {**function_call_item("f", "{}", "c"), **TOKENS}

    response = make_response([with_tokens, message_item("hi")])

    assert response.output[0].training_tokens.prompt_token_ids == [1, 2]
    assert response.output[1].training_tokens is None
    assert "prompt_token_ids" not in response.model_dump(mode="json")["output"][1]


def test_a_message_phase_as_nemo_gym_0_7_0_writes_it_is_accepted_and_a_wrong_one_is_named():
    written = {"role": "user", "content": "hi", "type": "message", "phase": None}
    replayed = {"role": "assistant", "content": "so far", "phase": "commentary"}

    params = ResponseCreateParams.model_validate({"input": [written, replayed]})

    assert params.input[1].phase == "commentary"
    with pytest.raises(ValidationError, match="phase"):
        ResponseCreateParams.model_validate({"input": [{**replayed, "phase": "draft"}]})
