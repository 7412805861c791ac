"""Rollout files: NeMo Gym's lines (old and new) read back as written; malformed lines named by file:line."""

from __future__ import annotations

import pytest

from gym_conform.agent import read_rollouts, rollout_line, row_of, write_rollouts
from gym_conform.errors import DataError, ProblemsFound

RCP = {"input": [{"role": "user", "content": "Qué es 2+2?"}]}
RESPONSE = {"id": "resp_1", "output": [{"type": "message", "role": "assistant", "content": []}]}


def line(**extra) -> dict:
    return {"responses_create_params": RCP, "response": RESPONSE, "reward": 1.0, "expected_answer": "4", **extra}


def test_written_rollouts_read_back_identically(tmp_path):
    path = tmp_path / "data" / "rollouts.jsonl"
    lines = [line(_ng_task_index=0, _ng_rollout_index=i, agent_ref={"name": "a"}) for i in range(2)]
    write_rollouts(path, lines)
    records = read_rollouts(path)
    assert [r.data for r in records] == lines and [r.line for r in records] == [1, 2]
    text = path.read_text(encoding="utf-8")
    assert '"Qué es 2+2?"' in text and ', "' not in text and text.endswith("}\n")


def test_old_lines_without_routing_keys_and_drafts_without_reward_are_accepted(tmp_path):
    path = tmp_path / "old.jsonl"
    draft = {"responses_create_params": RCP, "response": {"output": []}, "expected_answer": "4"}
    write_rollouts(path, [line(), draft])
    path.write_text(path.read_text().replace("\n", "\r\n", 1) + "\n\n")
    assert [r.data for r in read_rollouts(path)] == [line(), draft]


def test_every_malformed_line_is_reported_with_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(
        "\n".join(
            [
                '{"responses_create_params": {}, "response": {"output": []}}',
                "{not json",
                "[1, 2]",
                '{"responses_create_params": {}}',
                '{"responses_create_params": {}, "response": {"output": {}}, "reward": "1"}',
            ]
        )
        + "\n"
    )
    with pytest.raises(ProblemsFound) as caught:
        read_rollouts(path)
    found = [(p.location.line, p.location.field) for p in caught.value.problems]
    assert found == [(2, None), (3, None), (4, "response"), (5, "response.output"), (5, "reward")]
    assert all(p.location.path == str(path) for p in caught.value.problems)
    assert "line 2" in caught.value.render()


def test_a_missing_rollouts_file_says_how_to_make_one(tmp_path):
    with pytest.raises(DataError) as caught:
        read_rollouts(tmp_path / "none.jsonl")
    assert caught.value.code == "rollouts.missing" and "ng_collect_rollouts" in caught.value.hint


def test_a_non_finite_reward_is_not_written_and_the_old_file_stays(tmp_path):
    path = tmp_path / "r.jsonl"
    write_rollouts(path, [line()])
    before = path.read_text()
    with pytest.raises(DataError) as caught:
        write_rollouts(path, [line(), line(reward=float("nan"))])
    assert caught.value.code == "rollouts.not_json" and "rollout 2" in caught.value.message
    assert path.read_text() == before and [p.name for p in tmp_path.iterdir()] == ["r.jsonl"]


def test_rollout_line_adds_only_the_routing_keys_that_are_known():
    verify = {"responses_create_params": RCP, "response": RESPONSE, "reward": 0.5}
    assert rollout_line(verify) == verify
    full = rollout_line(verify, task_index=3, rollout_index=0, agent_ref={"name": "agent"})
    assert full == {**verify, "_ng_task_index": 3, "_ng_rollout_index": 0, "agent_ref": {"name": "agent"}}


def test_row_of_drops_what_the_rollout_added():
    rollout = line(_ng_task_index=1, _ng_failure_class="judge_failed", agent_ref={"name": "a"}, extracted="4")
    row = row_of(rollout, verify_extras={"extracted"})
    assert row == {"responses_create_params": RCP, "expected_answer": "4", "agent_ref": {"name": "a"}}
    assert "extracted" in row_of(rollout)
