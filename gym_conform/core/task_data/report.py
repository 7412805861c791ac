"""0.7.0's per-file task-data report and verdict: the counts, the text it prints, and when collation fails."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from gym_conform.core.task_data.validate import TaskIssue

Validation = Literal["off", "warn", "error", "auto"]
MAX_RECORDED_ERRORS = 5


def effective_validation(setting: str, mode: str) -> str:
    """0.7.0's `task_data_validation`: `auto` is `error` in example_validation, `warn` in train_preparation."""
    if setting != "auto":
        return setting
    return "error" if mode == "example_validation" else "warn"


@dataclass
class TaskDataReport:
    """The outcome for one dataset file against one server's schema, counted as 0.7.0 counts it.

    Rows are added once per source line (0.7.0 validates the first of each `num_repeats` copies, after a
    benchmark's prompt is applied); `row_index` is the source row's 0-based index.
    """

    server_name: str
    dataset_fpath: str
    rows: int = 0
    error_rows: int = 0
    errors: list[str] = field(default_factory=list)
    unknown_keys: dict[str, int] = field(default_factory=dict)
    conflicting_keys: dict[str, int] = field(default_factory=dict)
    misplaced_keys: dict[str, int] = field(default_factory=dict)

    def add(self, row_index: int, issues: Iterable[TaskIssue]) -> None:
        """Count one row's issues into the buckets."""
        self.rows += 1
        failed: TaskIssue | None = None
        for issue in issues:
            if issue.bucket == "invalid_row":
                failed = failed or issue
            else:
                bucket = {"conflict": self.conflicting_keys, "misplaced": self.misplaced_keys}.get(
                    issue.bucket, self.unknown_keys
                )
                key = issue.key or issue.field
                bucket[key] = bucket.get(key, 0) + 1
        if failed is not None:
            self.error_rows += 1
            if len(self.errors) < MAX_RECORDED_ERRORS:
                self.errors.append(f"{row_index}: {failed.detail}")

    @property
    def clean(self) -> bool:
        """No bucket has anything (0.7.0 counts unknown keys too)."""
        return not (self.error_rows or self.conflicting_keys or self.misplaced_keys or self.unknown_keys)

    def outcome(self, validation: str) -> Literal["ok", "warn", "fail"]:
        """What 0.7.0's collation does with this file under an effective setting (off, warn or error)."""
        if validation == "off" or self.clean:
            return "ok"
        return "fail" if validation == "error" else "warn"

    def summary(self) -> str:
        """The text 0.7.0 prints under `[task_data validation]` (and raises under `error`)."""
        parts = [
            f"{self.dataset_fpath}: {self.error_rows}/{self.rows} rows failed task_data validation "
            f"against the `{self.server_name}` schema."
        ]
        parts.extend(f"  row {message}" for message in self.errors)
        if self.error_rows > len(self.errors):
            parts.append(f"  ... and {self.error_rows - len(self.errors)} more rows")
        if self.conflicting_keys:
            parts.append(
                "  keys with DIFFERENT values top-level vs verifier_metadata (ambiguous): "
                + _counts(self.conflicting_keys)
            )
        if self.misplaced_keys:
            parts.append(
                "  keys this server's wire reads from verifier_metadata but found top-level "
                "(the server will not see them): " + _counts(self.misplaced_keys)
            )
        if self.unknown_keys:
            parts.append(
                "  keys not declared by the schema (typo, or missing schema field?): " + _counts(self.unknown_keys)
            )
        return "\n".join(parts)


def _counts(keys: dict[str, int]) -> str:
    return ", ".join(f"{key} ({count} rows)" for key, count in sorted(keys.items()))
