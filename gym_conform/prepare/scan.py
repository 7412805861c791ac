"""Read one dataset once: validate every row, measure it, and write its collated lines."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO

from gym_conform.core.jsonl import JsonLineError, iter_jsonl_lines, parse_json_line
from gym_conform.core.metrics.dataset_metrics import DatasetMetrics
from gym_conform.core.rows import check_row
from gym_conform.errors import DataError, Location, Problem
from gym_conform.prepare.plan import AGENT_SERVER_TYPE, DatasetJob

RowTransform = Callable[[dict], dict]


@dataclass
class ScanResult:
    """What one pass over a dataset found."""

    job: DatasetJob
    metrics: DatasetMetrics = field(default_factory=DatasetMetrics)
    problems: list[Problem] = field(default_factory=list)
    lines_read: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def agent_ref(agent: str) -> dict:
    """Return the routing field NeMo Gym adds to every collated row."""
    return {"type": AGENT_SERVER_TYPE, "name": agent}


def scan_dataset(job: DatasetJob, sink: IO[str] | None, transform: RowTransform | None = None) -> ScanResult:
    """Validate and measure every row of `job`; write each good row `num_repeats` times to `sink`."""
    result = ScanResult(job)
    repeats = job.num_repeats
    ref = agent_ref(job.agent)
    where = job.display_path
    for line_number, text in iter_jsonl_lines(job.path):
        result.lines_read += 1
        try:
            row = parse_json_line(text)
        except JsonLineError as error:
            result.problems += error.at(where, line_number).problems
            continue
        if transform is not None and isinstance(row, dict):
            try:
                row = transform(row)
            except DataError as error:
                result.problems.append(_at(error.problems[0], where, line_number))
                continue
        issues = check_row(row)
        if issues:
            result.problems.extend(
                Problem(i.code, i.message, Location(where, line_number, i.field or None), i.hint)
                for i in issues
            )
            continue
        try:
            result.metrics.observe_row(row, repeats)
        except DataError as error:
            result.problems.append(_at(error.problems[0], where, line_number))
            continue
        if sink is not None and not result.problems:
            # NeMo Gym re-serializes with json.dumps defaults; agent_ref goes last unless already present.
            row["agent_ref"] = ref
            sink.write((json.dumps(row) + "\n") * repeats)
    return result


def _at(problem: Problem, path: str, line: int) -> Problem:
    """Place a problem found inside one line at that file and line."""
    return Problem(problem.code, problem.message, Location(path, line, problem.location.field), problem.hint)
