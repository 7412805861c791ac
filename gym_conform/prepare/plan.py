"""Choose the datasets a mode reads, in NeMo Gym's collation order, and the routing key their rows get."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gym_conform.core.config.loader import LoadedConfig, resolve_read_path
from gym_conform.core.config.schema import DATASET_HOMES, ServerInstance
from gym_conform.core.files import display_path
from gym_conform.errors import ConfigError, Location, Problem, ProblemsFound

AGENT_SERVER_TYPE = "responses_api_agents"
RESOURCES_SERVER_TYPE = "resources_servers"
ENVIRONMENT_SERVER_TYPE = "environment_servers"
AGENT_REF = "agent_ref"
TASK_SOURCE = "task_source"
ROUTINGS = (TASK_SOURCE, AGENT_REF)
# Top-level keys only 0.7.0 reads.
_070_KEYS = ("environment_server_routes", "environment_server_name", "environment_routing_mode")
_070_DATASET_KEYS = ("taskset", "prepare_dependencies", "agent")


@dataclass(frozen=True)
class DatasetJob:
    """One dataset to validate, measure and collate; `agent` is the name its rows are stamped with."""

    agent: str
    dataset: Any
    path: Path
    config_location: Location
    routing: str = AGENT_REF
    source: str = ""
    # The folder whose task_data.py holds the rows' TaskData schema (0.7.0's owning server), if any.
    schema_dir: Path | None = None
    # Source rows of this type before this dataset, in collation order: a taskset row's default task id.
    task_base: int = 0

    @property
    def taskset(self) -> str | None:
        return getattr(self.dataset, "taskset", None)

    @property
    def type(self) -> str:
        return self.dataset.type

    @property
    def num_repeats(self) -> int:
        return self.dataset.num_repeats

    @property
    def display_path(self) -> str:
        return display_path(self.path)

    @property
    def metrics_path(self) -> Path:
        return self.path.with_name(f"{self.path.stem}_metrics.json")


def style_070_reason(cfg: LoadedConfig, instances: Sequence[ServerInstance]) -> str | None:
    """Say why the merged config is written in 0.7.0's style, or None when it is written the seed's way.

    0.7.0-style means any of: an `environment_servers` instance, a dataset declared on a resources server,
    a dataset using a key only 0.7.0 reads (`taskset`, `prepare_dependencies`, `agent`, or `prepare_script`
    outside a benchmark), or a top-level key only 0.7.0 reads (`environment_server_routes`, ...).
    """
    for instance in instances:
        if instance.server_type == ENVIRONMENT_SERVER_TYPE:
            return f"environment server '{instance.name}'"
        if instance.server_type == RESOURCES_SERVER_TYPE and instance.datasets:
            return f"datasets declared on resources server '{instance.name}'"
        for dataset in instance.datasets:
            used = [key for key in _070_DATASET_KEYS if getattr(dataset, key, None)]
            if dataset.type != "benchmark" and dataset.prepare_script is not None:
                used.append("prepare_script")
            if used:
                return f"dataset '{dataset.name}' of '{instance.name}' uses {', '.join(used)}"
    for key in _070_KEYS:
        if key in cfg.data:
            return f"top-level key '{key}'"
    return None


def plan_jobs(
    instances: Sequence[ServerInstance], types: Sequence[str], cfg: LoadedConfig, routing: str = AGENT_REF
) -> list[DatasetJob]:
    """List in-scope datasets: declaring instances in config order, then datasets in declaration order.

    With `task_source` rows are stamped with the declaring instance (0.7.0); with `agent_ref`, with the
    agent that runs them: the declaring agent, or the one the dataset's `agent:` pins, or the unique agent
    referencing the declaring resources server.
    """
    jobs = []
    problems: list[Problem] = []
    for instance in instances:
        if instance.server_type not in DATASET_HOMES:
            continue
        for index, dataset in enumerate(instance.datasets):
            if dataset.type not in types:
                continue
            key = (instance.name, instance.server_type, instance.implementation, "datasets", index)
            location = cfg.locate((*key, "jsonl_fpath"))
            name = instance.name
            if getattr(dataset, "taskset", None) is not None:
                try:
                    check_taskset_route(instance, dataset, instances, cfg, cfg.locate((*key, "taskset")))
                except ConfigError as error:
                    problems += error.problems
                    continue
            elif routing == AGENT_REF:
                try:
                    name = _agent_for(instance, dataset, instances, cfg.locate(key))
                except ConfigError as error:
                    problems += error.problems
                    continue
            path = resolve_read_path(str(dataset.jsonl_fpath))
            home = schema_home(instance, instances)
            jobs.append(DatasetJob(name, dataset, path, location, routing, instance.name, home))
    if problems:
        raise ProblemsFound(problems, summary=f"{len(problems)} dataset(s) route to no single agent")
    return jobs


def check_taskset_route(
    declarer: ServerInstance, dataset: Any, instances: Sequence[ServerInstance], cfg: LoadedConfig, where: Location
) -> None:
    """Check a taskset's route as 0.7.0 does: `environment_server_routes` names an Environment Server bound
    to the declaring resources server (or fronting the declaring agent), whose agent references are agents."""
    taskset = dataset.taskset
    routes = cfg.data.get("environment_server_routes")
    target = routes.get(taskset) if isinstance(routes, dict) else None

    def fail(message: str, hint: str) -> ConfigError:
        return ConfigError(message, code="config.taskset_route", location=where, hint=hint)

    if not isinstance(target, str) or not target:
        raise fail(
            f"No Environment Server route for taskset '{taskset}'",
            f'Add `environment_server_routes: {{"{taskset}": <environment server instance>}}` at the top level.',
        )
    by_name = {i.name: i for i in instances}
    server = by_name.get(target)
    if server is None or server.server_type != ENVIRONMENT_SERVER_TYPE:
        raise fail(
            f"Taskset '{taskset}' routes to '{target}', which is not an environment_servers instance here",
            "Point the route at the environment server that runs this taskset (and load its config).",
        )
    agents = [
        value.get("name")
        for key, value in server.fields.items()
        if isinstance(value, dict)
        and (value.get("type") == AGENT_SERVER_TYPE or (key == "agent_server" and value.get("type") is None))
    ]
    strays = [
        name
        for name in agents
        if not isinstance(name, str) or getattr(by_name.get(name), "server_type", None) != AGENT_SERVER_TYPE
    ]
    if strays or not agents:
        raise fail(
            f"Environment Server '{target}' references {strays[0]!r}, which is not an agent"
            if strays
            else f"Environment Server '{target}' must bind an agent_server for taskset '{taskset}'",
            "Its agent_server and other agent references must name agent instances.",
        )
    if getattr(dataset, "agent", None) is not None:
        raise fail(
            f"Taskset '{taskset}' pins agent '{dataset.agent}', but a taskset routes to Environment Server "
            f"'{target}', not to an agent",
            "Remove the `agent` key.",
        )
    if declarer.server_type == AGENT_SERVER_TYPE and declarer.name not in agents:
        raise fail(f"Taskset '{taskset}' must route to its declaring agent '{declarer.name}'", "Fix the route.")
    bound = server.fields.get("resources_server")
    if declarer.server_type == RESOURCES_SERVER_TYPE and not (
        isinstance(bound, dict)
        and bound.get("name") == declarer.name
        and bound.get("type", RESOURCES_SERVER_TYPE) == RESOURCES_SERVER_TYPE
    ):
        raise fail(
            f"Environment Server '{target}' must bind declaring resources server '{declarer.name}' for taskset "
            f"'{taskset}'",
            f"Set its `resources_server: {{type: resources_servers, name: {declarer.name}}}`.",
        )


def schema_home(declarer: ServerInstance, instances: Sequence[ServerInstance]) -> Path | None:
    """The folder that owns a dataset's row schema, found as 0.7.0 finds it (None: no schema to check).

    A resources server owns its own datasets; an agent's belong to the resources server it references; a
    self-contained agent (no `resources_server` key) keeps its schema under `responses_api_agents/<impl>/`.
    """
    folder, implementation = RESOURCES_SERVER_TYPE, declarer.implementation
    if declarer.server_type == AGENT_SERVER_TYPE:
        reference = declarer.fields.get("resources_server")
        if reference is None:
            folder = AGENT_SERVER_TYPE
        else:
            name = reference.get("name") if isinstance(reference, dict) else None
            owner = next((i for i in instances if i.name == name and i.server_type == RESOURCES_SERVER_TYPE), None)
            if owner is None:
                return None  # a dangling reference: its schema home is the missing server
            implementation = owner.implementation
    path = resolve_read_path(f"{folder}/{implementation}")
    return path if path.is_dir() else None


def _agent_for(declarer: ServerInstance, dataset: Any, instances: Sequence[ServerInstance], where: Location) -> str:
    """The agent an `agent_ref` names for one dataset, as 0.7.0's `resolve_dataset_agent` finds it."""
    pin = getattr(dataset, "agent", None)
    if declarer.server_type == AGENT_SERVER_TYPE:
        if pin is not None and pin != declarer.name:
            raise ConfigError(
                f"dataset '{dataset.name}' declared by agent '{declarer.name}' pins agent '{pin}', but its rows "
                "go to the declaring agent",
                code="config.dataset_agent_pin",
                location=where,
                hint="Drop the `agent:` key, or declare the dataset on the resources server and pin there.",
            )
        return declarer.name
    candidates = [
        i.name
        for i in instances
        if i.server_type == AGENT_SERVER_TYPE
        and isinstance(i.fields.get("resources_server"), dict)
        and i.fields["resources_server"].get("name") == declarer.name
    ]
    if pin is not None:
        if pin in candidates:
            return pin
        raise ConfigError(
            f"dataset '{dataset.name}' pins agent '{pin}', but no agent of that name references resources "
            f"server '{declarer.name}'; agents referencing it: {', '.join(candidates) or 'none'}",
            code="config.dataset_agent_pin",
            location=where,
            hint="Pin one of the agents whose `resources_server` names this server.",
        )
    if len(candidates) == 1:
        return candidates[0]
    found = f"{len(candidates)} agents reference it ({', '.join(candidates)})" if candidates else "no agent does"
    raise ConfigError(
        f"dataset '{dataset.name}' is declared on resources server '{declarer.name}', and {found}, so an "
        "agent_ref has no single agent to name",
        code="config.dataset_agent",
        location=where,
        hint="Pin the agent with `agent: <agent instance>` on the dataset, load the agent's config, or collate "
        "with +routing=task_source (0.7.0 resolves the agent at run time from the declaring server).",
    )


def jobs_by_type(jobs: Sequence[DatasetJob], types: Sequence[str]) -> dict[str, list[DatasetJob]]:
    """Group jobs per dataset type, keeping the mode's type order and each type's job order."""
    grouped: dict[str, list[DatasetJob]] = {t: [] for t in types}
    for job in jobs:
        grouped[job.type].append(job)
    return {t: js for t, js in grouped.items() if js}
