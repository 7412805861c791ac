"""The resources-server contract: request/response models, `@tool` routes, per-rollout sessions, the app."""

from __future__ import annotations

import inspect
import logging
import typing
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from fastapi import FastAPI, Request
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gym_conform.core.responses import Response, ResponseCreateParams
from gym_conform.server.watch import STARTUP, watched

SESSION_ID_KEY = "session_id"
# Route names with a fixed meaning; NeMo Gym refuses them as tool names when exposing tools over MCP.
RESERVED_ROUTE_NAMES = frozenset({"seed_session", "verify", "aggregate_metrics", "mcp"})

_TOOL_MARK = "__gym_conform_tool__"
_logger = logging.getLogger(__name__)

Method = TypeVar("Method", bound=Callable[..., Any])


class ResourcesServerConfig(BaseModel):
    """A resources server's config block (`<instance>.resources_servers.<implementation>`) plus its name."""

    model_config = ConfigDict(extra="allow")

    name: str = ""
    entrypoint: str = "app.py"
    domain: str | None = None
    host: str | None = None
    port: int | None = None
    reward_range: tuple[float, float] = (0.0, 1.0)
    stochastic: bool = False


class BaseRunRequest(BaseModel):
    """A data row: the model request plus any task fields, which pass through and are echoed back."""

    model_config = ConfigDict(extra="allow")

    responses_create_params: ResponseCreateParams


class BaseVerifyRequest(BaseRunRequest):
    """A row plus the model's response to score."""

    response: Response


class BaseVerifyResponse(BaseVerifyRequest):
    """Every verify-request field echoed back, plus the reward (and any extra metrics)."""

    reward: float


class BaseSeedSessionRequest(BaseModel):
    """The whole row, posted before the first model call so a server can set up per-rollout state."""

    model_config = ConfigDict(extra="allow")


class BaseSeedSessionResponse(BaseModel):
    """Whatever a server reports after seeding (usually nothing)."""

    model_config = ConfigDict(extra="allow")


def tool(method: Method) -> Method:
    """Mark an async method as a tool: POST /<method name>, JSON body = its pydantic `body` param."""
    if not callable(method):
        raise TypeError(f"@tool marks a method, got {type(method).__name__}")
    setattr(method, _TOOL_MARK, True)
    return method


class ResourcesServer(ABC):
    """Base of every resources server: subclass it, implement `verify`, mark tool methods with `@tool`."""

    config_class: ClassVar[type[ResourcesServerConfig]] = ResourcesServerConfig

    def __init__(self, config: ResourcesServerConfig | None = None, **fields: Any) -> None:
        """Build from a config, or from config fields as keywords; keywords override a given config's fields."""
        given = config.model_dump() if config is not None else {}
        if config is not None and not fields and isinstance(config, self.config_class):
            self.config = config
        else:
            self.config = self.config_class.model_validate({**given, **fields})
        self._app: FastAPI | None = None

    async def seed_session(self, request: Request, body: BaseSeedSessionRequest) -> BaseSeedSessionResponse:
        """Set up per-rollout state from the row; the default keeps none."""
        return BaseSeedSessionResponse()

    @abstractmethod
    async def verify(self, request: Request, body: BaseVerifyRequest) -> BaseVerifyResponse:
        """Score `body.response`; return `VerifyResponse(**body.model_dump(), reward=...)`.

        The NeMo Gym form `async def verify(self, body: MyVerifyRequest)` (no request) works as well.
        """

    def gold_response(self, row: dict) -> Response | None:
        """Return a response that must score the top of `reward_range` for `row`, or None if there is none."""
        return None

    def session_id(self, request: Request) -> str:
        """Return the id of the rollout session `request` belongs to (stable across one rollout's calls)."""
        return request.session[SESSION_ID_KEY]

    def tool_names(self) -> list[str]:
        """Return the tool routes (POST /<name>) of the app, in registration order, reserved routes excluded."""
        names = []
        for route in self.app.routes:
            if not isinstance(route, APIRoute) or "POST" not in (route.methods or ()):
                continue
            name = route.path[1:]
            if name and "/" not in name and "{" not in name and name not in RESERVED_ROUTE_NAMES:
                names.append(name)
        return list(dict.fromkeys(names))

    def verify_request_model(self) -> type[BaseVerifyRequest]:
        """Return the request class `verify` declares for its body (`BaseVerifyRequest` if it declares none)."""
        hints = _verify_hints(type(self))
        for name in inspect.signature(self.verify).parameters:
            model = hints.get(name)
            if isinstance(model, type) and issubclass(model, BaseVerifyRequest):
                return model
        return BaseVerifyRequest

    def verify_response_model(self) -> type[BaseVerifyResponse]:
        """Return the class `verify` declares it returns (`BaseVerifyResponse` if it declares none)."""
        model = _verify_hints(type(self)).get("return")
        return model if isinstance(model, type) and issubclass(model, BaseVerifyResponse) else BaseVerifyResponse

    def setup_webserver(self) -> FastAPI:
        """Build the FastAPI app: health, seed_session, verify and tool routes, sessions, JSON 500s."""
        app = FastAPI(title=type(self).__name__)
        app.get("/")(_health)
        app.post("/seed_session")(self.seed_session)
        app.post("/verify")(self.verify)
        for name in _marked_tools(type(self)):
            app.post(f"/{name}")(getattr(self, name))
        # Starlette runs the last-added middleware outermost: sessions wrap the session id, which wraps errors.
        app.add_middleware(_ErrorsAsJson)
        app.add_middleware(_SessionIdMiddleware)
        cookie = f"{type(self).__name__}___{self.config.name}"
        app.add_middleware(SessionMiddleware, secret_key=cookie, session_cookie=cookie)
        return app

    @property
    def app(self) -> FastAPI:
        """Return the app built by `setup_webserver`, built once."""
        if self._app is None:
            # Server code (a NeMo Gym server may wait here for its judge): timed like any start-up step.
            with watched(STARTUP, f"{type(self).__name__}.setup_webserver()"):
                self._app = self.setup_webserver()
        return self._app


async def _health() -> dict[str, str]:
    return {"status": "ok"}


def _marked_tools(cls: type) -> list[str]:
    """Return the names of `@tool` methods in definition order, base classes first (overrides stay tools)."""
    names: dict[str, None] = {}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            if getattr(value, _TOOL_MARK, False):
                names[name] = None
    return list(names)


def _verify_hints(cls: type[ResourcesServer]) -> dict[str, Any]:
    verify = cls.verify
    try:
        return typing.get_type_hints(verify)
    except Exception:
        # An annotation that cannot be resolved by name: fall back to the ones that are already classes.
        return {k: v for k, v in getattr(verify, "__annotations__", {}).items() if isinstance(v, type)}


class _SessionIdMiddleware:
    """Give every new session a uuid4 under SESSION_ID_KEY; the session cookie carries it afterwards."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and SESSION_ID_KEY not in scope["session"]:
            scope["session"][SESSION_ID_KEY] = str(uuid.uuid4())
        await self.app(scope, receive, send)


class _ErrorsAsJson:
    """Answer an unhandled exception with HTTP 500 `{"error": repr(e)}` and log it, as NeMo Gym servers do."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as error:
            _logger.error("%s %s raised %r", scope.get("method"), scope.get("path"), error, exc_info=error)
            if started:
                raise
            await JSONResponse({"error": repr(error)}, status_code=500)(scope, receive, send)
