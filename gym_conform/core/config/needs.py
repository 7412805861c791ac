"""Find the config file that defines a server instance a loaded config refers to but does not load."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from gym_conform.core.config.loader import search_roots
from gym_conform.core.config.schema_datasets import Issue
from gym_conform.core.yaml_safe import safe_load

if TYPE_CHECKING:
    from gym_conform.core.config.loader import LoadedConfig
    from gym_conform.core.config.schema import ServerInstance

# Where NeMo Gym keeps configs that other configs pair with: the model configs, and a server's own folder.
_MODEL_CONFIG_GLOB = "responses_api_models/*/configs/*.yaml"
_MAX_SHOWN = 3


def defining_configs(name: str, server_type: str, cfg: LoadedConfig) -> list[str]:
    """Return configs (as config_paths entries) that define `name` as a `server_type` instance.

    Searched: the folders of the loaded configs, then (for a model) every `responses_api_models/*/configs/`
    under the search roots. Only a file whose top level has `name:` is parsed.
    """
    folders = list(dict.fromkeys(path.parent.resolve() for path in cfg.files))
    candidates: list[tuple[Path, Path | None]] = [
        (path, None) for folder in folders for path in sorted(folder.glob("*.yaml"))
    ]
    roots = cfg.roots or search_roots()
    if server_type == "responses_api_models":
        candidates += [(path, root) for root in roots for path in sorted(root.glob(_MODEL_CONFIG_GLOB))]
    loaded = {path.resolve() for path in cfg.files}
    found: list[str] = []
    for path, root in candidates:
        if path.resolve() in loaded or not _defines(path, name, server_type):
            continue
        entry = _as_entry(path, root, roots)
        if entry not in found:
            found.append(entry)
    return found


def needs_config_issue(
    instance: ServerInstance, field_name: str, wanted_type: str, target: str, needed: list[str]
) -> Issue:
    """Report a reference that resolves only with another config: what to add, not a defect of this one."""
    shown = ", ".join(needed[:_MAX_SHOWN]) + (f" (and {len(needed) - _MAX_SHOWN} more)" if len(needed) > 3 else "")
    return Issue(
        (instance.server_type, instance.implementation, field_name, "name"),
        "config.needs_config",
        f"In server instance '{instance.name}', field '{field_name}' references {wanted_type}/'{target}', "
        f"which this run does not load: it needs config {shown}",
        f'Add it to config_paths, e.g. "+config_paths=[<your configs>,{needed[0]}]" (NeMo Gym resolves '
        "references only within the merged config, so it stops here too).",
    )


def _as_entry(path: Path, root: Path | None, roots: list[Path]) -> str:
    """Write `path` relative to the first search root that holds it (as config_paths entries are written)."""
    for base in ([root] if root is not None else []) + roots:
        try:
            return str(path.resolve().relative_to(base.resolve()))
        except ValueError:
            continue
    return str(path)


@lru_cache(maxsize=4096)
def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


def _defines(path: Path, name: str, server_type: str) -> bool:
    """Tell whether the YAML file at `path` has a top-level `name` instance of `server_type`."""
    text = _text(path)
    if not re.search(rf"^{re.escape(name)}\s*:", text, re.MULTILINE):
        return False
    try:
        data = safe_load(text)
    except yaml.YAMLError:
        return False
    block = data.get(name) if isinstance(data, dict) else None
    return isinstance(block, dict) and server_type in block
