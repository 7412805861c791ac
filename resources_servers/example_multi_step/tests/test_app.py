"""Tests of example_multi_step: both tools over HTTP, and verify() on right, wrong and malformed responses."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from gym_conform.core.responses import function_call_item, make_response, message_item
from gym_conform.server.client import ServerClient
from resources_servers.example_multi_step.app import (
    ExampleMultiStepResourcesServer,
    MultiStepVerifyRequest,
    synonym_value,
)

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "example.jsonl"
ROW = {
    "responses_create_params": {
        "input": [{"role": "user", "content": "Words: fast, big. fast -> quick, big -> large."}]
    },
    "id": 7,
    "expected_synonym_values": [541, 523],
    "expected_synonyms": ["quick", "large"],
    "minefield_label": "fast",
    "minefield_label_value": 430,
}


def lookup(synonym: str, call_id: str = "call_lookup") -> dict:
    return function_call_item("get_synonym_value", {"synonym": synonym}, call_id)


def submit(arguments: Any, call_id: str = "call_submit") -> dict:
    return function_call_item("extract_synonym_values", arguments, call_id)


def verify(output: list[dict], row: dict = ROW) -> dict[str, Any]:
    server = ExampleMultiStepResourcesServer()
    request = MultiStepVerifyRequest.model_validate({**row, "response": make_response(output).model_dump()})
    return asyncio.run(server.verify(request)).model_dump()


def test_synonym_value_is_the_sum_of_code_points() -> None:
    assert synonym_value("hot") == ord("h") + ord("o") + ord("t") == 331
    assert synonym_value("") == 0


def test_correct_submission_scores_one_and_echoes_the_row() -> None:
    result = verify([lookup("quick"), lookup("large"), submit({"synonym_values": [541, 523]}), message_item("done")])
    assert result["reward"] == 1.0
    assert result["accuracy"] is True
    assert result["parsed_synonym_values"] == [541, 523]
    assert result["set_overlap"] == 1.0
    assert result["original_term_minefield_hit"] is False
    assert result["order_instruction_following_failure"] is False
    assert result["id"] == 7 and result["minefield_label"] == "fast"


def test_last_submission_wins() -> None:
    wrong_then_right = verify([submit({"synonym_values": [1]}, "c1"), submit({"synonym_values": [541, 523]}, "c2")])
    right_then_wrong = verify([submit({"synonym_values": [541, 523]}, "c1"), submit({"synonym_values": [1]}, "c2")])
    assert wrong_then_right["reward"] == 1.0
    assert right_then_wrong["reward"] == 0.0
    assert right_then_wrong["parsed_synonym_values"] == [1]


def test_wrong_order_is_an_order_failure() -> None:
    result = verify([submit({"synonym_values": [523, 541]})])
    assert result["reward"] == 0.0
    assert result["set_overlap"] == 1.0
    assert result["order_instruction_following_failure"] is True


def test_partly_wrong_values_give_partial_overlap() -> None:
    result = verify([submit({"synonym_values": [541, 999]})])
    assert result["reward"] == 0.0
    assert result["set_overlap"] == 0.5
    assert result["order_instruction_following_failure"] is False


def test_looking_up_the_original_word_is_a_minefield_hit() -> None:
    by_lookup = verify([lookup(" Fast "), submit({"synonym_values": [541, 523]})])
    by_value = verify([submit({"synonym_values": [430, 523]})])
    assert by_lookup["original_term_minefield_hit"] is True and by_lookup["reward"] == 1.0
    assert by_value["original_term_minefield_hit"] is True and by_value["reward"] == 0.0


def test_malformed_arguments_score_zero() -> None:
    for arguments in (
        '{"synonym_values": [541, 523',
        "[541, 523]",
        {"values": [541, 523]},
        {"synonym_values": ["541", "523"]},
        {"synonym_values": [True, 523]},
        {"synonym_values": 541},
    ):
        result = verify([submit(arguments)])
        assert result["reward"] == 0.0, arguments
        assert result["parsed_synonym_values"] == [], arguments


def test_no_submission_or_empty_output_scores_zero() -> None:
    for output in ([lookup("quick"), message_item("The values are 541 and 523.")], []):
        result = verify(output)
        assert result["reward"] == 0.0
        assert result["parsed_synonym_values"] == []
        assert result["set_overlap"] == 0.0


def test_tools_over_http() -> None:
    async def run() -> None:
        async with ServerClient.in_process(ExampleMultiStepResourcesServer()) as client:
            session = client.rollout()
            looked_up = await session.call_tool("get_synonym_value", {"synonym": "quick"})
            submitted = await session.call_tool("extract_synonym_values", {"synonym_values": [541]})
            missing = await session.call_tool("get_synonym_value", {"word": "quick"})
            assert (looked_up.status_code, json.loads(looked_up.text)) == (200, {"synonym_value": 541})
            assert (submitted.status_code, json.loads(submitted.text)) == (200, {"success": True})
            assert missing.status_code == 422

    asyncio.run(run())


def test_verify_over_http_scores_malformed_arguments_zero_not_500() -> None:
    async def run() -> dict:
        async with ServerClient.in_process(ExampleMultiStepResourcesServer()) as client:
            response = make_response([submit("not json")]).model_dump(mode="json")
            return await client.rollout().verify({**ROW, "response": response})

    assert asyncio.run(run())["reward"] == 0.0


def test_gold_response_scores_one_on_every_example_row() -> None:
    server = ExampleMultiStepResourcesServer()
    rows = [json.loads(line) for line in EXAMPLES.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 5
    for row in rows:
        assert [synonym_value(s) for s in row["expected_synonyms"]] == row["expected_synonym_values"]
        assert synonym_value(row["minefield_label"]) == row["minefield_label_value"]
        gold = server.gold_response(row)
        assert verify(gold.model_dump()["output"], row)["reward"] == 1.0
