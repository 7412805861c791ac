"""Outcomes of the check items, built from test reports alone (so xdist workers and a plain run agree): the JSON report.

The process that runs a check item attaches what the reports need (folder, check, problems, notes, live summary)
to each phase's `TestReport.user_properties` (`attach_result`); the process that reports (the xdist controller,
or the only process) folds every report it logs into one `CheckRecord` per node id (`ResultBook.record`).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from gym_conform.checks.base import Level
from gym_conform.core.files import atomic_write_text
from gym_conform.errors import Problem
from gym_conform.pytest_plugin.gate import RESULT_PROPERTY
from gym_conform.pytest_plugin.items import CheckItem, locate_skip_at_folder, shown_location

if TYPE_CHECKING:
    from gym_conform.checks.context import FolderContext
    from gym_conform.checks.rules import Waiver
    from gym_conform.live.summary import LiveSummary

REPORT_VERSION = 1
SLOWEST_SHOWN = 10
_SKIP_PREFIX = "Skipped: "


@dataclass
class CheckRecord:
    """One check item and how it ended (outcome None while it has not run), from its reports' properties."""

    nodeid: str
    folder: str
    check: str
    level: str
    title: str
    outcome: str | None = None
    skip_reason: str | None = None
    problems: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    duration: float = 0.0  # seconds, setup + call + teardown
    live: dict[str, Any] | None = None
    live_text: list[str] = field(default_factory=list)

    @classmethod
    def from_result(cls, nodeid: str, result: dict[str, Any]) -> CheckRecord:
        """Return a record for `nodeid` from the identity fields of an attached result."""
        return cls(nodeid, result["folder"], result["check"], result["level"], result["title"])

    def update(self, result: dict[str, Any]) -> None:
        """Take the problems, notes and live summary an attached result carries."""
        if result.get("problems"):
            self.problems = list(result["problems"])
        if result.get("notes"):
            self.notes = list(result["notes"])
        if result.get("live") is not None:
            self.live = result["live"]
            self.live_text = list(result.get("live_text", []))

    def to_json(self) -> dict[str, Any]:
        """Return this record as the JSON report writes it."""
        return {
            "id": self.check,
            "nodeid": self.nodeid,
            "level": self.level,
            "title": self.title,
            "outcome": self.outcome or "not_run",
            "problems": self.problems if self.outcome == "failed" else [],
            "skip_reason": self.skip_reason,
            "notes": self.notes,
            "duration": round(self.duration, 4),
        }


def problem_json(problem: Problem, rootpath: Path) -> dict[str, Any]:
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


def describe(item: CheckItem) -> dict[str, Any]:
    """Return the identity of a check item as its attached results carry it."""
    check = item.check
    return {"folder": item.context.display, "check": check.id, "level": check.level.label, "title": check.title}


def attach_result(item: pytest.Item, report: pytest.TestReport) -> None:
    """Add to a check item's phase report what the reporting process needs; it travels with the report under xdist."""
    if not isinstance(item, CheckItem):
        return
    locate_skip_at_folder(item, report)
    result = describe(item)
    if report.failed:
        result["problems"] = [problem_json(p, item.config.rootpath) for p in item.problems]
    if report.when == "call":
        result["notes"] = list(item.notes)
        result["waivers"] = [list(use) for use in item.waiver_use]
        live = _live_summary(item.context) if item.check.id == "live" else None
        if live is not None:
            result["live"] = live.to_json()
            result["live_text"] = [f"{item.context.display} (model {live.model})", *live.text_lines()]
    report.user_properties.append((RESULT_PROPERTY, result))


def take_result(report: pytest.TestReport) -> dict[str, Any] | None:
    """Remove and return the result `attach_result` put on the report (other plugins, e.g. JUnit, never see it)."""
    for index, (name, value) in enumerate(report.user_properties):
        if name == RESULT_PROPERTY and isinstance(value, dict):
            del report.user_properties[index]
            return value
    return None


class ResultBook:
    """The check items of a session, in collection order, with their outcomes and durations; the waivers' use."""

    def __init__(self, waivers: Sequence[Waiver] = ()) -> None:
        self.records: dict[str, CheckRecord] = {}
        self.order: dict[str, int] = {}
        self.written_to: Path | None = None
        self.html_written_to: Path | None = None
        self.changed: dict[str, object] | None = None  # --gym-changed-since: what was selected and why
        # Folders this process collected, even when -k/-m deselected all their items (the xdist controller
        # collects none: there the folders come from the reports).
        self.collected_folders: set[str] = set()
        # Copies counted from the reports alone: the checks' own copies live in whichever process ran them.
        self.waivers: list[Waiver] = [replace(waiver, matched=0, checked=False) for waiver in waivers]

    def add_items(self, items: Iterable[pytest.Item]) -> None:
        """Track every selected check item (so one that never runs is reported as not run) and their order."""
        for item in items:
            if isinstance(item, CheckItem):
                self.order.setdefault(item.nodeid, len(self.order))
                self.records.setdefault(item.nodeid, CheckRecord.from_result(item.nodeid, describe(item)))

    def set_order(self, nodeids: Sequence[str]) -> None:
        """Order the records as a collection listed the node ids (what an xdist worker collected)."""
        for nodeid in nodeids:
            self.order.setdefault(nodeid, len(self.order))

    def record(self, report: pytest.TestReport) -> None:
        """Fold one phase's report into its item's record: any failure fails it, a skip skips it."""
        result = take_result(report)
        record = self.records.get(report.nodeid)
        if record is None:
            if result is None:
                return
            record = self.records[report.nodeid] = CheckRecord.from_result(report.nodeid, result)
        if result is not None:
            record.update(result)
            for index, matched, checked in result.get("waivers", []):
                self.waivers[index].matched += matched
                self.waivers[index].checked |= checked
        record.duration += float(getattr(report, "duration", 0.0) or 0.0)
        if report.skipped:
            record.outcome = "skipped"
            record.skip_reason = _skip_reason(report)
        elif report.failed:
            record.outcome = "failed"
        elif report.when == "call" and record.outcome is None:
            record.outcome = "passed"

    def ordered(self) -> list[CheckRecord]:
        """Return the records in collection order (records of unknown position last, as they came)."""
        last = len(self.order)
        keyed = [(self.order.get(nodeid, last), index) for index, nodeid in enumerate(self.records)]
        records = list(self.records.values())
        return [records[index] for _, index in sorted(keyed)]

    def by_folder(self) -> dict[str, list[CheckRecord]]:
        """Return the records grouped per server folder, folders and checks in collection order."""
        grouped: dict[str, list[CheckRecord]] = {}
        for record in self.ordered():
            grouped.setdefault(record.folder, []).append(record)
        return grouped

    def counts(self) -> dict[str, int]:
        """Return how many checks passed, failed, were skipped or did not run."""
        outcomes = [record.outcome or "not_run" for record in self.records.values()]
        return {name: outcomes.count(name) for name in ("passed", "failed", "skipped", "not_run")}

    def not_collected(self, level: Level) -> dict[str, int]:
        """Return, per level above `level`, how many checks of the reported folders got no item (see check_items)."""
        from gym_conform.checks import REGISTRY

        folders = len(self.collected_folders | set(self.by_folder()))
        above = [check.level for check in REGISTRY if check.level > level]
        return {higher.label: folders * above.count(higher) for higher in Level if higher > level}

    def folder_durations(self) -> dict[str, float]:
        """Return each server folder's time: the sum of its checks' setup, call and teardown."""
        return {folder: sum(r.duration for r in records) for folder, records in self.by_folder().items()}

    def slowest(self, count: int = SLOWEST_SHOWN) -> list[CheckRecord]:
        """Return the `count` check items that took longest, slowest first."""
        ran = [record for record in self.ordered() if record.outcome is not None]
        return sorted(ran, key=lambda record: record.duration, reverse=True)[:count]

    def slowest_servers(self, count: int = SLOWEST_SHOWN) -> list[tuple[str, float]]:
        """Return the `count` server folders whose checks took longest, slowest first, with their time."""
        return sorted(self.folder_durations().items(), key=lambda entry: entry[1], reverse=True)[:count]

    def to_json(self, level: Level, exitstatus: int) -> dict[str, Any]:
        """Return the JSON report: every server's checks with outcome, problems, skip reason and time; a summary."""
        servers = []
        durations = self.folder_durations()
        for folder, records in self.by_folder().items():
            server: dict[str, Any] = {
                "folder": folder,
                "duration": round(durations[folder], 4),
                "checks": [record.to_json() for record in records],
            }
            live = next((record.live for record in records if record.live is not None), None)
            if live is not None:
                server["live"] = live
            servers.append(server)
        summary = {
            "servers": len(servers),
            "checks": len(self.records),
            **self.counts(),
            "not_collected": self.not_collected(level),
            "duration": round(sum(durations.values()), 4),
            "slowest": [{"nodeid": r.nodeid, "duration": round(r.duration, 4)} for r in self.slowest()],
            "slowest_servers": [{"folder": f, "duration": round(d, 4)} for f, d in self.slowest_servers()],
            "exit_status": int(exitstatus),
        }
        report = {"version": REPORT_VERSION, "level": level.label, "servers": servers, "summary": summary}
        if self.changed is not None:
            report["changed_since"] = self.changed
        if self.waivers:
            report["waivers"] = [waiver.to_json() for waiver in self.waivers]
        return report

    def write(self, path: Path, level: Level, exitstatus: int) -> None:
        """Write the JSON report atomically; a path that cannot be written is a warning, not a crashed session."""
        if _write(path, json.dumps(self.to_json(level, exitstatus), indent=2) + "\n", "JSON"):
            self.written_to = path

    def write_html(self, path: Path, level: Level, exitstatus: int) -> None:
        """Write the HTML page of the report atomically (a path that cannot be written is a warning)."""
        from gym_conform.pytest_plugin.html_report import render_html

        if _write(path, render_html(self.to_json(level, exitstatus)), "HTML"):
            self.html_written_to = path


def _write(path: Path, text: str, kind: str) -> bool:
    """Write one report file atomically; warn and return False when it cannot be written."""
    try:
        atomic_write_text(path, text)
    except OSError as error:
        warnings.warn(
            pytest.PytestWarning(f"gym-conform: cannot write the {kind} report to {path}: {error}"), stacklevel=3
        )
        return False
    return True


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
