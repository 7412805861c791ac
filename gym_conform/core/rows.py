"""Validate one parsed dataset row: every problem as a JSON path, a message and a hint that names the fix."""

from __future__ import annotations

import difflib
import json
import re
import types
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from gym_conform.core.excerpt import quoted
from gym_conform.core.jsonl import RCP, json_type_name
from gym_conform.core.responses import ResponseCreateParams
from gym_conform.core.responses_base import TAG_PREFIX, TAGGED_MODELS, TRAINING_FIELDS

_EXAMPLE_RCP = '{"responses_create_params": {"input": [{"role": "user", "content": "What is 2+2?"}]}}'
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_QUOTED = re.compile(r"'([^']*)'")

# Keys people bring from Chat Completions, and what the Responses API calls them instead.
_RENAMED_KEYS = {
    "messages": 'rename "messages" to "input" (role/content messages carry over unchanged)',
    "max_tokens": 'use "max_output_tokens"',
    "max_completion_tokens": 'use "max_output_tokens"',
    "response_format": 'use "text": {"format": ...}',
    "reasoning_effort": 'use "reasoning": {"effort": ...}',
    "function": 'Responses tools are flat: {"type": "function", "name": ..., "parameters": {...}}',
    "tool_calls": 'write each call as its own {"type": "function_call", "call_id", "name", "arguments"}',
    "tool_call_id": 'a tool result is its own {"type": "function_call_output", "call_id", "output"} item',
}
_MISSING_HINTS = {
    "input": 'add "input": a string or a list of messages such as [{"role": "user", "content": "..."}]',
    "annotations": 'add "annotations": [] to the output_text part',
    "id": 'add an "id" (any string, e.g. "msg_1" for a message, "rs_1" for reasoning)',
    "parameters": 'add "parameters": a JSON schema such as {"type": "object", "properties": {}}, or null',
    "detail": 'add "detail": "auto" (or "low", "high")',
}
_READABLE_MESSAGES = {
    "model_type": "Input should be an object",
    "model_attributes_type": "Input should be an object",
    "dict_type": "Input should be an object",
    "list_type": "Input should be an array",
    "string_type": "Input should be a string",
}
_TYPE_HINTS = {
    "model_type": "write it as a JSON object {...}",
    "model_attributes_type": "write it as a JSON object {...}",
    "dict_type": "write it as a JSON object {...}",
    "list_type": "write it as a JSON array [...]",
    "string_type": "write it as a JSON string in double quotes",
    "int_type": "use a whole number",
    "int_parsing": "use a whole number",
    "int_from_float": "use a whole number",
    "float_type": "use a number",
    "float_parsing": "use a number",
    "bool_type": "use true or false",
    "bool_parsing": "use true or false",
    "bool_not_number": "use a number such as 0.7; true and false are not numbers",
    "not_an_object": "write each item as a JSON object",
    "tool_choice_type": 'use "auto", "none", "required" or an object like {"type": "function", "name": ...}',
    "training_fields_incomplete": f"give {', '.join(TRAINING_FIELDS)} together, or none of them",
}
_TOKEN_ID_FIELDS = {*TRAINING_FIELDS, "routed_experts"}
# Custom errors whose message already says everything about the value.
_SELF_EXPLAINED = {
    "type_unknown",
    "type_missing",
    "not_an_object",
    "training_fields_incomplete",
    "bool_not_number",
}


@dataclass(frozen=True)
class RowIssue:
    """One problem in one row; `field` is a JSON path from the row root ("" for the whole row)."""

    code: str
    field: str
    message: str
    hint: str | None = None


def check_row(obj: Any) -> list[RowIssue]:
    """Return every problem of one parsed row, or [] when it is valid; extra top-level keys are fine."""
    if not isinstance(obj, dict):
        return [
            RowIssue(
                "row.not_object",
                "",
                f"each line must be a JSON object, got {json_type_name(obj)}",
                f"write each line as an object such as {_EXAMPLE_RCP}",
            )
        ]
    if RCP not in obj:
        return [RowIssue("row.missing_rcp", "", f"ValidationError: {RCP} is missing", _missing_rcp_hint(obj))]
    try:
        ResponseCreateParams.model_validate(obj[RCP])
    except ValidationError as exc:
        return issues_from_validation_error(exc, RCP)
    return []


def _missing_rcp_hint(row: dict[str, Any]) -> str:
    if "input" in row:
        return f'move the top-level "input" into {RCP}: {{"{RCP}": {{"input": ...}}}}'
    if "messages" in row:
        return (
            f'convert the chat-style "messages" into {RCP}.input: {_EXAMPLE_RCP}; role/content '
            'messages carry over unchanged, assistant "tool_calls" become {"type": "function_call", ...} '
            'items and role "tool" messages become {"type": "function_call_output", ...} items'
        )
    return f"Add {RCP}.input to the row, e.g. {_EXAMPLE_RCP}"


def issues_from_validation_error(error: ValidationError, root: str = RCP) -> list[RowIssue]:
    """Turn every error of a `ResponseCreateParams` validation into a `RowIssue` with a path under `root`."""
    return [_issue(detail, root) for detail in error.errors(include_url=False)]


def json_path(root: str, loc: Sequence[int | str]) -> str:
    """Return the JSON path of a pydantic error location under `root`, discriminator tags removed."""
    path = root
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part.startswith(TAG_PREFIX):
            continue
        elif _IDENTIFIER.fullmatch(part):
            path += f".{part}" if path else part
        else:
            path += f"[{json.dumps(part)}]"
    return path


def _issue(detail: Any, root: str) -> RowIssue:
    loc = detail["loc"]
    kind = detail["type"]
    field = json_path(root, loc)
    key = next((part for part in reversed(loc) if isinstance(part, str) and not part.startswith(TAG_PREFIX)), root)
    if kind == "extra_forbidden":
        return RowIssue(
            "row.unknown_key", field, f"ValidationError: unknown key {quoted(key)}", _unknown_key_hint(key, loc)
        )
    if kind == "missing":
        hint = _MISSING_HINTS.get(key, f'add "{key}"')
        return RowIssue("row.schema", field, f"ValidationError: {key} is missing", hint)
    message = _READABLE_MESSAGES.get(kind, detail["msg"])
    if kind not in _SELF_EXPLAINED:
        message += f", got {_show(detail.get('input'))}"
    return RowIssue("row.schema", field, "ValidationError: " + message, _hint(kind, loc, detail))


def _show(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return "an object" if isinstance(value, dict) else "an array"
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    return json.dumps(value)


def _hint(kind: str, loc: Sequence[int | str], detail: Any) -> str | None:
    context = detail.get("ctx") or {}
    if kind == "literal_error":
        if detail.get("input") == "tool" and loc[-1] == "role":
            return _RENAMED_KEYS["tool_call_id"] + ', not a message with role "tool"'
        expected = _QUOTED.findall(context.get("expected", ""))
        return _did_you_mean(detail.get("input"), expected) or f"use one of {context.get('expected')}"
    if kind in ("type_unknown", "type_missing"):
        accepted = context.get("accepted", "").split(", ")
        if kind == "type_missing":
            return f'add a "type", e.g. "type": "{accepted[0]}"' + (
                ', or a "role" to make it a message' if "message" in accepted else ""
            )
        return _did_you_mean(detail["input"].get("type"), accepted) or "use one of the accepted types"
    if kind == "string_type" and loc and loc[0] == "metadata":
        value = detail.get("input")
        return f'metadata values must be strings: write "{_plain(value)}" instead of {json.dumps(value)}'
    if kind == "string_or_list" and loc == ("input",):
        return 'e.g. "input": "What is 2+2?" or "input": [{"role": "user", "content": "What is 2+2?"}]'
    return _TYPE_HINTS.get(kind)


def _plain(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _did_you_mean(value: Any, choices: Sequence[str]) -> str | None:
    if not isinstance(value, str):
        return None
    close = difflib.get_close_matches(value, choices, n=1, cutoff=0.6)
    return f'did you mean "{close[0]}"?' if close else None


def _unknown_key_hint(key: str, loc: Sequence[int | str]) -> str:
    if key in _RENAMED_KEYS:
        return _RENAMED_KEYS[key]
    allowed = _allowed_keys(loc[:-1])
    if not allowed:
        return "remove it"
    return _did_you_mean(key, allowed) or f"remove it; allowed keys here: {', '.join(allowed)}"


def _allowed_keys(parent: Sequence[int | str]) -> list[str]:
    model: type[BaseModel] | None = ResponseCreateParams
    for part in parent:
        if isinstance(part, int):
            continue
        if part.startswith(TAG_PREFIX):
            model = TAGGED_MODELS.get(part)
        elif model is not None:
            model = _field_model(model, part)
    if model is None:
        return []
    # The optional token-id fields are listed last: they are rarely what a typo meant.
    return sorted(model.model_fields, key=lambda name: name in _TOKEN_ID_FIELDS)


def _field_model(model: type[BaseModel], name: str) -> type[BaseModel] | None:
    """Return the model a field holds (through Optional, list and Annotated), or None for anything else."""
    field = model.model_fields.get(name)
    annotation = field.annotation if field is not None else None
    while True:
        origin = get_origin(annotation)
        if origin in (Union, types.UnionType):
            members = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(members) != 1:
                return None
            annotation = members[0]
        elif origin in (list, Annotated):
            annotation = get_args(annotation)[0]
        else:
            break
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
