"""What a conformance check is, how it reports (fail / skip), and the registry of checks in display order."""

from __future__ import annotations

import enum
import importlib
import re
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gym_conform.errors import GymConformError, Location, Problem, ProblemsFound

if TYPE_CHECKING:
    from gym_conform.checks.context import FolderContext

_CHECK_ID = re.compile(r"[a-z][a-z0-9_]*")
# How checks quote what the server answered: an HTTP 5xx body, or the exception verify or a tool raised.
_SERVER_ERROR = re.compile(r"HTTP 5\d\d|verify raised|replay failed|seed_session failed|raised \w+Error")


class Level(enum.IntEnum):
    """How much of a server a check runs: its files only, its code in-process, or a live model too."""

    STATIC = 0
    SERVER = 1
    LIVE = 2

    @property
    def label(self) -> str:
        """Return the lower-case name used by `--gym-level` and the JSON report."""
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Level:
        """Return the level named `text` (static, server or live); raise ValueError for anything else."""
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(level.label for level in cls)
            raise ValueError(f"unknown gym-conform level {text!r}; use one of: {names}") from None


class CheckFailed(ProblemsFound):
    """A check found problems in a server folder; each names its file, line or JSON path, and the fix."""

    code = "check.failed"

    def __init__(self, problems: Sequence[Problem], summary: str | None = None) -> None:
        if not problems:
            raise ValueError("CheckFailed needs at least one problem")
        super().__init__(problems, summary=summary)


class CheckSkipped(Exception):
    """A check cannot say anything about this folder (for example a file it reads is absent)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _without_outside_needs(failed: CheckFailed, ctx: FolderContext) -> CheckFailed | CheckSkipped:
    """Return the failure without problems this machine causes (a package, a service); a skip if none is left."""
    # Imported here: base.py stays importable at no cost.
    from gym_conform.server.outside import outside_need

    own: list[Problem] = []
    needs: dict[str, int] = {}
    for problem in failed.problems:
        # Only the server's own answer counts (a 5xx body, an error it raised), never a check's wording.
        need = outside_need(problem.message, ctx.folder) if _SERVER_ERROR.search(problem.message) else None
        if need is None:
            own.append(problem)
        else:
            needs[need] = needs.get(need, 0) + 1
    if not needs:
        return failed
    reason = "; ".join(f"{need} ({count} request(s))" for need, count in needs.items())
    if not own:
        return CheckSkipped(f"the server needs what this machine lacks: {reason}")
    ctx.note(f"not counted, this machine lacks it: {reason}")
    return CheckFailed(own, summary=failed.summary)


def _server_raised(error: Exception, ctx: FolderContext) -> CheckFailed | CheckSkipped | None:
    """Return what an exception from the server's own code means (a skip for what this machine lacks, else a
    failure at the innermost line of the server's code); None when no frame is the server's (a gym-conform bug).
    """
    from gym_conform.server.outside import outside_need

    where = None
    for frame in traceback.extract_tb(error.__traceback__):
        if frame.filename and Path(frame.filename).resolve().is_relative_to(ctx.folder):
            where = Location(ctx.show(Path(frame.filename)), frame.lineno, frame.name)
    if where is None:
        return None
    text = f"{type(error).__name__}: {error}"
    need = outside_need(text, ctx.folder)
    if need is not None:
        return CheckSkipped(f"the server needs what this machine lacks: {need}")
    problem = Problem(
        "server.raised",
        f"the server's code raised {text[:500]}",
        where,
        "the server's own code raised while the check called it: fix it there (the line is the innermost of "
        "the server's frames)",
    )
    return CheckFailed([problem], summary=f"the server's code raised {type(error).__name__}")


@dataclass(frozen=True)
class Check:
    """One conformance check: a stable id (the node id suffix and JSON report key), a level and its code.

    `code` is the function, or its "module:function" name, imported on the first run. It raises CheckFailed or
    CheckSkipped, or returns None when the folder passes.
    """

    id: str
    level: Level
    title: str
    code: Callable[[FolderContext], None] | str
    strict: bool = False  # beyond NeMo Gym's own rules: runs only with --gym-strict

    def run(self, ctx: FolderContext) -> None:
        """Run the check on one folder; report only the findings this run's rule set and waivers leave.

        Findings only `--gym-strict` reports, needs (a value or config to supply) and waived problems become
        notes; the check fails only when some other problem is left.
        """
        # Imported here: rules are engine code, and base.py stays importable at no cost.
        from gym_conform.checks.rules import triage

        if self.strict and not ctx.settings.strict:
            raise CheckSkipped(f"strict check: run with --gym-strict (or gym_strict = true) to include {self.id}")
        try:
            try:
                self.function()(ctx)
            except CheckFailed as failed:
                raise _without_outside_needs(failed, ctx) from None
            except (CheckSkipped, GymConformError):
                raise
            except Exception as error:
                raised = _server_raised(error, ctx)
                if raised is None:
                    raise
                raise raised from None
        except CheckFailed as failed:
            waivers = [w for w in ctx.settings.waivers if w.applies_to(ctx.display, self.id)]
            for waiver in waivers:
                waiver.checked = True
            sorted_ = triage(failed.problems, check=self.id, strict=ctx.settings.strict, waivers=waivers)
            for problem in sorted_.notes:
                ctx.note(problem.render())
            if sorted_.strict_only:
                codes = ", ".join(sorted({p.code for p in sorted_.strict_only}))
                ctx.note(f"{len(sorted_.strict_only)} finding(s) left to --gym-strict ({codes})")
            for problem, waiver in sorted_.waived:
                ctx.note(f"waived by {waiver.source} ({waiver.key}: {waiver.reason}): {problem.render()}")
            if sorted_.reported == failed.problems:
                raise
            if sorted_.reported:
                hidden = len(failed.problems) - len(sorted_.reported)
                summary = f"{failed.summary} ({len(sorted_.reported)} reported, {hidden} noted)"
                raise CheckFailed(sorted_.reported, summary=summary) from None
            return
        for waiver in ctx.settings.waivers:
            if waiver.applies_to(ctx.display, self.id):
                waiver.checked = True

    def function(self) -> Callable[[FolderContext], None]:
        """Return the check's function, importing its module when the check names it as "module:function"."""
        if not isinstance(self.code, str):
            return self.code
        module, _, name = self.code.partition(":")
        return getattr(importlib.import_module(module), name)


REGISTRY: list[Check] = []


def register(check: Check) -> Check:
    """Append `check` to the registry (display order is registration order); ids must be unique."""
    if not _CHECK_ID.fullmatch(check.id):
        raise ValueError(f"check id {check.id!r} must be lower-case letters, digits and underscores")
    if any(known.id == check.id for known in REGISTRY):
        raise ValueError(f"a check with id {check.id!r} is already registered")
    REGISTRY.append(check)
    return check


def checks_for(level: Level) -> list[Check]:
    """Return every registered check a run at `level` executes (those at that level or below)."""
    return [check for check in REGISTRY if check.level <= level]
