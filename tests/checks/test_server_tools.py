"""Tests for `fuzz_tools`: tools that crash or hang on odd arguments are caught with the request; sound ones pass."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings

from gym_conform.checks import CheckFailed, CheckSkipped
from gym_conform.checks.server_tools import check_fuzz_tools, malformed_bodies, schema_values
from tests.checks import make_row
from tests.checks.server_apps import app, context, isolated_imports, server_folder  # noqa: F401

pytestmark = pytest.mark.usefixtures("isolated_imports")

TOOL = {
    "type": "function",
    "name": "lookup",
    "parameters": {
        "type": "object",
        "properties": {"word": {"type": "string"}, "times": {"type": "integer", "minimum": 0}},
        "required": ["word"],
        "additionalProperties": False,
    },
}
ROWS = [
    {**make_row(n), "responses_create_params": {**make_row(n)["responses_create_params"], "tools": [TOOL]}}
    for n in range(1, 6)
]

# `{handler}` is the body of the lookup tool; it returns a dict.
TOOL_APP = """\
import asyncio

from fastapi import Request
from pydantic import BaseModel

from gym_conform.server import BaseVerifyRequest, BaseVerifyResponse, ResourcesServer, tool


class LookupArgs(BaseModel):
    word: str
    times: int = 1


class AlphaVerifyRequest(BaseVerifyRequest):
    expected_answer: str


class AlphaServer(ResourcesServer):
    @tool
    async def lookup(self, {signature}) -> dict:
{handler}

    async def verify(self, body: AlphaVerifyRequest) -> BaseVerifyResponse:
        return BaseVerifyResponse(**body.model_dump(), reward=0.0)
"""


def tool_app(handler: str, signature: str = "body: LookupArgs") -> str:
    return TOOL_APP.format(handler="\n".join("        " + line for line in handler.splitlines()), signature=signature)


def failure(folder, root) -> CheckFailed:
    with pytest.raises(CheckFailed) as raised:
        check_fuzz_tools(context(folder, root))
    return raised.value


def test_a_tool_with_a_pydantic_body_that_never_raises_passes(tmp_path):
    folder = server_folder(tmp_path, tool_app('return {"word": body.word * min(body.times, 3)}'), rows=ROWS)

    check_fuzz_tools(context(folder, tmp_path))


def test_a_tool_that_crashes_on_generated_arguments_fails_with_the_shrunk_request(tmp_path):
    folder = server_folder(tmp_path, tool_app('return {"first": body.word[0]}'), rows=ROWS)

    (problem,) = failure(folder, tmp_path).problems

    assert problem.code == "fuzz_tools.generated"
    assert problem.message.startswith("tool lookup: the tool answered HTTP 500: ")
    assert json.loads(problem.message.splitlines()[-1]) == {"method": "POST", "path": "/lookup", "body": {"word": ""}}
    assert (problem.location.line, problem.location.field) == (1, "responses_create_params.tools[lookup]")


def test_a_tool_that_reads_the_raw_body_crashes_on_malformed_calls(tmp_path):
    handler = 'data = await request.json()\nreturn {"word": data["word"].upper()}'
    folder = server_folder(tmp_path, tool_app(handler, signature="request: Request"), rows=ROWS)

    problems = failure(folder, tmp_path).problems

    malformed = [
        p.message.split(": the tool answered HTTP 500: ")[0] for p in problems if p.code == "fuzz_tools.malformed"
    ]
    assert malformed == [
        "tool lookup with required argument 'word' missing",
        "tool lookup with argument 'word' of the wrong type",
        "tool lookup with a JSON array as the body",
        "tool lookup with JSON null as the body",
        "tool lookup with a JSON string as the body",
    ]
    assert json.loads(problems[0].message.splitlines()[-1]) == {"method": "POST", "path": "/lookup", "body": {}}


def test_a_tool_that_hangs_on_some_arguments_fails_naming_the_hang(tmp_path, monkeypatch):
    monkeypatch.setattr("gym_conform.checks.server_tools.TOOL_TIMEOUT", 0.2)
    handler = 'if body.times > 5:\n    await asyncio.sleep(3600)\nreturn {"word": body.word}'
    folder = server_folder(tmp_path, tool_app(handler), rows=ROWS)

    (problem,) = failure(folder, tmp_path).problems

    assert problem.message.startswith("tool lookup: the tool did not answer within 0.2s (a hang)")
    assert json.loads(problem.message.splitlines()[-1])["body"]["times"] == 6


def test_rows_without_tools_skip(tmp_path):
    with pytest.raises(CheckSkipped, match="no example row offers a function tool"):
        check_fuzz_tools(context(server_folder(tmp_path, app()), tmp_path))


@settings(max_examples=50, database=None)
@given(schema_values(TOOL["parameters"]))
def test_generated_arguments_fit_the_schema(arguments):
    assert isinstance(arguments["word"], str)
    assert set(arguments) <= {"word", "times"}
    assert "times" not in arguments or (isinstance(arguments["times"], int) and arguments["times"] >= 0)


def test_malformed_bodies_cover_missing_extra_and_wrong_types():
    whats = [what for what, _ in malformed_bodies(TOOL["parameters"])]
    assert whats == [
        "required argument 'word' missing",
        "an extra argument 'unexpected_argument_gym_conform'",
        "argument 'word' of the wrong type",
        "argument 'times' of the wrong type",
        "a JSON array as the body",
        "JSON null as the body",
        "a JSON string as the body",
    ]


def test_a_tool_that_refuses_without_saying_why_fails_and_one_that_says_why_passes(tmp_path):
    refuse = 'if not body.word:\n    return Response(status_code=400{why})\nreturn {{"word": body.word}}'
    imports = ("from fastapi import Request", "from fastapi import Request, Response")
    silent = server_folder(tmp_path, tool_app(refuse.format(why="")).replace(*imports), rows=ROWS)

    (problem,) = failure(silent, tmp_path).problems

    assert problem.message.startswith("tool lookup: the tool refused with HTTP 400 and no message")
    assert json.loads(problem.message.splitlines()[-1])["body"] == {"word": ""}

    said = refuse.format(why=', content="word must not be empty"')
    check_fuzz_tools(
        context(server_folder(tmp_path / "b", tool_app(said).replace(*imports), rows=ROWS), tmp_path / "b")
    )
