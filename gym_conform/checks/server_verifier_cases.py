"""The `verifier_cases` check: run NeMo Gym's declarative verifier fixture, tests/verifier_cases.jsonl, if present.

Each line is a case `{"name", "kind", "request", "expected_reward" | "expected_error"}` (NeMo Gym's
VerifierFixtureCase). Kinds full_reward, zero_reward and malformed are required (determinism too when the
manifest says `determinism: seeded`); each case runs on a fresh server instance. full_reward and zero_reward
must pin the best and worst end of the reward range (the manifest's `reward`, else the config's
`reward_range`; swapped when `higher_is_better: false`); malformed must fail request validation or make verify
raise, with `expected_error` in the error text; determinism runs the request on two fresh servers, which must
agree. `--gym-update-expected` rewrites each observed reward into `expected_reward` (one atomic rewrite).
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gym_conform.checks.base import CheckFailed, CheckSkipped
from gym_conform.checks.context import FolderContext
from gym_conform.checks.server_import import (
    close_server,
    fresh_server,
    reward_range,
    server_or_skip,
    skip_if_judged_by_standin,
    skip_if_needs_outside_help,
)
from gym_conform.checks.server_session import RESPONSE, VerifyFailed, row_only, verify_reward
from gym_conform.core.files import atomic_write_text
from gym_conform.core.jsonl import JsonLineError, iter_jsonl_lines, parse_json_line
from gym_conform.core.manifest import find_manifest, load_manifest
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


@dataclass(frozen=True)
class RewardContract:
    """What the rewards must be: the inclusive range, its better end, and whether verify is reproducible."""

    low: float
    high: float
    higher_is_better: bool = True
    determinism: str = "unknown"  # seeded / stochastic / unknown (the manifest's vocabulary)
    source: str = "config"

    @property
    def best(self) -> float:
        """Return the reward a perfect answer gets."""
        return self.high if self.higher_is_better else self.low

    @property
    def worst(self) -> float:
        """Return the reward a wrong answer gets."""
        return self.low if self.higher_is_better else self.high


def reward_contract(ctx: FolderContext, loaded: LoadedServer) -> RewardContract:
    """Return the reward contract: the folder's (or its environment's) manifest.yaml, else the server config."""
    low, high = reward_range(loaded)
    determinism = "stochastic" if loaded.config.stochastic else "unknown"
    path = find_manifest(ctx.folder, ctx.project_root)
    manifest = load_manifest(path, ctx.show(path)).manifest if path is not None else None
    if path is None or manifest is None:
        return RewardContract(low, high, True, determinism)
    low, high = manifest.reward.range
    return RewardContract(
        float(low), float(high), manifest.reward.higher_is_better, manifest.determinism.value, ctx.show(path)
    )


def check_verifier_cases(ctx: FolderContext) -> None:
    """Fail for every invalid or failing case of tests/verifier_cases.jsonl, each named with its line."""
    loaded = server_or_skip(ctx)
    skip_if_judged_by_standin(loaded, "the verifier cases' expected rewards")
    skip_if_needs_outside_help(ctx, loaded)
    path = ctx.folder.joinpath(*CASES_FILE)
    shown = ctx.show(path)
    if not path.is_file():
        raise CheckSkipped(f"no {shown} (NeMo Gym's declarative verifier cases are optional)")
    cases, problems = _read_cases(path, shown)
    contract = reward_contract(ctx, loaded)
    required = REQUIRED_KINDS + (("determinism",) if contract.determinism == "seeded" else ())
    missing = [kind for kind in required if not any(case.kind == kind for _, case in cases)]
    seeded_note = (
        "; the manifest says determinism: seeded, so a determinism case too" if "determinism" in missing else ""
    )
    if missing:
        problems.append(
            Problem(
                "verifier_cases.missing_kinds",
                f"the verifier fixture is missing required cases: {', '.join(missing)}",
                Location(shown),
                "add one case of each kind: full_reward (scores the best end of the reward range), zero_reward "
                "(the worst end) and malformed (a request that must be refused, with expected_error)" + seeded_note,
            )
        )
    # A stochastic verify (config flag or manifest) promises no reproducible reward: its determinism cases
    # cannot hold. 0.7.0 also skips them unless the manifest says seeded.
    skip_determinism = contract.determinism == "stochastic" or (
        contract.source != "config" and contract.determinism != "seeded"
    )
    not_run = [(line, case) for line, case in cases if case.kind == "determinism" and skip_determinism]
    if not_run:
        names = ", ".join(case.name for _, case in not_run)
        ctx.note(f"verifier_cases: determinism case(s) {names} not run: determinism is {contract.determinism}")
    update = ctx.settings.update_expected
    observed: dict[int, float] = {}
    for index, (line, case) in enumerate(cases):
        if (line, case) in not_run:
            continue
        failures, reward = ctx.run_async(_run_case(loaded, case, (contract.low, contract.high), ctx.server_url))
        for message in failures:
            problems.append(Problem("verifier_cases.failed", message, Location(shown, line), _CASE_HINT))
        if failures:
            continue
        # The expected reward must pin its end (when it differs from the observed one, that is reported
        # below); with --gym-update-expected the observed reward becomes expected, so it must pin.
        pinned = reward if update and reward is not None else case.expected_reward
        for message in _pin_problems(case, pinned, contract):
            problems.append(
                Problem("verifier_cases.case", message, Location(shown, line, "expected_reward"), _PIN_HINT)
            )
        if reward is None:
            continue
        if update:
            observed[index] = reward
        elif reward != case.expected_reward:
            problems.append(
                Problem(
                    "verifier_cases.failed",
                    f"{case.kind} case '{case.name}' expects reward {case.expected_reward}, observed {reward}",
                    Location(shown, line, "expected_reward"),
                    _CASE_HINT + " (--gym-update-expected rewrites expected_reward with the observed rewards)",
                )
            )
    if update and not problems:
        _update_expected(ctx, path, cases, observed)
    if problems:
        raise CheckFailed(problems, summary=f"{len(problems)} problem(s) in {shown}")


def _update_expected(
    ctx: FolderContext, path: Path, cases: list[tuple[int, VerifierCase]], observed: dict[int, float]
) -> None:
    """Rewrite the fixture with the observed rewards, as `gym env test --update-expected` does (one atomic write)."""
    updated = [
        case.model_copy(update={"expected_reward": observed[index]}) if index in observed else case
        for index, (_, case) in enumerate(cases)
    ]
    changed = sum(1 for (_, old), new in zip(cases, updated, strict=True) if old != new)
    if not changed:
        return
    if path.is_symlink() or not path.is_file():
        raise CheckFailed(
            [
                Problem(
                    "verifier_cases.update",
                    "refusing to replace a fixture that is not a regular file",
                    Location(ctx.show(path)),
                )
            ]
        )
    text = "".join(
        json.dumps(case.model_dump(mode="json", exclude_none=True), sort_keys=True) + "\n" for case in updated
    )
    atomic_write_text(path, text)
    ctx.note(f"updated expected_reward of {changed} case(s) in {ctx.show(path)} (--gym-update-expected)")


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


def _pin_problems(case: VerifierCase, reward: float | None, contract: RewardContract) -> list[str]:
    """Return why a full/zero-reward case does not pin its end of the reward range."""
    better = "higher" if contract.higher_is_better else "lower"
    if case.kind == "full_reward" and reward != contract.best:
        return [
            f"full-reward case '{case.name}' expects {reward}, not the best end of the reward range "
            f"{contract.best} ({better} is better, from {contract.source})"
        ]
    if case.kind == "zero_reward" and reward != contract.worst:
        return [
            f"zero-reward case '{case.name}' expects {reward}, not the worst end of the reward range "
            f"{contract.worst} ({better} is better, from {contract.source})"
        ]
    return []


async def _run_case(
    loaded: LoadedServer, case: VerifierCase, bounds: tuple[float, float], url: str | None = None
) -> tuple[list[str], float | None]:
    """Run one case on fresh server(s); return what went wrong and the observed reward (None: malformed)."""
    label = f"{case.kind} case '{case.name}'"
    model = loaded.server.verify_request_model()
    try:
        model.model_validate(case.request)
    except ValidationError as error:
        if case.kind != "malformed":
            return [f"{label}: the request does not match {model.__name__}: {_short(str(error))}"], None
        return _expected_error(label, case, str(error)), None
    if case.kind == "malformed":
        async with _fresh_client(loaded, url) as client:
            error_text, reward = await _error_or_reward(client, case.request)
        if error_text is not None:
            return _expected_error(label, case, error_text), None
        return [f"{label} did not raise an error: verify accepted it and scored {reward}"], None
    rewards = []
    for _ in range(2 if case.kind == "determinism" else 1):
        try:
            async with _fresh_client(loaded, url) as client:
                rewards.append(await verify_reward(client, case.request, case.request[RESPONSE], bounds))
        except VerifyFailed as failure:
            return [f"{label}: {failure.message}"], None
    if case.kind == "determinism" and rewards[0] != rewards[1]:
        return [f"{label}: two fresh servers scored {rewards[0]} and {rewards[1]}"], None
    return [], rewards[0]


@contextlib.asynccontextmanager
async def _fresh_client(loaded: LoadedServer, url: str | None = None) -> AsyncIterator[ServerClient]:
    """Yield an in-process client of a new instance of the server (or one of the server at `url`); close both."""
    if url is not None:
        # A running server cannot be made fresh: each case gets a new session of it.
        async with ServerClient.remote(url) as client:
            yield client
        return
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
    "full_reward must score the best end of the reward range and zero_reward the worst (the manifest's "
    "`reward.higher_is_better: false` swaps them); fix the case's request, or the range in the manifest or config"
)
_CASE_HINT = (
    "run the case's request against the server (e.g. in a unit test) to see why; if the server changed on "
    "purpose, update expected_reward / expected_error in the case"
)
