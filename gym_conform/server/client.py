"""One client over a resources server's HTTP contract, in-process (ASGI) or remote, one cookie jar per rollout."""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from types import TracebackType
from typing import Any

import httpx

from gym_conform.errors import ServerError
from gym_conform.server.base import ResourcesServer
from gym_conform.server.watch import REQUEST, STARTUP, watched

DEFAULT_TIMEOUT = 60.0
_IN_PROCESS_URL = "http://testserver"
_SHOWN_BODY_CHARS = 2000
_JSON_HEADERS = {"content-type": "application/json"}


@dataclass(frozen=True)
class ToolResult:
    """A tool route's answer as the model sees it: the raw body text, whatever the HTTP status."""

    status_code: int
    text: str

    @property
    def ok(self) -> bool:
        """Return True for a 2xx status."""
        return 200 <= self.status_code < 300


class ServerClient:
    """Talk to one resources server; `rollout()` opens a session (own cookies) for each rollout."""

    def __init__(self, http: httpx.AsyncClient, *, where: str, timeout: float) -> None:
        """Wrap an httpx client whose own cookie jar stores nothing; use `in_process` or `remote` instead."""
        self._http = http
        self.where = where
        self.timeout = timeout

    @classmethod
    def in_process(cls, server: ResourcesServer, *, timeout: float = DEFAULT_TIMEOUT) -> ServerClient:
        """Call `server.app` in this process through ASGI, exactly as over HTTP (no network, no lifespan)."""
        with watched(STARTUP, f"{type(server).__name__}.setup_webserver()"):
            app = server.app
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        http = httpx.AsyncClient(
            transport=transport, base_url=_IN_PROCESS_URL, timeout=timeout, cookies=_jar_that_keeps_nothing()
        )
        return cls(http, where=f"{type(server).__name__} (in process)", timeout=timeout)

    @classmethod
    def remote(cls, base_url: str, *, timeout: float = DEFAULT_TIMEOUT) -> ServerClient:
        """Call a running server (any NeMo Gym-style resources server) at `base_url`."""
        http = httpx.AsyncClient(base_url=base_url, timeout=timeout, cookies=_jar_that_keeps_nothing())
        return cls(http, where=base_url, timeout=timeout)

    def rollout(self) -> RolloutSession:
        """Return a new session: its calls share one server-side session id, no other session's."""
        return RolloutSession(self)

    async def aclose(self) -> None:
        """Close the connections."""
        await self._http.aclose()

    async def __aenter__(self) -> ServerClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.aclose()

    async def _send(self, method: str, path: str, cookies: httpx.Cookies, body: Any = None) -> httpx.Response:
        """Send one request with a session's cookies and keep the cookies the server sets."""
        text = None
        if method == "POST":
            # Encoded here rather than with httpx's json=, which would send no body at all for None.
            text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
            request = self._http.build_request(method, path, content=text.encode(), headers=_JSON_HEADERS)
        else:
            request = self._http.build_request(method, path)
        cookies.set_cookie_header(request)
        try:
            with watched(REQUEST, f"{method} {path}", text):
                response = await self._http.send(request)
        except httpx.TimeoutException as error:
            raise ServerError(
                f"{method} {path} to {self.where} timed out after {self.timeout:g}s ({type(error).__name__})",
                code="server.timeout",
                hint="check that the server is not stuck, or raise the timeout",
            ) from None
        except httpx.TransportError as error:
            raise ServerError(
                f"cannot reach the resources server at {self.where}: {error or type(error).__name__}",
                code="server.unreachable",
                hint="start the server first, or check its base URL (host and port)",
            ) from None
        cookies.extract_cookies(response)
        return response


class RolloutSession:
    """The calls of one rollout: seed_session, tools and verify, all in one server-side session."""

    def __init__(self, client: ServerClient) -> None:
        """Start with an empty cookie jar; the first response's session cookie ties the later calls to it."""
        self._client = client
        self._cookies = httpx.Cookies()

    async def seed_session(self, row: dict) -> dict:
        """POST the whole row to /seed_session and return the JSON answer."""
        response = await self._client._send("POST", "/seed_session", self._cookies, row)
        return _json_object(response, "/seed_session", "server.seed_session_http")

    async def call_tool(self, name: str, arguments: Any) -> ToolResult:
        """POST `arguments` to /<name>; the status and raw body text come back whatever the status."""
        path = "/" + urllib.parse.quote(name, safe="")
        response = await self._client._send("POST", path, self._cookies, arguments)
        return ToolResult(response.status_code, response.text)

    async def verify(self, payload: dict) -> dict:
        """POST the row plus its response to /verify and return the verify JSON (reward and echoed fields)."""
        response = await self._client._send("POST", "/verify", self._cookies, payload)
        return _json_object(response, "/verify", "server.verify_http")

    async def health(self) -> dict:
        """GET / (the liveness route) and return its JSON."""
        response = await self._client._send("GET", "/", self._cookies)
        return _json_object(response, "/", "server.health_http")


def _jar_that_keeps_nothing() -> CookieJar:
    # The shared client must never store a cookie: each RolloutSession carries its own, so sessions
    # of concurrent rollouts cannot leak into each other.
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


def _json_object(response: httpx.Response, path: str, http_code: str) -> dict:
    body = response.text
    shown = body if len(body) <= _SHOWN_BODY_CHARS else body[:_SHOWN_BODY_CHARS] + "..."
    if not response.is_success:
        raise ServerError(
            f"{response.request.method} {path} returned HTTP {response.status_code}: {shown}",
            code=http_code,
            hint=_status_hint(response.status_code, path),
        )
    try:
        value = json.loads(body)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise ServerError(
            f"{response.request.method} {path} answered with something that is not a JSON object: {shown}",
            code="server.bad_json",
            hint="the route must return a JSON object (a dict or a pydantic model)",
        )
    return value


def _status_hint(status: int, path: str) -> str:
    if status == 422:
        return f"the body does not match what {path} declares; the validation errors above name the fields"
    if status == 404:
        return f"the server has no route {path}; is this a resources server?"
    if status >= 500:
        return "the handler raised; the error is above and the traceback in the server's log"
    return f"see the server's log for why {path} refused the request"
