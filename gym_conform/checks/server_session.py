"""Score one (row, response) pair through a server's HTTP contract and judge the reward it gives.

A usable reward is a finite number (not a bool) inside the declared range; anything else (a 5xx, a 422 on
a well-formed response, null, NaN, a string, 1.5 in [0, 1]) raises `VerifyFailed` with the reason.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from gym_conform.core.responses import Response, make_response
from gym_conform.errors import ServerError
from gym_conform.server import ServerClient

RESPONSE = "response"
# Fixed envelope fields, so two calls with the same output send byte-identical requests.
# parallel_tool_calls, tool_choice and tools are required in an OpenAI Response (NeMo Gym's model refuses one
# without them), and every model server sends them.
RESPONSE_ENVELOPE = {
    "id": "resp_gym_conform",
    "created_at": 0.0,
    "model": "gym-conform",
    "object": "response",
    "status": "completed",
    "parallel_tool_calls": True,
    "tool_choice": "auto",
    "tools": [],
}
_NON_FINITE_JSON = "Out of range float values are not JSON compliant"
# The client's verify error reads "POST /verify returned HTTP <status>: <body>".
_HTTP_STATUS = re.compile(r"returned HTTP (\d{3}): (.*)", re.DOTALL)


class VerifyFailed(Exception):
    """verify did not give a usable reward; `message` says why (HTTP status and error, or the bad value)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def response_json(output: list[Any], **fields: Any) -> dict:
    """Return a Response as JSON around `output`, with the fixed envelope unless `fields` override it."""
    response = make_response(output, **{**RESPONSE_ENVELOPE, **fields})
    return response_dump(response)


def response_dump(response: Response) -> dict:
    """Return a Response as the JSON a model server sends (unset defaults left out)."""
    return response.model_dump(mode="json", exclude_unset=True)


def row_only(request: dict) -> dict:
    """Return a verify request without its response: the row as seed_session receives it."""
    return {key: value for key, value in request.items() if key != RESPONSE}


def payload_line(row: dict, response: dict | None = None) -> str:
    """Return the row (plus `response`) as one JSON line a user can paste into a test or a fixture file."""
    payload = dict(row) if response is None else {**row_only(row), RESPONSE: response}
    return json.dumps(payload, ensure_ascii=False, separators=(", ", ": "))


async def verify_reward(client: ServerClient, row: dict, response: dict, bounds: tuple[float, float]) -> float:
    """Seed a fresh session with `row`, verify `row` + `response` in it, and return the judged reward."""
    session = client.rollout()
    try:
        await session.seed_session(row_only(row))
    except ServerError as error:
        raise VerifyFailed(f"seed_session failed: {error.message}") from None
    try:
        answer = await session.verify({**row_only(row), RESPONSE: response})
    except ServerError as error:
        raise VerifyFailed(_verify_error(error)) from None
    if "reward" not in answer:
        raise VerifyFailed("verify answered without a `reward` field")
    return judged_reward(answer["reward"], bounds)


def judged_reward(value: Any, bounds: tuple[float, float]) -> float:
    """Return `value` as a float when it is a finite number inside `bounds`; raise VerifyFailed otherwise."""
    low, high = bounds
    if value is None:
        raise VerifyFailed(
            "verify returned reward null: a NaN or infinite reward is sent as null, since JSON has no NaN"
        )
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise VerifyFailed(f"verify returned reward {json.dumps(value)}, not a number")
    if not math.isfinite(value):
        raise VerifyFailed(f"verify returned reward {value}, not a finite number")
    if not low <= value <= high:
        raise VerifyFailed(f"verify returned reward {value}, outside the declared reward_range [{low}, {high}]")
    return float(value)


def _verify_error(error: ServerError) -> str:
    """Return why a verify call failed, in the words a server author needs."""
    match = _HTTP_STATUS.search(error.message)
    if error.code != "server.verify_http" or match is None:
        return f"verify failed: {error.message}"
    status, body = int(match.group(1)), match.group(2)
    if _NON_FINITE_JSON in body:
        return f"verify returned a NaN or infinite reward, which JSON cannot carry (HTTP {status}: {body})"
    if status == 422:
        return f"verify rejected a well-formed request (HTTP 422): {body}"
    if status >= 500:
        return f"verify raised: {_error_field(body)}"
    return f"verify failed with HTTP {status}: {body}"


def _error_field(body: str) -> str:
    """Return the `error` of a JSON 500 body (`{"error": repr(e)}`), else the body as it is."""
    try:
        value = json.loads(body)
    except ValueError:
        return body
    return str(value["error"]) if isinstance(value, dict) and "error" in value else body
