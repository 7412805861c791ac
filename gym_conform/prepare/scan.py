"""Read one byte range of a dataset once: parse, validate and measure each row, and write its collated lines.

A range is a whole file (one worker) or one shard of it; either way each physical line is read and parsed
once, whatever `num_repeats` is. Line numbers are counted from the range's start, and problems keep them
relative until `ShardScan.located` knows where the range starts in the file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

from gym_conform.core.config.loader import search_roots
from gym_conform.core.files import file_identity, open_regular
from gym_conform.core.jsonl import (
    MAX_LINE_BYTES,
    RCP,
    JsonLineError,
    bom_error,
    encoding_error,
    line_too_long,
    lone_surrogate,
    nul_error,
    parse_json_line,
    surrogate_error,
)
from gym_conform.core.metrics.dataset_metrics import json_word_count, user_turns
from gym_conform.errors import DataError, Location, Problem
from gym_conform.prepare.canonical import DumpsFormProver, count_strings
from gym_conform.prepare.plan import AGENT_REF, AGENT_SERVER_TYPE, TASK_SOURCE
from gym_conform.prepare.prompts import prompt_transform
from gym_conform.prepare.quickcheck import quick_params
from gym_conform.prepare.tasksets import materialize_task, task_row_problem
from gym_conform.prepare.template import RowTemplate, parse_lines
from gym_conform.prepare.trace import MetricsTrace

if TYPE_CHECKING:
    from gym_conform.core.rows import RowIssue
    from gym_conform.core.task_data import TaskIssue, TaskSchema

BLOCK_BYTES = 1 << 22
# Bytes a template takes at once, and lines it screens at once when it cannot take them all: enough to spread
# Python's per-call costs, few enough to stay in the CPU cache.
REGION_BYTES = 1 << 16
SCREEN_LINES = 128
# A template that has not matched this many rows in a row is replaced by one learnt from the next row.
RELEARN_AFTER_MISSES = 256
_BOM = b"\xef\xbb\xbf"

Progress = Callable[[int, int], None]


class _NonFinite(ValueError):
    """NaN or Infinity met by the fast decoder; `parse_json_line` then reports it."""


def _reject_constant(name: str) -> Any:
    raise _NonFinite(name)


# The decoder json.loads would use, minus NaN/Infinity; lines it cannot take whole go to parse_json_line.
# scan_once is set by JSONDecoder.__init__ (the C scanner); typeshed does not declare it.
_scan_json: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder(parse_constant=_reject_constant).scan_once  # type: ignore[attr-defined]
_dumps = json.JSONEncoder().encode


def agent_ref(agent: str) -> dict:
    """Return the routing field NeMo Gym 0.5 adds to every collated row."""
    return {"type": AGENT_SERVER_TYPE, "name": agent}


def routing_stamp(routing: str, name: str) -> tuple[str, Any, str | None]:
    """Return (key, value, key dropped first) of the routing member added to every collated row.

    0.7.0 writes `task_source: <declaring instance>` and drops a row's legacy `agent_ref`; 0.5 sets `agent_ref`.
    """
    if routing == TASK_SOURCE:
        return TASK_SOURCE, name, AGENT_REF
    return AGENT_REF, agent_ref(name), None


@dataclass(frozen=True)
class RangeTask:
    """One byte range of a dataset file, starting at a line start, and how to treat its rows."""

    path: str
    start: int
    end: int
    agent: str
    num_repeats: int
    dataset: Any = None
    known_kinds: dict[str, type] = field(default_factory=dict)
    routing: str = AGENT_REF
    max_line_bytes: int = MAX_LINE_BYTES
    # The file's (device, inode, size, mtime) when the run planned its shards: a file replaced or changed
    # since then is refused, not read half old, half new.
    identity: tuple[int, int, int, int] | None = None
    # The folder of the rows' task_data.py schema (loaded, and cached, in the process that scans).
    schema_dir: str | None = None
    # 0.7.0 tasksets: rows materialize into Environment Server tasks; `task_base` + line - 1 is a row's index.
    taskset: str | None = None
    task_base: int = 0


@dataclass
class ShardScan:
    """What one pass over a range found; problem lines count from 1 at the range's first line."""

    lines: int = 0
    rows: int = 0
    output_bytes: int = 0
    trace: MetricsTrace = field(default_factory=MetricsTrace)
    problems: list[tuple[int, Problem | JsonLineError]] = field(default_factory=list)
    # Rows checked against the task_data schema, and the issues of those that have some (by line).
    task_rows: int = 0
    task_issues: list[tuple[int, list[TaskIssue]]] = field(default_factory=list)
    # True when an overlong line ended the scan early: later ranges of the file cannot be placed.
    stopped: bool = False

    def located(self, where: str, lines_before: int) -> list[Problem]:
        """Return the problems placed at file `where`, this range starting after `lines_before` lines."""
        placed: list[Problem] = []
        for line, found in self.problems:
            number = lines_before + line
            if isinstance(found, JsonLineError):
                placed += found.at(where, number).problems
            else:
                placed.append(replace(found, location=replace(found.location, path=where, line=number)))
        return placed


class ByteSink(Protocol):
    """Where a scan writes its collated lines: a binary file, or a worker's in-place shard output."""

    def writelines(self, lines: list[bytes], /) -> None: ...


def scan_range(task: RangeTask, sink: ByteSink | None, progress: Progress | None = None) -> ShardScan:
    """Validate and measure every row of the range; write each good row `num_repeats` times to `sink`.

    Writing stops at the first problem: a dataset with problems is never collated.
    """
    scanner = _Scanner(task, sink is not None)
    scan = scanner.scan
    try:
        for block, size, offset in _blocks(task):
            rows_before = scan.rows
            out = scanner.block(block, offset)
            if out and sink is not None and not scan.problems:
                sink.writelines(out)
                scan.output_bytes += sum(map(len, out))
            if progress is not None:
                progress(size, scan.rows - rows_before)
    except _LineTooLong as long_line:
        scanner.number += 1
        scan.problems.append((scanner.number, line_too_long(task.max_line_bytes, long_line.nul_bytes_read)))
        scan.stopped = True
    scan.lines = scanner.number
    return scan


class _Scanner:
    """One range's scan state: lines are taken in runs by the current template, or one by one when it refuses."""

    def __init__(self, task: RangeTask, writing: bool) -> None:
        self.task = task
        self.scan = ShardScan(trace=MetricsTrace(task.known_kinds))
        self.writing = writing
        self.key, self.ref, self.dropped = routing_stamp(task.routing, task.agent)
        self.suffix = (", " + _dumps(self.key) + ": " + _dumps(self.ref) + "}\n").encode()
        self.transform = prompt_transform(task.dataset) if task.dataset is not None else None
        self.dumps_form = DumpsFormProver().proves
        self.template: RowTemplate | None = None
        self.misses = 0
        self.number = 0
        self.schema = _task_schema(task.schema_dir)
        # Where the lines `_lines` scans start in the file, found only when a problem needs a byte offset.
        self._region_offset = 0
        self._region: list[bytes] = []
        self._index = 0
        self._cursor = (0, 0)

    def block(self, data: bytes, offset: int = 0) -> list[bytes]:
        """Scan newline-separated lines (the last without its newline); return their collated output.

        The lines go by regions of about `REGION_BYTES`: the template takes a whole region at once, or its
        lines are scanned one by one.
        """
        out: list[bytes] = []
        start = 0
        while True:
            cut = data.find(b"\n", start + REGION_BYTES)
            region = data[start:] if cut < 0 else data[start:cut]
            template = self.template
            taken = None if template is None else template.screen_region(region)
            if template is None or taken is None:
                self._region_offset = offset + start
                self._lines(region.split(b"\n"), out)
            else:
                parts, strings, lines = taken
                template.record_region(parts, strings, self.scan.trace, self.task.num_repeats, region)
                if self.schema is not None:
                    self._check_tasks(self.number + 1, parse_lines(region))
                self.scan.rows += lines
                self.number += lines
                self.misses = 0
                if self.writing and not self.scan.problems:
                    if self.task.num_repeats == 1:
                        out.append(template.collated_region(parts, lines, self.suffix))
                    else:
                        self._splice(region.split(b"\n"), out)
            if cut < 0:
                return out
            start = cut + 1

    def _lines(self, lines: list[bytes], out: list[bytes]) -> None:
        """Scan lines one by one, the template taking the runs of lines it can."""
        first = self.number
        total = len(lines)
        self._region, self._cursor = lines, (0, self._region_offset)
        index = 0
        screened_by = None
        screened_end = 0
        while index < total:
            template = self.template
            if template is not None:
                if screened_by is not template or index >= screened_end:
                    # A new template (learnt below) screens the lines left afresh.
                    screened_by, screened_from = template, index
                    taken, parts = template.screen(lines[index : index + SCREEN_LINES])
                    screened_end = index + len(taken)
                end = index
                while end < screened_end and taken[end - screened_from] is not None:
                    end += 1
                if end > index:
                    self._take(
                        template,
                        lines[index:end],
                        parts[index - screened_from : end - screened_from],
                        cast(list[list[str]], taken[index - screened_from : end - screened_from]),  # all taken
                        out,
                        first + index + 1,
                    )
                    index = end
                    self.misses = 0
                    continue
                self.misses += 1
            self.number = first + index + 1
            self._index = index
            self._one(lines[index], out)
            index += 1
        self.number = first + total

    def _take(
        self,
        template: RowTemplate,
        lines: list[bytes],
        parts: list[list[bytes]],
        strings: list[list[str]],
        out: list[bytes],
        number: int,
    ) -> None:
        """Record lines the template took (all in json.dumps form): splice the routing member in."""
        template.record(parts, strings, self.scan.trace, self.task.num_repeats)
        if self.schema is not None:
            self._check_tasks(number, parse_lines(b"\n".join(lines)))
        self.scan.rows += len(lines)
        if self.writing and not self.scan.problems:
            self._splice(lines, out)

    def _task_row(self, number: int, row: dict, out: list[bytes]) -> None:
        """A taskset row: a request is optional (metrics then count the example only); written materialized."""
        problems = self.scan.problems
        tools, turns, temperature, words = None, 0, None, None
        facts = quick_params(row.get(RCP))
        if facts is not None:
            tools, turns, temperature, words, _ = facts
        elif RCP in row and not _check_row(row):
            params = row[RCP]
            tools = None if params.get("tools") is None else len(params["tools"])
            turns, temperature = user_turns(params.get("input")), params.get("temperature")
            words = json_word_count(params)
        try:
            materialized = materialize_task(row, self.task.taskset or "", self.task.task_base + number - 1)
            self.scan.trace.observe(row, tools, turns, temperature, words, self.task.num_repeats)
        except DataError as error:
            problems.append((number, error.problems[0]))
            return
        self.scan.rows += 1
        if self.writing and not problems:
            out.append(((_dumps(materialized) + "\n").encode()) * self.task.num_repeats)

    def _materialized_row(self, number: int, row: dict, out: list[bytes]) -> None:
        """A row that already is a task (`task_id` object + `task_input`): valid without a request (0.7.0)."""
        task_id, task_input = row["task_id"], row["task_input"]
        problem = task_row_problem(task_id, task_input)
        if problem is not None:
            self.scan.problems.append((number, problem))
            return
        self.scan.trace.observe_task(json_word_count(task_input), task_id["taskset"], self.task.num_repeats)
        self.scan.rows += 1
        if self.writing and not self.scan.problems:
            if self.dropped is not None:
                row.pop(self.dropped, None)
            row[self.key] = self.ref
            out.append(((_dumps(row) + "\n").encode()) * self.task.num_repeats)

    def _check_tasks(self, first: int, rows: list[dict]) -> None:
        """Validate rows (lines `first`, `first + 1`, ...) against the task_data schema; keep their issues."""
        assert self.schema is not None
        scan = self.scan
        scan.task_rows += len(rows)
        for offset, row in enumerate(rows):
            issues = self.schema.validate_row(row)
            if issues:
                scan.task_issues.append((first + offset, issues))

    def _splice(self, lines: list[bytes], out: list[bytes]) -> None:
        """Add json.dumps-form lines, each `num_repeats` times, the routing member spliced in before the last "}"."""
        repeats = self.task.num_repeats
        if repeats == 1:
            out.append(self.suffix.join([line[:-1] for line in lines]) + self.suffix)
        else:
            out.extend((line[:-1] + self.suffix) * repeats for line in lines)

    def _one(self, raw: bytes, out: list[bytes]) -> None:
        """Parse, validate, measure and collate one line the template did not take."""
        number = self.number
        problems = self.scan.problems
        if raw[-1:] == b"\r":
            raw = raw[:-1]
        if raw[:1] != b"{":
            if raw.startswith(_BOM):
                problems.append((number, bom_error()))
                return
            if not raw.strip():
                return
        try:
            text = raw.decode()
        except UnicodeDecodeError as exc:
            problems.append((number, encoding_error(raw, exc.start, self._line_offset())))
            return
        try:
            row, end = _scan_json(text, 0)
            if end != len(text):
                row = parse_json_line(text)
        except JsonLineError as error:
            problems.append((number, self._refused(raw, error)))
            return
        except Exception:
            try:
                row = parse_json_line(text)
            except JsonLineError as error:
                problems.append((number, self._refused(raw, error)))
                return
        if b"\\u" in raw:
            lone = lone_surrogate(text)
            if lone is not None:
                problems.append((number, surrogate_error(lone + 1)))
                return
        transform = self.transform
        if transform is not None and type(row) is dict:
            try:
                row = transform(row)
            except DataError as error:
                problems.append((number, error.problems[0]))
                return
        if self.schema is not None and type(row) is dict:
            self._check_tasks(number, [row])
        if self.task.taskset is not None and type(row) is dict:
            self._task_row(number, row, out)
            return
        if type(row) is dict and type(row.get("task_id")) is dict and "task_input" in row:
            self._materialized_row(number, row, out)
            return
        facts = quick_params(row.get(RCP)) if type(row) is dict else None
        if facts is None:
            issues = _check_row(row)
            if issues:
                problems.extend(
                    (number, Problem(i.code, i.message, Location(field=i.field or None), i.hint)) for i in issues
                )
                return
            params = row[RCP]
            tools = params.get("tools")
            tools = None if tools is None else len(tools)
            turns = user_turns(params.get("input"))
            temperature = params.get("temperature")
            words = json_word_count(params)
            strings = None
        else:
            tools, turns, temperature, words, strings = facts
        repeats = self.task.num_repeats
        try:
            self.scan.trace.observe(row, tools, turns, temperature, words, repeats)
        except DataError as error:
            problems.append((number, error.problems[0]))
            return
        self.scan.rows += 1
        if facts is not None and transform is None and (self.template is None or self.misses >= RELEARN_AFTER_MISSES):
            # (A taskset row never gets here: `_task_row` writes it materialized, so no template learns from it.)
            if self.key not in row and self.dropped not in row:
                # A row that gives no template (a `"` in a string) leaves the last one in use a while longer.
                self.template = RowTemplate.learn(row, facts, self.scan.trace) or self.template
                self.misses = 0
        if not self.writing or problems:
            return
        suffix = self.suffix
        if transform is None and self.key not in row and self.dropped not in row:
            if strings is None:
                strings = count_strings(row[RCP])
            strings += len(row)
            for key, value in row.items():
                kind = type(value)
                if kind is str:
                    strings += 1
                elif (kind is dict or kind is list) and key != RCP:
                    strings += count_strings(value)
            if self.dumps_form(raw, strings):
                out.append((raw[:-1] + suffix) * repeats)
                return
        if self.dropped is not None:
            row.pop(self.dropped, None)
        row[self.key] = self.ref
        line = (_dumps(row) + "\n").encode()
        out.append(line if repeats == 1 else line * repeats)

    def _refused(self, raw: bytes, error: JsonLineError) -> JsonLineError:
        """Return the error for a line the parser refused: a NUL byte, with its file offset, says more."""
        return nul_error(raw, self._line_offset()) if b"\x00" in raw else error

    def _line_offset(self) -> int:
        """Return the file offset of the line `_one` is scanning (line `_index` of the current region)."""
        lines, index = self._region, self._index
        at, offset = self._cursor
        if at > index:
            at, offset = 0, self._region_offset
        offset += sum(map(len, lines[at:index])) + index - at
        self._cursor = (index, offset)
        return offset


def _check_row(row: Any) -> list[RowIssue]:
    """`core.rows.check_row`, imported on first use: rows in the shapes `quick_params` knows never need its
    pydantic models, whose import is a tenth of the start-up."""
    from gym_conform.core.rows import check_row

    return check_row(row)


def _task_schema(schema_dir: str | None) -> TaskSchema | None:
    """The schema of a folder, read statically (the caller has already reported a folder that has none)."""
    if schema_dir is None:
        return None
    from gym_conform.core.task_data import TaskSchemaError, load_task_schema

    try:
        return load_task_schema(Path(schema_dir), roots=search_roots())
    except TaskSchemaError:
        return None


class _LineTooLong(Exception):
    """A line longer than the range's `max_line_bytes` (or NUL bytes without a line end): the scan ends there."""

    def __init__(self, nul_bytes_read: int = 0) -> None:
        super().__init__("line too long")
        self.nul_bytes_read = nul_bytes_read


def _blocks(task: RangeTask) -> Iterator[tuple[bytes, int, int]]:
    """Yield bytes [start, end) as blocks of whole lines (without the last `\\n`), bytes read, and file offset.

    Raise `_LineTooLong` once a line is known to exceed the limit, having read at most about the limit: blocks
    are never larger than the limit, so a longer line always spans blocks and is measured where it ends.
    """
    path, limit = task.path, task.max_line_bytes
    try:
        handle = open_regular(path, "dataset file")
    except OSError as exc:
        raise _unreadable(path, exc) from exc
    with handle:
        if task.identity is not None and file_identity(os.fstat(handle.fileno())) != task.identity:
            raise _changed(path)
        handle.seek(task.start)
        left = task.end - task.start
        offset = task.start
        carry: list[bytes] = []
        carried = 0
        unreported = 0
        size = min(BLOCK_BYTES, limit)
        while left > 0:
            try:
                block = handle.read(min(size, left))
            except OSError as exc:
                raise _unreadable(path, exc) from exc
            if not block:
                raise _changed(path)
            left -= len(block)
            unreported += len(block)
            cut = block.rfind(b"\n")
            if cut < 0:
                carried += len(block)
                carry.append(block)
                if b"\x00" in block:
                    # A NUL byte is never valid JSONL, and a run of them without a line end (a sparse or
                    # preallocated file) could go on for gigabytes: refuse now, without reading on.
                    raise _LineTooLong(carried)
                if carried > limit:
                    raise _LineTooLong()
                continue
            if carried and carried + block.find(b"\n") > limit:
                raise _LineTooLong()
            data = b"".join([*carry, block[:cut]]) if carry else block[:cut]
            yield data, unreported, offset
            offset += len(data) + 1
            rest = len(block) - cut - 1
            carry, carried = ([block[cut + 1 :]] if rest else []), rest
            unreported = 0
        if carried:
            yield b"".join(carry), unreported, offset


def _changed(path: str) -> DataError:
    return DataError(
        "the dataset file changed (or was replaced or truncated) while it was being read",
        code="data.changed",
        location=Location(path=path),
        hint="rerun once nothing else writes the file; nothing was written by this run",
    )


def _unreadable(path: str, exc: OSError) -> DataError:
    return DataError(
        f"cannot read dataset file: {exc.strerror or exc}",
        code="data.unreadable",
        location=Location(path=path),
        hint="check that the path exists and is a readable file (was it moved or removed while the command ran?)",
    )
