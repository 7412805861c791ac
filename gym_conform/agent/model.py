"""What the agent loop needs from a policy model (`ModelClient`), and `ReplayModel`, which replays a recording."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from pydantic import TypeAdapter, ValidationError

from gym_conform.core.responses import Response, make_response
from gym_conform.core.responses_output import OutputItem
from gym_conform.core.rows import json_path
from gym_conform.errors import DataError, Location, Problem, ProblemsFound

REPLAY_EXHAUSTED = "replay_exhausted"
# Response fields that describe the whole recorded run, not one turn of it.
_RUN_FIELDS = ("output", "usage", "status", "incomplete_details")
_OUTPUT_ITEMS = TypeAdapter(list[OutputItem])


@runtime_checkable
class ModelClient(Protocol):
    """A policy model behind the Responses API."""

    async def respond(self, params: dict, *, session_key: str | None = None) -> Response:
        """Answer one Responses create-params dict (`input` is a list of items).

        `session_key` is the same for every call of one rollout, for sticky routing across replicas.
        """
        ...


class ReplayModel:
    """Replay a recorded rollout's model turns, one per `respond()` call; use one instance per rollout.

    A model turn is the run of items up to the next `function_call_output` (the tool outputs are produced
    again by the server, not replayed); an item other than a call right after a call also starts a turn, so
    hand-written outputs without tool outputs ([call, message]) replay as a recording of them would.

    `envelope` is the rest of the recorded response (id, model, usage, status, ...): every turn carries its
    id and model, the first carries the recorded usage (so the loop's sum reproduces it) and the last its
    status and incomplete_details.

    Asking for more turns than were recorded (the recording stopped at max_steps, or a hand-written draft
    ends with tool calls) returns an empty response with `incomplete_details={"reason": "replay_exhausted"}`,
    which stops the agent loop without inventing model output.
    """

    def __init__(self, recorded_output: list[dict], *, envelope: Mapping[str, Any] | None = None) -> None:
        """Split `recorded_output` into turns and build each turn's response now, so bad items fail early."""
        items = _validated_items(recorded_output)
        turns = _split_turns(recorded_output, items)
        envelope = dict(envelope or {})
        shared = {key: value for key, value in envelope.items() if key not in _RUN_FIELDS}
        shared.setdefault("model", "replay")
        self._responses: list[Response] = []
        for index, turn in enumerate(turns):
            fields = dict(shared)
            if index == 0 and envelope.get("usage") is not None:
                fields["usage"] = envelope["usage"]
            if index == len(turns) - 1:
                fields.update({k: envelope[k] for k in ("status", "incomplete_details") if k in envelope})
            self._responses.append(_response(turn, fields))
        self._exhausted = _response(
            [], {**shared, "status": "incomplete", "incomplete_details": {"reason": REPLAY_EXHAUSTED}}
        )
        self._next = 0

    @property
    def remaining(self) -> int:
        """Return how many recorded turns have not been replayed yet."""
        return len(self._responses) - self._next

    async def respond(self, params: dict, *, session_key: str | None = None) -> Response:
        """Return the next recorded turn (the request is ignored), or the exhausted response."""
        if self._next >= len(self._responses):
            return self._exhausted.model_copy(deep=True)
        response = self._responses[self._next]
        self._next += 1
        return response.model_copy(deep=True)


def _validated_items(recorded_output: list[dict]) -> list[Any]:
    if not isinstance(recorded_output, list):
        raise DataError(
            "the recorded response.output is not a list of items",
            code="rollout.output",
            location=Location(field="response.output"),
            hint='write response.output as a JSON array of items, e.g. [{"type": "message", ...}]',
        )
    try:
        return _OUTPUT_ITEMS.validate_python(recorded_output)
    except ValidationError as error:
        raise _problems(error, "response.output") from None


def _split_turns(recorded_output: list[dict], items: list[Any]) -> list[list[dict]]:
    """Cut at tool outputs (dropped), and where another item follows a function call without its output.

    Recordings always have the outputs after a turn's calls; hand-written outputs such as
    [call, call, message] leave them out, and still mean two turns.
    """
    turns: list[list[dict]] = [[]]
    previous = None
    for raw, item in zip(recorded_output, items, strict=True):
        if item.type == "function_call_output":
            turns.append([])
        else:
            if previous == "function_call" and item.type != "function_call":
                turns.append([])
            turns[-1].append(raw)
        previous = item.type
    return [turn for turn in turns if turn]


def _response(output: list[dict], fields: dict[str, Any]) -> Response:
    try:
        return make_response(output, **fields)
    except ValidationError as error:
        raise _problems(error, "response") from None


def _problems(error: ValidationError, prefix: str) -> ProblemsFound:
    problems = []
    for item in error.errors(include_url=False):
        problems.append(
            Problem(
                "rollout.response",
                item["msg"],
                Location(field=json_path(prefix, item["loc"])),
                "a recorded response must be a Responses API response object; fix or remove this field",
            )
        )
    return ProblemsFound(problems, summary=f"{len(problems)} problem(s) in the recorded response")
