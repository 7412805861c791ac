"""`vllm serve MODEL_PATH` on a free loopback port: started on first use, ready once /health answers, then stopped."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from gym_conform.errors import Location, ServerError
from gym_conform.live.defaults import DEFAULT_STARTUP_TIMEOUT
from gym_conform.server.process import free_port, wait_until_answering

STOP_GRACE_SECONDS = 30.0
_LOG_TAIL_LINES = 30
_HOST = "127.0.0.1"


class VLLMServe:
    """One `vllm serve` process for a test session; `start()` waits for /health, `stop()` ends it and its workers.

    The process runs in a session of its own so that `stop()` reaches the engine workers vLLM forks. A start
    that failed is not retried: later `start()` calls raise the same error at once.
    """

    def __init__(
        self,
        model_path: str,
        *,
        extra_args: Sequence[str] = (),
        startup_timeout: float = DEFAULT_STARTUP_TIMEOUT,
        executable: str = "vllm",
    ) -> None:
        self.model_path = model_path
        self.extra_args = list(extra_args)
        self.startup_timeout = startup_timeout
        self.executable = executable
        self.port = free_port()
        self.log_path: Path | None = None
        self._process: subprocess.Popen | None = None
        self._log: IO[bytes] | None = None
        self._failure: ServerError | None = None

    @property
    def base_url(self) -> str:
        """Return the OpenAI-compatible root the server answers on (`http://127.0.0.1:PORT/v1`)."""
        return f"http://{_HOST}:{self.port}/v1"

    @property
    def health_url(self) -> str:
        """Return vLLM's health endpoint, which answers 200 once the model is loaded."""
        return f"http://{_HOST}:{self.port}/health"

    @property
    def pid(self) -> int | None:
        """Return the process id of `vllm serve` while it was started by this object, else None."""
        return self._process.pid if self._process is not None else None

    def command(self, executable: str) -> list[str]:
        """Return the command line that starts the server with `executable`."""
        return [executable, "serve", self.model_path, "--host", _HOST, "--port", str(self.port), *self.extra_args]

    def start(self) -> None:
        """Start the server unless it runs already, and return once /health answers; raise ServerError otherwise."""
        if self._failure is not None:
            raise self._failure
        if self._process is not None:
            return
        try:
            self._launch()
            self._wait_until_healthy()
        except ServerError as error:
            self._failure = error
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server and every process it started (SIGTERM, then SIGKILL after a grace period)."""
        process, self._process = self._process, None
        if process is not None:
            # Signalled even when the main process is gone: engine workers it forked may outlive it.
            _signal_group(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                _signal_group(process.pid, signal.SIGKILL)
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def _launch(self) -> None:
        found = shutil.which(self.executable)
        if found is None:
            raise ServerError(
                f"cannot start `{self.executable} serve`: no `{self.executable}` executable on PATH",
                code="vllm.not_installed",
                hint="install vLLM into this environment (pip install 'gym-conform[vllm]'), or start the server "
                "yourself and pass --gym-model-url http://HOST:PORT/v1 --gym-model-name NAME instead",
            )
        handle, name = tempfile.mkstemp(prefix="gym-conform-vllm-", suffix=".log")
        self.log_path = Path(name)
        self._log = os.fdopen(handle, "wb")
        try:
            self._process = subprocess.Popen(
                self.command(found),
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as error:
            raise ServerError(
                f"cannot start `{self.executable} serve`: {error}",
                code="vllm.not_started",
                location=Location(path=found),
                hint="check that the vllm executable on PATH runs (vllm --help)",
            ) from None

    def _wait_until_healthy(self) -> None:
        assert self._process is not None
        try:
            code = wait_until_answering(
                self._process, self.health_url, self.startup_timeout, ready=lambda status: status == 200
            )
        except TimeoutError:
            raise ServerError(
                f"`vllm serve {self.model_path}` did not answer GET {self.health_url} within "
                f"{self.startup_timeout:g} s" + self._log_tail(),
                code="vllm.timeout",
                location=Location(path=str(self.log_path)),
                hint="large models take minutes to load: raise --gym-vllm-serve-timeout SECONDS "
                f"(now {self.startup_timeout:g}); the server's log is in the file named above",
            ) from None
        if code is not None:
            raise ServerError(
                f"`vllm serve {self.model_path}` exited with code {code} before {self.health_url} answered"
                + self._log_tail(),
                code="vllm.exited",
                location=Location(path=str(self.log_path)),
                hint="read the log above: a wrong model path, a GPU out of memory and a port in use are "
                "the usual causes; add vLLM flags with --gym-vllm-serve-args",
            )

    def _log_tail(self) -> str:
        if self._log is not None:
            self._log.flush()
        try:
            lines = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines() if self.log_path else []
        except OSError:
            return ""
        tail = lines[-_LOG_TAIL_LINES:]
        return "; the end of its log:\n" + "\n".join("  " + line for line in tail) if tail else "; its log is empty"


def _signal_group(pid: int, signum: int) -> None:
    """Signal the process group the server leads; it may already be gone."""
    try:
        os.killpg(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass
