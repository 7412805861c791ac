"""Session state: a counter per rollout, seeded from the row, changed by tools, rewarded on its final value."""

from __future__ import annotations

from fastapi import HTTPException, Request
from pydantic import BaseModel

from gym_conform.core.responses import Response, function_call_item, make_response, message_item
from gym_conform.server import (
    BaseSeedSessionRequest,
    BaseSeedSessionResponse,
    BaseVerifyRequest,
    BaseVerifyResponse,
    ResourcesServer,
    tool,
)

NOT_SEEDED = "Session not initialized. Please call seed_session first."


class CounterSeedSessionRequest(BaseSeedSessionRequest):
    """The row as posted to /seed_session; only `initial_count` is read."""

    initial_count: int


class IncrementCounterRequest(BaseModel):
    """Arguments of `increment_counter`."""

    count: int


class IncrementCounterResponse(BaseModel):
    """Result of `increment_counter`."""

    success: bool


class GetCounterValueRequest(BaseModel):
    """Arguments of `get_counter_value` (none)."""


class GetCounterValueResponse(BaseModel):
    """Result of `get_counter_value`."""

    count: int


class CounterVerifyRequest(BaseVerifyRequest):
    """A verify request: the row's counts plus the response."""

    initial_count: int | None = None
    expected_count: int


class CounterVerifyResponse(CounterVerifyRequest, BaseVerifyResponse):
    """The verify request echoed, with the reward and the counter's final value."""

    final_count: int


class ExampleSessionStateResourcesServer(ResourcesServer):
    """A counter per session id; concurrent rollouts never see each other's counters."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Every access below is a single synchronous step on the event loop, so no lock is needed.
        self.session_id_to_counter: dict[str, int] = {}

    def _counter(self, request: Request) -> tuple[str, int]:
        session_id = self.session_id(request)
        if session_id not in self.session_id_to_counter:
            raise HTTPException(status_code=400, detail=NOT_SEEDED)
        return session_id, self.session_id_to_counter[session_id]

    async def seed_session(self, request: Request, body: CounterSeedSessionRequest) -> BaseSeedSessionResponse:
        """Start this session's counter at the row's `initial_count`."""
        self.session_id_to_counter[self.session_id(request)] = body.initial_count
        return BaseSeedSessionResponse()

    @tool
    async def increment_counter(self, request: Request, body: IncrementCounterRequest) -> IncrementCounterResponse:
        """Add `count` to this session's counter."""
        session_id, value = self._counter(request)
        self.session_id_to_counter[session_id] = value + body.count
        return IncrementCounterResponse(success=True)

    @tool
    async def get_counter_value(self, request: Request, body: GetCounterValueRequest) -> GetCounterValueResponse:
        """Return this session's counter."""
        return GetCounterValueResponse(count=self._counter(request)[1])

    async def verify(self, request: Request, body: CounterVerifyRequest) -> CounterVerifyResponse:
        """Reward 1.0 iff this session's counter equals `expected_count`."""
        final_count = self._counter(request)[1]
        return CounterVerifyResponse(
            **body.model_dump(),
            reward=1.0 if final_count == body.expected_count else 0.0,
            final_count=final_count,
        )

    def gold_response(self, row: dict) -> Response | None:
        """Return one increment to the expected count, a read of the counter, and a final answer."""
        output = []
        delta = row["expected_count"] - row["initial_count"]
        if delta:
            output.append(function_call_item("increment_counter", {"count": delta}, "call_increment"))
        output.append(function_call_item("get_counter_value", {}, "call_read"))
        output.append(message_item(f"The counter is now {row['expected_count']}."))
        return make_response(output)
