"""The progress line stays silent off a terminal and for short scans, and shows rows/s and ETA otherwise."""

from __future__ import annotations

import io

from gym_conform.prepare.progress import ProgressLine


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_silent_when_not_a_terminal():
    stream, clock = io.StringIO(), Clock()
    progress = ProgressLine("train.jsonl", 1000, stream, clock=clock)
    clock.now += 10
    progress.advance(500, 5000)
    progress.close()
    assert stream.getvalue() == ""


def test_silent_for_a_short_scan_on_a_terminal():
    stream, clock = Terminal(), Clock()
    progress = ProgressLine("train.jsonl", 1000, stream, clock=clock)
    clock.now += 0.5
    progress.advance(1000, 100)
    progress.close()
    assert stream.getvalue() == ""


def test_rate_and_eta_on_a_terminal_then_erased():
    stream, clock = Terminal(), Clock()
    progress = ProgressLine("train.jsonl", 1000, stream, clock=clock)
    clock.now += 4
    progress.advance(250, 40_000)
    shown = stream.getvalue()
    assert shown.startswith("\rtrain.jsonl:  25% 40,000 rows, 10,000 rows/s, ETA 12s")
    progress.close()
    assert stream.getvalue().endswith("\r" + " " * (len(shown) - 1) + "\r")
