"""Prove that a JSONL line already is `json.dumps` of its own parse, so its collated form can reuse the text.

NeMo Gym writes each collated row as `json.dumps(row)` with `agent_ref` appended. When a line is exactly
what `json.dumps` would print for its parse, the collated line is the input line with the agent_ref member
spliced in before the closing brace, and the dump (a third of the per-row cost) can be skipped.

`is_dumps_form` accepts a line only when equality is proved, never when it is merely likely. With the
line already parsed (so it is valid JSON) and `strings` the number of strings, keys included, in its parse:

1. ASCII only, and no DEL: `json.dumps` escapes everything else, so any other character differs.
2. No `\\u`, `\\/` or `\\"` escapes (escaped backslashes aside): the escapes left (`\\\\ \\n \\r \\t \\b
   \\f`) are the ones `json.dumps` writes, raw characters are the printable ASCII it keeps, and every `"`
   delimits a string, so every string token reads exactly as `json.dumps` writes its value.
3. Splitting on `"` then gives 2 * `strings` + 1 parts. A JSON text holds at least as many string
   tokens as its parse holds strings, with equality exactly when no object repeats a key (a repeated key
   keeps one member of several), so the token sequence is the parse's token sequence.
4. The text outside strings (the even parts, joined by one `"` standing for each string so that a blank
   keeps its neighbours) has one space after each `,` and `:` and no other blank, and each number in it
   is written as Python writes it (no `-0`, floats as `repr`): same tokens and same blanks, same string.
"""

from __future__ import annotations

import re

# A backslash before u, / or " (an escape json.dumps avoids, or a quote that does not delimit a string).
# _MAYBE_UNSAFE is the quick scan; _UNSAFE_ESCAPE also requires the backslash not to be escaped itself.
_MAYBE_UNSAFE = re.compile(rb'\\[u/"]')
_UNSAFE_ESCAPE = re.compile(rb'(?<!\\)(?:\\\\)*\\[u/"]')
_NUMBER_START = re.compile(rb"[-0-9]")
_NUMBER = re.compile(rb"-?[0-9][0-9.eE+-]*")


def is_dumps_form(line: bytes, strings: int) -> bool:
    """Return True only if `line` is `json.dumps(json.loads(line))`, UTF-8 encoded; `strings` as counted above."""
    return DumpsFormProver().proves(line, strings)


class DumpsFormProver:
    """`is_dumps_form` for a run of lines: remembers the last skeleton it proved, as rows tend to share one."""

    __slots__ = ("_proven",)

    def __init__(self) -> None:
        self._proven = b""

    def proves(self, line: bytes, strings: int) -> bool:
        """Return True only if `line` is `json.dumps(json.loads(line))`; `strings` as counted above."""
        if not line.isascii() or b"\x7f" in line:
            return False
        if _MAYBE_UNSAFE.search(line) and _UNSAFE_ESCAPE.search(line):
            return False
        parts = line.split(b'"')
        if len(parts) != 2 * strings + 1:
            return False
        skeleton = b'"'.join(parts[0::2])
        if skeleton == self._proven:
            return True
        if _skeleton_is_canonical(skeleton):
            self._proven = skeleton
            return True
        return False


def _skeleton_is_canonical(skeleton: bytes) -> bool:
    """Return whether the text outside strings is spaced, and its numbers written, as json.dumps writes them."""
    if b"\t" in skeleton or b"\r" in skeleton:
        return False
    if skeleton.replace(b" ", b"").replace(b",", b", ").replace(b":", b": ") != skeleton:
        return False
    if _NUMBER_START.search(skeleton):
        for number in _NUMBER.findall(skeleton):
            if b"." in number or b"e" in number or b"E" in number:
                if repr(float(number)).encode() != number:
                    return False
            elif number == b"-0":
                return False
    return True


def count_strings(value: object) -> int:
    """Return how many strings (object keys included) a parsed JSON value holds."""
    if type(value) is str:
        return 1
    if type(value) is dict:
        return len(value) + sum(count_strings(item) for item in value.values())
    if type(value) is list:
        return sum(count_strings(item) for item in value)
    return 0
