"""Make sure every in-scope dataset file is local: report the missing ones or download them."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from gym_conform.core.config.loader import LoadedConfig
from gym_conform.core.files import file_kind, not_regular
from gym_conform.errors import DataError, DownloadError, Problem, ProblemsFound
from gym_conform.prepare.options import PrepareOptions
from gym_conform.prepare.plan import DatasetJob

Echo = Callable[[str], None]


def bullets(items: Sequence[str]) -> str:
    """Render a list the way NeMo Gym prints lists: one `- item` per line."""
    return "".join(f"\n- {item}" for item in items)


def ensure_local(jobs: Sequence[DatasetJob], options: PrepareOptions, cfg: LoadedConfig, echo: Echo) -> None:
    """Download missing datasets when allowed; otherwise report every missing file and stop."""
    _refuse_escaping_paths(jobs)
    found = [j for j in jobs if j.path.exists()]
    missing = [j for j in jobs if not j.path.exists()]
    if found:
        echo("FOUND the following datasets at their local paths:" + bullets([j.display_path for j in found]))
    _refuse_special_files(found)
    if not missing:
        return
    echo("MISSING the following datasets:" + bullets([j.display_path for j in missing]))
    if options.mode == "example_validation" or not options.should_download:
        raise _missing_error(missing, options)
    # Imported here: huggingface_hub takes a noticeable share of a small run's start-up, and most runs
    # have every file already.
    from gym_conform.hub.download import resolve_hf_token

    token = resolve_hf_token(cfg.data)
    failures: list[Problem] = []
    for job in missing:
        try:
            _download(job, options, token, echo)
        except (DownloadError, DataError) as error:
            failures += [Problem(p.code, p.message, job.config_location, p.hint) for p in error.problems]
    if failures:
        raise ProblemsFound(failures, summary=f"{len(failures)} dataset(s) could not be downloaded")


def _refuse_escaping_paths(jobs: Sequence[DatasetJob]) -> None:
    """Refuse every relative `jsonl_fpath` whose `..` parts lead out of the directory it is relative to.

    ng_prepare_data reads the file and writes `<stem>_metrics.json` next to it: a config (or a pull request
    changing one) must not make it read or write elsewhere on the machine. A file outside the repository
    is named by an absolute path, on purpose.
    """
    problems = []
    for job in jobs:
        written = str(job.dataset.jsonl_fpath)
        if not os.path.isabs(written) and os.path.normpath(written).split(os.sep)[0] == os.pardir:
            problems.append(
                Problem(
                    "config.path_escapes",
                    f"jsonl_fpath '{written}' of dataset '{job.dataset.name}' leads outside the repository "
                    f"(to {os.path.normpath(job.path)}); it was not read",
                    job.config_location,
                    "dataset paths are relative to the repository root (where ng_prepare_data also writes the "
                    "sidecar metrics): move the file into it, or give an absolute path if it really lives elsewhere",
                )
            )
    if problems:
        raise ProblemsFound(problems, summary=f"{len(problems)} dataset path(s) lead outside the repository")


def _refuse_special_files(found: Sequence[DatasetJob]) -> None:
    """Refuse, before reading anything, every dataset path that is a directory, FIFO, socket or device."""
    problems = []
    for job in found:
        kind = file_kind(job.path)
        if kind is not None:
            error = not_regular(job.display_path, f"dataset '{job.dataset.name}' ({job.type})", kind)
            problems.append(
                Problem(error.code, f"{job.display_path}: {error.message}", job.config_location, error.hint)
            )
    if problems:
        raise ProblemsFound(problems, summary=f"{len(problems)} dataset path(s) are not regular files")


def _missing_error(missing: Sequence[DatasetJob], options: PrepareOptions) -> ProblemsFound:
    if options.mode == "example_validation":
        hint = (
            "example datasets are never downloaded: create the file with 5 example rows "
            "(usually the first 5 rows of your train data)"
        )
        summary = "Missing local datasets: you must provide the missing example jsonl files"
    else:
        hint = "check the path, or add +should_download=true to download it from its declared source"
        summary = (
            "Missing local datasets. You must provide local datasets since download is disabled. "
            "Run with `+should_download=true` to enable downloading."
        )
    problems = [
        Problem(
            "data.missing",
            f"dataset '{j.dataset.name}' ({j.type}) of {j.source or j.agent} not found at {j.display_path}",
            j.config_location,
            _prepared_hint(j) or hint,
        )
        for j in missing
    ]
    return ProblemsFound(problems, summary=summary)


def _prepared_hint(job: DatasetJob) -> str | None:
    """For a file its `prepare_script` produces (0.7.0), say how to produce it: nothing downloads it."""
    script = getattr(job.dataset, "prepare_script", None)
    if script is None:
        return None
    return (
        f"this file is produced by its prepare_script ({script}): run `gym eval prepare --config <this config>` "
        "(NeMo Gym) before collating"
    )


def _download(job: DatasetJob, options: PrepareOptions, token: str | None, echo: Echo) -> None:
    dataset = job.dataset
    hf = getattr(dataset, "huggingface_identifier", None)
    gitlab = getattr(dataset, "gitlab_identifier", None)
    if gitlab is not None and (hf is None or options.data_source == "gitlab"):
        raise DownloadError(
            f"dataset '{dataset.name}' is only available from GitLab (MLflow), which gym-conform does not download",
            code="download.gitlab_unsupported",
            hint="download it with NeMo Gym's tooling, or add a huggingface source to the dataset config",
        )
    if hf is None:
        raise DownloadError(
            f"dataset '{dataset.name}' is missing and declares no source to download it from",
            code="download.no_source",
            hint="add `source: {type: huggingface, repo_id: ORG/NAME, artifact_fpath: FILE}` or create the file",
        )
    from gym_conform.hub.download import download_dataset

    echo(f"Downloading '{dataset.type}' split from {hf.repo_id} to {job.display_path}...")
    path = download_dataset(dataset, token=token)
    echo(f"Downloaded {hf.repo_id} to: {path}")
