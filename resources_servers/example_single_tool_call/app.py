"""Single tool call: answer a weather question by calling `get_weather` for the city the user asked about."""

from __future__ import annotations

import hashlib
import json

from pydantic import BaseModel

from gym_conform.core.responses import Response, function_call_item, make_response, message_item
from gym_conform.core.responses_output import OutputFunctionCall
from gym_conform.server import BaseVerifyRequest, BaseVerifyResponse, ResourcesServer, tool

_CONDITIONS = ("sunny", "partly cloudy", "overcast", "light rain", "heavy rain", "windy", "foggy", "snowing")


def made_up_weather(city: str) -> str:
    """Return a fixed, invented weather description for a city (same city, same answer, on every machine)."""
    digest = hashlib.sha256(city.strip().casefold().encode("utf-8")).digest()
    condition = _CONDITIONS[digest[0] % len(_CONDITIONS)]
    return f"{condition}, {digest[1] % 36 - 5} °C"


def same_city(a: str, b: str) -> bool:
    """Return whether two city names match, ignoring case and surrounding spaces."""
    return a.strip().casefold() == b.strip().casefold()


class GetWeatherRequest(BaseModel):
    """Arguments of `get_weather`."""

    city: str


class GetWeatherResponse(BaseModel):
    """Result of `get_weather`."""

    city: str
    weather_description: str


class SingleToolCallVerifyRequest(BaseVerifyRequest):
    """A verify request: the row's `expected_city` plus the response."""

    expected_city: str


class SingleToolCallVerifyResponse(SingleToolCallVerifyRequest, BaseVerifyResponse):
    """The verify request echoed, with the reward and the cities the model asked about."""

    called_cities: list[str]


def _called_cities(response: Response) -> list[str]:
    """Return the `city` argument of every well-formed `get_weather` call, in order."""
    cities = []
    for item in response.output:
        if not (isinstance(item, OutputFunctionCall) and item.name == "get_weather"):
            continue
        try:
            arguments = json.loads(item.arguments)
        except ValueError:
            continue
        if isinstance(arguments, dict) and isinstance(arguments.get("city"), str):
            cities.append(arguments["city"])
    return cities


class ExampleSingleToolCallResourcesServer(ResourcesServer):
    """One weather tool; the reward checks that the model looked up the asked-about city."""

    @tool
    async def get_weather(self, body: GetWeatherRequest) -> GetWeatherResponse:
        """Return the (invented) weather in a city."""
        return GetWeatherResponse(city=body.city, weather_description=made_up_weather(body.city))

    async def verify(self, body: SingleToolCallVerifyRequest) -> SingleToolCallVerifyResponse:
        """Reward 1.0 iff some `get_weather` call asked for `expected_city` (case and spaces ignored)."""
        cities = _called_cities(body.response)
        hit = any(same_city(city, body.expected_city) for city in cities)
        return SingleToolCallVerifyResponse(**body.model_dump(), reward=1.0 if hit else 0.0, called_cities=cities)

    def gold_response(self, row: dict) -> Response | None:
        """Return a `get_weather` call for the expected city followed by a final answer."""
        city = row["expected_city"]
        return make_response(
            [
                function_call_item("get_weather", {"city": city}, "call_weather"),
                message_item(f"In {city} it is {made_up_weather(city)}."),
            ]
        )
