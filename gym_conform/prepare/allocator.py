"""Keep the C allocator from handing each multi-megabyte buffer of a scan back to the kernel.

A scan reads 4 MB blocks and builds output of that size, over and over. glibc serves such sizes with a fresh
`mmap` (and returns them with `munmap`), so the kernel zeroes and maps every page again: about a second of
system time per gigabyte read. Raising the mmap and trim thresholds lets freed blocks be reused from the
heap; the process keeps at most `TRIM_THRESHOLD` bytes it no longer uses. Not glibc (or not Linux): no-op.
"""

from __future__ import annotations

import ctypes
import functools
import sys

# Larger than any buffer a scan allocates (blocks and shard outputs are at most a few tens of MB).
MMAP_THRESHOLD = 64 << 20
TRIM_THRESHOLD = 64 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


@functools.cache
def reuse_large_buffers() -> bool:
    """Set the thresholds once per process (forked workers inherit them); return whether they were set."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False  # a libc without mallopt (musl): nothing to tune
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
