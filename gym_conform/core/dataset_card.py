"""A Hugging Face dataset card's `license:` metadata, and whether it contradicts a config's dataset license.

A card is the repo's README.md; its metadata is the YAML block between the first two `---` lines, where
`license:` holds one Hub license id (`apache-2.0`, `cc-by-nc-4.0`, `other`, ...) or a list of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gym_conform.core.licenses import license_of_spelling
from gym_conform.core.yaml_safe import safe_load

CARD_FILE = "README.md"
# Hub ids that name no license a config string can be compared with.
_UNKNOWN = frozenset({"other", "unknown", "", "none"})
# A YAML license that says nothing yet.
_UNDECIDED = frozenset({"TBD"})


@dataclass(frozen=True)
class CardLicense:
    """What a card's metadata says: its license ids as written, and the line of `license:` in the card."""

    ids: tuple[str, ...]
    line: int | None


def card_license(text: str) -> CardLicense | None:
    """Return the card's `license:` metadata, or None without a metadata block, a `license:` or valid YAML."""
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() != "---":
        return None
    end = next((index for index in range(1, len(lines)) if lines[index].strip() == "---"), None)
    if end is None:
        return None
    try:
        metadata = safe_load("\n".join(lines[1:end]))
    except Exception:
        return None  # a card whose metadata does not parse says nothing about its license
    value = metadata.get("license") if isinstance(metadata, dict) else None
    ids = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    ids = [str(item).strip() for item in ids if isinstance(item, (str, int, float)) and str(item).strip()]
    if not ids:
        return None
    line = next((index + 1 for index in range(1, end) if lines[index].startswith("license:")), None)
    return CardLicense(tuple(ids), line)


def contradicts(config_license: str, card: CardLicense) -> bool:
    """Return whether the card names licenses, none of them the config's (and none `other` or `unknown`).

    A card that says `other`, or a config license that is `TBD` or not an accepted string, cannot be compared.
    """
    ours = license_of_spelling(config_license)
    if ours is None or config_license in _UNDECIDED:
        return False
    if any(item.casefold() in _UNKNOWN for item in card.ids):
        return False
    return all(license_of_spelling(item) != ours for item in card.ids)


def hub_repo(dataset: Any) -> str | None:
    """Return the repo id of a dataset config's Hugging Face source (`source:` or `huggingface_identifier:`)."""
    identifier = getattr(dataset, "huggingface_identifier", None)
    source = getattr(dataset, "source", None)
    if identifier is None and getattr(source, "type", None) == "huggingface":
        identifier = source
    return None if identifier is None else str(identifier.repo_id)
