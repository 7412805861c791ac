"""Tests for judging a verify answer: usable rewards, and why anything else is not one."""

from __future__ import annotations

import asyncio
import json
import math

import pytest
from starlette.responses import JSONResponse

from gym_conform.checks.server_session import VerifyFailed, judged_reward, payload_line, response_json, verify_reward
from gym_conform.server import BaseVerifyRequest, ResourcesServer, ServerClient


class DictServer(ResourcesServer):
    """Answers verify with the row's `give` as the reward: raised, as a raw JSON response, or as a dict."""

    async def verify(self, body: BaseVerifyRequest):
        reward = body.model_extra["give"]
        if reward == "raise":
            raise ValueError("cannot score this")
        if reward == "inf":
            # Starlette's own JSON encoder refuses infinity, unlike FastAPI's model encoding (null).
            return JSONResponse({"reward": math.inf})
        return {**body.model_dump(mode="json"), "reward": reward}


def verify_with(give: object) -> float:
    row = {"responses_create_params": {"input": "hi"}, "give": give}

    async def run() -> float:
        async with ServerClient.in_process(DictServer()) as client:
            return await verify_reward(client, row, response_json([]), (0.0, 1.0))

    return asyncio.run(run())


@pytest.mark.parametrize("value", [0, 1, 0.25])
def test_a_finite_number_in_range_is_a_reward(value):
    assert judged_reward(value, (0.0, 1.0)) == float(value)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "verify returned reward null: a NaN or infinite reward is sent as null"),
        (True, "verify returned reward true, not a number"),
        ("1.0", 'verify returned reward "1.0", not a number'),
        (math.inf, "verify returned reward inf, not a finite number"),
        (-0.5, "verify returned reward -0.5, outside the declared reward_range [0.0, 1.0]"),
    ],
)
def test_anything_else_is_refused_with_the_reason(value, reason):
    with pytest.raises(VerifyFailed) as raised:
        judged_reward(value, (0.0, 1.0))

    assert raised.value.message.startswith(reason)


def test_the_http_path_reports_a_crash_with_the_error_from_the_500_body():
    with pytest.raises(VerifyFailed) as raised:
        verify_with("raise")

    assert raised.value.message == "verify raised: ValueError('cannot score this')"


def test_a_non_finite_reward_that_json_cannot_carry_is_named():
    with pytest.raises(VerifyFailed) as raised:
        verify_with("inf")

    assert raised.value.message.startswith("verify returned a NaN or infinite reward, which JSON cannot carry")


def test_a_well_formed_reward_comes_back():
    assert verify_with(0.5) == 0.5


def test_the_payload_line_is_the_row_plus_the_response_on_one_line():
    row = {"responses_create_params": {"input": "é"}, "response": {"old": True}, "x": 1}

    line = payload_line(row, {"output": []})

    assert "\n" not in line and "é" in line
    assert json.loads(line) == {"responses_create_params": {"input": "é"}, "x": 1, "response": {"output": []}}
