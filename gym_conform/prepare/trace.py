"""One shard's metric observations, kept so that shards replayed in file order give one sequential pass's metrics.

NeMo Gym's running statistics are floating-point recurrences, so merging two shards' summaries (Chan's
formula) is close to, not identical with, one pass over all rows. A shard therefore records the values each
running statistic would see, in row order (8 bytes each), and `replay` feeds them to a `DatasetMetrics` in
file order: the result is the sequential pass, bit for bit. String fields need no order, so a shard keeps
their exact distinct counts (`StringStats`, merged by union).

Integers are recorded as floats: the statistics use a number only in arithmetic (where Python converts an
int to the nearest float anyway) and in min/max comparisons (where rounding, being monotonic, picks the
same value), so the numbers they print are the same. An integer too large for a float is a row problem.
"""

from __future__ import annotations

from array import array

from gym_conform.core.metrics.accumulators import AvgMinMax, StringStats, digest_salt
from gym_conform.core.metrics.dataset_metrics import NOT_EXTRA_KEYS, DatasetMetrics, MixedExtraTypesError
from gym_conform.errors import DataError

_DIGESTS = "q"


class MetricsTrace:
    """Metric inputs of consecutive rows: a number sequence per running statistic, string digests per field."""

    __slots__ = ("examples", "extras", "salt", "shadowed_keys", "tasks", "temperature", "tools", "turns", "words")

    def __init__(self, known_kinds: dict[str, type] | None = None) -> None:
        """Start empty; `known_kinds` are the extra fields' kinds (AvgMinMax or StringStats) of earlier rows."""
        self.examples = 0
        self.tools = array("d")
        self.turns = array("d")
        self.temperature = array("d")
        self.words = array("d")
        # Per extra field, in first-seen order: string digests ("q") or numbers ("d").
        self.extras: dict[str, array] = {
            key: array(_DIGESTS if kind is StringStats else "d") for key, kind in (known_kinds or {}).items()
        }
        self.shadowed_keys: list[str] = []
        self.salt = digest_salt()
        # Materialized task rows, in row order: (task-input words, taskset).
        self.tasks: list[tuple[int, str]] = []

    def observe_task(self, words: int, taskset: str, count: int) -> None:
        """Record one materialized task row (repeated `count` times): 0.7.0 measures its task_input only."""
        self.examples += count
        self.tasks.append((words, taskset))

    def observe(
        self, row: dict, tools: int | None, turns: int, temperature: float | None, words: int | None, count: int
    ) -> None:
        """Record one valid row (repeated `count` times) given its standard metric inputs.

        `words` is None for a taskset row without a request: 0.7.0 counts it as an example, nothing more.

        Raises the errors `DatasetMetrics.observe_row` raises, after recording as much as it would have.
        """
        self.examples += count
        if tools is not None:
            self.tools.append(tools)
        if turns:
            self.turns.append(turns)
        if temperature is not None:
            self.temperature.append(_as_float("responses_create_params.temperature", temperature))
        if words is not None:
            self.words.append(words)
        extras = self.extras
        for key, value in row.items():
            shadowing = NOT_EXTRA_KEYS.get(key)
            if shadowing is not None:
                if shadowing and key not in self.shadowed_keys:
                    self.shadowed_keys.append(key)
                continue
            kind = type(value)
            if kind is str:
                recorded = extras.get(key)
                if recorded is not None and recorded.typecode == _DIGESTS:
                    # The built-in hash is StringStats' digest (accumulators.string_digest), inlined for speed.
                    recorded.append(hash(value))
                    continue
                self._observe_extra(key, value)
            elif kind is list:
                for item in value:
                    self._observe_extra(key, item)
            else:
                self._observe_extra(key, value)

    def _observe_extra(self, key: str, item: object) -> None:
        recorded = self.extras.get(key)
        if isinstance(item, str):
            if recorded is None:
                recorded = self.extras[key] = array(_DIGESTS)
            elif recorded.typecode != _DIGESTS:
                raise MixedExtraTypesError(key, "number", "string")
            recorded.append(hash(item))
        elif isinstance(item, (int, float)):
            if recorded is None:
                recorded = self.extras[key] = array("d")
            elif recorded.typecode == _DIGESTS:
                raise MixedExtraTypesError(key, "string", "number")
            # bool is an int subclass; NeMo Gym counts True/False as 1/0 (float() does the same).
            recorded.append(_as_float(key, item))

    def replay(self, metrics: DatasetMetrics, count: int) -> None:
        """Feed these rows' observations to `metrics`, as if `observe_row(row, count)` ran for each row.

        Raises MixedExtraTypesError, leaving `metrics` unchanged, when a field's kind here differs from its
        kind in `metrics`: a sequential pass would have reported rows that this shard could not know were wrong.
        """
        kinds = {key: StringStats if v.typecode == _DIGESTS else AvgMinMax for key, v in self.extras.items()}
        metrics.check_extra_kinds(kinds)
        metrics.number_of_examples += self.examples
        for words, taskset in self.tasks:
            metrics.tasks.observe(words, taskset, count)
        metrics.tools.merge_constants(self.tools, count)
        metrics.turns.merge_constants(self.turns, count)
        metrics.temperature.merge_constants(self.temperature, count)
        metrics.words.merge_constants(self.words, count)
        for key, recorded in self.extras.items():
            if recorded.typecode == _DIGESTS:
                metrics.extra_accumulator(key, StringStats).observe_digests(recorded, count, self.salt)
            else:
                metrics.extra_accumulator(key, AvgMinMax).observe_all(recorded, count)
        for key in self.shadowed_keys:
            metrics.note_shadowed(key)


def _as_float(field: str, value: float) -> float:
    """Return a recorded number as a float; an integer beyond the float range is a row problem."""
    try:
        return float(value)
    except OverflowError:
        raise DataError(
            f"{field} is an integer too large for the metrics ({len(str(abs(value)))} digits)",
            code="row.number_too_large",
            hint=f"write {field} as a number below 1e308",
        ) from None
