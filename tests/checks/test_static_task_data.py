"""Tests for the `task_data` check: example rows against the server's TaskData, read without running it."""

from __future__ import annotations

import pytest

from gym_conform.checks import CheckFailed, CheckSettings, CheckSkipped, FolderContext, Level
from gym_conform.checks.static_task_data import check_task_data
from gym_conform.core.task_data import clear_cache
from tests.checks import CONFIG, ROWS, build_server, make_row

SCHEMA = """\
from pydantic import BaseModel, ConfigDict

open({marker!r}, "w").write("ran")  # a static reading never runs this


class TaskData(BaseModel):
    model_config = ConfigDict(extra="allow")
    expected_answer: str
"""


@pytest.fixture(autouse=True)
def _fresh_schemas():
    clear_cache()
    yield
    clear_cache()


def run(folder, root):
    check_task_data(FolderContext(folder, CheckSettings(level=Level.STATIC), root=root))


def server(tmp_path, rows=ROWS, config=None, schema=SCHEMA):
    folder = build_server(tmp_path, rows=rows, config=config)
    if schema is not None:
        (folder / "task_data.py").write_text(schema.format(marker=str(tmp_path / "ran.txt")))
    return folder


def test_rows_that_fit_the_schema_pass_and_no_repository_code_runs(tmp_path):
    run(server(tmp_path), tmp_path)

    assert not (tmp_path / "ran.txt").exists()


def test_every_bad_row_is_reported_at_its_line_and_field(tmp_path):
    rows = [ROWS[0], {**ROWS[1], "expected_answer": 4}, ROWS[2], {**ROWS[3], "expected_anwser": "8"}, ROWS[4]]

    with pytest.raises(CheckFailed) as raised:
        run(server(tmp_path, rows=rows), tmp_path)

    located = [(p.code, p.location.path, p.location.line, p.location.field) for p in raised.value.problems]
    assert located == [
        ("task_data.invalid", "resources_servers/alpha/data/example.jsonl", 2, "expected_answer"),
        ("task_data.unknown_key", "resources_servers/alpha/data/example.jsonl", 4, "expected_anwser"),
    ]
    assert "rows failed task_data validation against the `alpha` schema" in raised.value.summary


def test_an_undeclared_key_fails_as_0_7_0s_example_validation_does(tmp_path):
    rows = [make_row(1, difficulty="easy"), *ROWS[1:]]

    with pytest.raises(CheckFailed) as raised:
        run(server(tmp_path, rows=rows), tmp_path)

    (problem,) = raised.value.problems
    assert (problem.location.line, problem.location.field) == (1, "difficulty")
    assert "keys not declared by the schema" in raised.value.summary


def test_task_data_validation_off_in_the_config_skips(tmp_path):
    config = "task_data_validation: 'off'\n" + CONFIG.format(name="alpha", train_license="MIT")
    rows = [{**ROWS[0], "expected_answer": 4}, *ROWS[1:]]

    with pytest.raises(CheckSkipped, match="task_data_validation is off"):
        run(server(tmp_path, rows=rows, config=config), tmp_path)


def test_no_task_data_file_and_a_broken_one_skip_with_the_reason(tmp_path):
    with pytest.raises(CheckSkipped, match="has no task_data.py"):
        run(server(tmp_path / "a", schema=None), tmp_path / "a")
    with pytest.raises(CheckSkipped, match="0.7.0 skips task_data validation"):
        run(server(tmp_path / "b", schema="class TaskData(:\n"), tmp_path / "b")
