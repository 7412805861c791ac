"""Rows against the owning server's `task_data.py` TaskData schema during preparation, with 0.7.0's verdict."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from gym_conform.core.config.loader import search_roots
from gym_conform.core.files import display_path
from gym_conform.errors import Problem
from gym_conform.prepare.plan import DatasetJob

Echo = Callable[[str], None]
# Located issues printed under `warn` (the report's counts cover the rest).
MAX_SHOWN_WARNINGS = 20


def with_schemas(jobs: Sequence[DatasetJob], setting: str, mode: str, echo: Echo) -> list[DatasetJob]:
    """Keep each job's schema folder when it holds a usable schema and validation is on; say which are skipped."""
    if all(job.schema_dir is None for job in jobs):
        return list(jobs)  # nothing to check: the schema machinery is not even imported
    from gym_conform.core.task_data import TaskSchemaError, effective_validation, load_task_schema

    validation = effective_validation(setting, mode)
    kept = []
    for job in jobs:
        if job.schema_dir is None or validation == "off":
            kept.append(replace(job, schema_dir=None))
            continue
        try:
            schema = load_task_schema(job.schema_dir, roots=search_roots())
        except TaskSchemaError as error:
            # 0.7.0 warns and skips the check for this dataset when the schema module cannot be used.
            echo(f"warning: Skipping task_data validation for {job.schema_dir.name}: {error.render()}")
            schema = None
        kept.append(job if schema is not None else replace(job, schema_dir=None))
    return kept


def judge_task_rows(
    job: DatasetJob,
    rows: int,
    issues: list[tuple[int, list]],
    setting: str,
    mode: str,
    echo: Echo,
) -> list[Problem]:
    """0.7.0's verdict on one file: problems (file:line: field) under `error`, printed lines under `warn`."""
    if job.schema_dir is None:
        return []
    from gym_conform.core.task_data import TaskDataReport, effective_validation

    report = TaskDataReport(job.schema_dir.name, display_path(job.path))
    report.rows = rows - len(issues)
    for line, row_issues in issues:
        report.add(line - 1, row_issues)
    located = [issue.problem(job.display_path, line) for line, row_issues in issues for issue in row_issues]
    outcome = report.outcome(effective_validation(setting, mode))
    if outcome == "ok":
        if report.unknown_keys:
            echo(f"[task_data validation]\n{report.summary()}")
        return []
    echo(f"[task_data validation]\n{report.summary()}")
    if outcome == "fail":
        return located
    for problem in located[:MAX_SHOWN_WARNINGS]:
        echo("warning: " + problem.render())
    if len(located) > MAX_SHOWN_WARNINGS:
        echo(f"warning: ... and {len(located) - MAX_SHOWN_WARNINGS} more task_data issues in {job.display_path}")
    return []
