"""Reconcile recomputed metrics with an existing `*_metrics.json`, NeMo Gym's way but without stale files."""

from __future__ import annotations

import contextlib
import enum
from dataclasses import dataclass, field
from pathlib import Path

from gym_conform.core.files import atomic_write_text, file_kind, not_regular
from gym_conform.core.metrics.compare import diff_metrics
from gym_conform.core.metrics.document import dumps_metrics, load_metrics


class Outcome(enum.Enum):
    """What happened to one metrics file."""

    WRITTEN = "written"
    UNCHANGED = "unchanged"
    OVERWRITTEN = "overwritten"
    CONFLICT = "conflict"


@dataclass
class Reconciled:
    """The outcome for one metrics file, with the differences found."""

    path: Path
    outcome: Outcome
    diffs: list[str] = field(default_factory=list)

    @property
    def conflict_path(self) -> Path:
        return conflict_path(self.path)


def conflict_path(path: Path) -> Path:
    """Return NeMo Gym's conflict-file name for a metrics file (`x_metrics.json` -> `x_metrics_conflict.json`)."""
    return path.with_name(f"{path.stem}_conflict.json")


def reconcile(path: Path, document: dict, *, overwrite: bool, rewrite_equal: bool) -> Reconciled:
    """Write `document` to `path` unless it conflicts with the file already there."""
    text = dumps_metrics(document)
    kind = file_kind(path) if path.exists() else None
    if kind is not None:
        raise not_regular(path, "metrics file", kind)
    if not path.exists():
        atomic_write_text(path, text)
        _remove_stale_conflict(path)
        return Reconciled(path, Outcome.WRITTEN)
    diffs = diff_metrics(load_metrics(path), document)
    if not diffs:
        if rewrite_equal:
            atomic_write_text(path, text)
        _remove_stale_conflict(path)
        return Reconciled(path, Outcome.UNCHANGED)
    if overwrite:
        atomic_write_text(path, text)
        _remove_stale_conflict(path)
        return Reconciled(path, Outcome.OVERWRITTEN, diffs)
    atomic_write_text(conflict_path(path), text)
    return Reconciled(path, Outcome.CONFLICT, diffs)


def _remove_stale_conflict(path: Path) -> None:
    # A conflict file left from an earlier run would fail NeMo Gym's CI once the metrics agree again.
    with contextlib.suppress(FileNotFoundError):
        conflict_path(path).unlink()
