"""The `--gym-*` options, their `gym_*` ini mirrors, and reading them into one `GymOptions` per session.

A command-line value wins over the ini value, which wins over the default.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from gym_conform.checks.base import Level
from gym_conform.checks.context import CheckSettings, default_hypothesis_profile
from gym_conform.errors import GymConformError
from gym_conform.live.model_setup import DEFAULT_CONCURRENCY, ModelSource, model_source
from gym_conform.live.vllm_serve import DEFAULT_STARTUP_TIMEOUT

GROUP = "gym-conform"


@dataclass
class GymOptions:
    """Everything the plugin read from options and ini: check settings, where to look, where to report."""

    settings: CheckSettings = field(default_factory=CheckSettings)
    roots: list[Path] | None = None  # None: every directory named resources_servers
    report_path: Path | None = None


OPTIONS = pytest.StashKey[GymOptions]()


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
        choices=[level.label for level in Level],
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
    add_live_options(group)
    parser.addini("gym_root", type="paths", default=[], help="Directories whose sub-folders are resources servers.")
    parser.addini("gym_level", default="", help="static, server (default) or live.")
    parser.addini("gym_update_metrics", type="bool", default=False, help="Rewrite stale example_metrics.json files.")
    parser.addini("gym_report", default="", help="Path of the JSON report.")
    parser.addini("gym_hypothesis_profile", default="", help="Hypothesis profile of the fuzz checks.")
    parser.addini("gym_max_examples", default="", help="Examples per fuzz check.")
    for name, text in LIVE_INI.items():
        parser.addini(name, default="", help=text)


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


def read_options(config: pytest.Config) -> GymOptions:
    """Read the options (command line over ini over defaults); raise pytest.UsageError for a bad ini value."""
    invocation_dir = config.invocation_params.dir
    cli_roots = config.getoption("gym_root")
    if cli_roots:
        roots: list[Path] | None = [invocation_dir / root for root in cli_roots]
    else:
        roots = [Path(root) for root in config.getini("gym_root")] or None

    level_text = config.getoption("gym_level") or config.getini("gym_level") or _implied_level(config)
    try:
        level = Level.parse(level_text)
    except ValueError as error:
        raise pytest.UsageError(f"gym_level: {error}") from None

    update = config.getoption("gym_update_metrics")
    report = config.getoption("gym_report")
    if report is None:
        ini_report = config.getini("gym_report")
        ini_dir = config.inipath.parent if config.inipath else config.rootpath
        report_path = ini_dir / ini_report if ini_report else None
    else:
        report_path = invocation_dir / report

    max_examples = config.getoption("gym_max_examples")
    if max_examples is None and config.getini("gym_max_examples"):
        max_examples = _positive_int("gym_max_examples", config.getini("gym_max_examples"))
    elif max_examples is not None:
        max_examples = _positive_int("--gym-max-examples", max_examples)

    settings = CheckSettings(
        level=level,
        update_metrics=bool(config.getini("gym_update_metrics") if update is None else update),
        hypothesis_profile=config.getoption("gym_hypothesis_profile")
        or config.getini("gym_hypothesis_profile")
        or default_hypothesis_profile(),
        max_examples=max_examples,
    )
    if level >= Level.LIVE:
        _read_live_options(config, settings)
    return GymOptions(settings=settings, roots=roots, report_path=report_path)


def _implied_level(config: pytest.Config) -> str:
    """Return live when a model is named on the command line, else the default level (server)."""
    if config.getoption("gym_model_url") or config.getoption("gym_vllm_serve"):
        return Level.LIVE.label
    return Level.SERVER.label


def _read_live_options(config: pytest.Config, settings: CheckSettings) -> None:
    """Fill the live settings: repeats, concurrency, rollouts directory and the model (None when not configured)."""
    invocation_dir = config.invocation_params.dir
    settings.live_repeats = _int_option(config, "gym_live_repeats", "--gym-live-repeats", 1)
    settings.live_concurrency = _int_option(config, "gym_concurrency", "--gym-concurrency", DEFAULT_CONCURRENCY)
    save = config.getoption("gym_save_rollouts")
    if save is not None:
        settings.save_rollouts = invocation_dir / save
    elif config.getini("gym_save_rollouts"):
        settings.save_rollouts = _ini_dir(config) / config.getini("gym_save_rollouts")
    timeout = config.getoption("gym_vllm_serve_timeout")
    if timeout is None:
        timeout = config.getini("gym_vllm_serve_timeout") or None
    try:
        serve_timeout = float(timeout) if timeout is not None else DEFAULT_STARTUP_TIMEOUT
        if not serve_timeout > 0:
            raise ValueError(f"--gym-vllm-serve-timeout must be more than 0 seconds, got {timeout}")
        settings.model = model_source(
            base_url=_text_option(config, "gym_model_url"),
            model_name=_text_option(config, "gym_model_name"),
            concurrency=settings.live_concurrency,
            vllm_serve=_text_option(config, "gym_vllm_serve"),
            vllm_args=shlex.split(_text_option(config, "gym_vllm_serve_args") or ""),
            vllm_timeout=serve_timeout,
            roots=[config.rootpath],
        )
    except ValueError as error:
        raise pytest.UsageError(f"gym-conform live options: {error}") from None
    except GymConformError as error:
        raise pytest.UsageError(
            f"gym-conform: the model of the live checks is misconfigured:\n{error.render()}"
        ) from None


def close_model(settings: CheckSettings) -> None:
    """Stop what the live checks' model started (a `vllm serve` process), if anything."""
    if isinstance(settings.model, ModelSource):
        settings.model.close()


def _text_option(config: pytest.Config, name: str) -> str | None:
    """Return a string option: the command line over the ini key; None when neither is set."""
    return config.getoption(name) or config.getini(name) or None


def _int_option(config: pytest.Config, name: str, flag: str, default: int) -> int:
    """Return a whole-number option >= 1: the command line over the ini key over `default`."""
    value = config.getoption(name)
    if value is not None:
        return _positive_int(flag, value)
    return _positive_int(name, config.getini(name)) if config.getini(name) else default


def _ini_dir(config: pytest.Config) -> Path:
    return config.inipath.parent if config.inipath else config.rootpath


def _positive_int(name: str, value: object) -> int:
    """Return `value` as an integer >= 1, or raise a UsageError naming the option."""
    try:
        number = int(str(value))
    except ValueError:
        raise pytest.UsageError(f"{name} must be a whole number, got {value!r}") from None
    if number < 1:
        raise pytest.UsageError(f"{name} must be at least 1, got {number}")
    return number
