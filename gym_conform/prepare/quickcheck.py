"""A fast structural check of `responses_create_params` that also yields the row's standard metric inputs.

`quick_params` recognises the common, plainly valid shapes (a string input or role/content messages, plain
scalar options, function tools, string metadata) and returns None for anything else, which then goes to the
pydantic models in `core/rows.py`. It never rejects a row: a row it accepts is one `check_row` accepts too
(tests/prepare/test_quickcheck.py compares both on generated rows), and rows it does not recognise are
judged by `check_row` alone, so both paths accept and reject exactly the same rows.

Alongside, it counts what the metrics need without `json.dumps`: the words of `json.dumps(params)` are
its runs of spaces plus one (ASCII escaping leaves the space as the only blank character), i.e. one per
`: ` and `, ` the encoder writes plus the runs of spaces inside strings; and the number of strings,
keys included, which `canonical.is_dumps_form` needs.
"""

from __future__ import annotations

import re
from typing import NamedTuple

_ROLES = frozenset({"user", "assistant", "system", "developer"})
_TOOL_KEYS = frozenset({"type", "name", "parameters", "description", "strict"})
_FLOAT_LIMIT = 2**53
_INT_LIMIT = 2**63
_SPACE_RUN = re.compile(" +")

# Optional options and the one JSON kind the quick path takes for each (null is taken for every one).
_NUMBER, _INT, _STR, _BOOL = range(4)
_SCALAR_KINDS = {
    "temperature": _NUMBER,
    "top_p": _NUMBER,
    "max_output_tokens": _INT,
    "max_tool_calls": _INT,
    "top_logprobs": _INT,
    "model": _STR,
    "instructions": _STR,
    "user": _STR,
    "previous_response_id": _STR,
    "background": _BOOL,
    "store": _BOOL,
    "parallel_tool_calls": _BOOL,
}
_OPTION_KEYS = frozenset({*_SCALAR_KINDS, "tools", "metadata"})


class ParamsFacts(NamedTuple):
    """What the metrics take from valid params: tools count (or None), user turns, temperature, words; strings."""

    tools: int | None
    turns: int
    temperature: float | int | None
    words: int
    strings: int


def space_runs(text: str) -> int:
    """Return the number of runs of spaces in `text`."""
    if " " not in text:
        return 0
    if "  " in text:
        return len(_SPACE_RUN.findall(text))
    return text.count(" ")


def quick_params(params: object) -> ParamsFacts | None:
    """Return the metric facts of plainly valid params, or None when the pydantic models must decide."""
    if type(params) is not dict or "input" not in params:
        return None
    # Every member writes ": " and all but one ", ": 2n - 1 spaces; keys here are known names without spaces.
    spaces = 2 * len(params) - 1
    strings = len(params)
    tools = None
    temperature = None
    turns = 0
    for key, value in params.items():
        if key == "input":
            if type(value) is str:
                turns = 1
                spaces += space_runs(value)
                strings += 1
                continue
            if type(value) is not list:
                return None
            if value:
                spaces += len(value) - 1
            for item in value:
                if type(item) is not dict:
                    return None
                size = len(item)
                # Exactly role and content, or those and "type": "message" (the absent keys read as None).
                if size != 2 and (size != 3 or item.get("type") != "message"):
                    return None
                role = item.get("role")
                content = item.get("content")
                if type(content) is not str or type(role) is not str or role not in _ROLES:
                    return None
                if role == "user":
                    turns += 1
                spaces += 2 * size - 1
                strings += 2 * size
                if " " in content:
                    spaces += space_runs(content)
        elif key not in _OPTION_KEYS:
            return None
        elif value is None:
            continue
        elif key == "tools":
            counted = _function_tools(value)
            if counted is None:
                return None
            tools = len(value)
            spaces += counted[0]
            strings += counted[1]
        elif key == "metadata":
            counted = _string_map(value)
            if counted is None:
                return None
            spaces += counted[0]
            strings += counted[1]
        else:
            kind = _SCALAR_KINDS.get(key)
            value_type = type(value)
            if kind == _NUMBER:
                if value_type is not float and (value_type is not int or abs(value) > _FLOAT_LIMIT):
                    return None
                if key == "temperature":
                    temperature = value
            elif kind == _INT:
                if value_type is not int or abs(value) >= _INT_LIMIT:
                    return None
            elif kind == _STR:
                if value_type is not str:
                    return None
                spaces += space_runs(value)
                strings += 1
            elif kind != _BOOL or value_type is not bool:
                return None
    return ParamsFacts(tools, turns, temperature, spaces + 1, strings)


def _function_tools(tools: object) -> tuple[int, int] | None:
    """Return (spaces, strings) of a list of plain function tools, or None for anything else."""
    if type(tools) is not list:
        return None
    spaces = len(tools) - 1 if tools else 0
    strings = 0
    for tool in tools:
        if type(tool) is not dict or not tool.keys() <= _TOOL_KEYS or "parameters" not in tool:
            return None
        if tool.get("type") != "function" or type(tool.get("name")) is not str:
            return None
        spaces += 2 * len(tool) - 1
        strings += len(tool)
        for key, value in tool.items():
            if key == "parameters":
                if value is not None:
                    if type(value) is not dict:
                        return None
                    counted = json_spaces_and_strings(value)
                    spaces += counted[0]
                    strings += counted[1]
            elif key == "strict":
                if value is not None and type(value) is not bool:
                    return None
            elif key == "description":
                if value is not None:
                    if type(value) is not str:
                        return None
                    spaces += space_runs(value)
                    strings += 1
            else:
                spaces += space_runs(value)
                strings += 1
    return spaces, strings


def _string_map(mapping: object) -> tuple[int, int] | None:
    """Return (spaces, strings) of an object whose values are all strings, or None."""
    if type(mapping) is not dict:
        return None
    spaces = 2 * len(mapping) - 1 if mapping else 0
    for key, value in mapping.items():
        if type(value) is not str:
            return None
        spaces += space_runs(key) + space_runs(value)
    return spaces, 2 * len(mapping)


def json_spaces_and_strings(value: object) -> tuple[int, int]:
    """Return (runs of spaces in `json.dumps(value)`, number of strings with keys) of any parsed JSON value."""
    if type(value) is str:
        return space_runs(value), 1
    if type(value) is dict:
        spaces = 2 * len(value) - 1 if value else 0
        strings = len(value)
        for key, item in value.items():
            spaces += space_runs(key)
            counted = json_spaces_and_strings(item)
            spaces += counted[0]
            strings += counted[1]
        return spaces, strings
    if type(value) is list:
        spaces = len(value) - 1 if value else 0
        strings = 0
        for item in value:
            counted = json_spaces_and_strings(item)
            spaces += counted[0]
            strings += counted[1]
        return spaces, strings
    return 0, 0
