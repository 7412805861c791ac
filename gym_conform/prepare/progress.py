"""A one-line progress display (rows/s, percent, ETA) for long scans on a terminal; silent anywhere else."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

# Scans shorter than this never draw anything; redraws are at most this often.
SHOW_AFTER_SECONDS = 2.0
REDRAW_SECONDS = 0.25


class ProgressLine:
    """Progress of one dataset scan, drawn on `stream` with carriage returns when it is a terminal."""

    def __init__(
        self,
        label: str,
        total_bytes: int,
        stream: TextIO | None = None,
        *,
        enabled: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.total_bytes = max(1, total_bytes)
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = _is_terminal(self.stream) if enabled is None else enabled
        self._clock = clock
        self._started = clock()
        self._last_draw = 0.0
        self._width = 0
        self.bytes_done = 0
        self.rows_done = 0

    def advance(self, bytes_read: int, rows: int) -> None:
        """Count `bytes_read` more bytes and `rows` more valid rows, redrawing when it is time."""
        self.update(self.bytes_done + bytes_read, self.rows_done + rows)

    def update(self, bytes_done: int, rows_done: int) -> None:
        """Set the totals so far, redrawing when it is time."""
        self.bytes_done = bytes_done
        self.rows_done = rows_done
        if not self.enabled:
            return
        now = self._clock()
        elapsed = now - self._started
        if elapsed < SHOW_AFTER_SECONDS or now - self._last_draw < REDRAW_SECONDS:
            return
        self._last_draw = now
        self._draw(self.render(elapsed))

    def render(self, elapsed: float) -> str:
        """Return the progress text for `elapsed` seconds into the scan."""
        fraction = min(1.0, self.bytes_done / self.total_bytes)
        rate = self.rows_done / elapsed if elapsed > 0 else 0.0
        remaining = elapsed * (1 - fraction) / fraction if fraction > 0 else None
        eta = "?" if remaining is None else _clock_text(remaining)
        return f"{self.label}: {fraction:4.0%} {self.rows_done:,} rows, {rate:,.0f} rows/s, ETA {eta}"

    def close(self) -> None:
        """Erase the line, if one was drawn."""
        if self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0

    def _draw(self, text: str) -> None:
        padding = " " * max(0, self._width - len(text))
        self.stream.write("\r" + text + padding)
        self.stream.flush()
        self._width = max(self._width, len(text))


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _clock_text(seconds: float) -> str:
    seconds = int(round(seconds))
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"
