"""Tests for the Hypothesis strategies: responses are valid and varied, rows valid, mutations named by check_row."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, find, given, settings

from gym_conform.checks.server_rows import names
from gym_conform.checks.strategies import (
    HUGE_TEXT_CHARS,
    ToolHints,
    create_params,
    mutated_rows,
    rejected_field_values,
    responses,
    valid_rows,
)
from gym_conform.core.responses import Response, ResponseCreateParams
from gym_conform.core.rows import check_row

ROWS = [{"responses_create_params": {"input": "What is 2+2?"}, "expected_answer": "4", "level": 1}]
HINTS = ToolHints(names=("get_weather",), keys=("city",), values=("Paris",))
MANY = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@MANY
@given(responses(HINTS))
def test_every_response_is_a_valid_strict_json_response(response):
    Response.model_validate(response)
    json.dumps(response, allow_nan=False)


def _output_types(response: dict) -> list[str]:
    return [item["type"] for item in response["output"]]


def _calls(response: dict) -> list[dict]:
    return [item for item in response["output"] if item["type"] == "function_call"]


def _invalid_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return True
    return False


SHAPES = {
    "empty": lambda r: r["output"] == [],
    "text only": lambda r: set(_output_types(r)) == {"message"},
    "reasoning only": lambda r: set(_output_types(r)) == {"reasoning"},
    "invalid JSON arguments": lambda r: any(_invalid_json(call["arguments"]) for call in _calls(r)),
    "known tool with its keys": lambda r: any(
        call["name"] == "get_weather" and '"city"' in call["arguments"] for call in _calls(r)
    ),
    "unknown tool": lambda r: any(call["name"] not in HINTS.names for call in _calls(r)),
    "huge": lambda r: len(json.dumps(r)) >= HUGE_TEXT_CHARS,
    "astral unicode": lambda r: any(ord(char) > 0xFFFF for char in json.dumps(r, ensure_ascii=False)),
    "mix": lambda r: {"message", "function_call", "function_call_output"} <= set(_output_types(r)),
    "row value boxed": lambda r: "\\boxed{Paris}" in json.dumps(r, ensure_ascii=False).replace("\\\\", "\\"),
    "incomplete": lambda r: r.get("status") == "incomplete",
}


def test_responses_cover_what_policies_produce():
    seen: set[str] = set()

    @settings(max_examples=600, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(responses(HINTS))
    def classify(response):
        seen.update(name for name, shape in SHAPES.items() if shape(response))

    classify()

    assert sorted(set(SHAPES) - seen) == []


@MANY
@given(valid_rows(ROWS))
def test_valid_rows_pass_the_row_check_and_keep_the_task_fields(row):
    assert check_row(row) == []
    assert (row["expected_answer"], row["level"]) == ("4", 1)


def test_create_params_cover_every_field_of_the_schema():
    seen: set[str] = set()

    @settings(max_examples=300, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(create_params())
    def collect(params):
        seen.update(params)

    collect()

    assert sorted(set(ResponseCreateParams.model_fields) - seen) == []


@MANY
@given(mutated_rows(ROWS, required=["expected_answer"], bad_values={"level": ("high", [])}))
def test_check_row_names_every_create_params_mutation(mutation):
    if mutation.in_create_params:
        fields = [issue.field for issue in check_row(mutation.row)]
        assert any(names(field, mutation.path) for field in fields), (mutation, fields)
    else:
        assert check_row(mutation.row) == []
        assert mutation.path in ("expected_answer", "level")


def test_task_field_mutations_remove_or_break_that_field():
    removed = find(mutated_rows(ROWS, required=["expected_answer"]), lambda m: m.path == "expected_answer")
    broken = find(mutated_rows(ROWS, bad_values={"level": ("high",)}), lambda m: m.path == "level")

    assert "expected_answer" not in removed.row and removed.change == "expected_answer removed"
    assert broken.row["level"] == "high" and broken.change == 'level set to "high"'


def test_rejected_field_values_are_rejected_at_their_field():
    found = rejected_field_values()

    assert "input" not in found and "tools" not in found
    assert True in found["temperature"] and 1.5 in found["max_output_tokens"]
    for field, values in found.items():
        for value in values:
            with pytest.raises(ValueError):
                ResponseCreateParams.model_validate({"input": "x", field: value})
