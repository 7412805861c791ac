"""Tests for row validation: codes, JSON paths, messages and hints."""

from __future__ import annotations

from gym_conform.core.rows import RowIssue, check_row, json_path

SYSTEM = "Your task is to solve a math problem. Put the answer inside \\boxed{}."
TUTORIAL_ROW = {
    "problem": "Solve for $y$: y + 1 = 3",
    "expected_answer": "2",
    "responses_create_params": {
        "input": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": "Solve for $y$: y + 1 = 3"},
        ]
    },
}


def rcp_row(**params) -> dict:
    return {"responses_create_params": {"input": "hi", **params}}


def test_tutorial_row_with_extra_top_level_fields_is_valid():
    assert check_row(TUTORIAL_ROW) == []


def test_non_object_row():
    (issue,) = check_row(["not", "a", "row"])

    assert (issue.code, issue.field, issue.message) == (
        "row.not_object",
        "",
        "each line must be a JSON object, got array",
    )


def test_missing_rcp_with_chat_messages_says_to_convert_them():
    (issue,) = check_row({"messages": [{"role": "user", "content": "hi"}], "expected_answer": "x"})

    assert (issue.code, issue.field) == ("row.missing_rcp", "")
    assert issue.message == "ValidationError: responses_create_params is missing"
    assert '"messages"' in issue.hint
    assert "responses_create_params.input" in issue.hint


def test_missing_rcp_with_top_level_input_says_to_move_it():
    (issue,) = check_row({"input": "hi"})

    assert issue.hint.startswith('move the top-level "input" into responses_create_params')


def test_missing_rcp_without_clues_shows_the_shape():
    (issue,) = check_row({"question": "hi"})

    assert issue.hint.startswith("Add responses_create_params.input")


def test_unknown_top_level_rcp_key_suggests_the_field_it_resembles():
    (issue,) = check_row(rcp_row(temprature=0.7))

    assert issue == RowIssue(
        "row.unknown_key",
        "responses_create_params.temprature",
        "ValidationError: unknown key 'temprature'",
        'did you mean "temperature"?',
    )


def test_chat_completions_key_gets_its_responses_name():
    (issue,) = check_row(rcp_row(max_tokens=100))

    assert issue.hint == 'use "max_output_tokens"'


def test_unknown_key_inside_an_item_has_its_full_path():
    row = {"responses_create_params": {"input": [{"role": "user", "content": "hi", "contnet": "x"}]}}

    (issue,) = check_row(row)

    assert (issue.code, issue.field) == ("row.unknown_key", "responses_create_params.input[0].contnet")
    assert issue.hint == 'did you mean "content"?'


def test_bad_role_points_at_the_exact_field():
    row = {"responses_create_params": {"input": [{"role": "system", "content": "x"}, {"role": "usr", "content": "y"}]}}

    (issue,) = check_row(row)

    assert issue == RowIssue(
        "row.schema",
        "responses_create_params.input[1].role",
        "ValidationError: Input should be 'user', 'assistant', 'system' or 'developer', got 'usr'",
        'did you mean "user"?',
    )


def test_role_tool_hint_names_the_function_call_output_item():
    row = {"responses_create_params": {"input": [{"role": "tool", "content": "20C"}]}}

    (issue,) = check_row(row)

    assert "function_call_output" in issue.hint


def test_metadata_values_must_be_strings():
    (issue,) = check_row(rcp_row(metadata={"n": 3}))

    assert (issue.field, issue.message) == (
        "responses_create_params.metadata.n",
        "ValidationError: Input should be a string, got 3",
    )
    assert issue.hint == 'metadata values must be strings: write "3" instead of 3'


def test_temperature_as_bool_is_rejected():
    (issue,) = check_row(rcp_row(temperature=True))

    assert (issue.code, issue.field) == ("row.schema", "responses_create_params.temperature")
    assert issue.message == "ValidationError: Input should be a number, not a boolean"


def test_partial_training_fields_are_reported_on_the_item():
    item = {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}", "prompt_token_ids": [1]}
    row = {"responses_create_params": {"input": [{"role": "user", "content": "hi"}, item]}}

    (issue,) = check_row(row)

    assert issue.field == "responses_create_params.input[1]"
    assert "missing: generation_token_ids, generation_log_probs" in issue.message


def test_unknown_item_type_is_one_issue_with_a_suggestion():
    row = {"responses_create_params": {"input": [{"type": "function_cal", "call_id": "c", "name": "f"}]}}

    (issue,) = check_row(row)

    assert issue.field == "responses_create_params.input[0]"
    assert issue.message.startswith("ValidationError: Unknown input item type 'function_cal'; accepted types: message")
    assert issue.hint == 'did you mean "function_call"?'


def test_every_problem_of_a_row_is_reported():
    chat_tool = {"type": "function", "function": {"name": "f", "parameters": {}}}
    row = rcp_row(temperature="hot", tools=[chat_tool], top_k=5)

    fields = [issue.field for issue in check_row(row)]

    assert fields == [
        "responses_create_params.temperature",
        "responses_create_params.tools[0].name",
        "responses_create_params.tools[0].parameters",
        "responses_create_params.tools[0].function",
        "responses_create_params.top_k",
    ]


def test_rcp_that_is_not_an_object():
    (issue,) = check_row({"responses_create_params": "What is 2+2?"})

    assert (issue.field, issue.message) == (
        "responses_create_params",
        "ValidationError: Input should be an object, got 'What is 2+2?'",
    )


def test_json_path_drops_discriminator_tags_and_quotes_odd_keys():
    loc = ("input", "~list", 0, "~message", "content", "~list", 2, "~input_text", "text")

    assert json_path("responses_create_params", loc) == "responses_create_params.input[0].content[2].text"
    assert json_path("responses_create_params", ("metadata", "a key")) == 'responses_create_params.metadata["a key"]'
