"""The `example_metrics` check: data/example_metrics.json is a snapshot of the metrics of data/example.jsonl.

Like a snapshot test, a stale file fails with the differences and `--gym-update-metrics` rewrites it. Unlike
`ng_prepare_data`, no `*_conflict.json` file is ever written.
"""

from __future__ import annotations

from pydantic import ValidationError

from gym_conform.checks.base import CheckFailed, CheckSkipped
from gym_conform.checks.context import FolderContext
from gym_conform.checks.static_data import skip_environment_without_examples
from gym_conform.core.config.schema_datasets import DatasetConfig
from gym_conform.core.files import atomic_write_text
from gym_conform.core.metrics.compare import diff_metrics
from gym_conform.core.metrics.dataset_metrics import DatasetMetrics
from gym_conform.core.metrics.document import dumps_metrics, load_metrics, metrics_document
from gym_conform.errors import DataError, Location, Problem

UPDATE_HINT = "rerun with --gym-update-metrics to rewrite it"


def recompute_example_metrics(ctx: FolderContext) -> dict:
    """Return the metrics document `ng_prepare_data +mode=example_validation` writes for data/example.jsonl."""
    scan = ctx.example_scan
    if not scan.exists and ctx.is_environment:
        skip_environment_without_examples(ctx)
    if not scan.exists:
        raise CheckSkipped("no data/example.jsonl (the example_data check reports it)")
    if scan.problems:
        raise CheckSkipped(
            "data/example.jsonl has invalid rows (the example_data check lists them); "
            "its metrics are compared once every row is valid"
        )
    entry = ctx.example_dataset
    if ctx.example_taskset is not None:
        raise CheckSkipped(
            f"the example rows feed taskset {ctx.example_taskset!r}: 0.7.0 computes their metrics from the "
            "tasks its environment server materializes, which a static run does not start"
        )
    if entry is None:
        raise CheckSkipped(
            "no agent declares an example dataset reading data/example.jsonl (the config check reports it)"
        )
    model = entry.model or _known_keys_only(entry.raw)
    if model is None:
        raise CheckSkipped("the example dataset entry is invalid (the config and license checks report it)")
    metrics = DatasetMetrics()
    for _, row in scan.rows:
        metrics.observe_row(row, model.num_repeats)
    return metrics_document(model.metrics_fields(), metrics)


def _known_keys_only(raw: object) -> DatasetConfig | None:
    """Return the entry as NeMo Gym 0.7.0 reads it when only unknown keys make it invalid (it drops them)."""
    if not isinstance(raw, dict) or raw.get("type") == "benchmark":
        return None
    try:
        return DatasetConfig.model_validate({k: v for k, v in raw.items() if k in DatasetConfig.model_fields})
    except ValidationError:
        return None


def check_example_metrics(ctx: FolderContext) -> None:
    """Fail when data/example_metrics.json is missing, unreadable or differs beyond NeMo Gym's tolerances.

    With `--gym-update-metrics` the file is written atomically instead and the check passes with a note.
    """
    document = recompute_example_metrics(ctx)
    path = ctx.metrics_path
    shown = ctx.show(path)
    update = ctx.settings.update_metrics
    refused = ctx.refused_read(path)
    if refused is not None:
        raise CheckFailed([refused], summary=f"{refused.location.path} is not read")
    if not path.exists() and ctx.is_environment and not update and not ctx.settings.strict:
        raise CheckSkipped(
            "0.7.0 requires example metrics of resources servers only (`gym dataset collate` writes them)"
        )
    if not path.exists():
        if update:
            atomic_write_text(path, dumps_metrics(document))
            ctx.note(f"created {shown} from {ctx.show(ctx.example_path)} (--gym-update-metrics)")
            return
        raise CheckFailed(
            [
                Problem(
                    "metrics.missing",
                    "missing: NeMo Gym's CI requires the metrics of the example rows",
                    Location(shown),
                    "rerun with --gym-update-metrics to create it (ng_prepare_data +mode=example_validation "
                    "writes the same file)",
                )
            ],
            summary=f"{shown} is missing",
        )
    try:
        committed = load_metrics(path)
    except DataError as error:
        if update:
            atomic_write_text(path, dumps_metrics(document))
            ctx.note(f"rewrote {shown}, which was not a metrics document (--gym-update-metrics)")
            return
        raise CheckFailed(
            [Problem(p.code, p.message, p.location, f"{p.hint}; or {UPDATE_HINT}") for p in error.problems],
            summary=f"{shown} cannot be read",
        ) from None
    diffs = diff_metrics(committed, document)
    if not diffs:
        return
    if update:
        atomic_write_text(path, dumps_metrics(document))
        ctx.note(f"updated {shown}: {len(diffs)} difference(s) from the recomputed metrics (--gym-update-metrics)")
        return
    listing = "".join(f"\n  - {diff}" for diff in diffs)
    raise CheckFailed(
        [
            Problem(
                "metrics.stale",
                f"stale: {len(diffs)} difference(s) from the metrics recomputed from "
                f"{ctx.show(ctx.example_path)}:{listing}",
                Location(shown),
                UPDATE_HINT,
            )
        ],
        summary=f"{shown} is stale",
    )
