"""0.7.0's pairing keys on a resources server: `allowed_agents` and `allowed_model_types` (F5)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from gym_conform.errors import Problem

if TYPE_CHECKING:
    from gym_conform.core.config.loader import LoadedConfig
    from gym_conform.core.config.schema import ServerInstance

ALLOWED_AGENTS_KEY = "allowed_agents"
ALLOWED_MODEL_TYPES_KEY = "allowed_model_types"
ALLOW_UNSUPPORTED_PAIRING_KEY = "allow_unsupported_pairing"
ALLOW_UNSUPPORTED_PAIRING_ENV_VAR = "NEMO_GYM_ALLOW_UNSUPPORTED_PAIRING"
# Injected for runs that need no model (ng_prepare_data); never a runtime model choice, so never refused.
PLACEHOLDER_MODEL = "dummy_model"


def pairing_problems(cfg: LoadedConfig, instances: list[ServerInstance]) -> list[Problem]:
    """Return malformed pairing keys, and agents whose model type the resources server does not accept."""
    problems = [
        _shape_problem(cfg, instance, key)
        for instance in instances
        if instance.server_type == "resources_servers"
        for key in (ALLOWED_AGENTS_KEY, ALLOWED_MODEL_TYPES_KEY)
        if _declared(instance, key) is _MALFORMED
    ]
    if problems or _override(cfg):
        return problems
    by_name = {instance.name: instance for instance in instances}
    for agent, resources in _agent_pairs(instances, by_name):
        allowed = _declared(resources, ALLOWED_MODEL_TYPES_KEY)
        model = by_name.get(_ref_name(agent.fields.get("model_server")) or "")
        if not isinstance(allowed, list) or model is None or model.implementation == PLACEHOLDER_MODEL:
            continue
        if model.implementation not in allowed:
            problems.append(
                Problem(
                    "config.unsupported_model_pairing",
                    f"agent '{agent.name}' uses model server '{model.name}' (type '{model.implementation}'), but "
                    f"resources server '{resources.name}' accepts only: {', '.join(allowed)}",
                    cfg.locate((agent.name, agent.server_type, agent.implementation, "model_server", "name")),
                    f"Use a model server of type {allowed[0]}, or set ++{ALLOW_UNSUPPORTED_PAIRING_KEY}=true "
                    f"(or {ALLOW_UNSUPPORTED_PAIRING_ENV_VAR}=1) to bypass the check, as NeMo Gym allows.",
                )
            )
    return problems


def pairing_warnings(cfg: LoadedConfig, instances: list[ServerInstance]) -> list[Problem]:
    """Warn when a config pairs an agent type its own resources server does not list in `allowed_agents`.

    0.7.0 checks `allowed_agents` only when it swaps an agent in; a config that contradicts itself still
    runs there, so this is a warning.
    """
    by_name = {instance.name: instance for instance in instances}
    warnings = []
    for agent, resources in _agent_pairs(instances, by_name):
        allowed = _declared(resources, ALLOWED_AGENTS_KEY)
        if isinstance(allowed, list) and agent.implementation not in allowed:
            warnings.append(
                Problem(
                    "config.unlisted_agent_pairing",
                    f"agent '{agent.name}' is a {agent.implementation}, which resources server '{resources.name}' "
                    f"does not list in {ALLOWED_AGENTS_KEY} ({', '.join(allowed)})",
                    cfg.locate((resources.name, resources.server_type, resources.implementation, ALLOWED_AGENTS_KEY)),
                    f"Add '{agent.implementation}' to {ALLOWED_AGENTS_KEY} if it scores this task correctly.",
                )
            )
    return warnings


_MALFORMED = object()


def _declared(instance: ServerInstance, key: str) -> Any:
    """The list a pairing key declares; None when absent or empty; _MALFORMED when not a list of strings."""
    value = instance.fields.get(key)
    if not value:
        return None
    if isinstance(value, str):
        return [value]  # 0.7.0 takes a bare string (an `++...=name` override) as one entry
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    return _MALFORMED


def _shape_problem(cfg: LoadedConfig, instance: ServerInstance, key: str) -> Problem:
    what = "agent types" if key == ALLOWED_AGENTS_KEY else "model types"
    return Problem(
        f"config.{key}",
        f"'{instance.name}.{instance.server_type}.{instance.implementation}.{key}' must be a list of {what}, "
        f"got {instance.fields.get(key)!r}",
        cfg.locate((instance.name, instance.server_type, instance.implementation, key)),
        f"Write e.g. `{key}: [simple_agent]` (implementation names, as under responses_api_agents/).",
    )


def _agent_pairs(
    instances: list[ServerInstance], by_name: dict[str, ServerInstance]
) -> list[tuple[ServerInstance, ServerInstance]]:
    """Each agent with the resources server it references."""
    pairs = []
    for agent in instances:
        if agent.server_type != "responses_api_agents":
            continue
        resources = by_name.get(_ref_name(agent.fields.get("resources_server")) or "")
        if resources is not None and resources.server_type == "resources_servers":
            pairs.append((agent, resources))
    return pairs


def _ref_name(value: Any) -> str | None:
    return value.get("name") if isinstance(value, dict) and isinstance(value.get("name"), str) else None


def _override(cfg: LoadedConfig) -> bool:
    env = os.environ.get(ALLOW_UNSUPPORTED_PAIRING_ENV_VAR, "").lower()
    return bool(cfg.data.get(ALLOW_UNSUPPORTED_PAIRING_KEY)) or env not in ("", "0", "false")
