"""Pydantic schemas of NeMo Gym server instances, validated all at once with the file and line of each problem."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gym_conform.core.config.needs import defining_configs, needs_config_issue
from gym_conform.core.config.pairing import pairing_problems, pairing_warnings
from gym_conform.core.config.schema_datasets import (
    AnyDatasetConfig,
    BenchmarkDatasetConfig,
    DatasetConfig,
    Issue,
    config_error,
    issues_from_validation,
    validate_dataset,
)
from gym_conform.errors import Problem, ProblemsFound

if TYPE_CHECKING:
    from gym_conform.core.config.loader import LoadedConfig

__all__ = [
    "DATASET_HOMES",
    "RESERVED_TOP_LEVEL_KEYS",
    "SERVER_TYPES",
    "BenchmarkDatasetConfig",
    "DatasetConfig",
    "Domain",
    "ResourcesServerImplementationConfig",
    "ServerImplementationConfig",
    "ServerConfig",
    "ServerInstance",
    "parse_server_config",
    "parse_server_instances",
]

SERVER_TYPES = ("responses_api_models", "resources_servers", "responses_api_agents", "environment_servers")
MODEL_TYPE, RESOURCES_TYPE, AGENT_TYPE, ENVIRONMENT_TYPE = SERVER_TYPES
# Where 0.7.0 reads datasets from: resources servers (the normal home) and agents (self-contained or legacy).
DATASET_HOMES = (AGENT_TYPE, RESOURCES_TYPE)

# NeMo Gym's NEMO_GYM_RESERVED_TOP_LEVEL_KEYS: global settings, never server instances.
RESERVED_TOP_LEVEL_KEYS = frozenset(
    {
        "config_paths", "entrypoint", "default_host", "head_server", "disallowed_ports", "head_server_deps",
        "python_version", "pip_install_verbose", "use_absolute_ip", "uv_pip_set_python", "skip_venv_if_present",
        "hf_token", "ray_head_node_address", "port_range_low", "port_range_high", "dry_run",
        "model_endpoint_readiness_timeout_seconds", "allow_openai_version_skew", "uv_cache_dir", "uv_venv_dir",
        "results_dir", "cache_dir", "_inherit_from", "_copy", "nemo_gym_log_dir", "verbose", "json", "query",
        "observability_enabled", "model_call_capture_dir", "token_id_capture", "component_name",
        "skip_verification", "skip_verification_reward", "server_spinup_timeout_seconds", "uv_lock_timeout_seconds",
        "telemetry", "allow_unsupported_pairing", "environment_server_name", "environment_server_routes",
        "environment_routing_mode",
    }
)  # fmt: skip


class Domain(str, Enum):
    """The capability a resources server trains or evaluates (NeMo Gym's exact values)."""

    MATH = "math"
    CODING = "coding"
    AGENT = "agent"
    KNOWLEDGE = "knowledge"
    INSTRUCTION_FOLLOWING = "instruction_following"
    LONG_CONTEXT = "long_context"
    SAFETY = "safety"
    GAMES = "games"
    TRANSLATION = "translation"
    E2E = "e2e"
    RLHF = "rlhf"
    OTHER = "other"


_DOMAIN_VALUES = tuple(domain.value for domain in Domain)


class ServerImplementationConfig(BaseModel):
    """The `<implementation>:` block of a server instance; fields a server reads itself pass through."""

    model_config = ConfigDict(extra="allow")
    entrypoint: str
    host: str | None = None
    port: int | None = None
    num_workers: int | None = None
    datasets: list[Any] | None = None


class ResourcesServerImplementationConfig(ServerImplementationConfig):
    """A resources server's implementation block, which must name its `domain`."""

    domain: Domain | None = Field(default=None, validate_default=True)

    @field_validator("domain", mode="before")
    @classmethod
    def _domain_valid(cls, value: Any) -> Any:
        """Require one of the 12 Domain values, suggesting the closest one."""
        valid = ", ".join(_DOMAIN_VALUES)
        if value is None:
            raise config_error(
                "config.domain.missing",
                "A domain is required for resources servers.",
                f"Add `domain: <value>` with one of: {valid} (use `other` when none fits).",
            )
        if isinstance(value, Domain) or value in _DOMAIN_VALUES:
            return value
        close = difflib.get_close_matches(str(value), _DOMAIN_VALUES, n=1)
        guess = f"Did you mean '{close[0]}'? " if close else ""
        raise config_error(
            "config.domain.invalid",
            f"'{value}' is not a valid domain; valid domains are: {valid}",
            f"{guess}Use one of: {valid}.",
        )


@dataclass(frozen=True)
class ServerInstance:
    """One validated server instance: `name: {server_type: {implementation: fields}}`."""

    name: str
    server_type: str
    implementation: str
    fields: dict = field(default_factory=dict)
    datasets: list[AnyDatasetConfig] = field(default_factory=list)


@dataclass(frozen=True)
class ServerConfig:
    """The server instances of a merged config, and what is worth saying about it without failing."""

    instances: list[ServerInstance]
    warnings: list[Problem] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)


def parse_server_instances(cfg: LoadedConfig) -> list[ServerInstance]:
    """Return every server instance in config key order; raise one ProblemsFound listing every problem."""
    return parse_server_config(cfg).instances


def parse_server_config(cfg: LoadedConfig) -> ServerConfig:
    """Validate every server instance (0.7.0's rules); raise one ProblemsFound listing every problem.

    A block with a server type but no `entrypoint` in any implementation is no server for NeMo Gym (an
    overlay that completes a server defined in another config): it is skipped with a note, as 0.7.0 skips it.
    """
    candidates: list[tuple[str, dict]] = []
    overlays: list[tuple[str, dict]] = []
    for name, block in cfg.data.items():
        if name in RESERVED_TOP_LEVEL_KEYS or not isinstance(block, dict) or not _server_types(block):
            continue
        (candidates if _has_entrypoint(block) else overlays).append((name, block))
    defined = {name: _server_types(block)[0] for name, block in candidates if len(_server_types(block)) == 1}
    instances: list[ServerInstance] = []
    problems: list[Problem] = []
    warnings: list[Problem] = []
    for name, block in candidates:
        instance, issues = _validate_instance(name, block)
        if instance is not None:
            issues += _reference_issues(instance, defined, cfg)
            issues += _dataset_home_issues(instance)
        for issue in issues:
            problem = Problem(issue.code, issue.message, cfg.locate((name, *issue.path)), issue.hint)
            (warnings if issue.warning else problems).append(problem)
        if instance is not None and not any(not issue.warning for issue in issues):
            instances.append(instance)
    if not problems:
        problems += pairing_problems(cfg, instances)
        warnings += pairing_warnings(cfg, instances)
    if problems:
        raise ProblemsFound(problems, summary=f"{len(problems)} problem(s) found in the server configs")
    notes = [_overlay_note(name, block, cfg) for name, block in overlays]
    return ServerConfig(instances, warnings, notes)


def buildable_instances(cfg: LoadedConfig) -> list[ServerInstance]:
    """Return every instance block whose shape lets a server be built, whatever else its config gets wrong.

    For building one server (the server level): a dataset, license or reference problem is the static level's
    business (the `config` check reports it), never a reason not to build the server.
    """
    found = []
    for name, block in cfg.data.items():
        if name in RESERVED_TOP_LEVEL_KEYS or not isinstance(block, dict) or not _server_types(block):
            continue
        if _has_entrypoint(block):
            instance, _ = _validate_instance(name, block)
            if instance is not None:
                found.append(instance)
    return found


def _has_entrypoint(block: dict) -> bool:
    """Tell whether any implementation names an entrypoint (0.7.0's "almost server" test), or misspells it.

    A misspelt `entrypoint` makes NeMo Gym skip the server without a word; here it is a server whose
    missing entrypoint is reported.
    """
    return any(
        isinstance(impl, dict) and ("entrypoint" in impl or difflib.get_close_matches("entrypoint", map(str, impl)))
        for server_type in _server_types(block)
        if isinstance(block[server_type], dict)
        for impl in block[server_type].values()
    )


def _overlay_note(name: str, block: dict, cfg: LoadedConfig) -> Problem:
    """Say that a block without an entrypoint only completes a server another config defines."""
    server_type = _server_types(block)[0]
    return Problem(
        "config.overlay",
        f"'{name}' has no entrypoint, so it is no server here: it adds keys to a {server_type} instance that "
        "another config defines, and NeMo Gym skips it when that config is not loaded",
        cfg.locate((name,)),
        "Load it together with the config that defines the server (NeMo Gym merges the two), or add "
        "`entrypoint: app.py` if this block is meant to be a server of its own.",
    )


def _dataset_home_issues(instance: ServerInstance) -> list[Issue]:
    """Datasets belong on resources servers or agents: an error on model servers, ignored on the others."""
    if not instance.datasets or instance.server_type in DATASET_HOMES:
        return []
    path = (instance.server_type, instance.implementation, "datasets")
    if instance.server_type == MODEL_TYPE:
        return [
            Issue(
                path,
                "config.datasets_on_model",
                f"Datasets cannot be declared on model servers ('{instance.name}')",
                "Declare them on the resources server that owns their task schema (or on the agent for a "
                "self-contained environment).",
            )
        ]
    return [
        Issue(
            path,
            "config.datasets_ignored",
            f"'{instance.name}' is an {instance.server_type} instance: NeMo Gym reads no datasets from it",
            "Move the datasets to the resources server the environment server binds.",
            warning=True,
        )
    ]


def _server_types(block: dict) -> list[str]:
    """Return the server-type keys present in an instance block."""
    return [server_type for server_type in SERVER_TYPES if server_type in block]


def _validate_instance(name: str, block: dict) -> tuple[ServerInstance | None, list[Issue]]:
    """Validate one instance block; return it (None if its shape is unusable) and every problem in it."""
    server_types = _server_types(block)
    if len(server_types) > 1:
        return None, [
            Issue(
                (server_types[1],),
                "config.server.type",
                f"Server instance '{name}' has {len(server_types)} server types ({', '.join(server_types)}); "
                "an instance has exactly one",
                "Split it into one top-level instance per server type.",
            )
        ]
    server_type = server_types[0]
    implementations = block[server_type]
    if not isinstance(implementations, dict) or len(implementations) != 1:
        found = list(implementations) if isinstance(implementations, dict) else []
        listed = f": {', '.join(map(str, found))}" if found else ""
        return None, [
            Issue(
                (server_type,),
                "config.server.implementations",
                f"Server instance '{name}' must have exactly one implementation under {server_type}, "
                f"found {len(found)}{listed}",
                f"Keep one implementation (a directory name under {server_type}/) per instance and give "
                "another implementation its own top-level instance name.",
            )
        ]
    implementation, fields = next(iter(implementations.items()))
    prefix = (server_type, implementation)
    if not isinstance(fields, dict):
        return None, [
            Issue(
                prefix,
                "config.server.invalid",
                f"The {implementation} block of server instance '{name}' must be a mapping of fields, "
                f"got {type(fields).__name__}",
                "Add `entrypoint: app.py` and the server's fields below the implementation name.",
            )
        ]
    model_cls = (
        ResourcesServerImplementationConfig if server_type == "resources_servers" else ServerImplementationConfig
    )
    issues: list[Issue] = []
    try:
        model_cls.model_validate(fields)
    except ValidationError as exc:
        block_issues = issues_from_validation(exc, fields, f"server instance '{name}'", "config.server", lambda _: [])
        issues += [Issue((*prefix, *i.path), i.code, i.message, i.hint) for i in block_issues]
    datasets: list[AnyDatasetConfig] = []
    raw_datasets = fields.get("datasets")
    for index, raw in enumerate(raw_datasets if isinstance(raw_datasets, list) else []):
        dataset, dataset_issues = validate_dataset(raw)
        issues += [replace(i, path=(*prefix, "datasets", index, *i.path)) for i in dataset_issues]
        if dataset is not None:
            datasets.append(dataset)
    return ServerInstance(name, server_type, implementation, dict(fields), datasets), issues


def _reference_issues(instance: ServerInstance, defined: dict[str, str], cfg: LoadedConfig) -> list[Issue]:
    """Check every `{type: <server type>, name: <instance>}` field names an instance of that type."""
    issues = []
    for field_name, value in instance.fields.items():
        if not (isinstance(value, dict) and value.get("type") in SERVER_TYPES and isinstance(value.get("name"), str)):
            continue
        wanted_type, target = value["type"], value["name"]
        if defined.get(target) == wanted_type:
            continue
        same_type = [name for name, server_type in defined.items() if server_type == wanted_type]
        close = difflib.get_close_matches(str(target), same_type, n=3, cutoff=0.6)
        if close:
            hint = "Did you mean: " + ", ".join(repr(name) for name in close) + "?"
        else:
            hint = f"Available {wanted_type}: " + (", ".join(repr(name) for name in sorted(same_type)) or "(none)")
        if target in defined:
            hint = f"'{target}' is a {defined[target]} instance. {hint}"
        else:
            needed = defining_configs(target, wanted_type, cfg)
            if needed:
                issues.append(needs_config_issue(instance, field_name, wanted_type, target, needed))
                continue
            if not close:
                hint += f". No config beside this one defines '{target}': define it in a config you add to config_paths"
        issues.append(
            Issue(
                (instance.server_type, instance.implementation, field_name, "name"),
                "config.bad_ref",
                f"In server instance '{instance.name}', field '{field_name}' references {wanted_type}/'{target}', "
                "which is not defined in the merged config.",
                hint,
            )
        )
    return issues
