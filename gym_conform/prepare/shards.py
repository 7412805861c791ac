"""Cut a dataset file into byte ranges that start at line starts, for workers to scan in parallel."""

from __future__ import annotations

import os
from typing import IO

from gym_conform.core.files import open_regular

MIN_SHARD_BYTES = 1 << 20
MAX_SHARD_BYTES = 32 << 20
# Several shards per worker keep both busy to the end and let the parent append finished parts early.
SHARDS_PER_WORKER = 8


def usable_cpus() -> int:
    """Return the number of CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def shard_size(total_bytes: int, workers: int) -> int:
    """Return the target shard size for a file of `total_bytes` split among `workers`."""
    return max(MIN_SHARD_BYTES, min(MAX_SHARD_BYTES, total_bytes // max(1, workers * SHARDS_PER_WORKER)))


def line_aligned_ranges(
    path: str | os.PathLike[str], target: int, max_line_bytes: int | None = None
) -> list[tuple[int, int]]:
    """Return consecutive [start, end) ranges covering the file, each about `target` bytes, cut after a newline.

    When no newline follows a cut point within `max_line_bytes`, the rest of the file is one range (its scan
    then stops at the overlong line): a file without line ends is never read through to find one.
    """
    ranges: list[tuple[int, int]] = []
    start = 0
    with open_regular(path, "dataset file") as handle:
        total = os.fstat(handle.fileno()).st_size
        while start < total:
            end = _next_line_start(handle, start + target, total, max_line_bytes)
            ranges.append((start, end))
            start = end
    return ranges


def _next_line_start(handle: IO[bytes], offset: int, total: int, limit: int | None = None) -> int:
    """Return the first line start at or after `offset` (the file size when no newline follows within `limit`)."""
    if offset >= total:
        return total
    # A line starts at `offset` when the byte before it is a newline.
    handle.seek(offset - 1)
    position = offset - 1
    while limit is None or position - offset < limit:
        block = handle.read(1 << 16)
        if not block:
            return total
        found = block.find(b"\n")
        if found >= 0:
            return position + found + 1
        position += len(block)
    return total
