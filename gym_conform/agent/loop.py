"""One rollout with NeMo Gym's simple_agent semantics: seed, model turns with tool calls, then verify."""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from gym_conform.agent.model import REPLAY_EXHAUSTED, ModelClient
from gym_conform.core.responses import Response, function_call_output_item
from gym_conform.core.responses_output import OutputFunctionCall, OutputMessage
from gym_conform.errors import ServerError
from gym_conform.server.client import RolloutSession

StopReason = Literal["message", "max_steps", "incomplete", "no_output"]
_SHOWN_TOOL_ERROR_CHARS = 300


@dataclass
class RolloutResult:
    """What one rollout produced: the verify JSON, the response it scored, and how the loop ended."""

    verify_response: dict
    response: dict
    steps: int
    stop_reason: StopReason
    errors: list[str] = field(default_factory=list)

    @property
    def reward(self) -> Any:
        """Return the verify response's reward (None if it has none)."""
        return self.verify_response.get("reward")


async def run_rollout(
    row: dict,
    server: RolloutSession,
    model: ModelClient,
    *,
    max_steps: int | None = None,
    session_key: str | None = None,
) -> RolloutResult:
    """Run `row` through `model` and the server's tools, then verify; tool errors go to `errors`, not reward.

    Stops when a turn has an assistant message and no function calls, when a response is incomplete, when
    a turn has no output at all, or after `max_steps` model calls (a falsy `max_steps` means no limit).
    """
    session_key = session_key or str(uuid.uuid4())
    await server.seed_session(row)
    params = copy.deepcopy(row["responses_create_params"])
    original_input = params["input"]
    if isinstance(original_input, str):
        original_input = [{"role": "user", "content": original_input}]
    new_outputs: list[dict] = []
    next_input: list[dict] = []
    errors: list[str] = []
    usage: dict | None = None
    steps = 0
    previous: Response | None = None
    response: Response | None = None
    while True:
        steps += 1
        previous = response
        response = _as_response(
            await model.respond({**params, "input": original_input + next_input}, session_key=session_key)
        )
        new_outputs += [item.model_dump(mode="json", exclude_unset=True) for item in response.output]
        next_input += [item.as_input_item() for item in response.output]
        usage = _add_usage(usage, response.usage)
        if response.incomplete_details:
            stop: StopReason = "incomplete"
            break
        if not response.output:
            stop = "no_output"
            break
        calls = [item for item in response.output if isinstance(item, OutputFunctionCall)]
        for call in calls:
            result = function_call_output_item(call.call_id, await _run_tool(call, server, steps, errors))
            new_outputs.append(result)
            next_input.append(result)
        if not calls and any(_is_assistant_message(item) for item in response.output):
            stop = "message"
            break
        if max_steps and steps >= max_steps:
            stop = "max_steps"
            break
    if previous is not None and _replay_exhausted(response):
        # The recording ran out: verify sees the last recorded turn's envelope (its status, usage), not the
        # replay's own sentinel, whose reason NeMo Gym's response model refuses.
        response = previous
    final = response.model_dump(mode="json", exclude_unset=True)
    final["output"] = new_outputs
    if usage is not None:
        final["usage"] = usage
    verify_response = await server.verify({**row, "response": final})
    return RolloutResult(verify_response, final, steps, stop, errors)


def _replay_exhausted(response: Response) -> bool:
    return (response.incomplete_details or {}).get("reason") == REPLAY_EXHAUSTED


def _is_assistant_message(item: Any) -> bool:
    return isinstance(item, OutputMessage) and item.role == "assistant"


def _as_response(value: Any) -> Response:
    if isinstance(value, Response):
        return value
    try:
        return Response.model_validate(value)
    except ValidationError as error:
        raise ServerError(
            f"the model returned an invalid response: {error.errors(include_url=False)[:3]}",
            code="model.invalid_response",
            hint="a ModelClient must return a gym_conform.core.responses.Response",
        ) from None


async def _run_tool(call: OutputFunctionCall, server: RolloutSession, step: int, errors: list[str]) -> str:
    """Call one tool; return the text the model sees next (an error text for arguments that are not JSON)."""
    try:
        arguments = json.loads(call.arguments)
    except json.JSONDecodeError as error:
        errors.append(f"step {step}: {call.name} (call_id {call.call_id}): arguments are not valid JSON: {error}")
        return json.dumps({"error": f"Invalid tool call arguments: {error!r}"})
    result = await server.call_tool(call.name, arguments)
    if not result.ok:
        shown = result.text[:_SHOWN_TOOL_ERROR_CHARS]
        errors.append(f"step {step}: {call.name} (call_id {call.call_id}): HTTP {result.status_code}: {shown}")
    return result.text


def _add_usage(total: dict | None, usage: dict | None) -> dict | None:
    """Sum two usage dicts number by number (nested details too); other values keep their first value."""
    if not usage:
        return total
    if total is None:
        return copy.deepcopy(usage)
    for key, value in usage.items():
        current = total.get(key)
        if isinstance(value, dict):
            total[key] = _add_usage(current if isinstance(current, dict) else None, value)
        elif _is_number(value) and (current is None or _is_number(current)):
            total[key] = (current or 0) + value
        elif key not in total:
            total[key] = value
    return total


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
