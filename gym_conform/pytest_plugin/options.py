"""The `--gym-*` options and their `gym_*` ini mirrors: definitions only (`settings.py` reads them).

This module is imported by the plugin's entry point in every pytest run of the environment, so it imports
nothing but pytest and the live checks' default figures.
"""

from __future__ import annotations

import pytest

from gym_conform.live.defaults import DEFAULT_CONCURRENCY, DEFAULT_STARTUP_TIMEOUT

GROUP = "gym-conform"
# The names of gym_conform.checks.base.Level, in order (a test keeps the two in step).
LEVEL_NAMES = ("static", "server", "live")
# One marker per level, as `pytest -m gym_static` selects them.
MARKERS = {
    "gym_static": "gym-conform check that executes no server code",
    "gym_server": "gym-conform check that imports and runs the server in-process",
    "gym_live": "gym-conform check that needs a live model",
}


def add_options(parser: pytest.Parser) -> None:
    """Register the `--gym-*` options and their `gym_*` ini keys."""
    group = parser.getgroup(GROUP, "gym-conform: conformance checks of NeMo Gym resources-server folders")
    group.addoption(
        "--gym-root",
        action="append",
        dest="gym_root",
        default=None,
        metavar="DIR",
        help="Directory whose sub-folders are resources servers (repeatable). "
        "Default: every directory named resources_servers. Ini: gym_root.",
    )
    group.addoption(
        "--gym-level",
        dest="gym_level",
        default=None,
        choices=list(LEVEL_NAMES),
        help="static: only checks that execute no server code (safe on untrusted PRs); "
        "server (default): also import and run each server in-process; live: also run checks that need a model. "
        "Ini: gym_level.",
    )
    group.addoption(
        "--gym-update-metrics",
        dest="gym_update_metrics",
        action="store_true",
        default=None,
        help="Rewrite stale or missing data/example_metrics.json files instead of failing. Ini: gym_update_metrics.",
    )
    group.addoption(
        "--gym-report",
        dest="gym_report",
        default=None,
        metavar="PATH",
        help="Write a JSON report (server x check outcomes and problems) to PATH. Ini: gym_report.",
    )
    group.addoption(
        "--gym-hypothesis-profile",
        dest="gym_hypothesis_profile",
        default=None,
        metavar="NAME",
        help="Hypothesis profile of the fuzz checks (default: gym-conform-ci when CI is set, else gym-conform-dev). "
        "Ini: gym_hypothesis_profile.",
    )
    group.addoption(
        "--gym-max-examples",
        dest="gym_max_examples",
        default=None,
        type=int,
        metavar="N",
        help="Examples per fuzz check, overriding the profile. Ini: gym_max_examples.",
    )
    add_server_options(group)
    group.addoption(
        "--gym-verify-budget",
        dest="gym_verify_budget",
        default=None,
        type=float,
        metavar="SECONDS",
        help="Slowest verify() call allowed per server before the verify_budget check fails (default 3). "
        "Ini: gym_verify_budget.",
    )
    group.addoption(
        "--gym-strict",
        dest="gym_strict",
        action="store_true",
        default=None,
        help="Also report what goes beyond NeMo Gym's own rules: README sections and row fields, rollout line "
        "shapes, example/validation leakage, config layout. Default: only what NeMo Gym 0.7.0 also rejects. "
        "Ini: gym_strict.",
    )
    group.addoption(
        "--gym-update-expected",
        dest="gym_update_expected",
        action="store_true",
        default=None,
        help="Rewrite the expected_reward of tests/verifier_cases.jsonl with the rewards verify() gives now "
        "(like `gym env test --update-expected`). Ini: gym_update_expected.",
    )
    group.addoption(
        "--gym-html",
        dest="gym_html",
        default=None,
        metavar="PATH",
        help="Write the report as one self-contained HTML page (server x check table, failures with location "
        "and hint, times, live reward charts) to PATH. Ini: gym_html.",
    )
    group.addoption(
        "--gym-changed-since",
        dest="gym_changed_since",
        default=None,
        metavar="REF",
        help="Run only the servers a git change since REF touches (their folder, or a file their configs name; "
        "every server when shared code or configuration changed), e.g. origin/main in a pull request. "
        "Prints what it selected and why. Ini: gym_changed_since.",
    )
    add_live_options(group)
    parser.addini("gym_html", default="", help="Path of the HTML report.")
    parser.addini("gym_changed_since", default="", help="Run only the servers changed since this git ref.")
    parser.addini("gym_strict", type="bool", default=False, help="Also run the checks beyond NeMo Gym's rules.")
    parser.addini("gym_update_expected", type="bool", default=False, help="Rewrite expected rewards of verifier cases.")
    parser.addini(
        "gym_waive",
        type="linelist",
        default=[],
        help="Waivers, one a line: `<folder>::<check>[::<rule code>]  <reason>` (the report lists each one).",
    )
    parser.addini("gym_root", type="paths", default=[], help="Directories whose sub-folders are resources servers.")
    parser.addini("gym_level", default="", help="static, server (default) or live.")
    parser.addini("gym_update_metrics", type="bool", default=False, help="Rewrite stale example_metrics.json files.")
    parser.addini("gym_report", default="", help="Path of the JSON report.")
    parser.addini("gym_hypothesis_profile", default="", help="Hypothesis profile of the fuzz checks.")
    parser.addini("gym_max_examples", default="", help="Examples per fuzz check.")
    parser.addini("gym_verify_budget", default="", help="Slowest verify() call allowed per server, in seconds.")
    for name, text in {**SERVER_INI, **LIVE_INI}.items():
        parser.addini(name, default="", help=text)
    parser.addini("gym_judge_standin", type="bool", default=False, help="Answer judge models with the stand-in.")


# Kept in step with gym_conform.isolate.host (a test compares them): importing it here would load the engine.
SERVER_MODES = ("auto", "child", "in-process", "process")
DEFAULT_STARTUP_TIMEOUT_S = 30.0
DEFAULT_REQUEST_TIMEOUT_S = 15.0
DEFAULT_SERVER_MEMORY_MB = 8192
SERVER_INI = {
    "gym_server_mode": "How server checks reach the server: auto (default), child, in-process or process.",
    "gym_server_python": "The Python (of a venv) process mode starts servers in (default: the folder's .venv).",
    "gym_server_url": "Base URL of an already running server to check (nothing is started).",
    "gym_startup_timeout": f"Seconds a server may take to import and build (default {DEFAULT_STARTUP_TIMEOUT_S:g}).",
    "gym_request_timeout": f"Seconds one request to a server may take (default {DEFAULT_REQUEST_TIMEOUT_S:g}).",
    "gym_server_memory": f"Memory limit of a server process in MB, 0: none (default {DEFAULT_SERVER_MEMORY_MB}).",
}


def add_server_options(group: pytest.OptionGroup) -> None:
    """Register the options of how the server checks run a server: process isolation and its limits."""
    group.addoption(
        "--gym-server-mode",
        dest="gym_server_mode",
        default=None,
        choices=list(SERVER_MODES),
        help="child: each server's checks run in a child process, so a server that exits, crashes, hangs or "
        "eats memory fails its own checks and nothing else; in-process: in the pytest process (faster, unsafe); "
        "process: the server runs in a Python of its own (its venv: --gym-server-python, else the folder's "
        ".venv that NeMo Gym builds) on a free loopback port, started as NeMo Gym starts it, and the checks go "
        "over HTTP; auto (default): process for a NeMo Gym server with its own .venv, else child. "
        "Ini: gym_server_mode.",
    )
    group.addoption(
        "--gym-server-python",
        dest="gym_server_python",
        default=None,
        metavar="PYTHON",
        help="The Python process mode starts each server with (a venv that has the server's requirements), "
        "instead of the folder's own .venv. Ini: gym_server_python.",
    )
    group.addoption(
        "--gym-server-url",
        dest="gym_server_url",
        default=None,
        metavar="URL",
        help="Check the server already running at URL (e.g. started by NeMo Gym's `gym env start`): every request "
        "goes there and nothing is started; its folder (give it as the path) supplies the config and data, and "
        "its app.py, when it imports here, the request models. Ini: gym_server_url.",
    )
    group.addoption(
        "--gym-judge-standin",
        dest="gym_judge_standin",
        action="store_true",
        default=None,
        help="Answer the judge model a NeMo Gym server's config names (an OpenAI-compatible endpoint) with a "
        "scripted stand-in on loopback that gives no verdict, so its contract and fuzz checks run; replay, "
        "verifier_cases and contract_gold then skip (the stand-in is no judge). Ini: gym_judge_standin.",
    )
    group.addoption(
        "--gym-startup-timeout",
        dest="gym_startup_timeout",
        default=None,
        type=float,
        metavar="SECONDS",
        help=f"How long a server may take to import and build (default {DEFAULT_STARTUP_TIMEOUT_S:g}). "
        "Ini: gym_startup_timeout.",
    )
    group.addoption(
        "--gym-request-timeout",
        dest="gym_request_timeout",
        default=None,
        type=float,
        metavar="SECONDS",
        help=f"How long one request to a server (or call into its code) may take before it counts as a hang "
        f"(default {DEFAULT_REQUEST_TIMEOUT_S:g}). Ini: gym_request_timeout.",
    )
    group.addoption(
        "--gym-server-memory",
        dest="gym_server_memory",
        default=None,
        type=int,
        metavar="MB",
        help=f"Address-space limit of a server's child process in MB; 0: none (default {DEFAULT_SERVER_MEMORY_MB}). "
        "Ini: gym_server_memory.",
    )


LIVE_INI = {
    "gym_model_url": "Base URL of the OpenAI-compatible model server of live checks.",
    "gym_model_name": "Model name of live checks.",
    "gym_concurrency": f"Most model requests in flight (default {DEFAULT_CONCURRENCY}).",
    "gym_live_repeats": "Samples per example row in live checks (default 1).",
    "gym_save_rollouts": "Directory the live checks write rollouts to.",
    "gym_vllm_serve": "Model path to start `vllm serve` with for live checks.",
    "gym_vllm_serve_args": "Extra `vllm serve` arguments (one string, split like a shell).",
    "gym_vllm_serve_timeout": f"Seconds `vllm serve` may take to answer /health (default {DEFAULT_STARTUP_TIMEOUT:g}).",
}


def add_live_options(group: pytest.OptionGroup) -> None:
    """Register the options of the live checks (a policy model, or a `vllm serve` to start)."""
    group.addoption(
        "--gym-model-url",
        dest="gym_model_url",
        default=None,
        metavar="URL",
        help="OpenAI-compatible server of the policy model for live checks, e.g. http://host:8000/v1; implies "
        "--gym-level live. Default: policy_base_url from env.yaml. The API key comes from policy_api_key in "
        "env.yaml or POLICY_API_KEY / OPENAI_API_KEY. Ini: gym_model_url.",
    )
    group.addoption(
        "--gym-model-name",
        dest="gym_model_name",
        default=None,
        metavar="NAME",
        help="Model name the server serves (default: policy_model_name from env.yaml). Ini: gym_model_name.",
    )
    group.addoption(
        "--gym-concurrency",
        dest="gym_concurrency",
        default=None,
        type=int,
        metavar="N",
        help=f"Most model requests (and rollouts) in flight at once (default {DEFAULT_CONCURRENCY}). "
        "Ini: gym_concurrency.",
    )
    group.addoption(
        "--gym-live-repeats",
        dest="gym_live_repeats",
        default=None,
        type=int,
        metavar="K",
        help="Sample each example row K times; rows whose reward never varies are flagged (no signal for "
        "GRPO-style training). Ini: gym_live_repeats.",
    )
    group.addoption(
        "--gym-save-rollouts",
        dest="gym_save_rollouts",
        default=None,
        metavar="DIR",
        help="Write each server's live rollouts to DIR/<server>/example_rollouts.jsonl (NeMo Gym's rollout "
        "lines). Ini: gym_save_rollouts.",
    )
    group.addoption(
        "--gym-vllm-serve",
        dest="gym_vllm_serve",
        default=None,
        metavar="MODEL_PATH",
        help="Start `vllm serve MODEL_PATH` on a free loopback port for the live checks and stop it at the end "
        "(pip install 'gym-conform[vllm]'); implies --gym-level live. Ini: gym_vllm_serve.",
    )
    group.addoption(
        "--gym-vllm-serve-args",
        dest="gym_vllm_serve_args",
        default=None,
        metavar="ARGS",
        help='Extra `vllm serve` arguments as one string, after an `=`: --gym-vllm-serve-args="--enable-auto-'
        'tool-choice --tool-call-parser hermes" (tool-calling servers need both). Ini: gym_vllm_serve_args.',
    )
    group.addoption(
        "--gym-vllm-serve-timeout",
        dest="gym_vllm_serve_timeout",
        default=None,
        type=float,
        metavar="SECONDS",
        help=f"How long `vllm serve` may take to answer /health (default {DEFAULT_STARTUP_TIMEOUT:g}). "
        "Ini: gym_vllm_serve_timeout.",
    )
