"""0.7.0's taskset materialization: a flat dataset row becomes an Environment Server task (`task_id`, `task_input`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gym_conform.errors import DataError, Location

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


def _refused(field: str, message: str, hint: str) -> DataError:
    return DataError(message, code="row.taskset", location=Location(field=field), hint=hint)
