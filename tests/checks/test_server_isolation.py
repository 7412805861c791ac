"""Tests for `session_isolation`: state shared between sessions is caught with both rows named; keyed state passes."""

from __future__ import annotations

import pytest

from gym_conform.checks import CheckFailed, CheckSkipped
from gym_conform.checks.server_isolation import check_session_isolation
from gym_conform.core.responses import function_call_item, make_response, message_item
from tests.checks import ROWS
from tests.checks.server_apps import app, context, isolated_imports, server_folder  # noqa: F401

pytestmark = pytest.mark.usefixtures("isolated_imports")
EXAMPLE = "resources_servers/alpha/data/example.jsonl"

# A per-session total driven by an `add` tool; `{store}` decides where the totals live.
COUNTER_APP = """\
import asyncio

from fastapi import Request
from pydantic import BaseModel

from gym_conform.core.responses import function_call_item, make_response, message_item
from gym_conform.server import BaseSeedSessionRequest, BaseSeedSessionResponse, BaseVerifyRequest
from gym_conform.server import BaseVerifyResponse, ResourcesServer, tool

TOTALS = {{}}


class AddArgs(BaseModel):
    n: int


class AlphaVerifyRequest(BaseVerifyRequest):
    expected_answer: str


class AlphaServer(ResourcesServer):
    def key(self, request):
        return {key}

    async def seed_session(self, request: Request, body: BaseSeedSessionRequest) -> BaseSeedSessionResponse:
        TOTALS[self.key(request)] = 0
        return BaseSeedSessionResponse()

    @tool
    async def add(self, request: Request, body: AddArgs) -> dict:
        total = TOTALS[self.key(request)]
        await asyncio.sleep({pause})
        TOTALS[self.key(request)] = total + body.n
        return {{"total": TOTALS[self.key(request)]}}

    async def verify(self, request: Request, body: AlphaVerifyRequest) -> BaseVerifyResponse:
        total = TOTALS.get(self.key(request))
        return BaseVerifyResponse(**body.model_dump(), reward=1.0 if str(total) == body.expected_answer else 0.0)

    def gold_response(self, row):
        add = function_call_item("add", {{"n": int(row["expected_answer"])}}, "call_1")
        return make_response([add, message_item("done")])
"""


def counter_app(key: str = "self.session_id(request)", pause: float = 0.0) -> str:
    return COUNTER_APP.format(key=key, pause=pause)


def test_state_keyed_by_session_passes(tmp_path):
    check_session_isolation(context(server_folder(tmp_path, counter_app()), tmp_path))


def test_a_module_level_total_shared_by_all_sessions_fails_naming_both_rows(tmp_path):
    folder = server_folder(tmp_path, counter_app(key='"shared"'))

    with pytest.raises(CheckFailed) as raised:
        check_session_isolation(context(folder, tmp_path))

    problems = raised.value.problems
    assert {p.code for p in problems} == {"session.leak"}
    first = problems[0]
    assert (first.location.path, first.location.line) == (EXAMPLE, 1)
    assert first.message == f"the row scored 1 alone but 0 interleaved with the session of {EXAMPLE}:2"
    assert "session_id" in first.hint


def test_a_race_on_a_shared_attribute_is_caught_only_by_concurrent_sessions(tmp_path):
    # The session id parked on the server object across an await: calls in turn are fine, overlapping ones not.
    text = (
        counter_app(pause=0.01)
        .replace(
            "        total = TOTALS[self.key(request)]\n",
            "        self.current = self.key(request)\n        total = TOTALS[self.current]\n",
        )
        .replace(
            "        TOTALS[self.key(request)] = total + body.n\n", "        TOTALS[self.current] = total + body.n\n"
        )
    )
    folder = server_folder(tmp_path, text)

    with pytest.raises(CheckFailed) as raised:
        check_session_isolation(context(folder, tmp_path))

    messages = [p.message for p in raised.value.problems]
    assert messages and all(" played concurrently with lines " in m for m in messages)


def test_stateful_tool_results_that_leak_are_caught_even_when_verify_does_not_look(tmp_path):
    text = counter_app(key='"shared"').replace(
        "reward=1.0 if str(total) == body.expected_answer else 0.0", "reward=0.0"
    )
    folder = server_folder(tmp_path, text)

    with pytest.raises(CheckFailed) as raised:
        check_session_isolation(context(folder, tmp_path))

    assert raised.value.problems[0].message.startswith(
        f"the row's tool results differ interleaved (second) with the session of {EXAMPLE}:1: tool call 1 gave"
    )


def counter_rollout(row: dict) -> dict:
    """A recorded rollout of the counter task: one `add` of the expected total, then a message."""
    add = function_call_item("add", {"n": int(row["expected_answer"])}, "call_1")
    response = make_response([add, message_item("done", id="msg_1")], id="resp_1")
    return {**row, "response": response.model_dump(mode="json"), "reward": 1.0}


def test_without_gold_responses_the_recorded_rollouts_are_played(tmp_path):
    # A NeMo Gym server has no gold_response: its recorded example rollouts carry the responses to play.
    rollouts = [counter_rollout(row) for row in ROWS]
    no_gold = counter_app(key='"shared"').split("    def gold_response")[0]
    folder = server_folder(tmp_path, no_gold, rollouts=rollouts)

    with pytest.raises(CheckFailed) as raised:
        check_session_isolation(context(folder, tmp_path))

    first = raised.value.problems[0]
    assert first.message == f"the row scored 1 alone but 0 interleaved with the session of {EXAMPLE}:2"

    keyed = counter_app().split("    def gold_response")[0]
    check_session_isolation(context(server_folder(tmp_path, keyed, rollouts=rollouts), tmp_path))


def test_a_server_without_gold_responses_or_rollouts_skips(tmp_path):
    with pytest.raises(CheckSkipped, match=r"needs responses to play .*gold_response.* or recorded rollouts"):
        check_session_isolation(context(server_folder(tmp_path, app(extra=""), rollouts=[]), tmp_path))
