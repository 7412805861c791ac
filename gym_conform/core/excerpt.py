"""Short, escaped excerpts of a file's content for messages: no message echoes more of a file than this."""

from __future__ import annotations

import json

# Enough to recognize a value; a hostile file cannot flood a terminal or a CI log through a message.
EXCERPT_CHARS = 80
_ELLIPSIS = "…"


def excerpt(value: object, limit: int = EXCERPT_CHARS) -> str:
    """Return `value` as JSON text (a string quoted), every unprintable character escaped, cut to `limit` chars.

    Terminal escapes, bidirectional overrides and other invisible characters show as `\\u001b`-style escapes,
    so what a message shows is what the file holds.
    """
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):  # a circular structure: show its type only
        text = f"<{type(value).__name__}>"
    text = "".join(char if char.isprintable() else f"\\u{ord(char):04x}" for char in text)
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    backslash = cut.rfind("\\")
    if backslash >= len(cut) - 6:  # never end inside an escape sequence
        cut = cut[:backslash]
    return cut + _ELLIPSIS
