"""Turn what happened to a dead or stuck worker (exit code, signal, faulthandler dump) into located problems."""

from __future__ import annotations

import re
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gym_conform.errors import Location, Problem

# faulthandler prints frames as `  File "/x/app.py", line 12 in verify`, most recent call first.
_FRAME = re.compile(r'^\s*File "(?P<path>[^"]+)", line (?P<line>\d+) in (?P<name>\S+)', re.MULTILINE)
# The lines faulthandler adds around the frames: not the server's output.
_DUMP_LINE = re.compile(r"^(Fatal Python error|Current thread|Thread 0x|Extension modules|\s*<no Python frame>)")
_SECRET_WORDS = re.compile(r"token|api_?key|secret|password|authorization", re.IGNORECASE)
_SHOWN_LINES = 6
_SHOWN_WIDTH = 200


@dataclass(frozen=True)
class InFlight:
    """The server code that was running when the worker died or stopped answering."""

    kind: str
    what: str
    body: str | None
    path: str | None = None


def frame_in(dump: str, folder: Path, show: Callable[[Path], str]) -> Location | None:
    """Return the most recent frame of a faulthandler dump that lies inside `folder`, as shown to users."""
    for match in _FRAME.finditer(dump):
        path = Path(match["path"])
        try:
            inside = path.resolve().is_relative_to(folder)
        except OSError:
            inside = False
        if inside:
            name = match["name"]
            return Location(show(path), int(match["line"]), None if name.startswith("<") else name)
    return None


def death_text(returncode: int) -> str:
    """Return how a process ended, in words: `killed by SIGSEGV`, `exited with code 1`."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"was killed by {name}"
    return f"exited with code {returncode}"


def output_tail(log: str) -> str:
    """Return the last lines the server printed (lines that may hold a credential left out), for a hint."""
    lines = [
        line for line in log.splitlines() if line.strip() and not _FRAME.match(line) and not _DUMP_LINE.match(line)
    ]
    kept = [line if len(line) <= _SHOWN_WIDTH else line[:_SHOWN_WIDTH] + "..." for line in lines[-_SHOWN_LINES:]]
    kept = [line for line in kept if not _SECRET_WORDS.search(line)]
    return "\n".join(kept)


def fault_problem(code: str, message: str, where: Location, running: InFlight | None, log: str, hint: str) -> Problem:
    """Return one problem for a fault: what happened, during which server code, the request, the output's tail."""
    if running is not None:
        message += f" during {running.what}"
        if running.body is not None:
            message += f"; the request body (paste it into a test to reproduce): {running.body}"
    tail = output_tail(log)
    if tail:
        hint += "\nlast lines the server printed:\n" + tail
    return Problem(code, message, where, hint)
