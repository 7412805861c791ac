"""Find resources-server folders: directories under a root whose configs declare a resources server.

Discovery only reads YAML (with a safe loader); it never imports a server's code.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import yaml

from gym_conform.core.yaml_safe import safe_load

DEFAULT_ROOT_NAME = "resources_servers"
RESOURCES_SERVER_TYPE = "resources_servers"
CONFIG_SUFFIXES = (".yaml", ".yml")


def config_files(folder: Path) -> list[Path]:
    """Return the folder's `configs/*.yaml` (and `*.yml`) files, sorted by name."""
    configs = Path(folder) / "configs"
    if not configs.is_dir():
        return []
    return sorted(path for path in configs.iterdir() if path.suffix in CONFIG_SUFFIXES and path.is_file())


def declares_resources_server(path: Path) -> bool | None:
    """Return whether a YAML file has a top-level block with a `resources_servers` key (None: unreadable)."""
    try:
        data = safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    return isinstance(data, dict) and any(
        isinstance(block, dict) and RESOURCES_SERVER_TYPE in block for block in data.values()
    )


def is_server_folder(folder: Path) -> bool:
    """Return whether any `configs/*.yaml` of `folder` declares a resources server.

    A config that cannot be read or parsed also qualifies the folder: it may well hold the folder's resources
    server, and its checks then report the broken file instead of the folder being skipped in silence.
    """
    return any(declares_resources_server(path) is not False for path in config_files(folder))


def is_root(path: Path, roots: Sequence[Path] | None) -> bool:
    """Return whether `path` is a root to search: one of `roots`, or (no roots given) any `resources_servers/`."""
    if roots is None:
        return path.name == DEFAULT_ROOT_NAME
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
