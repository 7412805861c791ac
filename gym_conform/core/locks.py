"""One writer per output directory: a lock file holding the writer's pid, released even if the writer dies."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

from gym_conform.errors import GymConformError, Location

LOCK_NAME = ".gym-conform.lock"
# `atomic_output`'s temporary siblings: `.<name>.<8 random characters>.tmp`.
_TEMPORARY = re.compile(r"\..+\.[A-Za-z0-9_]{8}\.tmp")


class OutputLockedError(GymConformError):
    """Another process is writing into the same output directory (code `output.locked`)."""

    code = "output.locked"


def output_directory(path: str | Path) -> Path:
    """Create the output directory (and its parents) if missing; refuse a path that is a file."""
    directory = Path(path)
    if directory.exists() and not directory.is_dir():
        raise GymConformError(
            "the output directory is a file, not a directory",
            code="output.not_directory",
            location=Location(str(directory)),
            hint="choose another output directory, or move that file away; nothing was written",
        )
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@contextlib.contextmanager
def directory_lock(path: str | Path, command: str) -> Iterator[Path]:
    """Hold the output directory's lock for the block, or refuse at once, naming the holder.

    The lock is an `flock` on `<dir>/.gym-conform.lock`: the kernel drops it when its holder exits, however it
    exits, so a killed run never blocks the next one. The file is removed when the block ends.
    """
    directory = output_directory(path)
    lock_path = directory / LOCK_NAME
    while True:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise OutputLockedError(
                f"another run is writing into this directory: {holder}",
                location=Location(str(directory)),
                hint=f"wait for it to finish, or give another output directory; the lock ({LOCK_NAME}) goes "
                "away by itself when that process ends, however it ends",
            ) from None
        # The holder before us may have removed the file after we opened it: lock the file now at the path.
        try:
            same = os.stat(lock_path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{command} (pid {os.getpid()}) since {time.strftime('%H:%M:%S')}\n".encode())
        _remove_orphans(directory)
        yield directory
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(lock_path)
        os.close(fd)


def _remove_orphans(directory: Path) -> None:
    """Remove temporary files a killed writer left: only the lock holder writes here, and it has not started."""
    for entry in directory.iterdir():
        if _TEMPORARY.match(entry.name) and entry.is_file():
            with contextlib.suppress(FileNotFoundError):
                entry.unlink()


def _read_holder(fd: int) -> str:
    try:
        text = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    return text or "a process that has not written its pid yet"
