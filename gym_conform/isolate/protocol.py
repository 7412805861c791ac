"""The messages between the session and its check worker: one JSON object per line over a pair of pipes."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from gym_conform.checks.base import Level
from gym_conform.checks.context import CheckSettings
from gym_conform.checks.rules import Waiver
from gym_conform.errors import Location, Problem

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"


@dataclass
class Outcome:
    """How one check ended in the worker (or why the worker could not tell): what the pytest item reports."""

    outcome: str
    summary: str = ""
    problems: list[Problem] = field(default_factory=list)
    reason: str = ""
    notes: list[str] = field(default_factory=list)
    # Set when the server process itself failed (exit, signal, hang), not the check: later checks need a new one.
    fatal: bool = False
    # Set when the failure happened while starting the server (import, build): later checks need not try again.
    startup: bool = False
    # What the check did to the run's waivers: (index in the settings' list, matches added, checked).
    waivers: list[tuple[int, int, bool]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Return the outcome as a JSON object."""
        return {
            "outcome": self.outcome,
            "summary": self.summary,
            "problems": [problem_to_json(p) for p in self.problems],
            "reason": self.reason,
            "notes": self.notes,
            "fatal": self.fatal,
            "startup": self.startup,
            "waivers": [list(entry) for entry in self.waivers],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Outcome:
        """Return the outcome a worker sent."""
        return cls(
            outcome=str(data["outcome"]),
            summary=str(data.get("summary") or ""),
            problems=[problem_from_json(p) for p in data.get("problems") or []],
            reason=str(data.get("reason") or ""),
            notes=[str(n) for n in data.get("notes") or []],
            fatal=bool(data.get("fatal")),
            startup=bool(data.get("startup")),
            waivers=[(int(i), int(n), bool(c)) for i, n, c in data.get("waivers") or []],
        )


def problem_to_json(problem: Problem) -> dict[str, Any]:
    """Return a problem as a JSON object."""
    where = problem.location
    return {
        "code": problem.code,
        "message": problem.message,
        "path": where.path,
        "line": where.line,
        "field": where.field,
        "hint": problem.hint,
    }


def problem_from_json(data: dict[str, Any]) -> Problem:
    """Return the problem a JSON object describes."""
    where = Location(data.get("path"), data.get("line"), data.get("field"))
    return Problem(str(data["code"]), str(data["message"]), where, data.get("hint"))


def settings_to_json(settings: CheckSettings) -> dict[str, Any]:
    """Return the check settings a worker needs (the live model stays in the session)."""
    return {
        "level": settings.level.label,
        "update_metrics": settings.update_metrics,
        "hypothesis_profile": settings.hypothesis_profile,
        "max_examples": settings.max_examples,
        "verify_budget": settings.verify_budget,
        "request_timeout": settings.request_timeout,
        "server_url": settings.server_url,
        "server_launch": settings.server_launch,
        "server_python": settings.server_python,
        "startup_timeout": settings.startup_timeout,
        "judge_standin": settings.judge_standin,
        "strict": settings.strict,
        "update_expected": settings.update_expected,
        "waivers": [
            {"folder": w.folder, "check": w.check, "code": w.code, "reason": w.reason, "source": w.source}
            for w in settings.waivers
        ],
    }


def settings_from_json(data: dict[str, Any]) -> CheckSettings:
    """Return the check settings the session sent."""
    return CheckSettings(
        level=Level.parse(data["level"]),
        update_metrics=bool(data["update_metrics"]),
        hypothesis_profile=str(data["hypothesis_profile"]),
        max_examples=data.get("max_examples"),
        verify_budget=float(data["verify_budget"]),
        request_timeout=float(data["request_timeout"]),
        server_mode="child",
        server_url=data.get("server_url"),
        server_launch=str(data.get("server_launch") or "import"),
        server_python=data.get("server_python"),
        startup_timeout=float(data.get("startup_timeout") or 30.0),
        judge_standin=bool(data.get("judge_standin")),
        strict=bool(data.get("strict")),
        update_expected=bool(data.get("update_expected")),
        waivers=[Waiver(**entry) for entry in data.get("waivers") or []],
    )


def waiver_changes(before: list[tuple[int, bool]], settings: CheckSettings) -> list[tuple[int, int, bool]]:
    """Return what happened to each waiver since `before` (its matches and checked flag then)."""
    changes = []
    for index, (waiver, (matched, checked)) in enumerate(zip(settings.waivers, before, strict=True)):
        if waiver.matched != matched or waiver.checked != checked:
            changes.append((index, waiver.matched - matched, waiver.checked))
    return changes


def send(fd: int, message: dict[str, Any]) -> None:
    """Write one message as a line to `fd` (whole, even when the pipe takes it in pieces)."""
    data = (json.dumps(message, ensure_ascii=False) + "\n").encode()
    while data:
        written = os.write(fd, data)
        data = data[written:]


class LineReader:
    """Split what arrives on a pipe into JSON messages; `feed` returns the complete ones."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[dict[str, Any]]:
        """Add bytes read from the pipe; return the messages they complete."""
        self._buffer += chunk
        *lines, self._buffer = self._buffer.split(b"\n")
        return [json.loads(line) for line in lines if line.strip()]
