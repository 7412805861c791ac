"""Rows against a TaskData schema: 0.7.0's splicing, conflicts, misplaced and unknown keys, materialized rows."""

from __future__ import annotations

from typing import Any

import pytest

from gym_conform.core.task_data import RESERVED_ROW_KEYS, TaskSchema

from .conftest import Project

SCHEMA = """
from typing import List, Optional
from pydantic import BaseModel, ConfigDict, Field

_VM = {"legacy_location": "verifier_metadata"}


class Rubric(BaseModel):
    model_config = ConfigDict(extra="allow")
    criterion: str
    weight: float = 1.0


class TaskData(BaseModel):
    model_config = ConfigDict(extra="allow")
    expected_answer: str = Field(description="gold answer")
    rubric: Optional[List[Rubric]] = Field(default=None, json_schema_extra=_VM)
    difficulty: Optional[int] = None
"""


@pytest.fixture
def schema(project: Project) -> TaskSchema:
    folder = project.server("graded", SCHEMA)
    rows = [
        {"expected_answer": "a", "verifier_metadata": {"rubric": [{"criterion": 1}]}},
        {"expected_answer": "a", "rubric": []},
        {"expected_answer": "a", "verifier_metadata": {"expected_answer": "b"}},
        {"task_id": {"id": 1}, "task_input": {"task_data": {"expected_answer": 1}, "difficulty": "x"}},
    ]
    return project.agree(folder, rows)


def fields(issues: list[Any]) -> list[tuple[str, str]]:
    return [(i.code, i.field) for i in issues]


def test_reserved_keys_are_not_task_fields(schema: TaskSchema) -> None:
    row = {key: {"anything": 1} for key in RESERVED_ROW_KEYS} | {"expected_answer": "a"}
    assert schema.validate_row(row) == []
    assert RESERVED_ROW_KEYS == {
        "responses_create_params",
        "agent_ref",
        "task_source",
        "_ng_task_index",
        "_ng_rollout_index",
    }


def test_fields_nested_in_verifier_metadata_are_reported_where_they_are_written(schema: TaskSchema) -> None:
    row = {"expected_answer": "a", "verifier_metadata": {"rubric": [{"weight": "heavy"}], "difficulty": "x"}}
    assert fields(schema.validate_row(row)) == [
        ("task_data.invalid", "verifier_metadata.rubric[0].criterion"),
        ("task_data.invalid", "verifier_metadata.rubric[0].weight"),
        ("task_data.invalid", "verifier_metadata.difficulty"),
    ]
    missing = schema.validate_row({"verifier_metadata": {"rubric": []}})
    assert fields(missing) == [("task_data.invalid", "expected_answer")]
    assert missing[0].message == "expected_answer is missing (required by the graded TaskData schema)"


def test_a_missing_legacy_field_is_asked_for_inside_verifier_metadata(project: Project) -> None:
    folder = project.server(
        "legacy_required",
        "from pydantic import BaseModel, Field\n\n\nclass TaskData(BaseModel):\n"
        "    ground_truth: str = Field(json_schema_extra={'legacy_location': 'verifier_metadata'})\n",
    )
    schema = project.agree(folder, [{}])
    (issue,) = schema.validate_row({})
    assert (issue.field, issue.hint) == (
        "verifier_metadata.ground_truth",
        'add "ground_truth" inside verifier_metadata',
    )


def test_a_value_in_two_places_conflicts_only_when_the_values_differ(schema: TaskSchema) -> None:
    same = {"expected_answer": "a", "verifier_metadata": {"expected_answer": "a"}}
    assert schema.validate_row(same) == []
    (issue,) = schema.validate_row({"expected_answer": "a", "verifier_metadata": {"expected_answer": "b"}})
    assert (issue.code, issue.field, issue.bucket, issue.key) == (
        "task_data.conflict",
        "verifier_metadata.expected_answer",
        "conflict",
        "expected_answer",
    )
    assert issue.message.startswith('verifier_metadata.expected_answer = "b" differs from expected_answer = "a"')
    # verifier_metadata is spliced first, task_data second: task_data.x then conflicts with verifier_metadata.x.
    row = {"verifier_metadata": {"expected_answer": "a"}, "task_data": {"expected_answer": "c", "difficulty": 1}}
    assert fields(schema.validate_row(row)) == [("task_data.conflict", "task_data.expected_answer")]


def test_a_legacy_field_only_at_the_top_level_is_misplaced(schema: TaskSchema) -> None:
    (issue,) = schema.validate_row({"expected_answer": "a", "rubric": []})
    assert (issue.code, issue.field, issue.bucket) == ("task_data.misplaced", "rubric", "misplaced")
    assert issue.hint == 'move it into "verifier_metadata": {"rubric": ...}'
    both = {"expected_answer": "a", "rubric": [], "verifier_metadata": {"rubric": []}}
    assert schema.validate_row(both) == []
    # A row in the migrated format (a task_data key) is exempt: top level inside task_data is right.
    assert schema.validate_row({"task_data": {"expected_answer": "a", "rubric": []}}) == []
    assert schema.validate_row({"expected_answer": "a", "rubric": [], "task_data": {}}) == []


def test_undeclared_keys_are_reported_with_a_close_match(schema: TaskSchema) -> None:
    issues = schema.validate_row({"expected_answr": "a", "expected_answer": "a", "verifier_metadata": {"notes": 1}})
    assert [(i.code, i.field, i.bucket) for i in issues] == [
        ("task_data.unknown_key", "expected_answr", "unknown_key"),
        ("task_data.unknown_key", "verifier_metadata.notes", "unknown_key"),
    ]
    assert issues[0].hint == 'did you mean "expected_answer"?'
    # Only the top level: undeclared keys of nested models are not counted (they go to those models' extras).
    assert (
        schema.validate_row({"expected_answer": "a", "verifier_metadata": {"rubric": [{"criterion": "c", "z": 1}]}})
        == []
    )


def test_a_malformed_container_is_validated_as_it_is(schema: TaskSchema) -> None:
    issues = schema.validate_row({"expected_answer": "a", "verifier_metadata": "oops"})
    assert [(i.code, i.field) for i in issues] == [("task_data.unknown_key", "verifier_metadata")]
    # None is dropped, as 0.7.0's normalize_task_fields drops it.
    assert schema.validate_row({"expected_answer": "a", "verifier_metadata": None}) == []


def test_materialized_rows(schema: TaskSchema) -> None:
    task_id = {"taskset": "t", "index": 0}
    row = {"task_id": task_id, "task_input": {"task_data": {"expected_answer": 1, "rubric": []}, "difficulty": "x"}}
    assert fields(schema.validate_row(row)) == [
        ("task_data.invalid", "task_input.task_data.expected_answer"),
        ("task_data.invalid", "task_input.difficulty"),
    ]
    missing = {"task_id": task_id, "task_input": {"task_data": {}}}
    assert fields(schema.validate_row(missing)) == [("task_data.invalid", "task_input.task_data.expected_answer")]
    conflict = {"task_id": task_id, "task_input": {"task_data": {"expected_answer": "a"}, "expected_answer": "b"}}
    assert fields(schema.validate_row(conflict)) == [("task_data.conflict", "task_input.expected_answer")]
    # Without task_input.task_data the row is not "migrated": misplacement applies to task_input's keys.
    flat = {"task_id": task_id, "task_input": {"expected_answer": "a", "rubric": []}}
    assert fields(schema.validate_row(flat)) == [("task_data.misplaced", "task_input.rubric")]
    # The outer row's other keys are not task data; a task_id that is not an object is not materialized.
    assert (
        schema.validate_row({"task_id": task_id, "task_input": {"task_data": {"expected_answer": "a"}}, "z": 1}) == []
    )
    plain = schema.validate_row({"task_id": "t1", "task_input": {}, "expected_answer": "a"})
    assert [i.field for i in plain] == ["task_id", "task_input"]


@pytest.mark.parametrize(
    ("task_input", "field", "detail"),
    [
        ([1], "task_input", "task_input must be an object, got list"),
        (None, "task_input", "task_input must be an object, got NoneType"),
        ({"task_data": "x"}, "task_input.task_data", "task_input.task_data must be an object, got str"),
    ],
)
def test_a_malformed_materialized_envelope(schema: TaskSchema, task_input: Any, field: str, detail: str) -> None:
    (issue,) = schema.validate_row({"task_id": {"i": 1}, "task_input": task_input})
    assert (issue.code, issue.field, issue.bucket, issue.detail) == ("task_data.envelope", field, "invalid_row", detail)


def test_an_issue_becomes_a_located_problem(schema: TaskSchema) -> None:
    (issue,) = schema.validate_row({"expected_answer": "a", "verifier_metadata": {"difficulty": "hard"}})
    text = issue.problem("data/example.jsonl", 7).render()
    assert text.startswith("data/example.jsonl:7: verifier_metadata.difficulty: Input should be a valid integer")
    assert "[task_data.invalid]\n    hint: use a whole number" in text
    assert issue.detail.startswith("1 validation error for TaskData; difficulty;   Input should be a valid integer")


def test_a_literal_mismatch_suggests_the_close_value(project: Project) -> None:
    folder = project.server(
        "modes",
        "from typing import Literal\nfrom pydantic import BaseModel\n\n\nclass TaskData(BaseModel):\n"
        "    mode: Literal['strict', 'lenient']\n",
    )
    schema = project.agree(folder, [{"mode": "strct"}])
    (issue,) = schema.validate_row({"mode": "strct"})
    assert (issue.field, issue.hint) == ("mode", 'did you mean "strict"?')
    assert issue.message == "Input should be 'strict' or 'lenient', got \"strct\""


def test_json_schema_is_what_gym_env_schema_prints(schema: TaskSchema) -> None:
    document = schema.json_schema()
    assert document["title"] == "TaskData"
    assert document["required"] == ["expected_answer"]
    assert document["properties"]["rubric"]["legacy_location"] == "verifier_metadata"
    assert document["$defs"]["Rubric"]["required"] == ["criterion"]
    assert document["additionalProperties"] is True
