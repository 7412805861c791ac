"""Every Responses <-> Chat Completions rule of NeMo Gym's vllm_model, in both directions."""

from __future__ import annotations

import copy
import json
import uuid

import pytest

from gym_conform.core.responses import Response, function_call_item, message_item, reasoning_item
from gym_conform.errors import ProblemsFound, ServerError
from gym_conform.models.vllm import converter
from gym_conform.models.vllm.config import VLLMModelConfig
from tests.conftest import VLLM_REPLIES

WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather of a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    "strict": True,
}


@pytest.fixture(scope="module")
def recorded() -> dict:
    """The real vLLM 0.26.0 replies (tests/fixtures/vllm_0.26_replies.json)."""
    return json.loads(VLLM_REPLIES.read_text(encoding="utf-8"))


def cfg(**fields) -> VLLMModelConfig:
    return VLLMModelConfig(base_url="http://127.0.0.1:8000/v1", model="tiny", api_key="k", **fields)


def to_chat(params: dict, **fields) -> dict:
    return converter.responses_to_chat(params, cfg(**fields))


def user(text: str) -> dict:
    return {"role": "user", "content": text}


def chat(message: dict, *, finish_reason: str = "stop", **top) -> dict:
    return {
        "id": "chatcmpl-1",
        "created": 1795412752,
        "choices": [{"message": message, "finish_reason": finish_reason}],
    } | top


def to_response(completion: dict, params: dict | None = None, **fields) -> Response:
    return converter.chat_to_response(params or {"input": "hi"}, completion, cfg(**fields))


def dumped(response: Response) -> list[dict]:
    return [item.model_dump(exclude_none=True) for item in response.output]


# ---------------------------------------------------------------- Responses -> Chat Completions


def test_string_input_is_one_user_message_and_the_model_comes_from_the_config():
    body = to_chat({"input": "What is 2+2?", "model": "ignored"})
    assert body["model"] == "tiny"
    assert body["messages"] == [{"role": "user", "content": "What is 2+2?"}]


def test_instructions_become_one_leading_system_message_folding_leading_system_and_developer_messages():
    params = {
        "instructions": "Be brief.",
        "input": [
            {"role": "system", "content": "You add."},
            {"role": "developer", "content": "Use digits."},
            user("1+1"),
        ],
    }
    assert to_chat(params)["messages"] == [
        {"role": "system", "content": "Be brief.\n\nYou add.\n\nUse digits."},
        user("1+1"),
    ]


def test_a_single_leading_system_message_without_instructions_is_kept_and_two_are_folded():
    assert to_chat({"input": [{"role": "system", "content": "S"}, user("u")]})["messages"][0] == {
        "role": "system",
        "content": "S",
    }
    two = {"input": [{"role": "system", "content": "A"}, {"role": "system", "content": "B"}, user("u")]}
    assert to_chat(two)["messages"] == [{"role": "system", "content": "A\n\nB"}, user("u")]


def test_a_system_message_after_a_user_message_is_not_folded():
    params = {"instructions": "I", "input": [user("u"), {"role": "system", "content": "late"}]}
    assert to_chat(params)["messages"] == [
        {"role": "system", "content": "I"},
        user("u"),
        {"role": "system", "content": "late"},
    ]


def test_developer_role_is_replaced_with_system_when_configured():
    params = {"input": [user("u"), {"role": "developer", "content": "d"}]}
    assert to_chat(params)["messages"][1]["role"] == "developer"
    assert to_chat(params, replace_developer_role_with_system=True)["messages"][1]["role"] == "system"


def test_reasoning_message_and_function_call_items_merge_into_one_assistant_message():
    params = {
        "input": [
            user("weather?"),
            reasoning_item("I should call the tool."),
            message_item("Let me check."),
            function_call_item("get_weather", {"city": "Paris"}, "call_1"),
            {"type": "function_call_output", "call_id": "call_1", "output": '{"temp": 20}'},
        ]
    }
    messages = to_chat(params)["messages"]
    assert messages[1:] == [
        {
            "role": "assistant",
            "content": "Let me check.",
            "reasoning_content": "I should call the tool.",
            "reasoning": "I should call the tool.",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": '{"temp": 20}'},
    ]


def test_without_a_reasoning_parser_reasoning_goes_back_inline_as_think_tags():
    params = {"input": [user("u"), reasoning_item("r1"), reasoning_item("r2"), message_item("answer")]}
    assistant = to_chat(params, uses_reasoning_parser=False)["messages"][1]
    assert assistant == {"role": "assistant", "content": "<think>r1</think><think>r2</think>answer"}


def test_without_interleaved_reasoning_earlier_reasoning_is_dropped():
    params = {"input": [user("u"), reasoning_item("r"), message_item("answer")]}
    assert to_chat(params, uses_interleaved_reasoning=False)["messages"][1] == {
        "role": "assistant",
        "content": "answer",
    }


def test_think_tags_in_assistant_history_are_moved_to_the_reasoning_fields():
    params = {"input": [user("u"), message_item("<think>hmm</think>4")]}
    assert to_chat(params)["messages"][1] == {
        "role": "assistant",
        "content": "4",
        "reasoning_content": "hmm",
        "reasoning": "hmm",
    }


def test_parallel_function_calls_become_one_assistant_message_and_outputs_become_tool_messages():
    params = {
        "input": [
            user("u"),
            function_call_item("f", "{}", "a"),
            function_call_item("g", "{}", "b"),
            {"type": "function_call_output", "call_id": "a", "output": "A"},
            {"type": "function_call_output", "call_id": "b", "output": "B"},
        ]
    }
    messages = to_chat(params)["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "tool"]
    assert messages[1]["content"] is None
    assert [call["id"] for call in messages[1]["tool_calls"]] == ["a", "b"]
    assert [(m["tool_call_id"], m["content"]) for m in messages[2:]] == [("a", "A"), ("b", "B")]


def test_a_user_message_flushes_the_assistant_turn():
    params = {"input": [user("1"), message_item("a"), user("2"), message_item("b")]}
    assert [m.get("content") for m in to_chat(params)["messages"]] == ["1", "a", "2", "b"]


def test_an_empty_message_item_before_a_function_call_merges_into_the_call():
    params = {"input": [user("u"), message_item(""), function_call_item("f", "{}", "c")]}
    messages = to_chat(params)["messages"]
    assert len(messages) == 2 and messages[1]["content"] is None and messages[1]["tool_calls"][0]["id"] == "c"


def test_chat_shaped_tool_and_assistant_tool_calls_are_accepted():
    call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    params = {
        "input": [
            user("u"),
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "c", "content": "out"},
        ]
    }
    assert to_chat(params)["messages"][1:] == [
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c", "content": "out"},
    ]


def test_content_parts_become_chat_parts():
    params = {
        "input": [
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "Describe"},
                    {"type": "input_image", "image_url": "data:image/png;base64,AA"},
                    {"type": "input_image", "image_url": "http://x/y.png", "detail": "low"},
                ],
            }
        ]
    }
    assert to_chat(params)["messages"][0]["content"] == [
        {"type": "text", "text": "Describe"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA", "detail": "auto"}},
        {"type": "image_url", "image_url": {"url": "http://x/y.png", "detail": "low"}},
    ]


def test_list_tool_output_keeps_its_text_parts():
    params = {
        "input": [
            function_call_item("f", "{}", "c"),
            {"type": "function_call_output", "call_id": "c", "output": [{"type": "input_text", "text": "hi"}]},
        ]
    }
    assert to_chat(params)["messages"][1]["content"] == [{"type": "text", "text": "hi"}]


def test_items_without_a_chat_form_are_reported_with_their_path():
    with pytest.raises(ServerError) as caught:
        to_chat({"input": [user("u"), {"type": "web_search_call", "id": "w", "status": "completed"}]})
    assert caught.value.code == "model.unsupported_input"
    assert caught.value.location.field == "input[1].type"


def test_every_untranslatable_item_is_reported_at_once():
    params = {
        "input": [
            {"type": "web_search_call", "id": "w"},
            {"role": "user", "content": [{"type": "input_file", "file_id": "f"}]},
            {"type": "function_call", "name": "f"},
        ]
    }
    with pytest.raises(ProblemsFound) as caught:
        to_chat(params)
    assert [p.location.field for p in caught.value.problems] == [
        "input[0].type",
        "input[1].content[0].type",
        "input[2]",
    ]


def test_tools_are_reshaped_for_chat_completions():
    body = to_chat({"input": "u", "tools": [WEATHER_TOOL], "tool_choice": "auto", "parallel_tool_calls": False})
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather of a city",
                "parameters": WEATHER_TOOL["parameters"],
            },
        }
    ]
    assert body["tool_choice"] == "auto" and body["parallel_tool_calls"] is False


def test_a_named_tool_choice_takes_the_chat_shape():
    body = to_chat({"input": "u", "tools": [WEATHER_TOOL], "tool_choice": {"type": "function", "name": "get_weather"}})
    assert body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}


def test_without_tools_tool_choice_and_parallel_tool_calls_are_dropped():
    body = to_chat({"input": "u", "tools": [], "tool_choice": "auto", "parallel_tool_calls": True})
    assert not {"tools", "tool_choice", "parallel_tool_calls"} & body.keys()


def test_tool_choice_required_without_tools_is_an_error():
    with pytest.raises(ServerError) as caught:
        to_chat({"input": "u", "tool_choice": "required"})
    assert caught.value.code == "model.bad_request"


def test_sampling_fields_map_and_responses_only_fields_are_dropped():
    params = {
        "input": "u",
        "max_output_tokens": 64,
        "temperature": 0.0,
        "top_p": 0.9,
        "reasoning": {"effort": "low"},
        "text": {"format": {"type": "text"}},
        "include": ["reasoning.encrypted_content"],
        "truncation": "disabled",
        "store": False,
        "top_logprobs": None,
    }
    body = to_chat(params)
    assert {k: v for k, v in body.items() if k != "messages"} == {
        "model": "tiny",
        "max_tokens": 64,
        "temperature": 0.0,
        "top_p": 0.9,
        "reasoning_effort": "low",
    }


def test_extra_body_template_kwargs_and_sampling_overrides_merge_in_nemo_gym_order():
    params = {
        "input": "u",
        "temperature": 0.5,
        "metadata": {"extra_body": '{"seed": 7, "top_k": 5}', "chat_template_kwargs": '{"enable_thinking": false}'},
    }
    body = to_chat(
        params,
        extra_body={"top_k": 1, "temperature": 9.0, "min_p": 0.1},
        chat_template_kwargs={"enable_thinking": True, "x": 1},
        sampling_overrides={"top_p": 0.5},
    )
    assert body["seed"] == 7 and body["top_k"] == 5 and body["min_p"] == 0.1
    assert body["temperature"] == 0.5  # the request wins over extra_body
    assert body["top_p"] == 0.5  # sampling_overrides win over everything
    assert body["chat_template_kwargs"] == {"enable_thinking": False, "x": 1}


def test_bad_metadata_json_is_reported():
    with pytest.raises(ServerError) as caught:
        to_chat({"input": "u", "metadata": {"extra_body": "{not json"}})
    assert caught.value.location.field == "metadata.extra_body"


def test_token_id_mode_asks_for_token_ids_and_sends_earlier_token_ids_back():
    tokens = {"prompt_token_ids": [1, 2], "generation_token_ids": [3], "generation_log_probs": [-0.5]}
    params = {"input": [user("u"), message_item("a") | tokens, user("again")]}
    body = to_chat(params, return_token_id_information=True)
    assert body["logprobs"] is True and body["top_logprobs"] == 0 and body["return_tokens_as_token_ids"] is True
    assert "return_token_ids" not in body
    assert body["messages"][1] == {"role": "assistant", "content": "a", **tokens}
    plain = to_chat(params)
    assert "logprobs" not in plain and plain["messages"][1] == {"role": "assistant", "content": "a"}
    both = to_chat(params, return_token_id_information=True, request_prompt_and_generation_token_ids=True)
    assert both["return_token_ids"] is True


# ---------------------------------------------------------------- Chat Completions -> Responses


def test_recorded_plain_reply(recorded):
    completion = recorded["chat_plain"]
    response = to_response(completion)
    assert response.output_text == "Hello from the tiny model."
    assert [item.type for item in response.output] == ["message"]
    assert response.status == "completed" and response.incomplete_details is None
    assert response.created_at == completion["created"] and response.model == "tiny"
    assert response.usage == {
        "input_tokens": 20,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 2,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 22,
    }


def test_recorded_tool_call_reply(recorded):
    response = to_response(recorded["chat_tools"], {"input": "u", "tools": [WEATHER_TOOL]})
    assert dumped(response) == [
        {
            "type": "function_call",
            "name": "get_weather",
            "arguments": '{"city": "Paris"}',
            "call_id": "chatcmpl-tool-88e8c0a857ccabe9",
            "id": "chatcmpl-tool-88e8c0a857ccabe9",
            "status": "completed",
        }
    ]
    assert response.tools == [WEATHER_TOOL]
    assert response.usage["total_tokens"] == 178


def test_recorded_reply_after_a_tool_result(recorded):
    assert to_response(recorded["chat_after_tool"]).output_text == "Hello from the tiny model."


def test_recorded_token_id_logprobs_reply(recorded):
    completion = recorded["chat_logprobs"]
    config = cfg(return_token_id_information=True)
    assert converter.needs_prompt_token_ids(completion, config)
    response = converter.chat_to_response({"input": "u"}, completion, config, prompt_token_ids=[7, 8, 9])
    tokens = response.output[-1].training_tokens
    assert tokens.generation_token_ids == [510, 2]
    assert tokens.generation_log_probs == [0.0, 0.0]
    assert tokens.prompt_token_ids == [7, 8, 9]


def test_recorded_responses_api_reply_validates_and_replays_without_server_fields(recorded):
    response = Response.model_validate(recorded["responses_tools"])
    item = response.output[0]
    assert item.type == "function_call" and item.call_id == "chatcmpl-tool-840a2802857f8309"
    assert item.as_input_item() == {
        "type": "function_call",
        "call_id": "chatcmpl-tool-840a2802857f8309",
        "name": "get_weather",
        "arguments": '{"city": "Paris"}',
        "id": "fc_bfe034c913199344",
        "status": "completed",
    }


@pytest.mark.parametrize("field", ["reasoning", "reasoning_content"])
def test_both_vllm_reasoning_spellings_become_a_reasoning_item(field):
    response = to_response(chat({"role": "assistant", "content": "4", field: "2+2 is 4"}))
    assert [item.type for item in response.output] == ["reasoning", "message"]
    assert response.output[0].summary[0].text == "2+2 is 4"
    assert response.output[0].id.startswith("rs_")
    assert response.output_text == "4"


def test_think_tags_in_content_become_a_reasoning_item():
    response = to_response(chat({"role": "assistant", "content": "<think>a\nb</think>\n\n4"}))
    assert response.output[0].summary[0].text == "a\nb"
    assert response.output_text == "\n\n4"


def test_without_a_reasoning_parser_think_tags_stay_text_and_a_reasoning_field_is_an_error():
    response = to_response(chat({"role": "assistant", "content": "<think>a</think>4"}), uses_reasoning_parser=False)
    assert [item.type for item in response.output] == ["message"] and response.output_text == "<think>a</think>4"
    with pytest.raises(ServerError) as caught:
        to_response(chat({"role": "assistant", "content": "4", "reasoning": "r"}), uses_reasoning_parser=False)
    assert caught.value.code == "model.bad_reply"


def test_parallel_and_malformed_tool_calls_become_function_call_items_in_order():
    calls = [
        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"x": 1}'}},
        {"id": "c2", "type": "function", "function": {"name": "g", "arguments": '{"x": '}},
    ]
    response = to_response(
        chat({"role": "assistant", "content": None, "tool_calls": calls}, finish_reason="tool_calls")
    )
    assert [(i.type, i.call_id, i.arguments) for i in response.output] == [
        ("function_call", "c1", '{"x": 1}'),
        ("function_call", "c2", '{"x": '),
    ]


def test_reasoning_text_and_a_tool_call_come_out_in_that_order():
    message = {
        "role": "assistant",
        "content": "Checking.",
        "reasoning": "need weather",
        "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
    }
    assert [item.type for item in to_response(chat(message)).output] == ["reasoning", "message", "function_call"]


def test_an_empty_reply_is_one_empty_message():
    response = to_response(chat({"role": "assistant", "content": None}))
    assert [item.type for item in response.output] == ["message"] and response.output_text == ""


@pytest.mark.parametrize(
    ("finish_reason", "reason"), [("length", "max_output_tokens"), ("content_filter", "content_filter")]
)
def test_length_and_content_filter_make_an_incomplete_response(finish_reason, reason):
    response = to_response(chat({"role": "assistant", "content": "partial"}, finish_reason=finish_reason))
    assert response.status == "incomplete"
    assert response.incomplete_details == {"reason": reason}


def test_usage_details_are_read_from_every_spelling():
    usage = {
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "total_tokens": 15,
        "prompt_tokens_details": {"cached_tokens": 4},
        "completion_tokens_details": {"reasoning_tokens": 3},
    }
    assert converter.usage_of(usage)["input_tokens_details"] == {"cached_tokens": 4}
    assert converter.usage_of(usage)["output_tokens_details"] == {"reasoning_tokens": 3}
    other = {"prompt_tokens": 10, "completion_tokens": 5, "cache_read_input_tokens": 2, "reasoning_output_tokens": 1}
    assert converter.usage_of(other)["input_tokens_details"] == {"cached_tokens": 2}
    assert converter.usage_of(other)["output_tokens_details"] == {"reasoning_tokens": 1}
    assert converter.usage_of(other)["total_tokens"] == 15
    assert converter.usage_of(None) is None


def test_the_envelope_mirrors_the_request():
    params = {"input": "u", "temperature": 0.2, "max_output_tokens": 9, "instructions": "I", "metadata": {"k": "v"}}
    response = to_response(chat({"role": "assistant", "content": "x"}), params)
    assert (response.temperature, response.max_output_tokens, response.instructions) == (0.2, 9, "I")
    assert response.metadata == {"k": "v"} and response.tool_choice == "auto" and response.parallel_tool_calls
    assert response.id.startswith("resp_")


def test_token_ids_come_from_a_message_bundle_first():
    bundle = {"prompt_token_ids": [1], "generation_token_ids": [2, 3], "generation_log_probs": [-1.0, -2.0]}
    completion = chat({"role": "assistant", "content": "x", **bundle})
    config = cfg(return_token_id_information=True)
    assert not converter.needs_prompt_token_ids(completion, config)
    tokens = converter.chat_to_response({"input": "u"}, completion, config).output[-1].training_tokens
    assert (tokens.prompt_token_ids, tokens.generation_token_ids) == ([1], [2, 3])


def test_token_ids_from_return_token_ids_go_on_the_last_item():
    completion = chat(
        {
            "role": "assistant",
            "content": "x",
            "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{}"}}],
        },
        prompt_token_ids=[5, 6],
    )
    completion["choices"][0] |= {
        "token_ids": [510, 2],
        "logprobs": {"content": [{"token": "a", "logprob": -0.1}, {"token": "b", "logprob": -0.2}]},
    }
    config = cfg(return_token_id_information=True)
    assert not converter.needs_prompt_token_ids(completion, config)
    response = converter.chat_to_response({"input": "u"}, completion, config)
    assert response.output[0].training_tokens is None
    tokens = response.output[-1].training_tokens
    assert (tokens.prompt_token_ids, tokens.generation_token_ids, tokens.generation_log_probs) == (
        [5, 6],
        [510, 2],
        [-0.1, -0.2],
    )


def test_disagreeing_or_missing_token_ids_are_bad_replies(recorded):
    config = cfg(return_token_id_information=True)
    disagreeing = copy.deepcopy(recorded["chat_logprobs"])
    disagreeing["choices"][0]["token_ids"] = [1, 2]
    missing = recorded["chat_plain"]
    for completion in (disagreeing, missing):
        with pytest.raises(ServerError) as caught:
            converter.chat_to_response({"input": "u"}, completion, config, prompt_token_ids=[1])
        assert caught.value.code == "model.bad_reply"


def test_transformers_serve_shapes_are_tolerated():
    completion = {
        "id": str(uuid.uuid4()),
        "object": "chat.completion",
        "created": 1795412752.25,
        "model": "local/tiny-scripted@main",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [
                        {"id": "call_0", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {"prompt_tokens": 30, "completion_tokens": 8, "total_tokens": 38},
    }
    response = to_response(completion)
    assert [item.type for item in response.output] == ["function_call"]
    assert response.output[0].arguments == '{"city": "Paris"}'
    assert response.created_at == 1795412752.25 and response.model == "tiny"


def test_a_reply_without_choices_is_a_bad_reply():
    with pytest.raises(ServerError) as caught:
        to_response({"id": "x", "choices": []})
    assert caught.value.code == "model.bad_reply"


def test_output_items_replay_as_the_same_assistant_turn():
    message = {
        "role": "assistant",
        "content": "Checking.",
        "reasoning": "need weather",
        "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
    }
    response = to_response(chat(message))
    replayed = to_chat({"input": [user("u"), *response.output]})["messages"][1]
    assert replayed == {**message, "reasoning_content": "need weather"}


def test_context_length_errors_are_recognised_and_answered_with_an_empty_incomplete_response():
    vllm_message = "This model's maximum context length is 2048 tokens. However, your request has 3000 input tokens."
    assert converter.is_context_length_error(400, json.dumps({"error": {"message": vllm_message}}))
    assert converter.is_context_length_error(400, "'max_tokens' is too large: 5000.")
    assert not converter.is_context_length_error(400, "unknown field 'foo'")
    assert not converter.is_context_length_error(500, vllm_message)
    response = converter.context_length_response({"input": "u"}, cfg(return_token_id_information=True))
    assert response.status == "incomplete" and response.incomplete_details == {"reason": "max_output_tokens"}
    assert response.output_text == "" and response.output[0].training_tokens is None
