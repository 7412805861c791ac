"""Process mode's venv for a server folder that has none: built once from its requirements.txt, then cached.

The venv sits on top of the Python running the checks (a .pth file adds that Python's site directories after
its own): what requirements.txt adds is installed into it, what that Python already has (gym-conform, nemo-gym,
FastAPI) is seen through, editable installs included. It is keyed
by the folder's name and a hash of its requirements.txt and that Python, built under a lock (two pytest-xdist
workers wait for one build), and marked complete only at the end: a build cut short is built again.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from gym_conform.core.excerpt import shortened
from gym_conform.errors import Location, ServerError

CACHE_ENV = "GYM_CONFORM_VENV_CACHE"
REQUIREMENTS = "requirements.txt"
_COMPLETE = ".gym-conform-complete"
BUILD_TIMEOUT_S = 900.0


def cache_root() -> Path:
    """Return where built venvs are kept: $GYM_CONFORM_VENV_CACHE, else ~/.cache/gym-conform/venvs."""
    given = os.environ.get(CACHE_ENV)
    if given:
        return Path(given)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gym-conform" / "venvs"


def venv_for(folder: Path, requirements: Path, base: Path) -> Path:
    """Return the cache directory of the venv for `folder`'s requirements on top of `base`."""
    digest = hashlib.sha256(requirements.read_bytes() + b"\0" + str(base).encode()).hexdigest()[:16]
    return cache_root() / f"{folder.name}-{digest}"


def requirements_venv(folder: Path, shown: str, *, base: Path | None = None) -> tuple[Path, str]:
    """Return the Python of the folder's cached venv (built now if missing) and a note saying which happened.

    Raise ServerError (code `server.venv_build`) with pip's last words when requirements.txt does not install.
    """
    base = base or Path(sys.executable)
    requirements = folder / REQUIREMENTS
    venv = venv_for(folder, requirements, base)
    python = venv / "bin" / "python"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f"{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, or when this process dies
        if (venv / _COMPLETE).is_file():
            return python, f"the venv built from {shown}/{REQUIREMENTS} (cached at {venv})"
        shutil.rmtree(venv, ignore_errors=True)
        started = time.monotonic()
        try:
            _run([str(base), "-m", "venv", str(venv)], folder)
            _see_through(python, base)
            pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "-r", REQUIREMENTS]
            _run(pip, folder)
        except _BuildFailed as failed:
            shutil.rmtree(venv, ignore_errors=True)
            raise ServerError(
                f"building a venv from {shown}/{REQUIREMENTS} failed: {failed}",
                code="server.venv_build",
                location=Location(f"{shown}/{REQUIREMENTS}"),
                hint="fix requirements.txt so `pip install -r requirements.txt` works in the folder, or give the "
                "server a venv: NeMo Gym's `gym env prefetch` builds its .venv, --gym-server-python names one",
            ) from None
        (venv / _COMPLETE).touch()
        seconds = time.monotonic() - started
        return python, f"a venv built from {shown}/{REQUIREMENTS} in {seconds:.1f} s (cached at {venv})"


def _see_through(python: Path, base: Path) -> None:
    """Add `base`'s site directories to the new venv, after its own (its .pth files are processed too)."""
    ask = (
        "import json, sysconfig; paths = sysconfig.get_paths(); print(json.dumps([paths['purelib'], paths['platlib']]))"
    )
    found = subprocess.run([str(base), "-c", ask], capture_output=True, text=True, check=False)
    mine = subprocess.run([str(python), "-c", ask], capture_output=True, text=True, check=False)
    if found.returncode != 0 or mine.returncode != 0:
        raise _BuildFailed(f"could not read the site directories of {base}")
    site_dirs = list(dict.fromkeys(json.loads(found.stdout)))
    target = Path(json.loads(mine.stdout)[0])
    lines = [f"import site; site.addsitedir({directory!r})" for directory in site_dirs]
    (target / "gym-conform-base.pth").write_text("\n".join(lines) + "\n", encoding="utf-8")


class _BuildFailed(Exception):
    """A step of the build exited non-zero or ran past its time."""


def _run(command: list[str], folder: Path) -> None:
    try:
        done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise _BuildFailed(f"`{' '.join(command[-3:])}` took more than {BUILD_TIMEOUT_S:g} s") from None
    except OSError as error:
        raise _BuildFailed(f"{command[0]}: {error.strerror or error}") from None
    if done.returncode != 0:
        said = " | ".join(line.strip() for line in (done.stderr or done.stdout).strip().splitlines()[-6:])
        raise _BuildFailed(f"exit {done.returncode}: {shortened(said, 800)}")
