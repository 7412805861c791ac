"""The `verifier_cases` check: run NeMo Gym's declarative verifier fixture, tests/verifier_cases.jsonl, if present.

Each line is a case `{"name", "kind", "request", "expected_reward" | "expected_error"}` (NeMo Gym's
VerifierFixtureCase). Kinds full_reward, zero_reward and malformed are required; each case runs on a fresh
server instance. full_reward and zero_reward must pin the top and bottom of the declared reward_range
(higher is better); malformed must fail request validation or make verify raise, with `expected_error`
in the error text; determinism runs the request on two fresh servers, which must agree.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gym_conform.checks.base import CheckFailed, CheckSkipped
from gym_conform.checks.context import FolderContext
from gym_conform.checks.server_import import close_server, fresh_server, reward_range, server_or_skip
from gym_conform.checks.server_session import RESPONSE, VerifyFailed, row_only, verify_reward
from gym_conform.core.jsonl import JsonLineError, iter_jsonl_lines, parse_json_line
from gym_conform.core.rows import json_path
from gym_conform.errors import Location, Problem, ServerError
from gym_conform.server import LoadedServer, ServerClient

CASES_FILE = ("tests", "verifier_cases.jsonl")
REQUIRED_KINDS = ("full_reward", "zero_reward", "malformed")
CaseKind = Literal["full_reward", "zero_reward", "malformed", "determinism"]
_SHOWN_ERROR_CHARS = 300


class VerifierCase(BaseModel):
    """One fixture case; malformed cases name an expected error, every other kind an expected reward."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1)
    kind: CaseKind
    request: dict[str, Any]
    expected_reward: float | None = None
    expected_error: str | None = None

    @field_validator("expected_reward", mode="before")
    @classmethod
    def _finite_number(cls, value: Any) -> Any:
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ValueError("expected_reward must be a number")
        if value is not None and not math.isfinite(value):
            raise ValueError("expected_reward must be finite")
        return value

    @model_validator(mode="after")
    def _expectation_matches_kind(self) -> VerifierCase:
        if self.kind == "malformed":
            if self.expected_error is None or self.expected_reward is not None:
                raise ValueError("a malformed case needs expected_error and no expected_reward")
        elif self.expected_reward is None or self.expected_error is not None:
            raise ValueError(f"a {self.kind} case needs expected_reward and no expected_error")
        return self


def check_verifier_cases(ctx: FolderContext) -> None:
    """Fail for every invalid or failing case of tests/verifier_cases.jsonl, each named with its line."""
    loaded = server_or_skip(ctx)
    path = ctx.folder.joinpath(*CASES_FILE)
    shown = ctx.show(path)
    if not path.is_file():
        raise CheckSkipped(f"no {shown} (NeMo Gym's declarative verifier cases are optional)")
    cases, problems = _read_cases(path, shown)
    low, high = bounds = reward_range(loaded)
    missing = [kind for kind in REQUIRED_KINDS if not any(case.kind == kind for _, case in cases)]
    if missing:
        problems.append(
            Problem(
                "verifier_cases.missing_kinds",
                f"the verifier fixture is missing required cases: {', '.join(missing)}",
                Location(shown),
                "add one case of each kind: full_reward (scores the top of reward_range), zero_reward (the "
                "bottom) and malformed (a request that must be refused, with expected_error)",
            )
        )
    # A server declared stochastic promises no reproducible reward, so its determinism cases cannot hold.
    not_run = [(line, case) for line, case in cases if case.kind == "determinism" and loaded.config.stochastic]
    if not_run:
        names = ", ".join(case.name for _, case in not_run)
        ctx.note(f"verifier_cases: determinism case(s) {names} not run: the server declares stochastic: true")
    for line, case in cases:
        for message in _pin_problems(case, low, high):
            problems.append(
                Problem("verifier_cases.case", message, Location(shown, line, "expected_reward"), _PIN_HINT)
            )
        if (line, case) in not_run:
            continue
        for message in ctx.run_async(_run_case(loaded, case, bounds)):
            problems.append(Problem("verifier_cases.failed", message, Location(shown, line), _CASE_HINT))
    if problems:
        raise CheckFailed(problems, summary=f"{len(problems)} problem(s) in {shown}")


def _read_cases(path: Path, shown: str) -> tuple[list[tuple[int, VerifierCase]], list[Problem]]:
    cases, problems = [], []
    for line, text in iter_jsonl_lines(path):
        try:
            raw = parse_json_line(text)
        except JsonLineError as error:
            problems += error.at(shown, line).problems
            continue
        try:
            cases.append((line, VerifierCase.model_validate(raw)))
        except ValidationError as error:
            for item in error.errors(include_url=False):
                problems.append(
                    Problem(
                        "verifier_cases.schema",
                        f"invalid case: {item['msg']}",
                        Location(shown, line, json_path("", item["loc"]) or None),
                        'a case is {"name": ..., "kind": "full_reward|zero_reward|malformed|determinism", '
                        '"request": {...}, "expected_reward": <number>} (malformed: "expected_error": <text>)',
                    )
                )
    return cases, problems


def _pin_problems(case: VerifierCase, low: float, high: float) -> list[str]:
    """Return why a full/zero-reward case does not pin its end of the reward range (higher is better)."""
    if case.kind == "full_reward" and case.expected_reward != high:
        return [f"full-reward case '{case.name}' expects {case.expected_reward}, not the top of reward_range {high}"]
    if case.kind == "zero_reward" and case.expected_reward != low:
        return [f"zero-reward case '{case.name}' expects {case.expected_reward}, not the bottom of reward_range {low}"]
    return []


async def _run_case(loaded: LoadedServer, case: VerifierCase, bounds: tuple[float, float]) -> list[str]:
    """Run one case on fresh server(s); return what went wrong ([] when the case holds)."""
    label = f"{case.kind} case '{case.name}'"
    model = loaded.server.verify_request_model()
    try:
        model.model_validate(case.request)
    except ValidationError as error:
        if case.kind != "malformed":
            return [f"{label}: the request does not match {model.__name__}: {_short(str(error))}"]
        return _expected_error(label, case, str(error))
    if case.kind == "malformed":
        async with _fresh_client(loaded) as client:
            error_text, reward = await _error_or_reward(client, case.request)
        if error_text is not None:
            return _expected_error(label, case, error_text)
        return [f"{label} did not raise an error: verify accepted it and scored {reward}"]
    rewards = []
    for _ in range(2 if case.kind == "determinism" else 1):
        try:
            async with _fresh_client(loaded) as client:
                rewards.append(await verify_reward(client, case.request, case.request[RESPONSE], bounds))
        except VerifyFailed as failure:
            return [f"{label}: {failure.message}"]
    if case.kind == "determinism" and rewards[0] != rewards[1]:
        return [f"{label}: two fresh servers scored {rewards[0]} and {rewards[1]}"]
    if rewards[0] != case.expected_reward:
        return [f"{label} expects reward {case.expected_reward}, observed {rewards[0]}"]
    return []


@contextlib.asynccontextmanager
async def _fresh_client(loaded: LoadedServer) -> AsyncIterator[ServerClient]:
    """Yield an in-process client of a new instance of the server; close both afterwards."""
    server = fresh_server(loaded)
    client = ServerClient.in_process(server)
    try:
        yield client
    finally:
        await client.aclose()
        close_server(server)


async def _error_or_reward(client: ServerClient, request: dict) -> tuple[str | None, Any]:
    """Seed and verify `request`; return the server's error text if it refused or failed, else the reward."""
    session = client.rollout()
    try:
        await session.seed_session(row_only(request))
        answer = await session.verify(request)
    except ServerError as error:
        return error.message, None
    return None, answer.get("reward")


def _expected_error(label: str, case: VerifierCase, text: str) -> list[str]:
    if case.expected_error is not None and case.expected_error in text:
        return []
    return [f"{label} raised, but the error does not contain {case.expected_error!r}: {_short(text)}"]


def _short(text: str) -> str:
    return text if len(text) <= _SHOWN_ERROR_CHARS else text[:_SHOWN_ERROR_CHARS] + "..."


_PIN_HINT = (
    "higher is better: full_reward must expect the top of the server's reward_range and zero_reward the "
    "bottom; fix expected_reward, or reward_range in the server config"
)
_CASE_HINT = (
    "run the case's request against the server (e.g. in a unit test) to see why; if the server changed on "
    "purpose, update expected_reward / expected_error in the case"
)
