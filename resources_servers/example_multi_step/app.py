"""Multi-step tool calling: look up synonym values one by one, then submit them all in order."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from pydantic import BaseModel

from gym_conform.core.responses import Response, function_call_item, make_response, message_item
from gym_conform.core.responses_output import OutputFunctionCall
from gym_conform.server import BaseVerifyRequest, BaseVerifyResponse, ResourcesServer, tool


def synonym_value(synonym: str) -> int:
    """Return the value the lookup tool reports for a synonym: the sum of its code points."""
    return sum(map(ord, synonym))


class GetSynonymValueRequest(BaseModel):
    """Arguments of `get_synonym_value`."""

    synonym: str


class GetSynonymValueResponse(BaseModel):
    """Result of `get_synonym_value`."""

    synonym_value: int


class ExtractSynonymValuesRequest(BaseModel):
    """Arguments of `extract_synonym_values`."""

    synonym_values: list[int]


class ExtractSynonymValuesResponse(BaseModel):
    """Result of `extract_synonym_values`."""

    success: bool


class MultiStepVerifyRequest(BaseVerifyRequest):
    """A verify request: the row's task fields plus the response."""

    id: int | None = None
    expected_synonym_values: list[int]
    expected_synonyms: list[str] = []
    minefield_label: str
    minefield_label_value: int


class MultiStepVerifyResponse(MultiStepVerifyRequest, BaseVerifyResponse):
    """The verify request echoed, with the reward and its diagnostics."""

    parsed_synonym_values: list[int]
    accuracy: bool
    set_overlap: float
    original_term_minefield_hit: bool
    order_instruction_following_failure: bool


def _arguments(call: OutputFunctionCall) -> dict[str, Any] | None:
    try:
        arguments = json.loads(call.arguments)
    except ValueError:
        return None
    return arguments if isinstance(arguments, dict) else None


def _submitted_values(calls: list[OutputFunctionCall]) -> list[int]:
    """Return the values of the last `extract_synonym_values` call; [] if there is none or it is malformed."""
    submissions = [c for c in calls if c.name == "extract_synonym_values"]
    if not submissions:
        return []
    values = (_arguments(submissions[-1]) or {}).get("synonym_values")
    if not isinstance(values, list) or not all(type(v) is int for v in values):
        return []
    return values


def _looked_up(calls: list[OutputFunctionCall]) -> list[str]:
    """Return the synonym of every well-formed `get_synonym_value` call, in order."""
    synonyms = (_arguments(c) for c in calls if c.name == "get_synonym_value")
    return [s["synonym"] for s in synonyms if s and isinstance(s.get("synonym"), str)]


class ExampleMultiStepResourcesServer(ResourcesServer):
    """Synonym lookups; the reward checks the final submission and reports instruction-following slips."""

    @tool
    async def get_synonym_value(self, body: GetSynonymValueRequest) -> GetSynonymValueResponse:
        """Return the value of one synonym."""
        return GetSynonymValueResponse(synonym_value=synonym_value(body.synonym))

    @tool
    async def extract_synonym_values(self, body: ExtractSynonymValuesRequest) -> ExtractSynonymValuesResponse:
        """Accept the final list of values (verify reads it from the response, not from here)."""
        return ExtractSynonymValuesResponse(success=True)

    async def verify(self, body: MultiStepVerifyRequest) -> MultiStepVerifyResponse:
        """Reward 1.0 iff the last submission equals `expected_synonym_values` exactly (values and order)."""
        calls = [item for item in body.response.output if isinstance(item, OutputFunctionCall)]
        submitted = _submitted_values(calls)
        expected = body.expected_synonym_values
        accuracy = submitted == expected
        minefield = body.minefield_label.strip().casefold()
        minefield_hit = body.minefield_label_value in submitted or any(
            s.strip().casefold() == minefield for s in _looked_up(calls)
        )
        return MultiStepVerifyResponse(
            **body.model_dump(),
            reward=1.0 if accuracy else 0.0,
            parsed_synonym_values=submitted,
            accuracy=accuracy,
            set_overlap=len(set(submitted) & set(expected)) / len(set(expected)) if expected else float(accuracy),
            original_term_minefield_hit=minefield_hit,
            order_instruction_following_failure=not accuracy and Counter(submitted) == Counter(expected),
        )

    def gold_response(self, row: dict) -> Response | None:
        """Return one lookup per expected synonym, the submission of the expected values, and a final message."""
        lookups = [
            function_call_item("get_synonym_value", {"synonym": synonym}, f"call_lookup_{i}")
            for i, synonym in enumerate(row.get("expected_synonyms", []))
        ]
        values = row["expected_synonym_values"]
        submit = function_call_item("extract_synonym_values", {"synonym_values": values}, "call_submit")
        return make_response([*lookups, submit, message_item(f"Submitted the synonym values {values}.")])
