"""A scripted stand-in of vLLM 0.26's OpenAI-compatible server, served over real HTTP on 127.0.0.1.

Replies have exactly the shapes vLLM 0.26.0 sends (recorded in tests/fixtures/vllm_0.26_replies.json):
build them with `chat_completion`, `tool_call`, `token_logprobs`, `responses_object`, `error_body` and
`context_length_error`. Each request to a scripted route takes the next `Reply` queued for its path by
`script()` (a reply, or a function of the recorded request returning one); with the queue empty,
`default` answers, which by default behaves like the tiny scripted model of the live-server notes: when
tools are offered and no tool result is present yet it calls `get_weather({"city": "Paris"})`, else it
says "Hello from the tiny model.". A Reply can be delayed, carry any status and headers, or drop the
connection mid-reply. Every request is recorded; `max_in_flight` is the most requests handled at once and
`busy_intervals` the (start, end) monotonic times of each, to count what several stand-ins held together.

Routes: POST /v1/chat/completions, POST /v1/responses, POST /tokenize (scripted); GET /v1/models,
GET /health; GET /_standin/stats and POST /_standin/reset (for a stand-in in another process).
`python -m tests.standins.openai_server [--latency S]` serves one, prints {"base_url": ...} and stops at
end of stdin.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from tests.standins.loopback import serve_uvicorn

CHAT_PATH = "/v1/chat/completions"
RESPONSES_PATH = "/v1/responses"
TOKENIZE_PATH = "/tokenize"
TINY_ANSWER = "Hello from the tiny model."
MAX_MODEL_LEN = 2048


@dataclass
class Reply:
    """One scripted answer: a JSON body (a str is sent as plain text), status, headers, delay, or a drop."""

    body: Any = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False


@dataclass(frozen=True)
class RecordedRequest:
    """A request the stand-in received: method, path, lower-cased headers and parsed JSON body."""

    method: str
    path: str
    headers: dict[str, str]
    json: Any

    @property
    def bearer(self) -> str | None:
        """Return the bearer token sent, or None."""
        scheme, _, token = self.headers.get("authorization", "").partition(" ")
        return token if scheme.lower() == "bearer" and token else None


Script = Reply | Callable[[RecordedRequest], Reply]


class OpenAIStandIn:
    """Serve the scripted routes on a free 127.0.0.1 port while used as a context manager.

    `latency` is added to every model reply (a stand-in for generation time); `model` is the name the
    replies echo.
    """

    def __init__(
        self,
        *,
        model: str = "tiny",
        latency: float = 0.0,
        default: Callable[[RecordedRequest], Reply] | None = None,
    ) -> None:
        self.model = model
        self.latency = latency
        self.default = default or tiny_model_reply
        self.requests: list[RecordedRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.busy_intervals: list[tuple[float, float]] = []
        self.endpoint = ""
        self._queues: dict[str, deque[Script]] = defaultdict(deque)
        self._serving = ExitStack()

    @property
    def base_url(self) -> str:
        """Return the OpenAI-style base URL (`http://127.0.0.1:PORT/v1`)."""
        return self.endpoint + "/v1"

    def script(self, *replies: Script, path: str = CHAT_PATH) -> None:
        """Queue replies for the next requests to `path`, in order."""
        self._queues[path].extend(replies)

    def requests_to(self, path: str = CHAT_PATH) -> list[RecordedRequest]:
        """Return the recorded requests to `path`, oldest first."""
        return [request for request in self.requests if request.path == path]

    def __enter__(self) -> OpenAIStandIn:
        # log_config=None leaves the process's logging alone; a dropped reply logs through the root logger.
        self.endpoint = self._serving.enter_context(
            serve_uvicorn(self.app(), log_config=None, timeout_graceful_shutdown=1)
        )
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._serving.close()

    def app(self) -> FastAPI:
        """Return the ASGI app serving the stand-in's routes."""
        app = FastAPI()
        for path in (CHAT_PATH, RESPONSES_PATH, TOKENIZE_PATH):
            app.add_api_route(path, self._answer, methods=["POST"])
        app.add_api_route("/v1/models", self._models, methods=["GET"])
        app.add_api_route("/health", lambda: Response(status_code=200), methods=["GET"])
        app.add_api_route("/_standin/stats", self._stats, methods=["GET"])
        app.add_api_route("/_standin/reset", self._reset, methods=["POST"])
        return app

    async def _answer(self, request: Request) -> Response:
        started = time.monotonic()
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            raw = await request.body()
            recorded = RecordedRequest(
                request.method, request.url.path, dict(request.headers), json.loads(raw) if raw else None
            )
            self.requests.append(recorded)
            queue = self._queues[recorded.path]
            script = queue.popleft() if queue else self.default
            reply = script if isinstance(script, Reply) else script(recorded)
            delay = reply.delay + (self.latency if recorded.path != TOKENIZE_PATH else 0.0)
            if delay:
                await asyncio.sleep(delay)
            return _DroppedReply() if reply.drop else _http_reply(reply)
        finally:
            self.in_flight -= 1
            self.busy_intervals.append((started, time.monotonic()))

    async def _models(self) -> JSONResponse:
        created = int(time.time())
        permission = {
            "id": _hex_id("modelperm-"), "object": "model_permission", "created": created,
            "allow_create_engine": False, "allow_sampling": True, "allow_logprobs": True,
            "allow_search_indices": False, "allow_view": True, "allow_fine_tuning": False,
            "organization": "*", "group": None, "is_blocking": False,
        }  # fmt: skip
        entry = {
            "id": self.model, "object": "model", "created": created, "owned_by": "vllm", "root": self.model,
            "parent": None, "max_model_len": MAX_MODEL_LEN, "permission": [permission],
        }  # fmt: skip
        return JSONResponse({"object": "list", "data": [entry]})

    async def _stats(self) -> JSONResponse:
        return JSONResponse({"requests": len(self.requests), "max_in_flight": self.max_in_flight})

    async def _reset(self) -> JSONResponse:
        self.requests.clear()
        self.max_in_flight = self.in_flight
        return JSONResponse({"status": "ok"})


class _DroppedReply(Response):
    """Start a reply, send part of its body, then let the server close the connection."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"application/json"), (b"content-length", b"4096")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b'{"id": "chatcmpl-', "more_body": True})


def _http_reply(reply: Reply) -> Response:
    if isinstance(reply.body, str):
        return PlainTextResponse(reply.body, status_code=reply.status, headers=reply.headers)
    return JSONResponse(reply.body, status_code=reply.status, headers=reply.headers)


def _hex_id(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:16]


def tool_call(name: str, arguments: str | Mapping[str, Any], *, id: str | None = None) -> dict[str, Any]:
    """Return a chat tool call as vLLM's hermes parser emits it (a str `arguments` is sent as is)."""
    return {
        "id": id or _hex_id("chatcmpl-tool-"),
        "type": "function",
        "function": {"name": name, "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments)},
    }


def token_logprobs(token_ids: Sequence[int], log_probs: Sequence[float] | None = None) -> dict[str, Any]:
    """Return `choice.logprobs` as vLLM sends it with `return_tokens_as_token_ids` (tokens `token_id:N`)."""
    log_probs = list(log_probs) if log_probs is not None else [0.0] * len(token_ids)
    return {
        "content": [
            {"token": f"token_id:{token}", "logprob": lp, "bytes": list(f"<{token}>".encode()), "top_logprobs": []}
            for token, lp in zip(token_ids, log_probs, strict=True)
        ]
    }


def chat_completion(
    content: str | None = None,
    *,
    tool_calls: Iterable[Mapping[str, Any]] = (),
    reasoning: str | None = None,
    reasoning_field: str = "reasoning",
    finish_reason: str | None = None,
    logprobs: Mapping[str, Any] | None = None,
    token_ids: Sequence[int] | None = None,
    prompt_token_ids: Sequence[int] | None = None,
    prompt_tokens: int = 20,
    completion_tokens: int = 2,
    model: str = "tiny",
) -> dict[str, Any]:
    """Return a vLLM 0.26 chat completion; `reasoning_field="reasoning_content"` gives older vLLM's spelling."""
    message: dict[str, Any] = {
        "role": "assistant", "content": content, "refusal": None, "annotations": None, "audio": None,
        "function_call": None,
    }  # fmt: skip
    tool_calls = [dict(call) for call in tool_calls]
    if tool_calls:
        message["tool_calls"] = tool_calls
    message[reasoning_field] = reasoning
    choice = {
        "index": 0, "message": message, "logprobs": logprobs,
        "finish_reason": finish_reason or ("tool_calls" if tool_calls else "stop"), "stop_reason": None,
        "token_ids": list(token_ids) if token_ids is not None else None, "routed_experts": None,
    }  # fmt: skip
    return {
        "id": _hex_id("chatcmpl-"), "object": "chat.completion", "created": int(time.time()), "model": model,
        "choices": [choice], "service_tier": None, "system_fingerprint": "vllm-0.26.0-nohash",
        "usage": {
            "prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens + completion_tokens,
            "completion_tokens": completion_tokens, "prompt_tokens_details": None,
        },
        "prompt_logprobs": None, "prompt_token_ids": list(prompt_token_ids) if prompt_token_ids else None,
        "prompt_text": None, "kv_transfer_params": None, "ec_transfer_params": None, "metrics": None,
    }  # fmt: skip


def responses_function_call(name: str, arguments: str | Mapping[str, Any], *, call_id: str | None = None) -> dict:
    """Return a vLLM `/v1/responses` function_call output item."""
    return {
        "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments),
        "call_id": call_id or _hex_id("chatcmpl-tool-"), "name": name, "type": "function_call",
        "id": _hex_id("fc_"), "async": None, "caller": None, "namespace": None, "status": "completed",
    }  # fmt: skip


def responses_message(text: str) -> dict[str, Any]:
    """Return a vLLM `/v1/responses` assistant message output item."""
    return {
        "id": _hex_id("msg_"), "content": [{"annotations": [], "text": text, "type": "output_text", "logprobs": None}],
        "role": "assistant", "status": "completed", "type": "message",
    }  # fmt: skip


def responses_object(
    output: Sequence[Mapping[str, Any]],
    request: Mapping[str, Any] | None = None,
    *,
    input_tokens: int = 257,
    output_tokens: int = 6,
    model: str = "tiny",
) -> dict[str, Any]:
    """Return a vLLM 0.26 `/v1/responses` object for `output`, echoing the request's options."""
    request = request or {}
    return {
        "id": _hex_id("resp_"), "created_at": int(time.time()), "incomplete_details": None,
        "instructions": request.get("instructions"), "metadata": request.get("metadata"), "model": model,
        "object": "response", "output": [dict(item) for item in output],
        "parallel_tool_calls": request.get("parallel_tool_calls", True),
        "temperature": request.get("temperature", 1.0), "tool_choice": request.get("tool_choice", "auto"),
        "tools": [_echoed_tool(tool) for tool in request.get("tools") or []], "top_p": request.get("top_p", 1.0),
        "background": False, "max_output_tokens": request.get("max_output_tokens"), "max_tool_calls": None,
        "previous_response_id": None, "prompt": None, "reasoning": request.get("reasoning"),
        "service_tier": "auto", "status": "completed", "text": None, "top_logprobs": None,
        "truncation": "disabled",
        "usage": {
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": 0, "input_tokens_per_turn": [], "cached_tokens_per_turn": []},
            "output_tokens": output_tokens,
            "output_tokens_details": {
                "reasoning_tokens": 0, "tool_output_tokens": 0, "output_tokens_per_turn": [],
                "tool_output_tokens_per_turn": [],
            },
            "total_tokens": input_tokens + output_tokens,
        },
        "user": None, "presence_penalty": 0.0, "frequency_penalty": 0.0, "kv_transfer_params": None,
        "ec_transfer_params": None, "input_messages": None, "output_messages": None,
    }  # fmt: skip


def _echoed_tool(tool: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": tool.get("name"), "parameters": tool.get("parameters"), "strict": tool.get("strict"),
        "type": "function", "allowed_callers": None, "async": None, "defer_loading": None,
        "description": tool.get("description"), "output_schema": None,
    }  # fmt: skip


def error_body(message: str, *, status: int = 400, type: str = "BadRequestError") -> dict[str, Any]:
    """Return vLLM's OpenAI-style error body."""
    return {"error": {"message": message, "type": type, "param": None, "code": status}}


def context_length_error(prompt_tokens: int = 3000) -> Reply:
    """Return vLLM's 400 for a prompt longer than the context window."""
    message = (
        f"This model's maximum context length is {MAX_MODEL_LEN} tokens. However, your request has "
        f"{prompt_tokens} input tokens. Please reduce the length of the input messages."
    )
    return Reply(error_body(message), status=400)


def tiny_model_reply(request: RecordedRequest) -> Reply:
    """Answer like the live notes' tiny scripted model: one get_weather call while no tool result exists."""
    body = request.json or {}
    if request.path == TOKENIZE_PATH:
        tokens = list(json.dumps(body.get("messages", [])).encode())
        return Reply({"count": len(tokens), "max_model_len": MAX_MODEL_LEN, "tokens": tokens, "token_strs": None})
    items = body.get("messages") if request.path == CHAT_PATH else body.get("input")
    items = items if isinstance(items, list) else []
    has_tool_result = any(item.get("role") == "tool" or item.get("type") == "function_call_output" for item in items)
    wants_call = bool(body.get("tools")) and not has_tool_result
    model = body.get("model", "tiny")
    if request.path == RESPONSES_PATH:
        item = (
            responses_function_call("get_weather", {"city": "Paris"}) if wants_call else responses_message(TINY_ANSWER)
        )
        return Reply(responses_object([item], body, model=model))
    answer_ids = [510, 2]
    completion = chat_completion(
        None if wants_call else TINY_ANSWER,
        tool_calls=[tool_call("get_weather", {"city": "Paris"})] if wants_call else (),
        logprobs=token_logprobs(answer_ids)
        if body.get("logprobs") and body.get("return_tokens_as_token_ids")
        else None,
        token_ids=answer_ids if body.get("return_token_ids") else None,
        prompt_token_ids=list(json.dumps(items).encode()) if body.get("return_token_ids") else None,
        completion_tokens=6 if wants_call else 2,
        model=model,
    )
    return Reply(completion)


def main(argv: Sequence[str] | None = None) -> None:
    """Serve a stand-in until stdin closes, after printing its base URL as one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.0, help="seconds every model reply takes")
    args = parser.parse_args(argv)
    with OpenAIStandIn(latency=args.latency) as standin:
        print(json.dumps({"base_url": standin.base_url}), flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
