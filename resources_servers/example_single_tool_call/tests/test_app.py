"""Tests of example_single_tool_call: the weather tool over HTTP and verify() on right, wrong and malformed calls."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from gym_conform.core.responses import function_call_item, make_response, message_item
from gym_conform.server.client import ServerClient
from resources_servers.example_single_tool_call.app import (
    ExampleSingleToolCallResourcesServer,
    SingleToolCallVerifyRequest,
    made_up_weather,
)

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "example.jsonl"
ROW = {
    "responses_create_params": {"input": [{"role": "user", "content": "What's the weather in Paris?"}]},
    "expected_city": "Paris",
}


def weather_call(arguments: Any, call_id: str = "call_weather") -> dict:
    return function_call_item("get_weather", arguments, call_id)


def verify(output: list[dict], row: dict = ROW) -> dict[str, Any]:
    server = ExampleSingleToolCallResourcesServer()
    request = SingleToolCallVerifyRequest.model_validate({**row, "response": make_response(output).model_dump()})
    return asyncio.run(server.verify(request)).model_dump()


def test_made_up_weather_is_deterministic_and_ignores_case() -> None:
    assert made_up_weather("Paris") == made_up_weather(" paris ")
    assert "°C" in made_up_weather("Tokyo")


def test_call_for_the_expected_city_scores_one() -> None:
    result = verify([weather_call({"city": "Paris"}), message_item("It is sunny in Paris.")])
    assert result["reward"] == 1.0
    assert result["called_cities"] == ["Paris"]
    assert result["expected_city"] == "Paris"


def test_city_match_ignores_case_and_spaces() -> None:
    assert verify([weather_call({"city": "  pARIS "})])["reward"] == 1.0


def test_any_matching_call_counts() -> None:
    result = verify([weather_call({"city": "London"}, "c1"), weather_call({"city": "Paris"}, "c2")])
    assert result["reward"] == 1.0
    assert result["called_cities"] == ["London", "Paris"]


def test_wrong_city_scores_zero() -> None:
    assert verify([weather_call({"city": "Paris, Texas"})])["reward"] == 0.0


def test_no_call_or_empty_output_scores_zero() -> None:
    assert verify([message_item("It is probably sunny in Paris.")])["reward"] == 0.0
    assert verify([])["reward"] == 0.0


def test_other_tools_do_not_count() -> None:
    assert verify([function_call_item("get_forecast", {"city": "Paris"}, "c1")])["reward"] == 0.0


def test_malformed_arguments_score_zero() -> None:
    for arguments in ('{"city": "Paris"', '"Paris"', {"town": "Paris"}, {"city": ["Paris"]}):
        result = verify([weather_call(arguments)])
        assert result["reward"] == 0.0, arguments
        assert result["called_cities"] == [], arguments


def test_get_weather_over_http() -> None:
    async def run() -> None:
        async with ServerClient.in_process(ExampleSingleToolCallResourcesServer()) as client:
            session = client.rollout()
            answer = await session.call_tool("get_weather", {"city": "Paris"})
            missing = await session.call_tool("get_weather", {})
            assert answer.status_code == 200
            assert json.loads(answer.text) == {"city": "Paris", "weather_description": made_up_weather("Paris")}
            assert missing.status_code == 422

    asyncio.run(run())


def test_verify_over_http_scores_bad_arguments_zero_not_500() -> None:
    async def run() -> dict:
        async with ServerClient.in_process(ExampleSingleToolCallResourcesServer()) as client:
            response = make_response([weather_call("{oops")]).model_dump(mode="json")
            return await client.rollout().verify({**ROW, "response": response})

    assert asyncio.run(run())["reward"] == 0.0


def test_gold_response_scores_one_on_every_example_row() -> None:
    server = ExampleSingleToolCallResourcesServer()
    rows = [json.loads(line) for line in EXAMPLES.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 5
    assert "Paris" in [row["expected_city"] for row in rows]
    for row in rows:
        assert [tool["name"] for tool in row["responses_create_params"]["tools"]] == ["get_weather"]
        assert verify(server.gold_response(row).model_dump()["output"], row)["reward"] == 1.0
