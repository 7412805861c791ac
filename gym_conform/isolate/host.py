"""The session's side of a check worker: start it, run checks in it under time limits, and report its faults.

A worker that exits, is killed by a signal, or keeps a piece of server code running past its limit (start-up:
import and build; request: one HTTP request or call into the server) fails the check that was running, with
what happened and where; the next check starts a new worker. A failure while starting the server is kept:
`import` reports it again and the other checks skip, as when an import fails in-process.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from gym_conform.checks.context import CheckSettings
from gym_conform.errors import Location
from gym_conform.isolate.faults import InFlight, death_text, fault_problem, frame_in
from gym_conform.isolate.protocol import FAILED, SKIPPED, LineReader, Outcome, send, settings_to_json
from gym_conform.server.watch import STARTUP

DEFAULT_STARTUP_TIMEOUT = 30.0
DEFAULT_MEMORY_MB = 8192
# How long the worker gets to print its stacks after SIGUSR1, and to leave after `close`.
_DUMP_GRACE = 1.0
_CLOSE_GRACE = 5.0
_CHUNK = 65536


@dataclass(frozen=True)
class Limits:
    """Time and memory limits of one worker."""

    startup_timeout: float = DEFAULT_STARTUP_TIMEOUT
    request_timeout: float = 60.0
    memory_mb: int | None = DEFAULT_MEMORY_MB

    def of(self, kind: str) -> tuple[float, str]:
        """Return the limit for server code of `kind` and the option that sets it."""
        if kind == STARTUP:
            return self.startup_timeout, "--gym-startup-timeout"
        return self.request_timeout, "--gym-request-timeout"


@dataclass
class _Running:
    started: float
    code: InFlight


@dataclass
class _Worker:
    process: subprocess.Popen[bytes]
    to_child: int
    from_child: int
    log: IO[bytes]
    reader: LineReader = field(default_factory=LineReader)
    running: dict[int, _Running] = field(default_factory=dict)


class WorkerFault(Exception):
    """The worker died or hung; `outcome` is the failure to report."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.summary)
        self.outcome = outcome


class CheckWorker:
    """One server folder's checks run in a child process (started on first use, replaced after a fault)."""

    def __init__(self, folder: Path, root: Path, display: str, settings: CheckSettings, limits: Limits) -> None:
        self.folder = Path(folder).resolve()
        self.root = Path(root).resolve()
        self.display = display
        self.settings = settings
        self.limits = limits
        self.startup_failure: Outcome | None = None
        self.started_workers = 0
        self._worker: _Worker | None = None

    def show(self, path: Path) -> str:
        """Return `path` relative to the run's root when below it."""
        try:
            return Path(path).resolve().relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def run(self, check_id: str) -> Outcome:
        """Run one check in the worker and return how it ended; never raises for anything the server does."""
        if self.startup_failure is not None:
            return self._after_startup_failure(check_id)
        try:
            worker = self._worker or self._start()
            send(worker.to_child, {"op": "run", "check": check_id})
            outcome = Outcome.from_json(self._wait(worker, "result", check_id))
        except WorkerFault as fault:
            outcome = fault.outcome
        except OSError as error:
            # The pipe broke: the worker is gone; _wait reports why when it can, this is the fallback.
            self._kill()
            outcome = Outcome(FAILED, summary=f"the server process went away: {error}", fatal=True)
        if outcome.fatal:
            self._kill()
            if outcome.startup:
                self.startup_failure = outcome
        return outcome

    def close(self) -> None:
        """Ask the worker to release the server and leave; kill it if it does not within a few seconds."""
        worker, self._worker = self._worker, None
        if worker is None:
            return
        try:
            send(worker.to_child, {"op": "close"})
            deadline = time.monotonic() + max(_CLOSE_GRACE, self.limits.request_timeout)
            while worker.process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
        except OSError:
            pass
        self._finish(worker)

    # Internals ------------------------------------------------------------------------------------------------

    def _after_startup_failure(self, check_id: str) -> Outcome:
        failure = self.startup_failure
        assert failure is not None
        if check_id == "import":
            return failure
        first = failure.problems[0].message if failure.problems else failure.summary
        return Outcome(SKIPPED, reason=f"server could not be imported: {first}")

    def _start(self) -> _Worker:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        log = tempfile.TemporaryFile(prefix="gym-conform-worker-")
        command = [sys.executable, "-m", "gym_conform.isolate.worker", str(to_child_r), str(from_child_w)]
        try:
            process = subprocess.Popen(
                command,
                pass_fds=(to_child_r, from_child_w),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                cwd=os.getcwd(),
                # Its own process group, so a hang is stopped with everything the server started.
                start_new_session=True,
            )
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        worker = _Worker(process, to_child_w, from_child_r, log)
        self._worker = worker
        self.started_workers += 1
        message = {
            "op": "init",
            "folder": str(self.folder),
            "root": str(self.root),
            "display": self.display,
            "settings": settings_to_json(self.settings),
            "memory_mb": self.limits.memory_mb,
        }
        send(to_child_w, message)
        # The worker's own start counts as start-up: an app.py that hangs at import is caught by the same limit.
        worker.running[0] = _Running(time.monotonic(), InFlight(STARTUP, "the check worker's start", None))
        self._wait(worker, "ready", "start-up")
        return worker

    def _wait(self, worker: _Worker, wanted: str, during: str) -> dict[str, Any]:
        """Read the worker's messages until `wanted` arrives; raise WorkerFault when it dies or a limit passes."""
        while True:
            timeout = None
            if worker.running:
                timeout = (
                    min(running.started + self.limits.of(running.code.kind)[0] for running in worker.running.values())
                    - time.monotonic()
                )
            ready, _, _ = select.select([worker.from_child], [], [], max(timeout, 0) if timeout is not None else None)
            if not ready:
                raise WorkerFault(self._hang(worker, during))
            chunk = os.read(worker.from_child, _CHUNK)
            if not chunk:
                raise WorkerFault(self._death(worker, during))
            for message in worker.reader.feed(chunk):
                event = message.get("event")
                if event == "start":
                    code = InFlight(message["kind"], message["what"], message.get("body"), message.get("path"))
                    worker.running[int(message["token"])] = _Running(time.monotonic(), code)
                elif event == "end":
                    worker.running.pop(int(message["token"]), None)
                elif event == "ready":
                    worker.running.pop(0, None)
                if event == wanted:
                    return message

    def _oldest(self, worker: _Worker) -> InFlight | None:
        if not worker.running:
            return None
        return min(worker.running.values(), key=lambda running: running.started).code

    def _hang(self, worker: _Worker, during: str) -> Outcome:
        """Dump the stuck worker's stacks, kill it, and return the failure naming the code and where it was."""
        running = self._oldest(worker)
        kind = running.kind if running else STARTUP
        limit, option = self.limits.of(kind)
        try:
            os.kill(worker.process.pid, signal.SIGUSR1)
            time.sleep(_DUMP_GRACE)
        except OSError:
            pass
        log = self._finish(worker)
        where = self._where(log, running)
        message = f"the server's code did not finish within {limit:g} s ({option})"
        hint = (
            "something in the server blocks (an endless loop, a wait on a service that never answers, a lock); "
            f"the location is where it was stuck. If it is only slow, raise {option}"
        )
        problem = fault_problem("server.hang", message, where, running, log, hint)
        summary = f"the server hung during {during}; its process was killed"
        return Outcome(FAILED, summary=summary, problems=[problem], fatal=True, startup=kind == STARTUP)

    def _death(self, worker: _Worker, during: str) -> Outcome:
        """Return the failure of a worker that went away (os._exit, a signal such as SIGSEGV, the OOM killer)."""
        running = self._oldest(worker)
        try:
            worker.process.wait(timeout=_CLOSE_GRACE)
        except subprocess.TimeoutExpired:
            pass
        returncode = worker.process.returncode
        log = self._finish(worker)
        where = self._where(log, running)
        ended = death_text(returncode) if returncode is not None else "closed its pipe"
        message = f"the server process {ended}"
        if returncode == -signal.SIGKILL:
            hint = (
                f"SIGKILL often means the out-of-memory killer; the worker's memory limit is {self.limits.memory_mb} MB"
            )
        elif returncode is not None and returncode < 0:
            hint = "a crash in native code (an extension module, ctypes); the location is the Python frame it was in"
        else:
            hint = "a server must never end its process (os._exit, a native exit): raise an exception instead"
        problem = fault_problem("server.crashed", message, where, running, log, hint)
        summary = f"the server process died during {during}"
        startup = running is not None and running.kind == STARTUP
        return Outcome(FAILED, summary=summary, problems=[problem], fatal=True, startup=startup)

    def _where(self, log: str, running: InFlight | None) -> Location:
        """Return the innermost frame in the folder of the worker's last stacks, else the file that was running."""
        found = frame_in(log, self.folder, self.show)
        if found is not None:
            return found
        if running is not None and running.path:
            return Location(self.show(Path(running.path)))
        return Location(self.show(self.folder))

    def _kill(self) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            self._finish(worker)

    def _finish(self, worker: _Worker) -> str:
        """Kill the worker's process group if still alive, close its pipes, and return what it printed."""
        if self._worker is worker:
            self._worker = None
        # The whole group: whatever the server started goes too (the group outlives a worker that already left).
        try:
            os.killpg(worker.process.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            worker.process.wait(timeout=_CLOSE_GRACE)
        except subprocess.TimeoutExpired:
            pass
        for fd in (worker.to_child, worker.from_child):
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            worker.log.seek(0)
            text = worker.log.read().decode("utf-8", errors="replace")
        finally:
            worker.log.close()
        return text
