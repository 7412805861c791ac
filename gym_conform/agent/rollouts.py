"""Read and write NeMo Gym rollout lines (verify responses plus routing keys), and recover a rollout's row."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard

from gym_conform.core.files import atomic_output
from gym_conform.core.jsonl import JsonLineError, iter_jsonl_lines, json_type_name, parse_json_line
from gym_conform.errors import DataError, Location, Problem, ProblemsFound

TASK_INDEX_KEY = "_ng_task_index"
ROLLOUT_INDEX_KEY = "_ng_rollout_index"
AGENT_REF_KEY = "agent_ref"
NG_PREFIX = "_ng_"
# Keys a verify call adds to the row, whatever the server.
_ADDED_BY_ROLLOUT = ("response", "reward")


@dataclass(frozen=True)
class RolloutRecord:
    """One rollout line as read: its 1-based line number and the parsed object."""

    line: int
    data: dict


def read_rollouts(path: str | os.PathLike[str]) -> list[RolloutRecord]:
    """Read a rollouts JSONL file; every malformed line is reported (file:line: field) in one ProblemsFound.

    A line needs `responses_create_params` and `response` objects with an `output` array; `reward` is
    optional (a hand-written draft has none) but must be a number when present. Lines with or without
    `_ng_task_index`, `_ng_rollout_index` and `agent_ref` (older recordings) are both accepted.
    """
    if not Path(path).is_file():
        raise DataError(
            "no such rollouts file",
            code="rollouts.missing",
            location=Location(path=os.fspath(path)),
            hint="collect rollouts with ng_collect_rollouts (+output_jsonl_fpath=...), or write draft lines "
            "holding a row and a `response` with the model's output items",
        )
    records: list[RolloutRecord] = []
    problems: list[Problem] = []
    for line, text in iter_jsonl_lines(path):
        try:
            value = parse_json_line(text)
        except JsonLineError as error:
            problems += error.at(path, line).problems
            continue
        found = _line_problems(value)
        problems += [Problem("rollouts.line", m, Location(os.fspath(path), line, f), h) for f, m, h in found]
        if not found:
            records.append(RolloutRecord(line, value))
    if problems:
        raise ProblemsFound(problems, summary=f"{len(problems)} problem(s) in {os.fspath(path)}")
    return records


def _line_problems(value: Any) -> list[tuple[str | None, str, str]]:
    """Return (field, message, hint) for every way `value` is not a rollout line."""
    if not isinstance(value, dict):
        return [
            (None, f"a rollout line must be a JSON object, got {json_type_name(value)}", "write one object per line")
        ]
    found: list[tuple[str | None, str, str]] = []
    for key in ("responses_create_params", "response"):
        if not isinstance(value.get(key), dict):
            what = "missing" if key not in value else f"a {json_type_name(value[key])}, not an object"
            found.append((key, f"{key} is {what}", f"every rollout line holds the row's {key} object"))
    response = value.get("response")
    if isinstance(response, dict) and not isinstance(response.get("output"), list):
        found.append(("response.output", "response.output must be an array of items", 'add "output": [...items...]'))
    reward = value.get("reward")
    if "reward" in value and not (_is_number(reward) and math.isfinite(reward)):
        found.append(("reward", f"reward must be a finite number, got {json.dumps(reward)}", "use e.g. 1.0"))
    return found


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def write_rollouts(path: str | os.PathLike[str], rollouts: Iterable[Mapping[str, Any]]) -> None:
    """Replace `path` atomically with one compact UTF-8 JSON line per rollout."""
    with atomic_output(path) as handle:
        for index, rollout in enumerate(rollouts):
            try:
                text = json.dumps(rollout, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
            except ValueError as error:
                raise DataError(
                    f"rollout {index + 1} cannot be written as JSON: {error}",
                    code="rollouts.not_json",
                    location=Location(path=os.fspath(path)),
                    hint="rewards and metrics must be finite numbers (no NaN or Infinity)",
                ) from None
            handle.write(text + "\n")


def rollout_line(
    verify_response: Mapping[str, Any],
    *,
    task_index: int | None = None,
    rollout_index: int | None = None,
    agent_ref: Mapping[str, Any] | None = None,
) -> dict:
    """Return a rollout line: the verify response plus the routing keys that are known."""
    line = dict(verify_response)
    known = {TASK_INDEX_KEY: task_index, ROLLOUT_INDEX_KEY: rollout_index, AGENT_REF_KEY: agent_ref}
    line.update({key: value for key, value in known.items() if value is not None})
    return line


def row_of(rollout: Mapping[str, Any], *, verify_extras: Collection[str] = ()) -> dict:
    """Return the row a rollout was made from: without response, reward, `_ng_*` keys, `verify_extras`, null params.

    `verify_extras` are the keys verify adds besides the reward (e.g. the fields its response model declares
    that its request model does not); the caller knows them, a rollout line does not say.
    """
    drop = set(_ADDED_BY_ROLLOUT) | set(verify_extras)
    row = {k: v for k, v in rollout.items() if k not in drop and not k.startswith(NG_PREFIX)}
    params = row.get("responses_create_params")
    if isinstance(params, dict):
        # A rollout line dumps every create param, unset ones as null; the row it came from left them out, and
        # NeMo Gym 0.7.0 refuses null where it has a default (parallel_tool_calls, tool_choice).
        row["responses_create_params"] = {k: v for k, v in params.items() if v is not None}
    return row
