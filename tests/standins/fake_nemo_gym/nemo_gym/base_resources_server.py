"""What the tests need of `nemo_gym.base_resources_server`: a pydantic server class that builds its FastAPI app."""

from __future__ import annotations

import json
import os
from abc import abstractmethod
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.middleware.sessions import SessionMiddleware

from gym_conform.core.responses import ResponseCreateParams
from nemo_gym.server_utils import BaseServerConfig, ServerClient


class BaseResourcesServerConfig(BaseServerConfig):
    entrypoint: str
    domain: str | None = None
    name: str


class BaseVerifyRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    # NeMo Gym's are OpenAI's typed create params; gym-conform's own model stands in for them.
    responses_create_params: ResponseCreateParams
    response: dict[str, Any]


class BaseVerifyResponse(BaseVerifyRequest):
    reward: float


class BaseSeedSessionRequest(BaseModel):
    model_config = ConfigDict(extra="allow")


class SimpleResourcesServer(BaseModel):
    config: BaseResourcesServerConfig
    server_client: ServerClient

    def setup_webserver(self) -> FastAPI:
        app = FastAPI()
        app.add_middleware(SessionMiddleware, secret_key=type(self).__name__)
        app.post("/seed_session")(self.seed_session)
        app.post("/verify")(self.verify)
        app.post("/close_session")(self.close_session)
        app.post("/aggregate_metrics")(self.aggregate_metrics)
        return app

    def setup_exception_middleware(self, app: FastAPI) -> None:
        @app.middleware("http")
        async def errors_as_500(request: Request, call_next: Any) -> Any:
            try:
                return await call_next(request)
            except Exception as error:
                return JSONResponse(content=repr(error), status_code=500)

    def setup_liveness(self, app: FastAPI) -> None:
        app.get("/")(self.liveness)

    async def liveness(self) -> dict:
        return {"status": "ok"}

    async def seed_session(self, body: BaseSeedSessionRequest) -> dict:
        return {}

    async def close_session(self, body: BaseSeedSessionRequest) -> dict:
        return {}

    async def aggregate_metrics(self, body: BaseSeedSessionRequest) -> dict:
        return {}

    @abstractmethod
    async def verify(self, body: BaseVerifyRequest) -> BaseVerifyResponse:
        pass

    @classmethod
    def run_webserver(cls) -> None:
        """Serve as a server NeMo Gym's launcher started: its config from the variables the launcher sets."""
        global_config = json.loads(os.environ["NEMO_GYM_CONFIG_DICT"])
        name = os.environ["NEMO_GYM_CONFIG_PATH"]
        if global_config["dry_run"]:
            return
        block = next(iter(next(iter(global_config[name].values())).values()))
        config_class = cls.model_fields["config"].annotation
        client = ServerClient(
            head_server_config=BaseServerConfig(**global_config["head_server"]), global_config_dict=global_config
        )
        server = cls(config=config_class.model_validate({**block, "name": name}), server_client=client)
        app = server.setup_webserver()
        server.setup_exception_middleware(app)
        server.setup_liveness(app)
        uvicorn.run(app, host=block["host"], port=block["port"], log_level="warning")
