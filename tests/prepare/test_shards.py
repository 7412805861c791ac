"""Shards start at line starts, cover the file exactly, and respect multi-byte characters and CRLF."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gym_conform.prepare.shards import MAX_SHARD_BYTES, MIN_SHARD_BYTES, line_aligned_ranges, shard_size

LINES = st.lists(st.text(alphabet=st.sampled_from(list("a{}é😀\r ")), max_size=12), max_size=20)


@settings(max_examples=300, deadline=None)
@given(LINES, st.booleans(), st.integers(min_value=1, max_value=40))
def test_ranges_cover_the_file_and_start_at_line_starts(tmp_path_factory, lines, trailing_newline, target):
    data = "\n".join(lines).encode("utf-8") + (b"\n" if trailing_newline and lines else b"")
    path = tmp_path_factory.mktemp("shards") / "data.jsonl"
    path.write_bytes(data)
    ranges = line_aligned_ranges(path, target)
    assert b"".join(data[s:e] for s, e in ranges) == data
    for start, end in ranges:
        assert start < end
        assert start == 0 or data[start - 1 : start] == b"\n"
    # Cutting only at newlines keeps every line (and every UTF-8 character) whole.
    assert [line for s, e in ranges for line in data[s:e].split(b"\n")[:-1]] == data.split(b"\n")[:-1]


def test_empty_file_has_no_ranges(tmp_path: Path):
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    assert line_aligned_ranges(path, 10) == []


def test_a_line_longer_than_the_target_stays_whole(tmp_path: Path):
    path = tmp_path / "long.jsonl"
    path.write_bytes(b"x" * 100 + b"\n" + b"y\n")
    assert line_aligned_ranges(path, 10) == [(0, 101), (101, 103)]


@pytest.mark.parametrize(("size", "workers", "expected"), [(0, 2, MIN_SHARD_BYTES), (10**12, 2, MAX_SHARD_BYTES)])
def test_shard_size_is_clamped(size, workers, expected):
    assert shard_size(size, workers) == expected
