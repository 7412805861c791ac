"""Files: atomic output (temporary sibling, then rename), and inputs opened only when they are regular files."""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from gym_conform.errors import GymConformError, Location

_KINDS = (
    (stat.S_ISDIR, "directory"),
    (stat.S_ISFIFO, "FIFO (named pipe)"),
    (stat.S_ISSOCK, "socket"),
    (stat.S_ISCHR, "character device"),
    (stat.S_ISBLK, "block device"),
)


class NotRegularFileError(GymConformError):
    """An input path names a directory, FIFO, socket or device: refused before it is opened for reading."""

    code = "file.not_regular"


def _kind(mode: int) -> str | None:
    return next((name for test, name in _KINDS if test(mode)), None if stat.S_ISREG(mode) else "special file")


def not_regular(path: str | os.PathLike[str], what: str, kind: str) -> NotRegularFileError:
    """Return the error for an input that is not a regular file."""
    hint = (
        "give the path of a file inside that directory, not the directory itself"
        if kind == "directory"
        else "give the path of a regular file: a pipe, socket or device is never read (it could block or never end)"
    )
    return NotRegularFileError(
        f"{what} is a {kind}, not a regular file; it was not read", location=Location(str(path)), hint=hint
    )


def open_regular(path: str | os.PathLike[str], what: str = "input file") -> IO[bytes]:
    """Open a regular file for binary reading; refuse a directory, FIFO, socket or device without blocking on it.

    The type is checked before opening (stat), and again on the opened descriptor: the open itself is
    non-blocking, so a FIFO swapped in between cannot hang the process waiting for a writer.
    """
    kind = _kind(os.stat(path).st_mode)
    if kind is not None:
        raise not_regular(path, what, kind)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        kind = _kind(os.fstat(fd).st_mode)
        if kind is not None:
            raise not_regular(path, what, kind)
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def file_identity(info: os.stat_result) -> tuple[int, int, int, int]:
    """Return what tells one version of a file from another: device, inode, size, modification time."""
    return info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str], mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Yield a file handle whose content replaces `path` only if the block finishes without error."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    binary = "b" in mode
    try:
        with os.fdopen(fd, mode, encoding=None if binary else encoding, newline=None if binary else "") as handle:
            yield handle
        os.replace(tmp_name, target)
    except BaseException:
        # Covers KeyboardInterrupt too: an interrupted run must not leave temp files behind.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    """Replace `path` with `text` atomically."""
    with atomic_output(path) as handle:
        handle.write(text)


def atomic_copy(source: str | Path, target: str | Path, chunk_size: int = 1 << 20) -> None:
    """Copy `source` to `target` atomically."""
    with open(source, "rb") as src, atomic_output(target, "wb") as dst:
        while chunk := src.read(chunk_size):
            dst.write(chunk)


def display_path(path: str | Path) -> str:
    """Show a path relative to the working directory when it lies below it, else as given."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)
