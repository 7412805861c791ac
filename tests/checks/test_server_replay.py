"""Tests for `replay`: recorded rollouts re-run through the agent loop must keep their recorded rewards."""

from __future__ import annotations

import pytest

from gym_conform.checks import CheckFailed, CheckSkipped
from gym_conform.checks.server_replay import check_replay
from tests.checks import ROWS, make_row, rollout
from tests.checks.server_apps import app, context, isolated_imports, server_folder  # noqa: F401

pytestmark = pytest.mark.usefixtures("isolated_imports")
ROLLOUTS = "resources_servers/alpha/data/example_rollouts.jsonl"


def test_rollouts_that_replay_to_their_rewards_pass(tmp_path):
    check_replay(context(server_folder(tmp_path), tmp_path))


def test_each_changed_reward_is_reported_at_its_line_with_old_and_new(tmp_path):
    rollouts = [rollout(ROWS[0]), rollout(ROWS[1], reward=0.0), rollout(ROWS[2]), rollout(ROWS[3], reward=0.5)]
    ctx = context(server_folder(tmp_path, rollouts=rollouts), tmp_path)

    with pytest.raises(CheckFailed) as raised:
        check_replay(ctx)

    problems = raised.value.problems
    assert [(p.location.path, p.location.line, p.location.field) for p in problems] == [
        (ROLLOUTS, 2, "reward"),
        (ROLLOUTS, 4, "reward"),
    ]
    assert problems[0].message == "recorded reward 0.0, replay gives 1.0"
    assert problems[1].message == "recorded reward 0.5, replay gives 1.0"
    assert "ng_replay_rollouts +entrypoint=resources_servers/alpha +update=true" in problems[0].hint
    assert raised.value.summary == f"2 of 4 rollout(s) in {ROLLOUTS} do not replay"


def test_a_rollout_whose_verify_now_crashes_fails(tmp_path):
    folder = server_folder(tmp_path, app("raise RuntimeError('broken')"))

    with pytest.raises(CheckFailed) as raised:
        check_replay(context(folder, tmp_path))

    problem = raised.value.problems[0]
    assert problem.code == "replay.failed"
    assert "RuntimeError('broken')" in problem.message


def test_no_rollouts_file_skips(tmp_path):
    folder = server_folder(tmp_path)
    (folder / "data" / "example_rollouts.jsonl").unlink()

    with pytest.raises(CheckSkipped, match="no resources_servers/alpha/data/example_rollouts.jsonl to replay"):
        check_replay(context(folder, tmp_path))


def test_a_malformed_rollouts_file_is_left_to_the_static_check(tmp_path):
    folder = server_folder(tmp_path, rollouts=["{not json", rollout(ROWS[0])])

    with pytest.raises(CheckSkipped, match=r"1 malformed line\(s\) \(see example_rollouts\)"):
        check_replay(context(folder, tmp_path))


def _as_nemo_gym_records_it(row: dict) -> dict:
    """A rollout line as NeMo Gym 0.7.0 writes it: no task fields, input messages typed "message", unset as null."""
    line = rollout(row)
    del line["expected_answer"]
    items = [{**item, "type": "message", "phase": None} for item in row["responses_create_params"]["input"]]
    return {**line, "responses_create_params": {"input": items}}


def test_a_line_without_task_fields_takes_them_from_the_example_row_with_the_same_input(tmp_path):
    folder = server_folder(tmp_path, rollouts=[_as_nemo_gym_records_it(ROWS[0]), _as_nemo_gym_records_it(ROWS[1])])
    check_replay(context(folder, tmp_path))


def test_lines_from_rows_not_in_the_data_are_not_replayed_and_the_skip_names_them(tmp_path):
    stranger = make_row(42)
    folder = server_folder(tmp_path, rollouts=[_as_nemo_gym_records_it(stranger), _as_nemo_gym_records_it(stranger)])

    with pytest.raises(CheckSkipped) as raised:
        check_replay(context(folder, tmp_path))

    assert raised.value.reason.startswith(
        f"no rollout in {ROLLOUTS} can be replayed: line(s) 1, 2 lack expected_answer"
    )


def test_only_the_lines_that_can_be_replayed_count(tmp_path):
    lines = [_as_nemo_gym_records_it(make_row(42)), {**rollout(ROWS[1]), "reward": 0.0}]
    ctx = context(server_folder(tmp_path, rollouts=lines), tmp_path)

    with pytest.raises(CheckFailed) as raised:
        check_replay(ctx)

    assert [p.location.line for p in raised.value.problems] == [2]
    assert raised.value.summary == f"1 of 1 rollout(s) in {ROLLOUTS} do not replay"
    assert any(note.startswith("not replayed: line(s) 1 lack expected_answer") for note in ctx.notes)
