"""VLLMModelClient: the agent loop's model, served by vLLM's OpenAI-compatible Chat Completions API."""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import itertools
import logging
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import BaseModel, ValidationError

from gym_conform.core.responses import Response
from gym_conform.errors import Location, ServerError
from gym_conform.models.vllm import converter
from gym_conform.models.vllm.config import VLLMModelConfig, display_url

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
BODY_SHOWN_CHARS = 500
# httpcore rescans its whole pool (quadratically) whenever a request starts or ends, so one pool of 32+
# connections costs milliseconds of CPU per request; several small pools ("lanes") keep that cheap.
LANE_CONNECTIONS = 8
logger = logging.getLogger(__name__)


@dataclass
class _Lane:
    """One small connection pool to one replica, and how many of its connections are in use."""

    client: httpx.AsyncClient
    capacity: int
    busy: int = 0


class VLLMModelClient:
    """Answer Responses API requests with a vLLM server (or data-parallel replicas of one).

    At most `config.concurrency` requests are in flight at once; 429/5xx replies, timeouts and dropped
    connections are retried with exponential backoff; one rollout (`session_key`) always goes to the
    same replica so its prefix cache is reused.
    """

    def __init__(self, config: VLLMModelConfig | Mapping[str, Any]) -> None:
        self.config = config if isinstance(config, VLLMModelConfig) else VLLMModelConfig.from_config_block(config)
        api_key = self.config.api_key.get_secret_value()
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        timeout = httpx.Timeout(self.config.timeout_seconds)
        ssl_context = httpx.create_ssl_context()  # shared: building one costs tens of milliseconds
        self._lanes = {
            url: [
                _Lane(
                    httpx.AsyncClient(
                        headers=headers,
                        timeout=timeout,
                        verify=ssl_context,
                        limits=httpx.Limits(max_connections=size, max_keepalive_connections=size),
                    ),
                    size,
                )
                for size in _lane_sizes(self.config.concurrency)
            ]
            for url in self.config.base_url
        }
        self._slots = asyncio.Semaphore(self.config.concurrency)
        self._round_robin = itertools.count()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config!r})"

    async def __aenter__(self) -> VLLMModelClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every connection pool."""
        for lanes in self._lanes.values():
            for lane in lanes:
                await lane.client.aclose()

    def base_url_for(self, session_key: str | None) -> str:
        """Return the replica for a rollout: sticky by `session_key`, round-robin without one."""
        urls = self.config.base_url
        if len(urls) == 1:
            return urls[0]
        if session_key is None:
            return urls[next(self._round_robin) % len(urls)]
        return urls[int(hashlib.sha256(session_key.encode()).hexdigest()[:8], 16) % len(urls)]

    async def respond(self, params: Mapping[str, Any] | BaseModel, *, session_key: str | None = None) -> Response:
        """Return the model's Response to Responses create-params `params` (input = a list of items)."""
        base_url = self.base_url_for(session_key)
        if self.config.is_responses_native:
            return await self._respond_natively(params, base_url)
        chat_request = converter.responses_to_chat(params, self.config)
        reply = await self._post(base_url, f"{base_url}/chat/completions", chat_request)
        if not reply.is_success:  # the one failure `_post` returns: the prompt is past the context window
            return converter.context_length_response(params, self.config)
        completion = self._json_of(reply)
        prompt_token_ids = None
        if converter.needs_prompt_token_ids(completion, self.config):
            prompt_token_ids = await self._tokenize(base_url, chat_request)
        return converter.chat_to_response(params, completion, self.config, prompt_token_ids=prompt_token_ids)

    async def _respond_natively(self, params: Mapping[str, Any] | BaseModel, base_url: str) -> Response:
        body = converter.responses_native_request(params, self.config)
        reply = await self._post(base_url, f"{base_url}/responses", body)
        if not reply.is_success:
            return converter.context_length_response(params, self.config)
        try:
            return Response.model_validate(self._json_of(reply))
        except ValidationError as exc:
            raise self._bad_reply(reply, f"not a Responses API object ({exc.error_count()} error(s))") from None

    async def _tokenize(self, base_url: str, chat_request: Mapping[str, Any]) -> list[int]:
        # vLLM serves /tokenize at the server root, beside /v1 rather than under it.
        root = base_url[: -len("/v1")] if base_url.endswith("/v1") else base_url
        body = converter.tokenize_request(chat_request)
        reply = self._json_of(await self._post(base_url, f"{root}/tokenize", body))
        tokens = reply.get("tokens")
        if not isinstance(tokens, list) or not all(isinstance(token, int) for token in tokens):
            raise ServerError(
                "the /tokenize reply has no integer `tokens` list",
                code="model.bad_reply",
                location=Location(path=display_url(f"{root}/tokenize"), field="tokens"),
                hint="Token-id mode needs vLLM's /tokenize, or request_prompt_and_generation_token_ids: true.",
            )
        return tokens

    async def _send(self, base_url: str, url: str, body: Mapping[str, Any]) -> httpx.Response:
        """POST once through the least busy lane of `base_url`'s replica, holding one concurrency slot."""
        async with self._slots:
            # Each replica's lanes hold `concurrency` connections, so a slot always finds a free one.
            lane = max(self._lanes[base_url], key=lambda lane: lane.capacity - lane.busy)
            lane.busy += 1
            try:
                return await lane.client.post(url, json=body)
            finally:
                lane.busy -= 1

    async def _post(self, base_url: str, url: str, body: Mapping[str, Any]) -> httpx.Response:
        """POST with retries; return a 2xx reply or a context-length 400, raise ServerError for anything else."""
        attempt = 1
        while True:
            reply: httpx.Response | None = None
            try:
                reply = await self._send(base_url, url, body)
            except httpx.TimeoutException as exc:
                failure: ServerError = self._transport_error("model.timeout", url, attempt, exc)
            except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                failure = self._transport_error("model.unreachable", url, attempt, exc)
            else:
                if reply.status_code not in RETRY_STATUSES:
                    return self._checked(reply, url, attempt)
                failure = self._http_error(reply, url, attempt)
            if attempt > self.config.max_retries:
                raise failure
            delay = self._backoff(attempt, reply)
            logger.warning("%s; retry %d of %d in %.2f s", failure.message, attempt, self.config.max_retries, delay)
            await asyncio.sleep(delay)
            attempt += 1

    def _checked(self, reply: httpx.Response, url: str, attempt: int) -> httpx.Response:
        if reply.is_success or converter.is_context_length_error(reply.status_code, reply.text):
            return reply
        raise self._http_error(reply, url, attempt)

    def _backoff(self, attempt: int, reply: httpx.Response | None) -> float:
        ceiling = self.config.retry_max_delay_seconds
        retry_after = _retry_after_seconds(reply.headers.get("retry-after")) if reply is not None else None
        if retry_after is not None:
            return min(retry_after, ceiling)
        # Jitter spreads out the retries of many rollouts that failed together.
        return min(ceiling, self.config.retry_backoff_seconds * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)

    def _json_of(self, reply: httpx.Response) -> dict[str, Any]:
        try:
            data = reply.json()
        except ValueError:
            raise self._bad_reply(reply, "not JSON") from None
        if not isinstance(data, dict):
            raise self._bad_reply(reply, "not a JSON object")
        return data

    def _bad_reply(self, reply: httpx.Response, what: str) -> ServerError:
        return ServerError(
            f"model server reply is {what}: {self._shown(reply.text)}",
            code="model.bad_reply",
            location=Location(path=display_url(str(reply.request.url))),
            hint="Check that base_url points at an OpenAI-compatible server root such as http://host:8000/v1.",
        )

    def _http_error(self, reply: httpx.Response, url: str, attempt: int) -> ServerError:
        hint = _STATUS_HINTS.get(reply.status_code, "See the server's log for the cause.")
        return ServerError(
            f"model server answered HTTP {reply.status_code} after {attempt} attempt(s): {self._shown(reply.text)}",
            code="model.http",
            location=Location(path=display_url(url)),
            hint=hint,
        )

    def _transport_error(self, code: str, url: str, attempt: int, exc: Exception) -> ServerError:
        what = (
            f"did not answer within {self.config.timeout_seconds:g} s"
            if code == "model.timeout"
            else f"could not be reached ({type(exc).__name__}: {self._shown(str(exc))})"
        )
        return ServerError(
            f"model server {what} after {attempt} attempt(s)",
            code=code,
            location=Location(path=display_url(url)),
            hint="Check that the server is up and not overloaded (GET <base_url>/models); raise timeout_seconds "
            "or max_retries for slow generations.",
        )

    def _shown(self, text: str) -> str:
        """Return server text fit for a message: truncated, and with the API key masked if echoed."""
        key = self.config.api_key.get_secret_value()
        if key:
            text = text.replace(key, "***")
        return text if len(text) <= BODY_SHOWN_CHARS else text[:BODY_SHOWN_CHARS] + "... (truncated)"


_STATUS_HINTS = {
    401: "Set policy_api_key (or POLICY_API_KEY / OPENAI_API_KEY) to the key the server was started with.",
    403: "Set policy_api_key (or POLICY_API_KEY / OPENAI_API_KEY) to the key the server was started with.",
    404: "Check policy_base_url (it usually ends in /v1) and policy_model_name (GET <base_url>/models).",
    422: "The server rejected a request field; drop it from responses_create_params or sampling_overrides.",
    429: "The server is rate limiting; lower concurrency or raise max_retries.",
}


def _lane_sizes(concurrency: int) -> list[int]:
    """Split `concurrency` connections into lanes of at most LANE_CONNECTIONS, sizes differing by one at most."""
    count = -(-concurrency // LANE_CONNECTIONS)
    return [concurrency // count + (1 if index < concurrency % count else 0) for index in range(count)]


def _retry_after_seconds(value: str | None) -> float | None:
    """Return the wait a Retry-After header asks for (seconds or an HTTP date), None when absent or bad."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
