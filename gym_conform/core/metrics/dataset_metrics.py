"""Per-row metric extraction and mergeable dataset metrics, in NeMo Gym's keys and order."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TypeVar

from gym_conform.core.metrics.accumulators import AvgMinMax, StringStats
from gym_conform.core.metrics.task_metrics import TASK_WORDS_KEY, TASKS_KEY, TASKSETS_KEY, TaskMetrics
from gym_conform.errors import DataError, Location

EXAMPLES_KEY = "Number of examples"
TOOLS_KEY = "Number of tools"
WORDS_KEY = "Json-dumped number of words (proxy for token count)"
TURNS_KEY = "Number of turns"
TEMPERATURE_KEY = "Temperature"
STANDARD_KEYS = (EXAMPLES_KEY, TOOLS_KEY, WORDS_KEY, TURNS_KEY, TEMPERATURE_KEY)

# Top-level row keys that never become extras. True marks a key that collides with a standard metric: NeMo
# Gym lets such an extra overwrite the standard metric (its quirk 8); we skip it instead and remember it in
# `DatasetMetrics.shadowed_keys` so a runner can warn.
NOT_EXTRA_KEYS = {"responses_create_params": False, "response": False, **{key: True for key in STANDARD_KEYS}}

_KIND_NAMES = {AvgMinMax: "number", StringStats: "string"}
_Accumulator = TypeVar("_Accumulator", AvgMinMax, StringStats)

# Same output as json.dumps with default arguments, without its per-call argument handling.
_dumps = json.JSONEncoder().encode


def json_word_count(params: dict) -> int:
    """Return NeMo Gym's `len(json.dumps(params).split())` without building the list of words."""
    text = _dumps(params)
    # ensure_ascii escapes every whitespace character except the plain space, and the text starts with "{"
    # and ends with "}", so without runs of spaces the words are exactly the spaces plus one.
    if "  " in text:
        return len(text.split())
    return text.count(" ") + 1


def user_turns(inputs: object) -> int:
    """Return NeMo Gym's number of turns of `input`: 1 for a string, else the items with role "user"."""
    if isinstance(inputs, str):
        return 1
    if not isinstance(inputs, (list, tuple)):
        return 0  # parsed JSON: the input is a string or a list (validation reports anything else)
    turns = 0
    for item in inputs:
        if isinstance(item, dict) and item.get("role") == "user":
            turns += 1
    return turns


class MixedExtraTypesError(DataError):
    """A top-level field holds both numbers and strings, so no one metric fits it (code `metrics.mixed_types`)."""

    code = "metrics.mixed_types"

    def __init__(self, key: str, first_kind: str, other_kind: str, location: Location | None = None) -> None:
        super().__init__(
            f"field {key!r} has both {first_kind} and {other_kind} values; its metric needs one kind",
            location=location or Location(field=key),
            hint=f"make every value of {key} the same kind",
        )
        self.key = key
        self.first_kind = first_kind
        self.other_kind = other_kind

    def located(self, path: str | None, line: int | None) -> MixedExtraTypesError:
        """Return the same error pointing at a file and 1-based line (the field stays the key)."""
        return MixedExtraTypesError(
            self.key, self.first_kind, self.other_kind, replace(self.location, path=path, line=line)
        )


class DatasetMetrics:
    """NeMo Gym's dataset metrics (standard five plus per-field extras); shards and datasets combine with `merge`.

    Unlike NeMo Gym, merging also merges the extras (NeMo Gym keeps the last dataset's extras), and an extra
    named exactly like a standard metric is skipped instead of overwriting it (see `shadowed_keys`).
    """

    __slots__ = ("_extras", "number_of_examples", "shadowed_keys", "tasks", "temperature", "tools", "turns", "words")

    def __init__(self) -> None:
        self.number_of_examples = 0
        self.tasks = TaskMetrics()
        self.tools = AvgMinMax()
        self.words = AvgMinMax()
        self.turns = AvgMinMax()
        self.temperature = AvgMinMax()
        self._extras: dict[str, AvgMinMax | StringStats] = {}
        self.shadowed_keys: list[str] = []

    def observe_row(self, row: dict, count: int = 1) -> None:
        """Add one validated row, repeated `count` times (a dataset's num_repeats).

        Raises MixedExtraTypesError (without file/line; the caller adds them with `located`) when a top-level
        field mixes numbers and strings; the row is then partly counted, so the metrics are no longer fit to
        write, only to keep finding further problems.
        """
        if count < 1:
            raise ValueError(f"count must be >= 1, got {count}")
        params = row["responses_create_params"]
        self.number_of_examples += count
        tools = params.get("tools")
        if tools is not None:
            self.tools.merge_constant(len(tools), count)
        turns = user_turns(params.get("input"))
        if turns:
            self.turns.merge_constant(turns, count)
        temperature = params.get("temperature")
        if temperature is not None:
            self.temperature.merge_constant(temperature, count)
        self.words.merge_constant(json_word_count(params), count)

        for key, value in row.items():
            shadowing = NOT_EXTRA_KEYS.get(key)
            if shadowing is not None:
                if shadowing:
                    self.note_shadowed(key)
                continue
            for item in value if type(value) is list else (value,):
                if isinstance(item, str):
                    self.extra_accumulator(key, StringStats).observe(item, count)
                elif isinstance(item, (int, float)):
                    # bool is an int subclass; NeMo Gym counts True/False as 1/0.
                    self.extra_accumulator(key, AvgMinMax).observe(int(item) if isinstance(item, bool) else item, count)

    def extra_accumulator(self, key: str, kind: type[_Accumulator]) -> _Accumulator:
        """Return extra field `key`'s accumulator, added last when new; raise MixedExtraTypesError on another kind."""
        accumulator = self._extras.get(key)
        if accumulator is None:
            created = self._extras[key] = kind()
            return created
        if not isinstance(accumulator, kind):
            raise MixedExtraTypesError(key, _KIND_NAMES[type(accumulator)], _KIND_NAMES[kind])
        return accumulator

    def extra_kinds(self) -> dict[str, type[AvgMinMax] | type[StringStats]]:
        """Return each extra field's accumulator kind, in first-seen order."""
        return {key: type(accumulator) for key, accumulator in self._extras.items()}

    def check_extra_kinds(self, kinds: dict[str, type[AvgMinMax] | type[StringStats]]) -> None:
        """Raise MixedExtraTypesError if any extra field in `kinds` already has an accumulator of another kind."""
        for key, kind in kinds.items():
            mine = self._extras.get(key)
            if mine is not None and type(mine) is not kind:
                raise MixedExtraTypesError(key, _KIND_NAMES[type(mine)], _KIND_NAMES[kind])

    def note_shadowed(self, key: str) -> None:
        """Remember that a top-level field named like a standard metric was skipped (first-seen order)."""
        if key not in self.shadowed_keys:
            self.shadowed_keys.append(key)

    def merge(self, other: DatasetMetrics) -> None:
        """Fold `other` in: standard metrics and extras alike; new extra keys follow this one's in first-seen order."""
        self.check_extra_kinds({key: type(theirs) for key, theirs in other._extras.items()})
        self.number_of_examples += other.number_of_examples
        self.tasks.merge(other.tasks)
        self.tools.merge(other.tools)
        self.words.merge(other.words)
        self.turns.merge(other.turns)
        self.temperature.merge(other.temperature)
        for key, theirs in other._extras.items():
            mine = self._extras.get(key)
            if mine is None:
                self._extras[key] = theirs.copy()
            elif isinstance(mine, AvgMinMax) and isinstance(theirs, AvgMinMax):
                mine.merge(theirs)
            elif isinstance(mine, StringStats) and isinstance(theirs, StringStats):
                mine.merge(theirs)
        for key in other.shadowed_keys:
            if key not in self.shadowed_keys:
                self.shadowed_keys.append(key)

    def to_json(self) -> dict:
        """Return the metrics in NeMo Gym's serialized keys and order: the standard five, then extras."""
        document: dict = {EXAMPLES_KEY: self.number_of_examples}
        tasks = self.tasks
        if tasks.count:  # 0.7.0 writes the task entries only for materialized rows
            document[TASKS_KEY] = tasks.count
        document[TOOLS_KEY] = self.tools.to_json()
        document[WORDS_KEY] = self.words.to_json()
        if tasks.count:
            document[TASK_WORDS_KEY] = tasks.words.to_json()
        document[TURNS_KEY] = self.turns.to_json()
        document[TEMPERATURE_KEY] = self.temperature.to_json()
        if tasks.count:
            document[TASKSETS_KEY] = tasks.tasksets_json()
        for key, accumulator in self._extras.items():
            # NeMo Gym sets extras as pydantic attributes, and one named `_x` is a private one: never written.
            # So row keys such as 0.7.0's `_ng_task_index` get no metric in either tool's files.
            if not key.startswith("_"):
                document[key] = accumulator.to_json()
        return document
