"""What the plugin decides before its engine loads: may a directory hold server folders, and has the engine started.

Every pytest run of an environment with gym-conform installed passes through these, so they import only pytest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

# The directory names whose children are server folders when no --gym-root is given (discovery.py agrees).
ROOT_NAMES = frozenset({"resources_servers", "environments"})
# Set once the engine (gym_conform.pytest_plugin.session) has started for this run.
SESSION: pytest.StashKey[Any] = pytest.StashKey()
# The user_properties entry a check item's reports carry its result in (see pytest_plugin/report.py).
RESULT_PROPERTY = "gym_conform_result"
_ROOTS: pytest.StashKey[list[Path] | None] = pytest.StashKey()
_OPTION_DESTS = (
    "gym_root",
    "gym_level",
    "gym_report",
    "gym_model_url",
    "gym_vllm_serve",
    "gym_update_metrics",
    "gym_changed_since",
    "gym_html",
    "gym_server_url",
    "gym_server_mode",
    "gym_server_python",
)


def engine_started(config: pytest.Config) -> bool:
    """Return whether this run has loaded the engine (collected a server folder or was given a gym option)."""
    return SESSION in config.stash


def carries_result(report: pytest.TestReport) -> bool:
    """Return whether a test report comes from a check item (it carries the item's result for the reports)."""
    return any(name == RESULT_PROPERTY for name, _ in report.user_properties)


def changed_since(config: pytest.Config) -> str | None:
    """Return the --gym-changed-since / gym_changed_since git ref, or None for a run of every server."""
    return config.getoption("gym_changed_since") or config.getini("gym_changed_since") or None


def gym_options_given(config: pytest.Config) -> bool:
    """Return whether the command line or the ini file sets any of the options that shape a gym-conform run."""
    return any(config.getoption(dest) for dest in _OPTION_DESTS) or any(config.getini(dest) for dest in _OPTION_DESTS)


def configured_roots(config: pytest.Config) -> list[Path] | None:
    """Return the --gym-root / gym_root directories, resolved (None: any directory named in ROOT_NAMES)."""
    if _ROOTS not in config.stash:
        given = config.getoption("gym_root")
        if given:
            roots: list[Path] | None = [(config.invocation_params.dir / root).resolve() for root in given]
        else:
            roots = [Path(root).resolve() for root in config.getini("gym_root")] or None
        config.stash[_ROOTS] = roots
    return config.stash[_ROOTS]


def may_hold_servers(path: Path, config: pytest.Config) -> bool:
    """Return whether `path` is a root of server folders or a direct child of one (the engine checks further)."""
    roots = configured_roots(config)
    if roots is None:
        return path.name in ROOT_NAMES or path.parent.name in ROOT_NAMES
    resolved = path.resolve()
    return resolved in roots or resolved.parent in roots
