"""One exception root for every user-facing problem, with stable codes, a location and a hint."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Location:
    """Where a problem is: a file, a 1-based line, and a JSON path inside the line or config."""

    path: str | None = None
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        head = self.path or ""
        if self.line is not None:
            head = f"{head}:{self.line}" if head else f"line {self.line}"
        if self.field:
            return f"{head}: {self.field}" if head else self.field
        return head


@dataclass(frozen=True)
class Problem:
    """One thing that is wrong, ready to print: `location: message` then `hint: ...`."""

    code: str
    message: str
    location: Location = field(default_factory=Location)
    hint: str | None = None

    def render(self) -> str:
        where = str(self.location)
        text = f"{where}: {self.message}" if where else self.message
        text = f"{text} [{self.code}]"
        if self.hint:
            text += "\n    hint: " + self.hint.replace("\n", "\n          ")
        return text


class GymConformError(Exception):
    """Root of every error gym-conform reports to a user; front ends print `render()` and exit 1."""

    code = "gym_conform.error"

    def __init__(
        self,
        message: str,
        *,
        location: Location | None = None,
        hint: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.location = location or Location()
        self.hint = hint
        if code is not None:
            self.code = code

    @property
    def problems(self) -> list[Problem]:
        """Return the problems this error stands for (one, unless it is a `ProblemsFound`)."""
        return [Problem(self.code, self.message, self.location, self.hint)]

    def render(self) -> str:
        """Return the full human-readable text: every problem with its location and hint."""
        return "\n".join("error: " + p.render() for p in self.problems)


class ConfigError(GymConformError):
    """A config file, override or schema problem (codes `config.*`, `license.*`, `dataset.*`)."""

    code = "config.invalid"


class DataError(GymConformError):
    """A dataset file problem (codes `row.*`, `data.*`)."""

    code = "data.invalid"


class MetricsConflictError(GymConformError):
    """Recomputed metrics differ from a committed metrics file (code `metrics.conflict`)."""

    code = "metrics.conflict"


class DownloadError(GymConformError):
    """A dataset could not be fetched from its remote source (codes `download.*`)."""

    code = "download.failed"


class ServerError(GymConformError):
    """A resources server could not be loaded or answered outside its contract (codes `server.*`)."""

    code = "server.error"


class ProblemsFound(GymConformError):
    """Several problems found in one pass; raised after collecting all of them, never only the first."""

    code = "problems.found"

    def __init__(self, problems: Sequence[Problem], *, summary: str | None = None, shown: int = 20) -> None:
        self._problems = list(problems)
        self.summary = summary or f"{len(self._problems)} problem(s) found"
        self.shown = shown
        super().__init__(self.summary)

    @property
    def problems(self) -> list[Problem]:
        return list(self._problems)

    def render(self) -> str:
        lines = ["error: " + p.render() for p in self._problems[: self.shown]]
        hidden = len(self._problems) - self.shown
        if hidden > 0:
            lines.append(f"... and {hidden} more problem(s) not shown")
        lines.append(self.summary)
        return "\n".join(lines)


def combined(errors: Iterable[GymConformError], summary: str | None = None) -> ProblemsFound:
    """Merge errors (found in one pass) into one `ProblemsFound` to raise."""
    return ProblemsFound([p for e in errors for p in e.problems], summary=summary)


def collect(errors: Iterable[GymConformError], summary: str | None = None) -> ProblemsFound | None:
    """Merge errors into one `ProblemsFound`, or return None when there are none."""
    problems = [p for e in errors for p in e.problems]
    return ProblemsFound(problems, summary=summary) if problems else None
