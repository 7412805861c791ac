"""A scripted judge model over real HTTP on loopback, for servers whose judge is only an OpenAI-compatible endpoint.

It answers NeMo Gym's model routes (`/v1/responses`, `/v1/chat/completions`) with one fixed text that gives no
verdict (the `unparseable` mode of `judge_failures`' scripted judge), whatever it is asked, and counts the calls.
`judge_failures` switches its `mode`: `http_500` answers HTTP 500, `quotes_candidate` quotes `candidate`.
So a judge-backed server runs its contract and fuzz checks here (no 5xx on odd responses, rewards in range and
repeatable under a judge that is), while checks whose verdict is the judge's (replay, gold) skip: the stand-in
is no judge.
"""

from __future__ import annotations

import socket
import threading
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from gym_conform.core.responses import make_response, message_item

STANDIN_TEXT = "I am not able to compare these two answers."
STANDIN_MODEL = "gym-conform-judge-standin"
# The implementation name NeMo Gym's config sees for the stand-in's model server entry.
STANDIN_IMPLEMENTATION = "gym_conform_judge_standin"


class JudgeStandIn:
    """The stand-in's app and its loopback server: `start()` binds a free port, `close()` stops it."""

    def __init__(self, text: str = STANDIN_TEXT) -> None:
        """Prepare the app; nothing listens until `start()`."""
        self.text = text
        self.mode = "unparseable"
        self.candidate = ""
        self.calls = 0
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.app = FastAPI()
        self.app.add_api_route("/v1/responses", self._responses, methods=["POST"])
        self.app.add_api_route("/v1/chat/completions", self._chat, methods=["POST"])

    def _answer(self) -> str:
        """Return the text of this call's answer (after counting it)."""
        self.calls += 1
        if self.mode == "quotes_candidate":
            return f'The candidate answered: "{self.candidate}"'
        return self.text

    async def _responses(self, request: Request) -> Any:
        text = self._answer()
        if self.mode == "http_500":
            return JSONResponse({"error": "internal error (scripted)"}, status_code=500)
        response = make_response(
            [message_item(text, id="msg_standin")],
            id="resp_standin",
            created_at=0.0,
            model=STANDIN_MODEL,
            parallel_tool_calls=True,
            tool_choice="auto",
            tools=[],
        )
        return response.model_dump(mode="json", exclude_unset=True)

    async def _chat(self, request: Request) -> Any:
        text = self._answer()
        if self.mode == "http_500":
            return JSONResponse({"error": "internal error (scripted)"}, status_code=500)
        return {
            "id": "chatcmpl-standin",
            "object": "chat.completion",
            "created": 0,
            "model": STANDIN_MODEL,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        }

    def start(self) -> str:
        """Serve on 127.0.0.1 (a free port, bound before uvicorn starts) in a daemon thread; return the base URL."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._socket = sock
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the judge stand-in stopped before it started serving")
            self._thread.join(0.01)
        return self.base_url

    @property
    def base_url(self) -> str:
        """Return where the stand-in listens."""
        return f"http://127.0.0.1:{self.port}"

    def config_entry(self) -> dict[str, Any]:
        """Return the model-server block NeMo Gym's ServerClient resolves to the stand-in's host and port."""
        block = {"entrypoint": "app.py", "host": "127.0.0.1", "port": self.port}
        return {"responses_api_models": {STANDIN_IMPLEMENTATION: block}}

    def close(self) -> None:
        """Stop serving."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
