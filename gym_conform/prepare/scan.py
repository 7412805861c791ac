"""Read one byte range of a dataset once: parse, validate and measure each row, and write its collated lines.

A range is a whole file (one worker) or one shard of it; either way each physical line is read and parsed
once, whatever `num_repeats` is. Line numbers are counted from the range's start, and problems keep them
relative until `ShardScan.located` knows where the range starts in the file.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import IO, Any

from gym_conform.core.jsonl import JsonLineError, parse_json_line
from gym_conform.core.metrics.dataset_metrics import json_word_count, user_turns
from gym_conform.core.rows import RCP, check_row
from gym_conform.errors import DataError, Location, Problem
from gym_conform.prepare.canonical import DumpsFormProver, count_strings
from gym_conform.prepare.plan import AGENT_SERVER_TYPE
from gym_conform.prepare.prompts import prompt_transform
from gym_conform.prepare.quickcheck import quick_params
from gym_conform.prepare.template import RowTemplate
from gym_conform.prepare.trace import MetricsTrace

BLOCK_BYTES = 1 << 22
# A template that has not matched this many rows in a row is replaced by one learnt from the next row.
RELEARN_AFTER_MISSES = 256
_BOM = b"\xef\xbb\xbf"

Progress = Callable[[int, int], None]


class _NonFinite(ValueError):
    """NaN or Infinity met by the fast decoder; `parse_json_line` then reports it."""


def _reject_constant(name: str) -> Any:
    raise _NonFinite(name)


# The decoder json.loads would use, minus NaN/Infinity; lines it cannot take whole go to parse_json_line.
_scan_json = json.JSONDecoder(parse_constant=_reject_constant).scan_once
_dumps = json.JSONEncoder().encode


def agent_ref(agent: str) -> dict:
    """Return the routing field NeMo Gym adds to every collated row."""
    return {"type": AGENT_SERVER_TYPE, "name": agent}


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


@dataclass
class ShardScan:
    """What one pass over a range found; problem lines count from 1 at the range's first line."""

    lines: int = 0
    rows: int = 0
    output_bytes: int = 0
    trace: MetricsTrace = field(default_factory=MetricsTrace)
    problems: list[tuple[int, Problem | JsonLineError]] = field(default_factory=list)

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


def scan_range(task: RangeTask, sink: IO[bytes] | None, progress: Progress | None = None) -> ShardScan:
    """Validate and measure every row of the range; write each good row `num_repeats` times to `sink`.

    Writing stops at the first problem: a dataset with problems is never collated.
    """
    scan = ShardScan(trace=MetricsTrace(task.known_kinds))
    problems = scan.problems
    trace = scan.trace
    repeats = task.num_repeats
    ref = agent_ref(task.agent)
    suffix = (', "agent_ref": ' + _dumps(ref) + "}\n").encode()
    transform = prompt_transform(task.dataset) if task.dataset is not None else None
    dumps_form = DumpsFormProver().proves
    template: RowTemplate | None = None
    misses = 0
    number = 0
    for batch, size in _line_batches(task.path, task.start, task.end):
        out: list[bytes] = []
        rows_before = scan.rows
        for raw in batch:
            number += 1
            if raw[-1:] == b"\r":
                raw = raw[:-1]
            if raw[:1] != b"{":
                if number == 1 and task.start == 0 and raw.startswith(_BOM):
                    raw = raw[len(_BOM) :]
                if not raw.strip():
                    continue
            if template is not None:
                groups = template.match(raw)
                if groups is not None:
                    template.observe(groups, trace, repeats)
                    scan.rows += 1
                    misses = 0
                    if sink is not None and not problems:
                        # A template only matches lines in json.dumps form: splice agent_ref in.
                        if repeats == 1:
                            out.append(raw[:-1])
                            out.append(suffix)
                        else:
                            out.append((raw[:-1] + suffix) * repeats)
                    continue
                misses += 1
            try:
                text = raw.decode()
            except UnicodeDecodeError:
                text = raw.decode("utf-8", "surrogateescape")
            try:
                row, end = _scan_json(text, 0)
                if end != len(text):
                    row = parse_json_line(text)
            except JsonLineError as error:
                problems.append((number, error))
                continue
            except Exception:
                try:
                    row = parse_json_line(text)
                except JsonLineError as error:
                    problems.append((number, error))
                    continue
            if transform is not None and type(row) is dict:
                try:
                    row = transform(row)
                except DataError as error:
                    problems.append((number, error.problems[0]))
                    continue
            facts = quick_params(row.get(RCP)) if type(row) is dict else None
            if facts is None:
                issues = check_row(row)
                if issues:
                    problems.extend(
                        (number, Problem(i.code, i.message, Location(field=i.field or None), i.hint)) for i in issues
                    )
                    continue
                params = row[RCP]
                tools = params.get("tools")
                tools = None if tools is None else len(tools)
                turns = user_turns(params.get("input"))
                temperature = params.get("temperature")
                words = json_word_count(params)
                strings = None
            else:
                tools, turns, temperature, words, strings = facts
            try:
                trace.observe(row, tools, turns, temperature, words, repeats)
            except DataError as error:
                problems.append((number, error.problems[0]))
                continue
            scan.rows += 1
            if facts is not None and transform is None and (template is None or misses >= RELEARN_AFTER_MISSES):
                if "agent_ref" not in row:
                    template = RowTemplate(row, facts, trace)
                    misses = 0
            if sink is None or problems:
                continue
            if transform is None and "agent_ref" not in row:
                if strings is None:
                    strings = count_strings(row[RCP])
                strings += len(row)
                for key, value in row.items():
                    kind = type(value)
                    if kind is str:
                        strings += 1
                    elif (kind is dict or kind is list) and key != RCP:
                        strings += count_strings(value)
                if dumps_form(raw, strings):
                    if repeats == 1:
                        out.append(raw[:-1])
                        out.append(suffix)
                    else:
                        out.append((raw[:-1] + suffix) * repeats)
                    continue
            row["agent_ref"] = ref
            line = (_dumps(row) + "\n").encode()
            out.append(line if repeats == 1 else line * repeats)
        if out and sink is not None and not problems:
            data = b"".join(out)
            sink.write(data)
            scan.output_bytes += len(data)
        if progress is not None:
            progress(size, scan.rows - rows_before)
    scan.lines = number
    return scan


def _line_batches(path: str, start: int, end: int) -> Iterator[tuple[list[bytes], int]]:
    """Yield the physical lines of bytes [start, end) in batches, without their `\\n`, with the bytes read."""
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise _unreadable(path, exc) from exc
    with handle:
        handle.seek(start)
        left = end - start
        carry = b""
        unreported = 0
        while left > 0:
            try:
                block = handle.read(min(BLOCK_BYTES, left))
            except OSError as exc:
                raise _unreadable(path, exc) from exc
            if not block:
                break
            left -= len(block)
            unreported += len(block)
            data = carry + block if carry else block
            cut = data.rfind(b"\n")
            if cut < 0:
                carry = data
                continue
            carry = data[cut + 1 :]
            yield data[:cut].split(b"\n"), unreported
            unreported = 0
        if carry:
            yield [carry], unreported


def _unreadable(path: str, exc: OSError) -> DataError:
    return DataError(
        f"cannot read dataset file: {exc.strerror or exc}",
        code="data.unreadable",
        location=Location(path=path),
        hint="check that the path exists and is a readable file",
    )
