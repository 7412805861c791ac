"""Tests for `row_fields` (rows carry what verify and seed_session declare) and `fuzz_rows`."""

from __future__ import annotations

import json

import pytest

from gym_conform.checks import CheckFailed, CheckSkipped
from gym_conform.checks.server_rows import check_fuzz_rows, check_row_fields, detail_paths, names, type_name
from tests.checks import ROWS, make_row
from tests.checks.server_apps import app, context, isolated_imports, server_folder  # noqa: F401

pytestmark = pytest.mark.usefixtures("isolated_imports")
EXAMPLE = "resources_servers/alpha/data/example.jsonl"

SEEDED_APP = """\
from fastapi import Request
from gym_conform.server import BaseSeedSessionRequest, BaseSeedSessionResponse, BaseVerifyRequest, BaseVerifyResponse
from gym_conform.server import ResourcesServer


class SeedRequest(BaseSeedSessionRequest):
    responses_create_params: dict
{seed_fields}

class AlphaServer(ResourcesServer):
    async def seed_session(self, request: Request, body: SeedRequest) -> BaseSeedSessionResponse:
{seed_body}
        return BaseSeedSessionResponse()

    async def verify(self, body: BaseVerifyRequest) -> BaseVerifyResponse:
        return BaseVerifyResponse(**body.model_dump(), reward=0.0)
"""
# A verify that takes any JSON object: FastAPI then validates nothing, so broken rows get HTTP 200.
LAX_APP = """\
from gym_conform.server import ResourcesServer


class AlphaServer(ResourcesServer):
    async def verify(self, body: dict) -> dict:
        return {**body, "reward": 0.0}
"""


def seeded_app(seed_body: str = "pass", seed_fields: str = "") -> str:
    return SEEDED_APP.format(seed_body="        " + seed_body, seed_fields="    " + seed_fields)


def failure(check, folder, root, **settings) -> CheckFailed:
    with pytest.raises(CheckFailed) as raised:
        check(context(folder, root, **settings))
    return raised.value


def test_rows_with_every_declared_field_pass(tmp_path):
    check_row_fields(context(server_folder(tmp_path), tmp_path))


def test_each_row_missing_a_required_field_is_reported_with_its_line_and_type(tmp_path):
    rows = [make_row(1, difficulty=3), make_row(2), make_row(3, difficulty=1), make_row(4), make_row(5)]
    folder = server_folder(tmp_path, app(fields="difficulty: int\ntags: list[str] = []"), rows=rows)

    problems = failure(check_row_fields, folder, tmp_path).problems

    assert [(p.location.path, p.location.line, p.location.field) for p in problems] == [
        (EXAMPLE, 2, "difficulty"),
        (EXAMPLE, 4, "difficulty"),
        (EXAMPLE, 5, "difficulty"),
    ]
    assert problems[0].message == "missing field 'difficulty' (int), which verify() requires"
    assert problems[0].code == "row.field_missing"
    assert "AlphaVerifyRequest.difficulty" in problems[0].hint


def test_a_field_of_the_wrong_type_is_reported_at_its_path(tmp_path):
    rows = [make_row(1, levels=[1]), make_row(2, levels=[1, 2.5]), *ROWS[2:]]
    folder = server_folder(tmp_path, app(fields="levels: list[int] = []"), rows=rows)

    (problem,) = failure(check_row_fields, folder, tmp_path).problems

    assert (problem.location.line, problem.location.field, problem.code) == (2, "levels[1]", "row.field_type")
    assert "got 2.5 (verify() declares list[int])" in problem.message


def test_fields_seed_session_requires_are_checked_too(tmp_path):
    folder = server_folder(tmp_path, seeded_app(seed_fields="initial_count: int"))

    problems = failure(check_row_fields, folder, tmp_path).problems

    assert len(problems) == len(ROWS)
    assert problems[0].message == "missing field 'initial_count' (int), which seed_session() requires"


def test_no_valid_example_row_skips(tmp_path):
    folder = server_folder(tmp_path, rows=[{"no": "responses_create_params"}] * 5)

    with pytest.raises(CheckSkipped, match="has no valid rows"):
        check_row_fields(context(folder, tmp_path))


def test_a_server_that_names_every_broken_field_passes_fuzz_rows(tmp_path):
    check_fuzz_rows(context(server_folder(tmp_path), tmp_path))


def test_seed_session_that_cannot_take_a_string_input_fails_fuzz_rows(tmp_path):
    body = 'body.responses_create_params["input"][0]["content"]'
    folder = server_folder(tmp_path, seeded_app(seed_body=body))

    (problem,) = failure(check_fuzz_rows, folder, tmp_path).problems

    assert problem.code == "fuzz_rows.seed_failed"
    assert "seed_session refused a valid row: POST /seed_session returned HTTP 500" in problem.message
    assert (problem.location.path, problem.location.line) == ("resources_servers/alpha/app.py", 11)
    assert problem.location.field == "seed_session"
    row = json.loads(problem.message.splitlines()[-1])
    assert isinstance(row["responses_create_params"]["input"], str)
    assert row["expected_answer"] == "2"


def test_a_request_model_stricter_than_nemo_gym_fails_fuzz_rows(tmp_path):
    strict = "responses_create_params: ListInputOnly"
    text = "from pydantic import BaseModel, ConfigDict\n\n\nclass ListInputOnly(BaseModel):\n"
    text += "    model_config = ConfigDict(extra='allow')\n    input: list\n\n\n" + app(fields=strict)

    (problem,) = failure(check_fuzz_rows, server_folder(tmp_path, text), tmp_path).problems

    assert problem.code == "fuzz_rows.valid_rejected"
    assert "AlphaVerifyRequest rejects a row generated from it at responses_create_params.input" in problem.message
    assert "`input` may be a string" in problem.hint


def test_a_verify_that_accepts_broken_rows_fails_fuzz_rows(tmp_path):
    (problem,) = failure(check_fuzz_rows, server_folder(tmp_path, LAX_APP), tmp_path).problems

    assert problem.code == "fuzz_rows.accepted_broken_row"
    assert "verify answered HTTP 200, not 422, to a row with" in problem.message
    assert '"kind": "malformed"' in problem.hint
    request = json.loads(problem.message.splitlines()[-1])
    assert set(request) >= {"response"}


def test_names_matches_the_path_or_inside_it():
    assert names("responses_create_params.input", "responses_create_params.input")
    assert names("responses_create_params.input[0].role", "responses_create_params.input")
    assert names("tags.x", "tags")
    assert not names("tagsets", "tags")
    assert not names("responses_create_params", "responses_create_params.input")


def test_detail_paths_reads_fastapi_422_bodies():
    body = json.dumps(
        {
            "detail": [
                {"loc": ["body", "responses_create_params", "input", "~list", 0, "~message", "role"], "msg": "x"},
                {"loc": ["body", "expected_answer"], "msg": "missing"},
                {"loc": ["query", "x"], "msg": "other"},
            ]
        }
    )

    assert detail_paths(body) == ["responses_create_params.input[0].role", "expected_answer"]
    assert detail_paths("not json") == []


def test_type_name_reads_like_python():
    assert type_name(int) == "int"
    assert type_name(list[str]) == "list[str]"
    assert type_name(int | None) == "int | None"
