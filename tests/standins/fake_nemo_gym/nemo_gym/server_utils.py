"""What the tests need of `nemo_gym.server_utils`: the head server's config and the client servers get."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class BaseServerConfig(BaseModel):
    host: str
    port: int


class ServerClient(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    head_server_config: BaseServerConfig
    global_config_dict: Any
