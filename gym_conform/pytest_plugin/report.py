"""Outcomes of the check items: the terminal summary table (server x check) and the `--gym-report` JSON report."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from gym_conform.checks.base import Level
from gym_conform.core.files import atomic_write_text
from gym_conform.errors import Problem
from gym_conform.pytest_plugin.items import CheckItem, shown_location

if TYPE_CHECKING:
    from gym_conform.checks.context import FolderContext
    from gym_conform.checks.rules import Waiver
    from gym_conform.live.summary import LiveSummary

REPORT_VERSION = 1
CELLS = {"passed": "pass", "failed": "FAIL", "skipped": "skip", None: "-"}
_METRICS_UPDATE_CODES = frozenset({"metrics.stale", "metrics.missing", "metrics.malformed"})
_SKIP_PREFIX = "Skipped: "


@dataclass
class CheckRecord:
    """One check item and how it ended (None while it has not run)."""

    item: CheckItem
    outcome: str | None = None
    skip_reason: str | None = None

    @property
    def folder(self) -> str:
        """Return the folder's node id, the table's row name."""
        return self.item.context.display

    def to_json(self) -> dict:
        """Return this record as the JSON report writes it."""
        check = self.item.check
        return {
            "id": check.id,
            "nodeid": self.item.nodeid,
            "level": check.level.label,
            "title": check.title,
            "outcome": self.outcome or "not_run",
            "problems": [problem_json(p, self.item.config.rootpath) for p in self.item.problems]
            if self.outcome == "failed"
            else [],
            "skip_reason": self.skip_reason,
            "notes": list(self.item.notes),
        }


def problem_json(problem: Problem, rootpath: Path) -> dict:
    """Return a problem as a flat JSON object; paths below the rootdir are relative to it."""
    location = shown_location(problem.location, rootpath)
    return {
        "code": problem.code,
        "message": problem.message,
        "path": location.path,
        "line": location.line,
        "field": location.field,
        "hint": problem.hint,
    }


class ResultBook:
    """The selected check items of a session, in collection order, with their outcomes."""

    def __init__(self, waivers: list[Waiver] | None = None) -> None:
        self.records: dict[str, CheckRecord] = {}
        self.written_to: Path | None = None
        self.waivers: list[Waiver] = list(waivers or [])

    def add_items(self, items: Iterable[pytest.Item]) -> None:
        """Track every check item among the session's selected items."""
        for item in items:
            if isinstance(item, CheckItem):
                self.records[item.nodeid] = CheckRecord(item)

    def record(self, report: pytest.TestReport) -> None:
        """Fold one phase's report into its item's outcome: any failure fails it, a skip skips it."""
        record = self.records.get(report.nodeid)
        if record is None:
            return
        if report.skipped:
            record.outcome = "skipped"
            record.skip_reason = _skip_reason(report)
        elif report.failed:
            record.outcome = "failed"
        elif report.when == "call" and record.outcome is None:
            record.outcome = "passed"

    def by_folder(self) -> dict[str, list[CheckRecord]]:
        """Return the records grouped per server folder, folders and checks in collection order."""
        grouped: dict[str, list[CheckRecord]] = {}
        for record in self.records.values():
            grouped.setdefault(record.folder, []).append(record)
        return grouped

    def counts(self) -> dict[str, int]:
        """Return how many checks passed, failed, were skipped or did not run."""
        outcomes = [record.outcome or "not_run" for record in self.records.values()]
        return {name: outcomes.count(name) for name in ("passed", "failed", "skipped", "not_run")}

    def to_json(self, level: Level, exitstatus: int) -> dict:
        """Return the JSON report: every server's checks with outcome, problems and skip reason, then a summary."""
        servers = [
            {"folder": folder, "checks": [record.to_json() for record in records]}
            for folder, records in self.by_folder().items()
        ]
        for server, records in zip(servers, self.by_folder().values(), strict=True):
            live = _live_summary(records[0].item.context)
            if live is not None:
                server["live"] = live.to_json()
        summary = {
            "servers": len(servers),
            "checks": len(self.records),
            **self.counts(),
            "exit_status": int(exitstatus),
        }
        report = {"version": REPORT_VERSION, "level": level.label, "servers": servers, "summary": summary}
        if self.waivers:
            report["waivers"] = [waiver.to_json() for waiver in self.waivers]
        return report

    def write(self, path: Path, level: Level, exitstatus: int) -> None:
        """Write the JSON report atomically; a path that cannot be written is a warning, not a crashed session."""
        try:
            atomic_write_text(path, json.dumps(self.to_json(level, exitstatus), indent=2) + "\n")
        except OSError as error:
            warnings.warn(
                pytest.PytestWarning(f"gym-conform: cannot write the JSON report to {path}: {error}"), stacklevel=2
            )
            return
        self.written_to = path

    def table_lines(self, width: int) -> list[str]:
        """Return the server x check table; columns wrap into several blocks to fit `width`.

        server                        config  license  readme  example_data  ...
        resources_servers/alpha       pass    pass     FAIL    pass
        """
        folders = self.by_folder()
        ids = list(dict.fromkeys(record.item.check.id for record in self.records.values()))
        name_width = max([len("server"), *(len(folder) for folder in folders)])
        widths = {check_id: max(len(check_id), 4) for check_id in ids}
        blocks: list[list[str]] = [[]]
        used = name_width
        for check_id in ids:
            if blocks[-1] and used + 2 + widths[check_id] > width:
                blocks.append([])
                used = name_width
            blocks[-1].append(check_id)
            used += 2 + widths[check_id]
        lines: list[str] = []
        for block in blocks:
            if lines:
                lines.append("")
            lines.append(("server".ljust(name_width) + "".join(f"  {i.ljust(widths[i])}" for i in block)).rstrip())
            for folder, records in folders.items():
                cells = {record.item.check.id: CELLS[record.outcome] for record in records}
                row = folder.ljust(name_width) + "".join(f"  {cells.get(i, '').ljust(widths[i])}" for i in block)
                lines.append(row.rstrip())
        return lines

    def live_lines(self) -> list[str]:
        """Return each server's live run (rollouts, errors by kind, mean reward, histogram); [] when none ran."""
        lines: list[str] = []
        for folder, records in self.by_folder().items():
            summary = _live_summary(records[0].item.context)
            if summary is not None:
                lines += [f"{folder} (model {summary.model})", *summary.text_lines()]
        return lines

    def footer_lines(self) -> list[str]:
        """Return the totals, what passing checks did (e.g. rewritten files), and how to fix what failed."""
        folders = self.by_folder()
        failing = [folder for folder, records in folders.items() if any(r.outcome == "failed" for r in records)]
        counts = self.counts()
        lines = [
            f"{len(folders)} server(s): {len(folders) - len(failing)} without failures, {len(failing)} with failures; "
            f"checks: {counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped"
        ]
        lines += [f"{record.item.nodeid}: {note}" for record in self.records.values() for note in record.item.notes]
        failed = [record for record in self.records.values() if record.outcome == "failed"]
        if any(p.code in _METRICS_UPDATE_CODES for record in failed for p in record.item.problems):
            lines.append("Rerun with --gym-update-metrics to rewrite stale or missing example_metrics.json files.")
        if failing:
            lines.append(
                f"Each failure above names the file, line and fix; rerun one server with `pytest {failing[0]}`, "
                "one check with `-k <check id>`."
            )
        gated = [r for r in self.records.values() if r.item.check.level > r.item.context.settings.level]
        if gated:
            level = gated[0].item.context.settings.level
            lines.append(
                f"{len(gated)} check(s) above --gym-level {level.label} were skipped; "
                "run at a higher level to include them."
            )
        for waiver in self.waivers:
            state = "STALE, matched nothing" if waiver.stale else f"matched {waiver.matched} problem(s)"
            if not waiver.checked:
                state = "its check did not run"
            lines.append(f"waiver {waiver.key} ({waiver.source}: {waiver.reason}): {state}")
        if self.written_to is not None:
            lines.append(f"JSON report: {self.written_to}")
        return lines


def _live_summary(context: FolderContext) -> LiveSummary | None:
    """Return the folder's live run summary; None below live level (the live machinery is not even imported)."""
    if context.settings.level < Level.LIVE:
        return None
    from gym_conform.checks.live import live_summary

    return live_summary(context)


def _skip_reason(report: pytest.TestReport) -> str | None:
    """Return the reason of a skipped report, without pytest's `Skipped: ` prefix."""
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr or "")
    return reason[len(_SKIP_PREFIX) :] if reason.startswith(_SKIP_PREFIX) else reason or None
