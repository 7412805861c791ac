"""Conformance checks of a resources-server folder, independent of pytest: the registry and the checks in it.

A check is a `Check` (stable id, level, title, run function); `run(ctx)` raises `CheckFailed` with located
problems, raises `CheckSkipped` with a reason, or returns None when the folder passes. `REGISTRY` holds the
checks in display order. Each check's code is named as "module:function" and imported when it first runs, so a
static run never imports the server, fuzzing or live machinery.
"""

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

_PACKAGE = "gym_conform.checks"
# (id, level, title, module:function), in display order: static checks read the folder's files and execute
# none of its code; server checks import the server and run it in-process; live checks need a model.
_BUILT_IN = [
    (
        "config",
        Level.STATIC,
        "configs/*.yaml load, validate and wire an agent to this folder's resources server",
        "static_config:check_config",
    ),
    (
        "license",
        Level.STATIC,
        "train and validation datasets declare a license NeMo Gym accepts (and, strict, the README's)",
        "static_license:check_license",
    ),
    (
        "readme",
        Level.STATIC,
        "README.md describes the environment, its data and row fields, and its licensing",
        "static_readme:check_readme",
    ),
    (
        "example_data",
        Level.STATIC,
        "data/example.jsonl has exactly 5 rows, each valid as ng_prepare_data validates it",
        "static_data:check_example_data",
    ),
    (
        "example_metrics",
        Level.STATIC,
        "data/example_metrics.json equals the metrics recomputed from data/example.jsonl",
        "static_metrics:check_example_metrics",
    ),
    (
        "example_rollouts",
        Level.STATIC,
        "data/example_rollouts.jsonl has 5 well-formed rollout lines",
        "static_data:check_example_rollouts",
    ),
    ("data_conflicts", Level.STATIC, "data/ holds no *conflict* file", "static_data:check_data_conflicts"),
    (
        "leakage",
        Level.STATIC,
        "no example row appears in validation data, and no example or validation task in train data",
        "static_data:check_leakage",
    ),
    (
        "task_data",
        Level.STATIC,
        "example rows fit the owning server's task_data.py TaskData (read without running it), as 0.7.0 collates",
        "static_task_data:check_task_data",
    ),
    (
        "manifest",
        Level.STATIC,
        "manifest.yaml (of an environment) validates as `gym env validate` requires: schema, SPDX licensing, mirror",
        "static_manifest:check_manifest",
    ),
    (
        "import",
        Level.SERVER,
        "the server's app.py imports and its class builds from the config",
        "server_import:check_import",
    ),
    (
        "row_fields",
        Level.SERVER,
        "every example row has the fields verify() and seed_session() declare, with the declared types",
        "server_rows:check_row_fields",
    ),
    (
        "replay",
        Level.SERVER,
        "each recorded example rollout, replayed, gets its recorded reward",
        "server_replay:check_replay",
    ),
    (
        "verifier_cases",
        Level.SERVER,
        "NeMo Gym's declarative verifier cases (tests/verifier_cases.jsonl) hold, when the file exists",
        "server_verifier_cases:check_verifier_cases",
    ),
    (
        "fuzz_rows",
        Level.SERVER,
        "generated rows are accepted; rows broken in one field are rejected naming that field",
        "server_rows:check_fuzz_rows",
    ),
    (
        "fuzz_verify",
        Level.SERVER,
        "verify() gives a finite, in-range, reproducible reward for any well-formed response",
        "server_fuzz:check_fuzz_verify",
    ),
    (
        "contract_empty",
        Level.SERVER,
        "for every example row, an empty response scores the lowest reward",
        "server_contract:check_contract_empty",
    ),
    (
        "contract_gold",
        Level.SERVER,
        "for every example row, the server's gold response scores the highest reward",
        "server_contract:check_contract_gold",
    ),
    (
        "reward_hacking",
        Level.SERVER,
        "for every example row, no degenerate answer (empty, echoed prompt, all options, claims, ...) wins",
        "server_probes:check_reward_hacking",
    ),
    (
        "floors",
        Level.SERVER,
        'no trivial policy (echo, copy a row field, first option, "yes") reaches the top reward; no gold in prompts',
        "server_floors:check_floors",
    ),
    (
        "session_isolation",
        Level.SERVER,
        "rows played interleaved and concurrently get the rewards and tool results they get alone",
        "server_isolation:check_session_isolation",
    ),
    (
        "fuzz_tools",
        Level.SERVER,
        "every tool a row offers answers generated and malformed arguments with a result or a 4xx, never a 5xx or hang",
        "server_tools:check_fuzz_tools",
    ),
    (
        "judge_failures",
        Level.SERVER,
        "a judge that times out, fails, gives no verdict or quotes the candidate gets the sample marked, not scored",
        "server_judge:check_judge_failures",
    ),
    (
        "verify_budget",
        Level.SERVER,
        "no verify() call on an example row takes longer than --gym-verify-budget (default 3 s)",
        "server_budget:check_verify_budget",
    ),
    (
        "live",
        Level.LIVE,
        "every example row, run against the live model and verified, ends without errors",
        "live:check_live",
    ),
]
# Checks beyond NeMo Gym's own rules, run only with --gym-strict.
STRICT_CHECKS = frozenset({"leakage"})
for _id, _level, _title, _target in _BUILT_IN:
    register(Check(id=_id, level=_level, title=_title, code=f"{_PACKAGE}.{_target}", strict=_id in STRICT_CHECKS))
