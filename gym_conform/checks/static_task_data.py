"""The `task_data` check: every example row fits its server's `task_data.py` `TaskData`, read without running it.

0.7.0's `gym dataset collate +mode=example_validation` validates each row against the schema of the resources
server that owns the dataset (`task_data_validation: auto` is `error` there) and fails on any invalid row,
conflicting, misplaced or undeclared key. The schema is read statically (`core/task_data`): nothing of the
repository runs, and what the reading could not run is listed as a note.
"""

from __future__ import annotations

from pathlib import Path

from gym_conform.checks.base import CheckFailed, CheckSkipped
from gym_conform.checks.context import AGENT_SERVER_TYPE, DatasetEntry, FolderContext
from gym_conform.checks.discovery import RESOURCES_SERVER_TYPE
from gym_conform.checks.static_data import skip_environment_without_examples
from gym_conform.core.jsonl import JsonLineError, iter_jsonl_lines, parse_json_line
from gym_conform.core.task_data import TaskDataReport, TaskSchemaError, effective_validation, load_task_schema
from gym_conform.errors import GymConformError, Problem

EXAMPLE_MODE = "example_validation"


def check_task_data(ctx: FolderContext) -> None:
    """Fail with every task-data problem of data/example.jsonl, each at its line and field."""
    if not ctx.example_path.is_file():
        if ctx.is_environment:
            skip_environment_without_examples(ctx)
        raise CheckSkipped("no data/example.jsonl (the example_data check reports it)")
    try:
        entry = ctx.example_dataset
        config = ctx.config.data
    except GymConformError:
        raise CheckSkipped("the config does not load (the config check reports it)") from None
    setting = str(config.get("task_data_validation", "auto"))
    validation = effective_validation(setting, EXAMPLE_MODE)
    if validation == "off":
        raise CheckSkipped("task_data_validation is off in the config")
    server_dir = owning_server_dir(ctx, entry, config)
    try:
        schema = load_task_schema(server_dir, roots=[ctx.project_root]) if server_dir is not None else None
    except TaskSchemaError as error:
        raise CheckSkipped(
            f"0.7.0 skips task_data validation (with a warning) when the schema does not load: {error.render()}"
        ) from None
    if server_dir is None:
        raise CheckSkipped("no resources server of this checkout owns the example dataset: no row schema to check")
    if schema is None:
        raise CheckSkipped(f"{ctx.show(server_dir)} has no task_data.py: no row schema to check")
    if schema.unchecked:
        first = schema.unchecked[0]
        ctx.note(
            f"{len(schema.unchecked)} construct(s) of {ctx.show(schema.source)} were not run by the static reading "
            f"(first: line {first.line}: {first.message}); it may miss an error the import finds"
        )
    shown = ctx.show(ctx.example_path)
    report = TaskDataReport(schema.server, shown)
    problems: list[Problem] = []
    # Each source line once: 0.7.0 validates the first of its num_repeats copies.
    for index, (line, text) in enumerate(iter_jsonl_lines(ctx.example_path)):
        try:
            row = parse_json_line(text)
        except JsonLineError:
            continue  # the example_data check reports it
        if not isinstance(row, dict):
            continue
        issues = schema.validate_row(row)
        report.add(index, issues)
        problems += [issue.problem(shown, line) for issue in issues]
    if report.outcome(validation) == "fail":
        raise CheckFailed(problems, summary=report.summary())
    if problems:
        ctx.note(f"task_data_validation {validation}: " + report.summary())


def owning_server_dir(ctx: FolderContext, entry: DatasetEntry | None, config: dict) -> Path | None:
    """Return the folder of the resources server that owns the example dataset (whose schema 0.7.0 uses)."""
    implementation = None
    block = config.get(entry.agent) if entry is not None else None
    if isinstance(block, dict):
        if isinstance(block.get(RESOURCES_SERVER_TYPE), dict):
            implementation = next(iter(block[RESOURCES_SERVER_TYPE]), None)
        elif isinstance(block.get(AGENT_SERVER_TYPE), dict):
            fields = next(iter(block[AGENT_SERVER_TYPE].values()), None)
            ref = fields.get("resources_server") if isinstance(fields, dict) else None
            target = config.get(ref.get("name")) if isinstance(ref, dict) else None
            if isinstance(target, dict) and isinstance(target.get(RESOURCES_SERVER_TYPE), dict):
                implementation = next(iter(target[RESOURCES_SERVER_TYPE]), None)
    if implementation is None:
        return None if ctx.is_environment else ctx.folder
    if implementation == ctx.folder.name and not ctx.is_environment:
        return ctx.folder
    candidate = ctx.project_root / RESOURCES_SERVER_TYPE / str(implementation)
    return candidate if candidate.is_dir() else None
