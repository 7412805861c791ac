"""Mergeable accumulators: `AvgMinMax` (NeMo Gym's Welford/Chan statistics) and exact low-memory `StringStats`."""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable
from math import inf, isfinite, sqrt

import numpy as np


def round_metric(x: float) -> float:
    """Round like NeMo Gym: 2 decimals when |x| >= 1, else 3 (Python's `round` on the binary value)."""
    x = float(x)
    return round(x, 2) if x >= 1 or x <= -1 else round(x, 3)


# Repeat counts up to this are replayed one by one; NeMo Gym itself repeats rows (num_repeats) one by one, and
# a one-group merge can land a rounding tie (a mean of exactly 2.125, say) on the other side of it.
EXACT_REPEATS = 64


class AvgMinMax:
    """Count, mean, min, max and sample standard deviation of numbers; shards combine with `merge`."""

    __slots__ = ("m2", "max", "mean", "min", "total")

    def __init__(self) -> None:
        self.total = 0
        self.mean = 0.0
        self.m2 = 0.0
        self.min: float = inf
        self.max: float = -inf

    def observe(self, x: float, count: int = 1) -> None:
        """Add `count` copies of `x` the way NeMo Gym's `observe` does (its path for extra fields).

        Up to `EXACT_REPEATS` copies replay NeMo Gym's Welford step, so even rounding ties come out bit for
        bit the same; more copies are merged in O(1) as one group with Chan's formula.
        """
        if count < 1 or count > EXACT_REPEATS:
            self._merge_group(x, count)
            return
        self.min = min(self.min, x)
        self.max = max(self.max, x)
        for _ in range(count):
            self.total += 1
            delta = x - self.mean
            self.mean += delta / self.total
            self.m2 += delta * (x - self.mean)

    def merge_constant(self, x: float, count: int = 1) -> None:
        """Add `count` copies of `x` the way NeMo Gym builds its standard metrics: merging one-value accumulators.

        Exact replay up to `EXACT_REPEATS` copies, one O(1) Chan group merge beyond, as for `observe`.
        """
        if count < 1 or count > EXACT_REPEATS:
            self._merge_group(x, count)
            return
        self.min = min(self.min, x)
        self.max = max(self.max, x)
        if self.total == 0:
            # + 0.0 turns -0.0 into 0.0, as NeMo Gym's running mean (which starts at 0) does.
            self.mean = x + 0.0
            self.total = 1
            count -= 1
        for _ in range(count):
            n1 = self.total
            n = n1 + 1
            delta = x - self.mean
            self.mean = self.mean + delta * (1 / n)
            self.m2 = self.m2 + (delta * delta) * (n1 / n)
            self.total = n

    def merge_constants(self, values: Iterable[float], count: int = 1) -> None:
        """Do `merge_constant(x, count)` for each x of `values` in order, with the same result bit for bit.

        The one-copy case, by far the most common, runs as one tight loop over local variables.
        """
        if self._took_without_loop(values, count, self.merge_constant):
            return
        total, mean, m2, low, high = self.total, self.mean, self.m2, self.min, self.max
        for x in values:
            # `if` rather than min()/max(): the same pick (the first of equals), without a call per value.
            if x < low:
                low = x
            if x > high:
                high = x
            if total == 0:
                mean = x + 0.0
                total = 1
                continue
            n1 = total
            total = n1 + 1
            delta = x - mean
            mean = mean + delta * (1 / total)
            m2 = m2 + (delta * delta) * (n1 / total)
        self.total, self.mean, self.m2, self.min, self.max = total, mean, m2, low, high

    def observe_all(self, values: Iterable[float], count: int = 1) -> None:
        """Do `observe(x, count)` for each x of `values` in order, with the same result bit for bit."""
        if self._took_without_loop(values, count, self.observe):
            return
        total, mean, m2, low, high = self.total, self.mean, self.m2, self.min, self.max
        for x in values:
            if x < low:
                low = x
            if x > high:
                high = x
            total += 1
            delta = x - mean
            mean += delta / total
            m2 += delta * (x - mean)
        self.total, self.mean, self.m2, self.min, self.max = total, mean, m2, low, high

    def _took_without_loop(self, values: Iterable[float], count: int, step: Callable[[float, int], None]) -> bool:
        """Take `values` without the one-copy tight loop where it is not needed; return whether they are taken.

        Several copies each go through `step`. A run of one finite number x, when the mean already is x (or
        there is none yet), is taken in O(1): every step then has a delta of 0.0, which leaves mean and m2 as
        they are, bit for bit, and only the count moves. Constant columns (turns, tools, temperature) of a
        million rows so cost nothing to replay.
        """
        if count != 1:
            for x in values:
                step(x, count)
            return True
        if not isinstance(values, array) or values.typecode != "d" or not values:
            return False
        x = values[0]
        if not isfinite(x) or (self.total and self.mean != x):
            return False
        if not bool((np.frombuffer(values, dtype=np.float64) == x).all()):
            return False
        step(x, 1)  # the first value of an empty accumulator sets its mean to x
        self.total += len(values) - 1
        return True

    def _merge_group(self, x: float, count: int) -> None:
        if count < 1:
            raise ValueError(f"count must be >= 1, got {count}")
        group = AvgMinMax()
        group.total, group.mean, group.min, group.max = count, x + 0.0, x, x
        self.merge(group)

    def merge(self, other: AvgMinMax) -> None:
        """Fold `other` into this accumulator (Chan's parallel formula, in NeMo Gym's operation order)."""
        if other.total == 0:
            return
        if self.total == 0:
            self.total, self.mean, self.m2 = other.total, other.mean, other.m2
            self.min, self.max = other.min, other.max
            return
        n1, n2 = self.total, other.total
        n = n1 + n2
        delta = other.mean - self.mean
        self.mean = self.mean + delta * (n2 / n)
        self.m2 = self.m2 + other.m2 + (delta * delta) * (n1 * n2 / n)
        self.total = n
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)

    def copy(self) -> AvgMinMax:
        """Return an independent accumulator with the same state."""
        twin = AvgMinMax()
        twin.merge(self)
        return twin

    def to_json(self) -> dict:
        """Return NeMo Gym's serialized form: count, then rounded Average/Min/Max/Standard deviation as floats."""
        n = self.total
        if n == 0:
            return {
                "Total # non-null values": 0,
                "Average": 0.0,
                "Min": 0.0,
                "Max": 0.0,
                "Standard deviation": 0.0,
            }
        # max() guards sqrt against a rounding-negative M2; it never changes a non-negative value.
        stddev = sqrt(max(self.m2, 0.0) / (n - 1)) if n > 1 else 0.0
        return {
            "Total # non-null values": n,
            "Average": round_metric(self.mean),
            "Min": round_metric(self.min),
            "Max": round_metric(self.max),
            "Standard deviation": round_metric(stddev),
        }


_DIGEST = np.dtype("<i8")
# Differs between interpreters unless they share the hash secret (PYTHONHASHSEED, or a fork): see StringStats.
_SALT_PROBE_TEXT = "gym-conform StringStats salt probe"


def string_digest(text: str) -> int:
    """Return the 64-bit digest `StringStats` keeps for `text`: the built-in `hash`."""
    return hash(text)


def digest_salt() -> int:
    """Return a probe of this interpreter's hash secret: digests compare only between equal probes."""
    return hash(_SALT_PROBE_TEXT)


def _sorted_union(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return the sorted distinct values of two sorted distinct arrays.

    A stable sort of two concatenated sorted runs is a linear merge (timsort); np.union1d re-sorts from
    scratch and measured ~400x slower on 10M digests.
    """
    if b.size == 0:
        return a
    if a.size == 0:
        return b
    merged = np.concatenate((a, b))
    merged.sort(kind="stable")
    return _drop_repeats(merged)


def _sorted_distinct(digests: np.ndarray) -> np.ndarray:
    """Return the sorted distinct values of `digests`.

    A sort and one comparison pass: numpy 2's np.unique hashes first and measured ~20x slower on int64.
    """
    ordered = np.sort(digests)
    return _drop_repeats(ordered) if ordered.size else ordered


def _drop_repeats(ordered: np.ndarray) -> np.ndarray:
    """Return a sorted non-empty array without its repeated values."""
    keep = np.empty(ordered.size, dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


class StringStats:
    """Exact distinct and total counts of strings, in memory independent of string length.

    Each string is kept only as its 64-bit built-in `hash` (SipHash, salted per interpreter: several times
    cheaper than a hashlib digest), so `unique_count` is exact up to digest collisions, whose probability is
    about n**2 / 2**65 (below 3e-8 for a million distinct strings). Digests collect in a buffer and are
    periodically folded into one sorted array of distinct digests: 8 bytes per distinct string.

    Digests made in another process compare only if it shares this interpreter's hash secret, as forked
    workers (or a fixed PYTHONHASHSEED) do; `merge` and `observe_digests` check a probe and refuse others.
    """

    __slots__ = ("_flush_at", "_pending", "_salt", "_unique", "total_count")

    _MIN_FLUSH_BYTES = 8 << 16

    def __init__(self) -> None:
        self.total_count = 0
        self._pending = array("q")
        self._unique = np.empty(0, dtype=_DIGEST)
        self._flush_at = self._MIN_FLUSH_BYTES
        self._salt = digest_salt()

    def observe(self, text: str, count: int = 1) -> None:
        """Count `count` occurrences of `text`."""
        if count < 1:
            raise ValueError(f"count must be >= 1, got {count}")
        self.total_count += count
        self._pending.append(string_digest(text))
        if len(self._pending) * 8 >= self._flush_at:
            self._compact()

    def observe_digests(self, digests: array, count: int, salt: int) -> None:
        """Count `count` occurrences of each string whose `string_digest` is in `digests` (made where `salt`)."""
        if count < 1:
            raise ValueError(f"count must be >= 1, got {count}")
        self._check_salt(salt)
        self.total_count += len(digests) * count
        self._pending.extend(digests)
        if len(self._pending) * 8 >= self._flush_at:
            self._compact()

    def _check_salt(self, salt: int) -> None:
        if salt != self._salt:
            raise ValueError("string digests come from an interpreter with another hash secret")

    def _compact(self) -> None:
        if self._pending:
            fresh = _sorted_distinct(np.frombuffer(self._pending, dtype=_DIGEST))
            self._pending = array("q")
            self._absorb(fresh)

    def _absorb(self, distinct_sorted: np.ndarray) -> None:
        self._unique = _sorted_union(self._unique, distinct_sorted)
        # Letting the buffer grow to half the sorted array keeps the total merge work near-linear while
        # bounding the buffer at half the distinct digests' bytes (or 512 KiB when there are few).
        self._flush_at = max(self._MIN_FLUSH_BYTES, self._unique.nbytes // 2)

    @property
    def unique_count(self) -> int:
        """Number of distinct strings observed (exact up to 64-bit digest collisions)."""
        self._compact()
        return int(self._unique.size)

    @property
    def nbytes(self) -> int:
        """Bytes held by digests: the sorted distinct array plus the not yet folded buffer."""
        return int(self._unique.nbytes) + len(self._pending) * 8

    def merge(self, other: StringStats) -> None:
        """Fold `other` into this accumulator."""
        self._check_salt(other._salt)
        self._compact()
        other._compact()
        self._absorb(other._unique)
        self.total_count += other.total_count

    def copy(self) -> StringStats:
        """Return an independent accumulator with the same state."""
        twin = StringStats()
        twin.merge(self)
        return twin

    def to_json(self) -> dict:
        """Return NeMo Gym's serialized form `{"unique_count", "total_count"}`."""
        return {"unique_count": self.unique_count, "total_count": self.total_count}
