"""NeMo Gym 0.7.0's per-server `task_data.py` row schemas: read without running them, and rows validated.

`load_task_schema(server_dir)` reads the folder's schema (statically: no repository code runs);
`schema.validate_row(row)` gives `TaskIssue`s, and `issue.problem(path, line)` a `file:line: field` Problem.
"""

from gym_conform.core.task_data.notes import TaskSchemaError, UncheckedNote
from gym_conform.core.task_data.report import TaskDataReport, effective_validation
from gym_conform.core.task_data.schema import TaskSchema, load_task_schema
from gym_conform.core.task_data.static_reader import clear_cache
from gym_conform.core.task_data.validate import RESERVED_ROW_KEYS, TaskIssue

__all__ = [
    "RESERVED_ROW_KEYS",
    "TaskDataReport",
    "TaskIssue",
    "TaskSchema",
    "TaskSchemaError",
    "UncheckedNote",
    "clear_cache",
    "effective_validation",
    "load_task_schema",
]
