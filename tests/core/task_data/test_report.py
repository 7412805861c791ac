"""0.7.0's per-file report: counts, the printed text, and when `gym dataset collate` fails."""

from __future__ import annotations

import pytest

from gym_conform.core.task_data import TaskDataReport, effective_validation

from .conftest import Project

SCHEMA = """
from typing import Optional
from pydantic import BaseModel, ConfigDict, Field


class TaskData(BaseModel):
    model_config = ConfigDict(extra="allow")
    answer: int
    rubric: Optional[str] = Field(default=None, json_schema_extra={"legacy_location": "verifier_metadata"})
"""


@pytest.mark.parametrize(
    ("setting", "mode", "effective"),
    [
        ("auto", "example_validation", "error"),
        ("auto", "train_preparation", "warn"),
        ("warn", "example_validation", "warn"),
        ("error", "train_preparation", "error"),
        ("off", "example_validation", "off"),
    ],
)
def test_auto_means_error_for_examples_and_warn_for_training(setting: str, mode: str, effective: str) -> None:
    assert effective_validation(setting, mode) == effective


def test_the_report_counts_and_prints_as_nemo_gym_does(project: Project) -> None:
    schema = project.agree(project.server("counted", SCHEMA), [])
    report = TaskDataReport(server_name="counted", dataset_fpath="data/example.jsonl")
    rows = [
        {"answer": 1},
        {"answer": "x"},
        {"answer": 2, "rubric": "r"},
        {"answer": 3, "extra": 1, "verifier_metadata": {"answer": 4}},
        *({"answer": f"bad{i}"} for i in range(6)),
    ]
    for index, row in enumerate(rows):
        report.add(index, schema.validate_row(row))
    assert (report.rows, report.error_rows) == (10, 7)
    assert report.conflicting_keys == {"answer": 1}
    assert report.misplaced_keys == {"rubric": 1}
    assert report.unknown_keys == {"extra": 1}
    lines = report.summary().splitlines()
    assert lines[0] == "data/example.jsonl: 7/10 rows failed task_data validation against the `counted` schema."
    assert lines[1].startswith("  row 1: 1 validation error for TaskData; answer;   Input should be a valid integer")
    assert [line.split(":")[0] for line in lines[1:6]] == ["  row 1", "  row 4", "  row 5", "  row 6", "  row 7"]
    assert lines[6:] == [
        "  ... and 2 more rows",
        "  keys with DIFFERENT values top-level vs verifier_metadata (ambiguous): answer (1 rows)",
        "  keys this server's wire reads from verifier_metadata but found top-level (the server will not see them): "
        "rubric (1 rows)",
        "  keys not declared by the schema (typo, or missing schema field?): extra (1 rows)",
    ]
    assert report.outcome("error") == "fail" and report.outcome("warn") == "warn" and report.outcome("off") == "ok"


def test_unknown_keys_alone_fail_under_error_as_in_0_7_0(project: Project) -> None:
    schema = project.agree(project.server("unknown_only", SCHEMA), [])
    report = TaskDataReport(server_name="unknown_only", dataset_fpath="d.jsonl")
    report.add(0, schema.validate_row({"answer": 1, "note": "x"}))
    assert not report.clean and report.error_rows == 0
    assert report.outcome(effective_validation("auto", "example_validation")) == "fail"
    assert report.outcome(effective_validation("auto", "train_preparation")) == "warn"
    clean = TaskDataReport(server_name="unknown_only", dataset_fpath="d.jsonl")
    clean.add(0, schema.validate_row({"answer": 1}))
    assert clean.clean and clean.outcome("error") == "ok"
