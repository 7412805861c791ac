"""Short, escaped excerpts of a file's content for messages: no message echoes more of a file than this."""

from __future__ import annotations

import json

# Enough to recognize a value; a hostile file cannot flood a terminal or a CI log through a message.
EXCERPT_CHARS = 100
_ELLIPSIS = "…"


def excerpt(value: object, limit: int = EXCERPT_CHARS) -> str:
    """Return `value` as JSON text (a string in double quotes), every unprintable character escaped, cut short.

    Terminal escapes, bidirectional overrides and other invisible characters show as `\\u001b`-style escapes,
    so what a message shows is what the file holds.
    """
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):  # a circular structure: show its type only
        text = f"<{type(value).__name__}>"
    return _cut(_visible(text), limit)


def quoted(value: object, limit: int = EXCERPT_CHARS) -> str:
    """Return a string as `'text'` (escaped and cut as `excerpt` does), anything else as `excerpt`."""
    if not isinstance(value, str):
        return excerpt(value, limit)
    inner = json.dumps(value, ensure_ascii=False)[1:-1].replace('\\"', '"')
    return "'" + _cut(_visible(inner), limit - 2) + "'"


def shortened(text: str, limit: int = EXCERPT_CHARS) -> str:
    """Return a line of a file as a message shows it (no quotes): unprintable characters escaped, cut short."""
    return _cut(_visible(text), limit)


def _visible(text: str) -> str:
    return "".join(char if char.isprintable() else f"\\u{ord(char):04x}" for char in text)


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    backslash = cut.rfind("\\")
    if backslash >= len(cut) - 6:  # never end inside an escape sequence
        cut = cut[:backslash]
    return cut + _ELLIPSIS
