"""Serve a NeMo Gym server class (a `SimpleResourcesServer` subclass) behind this project's `ResourcesServer` face.

NeMo Gym builds a server from its YAML block: the class's own config model validated from the block plus
`name`, a `ServerClient` over the merged config, then `setup_webserver()` and the liveness routes. This does the
same, in-process, with nemo_gym imported by the server's own app.py (nothing here imports it first), so the
checks see NeMo Gym's app exactly, and its request models, verify and seed_session for introspection.
"""

from __future__ import annotations

import inspect
import json
import os
import typing
from typing import Any, ClassVar

from fastapi import FastAPI
from pydantic import BaseModel

from gym_conform.server.base import RESERVED_ROUTE_NAMES, ResourcesServer, ResourcesServerConfig

UPSTREAM_BASE = ("nemo_gym.base_resources_server", "SimpleResourcesServer")
# Routes NeMo Gym's base app adds besides seed_session and verify; none of them is a tool.
UPSTREAM_ROUTES = frozenset({"close_session", "aggregate_metrics", "reverify_mode"})
# The routes the resources-server checks call; and the routes every FastAPI app and NeMo Gym's liveness setup
# add, which say nothing of the task.
CONTRACT_ROUTES = ("/seed_session", "/verify")
NON_TASK_ROUTES = frozenset(
    {
        "/openapi.json",
        "/docs",
        "/docs/oauth2-redirect",
        "/redoc",
        "/aggregate_metrics",
        "/",
        "/readyz",
        "/livez",
        "/healthz",
    }
)
# Our own config keys, which NeMo Gym's config models do not know.
OWN_KEYS = frozenset({"reward_range", "stochastic"})
# NeMo Gym's NEMO_GYM_CONFIG_DICT_ENV_VAR_NAME (nemo_gym.global_config), which a child server reads its config from.
CONFIG_DICT_ENV = "NEMO_GYM_CONFIG_DICT"
# Where the server thinks it runs: never listened on (the checks call the app in-process).
_LOOPBACK = {"host": "127.0.0.1", "port": 0}


def is_upstream_server_class(value: object) -> bool:
    """Return whether `value` is a concrete subclass of NeMo Gym's SimpleResourcesServer."""
    if not inspect.isclass(value):
        return False
    names = [(klass.__module__, klass.__name__) for klass in value.__mro__]
    return UPSTREAM_BASE in names[1:] and not inspect.isabstract(value)


class UpstreamServer(ResourcesServer):
    """A NeMo Gym server instance built from its config block, with the checks' introspection on top."""

    upstream_class: ClassVar[type[Any]]  # a NeMo Gym model class, known only at run time
    global_config: ClassVar[dict[str, Any]] = {}

    def __init__(self, config: ResourcesServerConfig | None = None, **fields: Any) -> None:
        """Build the NeMo Gym server from the config block, as NeMo Gym's run_webserver does (no listening)."""
        super().__init__(config, **fields)
        self._routes: set[str] | None = None
        self.upstream = build_upstream(type(self).upstream_class, self.config, type(self).global_config)

    # NeMo Gym's form verify(self, body), which the base class accepts too; replaced per class by the upstream's.
    async def verify(self, body: Any) -> Any:  # type: ignore[override]
        """Unused: each adapter class takes the upstream's verify (for its annotations and location)."""
        raise NotImplementedError

    def setup_webserver(self) -> FastAPI:
        """Return the upstream's own app, with the liveness and exception handling NeMo Gym adds when serving."""
        app = self.upstream.setup_webserver()
        for step in ("setup_liveness", "setup_exception_middleware"):
            method = getattr(self.upstream, step, None)
            if callable(method):
                method(app)
        return app

    def contract_gap(self) -> str | None:
        """Return why the resources-server checks do not apply (no /seed_session or /verify route), else None.

        NeMo Gym's gymnasium-style servers replace those routes with /reset and /step, which its gymnasium
        agent drives; they are reported as such, never failed for a 404.
        """
        if self._routes is None:
            self._routes = {getattr(route, "path", "") for route in self.app.routes}
        missing = [path for path in CONTRACT_ROUTES if path not in self._routes]
        if not missing:
            return None
        served = ", ".join(sorted(path for path in self._routes if path not in NON_TASK_ROUTES)) or "nothing else"
        return (
            f"the server does not serve {' or '.join(missing)} (it serves {served}): a gymnasium-style environment "
            "that NeMo Gym's gymnasium agent drives, so the resources-server checks do not apply"
        )

    def tool_names(self) -> list[str]:
        """Return the tool routes, NeMo Gym's own non-tool routes left out."""
        return [name for name in super().tool_names() if name not in UPSTREAM_ROUTES]

    def verify_request_model(self) -> type[BaseModel]:  # type: ignore[override]
        """Return the body model the upstream verify declares (NeMo Gym's BaseVerifyRequest or a subclass)."""
        return _body_model(type(self).upstream_class.verify) or BaseModel

    def verify_response_model(self) -> type[BaseModel]:  # type: ignore[override]
        """Return the model the upstream verify declares it returns."""
        model = _hints(type(self).upstream_class.verify).get("return")
        return model if isinstance(model, type) and issubclass(model, BaseModel) else BaseModel


def adapter_for(upstream_class: type[Any]) -> type[UpstreamServer]:
    """Return an UpstreamServer class standing for `upstream_class` (its verify and seed_session as attributes)."""
    members = {
        "upstream_class": upstream_class,
        "verify": upstream_class.verify,
        "seed_session": upstream_class.seed_session,
        "__module__": upstream_class.__module__,
        "__qualname__": upstream_class.__qualname__,
    }
    adapter: type[Any] = type(upstream_class.__name__, (UpstreamServer,), members)
    adapter.__abstractmethods__ = frozenset()
    return adapter


def build_upstream(upstream_class: type[Any], config: ResourcesServerConfig, global_config: dict[str, Any]) -> Any:
    """Return `upstream_class(config=..., server_client=...)` built from our config block, as NeMo Gym does."""
    config_class = upstream_class.model_fields["config"].annotation
    fields = {key: value for key, value in config.model_dump().items() if key not in OWN_KEYS}
    for key, value in _LOOPBACK.items():
        if fields.get(key) is None:
            fields[key] = value
    upstream_config = config_class.model_validate(fields)
    kwargs: dict[str, Any] = {"config": upstream_config}
    if "server_client" in upstream_class.model_fields:
        kwargs["server_client"] = _server_client(global_config)
    return upstream_class(**kwargs)


def _server_client(global_config: dict[str, Any]) -> Any:
    """Return NeMo Gym's ServerClient over the merged config; the head server is never contacted in-process."""
    from nemo_gym.server_utils import BaseServerConfig, ServerClient
    from omegaconf import OmegaConf

    # NeMo Gym's launcher hands each server process the merged config in this variable; without it, the first
    # outgoing request (a judge call builds NeMo Gym's shared aiohttp client) parses sys.argv with Hydra, which
    # exits the process. The first server built in a process sets it (child mode: one server per process).
    os.environ.setdefault(CONFIG_DICT_ENV, json.dumps(global_config, default=str))

    return ServerClient(
        head_server_config=BaseServerConfig(**_LOOPBACK), global_config_dict=OmegaConf.create(global_config)
    )


def _hints(function: Any) -> dict[str, Any]:
    try:
        return typing.get_type_hints(function)
    except Exception:
        return {k: v for k, v in getattr(function, "__annotations__", {}).items() if isinstance(v, type)}


def _body_model(function: Any) -> type[BaseModel] | None:
    hints = _hints(function)
    for name in inspect.signature(function).parameters:
        model = hints.get(name)
        if isinstance(model, type) and issubclass(model, BaseModel):
            return model
    return None


__all__ = ["RESERVED_ROUTE_NAMES", "UpstreamServer", "adapter_for", "is_upstream_server_class"]
