"""NeMo Gym 0.7.0's `manifest.yaml` of an environment or benchmark: the schema, SPDX licensing, located problems.

The rules are those of 0.7.0's manifest validator (`gym env validate NAME`): closed vocabularies, an ordered
`reward.range`, unique authors and dataset names, the fields each `integration_profile` requires, and a
`licensing` that is an SPDX license expression or one of internal / proprietary / unknown. Unlike 0.7.0,
every problem is reported (not only the first), each at its YAML line.
"""

from __future__ import annotations

import enum
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from gym_conform.core.config.schema import Domain
from gym_conform.core.config.sourcemap import Source, load_yaml
from gym_conform.errors import GymConformError, Location, Problem

MANIFEST_NAME = "manifest.yaml"
PRIVATE_LICENSES = frozenset({"internal", "proprietary", "unknown"})
_CALLABLE = r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$"
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class Kind(str, enum.Enum):
    """What the manifest describes."""

    ENVIRONMENT = "environment"
    BENCHMARK = "benchmark"


class Profile(str, enum.Enum):
    """How the environment plugs into NeMo Gym (decides which server fields are required)."""

    CUSTOM_GYM_VERIFIER = "custom-gym-verifier"
    CUSTOM_GYM_AGENT_LOOP = "custom-gym-agent-loop"
    EXTERNAL_AGENT_LOOP = "external-agent-loop"
    EXTERNAL_ROLLOUT_DRIVER = "external-rollout-driver"


PROFILE_REQUIRES: dict[Profile, tuple[str, ...]] = {
    Profile.CUSTOM_GYM_VERIFIER: ("model_server", "resources_server"),
    Profile.CUSTOM_GYM_AGENT_LOOP: ("model_server",),
    Profile.EXTERNAL_AGENT_LOOP: (),
    Profile.EXTERNAL_ROLLOUT_DRIVER: ("rollout_driver",),
}


class Determinism(str, enum.Enum):
    """Whether verify() gives the same reward twice: seeded (after a reseed), stochastic, or unknown."""

    SEEDED = "seeded"
    STOCHASTIC = "stochastic"
    UNKNOWN = "unknown"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, validate_default=True)


class Reward(_Strict):
    """The reward's inclusive range and its direction."""

    range: tuple[float, float]
    higher_is_better: bool

    @field_validator("range")
    @classmethod
    def _ordered_and_finite(cls, value: tuple[float, float]) -> tuple[float, float]:
        if not all(math.isfinite(end) for end in value):
            raise ValueError("both ends must be finite numbers")
        if value[0] > value[1]:
            raise ValueError(f"must be ordered lower <= upper, got [{value[0]}, {value[1]}]")
        return value

    @property
    def best(self) -> float:
        """Return the end of the range a perfect answer gets."""
        return self.range[1] if self.higher_is_better else self.range[0]

    @property
    def worst(self) -> float:
        """Return the end of the range a wrong answer gets."""
        return self.range[0] if self.higher_is_better else self.range[1]


class ManifestDataset(_Strict):
    """One dataset the manifest mirrors from the config."""

    name: Text
    type: Annotated[str, Field(pattern="^(train|validation|example|benchmark)$")]
    jsonl_fpath: Text
    prepare_script: Text | None = None
    prompt_config: Text | None = None
    num_repeats: int = Field(default=1, ge=1)


class AdoptedFrom(_Strict):
    """Where an adopted environment came from."""

    source: Text
    ref: Text
    reconciled: str | Any


class Manifest(_Strict):
    """A `manifest.yaml`; cross-field rules are in `contract_problems` so that each gets its own line."""

    name: Text
    version: Text
    experimental: bool = True
    kind: Kind
    integration_profile: Profile
    domain: Domain
    description: Text
    modality: Text
    licensing: Text = "unknown"
    authors: list[Text] = Field(min_length=1)
    reward: Reward
    determinism: Determinism = Determinism.UNKNOWN
    config_path: Text = "config.yaml"
    dataset_owner: Text | None = None
    resources_server: Text | None
    agent_server: Text
    datasets: list[ManifestDataset] = Field(min_length=1)
    model_server: Text | None = None
    rollout_driver: Annotated[str, StringConstraints(pattern=_CALLABLE)] | None = None
    grading_mode: Text | None = None
    session_model: Annotated[str, Field(pattern="^(episode|step)$")] | None = None
    state: Annotated[str, Field(pattern="^(none|per_session)$")] | None = None
    sandbox: Text | None = None
    canonical_split: Text | None = None
    prompt_source: Annotated[str, Field(pattern="^(template|prepared|agent)$")] = "template"
    standard_prompt_config: Text | None = None
    adopted_from: AdoptedFrom | None = None
    lifecycle: Annotated[str, Field(pattern="^(active|deprecated)$")] = "active"


@dataclass(frozen=True)
class LoadedManifest:
    """A manifest file: the model when it validates (else None), every problem, and the YAML lines."""

    path: Path
    shown: str
    manifest: Manifest | None
    problems: list[Problem]


def load_manifest(path: Path, shown: str | None = None) -> LoadedManifest:
    """Read and validate a manifest.yaml; never raises for bad content (problems are returned)."""
    shown = shown or str(path)
    try:
        data, source = load_yaml(Path(path))
    except GymConformError as error:
        return LoadedManifest(Path(path), shown, None, [_relocated(p, shown) for p in error.problems])
    except OSError as error:
        return LoadedManifest(Path(path), shown, None, [Problem("manifest.unreadable", str(error), Location(shown))])
    if not isinstance(data, dict):
        problem = Problem(
            "manifest.invalid", "a manifest must be a mapping of keys", Location(shown, 1), "see `gym env init`"
        )
        return LoadedManifest(Path(path), shown, None, [problem])
    problems: list[Problem] = []
    manifest: Manifest | None = None
    try:
        manifest = Manifest.model_validate(data)
    except ValidationError as error:
        problems += [_schema_problem(detail, source, shown) for detail in error.errors(include_url=False)]
    problems += licensing_problems(data.get("licensing"), source, shown)
    if manifest is not None:
        problems += contract_problems(manifest, source, shown)
    return LoadedManifest(Path(path), shown, manifest if not problems else None, problems)


def licensing_problems(value: Any, source: Source, shown: str) -> list[Problem]:
    """Return the problem of a `licensing` value that is neither an SPDX expression nor a private marker."""
    if not isinstance(value, str) or value.strip() in PRIVATE_LICENSES:
        return []
    reason = spdx_problem(value.strip())
    if reason is None:
        return []
    return [
        Problem(
            "manifest.licensing",
            f"licensing {value!r} is not an SPDX license expression: {reason}",
            Location(shown, source.lines.get(("licensing",)), "licensing"),
            "write an SPDX expression such as `Apache-2.0`, `MIT OR Apache-2.0` or `CC-BY-4.0` (ids from "
            "https://spdx.org/licenses/), or internal / proprietary / unknown",
        )
    ]


def spdx_problem(expression: str) -> str | None:
    """Return why `expression` is not a valid SPDX license expression, or None when it is.

    Uses `packaging.licenses` (what 0.7.0 uses: ids checked against the SPDX list) when it is installed,
    else a parser of the expression grammar that accepts any well-formed id.
    """
    try:
        from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression
    except ImportError:
        return _parse_spdx(expression)
    try:
        canonicalize_license_expression(expression)
    except InvalidLicenseExpression as error:
        return str(error)
    return None


_SPDX_TOKEN = re.compile(r"\s*(\(|\)|[A-Za-z0-9][A-Za-z0-9.\-]*\+?|:|\S)")
_OPERATORS = {"AND", "OR", "WITH"}


def _parse_spdx(expression: str) -> str | None:
    """Check the SPDX grammar: ids (`LicenseRef-`/`DocumentRef-` too), `+`, WITH, AND, OR and parentheses."""
    tokens = [t for t in _SPDX_TOKEN.findall(expression) if t.strip()]
    position = 0

    def peek() -> str | None:
        return tokens[position] if position < len(tokens) else None

    def license_id() -> str | None:
        nonlocal position
        token = peek()
        if token is None:
            return "ends where a license id is expected"
        if token == "(":
            position += 1
            error = or_expression()
            if error:
                return error
            if peek() != ")":
                return "a '(' is never closed"
            position += 1
            return None
        if token.upper() in _OPERATORS or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.\-]*\+?", token):
            return f"{token!r} is not a license id"
        position += 1
        if peek() == ":" and token.startswith("DocumentRef-"):
            position += 1
            return license_id()
        if peek() and peek().upper() == "WITH":  # type: ignore[union-attr]
            position += 1
            exception = peek()
            if exception is None or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.\-]*", exception):
                return "WITH must be followed by an exception id"
            position += 1
        return None

    def or_expression() -> str | None:
        nonlocal position
        error = license_id()
        while error is None and peek() is not None and peek().upper() in ("AND", "OR"):  # type: ignore[union-attr]
            position += 1
            error = license_id()
        return error

    error = or_expression()
    if error is None and peek() is not None:
        error = f"unexpected {peek()!r}"
    return error


def contract_problems(manifest: Manifest, source: Source, shown: str) -> list[Problem]:
    """Return the cross-field rules 0.7.0 enforces: profile fields, benchmark fields, prompts, unique names."""
    problems: list[Problem] = []

    def add(code: str, key: tuple, message: str, hint: str) -> None:
        line = source.lines.get(key) or source.lines.get(key[:1])
        problems.append(Problem(code, message, Location(shown, line, ".".join(map(str, key))), hint))

    for name in PROFILE_REQUIRES[manifest.integration_profile]:
        if getattr(manifest, name) is None:
            add(
                "manifest.profile_field",
                ("integration_profile",),
                f"integration_profile {manifest.integration_profile.value} requires `{name}`",
                f"add `{name}: ...` (the {name.replace('_', ' ')} the config wires)",
            )
    if manifest.rollout_driver is not None and manifest.integration_profile != Profile.EXTERNAL_ROLLOUT_DRIVER:
        add(
            "manifest.profile_field",
            ("rollout_driver",),
            "rollout_driver is only valid with integration_profile external-rollout-driver",
            "remove it",
        )
    if manifest.kind == Kind.BENCHMARK:
        if manifest.canonical_split is None:
            add("manifest.benchmark", ("kind",), "a benchmark requires `canonical_split`", "name the split scored")
        if not any(d.type == "benchmark" for d in manifest.datasets):
            add("manifest.benchmark", ("datasets",), "a benchmark requires a benchmark dataset", "add one")
        if manifest.prompt_source == "template" and manifest.standard_prompt_config is None:
            add(
                "manifest.benchmark",
                ("prompt_source",),
                "a template-prompt benchmark requires `standard_prompt_config`",
                "name the prompt config",
            )
    for index, dataset in enumerate(manifest.datasets):
        if dataset.type == "benchmark" and dataset.prepare_script is None:
            add("manifest.benchmark", ("datasets", index), "a benchmark dataset requires `prepare_script`", "add it")
        if dataset.prompt_config is not None and manifest.prompt_source != "template":
            add(
                "manifest.prompt",
                ("datasets", index, "prompt_config"),
                "dataset.prompt_config is only valid for template prompts",
                "remove it or set prompt_source: template",
            )
    if manifest.prompt_source == "prepared" and manifest.standard_prompt_config is not None:
        add("manifest.prompt", ("standard_prompt_config",), "forbidden for prepared prompts", "remove it")
    for what, values, key in (
        ("authors", manifest.authors, "authors"),
        ("dataset names", _names(manifest), "datasets"),
    ):
        repeated = sorted({value for value in values if values.count(value) > 1})
        if repeated:
            add("manifest.duplicate", (key,), f"{what} must be unique: {', '.join(repeated)} repeated", "keep one")
    return problems


def _names(manifest: Manifest) -> list[str]:
    return [dataset.name for dataset in manifest.datasets]


def _schema_problem(detail: Any, source: Source, shown: str) -> Problem:
    """Turn one pydantic error into a located problem (the YAML line of the key, else of its nearest parent)."""
    loc = tuple(part for part in detail["loc"] if not (isinstance(part, str) and part.startswith("function-")))
    key = loc
    while key and key not in source.lines:
        key = key[:-1]
    field = "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p)) for i, p in enumerate(loc))
    location = Location(shown, source.lines.get(key) if key else 1, field or None)
    name = next((part for part in reversed(loc) if isinstance(part, str)), "")
    if detail["type"] == "extra_forbidden":
        return Problem("manifest.unknown_key", f"unknown key {name!r}", location, _known_keys_hint(loc))
    if detail["type"] == "missing":
        return Problem("manifest.missing_field", f"`{name}` is required", location, f"add `{name}: ...`")
    message = detail["msg"].removeprefix("Value error, ")
    return Problem("manifest.invalid", f"{name or 'manifest'}: {message}", location, _value_hint(name))


def _known_keys_hint(loc: tuple) -> str:
    model: type[BaseModel] = Manifest
    if loc[:1] == ("reward",):
        model = Reward
    elif loc[:1] == ("datasets",):
        model = ManifestDataset
    return "known keys here: " + ", ".join(model.model_fields)


def _value_hint(name: str) -> str:
    choices = {
        "kind": [k.value for k in Kind],
        "integration_profile": [p.value for p in Profile],
        "determinism": [d.value for d in Determinism],
        "domain": [d.value for d in Domain],
    }.get(name)
    return f"use one of: {', '.join(choices)}" if choices else "see `gym env init --environment NAME`'s manifest"


def _relocated(problem: Problem, shown: str) -> Problem:
    return Problem(
        problem.code, problem.message, Location(shown, problem.location.line, problem.location.field), problem.hint
    )


def find_manifest(folder: Path, project_root: Path) -> Path | None:
    """Return the manifest of a folder: its own manifest.yaml, else an environment's naming it as resources_server."""
    own = Path(folder) / MANIFEST_NAME
    if own.is_file():
        return own
    environments = Path(project_root) / "environments"
    if not environments.is_dir():
        return None
    pattern = re.compile(rf"^resources_server:\s*['\"]?{re.escape(Path(folder).name)}['\"]?\s*$", re.MULTILINE)
    for candidate in sorted(environments.glob(f"*/{MANIFEST_NAME}")):
        try:
            if pattern.search(candidate.read_text(encoding="utf-8")):
                return candidate
        except (OSError, UnicodeDecodeError):
            continue
    return None
