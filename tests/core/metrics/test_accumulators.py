"""AvgMinMax statistics and rounding, StringStats exact counts and memory."""

from array import array

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gym_conform.core.metrics.accumulators import AvgMinMax, StringStats, round_metric


def _observed(values):
    stats = AvgMinMax()
    for value in values:
        stats.observe(value)
    return stats


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1.125, 1.12),  # exactly representable tie, 2 decimals: half to even -> 1.12
        (1.375, 1.38),  # tie, half to even -> 1.38
        (2.675, 2.67),  # stored as 2.67499999..., so it rounds down
        (0.0625, 0.062),  # |x| < 1 gets 3 decimals; tie -> even 2
        (0.1875, 0.188),  # tie -> even 8
        (-1.125, -1.12),
        (-0.0625, -0.062),
        (1.0, 1.0),  # |x| == 1 already uses 2 decimals
        (-1.004, -1.0),
        (0.99949, 0.999),  # below 1: 3 decimals
        (0.9996, 1.0),
        (3, 3.0),
    ],
)
def test_round_metric_follows_nemo_gym_rule(value, expected):
    result = round_metric(value)
    assert result == expected
    assert type(result) is float


def test_empty_avgminmax_reports_zero_floats():
    assert AvgMinMax().to_json() == {
        "Total # non-null values": 0,
        "Average": 0.0,
        "Min": 0.0,
        "Max": 0.0,
        "Standard deviation": 0.0,
    }


def test_sample_standard_deviation_and_key_order():
    # mean 5; squared deviations 9+1+1+1+0+0+4+16 = 32; sample variance 32/7 = 4.571..; std 2.138.. -> 2.14
    result = _observed([2, 4, 4, 4, 5, 5, 7, 9]).to_json()
    assert list(result) == ["Total # non-null values", "Average", "Min", "Max", "Standard deviation"]
    assert result == {
        "Total # non-null values": 8,
        "Average": 5.0,
        "Min": 2.0,
        "Max": 9.0,
        "Standard deviation": 2.14,
    }
    assert all(type(result[key]) is float for key in ("Average", "Min", "Max", "Standard deviation"))
    assert type(result["Total # non-null values"]) is int


def test_single_value_has_zero_std_and_small_values_get_three_decimals():
    # [1, 2]: std sqrt(0.5) = 0.7071 -> 0.707 (3 decimals below 1)
    assert _observed([1, 2]).to_json()["Standard deviation"] == 0.707
    assert _observed([7]).to_json()["Standard deviation"] == 0.0


def test_negative_values_and_bankers_rounding_of_the_average():
    # [-3, -1.5]: mean -2.25, std sqrt(2 * 0.75**2 / 1) = 1.0607 -> 1.06
    assert _observed([-3, -1.5]).to_json() == {
        "Total # non-null values": 2,
        "Average": -2.25,
        "Min": -3.0,
        "Max": -1.5,
        "Standard deviation": 1.06,
    }
    # mean of [1, 1.25] is exactly 1.125 -> 1.12 (half to even)
    assert _observed([1, 1.25]).to_json()["Average"] == 1.12
    assert _observed([-0.0625]).to_json()["Average"] == -0.062


def test_observe_with_count_equals_repeated_observation():
    # [3, 3, 3, 3, 5]: mean 3.4; squared deviations 4 * 0.16 + 2.56 = 3.2; variance 0.8; std 0.894
    grouped = AvgMinMax()
    grouped.observe(3, count=4)
    grouped.observe(5)
    expected = {
        "Total # non-null values": 5,
        "Average": 3.4,
        "Min": 3.0,
        "Max": 5.0,
        "Standard deviation": 0.894,
    }
    assert grouped.to_json() == expected
    assert _observed([3, 3, 3, 3, 5]).to_json() == expected


def test_small_counts_replay_the_exact_sequence_of_single_steps():
    # Bit-for-bit equality matters: a running mean that lands on either side of a rounding tie (2.125)
    # rounds differently, and NeMo Gym itself repeats rows one at a time.
    for add in ("observe", "merge_constant"):
        grouped, single = AvgMinMax(), AvgMinMax()
        for value, count in [(0.1, 3), (7, 5), (2.2, 1), (3, 64)]:
            getattr(grouped, add)(value, count)
            for _ in range(count):
                getattr(single, add)(value)
        assert (grouped.total, grouped.mean, grouped.m2) == (single.total, single.mean, single.m2)


def test_observe_with_huge_count_is_constant_time():
    stats = AvgMinMax()
    stats.observe(2.5, count=10**12)
    stats.observe(2.5)
    assert stats.to_json()["Total # non-null values"] == 10**12 + 1
    assert stats.to_json()["Average"] == 2.5
    assert stats.to_json()["Standard deviation"] == 0.0


def test_count_below_one_is_rejected():
    with pytest.raises(ValueError):
        AvgMinMax().observe(1, count=0)
    with pytest.raises(ValueError):
        StringStats().observe("a", count=0)


def test_merge_of_shards_equals_sequential():
    shards = [_observed([2, 4, 4]), _observed([]), _observed([4, 5]), _observed([5, 7, 9])]
    merged = AvgMinMax()
    for shard in shards:
        merged.merge(shard)
    assert merged.to_json() == {
        "Total # non-null values": 8,
        "Average": 5.0,
        "Min": 2.0,
        "Max": 9.0,
        "Standard deviation": 2.14,
    }


def test_merge_into_and_from_empty():
    filled = _observed([1, 2])
    empty = AvgMinMax()
    empty.merge(filled)
    filled.merge(AvgMinMax())
    assert empty.to_json() == filled.to_json() == _observed([1, 2]).to_json()


@pytest.mark.parametrize("values", [[16, 3, 15, 15, 5, 0.1, 7], [1, 2, 2, 3, 5, 8, 13]])
def test_merge_constant_is_the_merge_of_a_one_value_accumulator(values):
    # NeMo Gym builds the standard metrics by merging one single-value accumulator per row; on the second
    # sequence that differs in the last bit from a Welford step (delta * (1 / n) is not delta / n).
    by_constant, by_merge = AvgMinMax(), AvgMinMax()
    for value in values:
        by_constant.merge_constant(value)
        by_merge.merge(_observed([value]))
    assert (by_constant.total, by_constant.mean, by_constant.m2) == (
        by_merge.total,
        by_merge.mean,
        by_merge.m2,
    )


NUMBERS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12),
    st.sampled_from([0.0, -0.0, 1.0, 0.1, 2.125, 1e15 + 0.5]),
)


@given(prefix=st.lists(NUMBERS, max_size=6), x=NUMBERS, run=st.integers(1, 40), settle=st.booleans())
def test_a_constant_run_taken_at_once_equals_its_steps_bit_for_bit(prefix, x, run, settle):
    # A run of one value whose mean is already that value (or an empty accumulator) is taken in O(1).
    before = prefix + [x] * settle
    for bulk_step, one_step in (("merge_constants", "merge_constant"), ("observe_all", "observe")):
        bulk, stepped = AvgMinMax(), AvgMinMax()
        getattr(bulk, bulk_step)(array("d", before))
        getattr(bulk, bulk_step)(array("d", [x] * run))
        for value in before + [x] * run:
            getattr(stepped, one_step)(value)
        got = (bulk.total, bulk.mean, bulk.m2, bulk.min, bulk.max)
        assert repr(got) == repr((stepped.total, stepped.mean, stepped.m2, stepped.min, stepped.max))


def test_a_settled_constant_column_of_millions_gives_its_count_and_no_spread():
    stats = AvgMinMax()
    stats.merge_constants(array("d", [1.0] * 2_000_000))
    stats.merge_constants(array("d", [1.0] * 2_000_000))

    assert (stats.total, stats.mean, stats.m2) == (4_000_000, 1.0, 0.0)


def test_copy_is_independent():
    original = _observed([1, 2])
    twin = original.copy()
    twin.observe(100)
    assert original.to_json() == _observed([1, 2]).to_json()


def test_string_stats_counts_and_repeats():
    stats = StringStats()
    for text in ["a", "b", "a"]:
        stats.observe(text)
    stats.observe("c", count=5)
    assert stats.to_json() == {"unique_count": 3, "total_count": 8}
    assert StringStats().to_json() == {"unique_count": 0, "total_count": 0}


def test_string_stats_distinguishes_unicode_and_survives_lone_surrogates():
    stats = StringStats()
    for text in ["é", "e\u0301", "\ud800", "\ud800", ""]:
        stats.observe(text)
    assert stats.to_json() == {"unique_count": 4, "total_count": 5}


def test_string_stats_merge_and_independence():
    left, right = StringStats(), StringStats()
    for text in ["4", "15"]:
        left.observe(text)
    for text in ["4", "5"]:
        right.observe(text)
    left.merge(right)
    assert left.to_json() == {"unique_count": 3, "total_count": 4}
    right.observe("new")
    assert left.to_json() == {"unique_count": 3, "total_count": 4}
    assert left.copy().to_json() == {"unique_count": 3, "total_count": 4}


def test_string_stats_exact_across_buffer_flushes():
    # 300k observations of 100k distinct strings cross the 65536-digest flush point several times.
    stats = StringStats()
    for i in range(300_000):
        stats.observe(f"answer-{i % 100_000}")
    assert stats.to_json() == {"unique_count": 100_000, "total_count": 300_000}


@given(st.lists(st.text(alphabet="ab", max_size=4), max_size=60), st.integers(1, 8))
def test_string_stats_counts_match_a_set_whatever_the_flush_points(texts, flush_every):
    # Fold the buffer into the sorted array every few strings (the class keeps the floor of the flush point).
    default_floor = StringStats._MIN_FLUSH_BYTES
    StringStats._MIN_FLUSH_BYTES = flush_every * 8
    try:
        stats = StringStats()
        for text in texts:
            stats.observe(text)
    finally:
        StringStats._MIN_FLUSH_BYTES = default_floor
    assert stats.to_json() == {"unique_count": len(set(texts)), "total_count": len(texts)}


def test_string_stats_memory_does_not_grow_with_string_length():
    stats = StringStats()
    padding = "x" * 2_000
    for i in range(200_000):
        stats.observe(f"{i:06d}{padding}")
    # 400 MB of text; the digests stay within the sorted array plus a buffer of at most half its size.
    assert stats.nbytes <= 200_000 * 8 * 3 // 2
    assert stats.unique_count == 200_000
    assert stats.nbytes == 200_000 * 8
