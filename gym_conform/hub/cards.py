"""Dataset cards of Hub datasets: fetched when the user asked for downloads, else read from the cache only.

The card (the repo's README.md) lands in the same cache as the dataset files (`hub_cache_dir()`), so a card
fetched by `ng_prepare_data +should_download=true` is what the static `license` check later reads offline.
"""

from __future__ import annotations

from pathlib import Path

from huggingface_hub import hf_hub_download, try_to_load_from_cache
from huggingface_hub.errors import RemoteEntryNotFoundError

from gym_conform.core.dataset_card import CARD_FILE, card_license, contradicts
from gym_conform.core.excerpt import excerpt, quoted
from gym_conform.errors import Location, Problem
from gym_conform.hub.download import _HUB_ERRORS, _chain, _Request, _translate, hub_cache_dir, hub_endpoint

CARD_MISMATCH = "license.card_mismatch"


def cached_card(repo_id: str, revision: str | None = None) -> Path | None:
    """Return the cached card of dataset repo `repo_id` (no network), or None when it is not cached."""
    try:
        found = try_to_load_from_cache(
            repo_id, CARD_FILE, cache_dir=hub_cache_dir(), revision=revision, repo_type="dataset"
        )
    except ValueError:
        return None  # not a valid repo id: the config check reports it
    return Path(found) if isinstance(found, str) else None


def fetch_card(repo_id: str, *, token: str | None, revision: str | None = None) -> Path | None:
    """Download the card of dataset repo `repo_id` into the cache; None when the repo has no card."""
    request = _Request(repo_id, CARD_FILE, revision, hub_endpoint(), token)
    try:
        return Path(
            hf_hub_download(
                repo_id=repo_id,
                filename=CARD_FILE,
                repo_type="dataset",
                token=token,
                revision=revision,
                endpoint=request.endpoint,
                cache_dir=hub_cache_dir(),
            )
        )
    except _HUB_ERRORS as error:
        if any(isinstance(cause, RemoteEntryNotFoundError) for cause in _chain(error)):
            return None
        raise _translate(error, request) from error


def card_problem(
    repo_id: str, card: Path, config_license: str, dataset_type: str, location: Location
) -> Problem | None:
    """Return a problem at the config's `license` when the card's license metadata contradicts it."""
    try:
        text = card.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    found = card_license(text)
    if found is None or not contradicts(config_license, found):
        return None
    said = excerpt(found.ids[0] if len(found.ids) == 1 else "[" + ", ".join(found.ids) + "]")[1:-1]
    where = f"{CARD_FILE}:{found.line}" if found.line else CARD_FILE
    message = (
        f"the {dataset_type} dataset is licensed {quoted(config_license)} here, but the dataset card of {repo_id} "
        f"({where}, cached at {card}) says `license: {said}`"
    )
    hint = (
        f"make the config's license agree with https://huggingface.co/datasets/{repo_id} (and the README's "
        "licensing section), or have the card corrected if it is wrong"
    )
    return Problem(CARD_MISMATCH, message, location, hint)
