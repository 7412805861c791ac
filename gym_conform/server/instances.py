"""Find a folder's resources-server instance in its config files, the way the server level needs it.

Values left to the user (`???`, unset `${oc.env:VAR}` / `${key}`) become placeholders: a value of another
block (an agent's API key, a model's base URL) never stops the server from being built, while one the
resources server's own block reads is named (`needs_value`). Dataset, license and reference problems are the
static level's business. Several different instances of one implementation (one per config file) are
either refused or, with `choose`, narrowed to the folder's primary config (configs/<folder>.yaml), saying so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from gym_conform.core.config.loader import NO_MODEL_DEFAULTS, LoadedConfig, load_config, search_roots
from gym_conform.core.config.schema import ServerInstance, buildable_instances
from gym_conform.core.config.unset import UNSET_MARK
from gym_conform.errors import ConfigError, GymConformError, ServerError, collect

RESOURCES_SERVERS_DIR = "resources_servers"
_MODEL_SERVERS = "responses_api_models"
_NEEDS_KEY = re.compile(r"needs value: '([^']+)'")


@dataclass
class FoundInstance:
    """The folder's instance, the file and merged config it came from, every instance there, and what was said."""

    instance: ServerInstance
    config_path: Path
    cfg: LoadedConfig
    instances: list[ServerInstance]
    needs: list[ConfigError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def find_instance(folder: Path, files: list[Path], *, choose: bool = False) -> FoundInstance:
    """Return the one resources-server instance of `folder`'s implementation across `files`."""
    found: list[FoundInstance] = []
    errors: list[GymConformError] = []
    roots = _roots(folder)
    for path in files:
        needs: list[ConfigError] = []
        try:
            cfg = load_config({"config_paths": [str(path)]}, initial=NO_MODEL_DEFAULTS, roots=roots, needs=needs)
        except GymConformError as error:
            errors.append(error)
            continue
        instances = buildable_instances(cfg)
        for instance in instances:
            if instance.server_type == RESOURCES_SERVERS_DIR and instance.implementation == folder.name:
                found.append(FoundInstance(instance, path, cfg, instances, needs))
    distinct: dict[tuple[str, str], FoundInstance] = {}
    for entry in found:
        distinct.setdefault((entry.instance.name, repr(_without_datasets(entry.instance.fields))), entry)
    if not distinct:
        problems = collect(errors, summary=f"{len(errors)} config file(s) in {folder} could not be loaded")
        if problems is not None:
            raise problems
        shown = ", ".join(str(p) for p in files)
        raise ServerError(
            f"no resources_servers instance with implementation '{folder.name}' in {shown}",
            code="server.no_instance",
            hint=f"declare one: `<instance name>: {{resources_servers: {{{folder.name}: "
            "{entrypoint: app.py, domain: ...}}}` (the implementation key is the folder name)",
        )
    entries = list(distinct.values())
    if len(entries) > 1:
        listed = "; ".join(f"'{entry.instance.name}' in {entry.config_path}" for entry in entries)
        if not choose:
            raise ServerError(
                f"{len(entries)} different resources_servers instances for '{folder.name}': {listed}",
                code="server.several_instances",
                hint="pick one with config_file=<its YAML file> (ng_replay_rollouts: +config_file=...)",
            )
        chosen = _primary(folder, entries)
        others = ", ".join(f"'{e.instance.name}' ({e.config_path.name})" for e in entries if e is not chosen)
        chosen.notes.append(
            f"{len(entries)} different resources_servers instances for '{folder.name}': checked "
            f"'{chosen.instance.name}' of configs/{chosen.config_path.name}, not {others}"
        )
        entries = [chosen]
    return entries[0]


def unset_own_values(entry: FoundInstance) -> list[ConfigError]:
    """Return the unset values the resources server's own block reads (a model-server reference's aside)."""
    instance = entry.instance
    prefix = f"{instance.name}.{instance.server_type}.{instance.implementation}."
    references = {
        key for key, value in instance.fields.items() if isinstance(value, dict) and value.get("type") == _MODEL_SERVERS
    }
    own = []
    for need in entry.needs:
        match = _NEEDS_KEY.match(need.message)
        if match is None or not match.group(1).startswith(prefix):
            continue
        key = match.group(1).removeprefix(prefix).split(".")[0]
        if key not in references:
            own.append(need)
    return own


def is_placeholder(value: object) -> bool:
    """Return whether a config value is a placeholder for a value left to the user."""
    return isinstance(value, str) and value.startswith(UNSET_MARK)


def _primary(folder: Path, entries: list[FoundInstance]) -> FoundInstance:
    """Return the entry of configs/<folder>.yaml (or config.yaml), else of the first file in name order."""
    for entry in entries:
        if entry.config_path.stem in (folder.name, "config"):
            return entry
    return min(entries, key=lambda entry: entry.config_path.name)


def _roots(folder: Path) -> list[Path]:
    """Return where config_paths entries are looked up: the checkout holding the folder first, then the usual."""
    roots = search_roots()
    if folder.parent.name == RESOURCES_SERVERS_DIR:
        roots.insert(0, folder.parent.parent)
    return roots


def _without_datasets(fields: dict) -> dict:
    return {k: v for k, v in fields.items() if k != "datasets"}
