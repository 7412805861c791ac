"""Tolerant Responses API output items, as model servers return them: every item must carry `type`.

Real servers add fields (vLLM's `async`, `caller`, ...), so extra keys are kept; `as_input_item()` drops
them again when an item is replayed as input of the next request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict

from gym_conform.core.responses_base import (
    HOSTED_ITEM_TYPES,
    TrainingFields,
    TrainingTokens,
    field_of,
    reject_unknown_type,
    simple_type,
    training_tokens_of,
    union_by_type,
)


class _Tolerant(BaseModel):
    model_config = ConfigDict(extra="allow")


class _OutputItemBase(_Tolerant):
    """Common behaviour of response output items."""

    type: str

    @property
    def training_tokens(self) -> TrainingTokens | None:
        """Return the token ids and log-probs when this item carries them."""
        return training_tokens_of(self)

    def as_input_item(self) -> dict[str, Any]:
        """Return this item as a dict for a follow-up request's `input`: server-added extra keys dropped."""
        return _declared_fields(self)


def _declared_fields(value: Any) -> Any:
    if isinstance(value, BaseModel):
        declared = type(value).model_fields
        return {
            name: _declared_fields(getattr(value, name))
            for name in declared
            if name in value.model_fields_set or getattr(value, name) is not None
        }
    if isinstance(value, list):
        return [_declared_fields(v) for v in value]
    return value


class OutputTextPart(_Tolerant):
    """Assistant text part of a response."""

    type: Literal["output_text"]
    text: str
    annotations: list[Any] = []
    logprobs: list[Any] | None = None


class RefusalPart(_Tolerant):
    """Assistant refusal part of a response."""

    type: Literal["refusal"]
    refusal: str


class SummaryPart(_Tolerant):
    """One reasoning summary part of a response."""

    type: Literal["summary_text"] = "summary_text"
    text: str


_RESPONSE_PARTS = {"output_text": OutputTextPart, "refusal": RefusalPart}
if TYPE_CHECKING:  # the static face of a union pydantic builds at run time
    ResponsePart: TypeAlias = OutputTextPart | RefusalPart
else:
    ResponsePart = union_by_type(
        _RESPONSE_PARTS,
        simple_type(_RESPONSE_PARTS),
        reject_unknown_type("output part", tuple(_RESPONSE_PARTS)),
        strict=False,
    )


class OutputMessage(TrainingFields, _OutputItemBase):
    """An assistant message in a response."""

    type: Literal["message"]
    role: Literal["assistant"] = "assistant"
    id: str | None = None
    status: str | None = None
    content: list[ResponsePart] = []


class OutputFunctionCall(TrainingFields, _OutputItemBase):
    """A function call in a response."""

    type: Literal["function_call"]
    call_id: str
    name: str
    arguments: str
    id: str | None = None
    status: str | None = None


class OutputFunctionCallOutput(_OutputItemBase):
    """A tool result in a response (the agent loop appends these)."""

    type: Literal["function_call_output"]
    call_id: str
    output: str | list[Any]
    id: str | None = None
    status: str | None = None


class OutputReasoning(TrainingFields, _OutputItemBase):
    """A reasoning item in a response."""

    type: Literal["reasoning"]
    id: str | None = None
    summary: list[SummaryPart] = []
    content: list[Any] | None = None
    encrypted_content: str | None = None
    status: str | None = None


class OutputHostedItem(_OutputItemBase):
    """A hosted-tool item in a response, kept as given."""

    def as_input_item(self) -> dict[str, Any]:
        """Return the item unchanged: hosted items are loose on the input side too."""
        return self.model_dump(mode="json")


_OUTPUT_ITEMS = {
    "message": OutputMessage,
    "function_call": OutputFunctionCall,
    "function_call_output": OutputFunctionCallOutput,
    "reasoning": OutputReasoning,
}


def _output_item_key(value: Any) -> str | None:
    kind = field_of(value, "type")
    if isinstance(kind, str) and kind in HOSTED_ITEM_TYPES:
        return "hosted"
    return kind if isinstance(kind, str) and kind in _OUTPUT_ITEMS else None


if TYPE_CHECKING:  # the static face of a union pydantic builds at run time
    OutputItem: TypeAlias = (
        OutputMessage | OutputFunctionCall | OutputFunctionCallOutput | OutputReasoning | OutputHostedItem
    )
else:
    OutputItem = union_by_type(
        {**_OUTPUT_ITEMS, "hosted": OutputHostedItem},
        _output_item_key,
        reject_unknown_type("output item", tuple(_OUTPUT_ITEMS), hosted=HOSTED_ITEM_TYPES),
        strict=False,
    )
