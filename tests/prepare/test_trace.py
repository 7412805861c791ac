"""Traces replayed in order give the sequential DatasetMetrics bit for bit; cross-shard kind clashes are caught."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gym_conform.core.metrics.accumulators import AvgMinMax
from gym_conform.core.metrics.dataset_metrics import DatasetMetrics, MixedExtraTypesError, json_word_count, user_turns
from gym_conform.errors import DataError
from gym_conform.prepare.trace import MetricsTrace

AWKWARD = st.one_of(
    st.integers(min_value=-(2**60), max_value=2**60),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12),
    st.sampled_from([0.1, 0.2, 0.3, 1e-9, -0.0, 2.125, 1e15 + 0.5]),
)
PARAMS = st.fixed_dictionaries(
    {
        "input": st.one_of(
            st.text(max_size=5),
            st.lists(
                st.fixed_dictionaries({"role": st.sampled_from(["user", "system"]), "content": st.text(max_size=5)}),
                max_size=3,
            ),
        )
    },
    optional={
        "temperature": AWKWARD,
        "tools": st.lists(st.just({"type": "function", "name": "f", "parameters": None}), max_size=3),
    },
)
NUMBER_ROWS = st.fixed_dictionaries(
    {"responses_create_params": PARAMS},
    optional={
        "score": st.one_of(AWKWARD, st.booleans(), st.lists(AWKWARD, max_size=3)),
        "answer": st.one_of(st.text(max_size=3), st.lists(st.text(max_size=3), max_size=3)),
        "meta": st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
        "Temperature": st.integers(),
        "note": st.none(),
    },
)


def sequential(rows: list[dict], count: int) -> DatasetMetrics:
    metrics = DatasetMetrics()
    for row in rows:
        metrics.observe_row(row, count)
    return metrics


def traced(rows: list[dict], cuts: list[int], count: int, seed_kinds: bool) -> DatasetMetrics:
    metrics = DatasetMetrics()
    bounds = [0, *sorted(c % (len(rows) + 1) for c in cuts), len(rows)]
    for start, end in zip(bounds, bounds[1:], strict=False):
        trace = MetricsTrace(metrics.extra_kinds() if seed_kinds else None)
        for row in rows[start:end]:
            params = row["responses_create_params"]
            tools = params.get("tools")
            trace.observe(
                row,
                None if tools is None else len(tools),
                user_turns(params.get("input")),
                params.get("temperature"),
                json_word_count(params),
                count,
            )
        trace.replay(metrics, count)
    return metrics


@settings(max_examples=400, deadline=None)
@given(
    st.lists(NUMBER_ROWS, max_size=12),
    st.lists(st.integers(min_value=0), max_size=4),
    st.sampled_from([1, 3, 70]),
    st.booleans(),
)
def test_replayed_shards_equal_one_sequential_pass(rows, cuts, count, seed_kinds):
    expected = sequential(rows, count)
    got = traced(rows, cuts, count, seed_kinds)
    assert got.to_json() == expected.to_json()
    assert got.shadowed_keys == expected.shadowed_keys
    for name in ("tools", "words", "turns", "temperature"):
        mine, theirs = getattr(got, name), getattr(expected, name)
        assert (mine.total, mine.mean, mine.m2, float(mine.min), float(mine.max)) == (
            theirs.total,
            theirs.mean,
            theirs.m2,
            float(theirs.min),
            float(theirs.max),
        )


@given(st.lists(AWKWARD, max_size=30), st.sampled_from([1, 2, 65]))
def test_bulk_accumulation_matches_one_by_one(values, count):
    one_by_one, bulk = AvgMinMax(), AvgMinMax()
    for x in values:
        one_by_one.merge_constant(x, count)
    bulk.merge_constants([float(x) for x in values], count)
    assert (bulk.total, bulk.mean, bulk.m2) == (one_by_one.total, one_by_one.mean, one_by_one.m2)
    observed, observed_bulk = AvgMinMax(), AvgMinMax()
    for x in values:
        observed.observe(x, count)
    observed_bulk.observe_all([float(x) for x in values], count)
    assert (observed_bulk.total, observed_bulk.mean, observed_bulk.m2) == (observed.total, observed.mean, observed.m2)
    assert observed_bulk.to_json() == observed.to_json()


def row(**extras):
    return {"responses_create_params": {"input": "q"}, **extras}


def test_kind_clash_inside_a_trace_is_raised_at_the_row():
    trace = MetricsTrace()
    trace.observe(row(x="a"), None, 1, None, 5, 1)
    with pytest.raises(MixedExtraTypesError, match="'x' has both string and number"):
        trace.observe(row(x=1), None, 1, None, 5, 1)


def test_kind_clash_across_traces_is_refused_at_replay_without_changes():
    metrics = DatasetMetrics()
    first, second = MetricsTrace(), MetricsTrace()
    first.observe(row(x="a"), None, 1, None, 5, 1)
    second.observe(row(x=2, y="b"), None, 1, None, 5, 1)
    first.replay(metrics, 1)
    before = metrics.to_json()
    with pytest.raises(MixedExtraTypesError):
        second.replay(metrics, 1)
    assert metrics.to_json() == before


def test_seeded_trace_raises_where_the_sequential_pass_does():
    metrics = DatasetMetrics()
    metrics.observe_row(row(x="a"))
    trace = MetricsTrace(metrics.extra_kinds())
    with pytest.raises(MixedExtraTypesError):
        trace.observe(row(x=1), None, 1, None, 5, 1)


def test_integer_beyond_float_range_is_a_row_problem():
    with pytest.raises(DataError, match="too large") as caught:
        MetricsTrace().observe(row(n=10**400), None, 1, None, 5, 1)
    assert caught.value.code == "row.number_too_large"


def test_digests_from_another_hash_secret_are_refused():
    trace = MetricsTrace()
    trace.observe(row(x="a"), None, 1, None, 5, 1)
    trace.salt += 1  # as if recorded by an interpreter with another PYTHONHASHSEED
    with pytest.raises(ValueError, match="hash secret"):
        trace.replay(DatasetMetrics(), 1)
