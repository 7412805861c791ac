"""Row templates: once a row of a shape is valid, take later rows of that shape in `json.dumps` form cheaply.

Datasets repeat one row shape: the same keys, roles and options, only the texts differ. A template is the
exact `json.dumps` text of a valid row cut at its `"` characters: the even parts are the text between
strings (punctuation, numbers, literals), the odd parts the string bodies. Some values may vary without
changing anything but the metrics; they are *free*:

- any string, except keys, the `role` and `type` values inside `responses_create_params` (they decide
  validity) and the values of the top-level keys that never become extras (`response`, ...);
- a top-level integer extra, or an integer item of a top-level list: `0` or up to 18 digits, no leading zero.

A line is taken when (1) it is ASCII without DEL, (2) it has no `\\"` or `\\/` escape and only the `\\uXXXX`
escapes `json.dumps` writes (lower-case hex, for the code points it escapes that way), so every `"` delimits
a string, (3) split at `"` it has the template's number of parts, its fixed parts equal the template's and
its free integers are written as above, and (4) orjson decodes its free string bodies (no control byte,
unknown escape or lone surrogate). Then it is the template row's text with each free token replaced by
valid JSON of the same kind, each written as `json.dumps` writes its value: the line is valid, `json.dumps`
of its parse (so `agent_ref` is spliced in), valid like the template row, and its metric inputs follow from
the template row's plus the free values. The line itself is never parsed: only its free strings are decoded,
all of a region's at once, and whole rows only for a task_data schema. orjson is used only here, and only on
bodies that pass (1)-(3), where it accepts exactly what `json.loads` accepts and decodes strings alike
(tests/prepare/test_template.py).

`screen_region` applies the same tests to many lines at once, with one call each: one `split` of the whole
region (line k's parts then sit at a fixed stride, so each fixed part is checked for every line by one
`list.count` of a slice), then one escape scan and one orjson decode of the free strings. Those are the only
text that may differ from the template's, and only their columns that do, and that differ from each other
(a prompt repeating a question field), are scanned. `record_region` then records column by column, and
`collated_region` splices `agent_ref` into every line by one `join`.
"""

from __future__ import annotations

import json
import re
from array import array
from collections.abc import Callable, Iterable
from itertools import chain, repeat
from operator import add, itemgetter
from re import Match
from typing import Any

import numpy as np
import orjson

from gym_conform.core.jsonl import RCP
from gym_conform.core.metrics.dataset_metrics import NOT_EXTRA_KEYS
from gym_conform.prepare.quickcheck import ParamsFacts
from gym_conform.prepare.trace import MetricsTrace

# \uXXXX escapes exactly as json.dumps writes them: lower-case hex; controls without a short escape, DEL, non-ASCII.
_CANONICAL_HEX = rb"(?:00(?:0[0-7]|0b|0e|0f|1[0-9a-f]|7f|[89a-f][0-9a-f])|0[1-9a-f][0-9a-f]{2}|[1-9a-f][0-9a-f]{3})"
# A backslash before u, / or " (an escape json.dumps avoids, or may write otherwise), unless itself escaped.
_MAYBE_UNSAFE = re.compile(rb'\\[u/"]')
_CANONICAL_U = re.compile(_CANONICAL_HEX)
_BACKSLASH, _U, _SPACE = ord("\\"), ord("u"), ord(" ")
_FREE_INT = b"(0|-?[1-9][0-9]{0,17})"
_SPACE_RUN = re.compile(b" +")
_LITERAL_IN_PARAMS = frozenset({"role", "type"})
_dumps = json.JSONEncoder().encode
_loads = orjson.loads

# What a template records for an extra field, per row: a string's digest, a free integer, or a constant.
_STR, _INT, _CONST = range(3)
# One recording step: (kind, source): the string's index among the free strings, the free integer's, or the constant.
_Step = tuple[int, Any]
_FullMatch = Callable[[bytes], "Match[bytes] | None"]


def has_double_space(region: bytes) -> bool:
    """Return whether two spaces follow each other somewhere in `region` (`in` is slow for a common byte)."""
    spaces = np.frombuffer(region, np.uint8) == _SPACE
    return bool(np.any(spaces[1:] & spaces[:-1]))


def space_runs(text: bytes) -> int:
    """Return the number of runs of spaces in `text`."""
    if b" " not in text:
        return 0
    if b"  " in text:
        return len(_SPACE_RUN.findall(text))
    return text.count(b" ")


class _Parts:
    """The `json.dumps` text of a row as it is built: parts split at `"`, which are fixed, free integers."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.fixed: list[int] = []
        self.numbers: list[tuple[int, bytes]] = []
        self._even: list[bytes] = []
        self._pattern: list[bytes] = []
        self._free_ints = 0

    def text(self, text: bytes) -> None:
        self._even.append(text)
        self._pattern.append(re.escape(text))

    def free_int(self, text: bytes) -> int:
        """Add a free integer; return its index among the row's free integers."""
        self._even.append(text)
        self._pattern.append(_FREE_INT)
        self._free_ints += 1
        return self._free_ints - 1

    def string(self, body: bytes, free: bool) -> int:
        """Add a string's body (its `json.dumps` text without the quotes); return its part index."""
        self._close_even()
        if not free:
            self.fixed.append(len(self.parts))
        self.parts.append(body)
        return len(self.parts) - 1

    def finish(self) -> None:
        self._close_even()

    def _close_even(self) -> None:
        index = len(self.parts)
        if _FREE_INT in self._pattern:
            self.numbers.append((index, b"".join(self._pattern)))
        else:
            self.fixed.append(index)
        self.parts.append(b"".join(self._even))
        self._even, self._pattern = [], []


class RowTemplate:
    """A valid row's `json.dumps` shape, and how a later line of that shape feeds a `MetricsTrace`."""

    __slots__ = (
        "_fixed",
        "_fixed_values",
        "_edges",
        "_fields",
        "_free",
        "_free_values",
        "_inner_fixed",
        "_numbers",
        "_size",
        "_temperature",
        "_tools",
        "_turns",
        "_word_parts",
        "_words",
    )
    _fixed: Callable[[list[bytes]], Any]  # itemgetter of the fixed parts: a tuple of them
    _fixed_values: Any
    _edges: tuple[bytes, bytes, bytes | None]  # first part, last part, last + newline + first (None: not fixed)
    _fields: list[tuple[array, list[_Step]]]
    _free: list[int]  # the free strings' part indices
    _free_values: list[tuple[bytes, str]]  # the template row's free strings: body and value
    _inner_fixed: list[tuple[int, bytes]]
    _numbers: list[tuple[int, _FullMatch]]
    _size: int
    _temperature: float | None
    _tools: float | None
    _turns: float
    _word_parts: list[int]
    _words: int

    @classmethod
    def learn(cls, row: dict, facts: ParamsFacts, trace: MetricsTrace) -> RowTemplate | None:
        """Return the template of a valid row already observed by `trace`, or None for a row it cannot take.

        `facts` are `quick_params`' for the row; rows whose strings hold a `"` give no template.
        """
        template = cls()
        built = _Parts()
        plan: list[tuple[array, int, Any]] = []
        words: list[int] = []
        built.text(b"{")
        for index, (key, value) in enumerate(row.items()):
            if index:
                built.text(b", ")
            built.string(_body(key), False)
            built.text(b": ")
            if key == RCP:
                _add_params(built, value, None, words)
            elif NOT_EXTRA_KEYS.get(key) is None:
                recorded = trace.extras.get(key)
                _add_extra(built, value, recorded, plan)
            else:
                _add_fixed(built, value)
        built.text(b"}")
        built.finish()
        parts = built.parts
        if b'"'.join(parts) != _dumps(row).encode() or any(b'"' in part for part in parts):
            return None
        template._size = len(parts)
        fixed = built.fixed
        # The first part (`{`) and the first key are always fixed: itemgetter returns a tuple.
        template._fixed = itemgetter(*fixed)
        template._fixed_values = template._fixed(parts)
        last = len(parts) - 1
        template._inner_fixed = [(index, parts[index]) for index in fixed if 0 < index < last]
        # Regions of several lines need a fixed first and last part (else `screen_region` declines).
        edges_fixed = fixed[0] == 0 and fixed[-1] == last
        template._edges = (parts[0], parts[last], parts[last] + b"\n" + parts[0] if edges_fixed else None)
        template._numbers = [(index, re.compile(pattern).fullmatch) for index, pattern in built.numbers]
        fixed_parts = set(fixed)
        template._free = [index for index in range(1, len(parts), 2) if index not in fixed_parts]
        bodies = [parts[index] for index in template._free]
        values = _decoded(bodies)
        if values is None:
            return None
        template._free_values = list(zip(bodies, values, strict=True))
        slots = {index: slot for slot, index in enumerate(template._free)}
        template._fields = _fields([(to, kind, slots[source] if kind == _STR else source) for to, kind, source in plan])
        template._word_parts = words
        template._words = facts.words - sum(space_runs(parts[index]) for index in words)
        # As the trace records them: floats (`MetricsTrace` explains why this changes no metric).
        template._tools = None if facts.tools is None else float(facts.tools)
        template._turns = float(facts.turns)
        template._temperature = None if facts.temperature is None else float(facts.temperature)
        return template

    def screen_region(self, region: bytes) -> tuple[list[bytes], list[list[str]], int] | None:
        """Return the flat parts, the free strings (per free string, its value in each line) and the number of
        the newline-separated lines of `region` if this template takes them all, else None.

        Line k's part j is part k * (parts per line - 1) + j: a line's last part and the next line's first
        part, joined by the newline, are one part. No other part can hold a newline (fixed parts are the
        template's, free integers digits, and free strings decode without a control byte), so the parts tell
        the number of lines.
        """
        stride = self._size - 1
        first, last, boundary = self._edges
        if boundary is None or not region.isascii() or b"\x7f" in region:
            return None
        parts = region.split(b'"')
        lines, rest = divmod(len(parts) - 1, stride)
        if rest or parts[0] != first or parts[-1] != last:
            return None
        if parts[stride:-1:stride].count(boundary) != lines - 1:
            return None
        for index, value in self._inner_fixed:
            if parts[index::stride].count(value) != lines:
                return None
        for index, fullmatch in self._numbers:
            if not all(map(fullmatch, parts[index::stride])):
                return None
        strings = self._decoded_columns([parts[index::stride] for index in self._free], lines)
        if strings is None:
            return None
        return parts, strings, lines

    def _decoded_columns(self, columns: list[list[bytes]], lines: int) -> list[list[str]] | None:
        """Return each free string's values in a region's lines (`columns`: their bodies), or None when one is
        not `json.dumps` text.

        Only the fixed parts are known good; but a column holding the template's own string in every line is
        too, and a column equal to an earlier one (a prompt repeating a question field, say) shares its
        strings, so only the other columns are scanned and decoded, in one call each.
        """
        decoded: list[list[str]] = [[] for _ in columns]
        todo: list[int] = []
        aliases: list[tuple[int, int]] = []
        for slot, column in enumerate(columns):
            body, value = self._free_values[slot]
            if column.count(body) == lines:
                decoded[slot] = [value] * lines
                continue
            same = next((earlier for earlier in todo if columns[earlier] == column), None)
            if same is None:
                todo.append(slot)
            else:
                aliases.append((slot, same))
        if todo:
            bodies = list(chain.from_iterable(columns[slot] for slot in todo))
            joined = b'","'.join(bodies)
            # The bodies are all the region's text that may hold an escape.
            strings = _decoded(bodies, joined) if _canonical_escapes(joined) else None
            if strings is None:
                return None
            for position, slot in enumerate(todo):
                decoded[slot] = strings[position * lines : (position + 1) * lines]
        for slot, same in aliases:
            decoded[slot] = decoded[same]
        return decoded

    def record_region(
        self, parts: list[bytes], strings: list[list[str]], trace: MetricsTrace, count: int, region: bytes
    ) -> None:
        """Record the lines `screen_region` took from `region`, as `MetricsTrace.observe` would, `count` times."""
        stride = self._size - 1
        self._record(
            (len(parts) - 1) // stride, lambda index: parts[index::stride], strings.__getitem__, trace, count, region
        )

    def collated_region(self, parts: list[bytes], lines: int, suffix: bytes) -> bytes:
        """Return the region's lines, each with `suffix` (the agent_ref member, "}" and newline) for its last "}"."""
        first, last, _ = self._edges
        stride = self._size - 1
        parts[stride:-1:stride] = [last[:-1] + suffix + first] * (lines - 1)
        parts[-1] = last[:-1] + suffix
        return b'"'.join(parts)

    def screen(self, lines: list[bytes]) -> tuple[list[list[str] | None], list[list[bytes]]]:
        """Return, per line (without its newline), its free strings if this template takes it (else None), and
        its parts. A taken line is valid and exactly `json.dumps` of its parse (see the module docstring)."""
        size, fixed, fixed_values = self._size, self._fixed, self._fixed_values
        parts = [line.split(b'"') for line in lines]
        good = [
            len(cut) == size
            and fixed(cut) == fixed_values
            and line.isascii()
            and b"\x7f" not in line
            and _canonical_escapes(line)
            for line, cut in zip(lines, parts, strict=True)
        ]
        for index, fullmatch in self._numbers:
            good = [ok and fullmatch(cut[index]) is not None for ok, cut in zip(good, parts, strict=True)]
        free = self._free
        bodies = [[cut[index] for index in free] for cut, ok in zip(parts, good, strict=True) if ok]
        if not bodies:
            return [None] * len(lines), parts
        width = len(free)
        strings = _decoded(list(chain.from_iterable(bodies)))
        decoded: Iterable[list[str] | None]
        if strings is None:
            decoded = map(_decoded, bodies)  # one of the lines holds a bad string: which?
        elif width:
            decoded = (strings[at : at + width] for at in range(0, len(strings), width))
        else:
            decoded = repeat([])
        taken = iter(decoded)
        return [next(taken) if ok else None for ok in good], parts

    def record(self, parts: list[list[bytes]], strings: list[list[str]], trace: MetricsTrace, count: int) -> None:
        """Record taken lines (their parts and free strings), in order, as `MetricsTrace.observe` would, `count`
        times each."""
        self._record(
            len(parts),
            lambda index: [cut[index] for cut in parts],
            lambda slot: [line[slot] for line in strings],
            trace,
            count,
            None,
        )

    def _record(
        self,
        size: int,
        column: Callable[[int], list[bytes]],
        strings: Callable[[int], list[str]],
        trace: MetricsTrace,
        count: int,
        region: bytes | None,
    ) -> None:
        """Record `size` lines column by column (`column`: a part's texts, `strings`: a free string's values);
        `region` (their text, if at hand) can show no text has two spaces."""
        if not size:
            return
        trace.examples += size * count
        # A one-item array times `size` is built by copying, and an array extends an array by copying.
        if self._tools is not None:
            trace.tools.extend(array("d", [self._tools]) * size)
        if self._turns:
            trace.turns.extend(array("d", [self._turns]) * size)
        if self._temperature is not None:
            trace.temperature.extend(array("d", [self._temperature]) * size)
        # Each row's words: the template's fixed words plus the space runs of its free texts.
        words = self._words
        varying = []
        for index in self._word_parts:
            texts = column(index)
            if texts.count(texts[0]) == size:
                words += space_runs(texts[0])
            else:
                varying.append(texts)
        if not varying:
            trace.words.extend(array("d", [words]) * size)
        else:
            plain = region is not None and not has_double_space(region)
            total: Iterable[int] = repeat(words, size)
            for texts in varying:
                runs: Iterable[int]
                if plain:
                    runs = map(bytes.count, texts, repeat(b" "))  # every run of spaces is one space
                else:
                    runs = [text.count(b" ") if b"  " not in text else len(_SPACE_RUN.findall(text)) for text in texts]
                total = map(add, total, runs)
            trace.words.extend(array("d", list(total)))
        if not self._fields:
            return
        ints: list[tuple[bytes, ...]] | None = None
        if self._numbers:
            # Every taken line matched each free-integer pattern, so fullmatch never returns None here.
            groups = [[fullmatch(text).groups() for text in column(index)] for index, fullmatch in self._numbers]  # type: ignore[union-attr]
            ints = [tuple(chain.from_iterable(row_groups)) for row_groups in zip(*groups, strict=True)]
        for recorded, steps in self._fields:
            columns = [_column(kind, source, size, strings, ints) for kind, source in steps]
            values = columns[0] if len(columns) == 1 else list(chain.from_iterable(zip(*columns, strict=True)))
            recorded.extend(array(recorded.typecode, values))


def parse_lines(text: bytes) -> list[dict]:
    """Return the rows of newline-separated taken lines (for a task_data schema), parsed as `json.loads` would."""
    try:
        rows: list[dict] = _loads(b"[" + text.replace(b"\n", b",") + b"]")
    except ValueError:
        # An integer beyond 64 bits in a fixed part, which orjson refuses and json.loads reads.
        rows = [json.loads(line) for line in text.split(b"\n")]
    return rows


def _canonical_escapes(text: bytes) -> bool:
    """Return whether `text` has no `\\"` or `\\/` escape and only `\\u` escapes as json.dumps writes them."""
    for found in _MAYBE_UNSAFE.finditer(text):
        start = found.start()
        run = start
        while run and text[run - 1] == _BACKSLASH:
            run -= 1
        if (start - run) % 2:
            continue  # an escaped backslash, then a plain character
        if text[start + 1] != _U or _CANONICAL_U.match(text, start + 2) is None:
            return False
    return True


def _decoded(bodies: list[bytes], joined: bytes | None = None) -> list[str] | None:
    """Return the strings whose `json.dumps` bodies (none holding a `"`) are given (`joined`: them joined by
    `","`, if at hand), or None when one is not valid JSON (a control byte, an unknown escape, a lone
    surrogate): one orjson call for them all."""
    if not bodies:
        return []
    if joined is None:
        joined = b'","'.join(bodies)
    try:
        strings: list[str] = _loads(b'["' + joined + b'"]')
    except ValueError:
        return None
    # A body ending in a backslash would take the next quote into its string: `_canonical_escapes` refuses
    # one, and the count would show it anyway.
    return strings if len(strings) == len(bodies) else None


def _column(
    kind: int, source: Any, size: int, strings: Callable[[int], list[str]], ints: list[tuple[bytes, ...]] | None
) -> Iterable[float | int]:
    """Return one plan step's recorded values for each line (`ints`: each line's free integers, for _INT steps)."""
    if kind == _STR:
        return list(map(hash, strings(source)))
    if kind == _INT:
        assert ints is not None  # a template with an _INT step has free-integer patterns
        return [float(values[source]) for values in ints]
    return [source] * size


def _fields(plan: list[tuple[array, int, Any]]) -> list[tuple[array, list[_Step]]]:
    """Group plan steps by the array they record into, keeping each field's steps in row order."""
    fields: dict[int, tuple[array, list[_Step]]] = {}
    for recorded, kind, source in plan:
        fields.setdefault(id(recorded), (recorded, []))[1].append((kind, source))
    return list(fields.values())


def _body(text: str) -> bytes:
    return _dumps(text).encode()[1:-1]


def _add_params(built: _Parts, value: object, key: str | None, words: list[int] | None) -> None:
    """Add a value. With `words`, strings are free (their spaces counted as words) but `role` and `type`
    values; without it (`_add_fixed`), every token is fixed."""
    if type(value) is str:
        free = words is not None and key not in _LITERAL_IN_PARAMS
        index = built.string(_body(value), free)
        if words is not None and free:
            words.append(index)
    elif type(value) is dict:
        built.text(b"{")
        for position, (name, item) in enumerate(value.items()):
            if position:
                built.text(b", ")
            built.string(_body(name), False)
            built.text(b": ")
            _add_params(built, item, name, words)
        built.text(b"}")
    elif type(value) is list:
        built.text(b"[")
        for position, item in enumerate(value):
            if position:
                built.text(b", ")
            _add_params(built, item, None, words)
        built.text(b"]")
    else:
        built.text(_dumps(value).encode())


def _add_fixed(built: _Parts, value: object) -> None:
    """Add a value whose every token is fixed."""
    _add_params(built, value, None, None)


def _add_extra(built: _Parts, value: object, recorded: array | None, plan: list[tuple[Any, int, Any]]) -> None:
    """Add a top-level extra and plan its recording as `MetricsTrace.observe` records it."""
    if type(value) is list:
        built.text(b"[")
        for position, item in enumerate(value):
            if position:
                built.text(b", ")
            _add_extra_item(built, item, recorded, plan)
        built.text(b"]")
    else:
        _add_extra_item(built, value, recorded, plan)


def _add_extra_item(built: _Parts, item: object, recorded: array | None, plan: list[tuple[Any, int, Any]]) -> None:
    if type(item) is str:
        plan.append((recorded, _STR, built.string(_body(item), True)))
    elif type(item) is int:
        plan.append((recorded, _INT, built.free_int(_dumps(item).encode())))
    elif type(item) is bool or type(item) is float:
        plan.append((recorded, _CONST, float(item)))
        built.text(_dumps(item).encode())
    else:
        _add_fixed(built, item)
