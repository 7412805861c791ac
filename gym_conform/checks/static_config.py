"""The `config` check: every configs/*.yaml loads and validates, and the folder is wired as NeMo Gym expects."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from gym_conform.checks.base import CheckFailed
from gym_conform.checks.context import AGENT_SERVER_TYPE, FolderContext
from gym_conform.checks.discovery import RESOURCES_SERVER_TYPE
from gym_conform.core.config.loader import LoadedConfig
from gym_conform.core.config.schema import RESERVED_TOP_LEVEL_KEYS
from gym_conform.core.config.sourcemap import load_yaml
from gym_conform.core.config.unset import UNSET_MARK
from gym_conform.errors import GymConformError, Location, Problem

LICENSE_CODE_PREFIX = "license."


def is_license_problem(problem: Problem) -> bool:
    """Return whether a config problem is about a dataset license (the `license` check reports those)."""
    return problem.code.startswith(LICENSE_CODE_PREFIX)


def check_config(ctx: FolderContext) -> None:
    """Fail with every schema, reference and wiring problem of the folder's configs (licenses excepted)."""
    problems: list[Problem] = []
    loaded: list[tuple[Path, LoadedConfig]] = []
    try:
        # With no config file at all, primary_config_file raises the located error that says what to add.
        files = ctx.config_files or [ctx.primary_config_file]
    except GymConformError as error:
        raise CheckFailed(error.problems, summary=f"{ctx.display} has no config file") from None
    for path in files:
        try:
            cfg = ctx.load_config_file(path)
            problems += [p for p in ctx.schema_problems(path) if not is_license_problem(p)]
            problems += _first_block_problems(ctx, path)
        except GymConformError as error:
            problems += error.problems
            continue
        finally:
            problems += ctx.needs(path)  # notes, not failures (checks/rules.py)
        loaded.append((path, cfg))
    if loaded:
        problems += _wiring_problems(ctx, loaded)
    # A reference to a placeholder (a `???` name) is the needs note of that value, not a second problem.
    problems = [p for p in problems if not (p.code == "config.bad_ref" and UNSET_MARK in p.message)]
    problems = [_model_ref_need(p) for p in problems]
    if problems:
        problems = list(dict.fromkeys(problems))
        raise CheckFailed(problems, summary=f"{len(problems)} config problem(s) in {ctx.display}/configs")


_MODEL_REF = re.compile(r"references responses_api_models/'(?P<name>[^']*)', which is not defined")


def _model_ref_need(problem: Problem) -> Problem:
    """Turn a reference to a model no config of the checkout defines into a need: the user brings that model.

    NeMo Gym's server configs name judge and simulator models that a model config of the user's defines
    (`+config_paths=[<model config>,<server config>]`); a name that is another server type stays a defect.
    """
    match = _MODEL_REF.search(problem.message) if problem.code == "config.bad_ref" else None
    if match is None or " instance. " in (problem.hint or ""):
        return problem
    return Problem(
        "config.needs_config",
        f"needs config: {problem.message.split(', which')[0]}, which no config of this checkout defines",
        problem.location,
        f"pass a model config defining `{match['name']}: {{responses_api_models: ...}}` in config_paths when running "
        "it; NeMo Gym resolves references only within the merged config",
    )


def _resources_blocks(data: dict) -> Iterator[tuple[str, dict]]:
    """Yield (instance name, implementations) of every top-level resources-server block."""
    for name, block in data.items():
        if name in RESERVED_TOP_LEVEL_KEYS or not isinstance(block, dict):
            continue
        implementations = block.get(RESOURCES_SERVER_TYPE)
        if isinstance(implementations, dict):
            yield name, implementations


def _first_block_problems(ctx: FolderContext, path: Path) -> list[Problem]:
    """Require the resources-server block to be the file's first block (NeMo Gym's README table reads that one)."""
    data, source = load_yaml(path)
    if not isinstance(data, dict):
        return []
    blocks = list(_resources_blocks(data))
    if not blocks:
        return []
    own = next((name for name, impls in blocks if ctx.folder.name in impls), blocks[0][0])
    first = next((name for name, block in data.items() if isinstance(block, dict)), None)
    if first is None or first == own:
        return []
    shown = ctx.show(path)
    own_line = source.lines.get((own,))
    return [
        Problem(
            "config.resources_not_first",
            f"the first block is '{first}', but the resources-server block '{own}' (line {own_line}) must come first",
            Location(shown, source.lines.get((first,)), str(first)),
            f"move `{own}:` and its block to the top of {path.name}: NeMo Gym's README environment table reads "
            "domain, description and value from the first block of each config",
        )
    ]


def _agent_refs(fields: dict) -> set[str]:
    """Return the resources-server instance names an agent block references."""
    return {
        value["name"]
        for value in fields.values()
        if isinstance(value, dict) and value.get("type") == RESOURCES_SERVER_TYPE and isinstance(value.get("name"), str)
    }


def _wiring_problems(ctx: FolderContext, loaded: list[tuple[Path, LoadedConfig]]) -> list[Problem]:
    """Check the folder's own resources server exists, an agent uses it, and the example dataset is in place.

    An environment names a resources server implemented elsewhere (`resources_servers/<impl>/`), often in an
    included config: only its example dataset is checked here.
    """
    if ctx.is_environment:
        return _example_dataset_problems(ctx, loaded) if ctx.example_path.is_file() else []
    name = ctx.folder.name
    own: dict[str, Location] = {}
    referenced: set[str] = set()
    for _path, cfg in loaded:
        for instance, implementations in _resources_blocks(cfg.data):
            if name in implementations:
                own.setdefault(instance, cfg.locate((instance, RESOURCES_SERVER_TYPE, name)))
        for block in cfg.data.values():
            agents = block.get(AGENT_SERVER_TYPE) if isinstance(block, dict) else None
            for fields in agents.values() if isinstance(agents, dict) else []:
                if isinstance(fields, dict):
                    referenced |= _agent_refs(fields)
    primary = ctx.show(ctx.primary_config_file)
    if not own:
        return [
            Problem(
                "config.no_resources_server",
                f"no config declares a resources server implemented by this folder ('{name}')",
                Location(primary),
                f"declare `<instance name>: {{resources_servers: {{{name}: {{entrypoint: app.py, domain: ...}}}}}}`: "
                "the implementation key is the folder name, which is where NeMo Gym looks for the server's code",
            )
        ]
    problems: list[Problem] = []
    if not referenced & set(own):
        instance, location = next(iter(own.items()))
        problems.append(
            Problem(
                "config.no_agent",
                f"no agent references the resources server '{instance}', so no rollout can reach it",
                location,
                f"add an agent block: `{instance}_simple_agent: {{responses_api_agents: {{simple_agent: "
                f"{{entrypoint: app.py, resources_server: {{type: resources_servers, name: {instance}}}, "
                "model_server: {type: responses_api_models, name: policy_model}, datasets: [...]}}}`",
            )
        )
    problems += _example_dataset_problems(ctx, loaded)
    return problems


def _example_dataset_problems(ctx: FolderContext, loaded: list[tuple[Path, LoadedConfig]]) -> list[Problem]:
    """Require an `example` dataset, and every one of them to read this folder's data/example.jsonl."""
    expected = f"{ctx.folder.parent.name}/{ctx.folder.name}/data/example.jsonl"
    examples = [entry for path, _ in loaded for entry in ctx.dataset_entries(path) if entry.type == "example"]
    if not examples:
        return [
            Problem(
                "config.no_example_dataset",
                "no agent declares an `example` dataset",
                Location(ctx.show(ctx.primary_config_file)),
                f"add `- {{name: example, type: example, jsonl_fpath: {expected}}}` to the agent's datasets: "
                "ng_prepare_data +mode=example_validation computes data/example_metrics.json from it",
            )
        ]
    problems = []
    for entry in examples:
        if entry.jsonl_fpath and ctx.points_to(entry.jsonl_fpath, ctx.example_path):
            continue
        where = ctx.load_config_file(entry.config_file).locate((*entry.key_path, "jsonl_fpath"))
        problems.append(
            Problem(
                "config.example_path",
                f"the example dataset reads '{entry.jsonl_fpath}', not this folder's data/example.jsonl",
                where,
                f"set `jsonl_fpath: {expected}`: NeMo Gym's CI reads the example rows from that fixed path",
            )
        )
    return problems
