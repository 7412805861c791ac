"""Responses API <-> vLLM Chat Completions translation, as NeMo Gym's vllm_model does it (pure, no I/O)."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from gym_conform.core.responses import Response, function_call_item, make_response, message_item
from gym_conform.errors import GymConformError, Location, ServerError, collect
from gym_conform.models.vllm.config import VLLMModelConfig

THINK_PATTERN = re.compile(r"<think>(.*?)</think>", re.DOTALL)
TOKEN_ID_PATTERN = re.compile(r"token_id:(-?\d+)")
TRAINING_FIELDS = ("prompt_token_ids", "generation_token_ids", "generation_log_probs")
# Request fields the Chat Completions API shares with the Responses API; Responses-only ones are dropped.
SHARED_CHAT_FIELDS = (
    "temperature", "top_p", "tool_choice", "parallel_tool_calls", "top_logprobs", "user", "metadata",
    "service_tier", "seed", "stop", "frequency_penalty", "presence_penalty", "logit_bias", "n",
)  # fmt: skip
# Request fields a Response mirrors back, as NeMo Gym's envelope does.
MIRRORED_FIELDS = ("instructions", "max_output_tokens", "metadata", "reasoning", "temperature", "text", "top_p")
_CONTEXT_LENGTH_MARKERS = ("context length", "max_tokens", "maximum model length")


def responses_to_chat(params: Mapping[str, Any] | BaseModel, config: VLLMModelConfig) -> dict[str, Any]:
    """Return the Chat Completions request body (model included) for a Responses create-params dict."""
    params = _as_dict(params)
    errors: list[GymConformError] = []
    builder = _ChatBuilder(config, errors)
    raw_input = params.get("input", [])
    items = [{"role": "user", "content": raw_input}] if isinstance(raw_input, str) else raw_input
    for index, item in enumerate(items or []):
        try:
            builder.add(_as_dict(item), f"input[{index}]")
        except (KeyError, TypeError, AttributeError) as exc:
            errors.append(
                ServerError(
                    f"input item is malformed ({type(exc).__name__}: {exc})",
                    code="model.bad_request",
                    location=Location(field=f"input[{index}]"),
                    hint="Validate the row with ng_prepare_data; every item needs its type's required keys.",
                )
            )
    builder.flush()
    messages = _fold_leading_system(params.get("instructions"), builder.messages)
    if config.replace_developer_role_with_system:
        messages = [{**m, "role": "system"} if m["role"] == "developer" else m for m in messages]

    body: dict[str, Any] = {"model": config.model, "messages": messages}
    body.update({key: params[key] for key in SHARED_CHAT_FIELDS if params.get(key) is not None})
    if params.get("max_output_tokens") is not None:
        body["max_tokens"] = params["max_output_tokens"]
    effort = (params.get("reasoning") or {}).get("effort")
    if effort is not None:
        body["reasoning_effort"] = effort
    _set_tools(body, params.get("tools"), errors)
    metadata = params.get("metadata") or {}
    template_kwargs = {
        **(config.chat_template_kwargs or {}),
        **_metadata_json(metadata, "chat_template_kwargs", errors),
    }
    if template_kwargs:
        body["chat_template_kwargs"] = template_kwargs
    if config.return_token_id_information:
        body.update(logprobs=True, top_logprobs=0, return_tokens_as_token_ids=True)
        if config.request_prompt_and_generation_token_ids:
            body["return_token_ids"] = True
    extra_body = {**(config.extra_body or {}), **_metadata_json(metadata, "extra_body", errors)}
    failure = collect(errors, summary=f"{len(errors)} problem(s) translating the request for the model")
    if failure is not None:
        raise errors[0] if len(errors) == 1 else failure
    return {**extra_body, **body, **(config.sampling_overrides or {})}


class _ChatBuilder:
    """Accumulates chat messages; runs of reasoning / assistant / function_call items become one turn."""

    def __init__(self, config: VLLMModelConfig, errors: list[GymConformError]) -> None:
        self.config = config
        self.errors = errors
        self.messages: list[dict[str, Any]] = []
        self._reasoning: list[str] = []
        self._text: list[str] = []
        self._tool_calls: list[dict[str, Any]] = []
        self._tokens: dict[str, Any] | None = None

    def add(self, item: dict[str, Any], path: str) -> None:
        """Translate one Responses input item (or a chat-shaped message) at JSON path `path`."""
        kind = item.get("type") or ("message" if item.get("role") else None)
        role = item.get("role")
        if kind == "message" and role == "assistant":
            self._text.append(_assistant_text(item.get("content")))
            self._tool_calls.extend(_chat_tool_call(call) for call in item.get("tool_calls") or [])
        elif kind == "reasoning":
            parts = item.get("summary") or item.get("content") or []
            self._reasoning.extend(part["text"] for part in parts if part.get("text"))
        elif kind == "function_call":
            self._tool_calls.append(_tool_call(item["call_id"], item["name"], item["arguments"]))
        elif kind == "function_call_output":
            self._append({"role": "tool", "tool_call_id": item["call_id"], "content": self._tool_output(item, path)})
        elif kind == "message" and role == "tool":
            self._append({"role": "tool", "tool_call_id": item["tool_call_id"], "content": item.get("content")})
        elif kind == "message" and role in ("user", "system", "developer"):
            self._append({"role": role, "content": self._content(item.get("content"), f"{path}.content")})
        else:
            if kind == "message":
                self.errors.append(_unsupported(f"messages with role {role!r}", f"{path}.role"))
            else:
                what = f"{kind!r} items" if kind else "items without a type or role"
                self.errors.append(_unsupported(what, f"{path}.type" if kind else path))
            return
        if self.config.return_token_id_information and item.get("prompt_token_ids") is not None:
            self._tokens = {
                name: item[name] for name in (*TRAINING_FIELDS, "routed_experts") if item.get(name) is not None
            }

    def flush(self) -> None:
        """Close the pending assistant turn, if any, as one assistant message."""
        text = "".join(self._text)
        reasoning = list(self._reasoning)
        if self.config.uses_reasoning_parser:
            reasoning += THINK_PATTERN.findall(text)
            text = THINK_PATTERN.sub("", text)
        else:
            text = "".join(f"<think>{r}</think>" for r in reasoning) + text
            reasoning = []
        if text or reasoning or self._tool_calls:
            message: dict[str, Any] = {"role": "assistant", "content": text if text or not self._tool_calls else None}
            if reasoning and self.config.uses_interleaved_reasoning:
                # vLLM chat templates read one spelling or the other, depending on the model family.
                message["reasoning_content"] = message["reasoning"] = "\n".join(reasoning)
            if self._tool_calls:
                message["tool_calls"] = self._tool_calls
            if self._tokens:
                message.update(self._tokens)
            self.messages.append(message)
        self._reasoning, self._text, self._tool_calls, self._tokens = [], [], [], None

    def _append(self, message: dict[str, Any]) -> None:
        self.flush()
        self.messages.append(message)

    def _content(self, content: Any, path: str) -> Any:
        if not isinstance(content, list):
            return content
        parts = []
        for index, part in enumerate(content):
            kind = part.get("type")
            if kind == "input_text":
                parts.append({"type": "text", "text": part["text"]})
            elif kind == "input_image":
                url = part.get("image_url") or ""
                parts.append({"type": "image_url", "image_url": {"url": url, "detail": part.get("detail") or "auto"}})
            elif kind == "input_video":
                parts.append({"type": "video_url", "video_url": {"url": part.get("video_url") or ""}})
            elif kind == "input_audio":
                parts.append({"type": "input_audio", "input_audio": part["input_audio"]})
            else:
                self.errors.append(_unsupported(f"{kind!r} content parts", f"{path}[{index}].type"))
        return parts

    def _tool_output(self, item: dict[str, Any], path: str) -> Any:
        output = item.get("output")
        if not isinstance(output, list):
            return output
        for index, part in enumerate(output):
            if part.get("type") != "input_text":
                self.errors.append(_unsupported("tool output parts other than input_text", f"{path}.output[{index}]"))
        return [{"type": "text", "text": part.get("text", "")} for part in output if part.get("type") == "input_text"]


def _fold_leading_system(instructions: str | None, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fold `instructions` and the leading text-only system/developer messages into one system message."""
    texts = [instructions] if instructions else []
    count = 0
    for message in messages:
        text = _plain_text(message.get("content")) if message["role"] in ("system", "developer") else None
        if text is None:
            break
        texts.append(text)
        count += 1
    if not instructions and count < 2:
        return messages
    return [{"role": "system", "content": "\n\n".join(texts)}, *messages[count:]]


def _plain_text(content: Any) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(part.get("type") == "text" for part in content):
        return "".join(part["text"] for part in content)
    return None


def _assistant_text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(part.get("text") or "" for part in content)
    return content or ""


def _tool_call(call_id: str, name: str, arguments: Any) -> dict[str, Any]:
    arguments = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def _chat_tool_call(call: Mapping[str, Any]) -> dict[str, Any]:
    function = call.get("function") or {}
    return _tool_call(call.get("id") or _new_id("call"), function.get("name", ""), function.get("arguments", ""))


def _set_tools(body: dict[str, Any], tools: list[Any] | None, errors: list[GymConformError]) -> None:
    choice = body.get("tool_choice")
    if tools:
        body["tools"] = []
        for index, tool in enumerate(tools):
            tool = _as_dict(tool)
            if "function" in tool:
                body["tools"].append(tool)
            elif tool.get("type") == "function":
                function = {
                    key: tool[key] for key in ("name", "description", "parameters") if tool.get(key) is not None
                }
                body["tools"].append({"type": "function", "function": function})
            else:
                errors.append(_unsupported(f"{tool.get('type')!r} tools", f"tools[{index}].type"))
        if isinstance(choice, dict) and "name" in choice:
            body["tool_choice"] = {"type": "function", "function": {"name": choice["name"]}}
        return
    if choice not in (None, "auto", "none"):
        errors.append(
            ServerError(
                f"tool_choice={choice!r} needs at least one tool",
                code="model.bad_request",
                location=Location(field="tool_choice"),
                hint="Offer the tool in `tools`, or drop tool_choice.",
            )
        )
    body.pop("tool_choice", None)
    body.pop("parallel_tool_calls", None)


def _metadata_json(metadata: Mapping[str, Any], key: str, errors: list[GymConformError]) -> dict[str, Any]:
    """Return NeMo Gym's JSON side channel `metadata[key]` as a dict ({} when absent)."""
    raw = metadata.get(key)
    if raw is None:
        return {}
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError as exc:
        value = exc
    if isinstance(value, dict):
        return value
    errors.append(
        ServerError(
            f"metadata.{key} must be a JSON object string",
            code="model.bad_request",
            location=Location(field=f"metadata.{key}"),
            hint='Write it as a string holding a JSON object, e.g. "{\\"seed\\": 1}".',
        )
    )
    return {}


def _unsupported(what: str, field: str) -> ServerError:
    return ServerError(
        f"{what} have no Chat Completions representation",
        code="model.unsupported_input",
        location=Location(field=field),
        hint="Use message, reasoning, function_call and function_call_output items with text/image parts, "
        "or set is_responses_native: true for a server with its own /v1/responses.",
    )


def responses_native_request(params: Mapping[str, Any] | BaseModel, config: VLLMModelConfig) -> dict[str, Any]:
    """Return the /v1/responses body for a server that speaks the Responses API itself (not streamed)."""
    body = _as_dict(params)
    if isinstance(body.get("input"), list):
        body["input"] = [_as_dict(item) for item in body["input"]]
    body.update(model=config.model, stream=False)
    return {**(config.extra_body or {}), **body, **(config.sampling_overrides or {})}


def is_context_length_error(status_code: int, body_text: str) -> bool:
    """Tell whether an HTTP reply is vLLM's 400 for a prompt (or max_tokens) past the context window."""
    if status_code != 400:
        return False
    lowered = body_text.lower()
    return any(marker in lowered for marker in _CONTEXT_LENGTH_MARKERS)


def context_length_response(params: Mapping[str, Any] | BaseModel, config: VLLMModelConfig) -> Response:
    """Return the empty incomplete response NeMo Gym substitutes for a context-length 400."""
    completion = {"choices": [{"message": {"role": "assistant", "content": ""}, "finish_reason": "length"}]}
    return chat_to_response(params, completion, config.model_copy(update={"return_token_id_information": False}))


def needs_prompt_token_ids(completion: Mapping[str, Any], config: VLLMModelConfig) -> bool:
    """Tell whether the prompt's token ids must be fetched from /tokenize for this completion."""
    if not config.return_token_id_information:
        return False
    message = _first_choice(completion).get("message") or {}
    has_bundle = all(message.get(name) is not None for name in TRAINING_FIELDS)
    return not has_bundle and completion.get("prompt_token_ids") is None


def tokenize_request(chat_request: Mapping[str, Any]) -> dict[str, Any]:
    """Return vLLM's /tokenize body for the prompt of `chat_request` (same messages, tools, template)."""
    keys = ("model", "messages", "tools", "chat_template_kwargs")
    return {key: chat_request[key] for key in keys if chat_request.get(key) is not None} | {
        "add_generation_prompt": True
    }


def chat_to_response(
    params: Mapping[str, Any] | BaseModel,
    completion: Mapping[str, Any],
    config: VLLMModelConfig,
    *,
    prompt_token_ids: list[int] | None = None,
) -> Response:
    """Return the Responses API object for a chat completion answering `params`."""
    params = _as_dict(params)
    choice = _first_choice(completion)
    message = choice.get("message")
    if not isinstance(message, dict):
        raise _bad_reply("the first choice has no message object", "choices[0].message")
    output = assistant_items(message, config)
    if config.return_token_id_information:
        output[-1].update(_training_fields(completion, choice, message, prompt_token_ids))
    created = completion.get("created")
    fields: dict[str, Any] = {
        "created_at": created if isinstance(created, (int, float)) else time.time(),
        "model": config.model,
        "usage": usage_of(completion.get("usage")),
        "tool_choice": params.get("tool_choice") or "auto",
        "parallel_tool_calls": params.get("parallel_tool_calls") is not False,
        "tools": [_as_dict(tool) for tool in params.get("tools") or []],
        **{key: params[key] for key in MIRRORED_FIELDS if params.get(key) is not None},
    }
    finish = choice.get("finish_reason")
    reasons = {"length": "max_output_tokens", "content_filter": "content_filter"}
    reason = reasons.get(finish) if isinstance(finish, str) else None
    if reason is not None:
        fields.update(status="incomplete", incomplete_details={"reason": reason})
    return make_response(output, **fields)


def assistant_items(message: Mapping[str, Any], config: VLLMModelConfig) -> list[dict[str, Any]]:
    """Return the output items of one assistant chat message: reasoning, then text, then function calls."""
    content = _assistant_text(message.get("content"))
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    if config.uses_reasoning_parser:
        found = ([reasoning] if reasoning else []) + THINK_PATTERN.findall(content)
        content = THINK_PATTERN.sub("", content)
    elif reasoning:
        raise _bad_reply(
            "the reply carries a reasoning field but uses_reasoning_parser is false",
            "choices[0].message.reasoning",
            hint="Set uses_reasoning_parser: true when vLLM runs with --reasoning-parser.",
        )
    else:
        found = []
    items: list[dict[str, Any]] = []
    if found:
        summary = [{"type": "summary_text", "text": text} for text in found]
        items.append({"id": _new_id("rs"), "type": "reasoning", "summary": summary, "status": "completed"})
    tool_calls = [_chat_tool_call(call) for call in message.get("tool_calls") or []]
    if content or not (items or tool_calls):
        items.append(message_item(content))
    for call in tool_calls:
        function = call["function"]
        items.append(function_call_item(function["name"], function["arguments"], call["id"], id=call["id"]))
    return items


def usage_of(usage: Any) -> dict[str, Any] | None:
    """Return Responses API usage for Chat Completions usage (None when the reply has none)."""
    if not isinstance(usage, dict):
        return None
    prompt = usage.get("prompt_tokens") or 0
    completion = usage.get("completion_tokens") or 0
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens")
    cached = _first_number(cached, usage.get("cached_input_tokens"), usage.get("cache_read_input_tokens"))
    reasoning = (usage.get("completion_tokens_details") or {}).get("reasoning_tokens")
    reasoning = _first_number(reasoning, usage.get("reasoning_output_tokens"))
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": cached},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": usage.get("total_tokens") or prompt + completion,
    }


def _first_number(*values: Any) -> int:
    return next((value for value in values if isinstance(value, int)), 0)


def _training_fields(
    completion: Mapping[str, Any],
    choice: Mapping[str, Any],
    message: Mapping[str, Any],
    prompt_token_ids: list[int] | None,
) -> dict[str, Any]:
    """Return the token ids and log-probs of a completion, by NeMo Gym's order of precedence."""
    if all(message.get(name) is not None for name in TRAINING_FIELDS):
        fields = {name: message[name] for name in TRAINING_FIELDS}
    else:
        parsed_ids, log_probs = _logprob_tokens(choice.get("logprobs"))
        generated = choice.get("token_ids")
        if generated is not None and parsed_ids is not None and list(generated) != parsed_ids:
            raise _bad_reply("choice.token_ids and the token_id:N log-prob tokens disagree", "choices[0].token_ids")
        generated = parsed_ids if generated is None else list(generated)
        prompt = completion.get("prompt_token_ids") or prompt_token_ids
        if generated is None or log_probs is None or prompt is None:
            raise _bad_reply(
                "token-id information was asked for but the reply lacks it",
                "choices[0].logprobs",
                hint="Serve with a vLLM that honours logprobs and return_tokens_as_token_ids (or return_token_ids).",
            )
        if len(log_probs) != len(generated):
            raise _bad_reply("the reply has a different number of log-probs and tokens", "choices[0].logprobs")
        fields = {
            "prompt_token_ids": list(prompt),
            "generation_token_ids": generated,
            "generation_log_probs": log_probs,
        }
    routed = choice.get("routed_experts") or message.get("routed_experts")
    return fields | ({"routed_experts": routed} if routed is not None else {})


def _logprob_tokens(logprobs: Any) -> tuple[list[int] | None, list[float] | None]:
    """Return the `token_id:N` ids (None unless every token has that form) and the log-probs."""
    if not isinstance(logprobs, dict) or not isinstance(logprobs.get("content"), list):
        return None, None
    entries = logprobs["content"]
    matches = [TOKEN_ID_PATTERN.fullmatch(str(entry.get("token"))) for entry in entries]
    ids = [int(match.group(1)) for match in matches if match] if all(matches) else None
    return ids, [float(entry["logprob"]) for entry in entries]


def _first_choice(completion: Mapping[str, Any]) -> Mapping[str, Any]:
    choices = completion.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise _bad_reply("the reply has no choices", "choices")
    return choices[0]


def _bad_reply(message: str, field: str, *, hint: str | None = None) -> ServerError:
    return ServerError(
        f"model server reply: {message}",
        code="model.bad_reply",
        location=Location(field=field),
        hint=hint or "Check that base_url points at an OpenAI-compatible Chat Completions server (vLLM).",
    )


def _as_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, BaseModel):
        as_input = getattr(value, "as_input_item", None)
        return as_input() if as_input else value.model_dump(mode="json", exclude_unset=True)
    return dict(value)


def _new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"
