"""The vllm_model config block (`policy_base_url`, `policy_model_name`, `policy_api_key`) as a pydantic model."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from gym_conform.errors import Location, Problem, ProblemsFound

API_KEY_ENV_VARS = ("POLICY_API_KEY", "OPENAI_API_KEY")
_SECRET_KEY_PARTS = ("key", "token", "secret", "password", "authorization")


class VLLMModelConfig(BaseModel):
    """How to reach a vLLM (or other OpenAI-compatible) server and translate requests for it.

    Field names follow NeMo Gym's `VLLMModelConfig`; the retry, timeout and concurrency fields are this
    client's own. Unknown keys (`entrypoint`, ...) are kept. The API key never appears in `repr`.
    """

    model_config = ConfigDict(extra="allow")

    base_url: list[str] = Field(min_length=1)
    api_key: SecretStr = SecretStr("")
    model: str = Field(min_length=1)
    return_token_id_information: bool = False
    request_prompt_and_generation_token_ids: bool = False
    uses_reasoning_parser: bool = True
    uses_interleaved_reasoning: bool = True
    replace_developer_role_with_system: bool = False
    is_responses_native: bool = False
    chat_template_kwargs: dict[str, Any] | None = None
    extra_body: dict[str, Any] | None = None
    sampling_overrides: dict[str, Any] | None = None
    timeout_seconds: float = Field(600.0, gt=0)
    max_retries: int = Field(3, ge=0)
    retry_backoff_seconds: float = Field(0.5, ge=0)
    retry_max_delay_seconds: float = Field(30.0, ge=0)
    concurrency: int = Field(32, ge=1)

    @field_validator("base_url", mode="before")
    @classmethod
    def _one_or_many_urls(cls, value: Any) -> Any:
        urls = [value] if isinstance(value, str) else value
        if isinstance(urls, list) and all(isinstance(url, str) for url in urls):
            # A trailing slash would give `...//chat/completions`, which some servers answer with 404.
            return [url.strip().rstrip("/") for url in urls]
        return value

    @field_validator("base_url")
    @classmethod
    def _http_urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
                raise ValueError(f"{display_url(url)!r} is not an http(s) URL")
        return urls

    @field_validator("api_key", mode="before")
    @classmethod
    def _null_key_is_empty(cls, value: Any) -> Any:
        return "" if value is None else value

    @model_validator(mode="after")
    def _api_key_from_env(self) -> VLLMModelConfig:
        if not self.api_key.get_secret_value():
            found = next((os.environ[name] for name in API_KEY_ENV_VARS if os.environ.get(name)), "")
            self.api_key = SecretStr(found)
        return self

    @classmethod
    def from_config_block(cls, block: Mapping[str, Any]) -> VLLMModelConfig:
        """Build from the resolved `vllm_model:` block of a config; every invalid field in one ProblemsFound."""
        try:
            return cls.model_validate(dict(block))
        except ValidationError as exc:
            problems = [
                Problem(
                    "config.model.invalid",
                    error["msg"],
                    Location(field=".".join(str(part) for part in error["loc"])),
                    _HINTS.get(str(error["loc"][0]) if error["loc"] else "", _DEFAULT_HINT),
                )
                for error in exc.errors(include_input=False)
            ]
            raise ProblemsFound(problems, summary=f"{len(problems)} problem(s) in the model config") from None

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        for name, value in super().__repr_args__():
            if name == "base_url":
                yield name, [display_url(url) for url in value]
            elif name and any(part in name.lower() for part in _SECRET_KEY_PARTS):
                yield name, "***"
            else:
                yield name, value


_DEFAULT_HINT = "Fix the value in the model config (or env.yaml / the command line)."
_HINTS = {
    "base_url": "Set policy_base_url to the server's OpenAI-compatible root, e.g. http://127.0.0.1:8000/v1 "
    "(a list of URLs for data-parallel replicas).",
    "model": "Set policy_model_name to the name the server serves the model under (GET /v1/models lists it).",
}


def display_url(url: str) -> str:
    """Return `url` with any user:password part replaced by `***`, safe for messages and logs."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]))
