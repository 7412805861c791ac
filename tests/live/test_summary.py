"""LiveSummary: rewards without errors, errors by kind, histogram, never-varying rows, JSON and terminal text."""

from __future__ import annotations

from gym_conform.live.live_run import INVALID_TOOL_JSON, MAX_STEPS, MODEL_HTTP, LiveRollout, LiveRow, RolloutError
from gym_conform.live.summary import LiveSummary, RewardBin

ROWS = [LiveRow(line, line - 1, {}) for line in (1, 2, 3)]


def rollout(line: int, repeat: int, reward: float | None, *errors: str, refused: int = 0) -> LiveRollout:
    found = [RolloutError(kind, f"{kind} happened") for kind in errors]
    return LiveRollout(ROWS[line - 1], repeat, reward, found, refused_tool_calls=refused)


def summary(rollouts: list[LiveRollout], repeats: int = 1, **fields) -> LiveSummary:
    return LiveSummary("tiny at http://h/v1", len({r.row.line for r in rollouts}), repeats, rollouts, **fields)


def test_errored_rollouts_never_count_as_rewards():
    found = summary(
        [
            rollout(1, 0, 1.0),
            rollout(2, 0, 0.0),
            rollout(3, 0, 0.0, INVALID_TOOL_JSON, MAX_STEPS),
            rollout(3, 1, None, MODEL_HTTP),
        ]
    )

    assert found.rewards == [1.0, 0.0]
    assert found.mean_reward == 0.5
    assert len(found.errored) == 2
    assert found.errors_by_kind() == {
        "model_http": 1,
        "server_http": 0,
        "bad_reward": 0,
        "invalid_tool_json": 1,
        "max_steps": 1,
    }


def test_few_distinct_rewards_get_one_bin_each():
    found = summary([rollout(1, 0, 1.0), rollout(2, 0, 0.0), rollout(3, 0, 1.0)])

    assert found.histogram() == [RewardBin(0.0, 0.0, 1), RewardBin(1.0, 1.0, 2)]


def test_many_distinct_rewards_get_equal_bins_over_the_declared_range():
    rewards = [i / 20 for i in range(21)]  # 0.0 .. 1.0
    found = summary([LiveRollout(ROWS[0], i, reward) for i, reward in enumerate(rewards)])

    bins = found.histogram()

    assert len(bins) == 10 and (bins[0].low, bins[-1].high) == (0.0, 1.0)
    assert [b.count for b in bins] == [2] * 9 + [3]  # the top bin holds its upper edge
    assert bins[0].label == "0..0.1"


def test_rows_whose_rewards_never_vary_are_flagged_only_with_repeats():
    rollouts = [
        rollout(1, 0, 1.0), rollout(1, 1, 1.0), rollout(1, 2, 1.0),       # constant
        rollout(2, 0, 0.0), rollout(2, 1, 1.0), rollout(2, 2, 0.0),       # varies
        rollout(3, 0, 0.0), rollout(3, 1, None, MODEL_HTTP), rollout(3, 2, None, MODEL_HTTP),  # one sample left
    ]  # fmt: skip

    constant = summary(rollouts, repeats=3).constant_rows()

    assert [(c.row.line, c.reward, c.samples) for c in constant] == [(1, 1.0, 3)]
    assert summary([rollout(1, 0, 1.0)], repeats=1).constant_rows() == []


def test_json_and_terminal_text():
    found = summary(
        [rollout(1, 0, 1.0), rollout(1, 1, 1.0), rollout(2, 0, 0.0, refused=2), rollout(2, 1, None, MODEL_HTTP)],
        repeats=2,
        saved_to="out/x/example_rollouts.jsonl",
    )

    data = found.to_json()

    assert data == {
        "model": "tiny at http://h/v1",
        "rows": 2,
        "repeats": 2,
        "rollouts": 4,
        "scored": 3,
        "errored": 1,
        "errors": {"model_http": 1, "server_http": 0, "bad_reward": 0, "invalid_tool_json": 0, "max_steps": 0},
        "refused_tool_calls": 2,
        "mean_reward": 2 / 3,
        # Rows 1 (1.0, 1.0) and 2 (0.0; its errored sample left out): two row means, an interval clipped to [0, 1].
        "mean_reward_ci95": {"low": 0.0, "high": 1.0, "rows": 2},
        "histogram": [{"low": 0.0, "high": 0.0, "count": 1}, {"low": 1.0, "high": 1.0, "count": 2}],
        "constant_rows": [{"line": 1, "task_index": 0, "reward": 1.0, "samples": 2}],
        "saved_rollouts": "out/x/example_rollouts.jsonl",
    }
    assert found.text_lines() == [
        "  2 row(s) x 2 = 4 rollout(s): 3 scored, 1 with errors; mean reward 0.667",
        "  errors (not counted as rewards): model_http 1",
        "  tool calls refused with a 4xx (shown to the model): 2",
        "  reward 0  1 " + "#" * 20,
        "  reward 1  2 " + "#" * 40,
        "  1 row(s) whose reward never varied (no signal for GRPO): line 1 (1 x2)",
        "  rollouts saved to out/x/example_rollouts.jsonl",
    ]


def test_no_scored_rollout_shows_no_mean():
    found = summary([rollout(1, 0, None, MODEL_HTTP)])

    assert found.mean_reward is None and found.histogram() == []
    assert found.text_lines()[0].endswith("0 scored, 1 with errors; mean reward -")


def test_the_interval_is_students_t_over_row_means():
    # Row means 0.4, 0.5 (its two samples averaged: one row counts once) and 0.6: mean 0.5, sd 0.1, t(2) = 4.303.
    found = summary([rollout(1, 0, 0.4), rollout(2, 0, 0.2), rollout(2, 1, 0.8), rollout(3, 0, 0.6)], repeats=2)

    low, high, rows = found.reward_interval()

    half = 4.303 * 0.1 / 3**0.5
    assert (rows, round(low, 6), round(high, 6)) == (3, round(0.5 - half, 6), round(0.5 + half, 6))
    assert summary([rollout(1, 0, 1.0), rollout(1, 1, 0.0)], repeats=2).reward_interval() is None  # one row
