"""Checks of a folder's data/: the example rows, the example rollouts, conflict files and example/validation leakage."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gym_conform.checks.base import CheckFailed, CheckSkipped
from gym_conform.checks.context import FolderContext, count_lines
from gym_conform.core.excerpt import excerpt
from gym_conform.core.jsonl import JsonLineError, iter_jsonl_lines, json_type_name, parse_json_line
from gym_conform.core.responses import Response
from gym_conform.core.rows import RowIssue, check_row, issues_from_validation_error
from gym_conform.errors import GymConformError, Location, Problem

# NeMo Gym's CI (`ng_test +should_validate_data=true`) requires exactly this many example rows and rollouts.
EXAMPLE_COUNT = 5


def _counted(ctx: FolderContext) -> bool:
    """Return whether the 5-line rule applies: 0.7.0's CI counts only resources servers' files (or --gym-strict)."""
    return not ctx.is_environment or ctx.settings.strict


def skip_environment_without_examples(ctx: FolderContext) -> None:
    """Skip a check of an environment's data/example.jsonl when its config reads none there (0.7.0 needs none)."""
    try:
        paths = [e.jsonl_fpath for p in ctx.config_files for e in ctx.dataset_entries(p) if e.type == "example"]
    except GymConformError:
        paths = []  # the config check reports a config that does not load
    if any(path and ctx.points_to(path, ctx.example_path) for path in paths):
        return
    elsewhere = [path for path in paths if path]
    if elsewhere:
        raise CheckSkipped(f"this environment's example rows are {elsewhere[0]} (checked with that folder)")
    raise CheckSkipped("this environment declares no example dataset, and 0.7.0 requires none of it")


def _count_problems(
    path: str, count: int, blank_lines: list[int], what: str, code: str, *, counted: bool = True
) -> list[Problem]:
    """Report blank lines and a line count other than 5, counted as NeMo Gym's CI counts them."""
    problems = [
        Problem(
            "data.blank_line",
            f"blank line: NeMo Gym's CI counts it as one of the {what}",
            Location(path, line),
            "delete the blank line",
        )
        for line in blank_lines
    ]
    if counted and count != EXAMPLE_COUNT:
        fix = (
            f"keep exactly {EXAMPLE_COUNT} (usually the first {EXAMPLE_COUNT} of your train data)"
            if count > EXAMPLE_COUNT
            else f"add {what} until there are exactly {EXAMPLE_COUNT}"
        )
        problems.append(
            Problem(
                code,
                f"expected {EXAMPLE_COUNT} {what} but got {count} line(s)",
                Location(path),
                f"{fix}; NeMo Gym's CI counts every line of the file",
            )
        )
    return problems


def check_example_data(ctx: FolderContext) -> None:
    """Fail unless data/example.jsonl has exactly 5 lines, each a row `ng_prepare_data` accepts."""
    scan = ctx.example_scan
    shown = ctx.show(ctx.example_path)
    if not scan.exists and ctx.is_environment:
        skip_environment_without_examples(ctx)
    if not scan.exists:
        raise CheckFailed(
            [
                Problem(
                    "data.example_missing",
                    f"missing: a JSONL file with {EXAMPLE_COUNT} example rows is required for every resources server",
                    Location(shown),
                    f"create it with {EXAMPLE_COUNT} rows, usually the first {EXAMPLE_COUNT} rows of your train data",
                )
            ],
            summary=f"{shown} is missing",
        )
    problems = scan.problems + _count_problems(
        shown, scan.line_count, scan.blank_lines, "example rows", "data.example_count", counted=_counted(ctx)
    )
    if problems:
        bad_rows = len({p.location.line for p in scan.problems})
        parts = [f"{bad_rows} bad row(s)"] if bad_rows else []
        if scan.blank_lines:
            parts.append(f"{len(scan.blank_lines)} blank line(s)")
        if scan.line_count != EXAMPLE_COUNT:
            parts.append(f"{scan.line_count} lines instead of {EXAMPLE_COUNT}")
        raise CheckFailed(problems, summary=f"{shown}: " + ", ".join(parts))


def rollout_issues(obj: Any) -> list[RowIssue]:
    """Return every problem of one parsed rollout line: a verify response with params, response and reward."""
    if not isinstance(obj, dict):
        return [
            RowIssue(
                "rollout.not_object",
                "",
                f"each rollout line must be a JSON object, got {json_type_name(obj)}",
                "write one verify response per line: the row's fields plus `response` and `reward`",
            )
        ]
    issues = check_row(obj)
    if "response" not in obj:
        issues.append(
            RowIssue(
                "rollout.missing_response",
                "response",
                "response is missing",
                "each rollout line is what verify() returned: the row, the model's `response` and the `reward`",
            )
        )
    else:
        try:
            Response.model_validate(obj["response"])
        except ValidationError as error:
            issues += issues_from_validation_error(error, "response")
    if "reward" not in obj:
        issues.append(RowIssue("rollout.missing_reward", "reward", "reward is missing", "add the reward verify() gave"))
    else:
        reward = obj["reward"]
        finite = isinstance(reward, int) or (isinstance(reward, float) and math.isfinite(reward))
        if isinstance(reward, bool) or not finite:
            issues.append(
                RowIssue(
                    "rollout.reward",
                    "reward",
                    f"reward must be a finite number, got {json_type_name(reward)} {excerpt(reward, 40)}",
                    "write the number verify() returned, e.g. 1.0",
                )
            )
    return issues


def _collect_command(ctx: FolderContext) -> str:
    """Return NeMo Gym's commands that produce data/example_rollouts.jsonl for this folder."""
    try:
        entry = ctx.example_dataset
        agent = entry.agent if entry is not None else "<agent>"
        config = ctx.show(ctx.primary_config_file)
    except GymConformError:
        agent, config = "<agent>", "<this folder's config>"
    return (
        f'start the servers with `ng_run "+config_paths=[<model config>,{config}]"`, then run '
        f"`ng_collect_rollouts +agent_name={agent} +input_jsonl_fpath={ctx.show(ctx.example_path)} "
        f"+output_jsonl_fpath={ctx.show(ctx.rollouts_path)} +limit=null`"
    )


def check_example_rollouts(ctx: FolderContext) -> None:
    """Fail unless data/example_rollouts.jsonl has exactly 5 well-formed rollout lines."""
    path = ctx.rollouts_path
    shown = ctx.show(path)
    refused = ctx.refused_read(path)
    if refused is not None:
        raise CheckFailed([refused], summary=f"{refused.location.path} is not read")
    if not path.is_file() and not _counted(ctx):
        skip_environment_without_examples(ctx)
        raise CheckSkipped("0.7.0 requires example rollouts of resources servers only, not of environments")
    if not path.is_file():
        raise CheckFailed(
            [
                Problem(
                    "data.rollouts_missing",
                    "missing: 5 example rollouts are required",
                    Location(shown),
                    _collect_command(ctx),
                )
            ],
            summary=f"{shown} is missing",
        )
    count, blank_lines = count_lines(path)
    problems = _count_problems(
        shown, count, blank_lines, "example rollouts", "data.rollouts_count", counted=_counted(ctx)
    )
    for line, text in iter_jsonl_lines(path):
        try:
            obj = parse_json_line(text)
        except JsonLineError as error:
            problems += error.at(shown, line).problems
            continue
        # Line shapes are strict findings (checks/rules.py): the default set reads only JSON objects, so a
        # default run skips validating every response it would not report.
        issues = rollout_issues(obj) if ctx.settings.strict or not isinstance(obj, dict) else []
        problems += [Problem(i.code, i.message, Location(shown, line, i.field or None), i.hint) for i in issues]
    if problems:
        raise CheckFailed(problems, summary=f"{shown}: {len(problems)} problem(s)")


def check_data_conflicts(ctx: FolderContext) -> None:
    """Fail while data/ holds a `*conflict*` file (NeMo Gym's CI rule)."""
    conflicts = sorted(ctx.data_dir.glob("*conflict*")) if ctx.data_dir.is_dir() else []
    problems = []
    for path in conflicts:
        original = path.name.replace("_conflict", "")
        if original != path.name and original.endswith("_metrics.json"):
            hint = (
                f"it holds metrics recomputed when they differed from {original}: if the change is expected, update "
                f"{original} (--gym-update-metrics for example_metrics.json, else ng_prepare_data "
                "+overwrite_metrics_conflicts=true), then delete this file"
            )
        else:
            hint = "resolve the conflict it records, then delete this file"
        problems.append(
            Problem(
                "data.conflict_file",
                "conflict file: NeMo Gym's CI fails while any data/*conflict* file exists",
                Location(ctx.show(path)),
                hint,
            )
        )
    if problems:
        raise CheckFailed(problems, summary=f"{len(problems)} conflict file(s) in {ctx.show(ctx.data_dir)}")


def fingerprint(row: dict) -> str | None:
    """Return a canonical text of a row's model request; rows with the same one pose the same task."""
    params = row.get("responses_create_params")
    if params is None:
        return None
    return json.dumps(params, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def validation_files(ctx: FolderContext) -> list[Path]:
    """Return the validation datasets the configs declare, plus data/validation.jsonl, without duplicates."""
    paths: list[Path] = []
    for config in ctx.config_files:
        try:
            entries = ctx.dataset_entries(config)
        except GymConformError:
            if config == ctx.primary_config_file:
                raise
            continue  # the config check reports a secondary config that does not load
        paths += [ctx.resolve_data_path(e.jsonl_fpath) for e in entries if e.type == "validation" and e.jsonl_fpath]
    paths.append(ctx.data_dir / "validation.jsonl")
    unique: dict[Path, Path] = {}
    for path in paths:
        if ctx.refused_read(path) is None:  # nothing outside the repository (static level), no FIFO or device
            unique.setdefault(path.resolve(), path)
    return list(unique.values())


def check_leakage(ctx: FolderContext) -> None:
    """Fail when an example row's request is in validation data, or an example or validation task in train data."""
    # Imported here: static_hygiene builds on this module's fingerprint and validation_files.
    from gym_conform.checks.static_hygiene import declared_files, train_overlap_problems

    if not ctx.example_path.is_file():
        raise CheckSkipped("no data/example.jsonl (the example_data check reports it)")
    # Built from the last row backwards, so a request repeated in the examples maps to its first line.
    examples = {fingerprint(row): line for line, row in reversed(ctx.example_rows)}
    if not examples:
        raise CheckSkipped("data/example.jsonl has no valid row to compare")
    files = validation_files(ctx)
    present = [path for path in files if path.is_file()]
    in_train = train_overlap_problems(ctx)
    if not present and in_train is None:
        listed = ", ".join(ctx.show(path) for path in files)
        trains = ", ".join(ctx.show(path) for path in declared_files(ctx, "train"))
        raise CheckSkipped(f"no validation data present locally ({listed}), nor train data ({trains})")
    problems = []
    for path in present:
        for line, text in iter_jsonl_lines(path):
            try:
                row = json.loads(text)
            except ValueError:
                continue  # a malformed validation row is ng_prepare_data's to report
            example_line = examples.get(fingerprint(row)) if isinstance(row, dict) else None
            if example_line is not None:
                problems.append(
                    Problem(
                        "data.leakage",
                        f"the example row at {ctx.show(ctx.example_path)}:{example_line} is also in this validation "
                        "file (same responses_create_params)",
                        Location(ctx.show(path), line),
                        "remove it from the validation data or pick other example rows: example rows usually come "
                        "from train, so a copy in validation means validation scores include training tasks",
                    )
                )
    if in_train is not None and in_train[1]:
        overlaps, total = in_train
        problems += overlaps
        if total > len(overlaps):
            ctx.note(f"{total} train row(s) repeat example or validation tasks; the first {len(overlaps)} are shown")
    if problems:
        raise CheckFailed(problems, summary=f"{len(problems)} example or validation task(s) found in later data")
