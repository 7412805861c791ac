"""Pydantic models of the Responses API as NeMo Gym accepts them: create params (rows), response objects.

`ResponseCreateParams` is strict (unknown keys are errors, like NeMo Gym's own model, and also inside
items so typos surface); `Response` is tolerant because real servers add fields. Input items live in
`responses_items`, output items in `responses_output`; the `*_item` constructors build NeMo Gym-shaped
dicts.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Discriminator, Tag

from gym_conform.core.responses_base import (
    TAG_PREFIX,
    NonBoolFloat,
    NonBoolInt,
    field_of,
    reject_unknown_type,
    text_or_list,
    union_by_type,
)
from gym_conform.core.responses_items import HostedItem, InputItem
from gym_conform.core.responses_output import OutputItem, OutputMessage, OutputTextPart

HOSTED_TOOL_TYPES = frozenset(
    {
        "web_search", "web_search_preview", "file_search", "code_interpreter", "image_generation", "mcp",
        "computer_use_preview", "local_shell", "custom",
    }
)  # fmt: skip


class FunctionTool(BaseModel):
    """A function tool; its `name` is the resources-server route that runs it."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["function"]
    name: str
    # The OpenAI SDK type NeMo Gym validates with requires the key, though null is allowed.
    parameters: dict[str, Any] | None
    description: str | None = None
    strict: bool | None = None


def _tool_key(value: Any) -> str | None:
    kind = field_of(value, "type")
    if kind == "function":
        return "function"
    return "hosted_tool" if isinstance(kind, str) and kind in HOSTED_TOOL_TYPES else None


if TYPE_CHECKING:  # the static face of a union pydantic builds at run time
    Tool: TypeAlias = FunctionTool | HostedItem
else:
    Tool = union_by_type(
        {"function": FunctionTool, "hosted_tool": HostedItem},
        _tool_key,
        reject_unknown_type("tool", ("function",), hosted=HOSTED_TOOL_TYPES),
        strict=True,
    )


def _tool_choice_tag(value: Any) -> str | None:
    if isinstance(value, str):
        return TAG_PREFIX + "mode"
    if isinstance(value, dict):
        return TAG_PREFIX + "object"
    return None


ToolChoice = Annotated[
    Annotated[Literal["auto", "none", "required"], Tag(TAG_PREFIX + "mode")]
    | Annotated[dict[str, Any], Tag(TAG_PREFIX + "object")],
    Discriminator(
        _tool_choice_tag,
        custom_error_type="tool_choice_type",
        custom_error_message="Input should be 'auto', 'none', 'required' or an object",
    ),
]


if TYPE_CHECKING:  # the static face of a union pydantic builds at run time
    RequestInput: TypeAlias = str | list[InputItem]
else:
    RequestInput = text_or_list(InputItem, "input items")


class ReasoningConfig(BaseModel):
    """The `reasoning` request option."""

    model_config = ConfigDict(extra="forbid")

    effort: Literal["none", "minimal", "low", "medium", "high", "xhigh"] | None = None
    summary: Literal["auto", "concise", "detailed"] | None = None
    generate_summary: Literal["auto", "concise", "detailed"] | None = None


class ContextManagement(BaseModel):
    """One `context_management` entry (0.7.0 mirrors the SDK's request schema; extra keys pass as there)."""

    type: str
    compact_threshold: NonBoolInt | None = None


class ConversationRef(BaseModel):
    """The object form of `conversation`: the id of a stored conversation."""

    id: str


class ModerationConfig(BaseModel):
    """The `moderation` request option."""

    model: str


class StreamOptions(BaseModel):
    """The `stream_options` request option."""

    include_obfuscation: bool | None = None


class ResponseCreateParams(BaseModel):
    """The `responses_create_params` of a row: a non-streaming Responses API request."""

    model_config = ConfigDict(extra="forbid")

    background: bool | None = None
    include: list[str] | None = None
    input: RequestInput
    instructions: str | None = None
    max_output_tokens: NonBoolInt | None = None
    max_tool_calls: NonBoolInt | None = None
    metadata: dict[str, str] | None = None
    model: str | None = None
    parallel_tool_calls: bool | None = None
    previous_response_id: str | None = None
    prompt: dict[str, Any] | None = None
    reasoning: ReasoningConfig | None = None
    service_tier: Literal["auto", "default", "flex", "scale", "priority"] | None = None
    store: bool | None = None
    # Added in 0.7.0 (F7), all optional.
    context_management: list[ContextManagement] | None = None
    conversation: str | ConversationRef | None = None
    moderation: ModerationConfig | None = None
    prompt_cache_key: str | None = None
    prompt_cache_retention: Literal["in_memory", "24h"] | None = None
    safety_identifier: str | None = None
    stream_options: StreamOptions | None = None
    temperature: NonBoolFloat | None = None
    text: dict[str, Any] | None = None
    tool_choice: ToolChoice | None = None
    tools: list[Tool] | None = None
    top_logprobs: NonBoolInt | None = None
    top_p: NonBoolFloat | None = None
    truncation: Literal["auto", "disabled"] | None = None
    user: str | None = None
    stream: Literal[False] | None = None


class Response(BaseModel):
    """A model response object; tolerant of server-specific extra fields."""

    model_config = ConfigDict(extra="allow")

    id: str
    created_at: NonBoolFloat
    model: str
    object: Literal["response"] = "response"
    output: list[OutputItem]
    status: str | None = None
    incomplete_details: dict[str, Any] | None = None
    usage: dict[str, Any] | None = None
    parallel_tool_calls: bool = True
    tool_choice: str | dict[str, Any] = "auto"
    tools: list[dict[str, Any]] = []
    temperature: NonBoolFloat | None = None
    top_p: NonBoolFloat | None = None
    max_output_tokens: NonBoolInt | None = None
    instructions: Any = None
    metadata: dict[str, Any] | None = None

    @property
    def output_text(self) -> str:
        """Return the concatenated text of every output_text part of every message item."""
        return "".join(
            part.text
            for item in self.output
            if isinstance(item, OutputMessage)
            for part in item.content
            if isinstance(part, OutputTextPart)
        )


def _new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def message_item(text: str, *, id: str | None = None) -> dict[str, Any]:
    """Return an assistant message output item holding one output_text part."""
    return {
        "id": id or _new_id("msg"),
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


def function_call_item(
    name: str, arguments: str | Mapping[str, Any], call_id: str, *, id: str | None = None
) -> dict[str, Any]:
    """Return a function_call item; mapping arguments are JSON-encoded as the API requires."""
    item = {
        "type": "function_call",
        "name": name,
        "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments),
        "call_id": call_id,
        "status": "completed",
    }
    if id is not None:
        item["id"] = id
    return item


def function_call_output_item(call_id: str, output: str | list[dict[str, Any]]) -> dict[str, Any]:
    """Return the function_call_output item that answers `call_id`."""
    return {"type": "function_call_output", "call_id": call_id, "output": output}


def reasoning_item(text: str, *, id: str | None = None) -> dict[str, Any]:
    """Return a reasoning item with one summary_text part."""
    return {
        "id": id or _new_id("rs"),
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": text}],
    }


def make_response(output: list[Any], **fields: Any) -> Response:
    """Return a completed `Response` around `output`; `fields` override or add any response field."""
    defaults: dict[str, Any] = {
        "id": _new_id("resp"),
        "created_at": float(int(time.time())),
        "model": "unknown",
        "object": "response",
        "status": "completed",
    }
    return Response.model_validate({**defaults, "output": output, **fields})
