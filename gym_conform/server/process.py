"""Process mode: start a folder's server in a Python of its own (its venv) on a free loopback port, as NeMo Gym would.

A NeMo Gym server (its app.py imports nemo_gym) starts as NeMo Gym's launcher starts it: `python app.py` in its
folder, the merged config in NEMO_GYM_CONFIG_DICT and its instance name in NEMO_GYM_CONFIG_PATH. A server of
this project's own base class starts with `python -m gym_conform.server.serve FOLDER`. The checks then reach
it over real HTTP, as with --gym-server-url. The process stays in the check worker's process group, so a worker
killed for a hang takes the server with it.
"""

from __future__ import annotations

import functools
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

from gym_conform.core.excerpt import shortened
from gym_conform.errors import Location, ServerError
from gym_conform.server.venvs import REQUIREMENTS, requirements_venv

# NeMo Gym's launcher hands a server its config through these variables (nemo_gym.global_config).
CONFIG_DICT_ENV = "NEMO_GYM_CONFIG_DICT"
CONFIG_PATH_ENV = "NEMO_GYM_CONFIG_PATH"
# Keys NeMo Gym's config parser adds to every merged config, which a server process reads without defaults.
_HEAD_SERVER = "head_server"
_DRY_RUN = "dry_run"
_NEMO_GYM_IMPORT = re.compile(r"^\s*(?:from|import)\s+nemo_gym\b", re.MULTILINE)
_POLL_S = 0.2
_STOP_GRACE_S = 5.0
_LOG_TAIL_LINES = 15
_LOG_TAIL_CHARS = 1200


def is_nemo_gym_app(app_path: Path) -> bool:
    """Return whether an app.py imports nemo_gym (read as text: nothing of it runs here)."""
    try:
        return bool(_NEMO_GYM_IMPORT.search(app_path.read_text(encoding="utf-8", errors="replace")))
    except OSError:
        return False


def own_venv_python(folder: Path) -> Path | None:
    """Return the Python of the venv NeMo Gym built for a server folder (`gym env prefetch`), if there is one."""
    python = folder / ".venv" / "bin" / "python"
    return python if python.is_file() else None


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def nemo_gym_config(global_config: dict[str, Any], instance: tuple[str, str, str], port: int) -> dict[str, Any]:
    """Return the merged config NeMo Gym's launcher would hand the server: its block on `port`, a head server."""
    config = json.loads(json.dumps(global_config, default=str))
    name, server_type, implementation = instance
    block = config.setdefault(name, {}).setdefault(server_type, {}).setdefault(implementation, {})
    block["host"], block["port"] = "127.0.0.1", port
    # Nothing listens there: a server process only reads the head server's address (no launcher runs here).
    config.setdefault(_HEAD_SERVER, {"host": "127.0.0.1", "port": free_port()})
    config.setdefault(_DRY_RUN, False)
    return config


def wait_until_answering(
    process: subprocess.Popen[bytes],
    url: str,
    timeout: float,
    *,
    ready: Callable[[int], bool] = lambda status: status < 500,
) -> int | None:
    """Poll GET `url` until its status is `ready`: return None then, or the exit code if `process` ended first.

    Raise TimeoutError after `timeout` seconds. Loopback only: proxy settings of the environment are ignored.
    """
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0, trust_env=False) as client:
        while True:
            code = process.poll()
            if code is not None:
                return code
            try:
                if ready(client.get(url).status_code):
                    return None
            except httpx.HTTPError:
                pass  # not listening yet
            if time.monotonic() > deadline:
                raise TimeoutError(url)
            time.sleep(_POLL_S)


@dataclass
class ServerProcess:
    """One server started in its own process; `start()` returns its base URL once it answers, `stop()` ends it."""

    folder: Path
    app_path: Path
    python: Path
    instance: tuple[str, str, str]
    global_config: dict[str, Any]
    startup_timeout: float
    shown_app: str = "app.py"
    process: subprocess.Popen[bytes] | None = None
    url: str = ""
    _log: IO[bytes] | None = field(default=None, repr=False)

    @functools.cached_property
    def nemo_gym(self) -> bool:
        """Return whether the server starts the NeMo Gym way (python app.py) rather than through gym_conform."""
        return is_nemo_gym_app(self.app_path)

    def command_text(self) -> str:
        """Return how the server is started, for the summary."""
        if self.nemo_gym:
            return f"{self.python} {self.app_path.name} (as NeMo Gym starts it)"
        return f"{self.python} -m gym_conform.server.serve"

    def start(self) -> str:
        """Start the server and wait until GET / answers; raise ServerError (with its output's tail) if it cannot."""
        port = free_port()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        if self.nemo_gym:
            command = [str(self.python), self.app_path.name]
            env[CONFIG_DICT_ENV] = json.dumps(nemo_gym_config(self.global_config, self.instance, port))
            env[CONFIG_PATH_ENV] = self.instance[0]
        else:
            command = [str(self.python), "-m", "gym_conform.server.serve", str(self.folder), "--port", str(port)]
        self._log = tempfile.TemporaryFile(prefix="gym-conform-server-")
        try:
            # Same process group as the check worker: killing a hung worker's group stops this server too.
            self.process = subprocess.Popen(
                command, cwd=self.folder, env=env, stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log
            )
        except OSError as error:
            self.stop()
            raise ServerError(
                f"the server's Python {self.python} could not be started: {error.strerror or error}",
                code="server.process_start",
                location=Location(self.shown_app),
                hint="give a Python that exists (--gym-server-python), or build the server's venv "
                "(NeMo Gym: `gym env prefetch`)",
            ) from None
        self.url = f"http://127.0.0.1:{port}"
        self._wait_until_answering()
        return self.url

    def _wait_until_answering(self) -> None:
        assert self.process is not None
        try:
            code = wait_until_answering(self.process, self.url + "/", self.startup_timeout)
        except TimeoutError:
            tail = self.output_tail()
            self.stop()
            raise ServerError(
                f"the server's process ({self.command_text()}) did not answer GET / within "
                f"{self.startup_timeout:g} s" + (f"; its last output: {tail}" if tail else ""),
                code="server.process_timeout",
                location=Location(self.shown_app),
                hint="raise --gym-startup-timeout if the server is only slow to start, else find where "
                "its start-up waits",
            ) from None
        if code is not None:
            tail = self.output_tail()
            self.stop()
            raise ServerError(
                f"the server's process ({self.command_text()}) exited with {code} before it answered"
                + (f"; its last output: {tail}" if tail else ""),
                code="server.process_exited",
                location=Location(self.shown_app),
                hint="run the same command in the folder to see the whole output; a missing package "
                "belongs in the server's requirements.txt and its venv",
            )

    def output_tail(self) -> str:
        """Return the last lines the server printed, one line, shortened (never the whole log)."""
        if self._log is None:
            return ""
        self._log.seek(0)
        lines = self._log.read().decode("utf-8", errors="replace").strip().splitlines()
        text = " | ".join(line.strip() for line in lines[-_LOG_TAIL_LINES:])
        # The end says most (the exception); an escaped line keeps a hostile output off the terminal.
        return shortened(text[-_LOG_TAIL_CHARS:] if len(text) > _LOG_TAIL_CHARS else text, _LOG_TAIL_CHARS + 200)

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after a grace period) and drop its output."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=_STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None


def chosen_python(folder: Path, given: str | None, shown: str) -> tuple[Path, str | None]:
    """Return the Python a server runs in, and a note on where it came from (None: the one running the checks).

    --gym-server-python, else the folder's own .venv, else a venv built (once, cached) from its
    requirements.txt, else the Python running the checks.
    """
    if given:
        return Path(given), None
    own = own_venv_python(folder)
    if own is not None:
        return own, None
    if (folder / REQUIREMENTS).is_file():
        return requirements_venv(folder, shown)
    return Path(sys.executable), None
