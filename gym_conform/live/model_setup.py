"""The policy model of live checks: from command-line values, else env.yaml (as `ng_prepare_data` reads it), or vLLM.

Command-line values win over env.yaml's `policy_base_url` / `policy_model_name` / `policy_api_key` (and an
optional `policy_model: {responses_api_models: {vllm_model: {...}}}` block); the API key also comes from
POLICY_API_KEY or OPENAI_API_KEY, and is never part of a message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gym_conform.core.config.loader import COMMAND_LINE, CONFIG_PATHS_KEY, load_config, search_roots
from gym_conform.errors import ConfigError, Location
from gym_conform.live.defaults import DEFAULT_CONCURRENCY, DEFAULT_STARTUP_TIMEOUT
from gym_conform.live.vllm_serve import VLLMServe
from gym_conform.models.vllm import VLLMModelClient, VLLMModelConfig
from gym_conform.models.vllm.config import display_url

MODEL_INSTANCE = "policy_model"
MODEL_SERVER_TYPE = "responses_api_models"
# The shipped vllm_model.yaml, as defaults below env.yaml and the command line.
POLICY_DEFAULTS: dict[str, Any] = {
    "policy_base_url": "",
    "policy_api_key": "",
    "policy_model_name": "",
    MODEL_INSTANCE: {
        MODEL_SERVER_TYPE: {
            "vllm_model": {
                "entrypoint": "app.py",
                "base_url": "${policy_base_url}",
                "api_key": "${policy_api_key}",
                "model": "${policy_model_name}",
                "return_token_id_information": False,
                "uses_reasoning_parser": True,
                "uses_interleaved_reasoning": True,
            }
        }
    },
}


@dataclass
class ModelSource:
    """How live checks reach the policy model; `open()` gives a client for the calling event loop.

    A client's connections belong to the event loop that made them, and each server folder's checks run
    on a loop of their own, so every folder opens (and closes) its own client.
    """

    config: VLLMModelConfig
    serve: VLLMServe | None = None

    def describe(self) -> str:
        """Return the model name and where it is served, without credentials."""
        urls = self.config.base_url
        where = display_url(urls[0]) + (f" (+{len(urls) - 1} replica(s))" if len(urls) > 1 else "")
        started = f", started with `vllm serve {self.serve.model_path}`" if self.serve is not None else ""
        return f"{self.config.model} at {where}{started}"

    def open(self) -> VLLMModelClient:
        """Start `vllm serve` if this source owns one (once), then return a new client."""
        if self.serve is not None:
            self.serve.start()
        return VLLMModelClient(self.config)

    def close(self) -> None:
        """Stop the `vllm serve` process this source started, if any."""
        if self.serve is not None:
            self.serve.stop()


def model_source(
    *,
    base_url: str | None = None,
    model_name: str | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    vllm_serve: str | None = None,
    vllm_args: Sequence[str] = (),
    vllm_timeout: float = DEFAULT_STARTUP_TIMEOUT,
    roots: Sequence[Path] | None = None,
) -> ModelSource | None:
    """Return the configured model, or None when neither the command line nor env.yaml names a server.

    `roots` are where env.yaml is looked for first (e.g. pytest's rootdir), before NeMo Gym's search roots.
    Raise ConfigError (or ProblemsFound) for a config that names a server but is incomplete or invalid.
    """
    if vllm_serve and base_url:
        raise ConfigError(
            "both a model URL and a model to serve were given",
            code="config.model.conflict",
            location=Location(COMMAND_LINE),
            hint="pass --gym-model-url for a running server, or --gym-vllm-serve MODEL_PATH to start one; not both",
        )
    serve = VLLMServe(vllm_serve, extra_args=vllm_args, startup_timeout=vllm_timeout) if vllm_serve else None
    cli: dict[str, Any] = {CONFIG_PATHS_KEY: []}  # env.yaml's config_paths name servers, not the model
    if serve is not None:
        cli["policy_base_url"] = serve.base_url
        model_name = model_name or vllm_serve
    elif base_url:
        cli["policy_base_url"] = base_url
    if model_name:
        cli["policy_model_name"] = model_name
    all_roots = list(dict.fromkeys([*(roots or []), *search_roots()]))
    loaded = load_config(cli, initial=POLICY_DEFAULTS, roots=all_roots)
    block = _model_block(loaded.data)
    if not block.get("base_url"):
        return None
    if not block.get("model"):
        raise ConfigError(
            "a model server URL is set but no model name",
            code="config.model.name_missing",
            location=Location(COMMAND_LINE if base_url else _env_file(loaded.files), field="policy_model_name"),
            hint="pass --gym-model-name NAME, or set policy_model_name in env.yaml, to the name the server serves "
            "the model under (GET <base_url>/models lists it)",
        )
    config = VLLMModelConfig.from_config_block({**block, "concurrency": concurrency})
    return ModelSource(config, serve)


def _model_block(data: dict) -> dict:
    """Return the merged `policy_model` implementation block (vllm_model unless env.yaml names another)."""
    implementations = (data.get(MODEL_INSTANCE) or {}).get(MODEL_SERVER_TYPE) or {}
    block: object = implementations.get("vllm_model") or next(iter(implementations.values()), {})
    return dict(block) if isinstance(block, dict) else {}


def _env_file(files: list[Path]) -> str | None:
    return str(files[-1]) if files else None
