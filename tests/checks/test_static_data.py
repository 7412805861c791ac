"""Tests for the data checks: example rows, example rollouts, conflict files and leakage."""

from __future__ import annotations

import json

import pytest

from gym_conform.checks import CheckFailed, CheckSettings, CheckSkipped, FolderContext, Level
from gym_conform.checks.static_data import (
    check_data_conflicts,
    check_example_data,
    check_example_rollouts,
    check_leakage,
    rollout_issues,
)
from tests.checks import ROWS, build_server, make_row, rollout, write_lines

EXAMPLE = "resources_servers/alpha/data/example.jsonl"
ROLLOUTS = "resources_servers/alpha/data/example_rollouts.jsonl"


def context(folder, root) -> FolderContext:
    return FolderContext(folder, CheckSettings(level=Level.STATIC), root=root)


def failure(check, folder, root) -> CheckFailed:
    with pytest.raises(CheckFailed) as raised:
        check(context(folder, root))
    return raised.value


def test_valid_data_passes(tmp_path):
    ctx = context(build_server(tmp_path), tmp_path)

    check_example_data(ctx)
    check_example_rollouts(ctx)
    check_data_conflicts(ctx)


def test_a_missing_example_file_fails(tmp_path):
    folder = build_server(tmp_path)
    (folder / "data" / "example.jsonl").unlink()

    (problem,) = failure(check_example_data, folder, tmp_path).problems

    assert (problem.code, problem.location.path) == ("data.example_missing", EXAMPLE)


def test_six_rows_fail_with_the_count(tmp_path):
    folder = build_server(tmp_path, rows=[*ROWS, make_row(6)])

    (problem,) = failure(check_example_data, folder, tmp_path).problems

    assert problem.code == "data.example_count"
    assert problem.message == "expected 5 example rows but got 6 line(s)"
    assert problem.hint.startswith("keep exactly 5")


def test_every_bad_row_is_listed_with_line_field_and_hint(tmp_path):
    rows = [ROWS[0], {"responses_create_params": {"input": [{"role": "usr", "content": "x"}]}}, ROWS[2], "[1]", ROWS[4]]

    failed = failure(check_example_data, build_server(tmp_path, rows=rows), tmp_path)

    first, second = failed.problems
    assert (first.location.path, first.location.line) == (EXAMPLE, 2)
    assert first.location.field == "responses_create_params.input[0].role"
    assert first.hint == 'did you mean "user"?'
    assert (second.code, second.location.line) == ("row.not_object", 4)
    assert failed.summary == f"{EXAMPLE}: 2 bad row(s)"


def test_a_blank_line_is_reported_and_counted(tmp_path):
    rows = [*ROWS[:4], "", ROWS[4]]

    failed = failure(check_example_data, build_server(tmp_path, rows=rows), tmp_path)

    assert [(p.code, p.location.line) for p in failed.problems] == [
        ("data.blank_line", 5),
        ("data.example_count", None),
    ]
    assert failed.summary == f"{EXAMPLE}: 1 blank line(s), 6 lines instead of 5"


def test_a_missing_rollouts_file_names_the_commands_that_make_it(tmp_path):
    folder = build_server(tmp_path)
    (folder / "data" / "example_rollouts.jsonl").unlink()

    (problem,) = failure(check_example_rollouts, folder, tmp_path).problems

    assert problem.code == "data.rollouts_missing"
    assert "ng_collect_rollouts +agent_name=alpha_simple_agent" in problem.hint
    assert f"+output_jsonl_fpath={ROLLOUTS}" in problem.hint


def test_four_rollouts_fail(tmp_path):
    folder = build_server(tmp_path, rollouts=[rollout(row) for row in ROWS[:4]])

    (problem,) = failure(check_example_rollouts, folder, tmp_path).problems

    assert (problem.code, problem.message) == ("data.rollouts_count", "expected 5 example rollouts but got 4 line(s)")


def test_a_malformed_rollout_line_is_located(tmp_path):
    lines = [rollout(row) for row in ROWS]
    lines[2] = json.dumps(lines[2])[:-1]

    (problem,) = failure(check_example_rollouts, build_server(tmp_path, rollouts=lines), tmp_path).problems

    assert (problem.code, problem.location.path, problem.location.line) == ("row.json", ROLLOUTS, 3)


def test_rollout_issues_name_each_bad_field():
    good = rollout(ROWS[0])
    assert rollout_issues(good) == []
    assert [i.code for i in rollout_issues([good])] == ["rollout.not_object"]
    assert [(i.code, i.field) for i in rollout_issues({**good, "reward": True})] == [("rollout.reward", "reward")]
    assert [i.code for i in rollout_issues({k: v for k, v in good.items() if k != "reward"})] == [
        "rollout.missing_reward"
    ]
    assert [i.code for i in rollout_issues({k: v for k, v in good.items() if k != "response"})] == [
        "rollout.missing_response"
    ]
    (issue,) = rollout_issues({**good, "response": {**good["response"], "output": "text"}})
    assert issue.field == "response.output"
    assert rollout_issues({**good, "reward": 10**400}) == []


def test_rollout_lines_with_nemo_gym_routing_keys_are_fine():
    line = {**rollout(ROWS[0]), "_ng_task_index": 0, "_ng_rollout_index": 0, "agent_ref": {"name": "a"}}

    assert rollout_issues(line) == []


def test_conflict_files_fail_with_what_to_do(tmp_path):
    folder = build_server(tmp_path)
    (folder / "data" / "example_metrics_conflict.json").write_text("{}")
    (folder / "data" / "notes_conflict.txt").write_text("")

    first, second = failure(check_data_conflicts, folder, tmp_path).problems

    assert first.location.path == "resources_servers/alpha/data/example_metrics_conflict.json"
    assert "--gym-update-metrics" in first.hint
    assert second.hint == "resolve the conflict it records, then delete this file"


def test_no_data_directory_has_no_conflicts(tmp_path):
    folder = tmp_path / "resources_servers" / "alpha"
    folder.mkdir(parents=True)

    check_data_conflicts(context(folder, tmp_path))


def test_an_example_row_in_the_validation_file_is_leakage(tmp_path):
    folder = build_server(tmp_path)
    write_lines(folder / "data" / "validation.jsonl", [make_row(40), {**ROWS[3], "agent_ref": {"name": "x"}}])

    (problem,) = failure(check_leakage, folder, tmp_path).problems

    assert problem.code == "data.leakage"
    assert (problem.location.path, problem.location.line) == ("resources_servers/alpha/data/validation.jsonl", 2)
    assert f"{EXAMPLE}:4" in problem.message


def test_no_leakage_passes(tmp_path):
    folder = build_server(tmp_path)
    write_lines(folder / "data" / "validation.jsonl", [make_row(40), "not json"])

    check_leakage(context(folder, tmp_path))


def test_leakage_is_skipped_without_local_validation_data(tmp_path):
    with pytest.raises(CheckSkipped, match="no validation data present locally"):
        check_leakage(context(build_server(tmp_path), tmp_path))
