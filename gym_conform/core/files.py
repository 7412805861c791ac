"""Atomic file output: write to a temporary sibling, then rename, so no reader sees a partial file."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO


@contextlib.contextmanager
def atomic_output(path: str | Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
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
