"""The exact license strings NeMo Gym accepts on a dataset, and the valid string a near miss means."""

from __future__ import annotations

import difflib
import re

VALID_LICENSES: tuple[str, ...] = (
    "Apache 2.0",
    "MIT",
    "Creative Commons Attribution 4.0 International",
    "Creative Commons Attribution-ShareAlike 4.0 International",
    "CC BY-SA 4.0",
    "CC BY-NC 3.0",
    "NVIDIA Internal Use Only, Do Not Distribute",
    "NVIDIA Evaluation Dataset License Agreement",
    "TBD",
    "GNU General Public License v3.0",
)

# Spellings people write for each accepted string: SPDX ids, Hub ids and long names. They are compared after
# `_normalize`, so case, punctuation, "License", "Version", "v" and ".0" variants need no entry of their own.
_SPELLINGS: dict[str, tuple[str, ...]] = {
    "Apache 2.0": ("Apache-2.0", "Apache License, Version 2.0", "ASL 2.0"),
    "MIT": ("MIT", "Expat"),
    "Creative Commons Attribution 4.0 International": (
        "CC-BY-4.0",
        "CC BY 4.0",
        "Creative Commons Attribution 4.0",
        "Creative Commons Attribution 4.0 International",
    ),
    "Creative Commons Attribution-ShareAlike 4.0 International": (
        "CC-BY-SA-4.0",
        "Creative Commons Attribution-ShareAlike 4.0",
        "Creative Commons Attribution Share Alike 4.0 International",
        "Creative Commons Attribution-ShareAlike 4.0 International",
    ),
    "CC BY-NC 3.0": (
        "CC-BY-NC-3.0",
        "Creative Commons Attribution-NonCommercial 3.0",
        "Creative Commons Attribution-NonCommercial 3.0 Unported",
        "Creative Commons Attribution Non Commercial 3.0",
    ),
    "NVIDIA Internal Use Only, Do Not Distribute": ("NVIDIA Internal Use Only", "NVIDIA Internal"),
    "NVIDIA Evaluation Dataset License Agreement": (
        "NVIDIA Evaluation Dataset License",
        "NVIDIA Evaluation License",
        "NVIDIA Evaluation Dataset License Agreement",
    ),
    "TBD": ("TBD", "To be determined"),
    "GNU General Public License v3.0": (
        "GPL-3.0",
        "GPL-3.0-or-later",
        "GNU GPL v3",
        "GNU GPLv3",
        "GNU General Public License v3.0",
        "GNU General Public License version 3",
    ),
}

_FILLER_WORDS = frozenset({"license", "licence", "version", "only", "the", "international"})


def _normalize(text: str) -> str:
    """Reduce a license spelling to lowercase letters and digits without filler words or `v`/`.0` parts."""
    lowered = text.casefold()
    lowered = re.sub(r"(\d)(?:\.0)+(?!\d)", r"\1", lowered)  # "2.0" -> "2"
    lowered = re.sub(r"v(?=\d)", "", lowered)  # "gplv3" -> "gpl3"
    words = re.findall(r"[a-z]+|\d+", lowered)
    return "".join(word for word in words if word not in _FILLER_WORDS)


def _build_aliases() -> dict[str, str]:
    """Map each normalized spelling to its accepted string; explicit spellings win over normalized names."""
    aliases = {_normalize(valid): valid for valid in VALID_LICENSES}
    for valid, spellings in _SPELLINGS.items():
        for spelling in spellings:
            aliases[_normalize(spelling)] = valid
    return aliases


_ALIASES = _build_aliases()
# Accepted strings that name the same license.
_SAME = {"CC BY-SA 4.0": "Creative Commons Attribution-ShareAlike 4.0 International"}


def suggest_license(value: str) -> str | None:
    """Return the accepted license string a near-miss `value` most likely means, or None."""
    if value in VALID_LICENSES:
        return None
    collapsed = " ".join(value.split()).casefold()
    for valid in VALID_LICENSES:
        if valid.casefold() == collapsed:
            return valid
    key = _normalize(value)
    if key in _ALIASES:
        return _ALIASES[key]
    close = difflib.get_close_matches(key, list(_ALIASES), n=1, cutoff=0.75)
    return _ALIASES[close[0]] if close else None


def license_of_spelling(value: str) -> str | None:
    """Return the accepted string `value` spells exactly (an SPDX or Hub id, a long name), never a near miss.

    The two accepted spellings of CC BY-SA 4.0 give the same string, so either compares equal to the other.
    """
    valid = value if value in VALID_LICENSES else _ALIASES.get(_normalize(value))
    return _SAME.get(valid, valid) if valid is not None else None


def license_spellings(valid: str) -> tuple[str, ...]:
    """Return the accepted string `valid` and the other spellings people write for it."""
    return (valid, *_SPELLINGS.get(valid, ()))


def format_valid_licenses() -> str:
    """Return the accepted strings as one quoted, comma-separated list for messages."""
    return ", ".join(repr(valid) for valid in VALID_LICENSES)
