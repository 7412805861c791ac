"""One server's live run in numbers: rollouts, errors by kind, mean reward, histogram, never-varying rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gym_conform.live.live_run import ERROR_KINDS, LiveRollout, LiveRow

EXACT_BINS_UP_TO = 10
# Student's t at 97.5% by degrees of freedom (a two-sided 95% interval); beyond 30, the next smaller tabled df.
_T975: tuple[float, ...] = (
    *(12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131),
    *(2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042),
)
_T975_LARGE = ((40, 2.042), (60, 2.021), (120, 2.000), (10**9, 1.980))
EQUAL_BINS = 10
_BAR_WIDTH = 40


@dataclass(frozen=True)
class RewardBin:
    """Rewards in [low, high] (one exact value when low == high) and how many rollouts got one."""

    low: float
    high: float
    count: int

    @property
    def label(self) -> str:
        """Return `1` for an exact value, `0.2..0.3` for a range."""
        return f"{self.low:g}" if self.low == self.high else f"{self.low:g}..{self.high:g}"


@dataclass(frozen=True)
class ConstantRow:
    """A row sampled several times whose rewards were all the same (no learning signal for GRPO)."""

    row: LiveRow
    reward: float
    samples: int


@dataclass
class LiveSummary:
    """The outcome of one server's live run, ready for the terminal and the JSON report."""

    model: str
    rows: int
    repeats: int
    rollouts: list[LiveRollout]
    reward_range: tuple[float, float] = (0.0, 1.0)
    saved_to: str | None = None

    @property
    def rewards(self) -> list[float]:
        """Return the rewards of the rollouts without errors (errored rollouts never count as reward 0)."""
        return [rollout.reward for rollout in self.rollouts if rollout.clean]  # type: ignore[misc]

    @property
    def errored(self) -> list[LiveRollout]:
        """Return the rollouts that ended with at least one error."""
        return [rollout for rollout in self.rollouts if rollout.errors]

    @property
    def mean_reward(self) -> float | None:
        """Return the mean reward of the rollouts without errors (None when there are none)."""
        rewards = self.rewards
        return sum(rewards) / len(rewards) if rewards else None

    def reward_interval(self) -> tuple[float, float, int] | None:
        """Return a 95% confidence interval of the mean reward over rows (low, high, rows); None below 2 rows.

        The rows are the independent samples: a row's repeats are averaged first (they share the task), then
        Student's t interval of those row means is taken, clipped to the declared reward range.
        """
        by_row: dict[int, list[float]] = {}
        for rollout in self.rollouts:
            if rollout.clean and rollout.reward is not None:
                by_row.setdefault(rollout.row.line, []).append(rollout.reward)
        means = [sum(rewards) / len(rewards) for rewards in by_row.values()]
        count = len(means)
        if count < 2:
            return None
        mean = sum(means) / count
        spread = (sum((value - mean) ** 2 for value in means) / (count - 1)) ** 0.5
        df = count - 1
        t = _T975[df - 1] if df <= len(_T975) else next(value for limit, value in _T975_LARGE if df <= limit)
        half = t * spread / count**0.5
        low, high = self.reward_range
        return max(low, mean - half), min(high, mean + half), count

    @property
    def refused_tool_calls(self) -> int:
        """Return how many tool calls the server refused with a 4xx (the model's mistakes, shown to it)."""
        return sum(rollout.refused_tool_calls for rollout in self.rollouts)

    def errors_by_kind(self) -> dict[str, int]:
        """Return, for every error kind, how many rollouts had an error of that kind."""
        return {
            kind: sum(1 for rollout in self.rollouts if any(error.kind == kind for error in rollout.errors))
            for kind in ERROR_KINDS
        }

    def histogram(self) -> list[RewardBin]:
        """Return the rewards' histogram: one bin per value for few values, else equal bins over the range."""
        rewards = self.rewards
        values = sorted(set(rewards))
        if len(values) <= EXACT_BINS_UP_TO:
            return [RewardBin(value, value, rewards.count(value)) for value in values]
        low, high = self.reward_range
        if not low < high:
            low, high = values[0], values[-1]
        span = high - low
        counts = [0] * EQUAL_BINS
        for reward in rewards:
            # Multiplying before dividing keeps values on a bin edge (0.3 of [0, 1]) in the bin they start.
            counts[min(int((reward - low) * EQUAL_BINS / span), EQUAL_BINS - 1)] += 1
        edges = [low + span * index / EQUAL_BINS for index in range(EQUAL_BINS + 1)]
        return [RewardBin(edges[index], edges[index + 1], count) for index, count in enumerate(counts)]

    def constant_rows(self) -> list[ConstantRow]:
        """Return the rows sampled at least twice (without errors) whose rewards never varied."""
        if self.repeats < 2:
            return []
        by_row: dict[int, list[LiveRollout]] = {}
        for rollout in self.rollouts:
            if rollout.clean:
                by_row.setdefault(rollout.row.line, []).append(rollout)
        found = []
        for samples in by_row.values():
            rewards = {sample.reward for sample in samples}
            if len(samples) >= 2 and len(rewards) == 1:
                found.append(ConstantRow(samples[0].row, rewards.pop(), len(samples)))  # type: ignore[arg-type]
        return found

    def to_json(self) -> dict[str, Any]:
        """Return the summary as the JSON report writes it."""
        interval = self.reward_interval()
        return {
            "model": self.model,
            "rows": self.rows,
            "repeats": self.repeats,
            "rollouts": len(self.rollouts),
            "scored": len(self.rewards),
            "errored": len(self.errored),
            "errors": self.errors_by_kind(),
            "refused_tool_calls": self.refused_tool_calls,
            "mean_reward": self.mean_reward,
            "mean_reward_ci95": None
            if interval is None
            else {"low": interval[0], "high": interval[1], "rows": interval[2]},
            "histogram": [{"low": b.low, "high": b.high, "count": b.count} for b in self.histogram()],
            "constant_rows": [
                {"line": c.row.line, "task_index": c.row.task_index, "reward": c.reward, "samples": c.samples}
                for c in self.constant_rows()
            ],
            "saved_rollouts": self.saved_to,
        }

    def text_lines(self) -> list[str]:
        """Return the summary as indented terminal lines."""
        mean = self.mean_reward
        lines = [
            f"  {self.rows} row(s) x {self.repeats} = {len(self.rollouts)} rollout(s): {len(self.rewards)} scored, "
            f"{len(self.errored)} with errors; mean reward {'-' if mean is None else f'{mean:.3f}'}"
        ]
        errors = {kind: count for kind, count in self.errors_by_kind().items() if count}
        if errors:
            lines.append("  errors (not counted as rewards): " + ", ".join(f"{k} {n}" for k, n in errors.items()))
        if self.refused_tool_calls:
            lines.append(f"  tool calls refused with a 4xx (shown to the model): {self.refused_tool_calls}")
        bins = self.histogram()
        most = max((b.count for b in bins), default=0)
        label_width = max((len(b.label) for b in bins), default=0)
        for b in bins:
            bar = "#" * (round(b.count * _BAR_WIDTH / most) if most else 0)
            lines.append(f"  reward {b.label.rjust(label_width)}  {str(b.count).rjust(len(str(most)))} {bar}".rstrip())
        constant = self.constant_rows()
        if constant:
            shown = ", ".join(f"line {c.row.line} ({c.reward:g} x{c.samples})" for c in constant)
            lines.append(f"  {len(constant)} row(s) whose reward never varied (no signal for GRPO): {shown}")
        if self.saved_to:
            lines.append(f"  rollouts saved to {self.saved_to}")
        return lines
