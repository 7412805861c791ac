"""What the tests need of `nemo_gym.server_utils`: the head server's config and the client servers get."""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict


class BaseServerConfig(BaseModel):
    host: str
    port: int


class ServerClient(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    head_server_config: BaseServerConfig
    global_config_dict: Any

    async def post(self, server_name: str, url_path: str, json: Any = None) -> httpx.Response:
        """POST to another server of the config, found as NeMo Gym finds it: its first implementation's host:port."""
        server_type = next(iter(self.global_config_dict[server_name].values()))
        block = next(iter(server_type.values()))
        async with httpx.AsyncClient() as client:
            return await client.post(f"http://{block['host']}:{block['port']}{url_path}", json=json)
