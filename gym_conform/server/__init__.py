"""The resources-server contract, a folder loader and an HTTP client over that contract."""

from gym_conform.server.base import (
    SESSION_ID_KEY,
    BaseRunRequest,
    BaseSeedSessionRequest,
    BaseSeedSessionResponse,
    BaseVerifyRequest,
    BaseVerifyResponse,
    ResourcesServer,
    ResourcesServerConfig,
    tool,
)
from gym_conform.server.client import RolloutSession, ServerClient, ToolResult
from gym_conform.server.loader import LoadedServer, load_server_folder

__all__ = [
    "SESSION_ID_KEY",
    "BaseRunRequest",
    "BaseSeedSessionRequest",
    "BaseSeedSessionResponse",
    "BaseVerifyRequest",
    "BaseVerifyResponse",
    "LoadedServer",
    "ResourcesServer",
    "ResourcesServerConfig",
    "RolloutSession",
    "ServerClient",
    "ToolResult",
    "load_server_folder",
    "tool",
]
