"""Row templates: once a row is proved to be in `json.dumps` form, match rows of the same shape without parsing.

Datasets repeat one row shape: the same keys, roles and options, only the texts differ. A template is the
exact `json.dumps` text of a proved row (`canonical.py`) compiled to a regular expression in which the
values that may vary without changing anything but the metrics become groups:

- any string, except the `role` and `type` values inside `responses_create_params` (they decide validity):
  a group matches exactly the ASCII texts `json.dumps` writes for some string (printable characters but
  `"` and `\\`, the escapes `\\" \\\\ \\n \\r \\t \\b \\f`, and `\\uXXXX` in lower case for the code points
  json.dumps escapes that way);
- a top-level integer (an extra metric): `0` or up to 18 digits without a leading zero.

Everything else (keys, numbers in the params, booleans, nulls, nesting) is literal. A line the template
matches is therefore a valid JSON object with the template row's structure and literals, in `json.dumps`
form, whose free strings are the groups' decoded texts. Its validity, standard metric inputs and extra
values follow from the template row's without parsing it: that is what `observe` records.
"""

from __future__ import annotations

import json
import re
from array import array
from json.decoder import scanstring

from gym_conform.core.metrics.dataset_metrics import NOT_EXTRA_KEYS
from gym_conform.core.rows import RCP
from gym_conform.prepare.quickcheck import ParamsFacts
from gym_conform.prepare.trace import MetricsTrace

_TEXT = rb'[^"\\\x00-\x1f\x7f-\xff]*'
# \uXXXX exactly as json.dumps writes it: lower-case hex; controls without a short escape, DEL, non-ASCII.
_UNICODE = rb"u(?:00(?:0[0-7]|0b|0e|0f|1[0-9a-f]|7f|[89a-f][0-9a-f])|0[1-9a-f][0-9a-f]{2}|[1-9a-f][0-9a-f]{3})"
_STRING = b'"(' + _TEXT + rb'(?:\\(?:["\\nrtbf]|' + _UNICODE + b")" + _TEXT + b')*)"'
_INTEGER = rb"(0|-?[1-9][0-9]{0,17})"
_LITERAL_IN_PARAMS = frozenset({"role", "type"})
_SPACE_RUN = re.compile(b" +")

_STR, _INT, _CONST = range(3)


def _literal(value: object) -> bytes:
    return re.escape(json.dumps(value).encode())


def _decode(text: bytes) -> str:
    """Return the string a group's `json.dumps` text stands for."""
    plain = text.decode("ascii")
    return scanstring(plain + '"', 0)[0] if "\\" in plain else plain


def _space_runs(text: bytes) -> int:
    if b" " not in text:
        return 0
    if b"  " in text:
        return len(_SPACE_RUN.findall(text))
    return text.count(b" ")


class RowTemplate:
    """A compiled `json.dumps` shape of one proved row, and how a match feeds a `MetricsTrace`."""

    __slots__ = ("_pattern", "_plan", "_word_groups", "_last_words", "_words", "_tools", "_turns", "_temperature")

    def __init__(self, row: dict, facts: ParamsFacts, trace: MetricsTrace) -> None:
        """Build from a valid row already observed by `trace` (its extras exist there) and its `facts`."""
        self._plan: list[tuple[array, int, object]] = []
        self._word_groups: list[int] = []
        # Per word group, the last text seen and its runs of spaces: a fixed system prompt is counted once.
        self._last_words: list[tuple[bytes, int]] = []
        self._tools, self._turns, self._temperature = facts.tools, facts.turns, facts.temperature
        pieces: list[bytes] = []
        groups = [0]
        free_spaces = [0]
        for index, (key, value) in enumerate(row.items()):
            pieces.append((b", " if index else b"\\{") + _literal(key) + b": ")
            if key == RCP:
                pieces.append(self._params_pattern(value, None, groups, free_spaces))
            elif NOT_EXTRA_KEYS.get(key) is None:
                pieces.append(self._extra_pattern(value, trace.extras.get(key), groups))
            else:
                pieces.append(_literal(value))
        pieces.append(b"\\}")
        self._pattern = re.compile(b"".join(pieces))
        self._words = facts.words - free_spaces[0]

    def _params_pattern(self, value: object, key: str | None, groups: list[int], free_spaces: list[int]) -> bytes:
        kind = type(value)
        if kind is str and key not in _LITERAL_IN_PARAMS:
            text = json.dumps(value).encode()[1:-1]
            self._word_groups.append(groups[0])
            self._last_words.append((text, _space_runs(text)))
            groups[0] += 1
            free_spaces[0] += self._last_words[-1][1]
            return _STRING
        if kind is dict:
            members = [_literal(k) + b": " + self._params_pattern(v, k, groups, free_spaces) for k, v in value.items()]
            return b"\\{" + b", ".join(members) + b"\\}"
        if kind is list:
            return b"\\[" + b", ".join(self._params_pattern(v, None, groups, free_spaces) for v in value) + b"\\]"
        return _literal(value)

    def _extra_pattern(self, value: object, recorded: array | None, groups: list[int]) -> bytes:
        if type(value) is list:
            return b"\\[" + b", ".join(self._extra_item(item, recorded, groups) for item in value) + b"\\]"
        return self._extra_item(value, recorded, groups)

    def _extra_item(self, item: object, recorded: array | None, groups: list[int]) -> bytes:
        kind = type(item)
        if kind is str:
            self._plan.append((recorded, _STR, groups[0]))
            groups[0] += 1
            return _STRING
        if kind is int:
            self._plan.append((recorded, _INT, groups[0]))
            groups[0] += 1
            return _INTEGER
        if kind is bool or kind is float:
            self._plan.append((recorded, _CONST, float(item)))
        return _literal(item)

    def match(self, line: bytes) -> tuple | None:
        """Return the groups of a line of this shape, or None."""
        found = self._pattern.fullmatch(line)
        return None if found is None else found.groups()

    def observe(self, groups: tuple, trace: MetricsTrace, count: int) -> None:
        """Record a matched row in `trace` exactly as `MetricsTrace.observe` would after parsing it."""
        trace.examples += count
        if self._tools is not None:
            trace.tools.append(self._tools)
        if self._turns:
            trace.turns.append(self._turns)
        if self._temperature is not None:
            trace.temperature.append(float(self._temperature))
        words = self._words
        last_words = self._last_words
        for slot, index in enumerate(self._word_groups):
            text = groups[index]
            last, runs = last_words[slot]
            if text != last:
                runs = _space_runs(text)
                last_words[slot] = (text, runs)
            words += runs
        trace.words.append(words)
        for recorded, kind, source in self._plan:
            if kind == _STR:
                recorded.append(hash(_decode(groups[source])))
            elif kind == _INT:
                recorded.append(float(groups[source]))
            else:
                recorded.append(source)
