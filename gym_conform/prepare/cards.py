"""The license of each train/validation dataset from the Hub against its dataset card: a warning when they differ.

NeMo Gym reads no card, so a contradiction is a `warning:` line, never a failed run. The card is fetched only
with `+should_download=true` (once: it is cached with the dataset files); otherwise the cached copy is read,
and a dataset whose card is not cached gets a `note:` saying its license was not compared.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from gym_conform.core.config.loader import LoadedConfig
from gym_conform.core.dataset_card import hub_repo
from gym_conform.errors import DownloadError
from gym_conform.prepare.options import PrepareOptions
from gym_conform.prepare.plan import DatasetJob

Echo = Callable[[str], None]
_LICENSED_TYPES = ("train", "validation")


def compare_cards(jobs: Sequence[DatasetJob], options: PrepareOptions, cfg: LoadedConfig, echo: Echo) -> None:
    """Echo a warning for every in-scope Hub dataset whose license its dataset card contradicts."""
    sourced = [
        (job, repo_id, license_value)
        for job in jobs
        if job.type in _LICENSED_TYPES
        and (repo_id := hub_repo(job.dataset)) is not None
        and isinstance(license_value := getattr(job.dataset, "license", None), str)
    ]
    if not sourced:
        return
    # Imported here: huggingface_hub takes a noticeable share of a small run's start-up.
    from gym_conform.hub.cards import cached_card, card_problem, fetch_card
    from gym_conform.hub.download import hub_cache_dir, resolve_hf_token

    token = resolve_hf_token(cfg.data) if options.should_download else None
    cards: dict[str, Path | None] = {}
    for job, repo_id, license_value in sourced:
        if repo_id not in cards:
            cards[repo_id] = cached_card(repo_id)
            if cards[repo_id] is None and options.should_download:
                try:
                    cards[repo_id] = fetch_card(repo_id, token=token)
                except DownloadError as error:
                    echo(f"note: the dataset card of {repo_id} could not be fetched ({error.message})")
        card = cards[repo_id]
        if card is None:
            how = "it has none" if options.should_download else f"it is not in the Hub cache {hub_cache_dir()}"
            hint = "" if options.should_download else " (+should_download=true fetches it)"
            echo(
                f"note: {job.config_location}: the license of dataset '{job.dataset.name}' was not "
                f"compared with the dataset card of {repo_id}: {how}{hint}"
            )
            continue
        problem = card_problem(repo_id, card, license_value, job.type, job.config_location)
        if problem is not None:
            echo("warning: " + problem.render())
