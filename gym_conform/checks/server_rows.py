"""The `row_fields` check (every example row has the fields verify and seed_session declare) and `fuzz_rows`.

`fuzz_rows` generates rows from the row schema: valid ones must pass `check_row`, the server's request
model and seed_session; rows broken in one field must be rejected by `check_row` (create params) and by
the server with HTTP 422, each naming the broken field.
"""

from __future__ import annotations

import inspect
import json
import typing
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from gym_conform.checks.base import CheckFailed, CheckSkipped
from gym_conform.checks.context import FolderContext
from gym_conform.checks.properties import Violation, run_property
from gym_conform.checks.server_import import client_of, code_location, server_or_skip
from gym_conform.checks.server_session import RESPONSE, payload_line, response_json
from gym_conform.checks.strategies import Mutation, mutated_rows, valid_rows
from gym_conform.core.excerpt import excerpt
from gym_conform.core.jsonl import RCP
from gym_conform.core.rows import check_row, json_path
from gym_conform.errors import Location, Problem, ServerError
from gym_conform.server import BaseSeedSessionRequest, LoadedServer, ResourcesServer

NEMO_GYM_FIELDS = frozenset({RCP, RESPONSE})
# Values tried on each task field; those the request model rejects become mutations that must get a 422.
_CANDIDATE_BAD_VALUES: tuple[object, ...] = (None, [], {}, "", "text", 0, 1.5, True, {"x": 1})
MALFORMED_HINT = (
    "paste the row into tests/verifier_cases.jsonl as the request of a case "
    '{"name": "...", "kind": "malformed", "request": <row>, "expected_error": "<field name>"}, '
    "or into a unit test, to reproduce it; FastAPI answers 422 by itself when verify declares its body model"
)
VALID_HINT = (
    "NeMo Gym accepts this row (`input` may be a string or a list of items; most create params are optional): "
    "make the request model and seed_session accept it, and paste the row into a unit test to reproduce it"
)


def seed_request_model(server: ResourcesServer) -> type[BaseModel] | None:
    """Return the body class seed_session declares, or None when it declares none beyond the base."""
    seed = type(server).seed_session
    try:
        hints = typing.get_type_hints(seed)
    except Exception:
        # An annotation that cannot be resolved by name: fall back to the ones that are already classes.
        hints = {k: v for k, v in getattr(seed, "__annotations__", {}).items() if isinstance(v, type)}
    for name in inspect.signature(seed).parameters:
        model = hints.get(name)
        if isinstance(model, type) and issubclass(model, BaseModel) and model is not BaseSeedSessionRequest:
            return model
    return None


def task_fields(model: type[BaseModel]) -> dict[str, FieldInfo]:
    """Return a request model's row fields beyond `responses_create_params` and `response`, by JSON key."""
    return {info.alias or name: info for name, info in model.model_fields.items() if name not in NEMO_GYM_FIELDS}


def type_name(annotation: Any) -> str:
    """Return a field's type as people write it: str, list[int], int | None."""
    if isinstance(annotation, type) and not typing.get_args(annotation):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def request_errors(model: type[BaseModel], row: dict) -> list[ErrorDetails]:
    """Return the model's validation errors for the row as a verify request (errors in the response excluded)."""
    request = {**row, RESPONSE: response_json([])}
    try:
        model.model_validate(request)
    except ValidationError as error:
        return [item for item in error.errors(include_url=False) if item["loc"][:1] != (RESPONSE,)]
    return []


def field_errors(model: type[BaseModel], row: dict) -> list[ErrorDetails]:
    """Return the model's validation errors for the row's task fields (create params are example_data's)."""
    return [item for item in request_errors(model, row) if item["loc"][:1] != (RCP,)]


def verifiable_rows(ctx: FolderContext, loaded: LoadedServer) -> list[tuple[int, dict]]:
    """Return the (line, row) of the valid example rows that verify's and seed_session's request models accept."""
    model = loaded.server.verify_request_model()
    seed_model = seed_request_model(loaded.server)
    return [
        (line, row)
        for line, row in ctx.example_rows
        if not field_errors(model, row) and (seed_model is None or not _seed_errors(seed_model, row))
    ]


def verifiable_rows_or_skip(ctx: FolderContext, loaded: LoadedServer) -> list[tuple[int, dict]]:
    """`verifiable_rows`, or skip the check when there is none (the `row_fields` check says why)."""
    rows = verifiable_rows(ctx, loaded)
    if not rows:
        raise CheckSkipped("no example row has the fields verify requires (see row_fields)")
    return rows


def check_row_fields(ctx: FolderContext) -> None:
    """Fail for every example row that lacks a field verify (or seed_session) requires, or has a wrong type."""
    loaded = server_or_skip(ctx)
    if not ctx.example_rows:
        raise CheckSkipped(f"{ctx.show(ctx.example_path)} has no valid rows to check")
    models: list[tuple[str, type[BaseModel]]] = [("verify", loaded.server.verify_request_model())]
    seed_model = seed_request_model(loaded.server)
    if seed_model is not None:
        models.append(("seed_session", seed_model))
    shown = ctx.show(ctx.example_path)
    problems: list[Problem] = []
    for line, row in ctx.example_rows:
        for reader, model in models:
            problems += _row_problems(row, model, reader, Location(shown, line))
    if problems:
        problems = list(dict.fromkeys(problems))
        raise CheckFailed(problems, summary=f"{len(problems)} row field problem(s) in {shown}")


def _row_problems(row: dict, model: type[BaseModel], reader: str, where: Location) -> list[Problem]:
    fields = task_fields(model)
    problems = []
    for key, info in fields.items():
        if info.is_required() and key not in row:
            problems.append(
                Problem(
                    "row.field_missing",
                    f"missing field '{key}' ({type_name(info.annotation)}), which {reader}() requires",
                    Location(where.path, where.line, key),
                    f'add "{key}" to every row, or give {model.__name__}.{key} a default if {reader}() can '
                    "do without it",
                )
            )
    errors = field_errors(model, row) if reader == "verify" else _seed_errors(model, row)
    for item in errors:
        field = item["loc"][0] if item["loc"] else ""
        if item["type"] == "missing" and item["loc"][1:] == ():
            continue
        declared = type_name(fields[field].annotation) if field in fields else "?"
        problems.append(
            Problem(
                "row.field_type",
                f"{item['msg']}, got {excerpt(item.get('input'), 60)} ({reader}() declares {declared})",
                Location(where.path, where.line, json_path("", item["loc"])),
                f"fix the value in the row, or the type of {model.__name__}.{field} in the server",
            )
        )
    return problems


def _seed_errors(model: type[BaseModel], row: dict) -> list[ErrorDetails]:
    try:
        model.model_validate(row)
    except ValidationError as error:
        return list(error.errors(include_url=False))
    return []


def check_fuzz_rows(ctx: FolderContext) -> None:
    """Fail when a generated valid row is refused, or a row broken in one field is not rejected naming it."""
    loaded = server_or_skip(ctx)
    rows = [row for _, row in verifiable_rows_or_skip(ctx, loaded)]
    client = client_of(ctx)
    model = loaded.server.verify_request_model()
    where = code_location(ctx, loaded, model, model.__name__)
    seed_where = code_location(ctx, loaded, type(loaded.server).seed_session, "seed_session")

    def accepted(row: dict) -> None:
        issues = check_row(row)
        if issues:
            message = f"the row check rejects a valid row at {issues[0].field}: {issues[0].message}"
            raise Violation("fuzz_rows.valid_rejected", message, payload_line(row))
        errors = request_errors(model, row)
        if errors:
            path = json_path("", errors[0]["loc"])
            message = f"{model.__name__} rejects a row generated from it at {path}: {errors[0]['msg']}"
            raise Violation("fuzz_rows.valid_rejected", message, payload_line(row))
        try:
            ctx.run_async(client.rollout().seed_session(row))
        except ServerError as error:
            message = f"seed_session refused a valid row: {error.message}"
            raise Violation("fuzz_rows.seed_failed", message, payload_line(row), seed_where) from None

    def rejected(mutation: Mutation) -> None:
        request = {**mutation.row, RESPONSE: response_json([])}
        if mutation.in_create_params:
            fields = [issue.field for issue in check_row(mutation.row)]
            if not any(names(field, mutation.path) for field in fields):
                message = f"the row check does not name {mutation.path} ({mutation.change}); it names {fields}"
                raise Violation("fuzz_rows.unnamed", message, payload_line(request))
        # call_tool is the raw POST: the status and whole body come back whatever the status.
        answer = ctx.run_async(client.rollout().call_tool("verify", request))
        if answer.status_code != 422:
            message = f"verify answered HTTP {answer.status_code}, not 422, to a row with {mutation.change}"
            raise Violation("fuzz_rows.accepted_broken_row", message, payload_line(request))
        paths = detail_paths(answer.text)
        if not any(names(path, mutation.path) for path in paths):
            message = f"verify's 422 for a row with {mutation.change} names {paths}, not {mutation.path}"
            raise Violation("fuzz_rows.unnamed", message, payload_line(request))

    run_property(ctx, "fuzz_rows.valid", valid_rows(rows), accepted, location=where, hint=VALID_HINT)
    required = [key for key, info in task_fields(model).items() if info.is_required()]
    strategy = mutated_rows(rows, required=required, bad_values=bad_task_values(model, rows[0]))
    run_property(ctx, "fuzz_rows.mutated", strategy, rejected, location=where, hint=MALFORMED_HINT)


def bad_task_values(model: type[BaseModel], row: dict) -> dict[str, tuple[Any, ...]]:
    """Return, per task field of the model, the candidate values it rejects at that field."""
    found = {}
    for key in task_fields(model):
        rejected = tuple(
            value
            for value in _CANDIDATE_BAD_VALUES
            if any(item["loc"][:1] == (key,) for item in field_errors(model, {**row, key: value}))
        )
        if rejected:
            found[key] = rejected
    return found


def names(found: str, path: str) -> bool:
    """Return whether an error at JSON path `found` is about `path` (the path itself or inside it)."""
    return found == path or found.startswith(path + ".") or found.startswith(path + "[")


def _union_tag(part: object) -> bool:
    """Return whether a location part names a union member (`FunctionToolParam`, `literal['a']`), not a key."""
    return isinstance(part, str) and (part[:1].isupper() or "[" in part or "(" in part)


def detail_paths(body: str) -> list[str]:
    """Return the JSON path of every error in a FastAPI 422 body (`{"detail": [{"loc": ["body", ...]}]}`)."""
    try:
        detail = json.loads(body).get("detail")
    except (ValueError, AttributeError):
        return []
    paths = []
    for item in detail if isinstance(detail, list) else []:
        loc = item.get("loc") if isinstance(item, dict) else None
        if isinstance(loc, list) and loc[:1] == ["body"]:
            paths.append(json_path("", [part for part in loc[1:] if not _union_tag(part)]))
    return paths
