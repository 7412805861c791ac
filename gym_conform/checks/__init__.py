"""Conformance checks of a resources-server folder, independent of pytest: the registry and the checks in it.

A check is a `Check` (stable id, level, title, run function); `run(ctx)` raises `CheckFailed` with located
problems, raises `CheckSkipped` with a reason, or returns None when the folder passes. `REGISTRY` holds the
checks in display order.
"""

from gym_conform.checks import (
    live,
    server_contract,
    server_fuzz,
    server_import,
    server_replay,
    server_rows,
    server_verifier_cases,
    static_config,
    static_data,
    static_license,
    static_metrics,
    static_readme,
)
from gym_conform.checks.base import REGISTRY, Check, CheckFailed, CheckSkipped, Level, checks_for, register
from gym_conform.checks.context import CheckSettings, FolderContext
from gym_conform.checks.discovery import find_server_folders, is_server_folder

__all__ = [
    "REGISTRY",
    "Check",
    "CheckFailed",
    "CheckSettings",
    "CheckSkipped",
    "FolderContext",
    "Level",
    "checks_for",
    "find_server_folders",
    "is_server_folder",
    "register",
]

# Static checks: they read the folder's files and execute none of its code.
for _check in (
    static_config.CONFIG,
    static_license.LICENSE,
    static_readme.README,
    static_data.EXAMPLE_DATA,
    static_metrics.EXAMPLE_METRICS,
    static_data.EXAMPLE_ROLLOUTS,
    static_data.DATA_CONFLICTS,
    static_data.LEAKAGE,
):
    register(_check)

# Server checks: they import the server and run it in-process, after the static ones, in display order.
for _check in (
    server_import.IMPORT,
    server_rows.ROW_FIELDS,
    server_replay.REPLAY,
    server_verifier_cases.VERIFIER_CASES,
    server_rows.FUZZ_ROWS,
    server_fuzz.FUZZ_VERIFY,
    server_contract.CONTRACT_EMPTY,
    server_contract.CONTRACT_GOLD,
):
    register(_check)

# Live checks: they need a model and --gym-level live.
register(live.LIVE)
