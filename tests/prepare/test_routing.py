"""The task_source routing key on every scan path (template regions, spliced lines, re-dumped rows)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gym_conform.core.metrics.dataset_metrics import DatasetMetrics
from gym_conform.prepare.scan import RangeTask, scan_range


def rows(count: int) -> list[dict]:
    """Rows of one shape (template regions), with legacy routing keys and odd spacing sprinkled in."""
    out = []
    for i in range(count):
        row = {"responses_create_params": {"input": [{"role": "user", "content": f"q {i}"}]}, "answer": str(i)}
        if i % 97 == 5:
            row["agent_ref"] = {"type": "responses_api_agents", "name": "old"}
        if i % 89 == 7:
            row = {"task_source": "stale", **row}
        out.append(row)
    return out


def as_070(row: dict, name: str) -> str:
    """0.7.0's collate: json.dumps of the row without agent_ref and with task_source."""
    row = dict(row)
    row.pop("agent_ref", None)
    row["task_source"] = name
    return json.dumps(row) + "\n"


@pytest.mark.parametrize("repeats", [1, 3])
def test_task_source_output_is_070s_bytes_on_every_path(tmp_path: Path, repeats: int) -> None:
    data = rows(3000)
    lines = [json.dumps(r) for r in data]
    lines[11] = json.dumps(data[11], indent=None, separators=(",", ":"))  # not json.dumps form: re-dumped
    path = tmp_path / "train.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with open(tmp_path / "out.jsonl", "wb") as sink:
        scan = scan_range(RangeTask(str(path), 0, path.stat().st_size, "tiny", repeats, routing="task_source"), sink)
    assert scan.problems == [] and scan.rows == 3000
    assert (tmp_path / "out.jsonl").read_text() == "".join(as_070(r, "tiny") * repeats for r in data)
    metrics = DatasetMetrics()
    scan.trace.replay(metrics, repeats)
    expected = DatasetMetrics()
    for row in data:
        expected.observe_row(row, repeats)
    assert metrics.to_json() == expected.to_json()  # metrics see the source rows, routing keys included
