"""The `fuzz_tools` check: every tool a row offers answers any arguments with a result or a 4xx, never a 5xx or a hang.

For each tool of the example rows' `tools`, arguments are generated from the tool's JSON schema (Hypothesis),
and a fixed set of malformed bodies is sent too: each required argument missing, an extra argument, each
argument with a value of the wrong JSON type, and bodies that are not objects. Each call runs in a session
seeded with a row offering the tool. A 5xx, a hang (no answer within `TOOL_TIMEOUT` seconds) or a 4xx with an
empty body fails, with the request as one JSON line (shrunk, for generated arguments).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from hypothesis import strategies as st

from gym_conform.checks.base import CheckFailed, CheckSkipped
from gym_conform.checks.context import FolderContext
from gym_conform.checks.properties import Violation, run_property
from gym_conform.checks.server_import import client_of, server_or_skip
from gym_conform.checks.server_rows import verifiable_rows
from gym_conform.checks.server_session import row_only
from gym_conform.core.jsonl import RCP
from gym_conform.errors import Location, Problem, ServerError
from gym_conform.server import ServerClient

TOOL_TIMEOUT = 10.0
# Generated calls per tool: a server offers several tools, each needs fewer examples than a whole verify.
EXAMPLES_PER_TOOL = 25
EXTRA_ARGUMENT = "unexpected_argument_gym_conform"
_WRONG_VALUES = {"string": 12345, "integer": "not a number", "number": "not a number", "array": "x", "object": 7}
_HINT = (
    "a tool must answer any arguments a model may send: a result, or a 4xx saying what is wrong (FastAPI answers "
    "422 by itself when the tool declares a pydantic body); paste the request into a unit test to reproduce it"
)
_MAX_DEPTH = 3


def schema_values(schema: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    """Return a strategy for JSON values that fit `schema` (the subset tool schemas use; anything else: any JSON)."""
    if not isinstance(schema, dict):
        return _any_json()
    if "enum" in schema and isinstance(schema["enum"], list) and schema["enum"]:
        return st.sampled_from(schema["enum"])
    if "const" in schema:
        return st.just(schema["const"])
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            return st.one_of([schema_values(option, depth) for option in schema[key]])
    kind = schema.get("type")
    if isinstance(kind, list):
        return st.one_of([schema_values({**schema, "type": one}, depth) for one in kind]) if kind else _any_json()
    if kind == "string":
        return st.text(max_size=int(schema.get("maxLength", 40)))
    if kind == "integer":
        return st.integers(min_value=schema.get("minimum"), max_value=schema.get("maximum"))
    if kind == "number":
        return st.floats(schema.get("minimum"), schema.get("maximum"), allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        items = schema_values(schema.get("items"), depth + 1) if depth < _MAX_DEPTH else st.none()
        return st.lists(items, max_size=5)
    if kind == "object" or "properties" in schema:
        return _objects(schema, depth)
    return _any_json()


def _objects(schema: dict, depth: int) -> st.SearchStrategy[dict]:
    given = schema.get("properties")
    properties = given if isinstance(given, dict) else {}
    required = [name for name in schema.get("required") or [] if name in properties]
    if depth >= _MAX_DEPTH:
        return st.just({})
    values = {name: schema_values(sub, depth + 1) for name, sub in properties.items()}
    optional = {name: strategy for name, strategy in values.items() if name not in required}
    return st.fixed_dictionaries({name: values[name] for name in required}, optional=optional)


def _any_json() -> st.SearchStrategy[Any]:
    scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=20)
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=3), max_leaves=5)


def malformed_bodies(parameters: Any) -> list[tuple[str, Any]]:
    """Return (what, body) for the fixed malformed calls: missing, extra and wrongly typed arguments, non-objects."""
    properties = parameters.get("properties") if isinstance(parameters, dict) else None
    properties = properties if isinstance(properties, dict) else {}
    required = [name for name in (parameters or {}).get("required") or [] if name in properties]
    valid = {name: _example_value(properties[name]) for name in required}
    bodies: list[tuple[str, Any]] = [
        (f"required argument {name!r} missing", _without(valid, name)) for name in required
    ]
    bodies.append((f"an extra argument {EXTRA_ARGUMENT!r}", {**valid, EXTRA_ARGUMENT: 1}))
    for name, sub in properties.items():
        kind = sub.get("type") if isinstance(sub, dict) else None
        if isinstance(kind, str) and kind in _WRONG_VALUES:
            bodies.append((f"argument {name!r} of the wrong type", {**valid, name: _WRONG_VALUES[kind]}))
    bodies += [("a JSON array as the body", []), ("JSON null as the body", None), ("a JSON string as the body", "x")]
    return bodies


def _without(values: dict, name: str) -> dict:
    return {key: value for key, value in values.items() if key != name}


def _example_value(schema: Any) -> Any:
    kind = schema.get("type") if isinstance(schema, dict) else None
    if isinstance(schema, dict) and isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    examples: dict[str, Any] = {"string": "x", "integer": 1, "number": 1.0, "boolean": True, "array": [], "object": {}}
    return examples.get(kind) if isinstance(kind, str) else None


def request_line(name: str, body: Any) -> str:
    """Return one tool call as one JSON line: the method, the route and the body."""
    return json.dumps({"method": "POST", "path": f"/{name}", "body": body}, ensure_ascii=False)


async def call_once(client: ServerClient, row: dict, name: str, body: Any) -> str | None:
    """Seed a session with `row`, call tool `name` with `body`; return what is wrong with the answer, or None."""
    session = client.rollout()
    try:
        await asyncio.wait_for(session.seed_session(row_only(row)), TOOL_TIMEOUT)
    except (ServerError, asyncio.TimeoutError):
        return None  # a seed that fails is the other checks' finding; the tool cannot be judged
    try:
        result = await asyncio.wait_for(session.call_tool(name, body), TOOL_TIMEOUT)
    except asyncio.TimeoutError:
        return f"the tool did not answer within {TOOL_TIMEOUT:g}s (a hang)"
    except ServerError as error:
        return error.message
    if result.status_code >= 500:
        return f"the tool answered HTTP {result.status_code}: {result.text[:500]}"
    if 400 <= result.status_code < 500 and not result.text.strip():
        return f"the tool refused with HTTP {result.status_code} and no message"
    return None


def offered_tools(rows: list[tuple[int, dict]]) -> dict[str, tuple[int, dict, Any]]:
    """Return each function tool the rows offer: name -> (line, first row offering it, its parameters schema)."""
    tools: dict[str, tuple[int, dict, Any]] = {}
    for line, row in rows:
        for tool in row[RCP].get("tools") or []:
            if (
                isinstance(tool, dict)
                and tool.get("type", "function") == "function"
                and isinstance(tool.get("name"), str)
            ):
                tools.setdefault(tool["name"], (line, row, tool.get("parameters")))
    return tools


def check_fuzz_tools(ctx: FolderContext) -> None:
    """Fail for every tool that answers generated or malformed arguments with a 5xx, a hang or a silent 4xx."""
    loaded = server_or_skip(ctx)
    tools = offered_tools(verifiable_rows(ctx, loaded))
    if not tools:
        raise CheckSkipped("no example row offers a function tool")
    client = client_of(ctx)
    shown = ctx.show(ctx.example_path)
    problems: list[Problem] = []
    for name, (line, row, parameters) in tools.items():
        where = Location(shown, line, f"{RCP}.tools[{name}]")
        for what, body in malformed_bodies(parameters):
            wrong = ctx.run_async(call_once(client, row, name, body))
            if wrong is not None:
                message = (
                    f"tool {name} with {what}: {wrong}\n    request, one JSON line:\n    {request_line(name, body)}"
                )
                problems.append(Problem("fuzz_tools.malformed", message, where, _HINT))

        def answers(body: Any, name: str = name, row: dict = row, where: Location = where) -> None:
            wrong = ctx.run_async(call_once(client, row, name, body))
            if wrong is not None:
                raise Violation("fuzz_tools.generated", f"tool {name}: {wrong}", request_line(name, body), where)

        try:
            run_property(
                ctx,
                f"fuzz_tools_{name}",
                schema_values(parameters),
                answers,
                location=where,
                hint=_HINT,
                most_examples=EXAMPLES_PER_TOOL,
            )
        except CheckFailed as failed:
            problems += failed.problems
    if problems:
        raise CheckFailed(problems, summary=f"{len(problems)} tool call(s) broke a tool of {ctx.display}")
