"""NeMo Gym's tolerant metrics diff: messages, tolerance edges, multisets and old-shape files."""

import pytest

from gym_conform.core.metrics.compare import diff_metrics
from gym_conform.core.metrics.dataset_metrics import DatasetMetrics
from gym_conform.core.metrics.document import metrics_document


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (1.0, 1.005),  # 1.005 is stored just below, so the gap is just under 5e-3
        (-2.0, -2.004),
        (0.5, 0.5005),  # below 1: gap just under 5e-4
        (0.999, 1.003),  # the larger magnitude (1.003 >= 1) picks the 5e-3 tolerance
        (0.6666666666666666, 0.667),
        (4.666666666666667, 4.67),
    ],
)
def test_floats_within_tolerance_match(old, new):
    assert diff_metrics({"x": {"Average": old}}, {"x": {"Average": new}}) == []


@pytest.mark.parametrize(("old", "new"), [(1.0, 1.0051), (0.5, 0.5006), (0.0, 0.0006), (-2.0, -2.006)])
def test_floats_beyond_tolerance_differ(old, new):
    assert diff_metrics({"x": {"Average": old}}, {"x": {"Average": new}}) == [
        f"Numeric mismatch at x.Average: {old} != {new}"
    ]


def test_ints_and_mixed_int_float_compare_exactly():
    assert diff_metrics({"Min": 2}, {"Min": 2.0}) == []
    assert diff_metrics({"Min": 2}, {"Min": 2.001}) == ["Value differs at Min: 2 != 2.001"]
    assert diff_metrics({"Number of examples": 5}, {"Number of examples": 6}) == [
        "Value differs at Number of examples: 5 != 6"
    ]


def test_strings_and_none():
    assert diff_metrics({"license": None, "name": "a"}, {"license": None, "name": "a"}) == []
    assert diff_metrics({"license": None}, {"license": "MIT"}) == ["Value differs at license: None != MIT"]


def test_missing_keys_are_reported_with_dotted_paths_and_extra_keys_are_allowed():
    old = {"Number of tools": {"Average": 1.0, "Median": 1.0}, "license": None}
    new = {"Number of tools": {"Average": 1.0, "Standard deviation": 0.0}, "source": None}
    assert diff_metrics(old, new) == [
        "Missing key in new metrics: Number of tools.Median",
        "Missing key in new metrics: license",
    ]


def test_lists_compare_as_multisets():
    assert diff_metrics({"l": [1, 2, 2]}, {"l": [2, 1, 2]}) == []
    assert diff_metrics({"l": [1, 2]}, {"l": [1, 2, 3]}) == ["List length differs at l: 2 != 3"]
    assert diff_metrics({"l": ["a", "b"]}, {"l": ["a", "c"]}) == [
        "Multiset mismatch at l: Counter({'a': 1, 'b': 1}) != Counter({'a': 1, 'c': 1})"
    ]


def test_lists_of_unhashable_items_match_unordered_with_tolerance():
    assert diff_metrics({"l": [{"a": 1.0}, {"b": 2}]}, {"l": [{"b": 2}, {"a": 1.001}]}) == []
    assert diff_metrics({"l": [{"a": 1}, {"b": 2}]}, {"l": [{"b": 2}, {"a": 3}]}) == [
        "No matching element for l[0] in new metrics (unordered)"
    ]


def test_shape_change_is_a_value_difference():
    assert diff_metrics({"id": {"unique_count": 1}}, {"id": "x"}) == ["Value differs at id: {'unique_count': 1} != x"]


def test_old_shape_file_matches_new_output():
    metrics = DatasetMetrics()
    for tools in ([], [{"name": "f"}], [{"name": "g"}]):
        metrics.observe_row({"responses_create_params": {"input": "a", "tools": tools}})
    new = metrics_document(
        {
            "name": "example",
            "type": "example",
            "jsonl_fpath": "x/data/example.jsonl",
            "num_repeats": 1,
            "source": None,
            "gitlab_identifier": None,
            "huggingface_identifier": None,
            "license": None,
        },
        metrics,
    )
    # Hand-made old sidecar: no num_repeats/source/huggingface_identifier/Standard deviation, unrounded
    # averages, int Min/Max. Words: {"input": "a", "tools": []} = 4, with one {"name": ..} tool = 5.
    old = {
        "name": "example",
        "type": "example",
        "jsonl_fpath": "x/data/example.jsonl",
        "gitlab_identifier": None,
        "license": None,
        "Number of examples": 3,
        "Number of tools": {"Total # non-null values": 3, "Average": 0.6666666666666666, "Min": 0, "Max": 1},
        "Json-dumped number of words (proxy for token count)": {
            "Total # non-null values": 3,
            "Average": 4.666666666666667,
            "Min": 4,
            "Max": 5,
        },
        "Number of turns": {"Total # non-null values": 3, "Average": 1.0, "Min": 1, "Max": 1},
        "Temperature": {"Total # non-null values": 0, "Average": 0, "Min": 0, "Max": 0},
    }
    assert diff_metrics(old, new) == []
    old["Number of examples"] = 4
    assert diff_metrics(old, new) == ["Value differs at Number of examples: 4 != 3"]
