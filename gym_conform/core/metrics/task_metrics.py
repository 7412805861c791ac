"""0.7.0's metrics of materialized task rows (F11): "Number of tasks", task-input words and "Tasksets"."""

from __future__ import annotations

from gym_conform.core.metrics.accumulators import AvgMinMax

TASKS_KEY = "Number of tasks"
TASK_WORDS_KEY = "Json-dumped task-input words (proxy for token count)"
TASKSETS_KEY = "Tasksets"
# 0.7.0's MAX_CATEGORICAL_LABELS: later new labels are counted together as "Other".
MAX_LABELS = 100


class TaskMetrics:
    """Rows written as `{task_id: {taskset, task_id}, task_input}`: their count, input words, tasksets."""

    __slots__ = ("count", "labels", "other", "words")

    def __init__(self) -> None:
        self.count = 0
        self.words = AvgMinMax()
        self.labels: dict[str, int] = {}
        self.other = 0

    def observe(self, words: int, taskset: str, count: int = 1) -> None:
        """Add one task row (repeated `count` times) with its task-input word count and taskset."""
        self.count += count
        self.words.merge_constant(words, count)
        self._label(taskset, count)

    def merge(self, other: TaskMetrics) -> None:
        """Fold `other` in, labels in its order (as 0.7.0 adds one dataset's counts to a type's)."""
        self.count += other.count
        self.words.merge(other.words)
        for label, occurrences in other.labels.items():
            self._label(label, occurrences)
        self.other += other.other

    def _label(self, label: str, count: int) -> None:
        if label in self.labels:
            self.labels[label] += count
        elif len(self.labels) < MAX_LABELS:
            self.labels[label] = count
        else:
            self.other += count

    def tasksets_json(self) -> dict:
        """The "Tasksets" entry: counts by label (sorted, overflow last), distinct labels and total."""
        counts = dict(sorted(self.labels.items()))
        if self.other:
            counts["Other" if "Other" not in counts else "Other (overflow)"] = self.other
        return {"counts": counts, "unique_count": len(counts), "total_count": sum(counts.values())}
