"""Tests for the derived reward contract: empty responses score the minimum, gold responses the maximum."""

from __future__ import annotations

import pytest

from gym_conform.checks import CheckFailed, CheckSkipped
from gym_conform.checks.server_contract import check_contract_empty, check_contract_gold
from tests.checks import ROWS, make_row
from tests.checks.server_apps import app, context, isolated_imports, server_folder  # noqa: F401

pytestmark = pytest.mark.usefixtures("isolated_imports")
EXAMPLE = "resources_servers/alpha/data/example.jsonl"

# Stateful: the `add` tool sums into a per-session total, which verify compares with expected_answer.
COUNTER_APP = """\
from fastapi import Request
from pydantic import BaseModel

from gym_conform.core.responses import function_call_item, make_response, message_item
from gym_conform.server import BaseSeedSessionRequest, BaseSeedSessionResponse, BaseVerifyRequest
from gym_conform.server import BaseVerifyResponse, ResourcesServer, tool


class AddArgs(BaseModel):
    n: int


class AlphaVerifyRequest(BaseVerifyRequest):
    expected_answer: str


class AlphaServer(ResourcesServer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.totals = {}

    async def seed_session(self, request: Request, body: BaseSeedSessionRequest) -> BaseSeedSessionResponse:
        self.totals[self.session_id(request)] = 0
        return BaseSeedSessionResponse()

    @tool
    async def add(self, request: Request, body: AddArgs) -> dict:
        self.totals[self.session_id(request)] += body.n
        return {"total": self.totals[self.session_id(request)]}

    async def verify(self, request: Request, body: AlphaVerifyRequest) -> BaseVerifyResponse:
        total = self.totals[self.session_id(request)]
        return BaseVerifyResponse(**body.model_dump(), reward=1.0 if str(total) == body.expected_answer else 0.0)

    def gold_response(self, row):
        add = function_call_item("add", {"n": int(row["expected_answer"])}, "call_1")
        return make_response([add, message_item("done")])
"""


def failure(check, folder, root) -> CheckFailed:
    with pytest.raises(CheckFailed) as raised:
        check(context(folder, root))
    return raised.value


def test_a_server_that_rewards_only_the_answer_passes_both(tmp_path):
    ctx = context(server_folder(tmp_path), tmp_path)

    check_contract_empty(ctx)
    check_contract_gold(ctx)


def test_rewarding_an_empty_response_fails_for_every_row_and_both_empty_shapes(tmp_path):
    folder = server_folder(tmp_path, app("reward = 1.0 if not text.strip() else 0.0"))

    problems = failure(check_contract_empty, folder, tmp_path).problems

    assert [(p.location.path, p.location.line) for p in problems] == [(EXAMPLE, n) for n in range(1, 6) for _ in "ab"]
    assert problems[0].message == "a response with no output scored 1.0, not the lowest reward 0.0"
    assert problems[1].message == "a response holding one empty assistant message scored 1.0, not the lowest reward 0.0"


def test_a_row_already_solved_by_doing_nothing_fails_only_that_row(tmp_path):
    rows = [*ROWS[:3], make_row(0), ROWS[4]]
    folder = server_folder(tmp_path, COUNTER_APP, rows=rows, rollouts=[])

    problems = failure(check_contract_empty, folder, tmp_path).problems

    assert {p.location.line for p in problems} == {4}
    assert "solved by doing nothing" in problems[0].hint


def test_a_crash_on_empty_output_is_reported_for_that_shape(tmp_path):
    folder = server_folder(tmp_path, app("first = body.response.output[0]\nreward = 0.0"))

    problems = failure(check_contract_empty, folder, tmp_path).problems

    assert len(problems) == len(ROWS)
    assert problems[0].message == "a response with no output: verify raised: IndexError('list index out of range')"


def test_a_range_minimum_other_than_zero_is_the_target(tmp_path):
    folder = server_folder(tmp_path, app("reward = -1.0"), config_fields={"reward_range": "[-1, 1]"})

    check_contract_empty(context(folder, tmp_path))


def test_without_gold_responses_the_gold_contract_skips(tmp_path):
    with pytest.raises(CheckSkipped, match="gold_response returns None for every example row"):
        check_contract_gold(context(server_folder(tmp_path, app(extra="")), tmp_path))


def test_a_gold_response_that_does_not_score_the_top_fails_per_row(tmp_path):
    wrong_gold = "\n    def gold_response(self, row):\n        return make_response([message_item('no idea')])\n"
    folder = server_folder(tmp_path, app(extra=wrong_gold))

    problems = failure(check_contract_gold, folder, tmp_path).problems

    assert [p.location.line for p in problems] == [1, 2, 3, 4, 5]
    assert problems[0].message == "the gold response scored 0.0, not the highest reward 1.0"


def test_gold_response_raising_is_reported_at_the_row(tmp_path):
    raising = "\n    def gold_response(self, row):\n        return make_response([message_item(row['answer'])])\n"

    problems = failure(check_contract_gold, server_folder(tmp_path, app(extra=raising)), tmp_path).problems

    assert problems[0].code == "contract.gold_raised"
    assert problems[0].message == "gold_response(row) raised KeyError: 'answer'"


def test_a_gold_response_with_tool_calls_runs_them_against_the_server(tmp_path):
    folder = server_folder(tmp_path, COUNTER_APP, rollouts=[])

    check_contract_gold(context(folder, tmp_path))
