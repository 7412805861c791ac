"""The `ng_prepare_data` pipeline: configs -> datasets -> validated rows, metrics and collated files."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO

from gym_conform.core.config.loader import LoadedConfig
from gym_conform.core.config.schema import ServerInstance, parse_server_config
from gym_conform.core.files import atomic_output, atomic_write_text, display_path, staged_outputs
from gym_conform.core.locks import directory_lock
from gym_conform.core.metrics.dataset_metrics import DatasetMetrics
from gym_conform.core.metrics.document import dumps_metrics, metrics_document
from gym_conform.errors import Location, Problem, ProblemsFound
from gym_conform.prepare.cards import compare_cards
from gym_conform.prepare.fetch import bullets, ensure_local
from gym_conform.prepare.options import MODE_DATASET_TYPES, PrepareOptions
from gym_conform.prepare.plan import (
    AGENT_REF,
    AGENT_SERVER_TYPE,
    TASK_SOURCE,
    DatasetJob,
    jobs_by_type,
    plan_jobs,
    style_070_reason,
)
from gym_conform.prepare.progress import ProgressLine
from gym_conform.prepare.sidecars import Outcome, Reconciled, reconcile
from gym_conform.prepare.task_rows import judge_task_rows, with_schemas
from gym_conform.prepare.workers import ScanResult, scan_job

Echo = Callable[[str], None]


def title(text: str) -> str:
    """Return NeMo Gym's banner: two blank lines, then `text` framed by 100 `#`."""
    bar = "#" * 100
    return f"\n\n{bar}\n#\n# {text}\n#\n{bar}\n"


@dataclass
class PrepareSummary:
    """What a successful run wrote."""

    outputs: dict[str, Path] = field(default_factory=dict)
    metrics: list[Reconciled] = field(default_factory=list)


class _DiscardOutput(Exception):
    """Raised inside an atomic write to throw the partial output away."""


def prepare_data(options: PrepareOptions, cfg: LoadedConfig, echo: Echo = print) -> PrepareSummary:
    """Run the whole preparation; raise `ProblemsFound` listing every bad row, missing file or conflict."""
    echo(title("Load and validate server instance configs"))
    parsed = parse_server_config(cfg)
    instances = parsed.instances
    agents = [i for i in instances if i.server_type == AGENT_SERVER_TYPE]
    echo(
        f"Found {len(instances)} server instance configs ({len(agents)} agent configs):"
        + bullets([f"{i.name} ({i.server_type})" for i in instances])
        + "\n"
    )
    for problem in parsed.warnings:
        echo("warning: " + problem.render())
    for problem in parsed.notes:
        echo("note: " + problem.render())
    types = MODE_DATASET_TYPES[options.mode]
    echo(f"In scope dataset types for `{options.mode}` mode: {list(types)}")
    routing = _routing(options, cfg, instances, echo)
    jobs = plan_jobs(instances, types, cfg, routing)
    jobs = with_schemas(jobs, options.task_data_validation, options.mode, echo)
    summary = PrepareSummary()
    if not jobs:
        echo("note: " + _nothing_in_scope(types, cfg).render())
        echo(title("Finished!"))
        return summary
    downloads = "**WILL**" if options.should_download else "will **NOT**"
    echo(title(f"Load datasets. Missing datasets {downloads} be downloaded."))
    ensure_local(jobs, options, cfg, echo)
    compare_cards(jobs, options, cfg, echo)

    echo(title("Validate samples, aggregate metrics and collate"))
    problems: list[Problem] = []
    output_dir = Path(options.output_dirpath)
    # One writer per output directory, and all of a run's files or none: every output (collated files, their
    # metrics, dataset sidecars) is put in place together at the end, so a signal, a full disk or a second run
    # never leaves a mix of this run's files and an earlier one's.
    with directory_lock(output_dir, "ng_prepare_data"), staged_outputs():
        for dataset_type, type_jobs in jobs_by_type(jobs, types).items():
            problems += _prepare_type(dataset_type, type_jobs, output_dir, options, summary, echo)
    if problems:
        raise ProblemsFound(problems, summary=_failure_summary(problems))
    echo("View your final data!" + bullets([f"{t}: {display_path(p)}" for t, p in summary.outputs.items()]))
    echo(title("Finished!"))
    return summary


def _routing(options: PrepareOptions, cfg: LoadedConfig, instances: Sequence[ServerInstance], echo: Echo) -> str:
    """Pick the routing key: the one asked for, else task_source for a 0.7.0-style config, else agent_ref."""
    if options.routing != "auto":
        echo(f"Routing key of collated rows: {options.routing} (+routing={options.routing})")
        return options.routing
    reason = style_070_reason(cfg, instances)
    if reason is None:
        echo(f"Routing key of collated rows: {AGENT_REF} (a config written the 0.5 way)")
        return AGENT_REF
    echo(f"Routing key of collated rows: {TASK_SOURCE} (0.7.0-style config: {reason})")
    return TASK_SOURCE


def _nothing_in_scope(types: Sequence[str], cfg: LoadedConfig) -> Problem:
    """The note for a run with nothing to check: NeMo Gym finishes too, and so do we (exit 0)."""
    return Problem(
        "data.none_in_scope",
        f"nothing to validate: no dataset of type {' or '.join(types)} is declared in the configs",
        Location(", ".join(display_path(p) for p in cfg.files) or None),
        "a judge-model or serving config declares none; to check data, add a `datasets:` entry to the resources "
        "server block (0.7.0's home for them; an agent block works too), or pick the other +mode",
    )


def _prepare_type(
    dataset_type: str,
    jobs: Sequence[DatasetJob],
    output_dir: Path,
    options: PrepareOptions,
    summary: PrepareSummary,
    echo: Echo,
) -> list[Problem]:
    """Scan every dataset of one type into `<output>/<type>.jsonl`; keep the file only if all is well."""
    target = output_dir / f"{dataset_type}.jsonl"
    problems: list[Problem] = []
    try:
        with atomic_output(target, "wb") as sink:
            results: list[ScanResult] = []
            for job in jobs:
                # A taskset row's default task id counts the source rows of this type before it (0.7.0's index).
                results.append(_scan(replace(job, task_base=sum(r.lines_read for r in results)), sink, options, echo))
            for result in results:
                problems += result.problems
                if result.ok:
                    problems += _reconcile_dataset(result, options, summary, echo)
            if any(not r.ok for r in results):
                raise _DiscardOutput
            merged = DatasetMetrics()
            for result in results:
                merged.merge(result.metrics)
            # The output area is ours: its metrics are rewritten every run (NeMo Gym compares them too and
            # then refuses to collate when a previous run's output differs).
            type_metrics = output_dir / f"{dataset_type}_metrics.json"
            document = metrics_document(jobs[0].dataset.type_metrics_fields(), merged)
            atomic_write_text(type_metrics, dumps_metrics(document))
            echo(f"Aggregate metrics for {display_path(type_metrics)} written")
    except _DiscardOutput:
        echo(f"Not writing {display_path(target)}: fix the problems below first.")
        return problems
    summary.outputs[dataset_type] = target
    return problems


def _scan(job: DatasetJob, sink: IO[bytes] | None, options: PrepareOptions, echo: Echo) -> ScanResult:
    if job.num_repeats > 1:
        echo(
            f"Dataset {job.dataset.name} repeating {job.num_repeats}x: each line repeated "
            f"{job.num_repeats} times (e.g. pattern: abc -> {''.join(c * job.num_repeats for c in 'abc')})"
        )
    progress = ProgressLine(job.display_path, _size(job.path))
    try:
        result = scan_job(job, sink, options.num_workers, progress.advance, max_line_bytes=options.max_line_bytes)
    finally:
        progress.close()
    result.problems += judge_task_rows(
        job, result.task_rows, result.task_issues, options.task_data_validation, options.mode, echo
    )
    echo(f"{job.display_path}: {result.lines_read} rows read, {len(result.problems)} problem(s)")
    return result


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _reconcile_dataset(
    result: ScanResult, options: PrepareOptions, summary: PrepareSummary, echo: Echo
) -> list[Problem]:
    document = metrics_document(result.job.dataset.metrics_fields(), result.metrics)
    outcome = reconcile(
        result.job.metrics_path, document, overwrite=options.overwrite_metrics_conflicts, rewrite_equal=False
    )
    return _report(outcome, summary, echo)


def _report(outcome: Reconciled, summary: PrepareSummary, echo: Echo) -> list[Problem]:
    """Print what happened to one metrics file; return a problem for a conflict."""
    summary.metrics.append(outcome)
    shown = display_path(outcome.path)
    if outcome.outcome is Outcome.UNCHANGED:
        echo(f"Aggregate metrics for {shown} already up to date")
        return []
    if outcome.outcome is Outcome.WRITTEN:
        echo(f"Aggregate metrics for {shown} written")
        return []
    echo("Differences found in aggregate metrics:" + bullets(outcome.diffs))
    if outcome.outcome is Outcome.OVERWRITTEN:
        echo(f"Overwrote {shown} with the recomputed metrics (+overwrite_metrics_conflicts=true)")
        return []
    echo(f"Wrote the recomputed metrics to {display_path(outcome.conflict_path)}")
    return [
        Problem(
            "metrics.conflict",
            "recomputed metrics differ from this file: "
            + "; ".join(outcome.diffs[:5])
            + (f" (and {len(outcome.diffs) - 5} more)" if len(outcome.diffs) > 5 else ""),
            Location(shown),
            f"compare it with {display_path(outcome.conflict_path)}; if the change is expected, delete {shown} "
            "and rerun, or rerun with +overwrite_metrics_conflicts=true",
        )
    ]


def _failure_summary(problems: Sequence[Problem]) -> str:
    rows = sum(1 for p in problems if p.code.startswith("row.") or p.code.startswith("metrics.mixed"))
    conflicts = sum(1 for p in problems if p.code == "metrics.conflict")
    parts = []
    if rows:
        parts.append(f"{rows} bad row(s)")
    if conflicts:
        parts.append(f"{conflicts} metrics conflict(s)")
    other = len(problems) - rows - conflicts
    if other:
        parts.append(f"{other} other problem(s)")
    return "ng_prepare_data failed: " + ", ".join(parts) + "; collated files were written only for clean types"
