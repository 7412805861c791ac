"""Validate one dataset row's task-owned fields against a `TaskData` schema, with 0.7.0's exact semantics.

Each issue names the JSON path in the row as written (`verifier_metadata.x`, `task_input.task_data.x`)
and the bucket of 0.7.0's per-file report that counts it. 0.7.0 fails a file under
`task_data_validation: error` (what `auto` means in `example_validation` mode) when ANY bucket is
non-empty, unknown keys included, and only prints the report under `warn` (`auto` in `train_preparation`).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ValidationError

from gym_conform.core.jsonl import json_type_name
from gym_conform.errors import Location, Problem

if TYPE_CHECKING:
    from gym_conform.core.task_data.schema import TaskSchema

# Framework-owned top-level row keys (0.7.0's RESERVED_ROW_KEYS); every other key is task-owned.
RESERVED_ROW_KEYS = frozenset(
    {"responses_create_params", "agent_ref", "task_source", "_ng_task_index", "_ng_rollout_index"}
)
LEGACY_METADATA_KEY = "verifier_metadata"
TASK_DATA_ROW_KEY = "task_data"

Bucket = Literal["invalid_row", "conflict", "misplaced", "unknown_key"]
_MAX_DETAIL = 400


@dataclass(frozen=True)
class TaskIssue:
    """One task-data problem of one row.

    `field` is a JSON path into the row as written. `bucket` is the line of 0.7.0's report that counts it:
    `invalid_row` (the row failed validation; `detail` is 0.7.0's own one-line text of the failure),
    `conflict`, `misplaced` or `unknown_key` (those three count `key` per row).
    """

    code: str
    field: str
    message: str
    hint: str | None
    bucket: Bucket
    key: str | None = None
    detail: str = ""

    def problem(self, path: str | None = None, line: int | None = None) -> Problem:
        """The issue as a `Problem` at `path:line: field`."""
        return Problem(self.code, self.message, Location(path, line, self.field or None), self.hint)


def validate_task_row(schema: TaskSchema, row: dict[str, Any]) -> list[TaskIssue]:
    """Every issue of one row, in 0.7.0's order: envelope, conflicts, misplaced, validation, unknown keys.

    `row` is a parsed JSON object (anything else is `core/rows.py`'s `row.not_object`, and gives no issue here).
    """
    if not isinstance(row, dict):
        return []
    issues: list[TaskIssue] = []
    origin: dict[str, str] = {key: _join("", [key]) for key in row}
    home = ""  # where the task fields of this row are written (for keys it lacks)
    materialized = isinstance(row.get("task_id"), Mapping) and "task_input" in row
    if materialized:
        task_input = row.get("task_input")
        if not isinstance(task_input, Mapping):
            return [_envelope("task_input", "task_input", task_input)]
        if TASK_DATA_ROW_KEY in task_input and not isinstance(task_input[TASK_DATA_ROW_KEY], Mapping):
            return [_envelope("task_input.task_data", "task_input.task_data", task_input[TASK_DATA_ROW_KEY])]
        materialized = TASK_DATA_ROW_KEY in task_input
        home = "task_input.task_data" if materialized else "task_input"
        row, origin = _spliced_task_input(task_input, issues)
    if schema.legacy_fields and not materialized and TASK_DATA_ROW_KEY not in row:
        nested = row.get(LEGACY_METADATA_KEY)
        nested_keys = set(nested) if isinstance(nested, dict) else set()
        for key in sorted((row.keys() & schema.legacy_fields) - nested_keys):
            issues.append(_misplaced(key, origin[key]))
    subject, origin = _normalized(row, origin, issues)
    try:
        validated = schema.adapter.validate_python(subject)
    except ValidationError as exc:
        detail = _detail(exc)
        issues.extend(_invalid(err, subject, origin, home, schema, detail) for err in exc.errors(include_url=False))
        return issues
    except Exception as exc:  # a validator raising something else: 0.7.0 counts the row as failed too
        issues.append(_failed(exc))
        return issues
    if isinstance(validated, BaseModel) and type(validated) not in schema.loose_models:
        declared = _declared(type(validated))
        for key in validated.__pydantic_extra__ or {}:
            issues.append(_unknown(key, origin.get(key, _join("", [key])), declared, schema.server))
    return issues


def _spliced_task_input(
    task_input: Mapping[str, Any], issues: list[TaskIssue]
) -> tuple[dict[str, Any], dict[str, str]]:
    """A materialized row's task fields: `task_input.task_data` first, then the other `task_input` keys."""
    nested = task_input.get(TASK_DATA_ROW_KEY, {})
    row = dict(nested)
    origin = {key: _join("task_input.task_data", [key]) for key in nested}
    for key, value in task_input.items():
        if key == TASK_DATA_ROW_KEY:
            continue
        here = _join("task_input", [key])
        if key in row and row[key] != value:
            issues.append(_conflict(key, kept=origin[key], dropped=here, kept_value=row[key], value=value))
        else:
            origin.setdefault(key, here)
            row[key] = value
    return row, origin


def _normalized(
    row: dict[str, Any], origin: dict[str, str], issues: list[TaskIssue]
) -> tuple[dict[str, Any], dict[str, str]]:
    """0.7.0's `normalize_task_fields`: reserved keys dropped, `verifier_metadata` then `task_data` spliced up."""
    fields = {key: value for key, value in row.items() if key not in RESERVED_ROW_KEYS}
    where = dict(origin)
    for container_key in (LEGACY_METADATA_KEY, TASK_DATA_ROW_KEY):
        container = fields.pop(container_key, None)
        base = where.get(container_key, container_key)
        if isinstance(container, dict):
            for key, value in container.items():
                here = _join(base, [key])
                if key in fields and fields[key] != value:
                    issues.append(_conflict(key, kept=where[key], dropped=here, kept_value=fields[key], value=value))
                    continue
                if key not in fields:
                    where[key] = here
                fields[key] = value
        elif container is not None:
            fields[container_key] = container  # malformed: the schema sees (and rejects) it as-is
    return fields, where


def _invalid(
    err: Any, subject: dict[str, Any], origin: dict[str, str], home: str, schema: TaskSchema, detail: str
) -> TaskIssue:
    loc = list(err["loc"])
    kind = err["type"]
    parts = _data_path(loc, subject, missing=kind == "missing")
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        # The error sits on the union; the field to fix is its discriminator key.
        discriminator = str((err.get("ctx") or {}).get("discriminator", "")).strip("'")
        if discriminator.isidentifier():
            parts.append(discriminator)
    if parts:
        head = str(parts[0])
        if head in origin:
            base = origin[head]
        elif head in schema.legacy_fields:
            base = _join(LEGACY_METADATA_KEY, [head])
        else:
            base = _join(home, [head])
        path = _join(base, parts[1:])
    else:
        path = home
    key = str(parts[-1]) if parts else ""
    if kind == "missing":
        message = f"{key} is missing (required by the {schema.server} TaskData schema)"
        where = " inside verifier_metadata" if path.startswith(LEGACY_METADATA_KEY + ".") else ""
        return TaskIssue("task_data.invalid", path, message, f'add "{key}"{where}', "invalid_row", detail=detail)
    if kind == "extra_forbidden":
        message = f"unknown key {key!r}: the {schema.server} TaskData schema forbids undeclared keys"
        hint = "remove it, or declare it in task_data.py"
        return TaskIssue("task_data.unknown_key", path, message, hint, "invalid_row", key=key, detail=detail)
    message = f"{err['msg']}, got {_show(err.get('input'))}"
    type_hint = _hint(kind, err.get("ctx") or {}, err.get("input"))
    return TaskIssue("task_data.invalid", path, message, type_hint, "invalid_row", detail=detail)


def _data_path(loc: list[Any], data: Any, *, missing: bool) -> list[str | int]:
    """The parts of a pydantic error location that are keys or indexes of the data (union tags dropped)."""
    parts: list[str | int] = []
    for index, part in enumerate(loc):
        last = index == len(loc) - 1
        if isinstance(data, dict) and isinstance(part, str) and (part in data or (last and missing)):
            parts.append(part)
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            parts.append(part)
            data = data[part]
        # anything else is a union member's tag (a discriminator value or a type name): not in the row
    return parts


def _join(base: str, parts: list[Any]) -> str:
    """A JSON path: `base.key`, `base[0]`, or `base["odd key"]` for keys that are not identifiers."""
    path = base
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        elif isinstance(part, str) and part.isidentifier():
            path += f".{part}" if path else part
        else:
            path += f"[{json.dumps(part)}]"
    return path


def _envelope(field: str, name: str, value: Any) -> TaskIssue:
    got = type(value).__name__
    return TaskIssue(
        "task_data.envelope",
        field,
        f"{name} must be an object, got {json_type_name(value)}",
        f'write {name} as a JSON object {{"...": ...}} holding the task fields',
        "invalid_row",
        detail=f"{name} must be an object, got {got}",
    )


def _conflict(key: str, *, kept: str, dropped: str, kept_value: Any, value: Any) -> TaskIssue:
    return TaskIssue(
        "task_data.conflict",
        dropped,
        f"{dropped} = {_show(value)} differs from {kept} = {_show(kept_value)}; the row is ambiguous "
        f"(0.7.0 validates {kept} and reports {key!r} as conflicting)",
        f"keep one copy of {key!r}, or give both the same value",
        "conflict",
        key=key,
    )


def _misplaced(key: str, path: str) -> TaskIssue:
    return TaskIssue(
        "task_data.misplaced",
        path,
        f"{key} is read by this server from verifier_metadata, but the row has it only at the top level "
        "(the server will not see it)",
        f'move it into "verifier_metadata": {{"{key}": ...}}',
        "misplaced",
        key=key,
    )


def _unknown(key: str, path: str, declared: list[str], server: str) -> TaskIssue:
    close = difflib.get_close_matches(key, declared, n=1, cutoff=0.75)
    hint = f'did you mean "{close[0]}"?' if close else "declare it in the server's task_data.py, or remove it"
    return TaskIssue(
        "task_data.unknown_key",
        path,
        f"{key!r} is not declared by the {server} TaskData schema (0.7.0 fails example_validation on it)",
        hint,
        "unknown_key",
        key=key,
    )


def _failed(exc: Exception) -> TaskIssue:
    text = str(exc).strip().replace("\n", "; ")
    message = f"{type(exc).__name__}: {text}"
    return TaskIssue("task_data.invalid", "", message, None, "invalid_row", detail=text[:_MAX_DETAIL])


def _detail(exc: Exception) -> str:
    """0.7.0's text for a failed row (its report keeps the first 400 characters of the one-line error)."""
    return str(exc).strip().replace("\n", "; ")[:_MAX_DETAIL]


def _declared(model: type[BaseModel]) -> list[str]:
    names = []
    for name, info in model.model_fields.items():
        names.append(info.alias or name)
    return names


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


_TYPE_HINTS = {
    "string_type": "write it as a JSON string in double quotes",
    "int_type": "use a whole number",
    "int_parsing": "use a whole number",
    "int_from_float": "use a whole number",
    "float_type": "use a number",
    "float_parsing": "use a number",
    "bool_type": "use true or false",
    "bool_parsing": "use true or false",
    "list_type": "write it as a JSON array [...]",
    "dict_type": "write it as a JSON object {...}",
    "model_type": "write it as a JSON object {...}",
    "model_attributes_type": "write it as a JSON object {...}",
}


def _hint(kind: str, ctx: dict[str, Any], value: Any) -> str | None:
    if kind == "literal_error":
        expected = str(ctx.get("expected", ""))
        choices = [c.strip().strip("'\"") for c in expected.replace(" or ", ",").split(",") if c.strip()]
        close = difflib.get_close_matches(str(value), choices, n=1, cutoff=0.6) if isinstance(value, str) else []
        return f'did you mean "{close[0]}"?' if close else f"use one of {expected}"
    if kind == "union_tag_invalid":
        return f"give {ctx.get('discriminator')} one of {ctx.get('expected_tags')}"
    if kind == "union_tag_not_found":
        return f"add {ctx.get('discriminator')}: the key that selects which TaskData variant the row is"
    return _TYPE_HINTS.get(kind)
