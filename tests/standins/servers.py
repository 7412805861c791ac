"""Tiny resources servers for tests, and `serve_uvicorn`, which serves any ASGI app over real HTTP.

- `CounterServer`: one tool, `increment`, over a counter kept per rollout session and seeded from the row's
  `start`; verify (the `(self, request, body)` form) rewards `count == expected_count` and reports
  `final_count`.
- `EchoServer`: no tools; verify (NeMo Gym's `(self, body)` form) rewards `output_text == expected_answer`; a
  row with `"crash": true` makes verify raise, for the HTTP 500 path.
"""

from __future__ import annotations

from fastapi import Request
from pydantic import BaseModel

from gym_conform.server import (
    BaseSeedSessionRequest,
    BaseSeedSessionResponse,
    BaseVerifyRequest,
    BaseVerifyResponse,
    ResourcesServer,
    tool,
)


class CounterSeedRequest(BaseSeedSessionRequest):
    """The row as seed_session sees it: only `start` is read."""

    start: int = 0


class IncrementArgs(BaseModel):
    """Arguments of the `increment` tool."""

    by: int = 1


class CounterVerifyRequest(BaseVerifyRequest):
    """A counter row plus the response."""

    expected_count: int


class CounterVerifyResponse(CounterVerifyRequest, BaseVerifyResponse):
    """The request echoed with the reward and the session's final count."""

    final_count: int


class CounterServer(ResourcesServer):
    """A counter per rollout session; `increment` adds to it and answers the new value."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.counts: dict[str, int] = {}

    async def seed_session(self, request: Request, body: CounterSeedRequest) -> BaseSeedSessionResponse:
        """Start this session's counter at the row's `start`."""
        self.counts[self.session_id(request)] = body.start
        return BaseSeedSessionResponse()

    @tool
    async def increment(self, request: Request, body: IncrementArgs) -> dict:
        """Add `by` to this session's counter and return the new count."""
        session = self.session_id(request)
        self.counts[session] = self.counts.get(session, 0) + body.by
        return {"count": self.counts[session]}

    async def verify(self, request: Request, body: CounterVerifyRequest) -> CounterVerifyResponse:
        """Reward 1.0 iff this session's counter equals `expected_count`."""
        final = self.counts.get(self.session_id(request), 0)
        reward = 1.0 if final == body.expected_count else 0.0
        return CounterVerifyResponse(**body.model_dump(), reward=reward, final_count=final)


class EchoVerifyRequest(BaseVerifyRequest):
    """A row with the expected answer text."""

    expected_answer: str
    crash: bool = False


class EchoVerifyResponse(EchoVerifyRequest, BaseVerifyResponse):
    """The request echoed with the reward."""


class EchoServer(ResourcesServer):
    """Scores the response text against `expected_answer`; no tools, no session state."""

    async def verify(self, body: EchoVerifyRequest) -> EchoVerifyResponse:
        """Reward 1.0 iff the response's text equals `expected_answer`; raise when the row asks to crash."""
        if body.crash:
            raise RuntimeError("verify crashed on purpose")
        reward = 1.0 if body.response.output_text == body.expected_answer else 0.0
        return EchoVerifyResponse(**body.model_dump(), reward=reward)
