"""`CheckItem`: one check of one server folder as a pytest item, failing with located problems, not a traceback."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from gym_conform.checks.base import Check, CheckFailed, CheckSkipped, Level
from gym_conform.checks.context import FolderContext
from gym_conform.core.excerpt import EXCERPT_CHARS, shortened
from gym_conform.errors import ConfigError, GymConformError, Location, Problem, ProblemsFound

if TYPE_CHECKING:
    from gym_conform.isolate.host import CheckWorker

if TYPE_CHECKING:
    from _pytest._code.code import TerminalRepr, TracebackStyle

LEVEL_MARKERS = {Level.STATIC: "gym_static", Level.SERVER: "gym_server", Level.LIVE: "gym_live"}
SHOWN_PROBLEMS = 20
_SOURCE_WIDTH = EXCERPT_CHARS
# A source line that may hold a credential is never echoed.
_SECRET_WORDS = re.compile(r"token|api_?key|secret|password", re.IGNORECASE)


class CheckItem(pytest.Item):
    """Runs `check` on a folder's shared context; skips with the check's reason; keeps problems for reports."""

    def __init__(
        self, *, check: Check, context: FolderContext, worker: CheckWorker | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.check = check
        self.context = context
        # Set for server checks run in a child process (see gym_conform.isolate).
        self.worker = worker
        self.problems: list[Problem] = []
        self.notes: list[str] = []
        # (index in the settings' waivers, problems it matched in this run, whether its check ran) per waiver.
        self.waiver_use: list[tuple[int, int, bool]] = []
        self.add_marker(LEVEL_MARKERS[check.level])
        # Plain-text properties: every report carries them, and JUnit XML writes them into the testcase.
        self.user_properties += [
            ("gym_server", context.display),
            ("gym_check", check.id),
            ("gym_level", check.level.label),
        ]

    def runtest(self) -> None:
        """Run the check; CheckSkipped becomes a pytest skip, problems are kept for the reports."""
        if self.worker is not None:
            self._run_in_worker(self.worker)
            return
        first_note = len(self.context.notes)
        waivers = [
            (index, waiver, waiver.matched)
            for index, waiver in enumerate(self.context.settings.waivers)
            if waiver.applies_to(self.context.display, self.check.id)
        ]
        try:
            self.check.run(self.context)
        except CheckSkipped as skipped:
            pytest.skip(skipped.reason)
        except GymConformError as error:
            self.problems = error.problems
            raise
        except Exception as error:
            self.problems = [
                Problem(
                    "check.crashed",
                    f"{type(error).__name__}: {error}",
                    hint="this is a bug in gym-conform's check; please report it with the traceback above",
                )
            ]
            raise
        finally:
            self.notes = self.context.notes[first_note:]
            self.waiver_use = [(index, waiver.matched - before, waiver.checked) for index, waiver, before in waivers]

    def _run_in_worker(self, worker: CheckWorker) -> None:
        """Run the check in the folder's child process and report its outcome as if it had run here."""
        outcome = worker.run(self.check.id)
        self.waiver_use = list(outcome.waivers)
        self.notes = list(outcome.notes)
        self.context.notes.extend(outcome.notes)
        if outcome.outcome == "skipped":
            pytest.skip(outcome.reason)
        if outcome.outcome == "failed":
            self.problems = outcome.problems or [Problem("check.failed", outcome.summary)]
            if outcome.reason == "error":
                raise ProblemsFound(self.problems, summary=outcome.summary)
            raise CheckFailed(self.problems, summary=outcome.summary)

    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: TracebackStyle | None = None
    ) -> str | TerminalRepr:
        """Render a gym-conform error as its problems (file:line, message, source line, hint), else as pytest does."""
        if isinstance(excinfo.value, GymConformError):
            return render_failure(excinfo.value, self.config.rootpath)
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Path, int, str]:
        """Return the folder and, as the failure section's title, the node id (the check id alone is ambiguous).

        The line is 0 because pytest requires one for skip marks; `locate_skip_at_folder` drops it again.
        """
        return self.path, 0, f"gym-conform: {self.nodeid}"


def locate_skip_at_folder(item: pytest.Item, report: pytest.TestReport) -> None:
    """Point a skipped check at its folder, not at the line of gym-conform's code that raised the skip."""
    if isinstance(item, CheckItem) and report.skipped and isinstance(report.longrepr, tuple):
        # pytest's terminal reporter prints a None line as no line at all (its annotation says int).
        report.longrepr = (str(item.path), None, report.longrepr[2])  # type: ignore[assignment]


def render_failure(error: GymConformError, rootpath: Path, shown: int = SHOWN_PROBLEMS) -> str:
    """Return the failure text of a check: a summary line, then each problem, at most `shown` of them.

    A problem reads like this (the `|` line is the offending source line, when there is one):

        resources_servers/x/data/example.jsonl:3: responses_create_params.input[0].role: ... [row.schema]
            | {"responses_create_params": {"input": [{"role": "usr", "content": "hi"}]}}
            hint: did you mean "user"?
    """
    problems = error.problems
    if isinstance(error, CheckFailed):
        head = error.summary
    else:
        head = f"could not run this check: {error.message}"
        if isinstance(error, ConfigError) or all(p.code.startswith("config.") for p in problems):
            head += " (the config check reports it too)"
    lines = [head]
    lines += [render_problem(problem, rootpath) for problem in problems[:shown]]
    hidden = len(problems) - shown
    if hidden > 0:
        lines.append(f"... and {hidden} more problem(s) not shown (--gym-report PATH lists them all)")
    return "\n".join(lines)


def render_problem(problem: Problem, rootpath: Path) -> str:
    """Return one problem as `where: message [code]`, its source line and its hint."""
    where = str(shown_location(problem.location, rootpath))
    text = f"{where}: {problem.message}" if where else problem.message
    text += f" [{problem.code}]"
    source = source_line(problem.location, rootpath)
    if source is not None:
        text += f"\n    | {source}"
    if problem.hint:
        text += "\n    hint: " + problem.hint.replace("\n", "\n          ")
    return text


def shown_location(location: Location, rootpath: Path) -> Location:
    """Return `location` with an absolute path below the rootdir made relative to it, as node ids are."""
    if not location.path or not Path(location.path).is_absolute():
        return location
    try:
        relative = Path(location.path).relative_to(rootpath).as_posix()
    except ValueError:
        return location
    return Location(relative, location.line, location.field)


def source_line(location: Location, rootpath: Path) -> str | None:
    """Return the text of the located line (shortened), or None when there is none to show."""
    if not location.path or not location.line:
        return None
    path = Path(location.path)
    candidates = [path] if path.is_absolute() else [Path.cwd() / path, rootpath / path]
    for candidate in candidates:
        if not candidate.is_file():
            continue
        try:
            with open(candidate, encoding="utf-8", errors="replace") as handle:
                line = next(itertools.islice(handle, location.line - 1, None), None)
        except OSError:
            return None
        if line is None or not line.strip() or _SECRET_WORDS.search(line):
            return None
        line = line.rstrip("\r\n")
        return shortened(line, _SOURCE_WIDTH)
    return None


class NotCollected(pytest.Item):
    """Stands for a server folder's own tests when importing them here is not safe; fails with the reason."""

    def __init__(self, *, reason: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.reason = reason

    def runtest(self) -> None:
        """Fail with the reason the folder's tests were not collected."""
        raise NotCollectedError(self.reason)

    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: TracebackStyle | None = None
    ) -> str | TerminalRepr:
        """Show the reason alone, without a traceback."""
        if isinstance(excinfo.value, NotCollectedError):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Path, int, str]:
        """Return the folder and the node id."""
        return self.path, 0, f"gym-conform: {self.nodeid}"


class NotCollectedError(Exception):
    """The reason a folder's own tests were not collected."""
