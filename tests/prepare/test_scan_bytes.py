"""Strict bytes: every line not UTF-8, with a BOM or NUL, a lone surrogate escape or too long is a located problem."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from gym_conform.core.jsonl import MAX_LINE_BYTES
from gym_conform.errors import Location
from gym_conform.prepare import workers
from gym_conform.prepare.plan import DatasetJob
from gym_conform.prepare.workers import scan_job
from tests.conftest import math_row

GOOD = json.dumps(math_row("What is 2+2?", "4")).encode()
BAD = {
    "latin-1": b'{"responses_create_params": {"input": "caf\xe9"}, "expected_answer": "1"}',
    "bom": b"\xef\xbb\xbf" + GOOD,
    "nul": b'{"responses_create_params": {"input": "a\x00b"}, "expected_answer": "1"}',
    "surrogate": json.dumps(math_row("cut \ud83d here", "1")).encode(),
    "cesu": b'{"responses_create_params": {"input": "\xed\xa0\x80"}, "expected_answer": "1"}',
}
CODES = {
    "latin-1": "row.encoding",
    "bom": "row.bom",
    "nul": "row.nul",
    "surrogate": "row.surrogate",
    "cesu": "row.encoding",
}


def job(path: Path) -> DatasetJob:
    dataset = SimpleNamespace(name="train", type="train", num_repeats=1)
    return DatasetJob("agent", dataset, path, Location(str(path)))


def scan(path: Path, num_workers: int = 1, max_line_bytes: int = MAX_LINE_BYTES, sink_path: Path | None = None):
    with open(sink_path or path.with_suffix(".out"), "wb") as sink:
        return scan_job(job(path), sink, num_workers, max_line_bytes=max_line_bytes)


@pytest.fixture
def tiny_shards(monkeypatch):
    monkeypatch.setattr(workers, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(workers, "shard_size", lambda total, count: 400)


@pytest.mark.parametrize("num_workers", [1, 2])
def test_each_kind_of_bad_bytes_is_a_problem_at_its_line_with_the_file_offset(tmp_path, tiny_shards, num_workers):
    lines = []
    for kind in BAD:
        lines += [GOOD, GOOD, BAD[kind]]
    path = tmp_path / "train.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")

    result = scan(path, num_workers)

    assert [p.location.line for p in result.problems] == [3, 6, 9, 12, 15]
    assert [p.code for p in result.problems] == [CODES[kind] for kind in BAD]
    latin, _, nul, surrogate, cesu = (p.message for p in result.problems)
    data = path.read_bytes()
    e9, ed, zero = (data.index(byte) for byte in (b"\xe9", b"\xed", b"\x00"))
    assert f"byte 0xe9 at column 43 (file offset {e9})" in latin
    assert f"byte 0xed at column 40 (file offset {ed})" in cesu
    assert f"(file offset {zero})" in nul
    assert "column 73" in surrogate


def test_the_same_rows_written_correctly_pass(tmp_path):
    fixed = [BAD["latin-1"].decode("latin-1").encode(), GOOD, json.dumps(math_row("emoji \U0001f600", "1")).encode()]
    path = tmp_path / "train.jsonl"
    path.write_bytes(b"\n".join(fixed) + b"\n")

    assert scan(path).problems == []


@pytest.mark.parametrize("num_workers", [1, 2])
def test_an_overlong_line_is_reported_and_ends_the_scan(tmp_path, tiny_shards, num_workers):
    path = tmp_path / "train.jsonl"
    long_row = json.dumps(math_row("x" * 3000, "1")).encode()
    path.write_bytes(b"\n".join([GOOD] * 5 + [long_row] + [BAD["nul"]] + [GOOD] * 5) + b"\n")

    result = scan(path, num_workers, max_line_bytes=2048)

    assert [(p.location.line, p.code) for p in result.problems] == [(6, "row.too_long")]
    assert "2,048 bytes" in result.problems[0].message
    assert not scan(path, num_workers, max_line_bytes=4096).problems[0].code == "row.too_long"


def test_a_sparse_file_of_nul_bytes_is_refused_after_a_few_megabytes(tmp_path):
    path = tmp_path / "train.jsonl"
    with open(path, "wb") as handle:
        handle.write(GOOD + b"\n")
        handle.truncate(8 << 30)  # 8 GiB, almost all of it a hole: reading it whole would take minutes

    result = scan(path, num_workers=2)

    assert [(p.location.line, p.code) for p in result.problems] == [(2, "row.nul")]
    assert "rest of the file was not read" in result.problems[0].message
    assert os.stat(path).st_size == 8 << 30


def test_a_file_that_changes_while_it_is_read_is_refused(tmp_path, tiny_shards, monkeypatch):
    path = tmp_path / "train.jsonl"
    path.write_bytes(b"\n".join([GOOD] * 40) + b"\n")
    real = workers.line_aligned_ranges

    def then_truncate(*args, **kwargs):
        ranges = real(*args, **kwargs)
        with open(path, "r+b") as handle:
            handle.truncate(100)
        return ranges

    monkeypatch.setattr(workers, "line_aligned_ranges", then_truncate)
    with pytest.raises(Exception) as caught:
        scan(path, num_workers=1, sink_path=tmp_path / "out.jsonl")
    assert getattr(caught.value, "code", None) == "data.changed"
