"""The check worker: a child process that loads one server folder and runs its server-level checks on request.

`python -m gym_conform.isolate.worker READ_FD WRITE_FD`: messages arrive on READ_FD and go out on WRITE_FD
(see `protocol`), never on stdout, which belongs to the server's code. Whenever server code runs (start-up,
a request, a call into the server object) the worker tells the session first, so the session can time it
and, when the code hangs, dump this process's stacks (SIGUSR1, faulthandler) and kill it.
"""

from __future__ import annotations

import faulthandler
import os
import signal
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

from gym_conform.checks import REGISTRY
from gym_conform.checks.base import CheckFailed, CheckSkipped
from gym_conform.checks.context import FolderContext
from gym_conform.errors import GymConformError, Location, Problem
from gym_conform.isolate.protocol import (
    FAILED,
    PASSED,
    SKIPPED,
    Outcome,
    send,
    settings_from_json,
    waiver_changes,
)
from gym_conform.server import watch

DUMP_SIGNAL = signal.SIGUSR1
_CHUNK = 65536


class PipeObserver:
    """Forward the start and end of every piece of server code to the session (thread-safe)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._lock = threading.Lock()

    def started(self, token: int, kind: str, what: str, body: str | None, path: str | None) -> None:
        """Tell the session which server code starts now (and the request body, to show if it hangs)."""
        with self._lock:
            message = {"event": "start", "token": token, "kind": kind, "what": what, "body": body, "path": path}
            send(self._fd, message)

    def finished(self, token: int) -> None:
        """Tell the session the code returned."""
        with self._lock:
            send(self._fd, {"event": "end", "token": token})


def run_check(ctx: FolderContext, check_id: str) -> Outcome:
    """Run one registered check on the folder; every way it can end becomes an Outcome, the server's exits too."""
    check = next((c for c in REGISTRY if c.id == check_id), None)
    if check is None:
        return Outcome(FAILED, summary=f"unknown check {check_id!r}", problems=[_bug(f"unknown check {check_id!r}")])
    first_note = len(ctx.notes)
    before = [(waiver.matched, waiver.checked) for waiver in ctx.settings.waivers]
    try:
        check.run(ctx)
        outcome = Outcome(PASSED)
    except CheckSkipped as skipped:
        outcome = Outcome(SKIPPED, reason=skipped.reason)
    except CheckFailed as failed:
        outcome = Outcome(FAILED, summary=failed.summary, problems=failed.problems)
    except GymConformError as error:
        outcome = Outcome(FAILED, summary=error.message, problems=error.problems, reason="error")
    except (SystemExit, KeyboardInterrupt) as error:
        outcome = _exit_outcome(ctx, check_id, error)
    except Exception as error:
        text = "".join(traceback.format_exception(error)[-6:])
        problem = Problem(
            "check.crashed",
            f"{type(error).__name__}: {error}",
            hint="this is a bug in gym-conform's check; please report it with this traceback:\n" + text,
        )
        outcome = Outcome(FAILED, summary=f"the check {check_id} crashed", problems=[problem])
    outcome.notes = ctx.notes[first_note:]
    outcome.waivers = waiver_changes(before, ctx.settings)
    return outcome


def _exit_outcome(ctx: FolderContext, check_id: str, error: BaseException) -> Outcome:
    """Return the failure of a check during which the server's code raised SystemExit (or KeyboardInterrupt)."""
    what = f"sys.exit({error.code!r})" if isinstance(error, SystemExit) else "KeyboardInterrupt"
    where = _server_frame(ctx, error)
    problem = Problem(
        "server.exit",
        f"the server's code raised {what} during the {check_id} check",
        where,
        "a server must never exit its process: raise an exception (or return an error response) instead",
    )
    # The server object may be half torn down: the next check gets a fresh process.
    return Outcome(FAILED, summary=f"the server exited during {check_id}", problems=[problem], fatal=True)


def _server_frame(ctx: FolderContext, error: BaseException) -> Location:
    """Return the innermost traceback frame inside the server folder (the folder alone when none is)."""
    found = Location(ctx.show(ctx.folder))
    for frame in traceback.extract_tb(error.__traceback__):
        if frame.filename and Path(frame.filename).resolve().is_relative_to(ctx.folder):
            found = Location(ctx.show(Path(frame.filename)), frame.lineno, frame.name)
    return found


def _bug(message: str) -> Problem:
    return Problem("check.crashed", message, hint="this is a bug in gym-conform; please report it")


def _messages(fd: int) -> Any:
    """Yield the session's messages until it closes the pipe."""
    from gym_conform.isolate.protocol import LineReader

    reader = LineReader()
    while True:
        chunk = os.read(fd, _CHUNK)
        if not chunk:
            return
        yield from reader.feed(chunk)


def _limit_memory(megabytes: int | None) -> None:
    """Cap the address space, so runaway memory use becomes a MemoryError in the server, not a swapping machine."""
    if not megabytes:
        return
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    wanted = int(megabytes) * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (wanted if hard == resource.RLIM_INFINITY else min(wanted, hard), hard))


def main(argv: list[str]) -> int:
    """Serve the session's requests for one folder until it says close (or goes away)."""
    read_fd, write_fd = int(argv[0]), int(argv[1])
    faulthandler.enable(all_threads=True)
    faulthandler.register(DUMP_SIGNAL, all_threads=True)
    watch.set_observer(PipeObserver(write_fd))
    ctx: FolderContext | None = None
    for message in _messages(read_fd):
        op = message.get("op")
        if op == "init":
            _limit_memory(message.get("memory_mb"))
            settings = settings_from_json(message["settings"])
            ctx = FolderContext(
                Path(message["folder"]), settings, root=Path(message["root"]), display=message["display"]
            )
            # NeMo Gym starts each server in its own folder (`cd <folder> && python app.py`): paths in a
            # server's config (prompt templates, data) are relative to it. One worker serves one folder.
            os.chdir(ctx.folder)
            send(write_fd, {"event": "ready", "pid": os.getpid(), "python": sys.executable})
        elif op == "run" and ctx is not None:
            send(write_fd, {"event": "result", **run_check(ctx, str(message["check"])).to_json()})
        elif op == "close":
            break
    if ctx is not None:
        try:
            ctx.close()
        except Exception:
            traceback.print_exc()
    send(write_fd, {"event": "closed"})
    return 0


if __name__ == "__main__":
    # Leave through os._exit: a server's atexit handlers or non-daemon threads must not keep the worker alive.
    code = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
