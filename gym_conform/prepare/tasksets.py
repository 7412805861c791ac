"""0.7.0's taskset materialization: a flat dataset row becomes an Environment Server task (`task_id`, `task_input`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gym_conform.errors import DataError, Location, Problem

# Collector identity kept beside the task, so shards and retries keep their capture keys.
IDENTITY_KEYS = ("_ng_task_index", "_ng_rollout_index", "_ng_rollout_id", "_ng_attempt_index")
# Routing is a run-time choice, never part of a task's input.
_ROUTING_KEYS = frozenset({"agent_ref", "task_source", "skills_ref"})
_ID_KEYS = ("task_id", "problem_id", "instance_id")


def materialize_task(row: dict[str, Any], taskset: str, task_index: int) -> dict[str, Any]:
    """Return the task 0.7.0's collate writes for a flat row; `task_index` is its source row's default id.

    The id is the row's `task_id`, `problem_id` or `instance_id` (first not null, as text), else its
    `_ng_task_index`, else `task_index` (source rows of this type before it in the collation, repeats not
    counted). Raises DataError for a row 0.7.0 refuses.
    """
    if "task_input" in row or isinstance(row.get("task_id"), Mapping):
        raise _refused(
            "task_id" if isinstance(row.get("task_id"), Mapping) else "task_input",
            "a taskset dataset's rows must be flat, but this row is already a materialized task",
            "keep the source rows flat (0.7.0 wraps them into task_id/task_input at collation), or drop `taskset`",
        )
    task_id = next((str(row[key]) for key in _ID_KEYS if row.get(key) is not None), None)
    if task_id is None:
        index = row.get("_ng_task_index", task_index)
        if not isinstance(index, int) or isinstance(index, bool) or index < 0:
            raise _refused(
                "_ng_task_index",
                f"a flat row without a task id needs a non-negative integer _ng_task_index, got {index!r}",
                "add a `task_id` to the row, or fix its _ng_task_index",
            )
        task_id = str(index)
    if not task_id:
        raise _refused("task_id", "a task id must not be empty", "give the row a non-empty task_id")
    task = {
        "task_id": {"taskset": taskset, "task_id": task_id},
        "task_input": {k: v for k, v in row.items() if k not in _ROUTING_KEYS and not k.startswith("_ng_")},
    }
    task.update({key: row[key] for key in IDENTITY_KEYS if key in row})
    return task


def task_row_problem(task_id: dict[str, Any], task_input: Any) -> Problem | None:
    """What is wrong with a materialized row's envelope (0.7.0's `TaskId`: exactly a non-empty `taskset` and
    `task_id`, both strings; `task_input` an object), or None."""
    for key in ("taskset", "task_id"):
        value = task_id.get(key)
        if not isinstance(value, str) or not value:
            return Problem(
                "row.task_id",
                f"task_id.{key} must be a non-empty string, got {value!r}",
                Location(field=f"task_id.{key}"),
                'write the task id as {"taskset": "<environment>:<taskset>", "task_id": "<id>"}',
            )
    extra = sorted(set(task_id) - {"taskset", "task_id"})
    if extra:
        return Problem(
            "row.task_id",
            f"task_id has keys 0.7.0's TaskId does not allow: {', '.join(extra)}",
            Location(field=f"task_id.{extra[0]}"),
            "a task id holds only taskset and task_id; move other keys into task_input",
        )
    if not isinstance(task_input, dict):
        return Problem(
            "row.task_input",
            f"task_input must be an object, got {type(task_input).__name__}",
            Location(field="task_input"),
            "write the task's fields as a JSON object under task_input",
        )
    return None


def _refused(field: str, message: str, hint: str) -> DataError:
    return DataError(message, code="row.taskset", location=Location(field=field), hint=hint)
