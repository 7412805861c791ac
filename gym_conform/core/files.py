"""Files: atomic output (temporary sibling, then rename), and inputs opened only when they are regular files."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import signal
import stat
import tempfile
import threading
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


def file_kind(path: str | os.PathLike[str]) -> str | None:
    """Return what a path is when it is not a regular file ("directory", "FIFO (named pipe)", ...), else None."""
    return _kind(os.stat(path).st_mode)


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


# Outputs held back by `staged_outputs` blocks (innermost last), and how many files were put in place so far.
_staging: list[list[tuple[str, Path]]] = []
_committed = 0
_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def committed_outputs() -> int:
    """Return how many output files this process has put in place (a front end's "was anything written?")."""
    return _committed


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str], mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Yield a file handle whose content replaces `path` only if the block finishes without error.

    Inside `staged_outputs`, the finished file waits (as its temporary sibling) until that block ends.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    binary = "b" in mode
    try:
        with os.fdopen(fd, mode, encoding=None if binary else encoding, newline=None if binary else "") as handle:
            yield handle
        if _staging:
            _staging[-1].append((tmp_name, target))
        else:
            _put_in_place([(tmp_name, target)])
    except BaseException as exc:
        # Covers KeyboardInterrupt too: an interrupted run must not leave temp files behind.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        if isinstance(exc, OSError) and exc.filename is None:
            exc.filename = str(target)  # a failed write names no file: this is the one being written
        raise


@contextlib.contextmanager
def staged_outputs() -> Iterator[None]:
    """Hold back every `atomic_output` of the block and put them all in place when it ends without error.

    On any exception (a signal, a full disk) every held-back file is removed: a run leaves all of its outputs
    or none of them, and earlier outputs stay as they were.
    """
    staged: list[tuple[str, Path]] = []
    _staging.append(staged)
    try:
        yield
    except BaseException:
        _discard(staged)
        raise
    finally:
        _staging.remove(staged)
    if _staging:
        _staging[-1].extend(staged)
    else:
        _put_in_place(staged)


def _put_in_place(staged: list[tuple[str, Path]]) -> None:
    """Rename finished temporary files over their targets, with SIGINT and SIGTERM held until all are done."""
    global _committed
    masked = threading.current_thread() is threading.main_thread()
    if masked:
        signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    try:
        for index, (tmp_name, target) in enumerate(staged):
            try:
                os.replace(tmp_name, target)
            except BaseException:
                _discard(staged[index:])
                raise
            _committed += 1
    finally:
        if masked:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)


def _discard(staged: list[tuple[str, Path]]) -> None:
    for tmp_name, _ in staged:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)


_OS_HINTS = {
    errno.ENOSPC: "the disk (or quota) is full: free some space there, or write elsewhere",
    errno.EDQUOT: "the disk quota is used up: free some space, or write elsewhere",
    errno.EFBIG: "the file would exceed a size limit (ulimit -f, or the filesystem's): raise it or write elsewhere",
    errno.EROFS: "that filesystem is mounted read-only: write somewhere writable",
    errno.EACCES: "permission denied: check the owner and mode of the path and its folders (ls -ld)",
    errno.EPERM: "the operation is not permitted there (immutable file, or a mount that forbids it)",
    errno.ENOENT: "the path does not exist (was it moved or removed while the command ran?)",
    errno.ENOTDIR: "a part of the path is a file where a directory is needed",
    errno.EEXIST: "something already exists at that path where a directory is needed",
    errno.EISDIR: "the path is a directory where a file is needed",
    errno.EMFILE: "too many open files: raise the limit (ulimit -n)",
    errno.EIO: "the device reported an I/O error: check the disk",
}


def os_error(exc: OSError, what: str | None = None) -> GymConformError:
    """Turn an OSError into a one-line error: the path, the system's message and what to do about it."""
    name = errno.errorcode.get(exc.errno or 0, "error")
    reason = exc.strerror or str(exc)
    message = f"{what}: {reason}" if what else reason
    paths = [str(p) for p in (exc.filename, exc.filename2) if p is not None]
    if len(paths) > 1:
        message += f" (renaming to {paths[1]})"
    hint = _OS_HINTS.get(exc.errno or 0, "check the path and try again")
    hint += "; nothing was left half-written (earlier outputs are unchanged)"
    return GymConformError(message, location=Location(paths[0] if paths else None), hint=hint, code=f"os.{name}")


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
