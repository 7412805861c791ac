"""Several workers give the one-worker result byte for byte: collated lines, problems, metrics and sidecars."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from gym_conform.cli.prepare_data import command
from gym_conform.core.jsonl import parse_json_line
from gym_conform.core.metrics.dataset_metrics import DatasetMetrics
from gym_conform.errors import Location, ProblemsFound
from gym_conform.prepare import workers
from gym_conform.prepare.plan import DatasetJob
from gym_conform.prepare.workers import scan_job
from tests.conftest import dataset_yaml, tiny_config

AGENT = "tiny_simple_agent"
REF = {"type": "responses_api_agents", "name": AGENT}


def msg(text: str, **extra) -> str:
    return json.dumps({"responses_create_params": {"input": [{"role": "user", "content": text}]}, **extra})


AWKWARD_LINES = [
    msg("first", answer="1"),
    msg("plain ascii", answer="2", score=0.1),
    "",
    "   ",
    msg("crlf line", answer="3", score=0.2) + "\r",
    json.dumps({"responses_create_params": {"input": "caf\u00e9 \U0001f600"}, "answer": "\u00e9"}, ensure_ascii=False),
    msg("escaped \u00e9", answer="4", score=True),
    '{"responses_create_params":{"input":"compact","temperature":0.7},"answer":"5"}',
    msg("spaced  out   text", answer=["a", "b"], Temperature=3, meta={"k": [1, 2]}),
    msg("has agent_ref", agent_ref={"type": "x", "name": "old"}, answer="6"),
    msg('quote " and slash / and backslash \\', answer="7", score=-0.0),
    '{"responses_create_params": {"input": [{"role": "user", "content": "float forms"}], "temperature": 1e0}, "n": 1E2}',
    msg("last line without newline", answer="8", score=12345678901234567890),
]
BAD_LINES = [
    msg("ok", answer="1"),
    '{"responses_create_params": {"input": "x"',
    msg("ok", answer=2),  # answer turns numeric: a metrics.mixed_types problem
    "[1, 2]",
    '{"responses_create_params": {"input": [{"role": "usr", "content": "x"}]}}',
    '{"responses_create_params": {"input": "x", "temperature": NaN}}',
    "\udcff",
    msg("ok", answer="3"),
]


def write(path: Path, lines: list[str], copies: int = 1, newline_at_end: bool = True) -> Path:
    """Write the lines `copies` times."""
    body = "\n".join(lines * copies) + ("\n" if newline_at_end else "")
    path.write_bytes(body.encode("utf-8", "surrogateescape"))
    return path


def job(path: Path, repeats: int = 1) -> DatasetJob:
    dataset = SimpleNamespace(name="train", type="train", num_repeats=repeats)
    return DatasetJob(AGENT, dataset, path, Location(str(path)))


@pytest.fixture
def tiny_shards(monkeypatch):
    """Make every file big enough for workers and cut it into many small shards."""
    monkeypatch.setattr(workers, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(workers, "shard_size", lambda total, count: 300)


def run(path: Path, tmp_path: Path, num_workers: int, repeats: int = 1):
    out = tmp_path / f"out_{num_workers}.jsonl"
    with open(out, "wb") as sink:
        result = scan_job(job(path, repeats), sink, num_workers)
    return result, out.read_bytes()


def reference(lines: list[str], repeats: int) -> tuple[bytes, dict]:
    """NeMo Gym's collated bytes and the sequential metrics of the valid lines."""
    out, metrics = [], DatasetMetrics()
    for line in lines:
        text = line.removesuffix("\r")
        if not text.strip():
            continue
        row = parse_json_line(text)
        metrics.observe_row(row, repeats)
        row["agent_ref"] = REF
        out.append((json.dumps(row) + "\n") * repeats)
    return "".join(out).encode(), metrics.to_json()


@pytest.mark.parametrize("repeats", [1, 3])
def test_awkward_file_is_identical_with_one_and_two_workers(tmp_path, tiny_shards, repeats):
    path = write(tmp_path / "train.jsonl", AWKWARD_LINES, copies=4, newline_at_end=False)
    one, one_bytes = run(path, tmp_path, 1, repeats)
    two, two_bytes = run(path, tmp_path, 2, repeats)
    assert one.ok and two.ok
    assert one_bytes == two_bytes
    assert one.metrics.to_json() == two.metrics.to_json()
    assert one.lines_read == two.lines_read == len(AWKWARD_LINES) * 4
    expected_bytes, expected_metrics = reference(AWKWARD_LINES * 4, repeats)
    assert one_bytes == expected_bytes
    assert one.metrics.to_json() == expected_metrics


def test_problems_are_the_same_lines_in_the_same_order(tmp_path, tiny_shards):
    path = write(tmp_path / "train.jsonl", BAD_LINES, copies=5)
    one, _ = run(path, tmp_path, 1)
    two, two_bytes = run(path, tmp_path, 2)
    rendered = [p.render() for p in one.problems]
    assert rendered == [p.render() for p in two.problems]
    assert two_bytes == b""
    lines = [p.location.line for p in one.problems]
    assert lines == sorted(lines)
    assert f"{path}:10: JSON parse error" in "\n".join(rendered)
    assert "check quotes, commas and brackets at line 10" in "\n".join(rendered)
    assert sum("has both string and number" in r for r in rendered) == 5
    assert sum("invalid UTF-8" in r for r in rendered) == 5


def test_kind_clash_across_shards_is_reported_like_a_sequential_pass(tmp_path, tiny_shards):
    lines = [msg("s", answer="text")] * 12 + [msg("n", answer=7)] * 12
    path = write(tmp_path / "train.jsonl", lines)
    one, _ = run(path, tmp_path, 1)
    two, _ = run(path, tmp_path, 2)
    assert [p.render() for p in two.problems] == [p.render() for p in one.problems]
    assert [p.location.line for p in one.problems] == list(range(13, 25))


DATASETS = "\n".join(
    [
        dataset_yaml("train", "train", "data/train.jsonl", "num_repeats: 2\nlicense: MIT"),
        dataset_yaml("more", "train", "data/more.jsonl", "license: MIT"),
        dataset_yaml("validation", "validation", "data/validation.jsonl", "license: MIT"),
    ]
)


def test_whole_run_writes_identical_files_with_one_and_two_workers(tmp_path, tiny_shards, monkeypatch, capsys):
    (tmp_path / "data").mkdir()
    write(tmp_path / "data/train.jsonl", AWKWARD_LINES, copies=3)
    write(tmp_path / "data/more.jsonl", AWKWARD_LINES[1:], copies=2)
    write(tmp_path / "data/validation.jsonl", AWKWARD_LINES[:5])
    config = tiny_config(tmp_path, DATASETS)
    monkeypatch.chdir(tmp_path)
    outputs = {}
    for count in (1, 2):
        for sidecar in (tmp_path / "data").glob("*_metrics.json"):
            sidecar.unlink()
        argv = [
            f"+config_paths=[{config}]",
            "+mode=train_preparation",
            f"+output_dirpath=out{count}",
            f"+num_workers={count}",
        ]
        assert command(argv) == 0
        files = sorted((tmp_path / f"out{count}").iterdir()) + sorted((tmp_path / "data").glob("*_metrics.json"))
        outputs[count] = {p.name: p.read_bytes() for p in files}
    assert outputs[1] == outputs[2]
    assert set(outputs[1]) >= {"train.jsonl", "train_metrics.json", "validation.jsonl", "more_metrics.json"}
    assert "Finished!" in capsys.readouterr().out


def test_bad_rows_fail_the_run_the_same_way(tmp_path, tiny_shards, monkeypatch):
    (tmp_path / "data").mkdir()
    write(tmp_path / "data/train.jsonl", BAD_LINES, copies=3)
    write(tmp_path / "data/more.jsonl", AWKWARD_LINES)
    write(tmp_path / "data/validation.jsonl", AWKWARD_LINES)
    config = tiny_config(tmp_path, DATASETS)
    monkeypatch.chdir(tmp_path)
    reports = []
    for count in (1, 2):
        argv = [f"+config_paths=[{config}]", "+mode=train_preparation", "+output_dirpath=out", f"+num_workers={count}"]
        with pytest.raises(ProblemsFound) as caught:
            command(argv)
        reports.append(caught.value.render())
        assert not (tmp_path / "out/train.jsonl").exists()
        assert sorted(os.listdir(tmp_path / "out")) == ["validation.jsonl", "validation_metrics.json"]
    assert reports[0] == reports[1]
