"""Find the folders to check: resources servers (`configs/*.yaml` declaring one) and 0.7.0 environments.

An environment (`environments/<name>/`: `config.yaml` or `config_*.yaml`, `data/`, maybe `manifest.yaml`)
pairs a resources server with an agent and datasets. Discovery only reads YAML (with a safe loader); it
never imports a server's code.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from gym_conform.core.yaml_safe import safe_load

DEFAULT_ROOT_NAME = "resources_servers"
ENVIRONMENTS_ROOT_NAME = "environments"
DEFAULT_ROOT_NAMES = frozenset({DEFAULT_ROOT_NAME, ENVIRONMENTS_ROOT_NAME})
RESOURCES_SERVER_TYPE = "resources_servers"
CONFIG_SUFFIXES = (".yaml", ".yml")
# The top-level keys that make a YAML file a NeMo Gym config (server blocks, or includes).
_CONFIG_MARKERS = frozenset(
    {RESOURCES_SERVER_TYPE, "responses_api_agents", "responses_api_models", "environment_servers"}
)


def config_files(folder: Path) -> list[Path]:
    """Return the folder's configs, sorted by name: `configs/*.yaml` (a resources server), else `config*.yaml`."""
    folder = Path(folder)
    configs = folder / "configs"
    if configs.is_dir():
        return sorted(path for path in configs.iterdir() if path.suffix in CONFIG_SUFFIXES and path.is_file())
    if not folder.is_dir():
        return []
    return sorted(
        path
        for path in folder.iterdir()
        if path.suffix in CONFIG_SUFFIXES and path.stem.split("_")[0] == "config" and path.is_file()
    )


def is_environment_folder(folder: Path) -> bool:
    """Return whether `folder` is a 0.7.0 environment: no `configs/`, a top-level `config*.yaml` that is a config."""
    folder = Path(folder)
    if (folder / "configs").is_dir():
        return False
    return any(_is_config(path) is not False for path in config_files(folder))


_UNREADABLE = object()


def read_yaml(path: Path) -> Any:
    """Return a YAML file's data, parsed once per file version (discovery and checks ask several times).

    The value is shared: callers must not change it. An unreadable or invalid file gives `UNREADABLE`.
    """
    try:
        stat = Path(path).stat()
    except OSError:
        return _UNREADABLE
    return _parsed(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4096)
def _parsed(path: str, mtime_ns: int, size: int) -> Any:
    try:
        return safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return _UNREADABLE


UNREADABLE = _UNREADABLE


def _is_config(path: Path) -> bool | None:
    """Return whether a YAML file has server blocks or `config_paths` (None: unreadable)."""
    data = read_yaml(path)
    if data is _UNREADABLE:
        return None
    if not isinstance(data, dict):
        return False
    return "config_paths" in data or any(
        isinstance(block, dict) and bool(_CONFIG_MARKERS & set(block)) for block in data.values()
    )


def declares_resources_server(path: Path) -> bool | None:
    """Return whether a YAML file has a top-level block with a `resources_servers` key (None: unreadable)."""
    data = read_yaml(path)
    if data is _UNREADABLE:
        return None
    return isinstance(data, dict) and any(
        isinstance(block, dict) and RESOURCES_SERVER_TYPE in block for block in data.values()
    )


def is_server_folder(folder: Path) -> bool:
    """Return whether `folder` is checked: a `configs/*.yaml` declares a resources server, or it is an environment.

    A config that cannot be read or parsed also qualifies the folder: it may well hold the folder's resources
    server, and its checks then report the broken file instead of the folder being skipped in silence.
    """
    if (Path(folder) / "configs").is_dir():
        return any(declares_resources_server(path) is not False for path in config_files(folder))
    return is_environment_folder(folder)


def is_root(path: Path, roots: Sequence[Path] | None) -> bool:
    """Return whether `path` is a root to search: one of `roots`, else any resources_servers/ or environments/."""
    if roots is None:
        return path.name in DEFAULT_ROOT_NAMES
    resolved = Path(path).resolve()
    return any(resolved == Path(root).resolve() for root in roots)


def is_candidate(path: Path, roots: Sequence[Path] | None) -> bool:
    """Return whether `path` is a root or a direct child of one, the only places server folders are looked for."""
    return is_root(path, roots) or is_root(Path(path).parent, roots)


def find_server_folders(roots: Iterable[Path]) -> list[Path]:
    """Return every server folder directly under each root (or the root itself), in sorted order."""
    found: list[Path] = []
    for root in roots:
        root = Path(root)
        if not root.is_dir():
            continue
        if is_server_folder(root):
            found.append(root)
            continue
        found.extend(child for child in sorted(root.iterdir()) if child.is_dir() and is_server_folder(child))
    return found
