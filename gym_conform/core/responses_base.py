"""Building blocks of the Responses API models: type-discriminated unions, numbers, token-id fields.

Every union built here picks its one member from the value itself (a callable discriminator), so a
bad item gets errors against the model it was meant to be, or one "unknown type" error, never a pile
of union branches. Discriminator tags start with `TAG_PREFIX` and show up in pydantic error
locations: strip them to get the JSON path. `TAGGED_MODELS` maps the tags of strict unions back to
their models, so an error reader can name the keys a model allows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias, Union

from pydantic import BaseModel, BeforeValidator, Discriminator, Tag, model_serializer, model_validator
from pydantic_core import PydanticCustomError

from gym_conform.core.jsonl import json_type_name

TAG_PREFIX = "~"
TAGGED_MODELS: dict[str, type[BaseModel]] = {}
TRAINING_FIELDS = ("prompt_token_ids", "generation_token_ids", "generation_log_probs")
HOSTED_ITEM_TYPES = frozenset(
    {
        "file_search_call", "web_search_call", "computer_call", "computer_call_output",
        "image_generation_call", "code_interpreter_call", "local_shell_call", "local_shell_call_output",
        "mcp_call", "mcp_list_tools", "mcp_approval_request", "mcp_approval_response",
        "custom_tool_call", "custom_tool_call_output",
    }
)  # fmt: skip


def _reject_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise PydanticCustomError("bool_not_number", "Input should be a number, not a boolean")
    return value


NonBoolFloat = Annotated[float, BeforeValidator(_reject_bool)]
NonBoolInt = Annotated[int, BeforeValidator(_reject_bool)]


def field_of(value: Any, name: str) -> Any:
    """Return `name` from a parsed dict or a model instance (None when absent)."""
    if isinstance(value, dict):
        return value.get(name)
    return getattr(value, name, None)


def union_by_type(
    choices: Mapping[str, Any],
    choose: Callable[[Any], str | None],
    reject: Callable[[Any], Any],
    *,
    strict: bool,
) -> Any:
    """Build a union whose member is `choices[choose(value)]`, anything else going to `reject`.

    `strict` unions register their tags in `TAGGED_MODELS` (used to name the keys a model allows).
    """
    members = [Annotated[model, Tag(TAG_PREFIX + key)] for key, model in choices.items()]
    members.append(Annotated[Any, BeforeValidator(reject), Tag(TAG_PREFIX + "unknown")])
    if strict:
        TAGGED_MODELS.update({TAG_PREFIX + key: model for key, model in choices.items()})
    # The member list is built at run time, which only the subscript form of Union allows.
    members_union: Any = Union[tuple(members)]  # noqa: UP007
    return Annotated[members_union, Discriminator(lambda v: TAG_PREFIX + (choose(v) or "unknown"))]


def simple_type(accepted: Mapping[str, Any]) -> Callable[[Any], str | None]:
    """Return a chooser for `union_by_type` that keys on the value's `type` when it is in `accepted`."""

    def choose(value: Any) -> str | None:
        kind = field_of(value, "type")
        return kind if isinstance(kind, str) and kind in accepted else None

    return choose


def reject_unknown_type(what: str, accepted: Iterable[str], *, hosted: Iterable[str] = ()) -> Callable[[Any], Any]:
    """Return a validator that fails with one clear error naming the accepted `type` values.

    Hosted-tool types are accepted too but only two are named in the message, to keep it short; the
    error's `accepted` context lists every type, comma-separated.
    """
    hosted = sorted(hosted)
    every = ", ".join([*accepted, *hosted])
    shown = ", ".join(accepted)
    if hosted:
        shown += f", or a hosted-tool type such as {hosted[0]} or {hosted[-1]}"

    def reject(value: Any) -> Any:
        if not isinstance(value, dict):
            raise PydanticCustomError(
                "not_an_object", "Input should be an object, got {kind}", {"kind": json_type_name(value)}
            )
        if "type" not in value:
            raise PydanticCustomError(
                "type_missing",
                '{what} needs a "type"; accepted types: {shown}',
                {"what": what, "shown": shown, "accepted": every},
            )
        raise PydanticCustomError(
            "type_unknown",
            "Unknown {what} type {type}; accepted types: {shown}",
            {"what": what, "type": repr(value["type"]), "shown": shown, "accepted": every},
        )

    return reject


def _str_or_list_tag(value: Any) -> str | None:
    if isinstance(value, str):
        return TAG_PREFIX + "text"
    if isinstance(value, list):
        return TAG_PREFIX + "list"
    return None


def text_or_list(item: Any, what: str) -> Any:
    """A string, or a list of `item`, told apart by the value's own type (no union error pile)."""
    return Annotated[
        Annotated[str, Tag(TAG_PREFIX + "text")] | Annotated[list[item], Tag(TAG_PREFIX + "list")],
        Discriminator(
            _str_or_list_tag,
            custom_error_type="string_or_list",
            custom_error_message=f"Input should be a string or a list of {what}",
        ),
    ]


# NeMo-RL sends routed experts either as nested ints or as one opaque string envelope.
if TYPE_CHECKING:  # the static face of a union pydantic builds at run time
    RoutedExperts: TypeAlias = str | list[list[int]]
else:
    RoutedExperts = text_or_list(list[list[NonBoolInt]], "per-token expert lists")


@dataclass(frozen=True)
class TrainingTokens:
    """Token ids and log-probs a training-time model server attaches to a generated item."""

    prompt_token_ids: list[int]
    generation_token_ids: list[int]
    generation_log_probs: list[float]


class TrainingFields(BaseModel):
    """Mixin: optional token-id fields of NeMo Gym's *ForTraining item variants, all three or none."""

    prompt_token_ids: list[NonBoolInt] | None = None
    generation_token_ids: list[NonBoolInt] | None = None
    generation_log_probs: list[NonBoolFloat] | None = None
    routed_experts: RoutedExperts | None = None

    @model_validator(mode="after")
    def _all_or_none(self) -> TrainingFields:
        missing = [name for name in TRAINING_FIELDS if getattr(self, name) is None]
        if missing and (len(missing) < len(TRAINING_FIELDS) or self.routed_experts is not None):
            raise PydanticCustomError(
                "training_fields_incomplete",
                "token-id fields come together: prompt_token_ids, generation_token_ids and "
                "generation_log_probs; missing: {missing}",
                {"missing": ", ".join(missing)},
            )
        return self

    @model_serializer(mode="wrap")
    def _drop_absent_training_fields(self, handler: Callable[[Any], Any]) -> Any:
        # NeMo Gym rejects an item whose token fields are present but null, so absent ones stay absent.
        data = handler(self)
        for name in (*TRAINING_FIELDS, "routed_experts"):
            if isinstance(data, dict) and name in data and data[name] is None:
                del data[name]
        return data

    @property
    def training_tokens(self) -> TrainingTokens | None:
        """Return the token ids and log-probs when this item carries them."""
        return training_tokens_of(self)


def training_tokens_of(item: BaseModel) -> TrainingTokens | None:
    """Return an item's token ids and log-probs, or None when it carries none."""
    prompt, generation, log_probs = (getattr(item, name, None) for name in TRAINING_FIELDS)
    if prompt is None or generation is None or log_probs is None:
        return None
    return TrainingTokens(prompt, generation, log_probs)
