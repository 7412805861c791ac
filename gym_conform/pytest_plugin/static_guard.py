"""At --gym-level static no code of the repository under test runs: no conftest.py, no test module, no plugin of it.

pytest imports code of the directory it runs in from several places: the `conftest.py` of the rootdir and of
each path it collects, every test module it collects (and the `__init__.py` of their packages), doctest files,
and `-p` plugins named in an ini file's `addopts`. At static level the plugin turns conftest loading off before
pytest loads the first one, collects no file but the server folders it reads itself, and refuses to run when a
module of the repository was imported before it could step in (an ini `addopts = -p ...` under `python -m
pytest`). `gym-conform check` adds what a plugin cannot: no ini file, no third-party plugin, an isolated Python.
Imports pytest only (the entry point imports this module in every pytest run).
"""

from __future__ import annotations

import os
import sys
import sysconfig
from pathlib import Path

import pytest

# The command that gives the guarantee end to end (README: "Guarantees").
SAFE_COMMAND = "gym-conform check"


_STATIC = pytest.StashKey[bool]()


def static_requested(config: pytest.Config) -> bool:
    """Return whether this run is at --gym-level static (command line over the `gym_level` ini key)."""
    if _STATIC not in config.stash:
        config.stash[_STATIC] = _static_level(config)
    return config.stash[_STATIC]


def _static_level(config: pytest.Config) -> bool:
    namespace = getattr(config, "known_args_namespace", None)
    given = getattr(namespace, "gym_level", None) if namespace is not None else None
    if given is None:
        given = config.option.gym_level if hasattr(config.option, "gym_level") else None
    return (given or config.getini("gym_level") or "") == "static"


def _trusted_dirs() -> list[Path]:
    """Return where installed code lives (the interpreter, site-packages, gym-conform): never the repository's."""
    dirs = {sys.prefix, sys.base_prefix, sys.exec_prefix}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        dirs.add(sysconfig.get_paths().get(key, sys.prefix))
    dirs.add(str(Path(__file__).resolve().parents[1]))  # gym_conform itself, also when installed editable
    return [Path(directory).resolve() for directory in dirs if directory]


def repository_modules(rootpath: Path) -> list[str]:
    """Return the imported modules whose file lies in the repository (below `rootpath`), as `name (path)`."""
    root = Path(rootpath).resolve()
    trusted = _trusted_dirs()
    found = []
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if not file:
            continue
        path = Path(os.path.abspath(file))
        if root not in path.parents:
            continue
        if any(directory == path or directory in path.parents for directory in trusted):
            continue
        found.append(f"{name} ({path.relative_to(root).as_posix()})")
    return sorted(found)


def enforce_before_conftests(early_config: pytest.Config) -> None:
    """At static level: load no conftest.py at all, and refuse the run when repository code was already imported."""
    if not static_requested(early_config):
        return
    # pytest reads this very attribute when it loads the initial conftests, right after this hook.
    early_config.known_args_namespace.noconftest = True
    loaded = repository_modules(early_config.rootpath)
    if loaded:
        raise pytest.UsageError(
            "--gym-level static runs no code of the repository under test, but pytest imported "
            f"{', '.join(loaded[:5])} before gym-conform could stop it (a `-p` plugin from the command line, "
            f"an ini file's addopts or PYTEST_PLUGINS). Run `{SAFE_COMMAND}` instead: it reads no ini file, "
            "loads no plugin of the repository and no conftest.py."
        )


def enforce_at_configure(config: pytest.Config) -> None:
    """Refuse options that import or run repository code at static level (doctest modules)."""
    if static_requested(config) and getattr(config.option, "doctestmodules", False):
        raise pytest.UsageError(
            "--doctest-modules imports every Python module it finds, which --gym-level static never does; "
            f"drop it (or run `{SAFE_COMMAND}`)"
        )


def ignored_at_static(path: Path, config: pytest.Config) -> bool:
    """Return whether pytest's own collection must leave `path` alone: at static level, every file.

    The server folders and their roots are collected by gym-conform's collectors (which read files, never
    import them); any other file is what pytest or another plugin would import or execute (test modules,
    `__init__.py`, doctest text files).
    """
    return static_requested(config) and not path.is_dir()


class NotRunAtStatic(pytest.Item):
    """Stands for a file named on the command line that pytest would import or run; it is skipped, saying why."""

    def runtest(self) -> None:
        """Never runs: the item carries a skip mark."""

    def reportinfo(self) -> tuple[Path, int, str]:
        """Return the file and the node id."""
        return self.path, 0, self.nodeid


def static_file_collectors(file_path: Path, parent: pytest.Collector, found: list) -> list:
    """Return what pytest may collect from a file: at static level nothing (a skip for a file named on the line)."""
    if not found or not static_requested(parent.config):
        return found
    if parent.session.isinitpath(file_path):
        item = NotRunAtStatic.from_parent(parent, name=file_path.name, path=file_path)
        reason = (
            "not collected at --gym-level static (pytest would import or run it, and no code of the repository "
            "under test runs at this level)"
        )
        item.add_marker(pytest.mark.skip(reason=reason))
        return [item]
    return []
