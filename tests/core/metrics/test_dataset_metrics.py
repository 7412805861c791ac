"""DatasetMetrics: standard metrics, extras, merging, key order and the mixed-types error."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gym_conform.core.metrics.dataset_metrics import DatasetMetrics, MixedExtraTypesError
from gym_conform.errors import DataError, Location

EMPTY = {"Total # non-null values": 0, "Average": 0.0, "Min": 0.0, "Max": 0.0, "Standard deviation": 0.0}
STANDARD = [
    "Number of examples",
    "Number of tools",
    "Json-dumped number of words (proxy for token count)",
    "Number of turns",
    "Temperature",
]
WORDS = STANDARD[2]

# The three example rows of the data-format seed page.
SEED_ROWS = [
    '{"responses_create_params": {"input": [{"role": "user", "content": "What is 2+2?"}]}, "expected_answer": "4"}',
    '{"responses_create_params": {"input": [{"role": "user", "content": "What is 3*5?"}]}, "expected_answer": "15"}',
    '{"responses_create_params": {"input": [{"role": "user", "content": "What is 10/2?"}]}, "expected_answer": "5"}',
]


def _metrics(*rows, count=1):
    metrics = DatasetMetrics()
    for row in rows:
        metrics.observe_row(json.loads(row) if isinstance(row, str) else row, count=count)
    return metrics


def _row(params=None, **extras):
    return {"responses_create_params": params or {"input": "q"}, **extras}


def test_seed_rows():
    # json.dumps of each params: {"input": [{"role": "user", "content": "What is 2+2?"}]}
    # -> {"input": | [{"role": | "user", | "content": | "What | is | 2+2?"}]}  = 7 words; one user turn.
    result = _metrics(*SEED_ROWS).to_json()
    assert result == {
        "Number of examples": 3,
        "Number of tools": EMPTY,
        WORDS: {
            "Total # non-null values": 3,
            "Average": 7.0,
            "Min": 7.0,
            "Max": 7.0,
            "Standard deviation": 0.0,
        },
        "Number of turns": {
            "Total # non-null values": 3,
            "Average": 1.0,
            "Min": 1.0,
            "Max": 1.0,
            "Standard deviation": 0.0,
        },
        "Temperature": EMPTY,
        "expected_answer": {"unique_count": 3, "total_count": 3},
    }
    assert list(result) == STANDARD + ["expected_answer"]


def test_tools_counted_only_when_present_and_not_null():
    rows = [
        _row({"input": "q", "tools": []}),  # explicit [] observes 0
        _row({"input": "q", "tools": [{"name": "a"}, {"name": "b"}]}),  # observes 2
        _row({"input": "q", "tools": None}),
        _row({"input": "q"}),
    ]
    # [0, 2]: mean 1, std sqrt(2) = 1.414 -> 1.41
    assert _metrics(*rows).to_json()["Number of tools"] == {
        "Total # non-null values": 2,
        "Average": 1.0,
        "Min": 0.0,
        "Max": 2.0,
        "Standard deviation": 1.41,
    }


def test_turns_count_user_items_and_a_string_input_counts_once():
    rows = [
        _row({"input": "just a string"}),  # 1
        _row({"input": ""}),  # still a string: 1
        _row(
            {
                "input": [
                    {"role": "system", "content": "s"},
                    {"role": "user", "content": "u1"},
                    {"role": "assistant", "content": "a"},
                    {"role": "user", "content": "u2"},
                ]
            }
        ),  # 2
        _row({"input": [{"role": "system", "content": "only system"}]}),  # 0: not observed
        _row({"input": []}),  # 0: not observed
    ]
    # [1, 1, 2]: mean 1.333 -> 1.33; squared deviations 1/9 + 1/9 + 4/9 = 2/3; variance 1/3; std 0.577
    assert _metrics(*rows).to_json()["Number of turns"] == {
        "Total # non-null values": 3,
        "Average": 1.33,
        "Min": 1.0,
        "Max": 2.0,
        "Standard deviation": 0.577,
    }


def test_temperature_only_when_present_and_not_null():
    rows = [
        _row({"input": "q", "temperature": 0.7}),
        _row({"input": "q", "temperature": 1.0}),
        _row({"input": "q", "temperature": None}),
        _row({"input": "q"}),
    ]
    # [0.7, 1.0]: mean 0.85; std sqrt(2 * 0.15**2) = 0.2121 -> 0.212
    assert _metrics(*rows).to_json()["Temperature"] == {
        "Total # non-null values": 2,
        "Average": 0.85,
        "Min": 0.7,
        "Max": 1.0,
        "Standard deviation": 0.212,
    }


def test_words_split_only_on_literal_spaces_of_the_ascii_dump():
    # json.dumps gives {"input": "\u00e9\nb\u00a0c d\te"}: newline, tab and the no-break space are escaped,
    # so only the space after the colon and the one before "d" split: 3 words.
    metrics = _metrics(_row({"input": "é\nb\u00a0c d\te"}))
    assert metrics.to_json()[WORDS]["Average"] == 3.0


def test_words_treat_a_run_of_spaces_as_one_separator():
    # {"input": "a  b   c"} -> {"input": | "a | b | c"}  = 4 words, though the dump holds 6 spaces
    assert _metrics(_row({"input": "a  b   c"})).to_json()[WORDS]["Average"] == 4.0
    # {} -> 1 word
    assert _metrics({"responses_create_params": {}}).to_json()[WORDS]["Average"] == 1.0


def test_words_always_observed_and_examples_count_every_row():
    result = _metrics(_row({"input": []}), _row({"input": []})).to_json()
    # {"input": []} -> {"input": | []}  = 2 words
    assert result[WORDS]["Total # non-null values"] == 2
    assert result[WORDS]["Average"] == 2.0
    assert result["Number of examples"] == 2
    assert result["Number of turns"] == EMPTY


def test_extras_flatten_lists_convert_bools_and_ignore_dicts_and_nulls():
    rows = [
        _row(tags=["a", "b", "a"], scores=[1, 2.5], nested=[[1, 2], 3], flag=True, meta={"k": 1}, maybe=None),
        _row(tags="c", flag=False, agent_ref={"type": "responses_api_agents", "name": "x"}, response="r"),
    ]
    result = _metrics(*rows).to_json()
    assert list(result) == STANDARD + ["tags", "scores", "nested", "flag"]
    assert result["tags"] == {"unique_count": 3, "total_count": 4}
    # [1, 2.5]: mean 1.75, std sqrt(2 * 0.75**2) = 1.0607 -> 1.06
    assert result["scores"] == {
        "Total # non-null values": 2,
        "Average": 1.75,
        "Min": 1.0,
        "Max": 2.5,
        "Standard deviation": 1.06,
    }
    # the inner list [1, 2] is ignored, only 3 counts
    assert result["nested"]["Total # non-null values"] == 1
    assert result["nested"]["Average"] == 3.0
    # True, False -> 1, 0: mean 0.5, std sqrt(0.5) = 0.707
    assert result["flag"] == {
        "Total # non-null values": 2,
        "Average": 0.5,
        "Min": 0.0,
        "Max": 1.0,
        "Standard deviation": 0.707,
    }


def test_extras_appear_in_first_seen_order_of_an_observed_value():
    result = _metrics(_row(b=None, c="x"), _row(b=1, a=2)).to_json()
    assert list(result) == STANDARD + ["c", "b", "a"]


def test_mixed_number_and_string_values_raise_a_located_data_error():
    metrics = _metrics(_row(id=1))
    with pytest.raises(MixedExtraTypesError) as caught:
        metrics.observe_row(_row(id="x"))
    error = caught.value
    assert isinstance(error, DataError)
    assert error.code == "metrics.mixed_types"
    assert error.key == "id"
    assert "'id'" in error.message and "number" in error.message and "string" in error.message
    assert error.hint == "make every value of id the same kind"
    located = error.located("data/example.jsonl", 2)
    assert located.location == Location(path="data/example.jsonl", line=2, field="id")
    assert located.code == "metrics.mixed_types" and located.key == "id"


def test_mixed_kinds_inside_one_list_raise_with_kinds_in_order():
    with pytest.raises(MixedExtraTypesError) as caught:
        _metrics(_row(labels=["a", 3]))
    assert caught.value.message.index("string") < caught.value.message.index("number")


def test_keys_named_like_standard_metrics_never_clobber_them():
    metrics = _metrics(
        _row({"input": "q", "tools": []}, **{"Number of tools": 5, "Temperature": "hot", "number_of_tools": 7})
    )
    result = metrics.to_json()
    assert result["Number of tools"]["Average"] == 0.0
    assert result["Temperature"] == EMPTY
    assert list(result) == STANDARD + ["number_of_tools"]
    assert result["number_of_tools"]["Average"] == 7.0
    assert metrics.shadowed_keys == ["Number of tools", "Temperature"]


def test_count_equals_observing_the_row_count_times():
    row = _row({"input": "q", "temperature": 0.5}, expected_answer="4", id=3)
    repeated = _metrics(row, count=3).to_json()
    assert repeated == _metrics(row, row, row).to_json()
    assert repeated["Number of examples"] == 3
    assert repeated["expected_answer"] == {"unique_count": 1, "total_count": 3}


def test_count_below_one_is_rejected_before_counting():
    metrics = DatasetMetrics()
    with pytest.raises(ValueError):
        metrics.observe_row(_row(), count=0)
    assert metrics.to_json()["Number of examples"] == 0


def test_merge_of_shards_equals_sequential_and_merges_extras():
    rows = [json.loads(line) for line in SEED_ROWS] + [_row(expected_answer="4", id=1)]
    left, right = _metrics(*rows[:2]), _metrics(*rows[2:])
    left.merge(right)
    result = left.to_json()
    assert result == _metrics(*rows).to_json()
    # "4", "15" merged with "5", "4": not the last shard's 2/2 as NeMo Gym would report
    assert result["expected_answer"] == {"unique_count": 3, "total_count": 4}
    assert list(result) == STANDARD + ["expected_answer", "id"]


def test_merge_does_not_share_state_with_the_other_side():
    left, right = _metrics(_row(id=1)), _metrics(_row(id=2, name="n"))
    left.merge(right)
    right.observe_row(_row(id=100, name="other"))
    assert left.to_json()["id"]["Max"] == 2.0
    assert left.to_json()["name"] == {"unique_count": 1, "total_count": 1}


def test_merge_with_mixed_kinds_raises_before_changing_anything():
    left, right = _metrics(_row(id=1)), _metrics(_row(id="x"))
    before = left.to_json()
    with pytest.raises(MixedExtraTypesError) as caught:
        left.merge(right)
    assert caught.value.key == "id"
    assert left.to_json() == before


def test_empty_metrics():
    assert DatasetMetrics().to_json() == {
        "Number of examples": 0,
        "Number of tools": EMPTY,
        WORDS: EMPTY,
        "Number of turns": EMPTY,
        "Temperature": EMPTY,
    }


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_words_match_the_definition_for_any_text(text):
    params = {"input": text, "instructions": text}
    expected = len(json.dumps(params).split())  # NeMo Gym's definition
    assert _metrics(_row(params)).to_json()[WORDS]["Average"] == float(expected)


def test_row_keys_starting_with_an_underscore_get_no_metric_as_in_nemo_gym():
    metrics = DatasetMetrics()
    row = {"responses_create_params": {"input": "hi"}, "_ng_task_index": 3, "_ng_rollout_index": 0, "score": 1}
    metrics.observe_row(row, 1)
    document = metrics.to_json()
    assert "score" in document and not any(key.startswith("_") for key in document)
