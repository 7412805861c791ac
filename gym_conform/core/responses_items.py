"""Strict Responses API input items and content parts, as a dataset row or a request carries them.

Unknown keys are errors (NeMo Gym ignores them inside items; here they are reported so typos surface).
Where NeMo Gym's own models require a field (a reasoning item's `id`, an output_text part's
`annotations`, ...) it is required here too, since NeMo Gym silently drops a row that lacks it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict
from pydantic_core import PydanticCustomError

from gym_conform.core.responses_base import (
    HOSTED_ITEM_TYPES,
    TrainingFields,
    field_of,
    reject_unknown_type,
    simple_type,
    text_or_list,
    union_by_type,
)

ItemStatus = Literal["in_progress", "completed", "incomplete"]
# A message's phase in a reasoning model's turn (OpenAI Responses; NeMo Gym 0.7.0 replays it).
Phase = Literal["commentary", "final_answer"]
_OUTPUT_PART_TYPES = ("output_text", "refusal")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InputText(_Strict):
    """Text content part."""

    type: Literal["input_text"]
    text: str


class InputImage(_Strict):
    """Image content part (by URL, data URL or file id); the SDK NeMo Gym uses requires `detail`."""

    type: Literal["input_image"]
    detail: Literal["low", "high", "auto"]
    image_url: str | None = None
    file_id: str | None = None


class InputFile(_Strict):
    """File content part."""

    type: Literal["input_file"]
    file_data: str | None = None
    file_id: str | None = None
    file_url: str | None = None
    filename: str | None = None


class InputAudioData(_Strict):
    """Base64 audio and its format."""

    data: str
    format: Literal["mp3", "wav"]


class InputAudio(_Strict):
    """Audio content part."""

    type: Literal["input_audio"]
    input_audio: InputAudioData


class OutputText(_Strict):
    """Assistant text part; NeMo Gym requires `annotations` (usually [])."""

    type: Literal["output_text"]
    text: str
    annotations: list[dict[str, Any]]
    logprobs: list[dict[str, Any]] | None = None


class Refusal(_Strict):
    """Assistant refusal part."""

    type: Literal["refusal"]
    refusal: str


class SummaryText(_Strict):
    """One reasoning summary part."""

    type: Literal["summary_text"]
    text: str


class ReasoningText(_Strict):
    """One raw reasoning content part."""

    type: Literal["reasoning_text"]
    text: str


_INPUT_PARTS = {
    "input_text": InputText,
    "input_image": InputImage,
    "input_file": InputFile,
    "input_audio": InputAudio,
}
_TOOL_OUTPUT_PARTS = {"input_text": InputText, "input_image": InputImage, "input_file": InputFile}
_OUTPUT_PARTS = {"output_text": OutputText, "refusal": Refusal}

if TYPE_CHECKING:  # the static face of a union pydantic builds at run time
    InputPart: TypeAlias = InputText | InputImage | InputFile | InputAudio
else:
    InputPart = union_by_type(
        _INPUT_PARTS,
        simple_type(_INPUT_PARTS),
        reject_unknown_type("content part", tuple(_INPUT_PARTS)),
        strict=True,
    )
if TYPE_CHECKING:  # the static face of a union pydantic builds at run time
    ToolOutputPart: TypeAlias = InputText | InputImage | InputFile
else:
    ToolOutputPart = union_by_type(
        _TOOL_OUTPUT_PARTS,
        simple_type(_TOOL_OUTPUT_PARTS),
        reject_unknown_type("tool output part", tuple(_TOOL_OUTPUT_PARTS)),
        strict=True,
    )
if TYPE_CHECKING:  # the static face of a union pydantic builds at run time
    OutputPart: TypeAlias = OutputText | Refusal
else:
    OutputPart = union_by_type(
        _OUTPUT_PARTS,
        simple_type(_OUTPUT_PARTS),
        reject_unknown_type("output part", tuple(_OUTPUT_PARTS)),
        strict=True,
    )
if TYPE_CHECKING:  # the static face of a union pydantic builds at run time
    MessageContent: TypeAlias = str | list[InputPart]
else:
    MessageContent = text_or_list(InputPart, "content parts")
if TYPE_CHECKING:  # the static face of a union pydantic builds at run time
    ToolOutput: TypeAlias = str | list[ToolOutputPart]
else:
    ToolOutput = text_or_list(ToolOutputPart, "input_text, input_image or input_file parts")


class InputMessage(_Strict, TrainingFields):
    """A message: role plus a string or input parts; `type` may be left out (the "easy" form)."""

    type: Literal["message"] = "message"
    role: Literal["user", "assistant", "system", "developer"]
    content: MessageContent
    id: str | None = None
    status: ItemStatus | None = None
    # NeMo Gym 0.7.0 keeps a reasoning model's message phase when it replays an item (and writes null if unset).
    phase: Phase | None = None


class AssistantOutputMessage(_Strict, TrainingFields):
    """An earlier assistant turn in Responses output shape (output_text / refusal parts, with an id)."""

    type: Literal["message"] = "message"
    role: Literal["assistant"]
    id: str
    content: list[OutputPart]
    status: ItemStatus | None = None
    phase: Phase | None = None


class FunctionCall(_Strict, TrainingFields):
    """A tool call the model made; `arguments` is a JSON string."""

    type: Literal["function_call"]
    call_id: str
    name: str
    arguments: str
    id: str | None = None
    status: ItemStatus | None = None


class FunctionCallOutput(_Strict):
    """A tool result answering the function_call with the same `call_id`."""

    type: Literal["function_call_output"]
    call_id: str
    output: ToolOutput
    id: str | None = None
    status: ItemStatus | None = None


class ReasoningItem(_Strict, TrainingFields):
    """Model reasoning: summary parts, optional raw content or encrypted content."""

    type: Literal["reasoning"]
    id: str
    summary: list[SummaryText]
    content: list[ReasoningText] | None = None
    encrypted_content: str | None = None
    status: ItemStatus | None = None


class HostedItem(BaseModel):
    """A hosted-tool call or result (mcp_call, web_search_call, ...), accepted as given."""

    model_config = ConfigDict(extra="allow")

    type: str


def _is_output_shaped(message: Any) -> bool:
    content = field_of(message, "content")
    return (
        field_of(message, "role") == "assistant"
        and isinstance(content, list)
        and any(field_of(part, "type") in _OUTPUT_PART_TYPES for part in content)
    )


def _input_item_key(value: Any) -> str | None:
    kind = field_of(value, "type")
    if kind is None and field_of(value, "role") is not None:
        kind = "message"
    if not isinstance(kind, str):
        return None
    if kind == "message":
        return "output_message" if _is_output_shaped(value) else "message"
    if kind in HOSTED_ITEM_TYPES:
        return "hosted"
    return kind if kind in ("function_call", "function_call_output", "reasoning") else None


_INPUT_ITEM_TYPES = ("message", "function_call", "function_call_output", "reasoning")
_reject_unknown_input_item = reject_unknown_type("input item", _INPUT_ITEM_TYPES, hosted=HOSTED_ITEM_TYPES)


def _reject_input_item(value: Any) -> Any:
    if isinstance(value, dict) and "type" not in value:
        raise PydanticCustomError(
            "type_missing",
            'input item needs a "role" (a message) or a "type" ({shown})',
            {"shown": ", ".join(_INPUT_ITEM_TYPES), "accepted": ", ".join(_INPUT_ITEM_TYPES)},
        )
    return _reject_unknown_input_item(value)


if TYPE_CHECKING:  # the static face of a union pydantic builds at run time
    InputItem: TypeAlias = (
        InputMessage | AssistantOutputMessage | FunctionCall | FunctionCallOutput | ReasoningItem | HostedItem
    )
else:
    InputItem = union_by_type(
        {
            "message": InputMessage,
            "output_message": AssistantOutputMessage,
            "function_call": FunctionCall,
            "function_call_output": FunctionCallOutput,
            "reasoning": ReasoningItem,
            "hosted": HostedItem,
        },
        _input_item_key,
        _reject_input_item,
        strict=True,
    )
