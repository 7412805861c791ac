"""Hypothesis strategies: model responses a verify() must survive, valid rows, and rows that must be rejected.

Responses follow the Responses API's output schema and cover what real policies produce: nothing at all,
text only, tool calls with odd or invalid JSON arguments and unknown tool names, reasoning only, huge
(~100 KB) and unicode text, and mixes of messages, calls and tool outputs. Rows keep an example row's task
fields and get `responses_create_params` generated from `ResponseCreateParams`; mutated rows break one
field, which both `check_row` and the server must name.
"""

from __future__ import annotations

import functools
import json
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union

from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from gym_conform.checks.server_session import RESPONSE_ENVELOPE
from gym_conform.core.jsonl import RCP
from gym_conform.core.responses import ResponseCreateParams

HUGE_TEXT_CHARS = 100_000
ODD_SNIPPETS = (
    " ", "\n", "\t", "\\boxed{", "}", "{", "\\boxed{}", "\\boxed{\\boxed{1}}", "<think>", "</think>", "[[A=B]]",
    "NaN", "null", "{}", "\x00", "\u202e", "\ufeff", "🙂", "é", "𝔸", "ﷺ", "中文", "\\", '"',
)  # fmt: skip
ODD_ARGUMENTS = ("", "{", "}", "not json", '{"a": NaN}', "[1,", "{'single': 'quotes'}", "null", "[]", '"text"', "0")
UNKNOWN_TOOL_NAMES = ("no_such_tool", "verify", "seed_session", "", "get weather", "../admin", "ツール")
# Fields of ResponseCreateParams whose generic strategy would break NeMo Gym's item and tool unions.
_HAND_WRITTEN = ("input", "tools")
_FIELD_BAD_VALUES: tuple[object, ...] = (True, "text", 1.5, -1, [], {}, {"x": 1}, "maybe", 0)

_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    _json_scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)


def texts(hints: Sequence[str] = ()) -> st.SearchStrategy[str]:
    """Return short texts: row values (plain and boxed), unicode, odd snippets (unclosed braces, control
    characters), concatenations of those, and the empty text. Shrinking still ends at "" (through `st.text`).
    """
    pieces = st.text(max_size=30) | st.sampled_from(ODD_SNIPPETS)
    if hints:
        pieces = st.sampled_from([*hints, *("\\boxed{" + hint + "}" for hint in hints)]) | pieces
    return pieces | st.lists(pieces, min_size=2, max_size=5).map("".join) | st.just("")


def huge_texts() -> st.SearchStrategy[str]:
    """Return ~100 KB texts made of one repeated unit (ASCII, accents, emoji, unbalanced braces)."""
    units = st.sampled_from(["a", "word ", "é", "🙂", "{", "\\boxed{", "}\n"])
    return units.map(lambda unit: (unit * (HUGE_TEXT_CHARS // len(unit) + 1))[:HUGE_TEXT_CHARS])


def arguments(keys: Sequence[str] = (), hints: Sequence[str] = ()) -> st.SearchStrategy[str]:
    """Return function-call arguments: JSON objects (often with the tools' keys), other JSON, and invalid JSON."""
    key = st.text(max_size=8) | st.sampled_from(keys) if keys else st.text(max_size=8)
    value = json_values | st.sampled_from(hints) if hints else json_values
    objects = st.dictionaries(key, value, max_size=4).map(json.dumps)
    return objects | json_values.map(json.dumps) | st.sampled_from(ODD_ARGUMENTS) | st.text(max_size=20)


@dataclass(frozen=True)
class ToolHints:
    """What responses are generated around: known tool names, their argument keys, and row values."""

    names: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    values: tuple[str, ...] = ()


def _message(text: st.SearchStrategy[str]) -> st.SearchStrategy[dict]:
    part = st.builds(lambda t: {"type": "output_text", "text": t, "annotations": []}, text) | st.builds(
        lambda t: {"type": "refusal", "refusal": t}, text
    )
    return st.builds(
        lambda parts: {"id": "msg_1", "type": "message", "role": "assistant", "status": "completed", "content": parts},
        st.lists(part, min_size=1, max_size=3),
    )


def _call(hints: ToolHints, args: st.SearchStrategy[str]) -> st.SearchStrategy[dict]:
    names = st.sampled_from(UNKNOWN_TOOL_NAMES) | st.text(max_size=12)
    if hints.names:
        names = st.sampled_from(hints.names) | names
    return st.builds(
        lambda name, arguments, n: {
            "type": "function_call", "name": name, "arguments": arguments, "call_id": f"call_{n}", "status": "completed"
        },
        names,
        args,
        st.integers(0, 3),
    )  # fmt: skip


def _call_output(text: st.SearchStrategy[str]) -> st.SearchStrategy[dict]:
    return st.builds(
        lambda n, out: {"type": "function_call_output", "call_id": f"call_{n}", "output": out}, st.integers(0, 3), text
    )


def _reasoning(text: st.SearchStrategy[str]) -> st.SearchStrategy[dict]:
    summary = st.lists(st.builds(lambda t: {"type": "summary_text", "text": t}, text), max_size=2)
    return st.builds(lambda parts: {"id": "rs_1", "type": "reasoning", "summary": parts}, summary)


def outputs(hints: ToolHints = ToolHints()) -> st.SearchStrategy[list[dict]]:
    """Return response output lists, simplest first: empty, text only, calls, reasoning only, huge, mixes."""
    text = texts(hints.values)
    message, reasoning = _message(text), _reasoning(text)
    call = _call(hints, arguments(hints.keys, hints.values))
    huge = _message(huge_texts()) | _call(hints, huge_texts().map(lambda t: json.dumps({"text": t})))
    item = message | call | _call_output(text) | reasoning
    return st.one_of(
        st.just([]),
        st.lists(message, min_size=1, max_size=3),
        st.lists(call, min_size=1, max_size=4),
        st.lists(reasoning, min_size=1, max_size=2),
        st.lists(huge, min_size=1, max_size=1),
        st.lists(item, min_size=2, max_size=8),
    )


def responses(hints: ToolHints = ToolHints()) -> st.SearchStrategy[dict]:
    """Return Responses API response objects as JSON, sometimes incomplete (hit max_output_tokens) or with usage."""
    extras = st.sampled_from(
        [
            {},
            {"status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"}},
            # OpenAI's usage object (and so NeMo Gym 0.7.0's) requires the two details objects.
            {
                "usage": {
                    "input_tokens": 7,
                    "input_tokens_details": {"cached_tokens": 0},
                    "output_tokens": 0,
                    "output_tokens_details": {"reasoning_tokens": 0},
                    "total_tokens": 7,
                }
            },
        ]
    )
    return st.builds(lambda output, extra: {**RESPONSE_ENVELOPE, "output": output, **extra}, outputs(hints), extras)


# Rows -----------------------------------------------------------------------------------------------------


def _from_annotation(annotation: Any) -> st.SearchStrategy[Any]:
    """Return a strategy for values of a pydantic field annotation (scalars, Literal, unions, dicts, lists, models)."""
    origin = typing.get_origin(annotation)
    parts = typing.get_args(annotation)
    if origin is Annotated:
        return _from_annotation(parts[0])
    if origin in (Union, types.UnionType):
        return st.one_of([_from_annotation(member) for member in parts])
    if origin is Literal:
        return st.sampled_from(parts)
    if origin is dict:
        return st.dictionaries(st.text(max_size=8), _from_annotation(parts[1]), max_size=3)
    if origin is list:
        return st.lists(_from_annotation(parts[0]), max_size=3)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _model_dicts(annotation)
    simple = {
        type(None): st.none(),
        bool: st.booleans(),
        int: st.integers(0, 2**31),
        float: st.floats(0, 2, allow_nan=False),
        str: st.text(max_size=16),
    }
    return simple.get(annotation, json_values)


def _model_dicts(model: type[BaseModel], **fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict]:
    """Return dicts for `model`: required fields always, optional ones sometimes; `fields` override strategies."""
    required: dict[str, st.SearchStrategy[Any]] = {}
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for name, info in model.model_fields.items():
        strategy = fields[name] if name in fields else _from_annotation(info.annotation)
        (required if info.is_required() else optional)[name] = strategy
    return st.fixed_dictionaries(required, optional=optional)


def _input_items(text: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    content = text | st.lists(st.builds(lambda t: {"type": "input_text", "text": t}, text), min_size=1, max_size=2)
    message = st.fixed_dictionaries(
        {"role": st.sampled_from(["user", "system", "developer", "assistant"]), "content": content},
        optional={"type": st.just("message")},
    )
    return text | st.lists(message, min_size=1, max_size=4)


def _tools() -> st.SearchStrategy[list[dict]]:
    parameters = (
        st.none()
        | st.just({"type": "object", "properties": {}})
        | st.just({"type": "object", "properties": {"x": {"type": "string"}}, "required": ["x"]})
    )
    tool = st.fixed_dictionaries(
        # `strict` is required (it may be null) in OpenAI's function tool, and so in NeMo Gym 0.7.0's.
        {
            "type": st.just("function"),
            "name": st.from_regex(r"[a-z_]{1,12}", fullmatch=True),
            "parameters": parameters,
            "strict": st.none() | st.booleans(),
        },
        optional={"description": st.text(max_size=20)},
    )
    return st.lists(tool, max_size=3)


# Where our row model is looser than NeMo Gym 0.7.0's (OpenAI's typed params), valid rows take values both accept:
# no null where 0.7.0 has a default, OpenAI's `include` names, typed `prompt`, `text`, `tool_choice`.
_INCLUDABLE = ("file_search_call.results", "message.input_image.image_url", "reasoning.encrypted_content")
_AGREED_WITH_070 = {
    "parallel_tool_calls": st.booleans(),
    "tool_choice": st.sampled_from(["none", "auto", "required"])
    | st.builds(lambda name: {"type": "function", "name": name}, st.from_regex(r"[a-z_]{1,12}", fullmatch=True)),
    "include": st.none() | st.lists(st.sampled_from(_INCLUDABLE), max_size=2, unique=True),
    "prompt": st.none() | st.fixed_dictionaries({"id": st.text(min_size=1, max_size=8)}),
    "text": st.none() | st.just({"format": {"type": "text"}}),
    "stream_options": st.none() | st.fixed_dictionaries({}, optional={"include_obfuscation": st.booleans()}),
}


def create_params() -> st.SearchStrategy[dict]:
    """Return valid `responses_create_params` objects generated from the ResponseCreateParams schema."""
    return _model_dicts(
        ResponseCreateParams, input=_input_items(st.text(max_size=20)), tools=_tools(), **_AGREED_WITH_070
    )


def valid_rows(rows: Sequence[dict]) -> st.SearchStrategy[dict]:
    """Return example rows (their task fields kept) with generated `responses_create_params`."""
    return st.builds(lambda row, params: {**row, RCP: params}, st.sampled_from(list(rows)), create_params())


@dataclass(frozen=True)
class Mutation:
    """A row broken in one place: the JSON path that is wrong, what was done, and whether check_row sees it."""

    row: dict
    path: str
    change: str
    in_create_params: bool


@functools.cache
def rejected_field_values() -> dict[str, tuple[Any, ...]]:
    """Return, per optional ResponseCreateParams field, the candidate values the schema rejects at that field."""
    rejected: dict[str, tuple[Any, ...]] = {}
    for name in ResponseCreateParams.model_fields:
        if name in _HAND_WRITTEN:
            continue
        bad = []
        for value in _FIELD_BAD_VALUES:
            try:
                ResponseCreateParams.model_validate({"input": "x", name: value})
            except ValidationError as error:
                if all(item["loc"][:1] == (name,) for item in error.errors()):
                    bad.append(value)
        if bad:
            rejected[name] = tuple(bad)
    return rejected


def _params_mutations(row: dict) -> st.SearchStrategy[Mutation]:
    params = row[RCP]
    rest = {key: value for key, value in params.items() if key != "input"}
    unknown_keys = st.from_regex(r"[a-z][a-z_]{0,11}", fullmatch=True).filter(
        lambda key: key not in ResponseCreateParams.model_fields
    ) | st.sampled_from(["messages", "max_tokens", "response_format", "temprature"])
    fields = rejected_field_values()
    nameless_tool = {"type": "function", "parameters": None}

    def mutate(path: str, change: str, new_params: Any) -> Mutation:
        return Mutation({**row, RCP: new_params}, f"{RCP}{path}", change, True)

    return st.one_of(
        st.just(mutate(".input", "input removed", rest)),
        st.sampled_from([1, 2.5, True, None, {"role": "user"}]).map(
            lambda bad: mutate(".input", f"input set to {json.dumps(bad)}", {**params, "input": bad})
        ),
        unknown_keys.map(lambda key: mutate(f".{key}", f"unknown key {key!r} added", {**params, key: 1})),
        st.sampled_from(sorted(fields)).flatmap(
            lambda name: st.sampled_from(fields[name]).map(
                lambda bad: mutate(f".{name}", f"{name} set to {json.dumps(bad)}", {**params, name: bad})
            )
        ),
        # No message-role mutation: NeMo Gym 0.7.0 accepts a message of any role ("bot", "", "USER", "tool"),
        # so such a row is not broken there.
        st.just(mutate(".tools[0].name", "tool without a name", {**params, "tools": [nameless_tool]})),
        st.sampled_from([[], "text", 1, None, True]).map(lambda bad: mutate("", f"set to {json.dumps(bad)}", bad)),
    )


def _setter(row: dict, name: str) -> Callable[[Any], Mutation]:
    """Return a function that sets `row[name]` to a bad value (one closure per field, not a late-bound loop var)."""
    return lambda bad: Mutation({**row, name: bad}, name, f"{name} set to {json.dumps(bad)}", False)


def mutated_rows(
    rows: Sequence[dict], *, required: Sequence[str] = (), bad_values: dict[str, tuple[Any, ...]] | None = None
) -> st.SearchStrategy[Mutation]:
    """Return rows broken in one field: in `responses_create_params`, or a task field of the server's request
    model (a `required` one removed, or one set to one of its `bad_values`, which that model rejects).
    """
    bad_values = bad_values or {}

    def task_mutations(row: dict) -> list[st.SearchStrategy[Mutation]]:
        found = [
            st.just(Mutation({k: v for k, v in row.items() if k != name}, name, f"{name} removed", False))
            for name in required
            if name in row
        ]
        for name, values in bad_values.items():
            found.append(st.sampled_from(values).map(_setter(row, name)))
        return found

    # Task fields first: Hypothesis draws early branches more often, and they are what differs between servers.
    return valid_rows(rows).flatmap(lambda row: st.one_of(*task_mutations(row), _params_mutations(row)))
