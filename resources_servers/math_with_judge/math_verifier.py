"""The last `\\boxed{}` answer of a text, and math-verify equivalence checks run in killable worker processes."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection, Pipe
from pathlib import Path
from typing import Any

from gym_conform.errors import ServerError

# One pass over the text: a `\boxed{` opener, any other escaped character (so `\{`, `\}` and `\\` never count
# as braces), or a plain brace. Linear time, so huge or adversarial outputs cannot stall extraction.
_TOKENS = re.compile(r"\\boxed\s*\{|\\.|[{}]", re.DOTALL)
_READY = "ready"
_MODULE = "resources_servers.math_with_judge.math_verifier"
_PROJECT_ROOT = Path(__file__).resolve().parents[2]


def last_boxed_answer(text: str) -> str | None:
    """Return the stripped content of the last complete `\\boxed{...}` in `text` (balanced braces), or None.

    "Last" is the boxed group that closes last, so `\\boxed{\\frac{1}{2}}` yields `\\frac{1}{2}` and an
    unterminated `\\boxed{` never hides a complete one.
    """
    open_groups: list[int | None] = []  # content start for a boxed group, None for a plain brace
    answer: str | None = None
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token == "{":
            open_groups.append(None)
        elif token == "}":
            if open_groups:
                start = open_groups.pop()
                if start is not None:
                    answer = text[start : match.start()].strip()
        elif token.startswith("\\boxed"):
            open_groups.append(match.end())
    return answer


def boxed(answer: str) -> str:
    """Return `answer` wrapped in `\\boxed{}`, the form math-verify's parser extracts best."""
    return "\\boxed{" + answer + "}"


def _equivalent(expected: str, answer: str) -> bool:
    # Imported here: only the worker processes pay for sympy and math-verify.
    from math_verify import parse, verify

    try:
        return bool(verify(parse(boxed(expected)), parse(boxed(answer))))
    except Exception:  # noqa: BLE001 - any library failure on a model's answer means "not shown equal"
        return False


def _serve(conn: Connection) -> None:
    """Worker process main loop: answer `(expected, answer)` requests with a bool until the socket closes.

    A worker outliving its parent ends at its next receive or send; math-verify's own signal-based timeouts,
    which work here because this is the worker's main thread, bound the computation it may be in.
    """
    _equivalent("1", "1")  # pay for the imports and the parser's first use before any timed request
    conn.send(_READY)
    while True:
        try:
            expected, answer = conn.recv()
            conn.send(_equivalent(expected, answer))
        except (EOFError, OSError):
            return


@dataclass(frozen=True)
class LibraryVerdict:
    """Outcome of one math-verify check: equivalent or not, and whether the worker ran out of time."""

    equivalent: bool
    timed_out: bool = False


class _Worker:
    """One worker process, started as `python -m` of this module, and the parent's end of its socket."""

    def __init__(self, start_timeout_seconds: float) -> None:
        # A plain subprocess rather than multiprocessing: spawn would re-run the embedding program's __main__,
        # and fork is unsafe in a threaded server process.
        self.conn, child_conn = Pipe()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_PROJECT_ROOT), env.get("PYTHONPATH")]))
        self.process = subprocess.Popen(
            [sys.executable, "-m", _MODULE, str(child_conn.fileno())],
            pass_fds=(child_conn.fileno(),),
            stdin=subprocess.DEVNULL,
            env=env,
        )
        child_conn.close()
        self.broken = False
        if not self.conn.poll(start_timeout_seconds) or self._recv_or_none() != _READY:
            self.kill()
            raise ServerError(
                f"the math-verify worker process did not become ready within {start_timeout_seconds:g} s "
                f"(exit code {self.process.returncode}; its error output is in this process's stderr)",
                code="server.math_verifier_start",
                hint="check that math-verify imports in this environment: python -c 'import math_verify'",
            )

    def _recv_or_none(self) -> Any:
        try:
            return self.conn.recv()
        except (EOFError, OSError):
            return None

    def ask(self, expected: str, answer: str, timeout_seconds: float) -> LibraryVerdict:
        """Return the verdict; after a timeout or a dead process `broken` is set and the worker must be killed."""
        try:
            self.conn.send((expected, answer))
        except OSError:
            self.broken = True
            return LibraryVerdict(equivalent=False)
        if not self.conn.poll(timeout_seconds):
            self.broken = True
            return LibraryVerdict(equivalent=False, timed_out=True)
        result = self._recv_or_none()
        if result is None:
            self.broken = True
            return LibraryVerdict(equivalent=False)
        return LibraryVerdict(equivalent=bool(result))

    def kill(self) -> None:
        """Stop the process now and release the socket."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.conn.close()


class MathVerifierPool:
    """Run math-verify checks in worker processes: at most `max_workers` at once, each bounded by a timeout.

    A worker that exceeds the timeout is killed; a fresh one is started for the next check. Workers are
    started lazily and reused, so the import cost of sympy is paid once per worker, never inside a timeout.
    """

    def __init__(
        self, *, timeout_seconds: float = 10.0, max_workers: int = 4, start_timeout_seconds: float = 120.0
    ) -> None:
        if timeout_seconds <= 0 or max_workers < 1:
            raise ServerError(
                f"invalid math verifier settings: timeout {timeout_seconds!r}, workers {max_workers!r}",
                code="server.math_verifier_config",
                hint="set library_verifier_timeout_seconds > 0 and library_verifier_max_workers >= 1",
            )
        self.timeout_seconds = timeout_seconds
        self.start_timeout_seconds = start_timeout_seconds
        # The executor's size is the concurrency bound: each of its threads drives one worker at a time.
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="math-verify")
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()

    async def check(self, expected: str, answer: str) -> LibraryVerdict:
        """Return whether `answer` is mathematically equivalent to `expected`, never waiting past the timeout."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._check_blocking, expected, answer)

    def _check_blocking(self, expected: str, answer: str) -> LibraryVerdict:
        with self._lock:
            worker = self._idle.pop() if self._idle else None
        if worker is None:
            worker = _Worker(self.start_timeout_seconds)
        verdict = worker.ask(expected, answer, self.timeout_seconds)
        if worker.broken:
            worker.kill()
        else:
            with self._lock:
                self._idle.append(worker)
        return verdict

    def close(self) -> None:
        """Stop every idle worker and the dispatch threads."""
        self._executor.shutdown(wait=True)
        with self._lock:
            workers, self._idle = self._idle, []
        for worker in workers:
            worker.kill()


if __name__ == "__main__":
    _serve(Connection(int(sys.argv[1])))
