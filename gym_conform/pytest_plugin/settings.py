"""Read the `--gym-*` options (command line over `gym_*` ini key over default) into one `GymOptions` per session."""

from __future__ import annotations

import os
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from gym_conform.checks.base import Level
from gym_conform.checks.context import CheckSettings, default_hypothesis_profile
from gym_conform.errors import GymConformError
from gym_conform.live.defaults import DEFAULT_CONCURRENCY, DEFAULT_STARTUP_TIMEOUT
from gym_conform.pytest_plugin.options import (
    DEFAULT_REQUEST_TIMEOUT_S,
    DEFAULT_SERVER_MEMORY_MB,
    DEFAULT_STARTUP_TIMEOUT_S,
    SERVER_MODES,
)


@dataclass
class GymOptions:
    """Everything the plugin read from options and ini: check settings, where to look, where to report."""

    settings: CheckSettings = field(default_factory=CheckSettings)
    roots: list[Path] | None = None  # None: every directory named resources_servers
    report_path: Path | None = None
    html_path: Path | None = None
    server_mode: str = "auto"
    startup_timeout: float = DEFAULT_STARTUP_TIMEOUT_S
    memory_mb: int = DEFAULT_SERVER_MEMORY_MB

    @property
    def isolated(self) -> bool:
        """Return whether server checks run in a child process (every mode but in-process)."""
        return self.server_mode != "in-process"


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

    budget = config.getoption("gym_verify_budget")
    if budget is None and config.getini("gym_verify_budget"):
        budget = _positive_float("gym_verify_budget", config.getini("gym_verify_budget"))
    elif budget is not None:
        budget = _positive_float("--gym-verify-budget", budget)

    strict = config.getoption("gym_strict")
    update_expected = config.getoption("gym_update_expected")
    source = config.inipath.name if config.inipath else "ini"
    # Imported here: the rules are engine code, loaded with the engine.
    from gym_conform.checks.rules import parse_waivers

    waivers, errors = parse_waivers(config.getini("gym_waive"), f"{source} gym_waive")
    if errors:
        raise pytest.UsageError("\n".join(errors))
    settings = CheckSettings(
        strict=bool(config.getini("gym_strict") if strict is None else strict),
        update_expected=bool(config.getini("gym_update_expected") if update_expected is None else update_expected),
        waivers=waivers,
        level=level,
        update_metrics=bool(config.getini("gym_update_metrics") if update is None else update),
        hypothesis_profile=config.getoption("gym_hypothesis_profile")
        or config.getini("gym_hypothesis_profile")
        or default_hypothesis_profile(),
        max_examples=max_examples,
        request_timeout=_seconds(config, "gym_request_timeout", "--gym-request-timeout", DEFAULT_REQUEST_TIMEOUT_S),
        server_url=_server_url(config),
        judge_standin=bool(config.getoption("gym_judge_standin") or config.getini("gym_judge_standin")),
    )
    if budget is not None:
        settings.verify_budget = budget
    if level >= Level.LIVE:
        _read_live_options(config, settings)
    mode = config.getoption("gym_server_mode") or config.getini("gym_server_mode") or "auto"
    if mode not in SERVER_MODES:
        raise pytest.UsageError(f"gym_server_mode must be one of {', '.join(SERVER_MODES)}, got {mode!r}")
    # auto: the folder decides (check/context.py); child and in-process build the server where the checks run.
    settings.server_launch = mode if mode in ("auto", "process") else "import"
    settings.server_python = _python(config)
    startup_timeout = _seconds(config, "gym_startup_timeout", "--gym-startup-timeout", DEFAULT_STARTUP_TIMEOUT_S)
    settings.startup_timeout = startup_timeout
    memory = config.getoption("gym_server_memory")
    if memory is None:
        memory = config.getini("gym_server_memory") or DEFAULT_SERVER_MEMORY_MB
    try:
        memory_mb = int(str(memory))
    except ValueError:
        raise pytest.UsageError(f"gym_server_memory must be a whole number of MB, got {memory!r}") from None
    if memory_mb < 0:
        raise pytest.UsageError(f"gym_server_memory must be 0 (no limit) or more, got {memory_mb}")
    return GymOptions(
        settings=settings,
        roots=roots,
        report_path=report_path,
        server_mode=mode,
        startup_timeout=startup_timeout,
        memory_mb=memory_mb,
        html_path=_html_path(config),
    )


def _server_url(config: pytest.Config) -> str | None:
    """Return --gym-server-url (or the ini key), checked to be an http(s) URL; None when not given."""
    url = config.getoption("gym_server_url") or config.getini("gym_server_url") or None
    if url is not None and not url.startswith(("http://", "https://")):
        raise pytest.UsageError(f"--gym-server-url must be an http:// or https:// URL, got {url!r}")
    return url.rstrip("/") if url else None


def _python(config: pytest.Config) -> str | None:
    """Return --gym-server-python (a path from the invocation directory, or a name on PATH), or None."""
    given = config.getoption("gym_server_python") or config.getini("gym_server_python") or None
    if not given:
        return None
    if os.sep not in given:
        return shutil.which(given) or given
    # Not resolved: a venv's python is a symlink, and its venv is found from the unresolved path.
    return os.path.abspath(config.invocation_params.dir / given)


def _seconds(config: pytest.Config, name: str, flag: str, default: float) -> float:
    """Return a time limit in seconds (> 0): the command line over the ini key over `default`."""
    value = config.getoption(name)
    shown = flag
    if value is None:
        value, shown = config.getini(name) or default, name
    try:
        seconds = float(value)
    except ValueError:
        raise pytest.UsageError(f"{shown} must be a number of seconds, got {value!r}") from None
    if not seconds > 0:
        raise pytest.UsageError(f"{shown} must be more than 0 seconds, got {value!r}")
    return seconds


def _html_path(config: pytest.Config) -> Path | None:
    """Return --gym-html (from the invocation directory) or gym_html (from the ini file's), or None."""
    given = config.getoption("gym_html")
    if given is not None:
        return config.invocation_params.dir / given
    ini = config.getini("gym_html")
    return _ini_dir(config) / ini if ini else None


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
    # The live machinery (model client, vllm serve) is imported only for live runs.
    from gym_conform.live.model_setup import model_source

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
    close = getattr(settings.model, "close", None)
    if close is not None:
        close()


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


def _positive_float(name: str, value: object) -> float:
    """Return `value` as a finite number of seconds > 0, or raise a UsageError naming the option."""
    try:
        number = float(str(value))
    except ValueError:
        raise pytest.UsageError(f"{name} must be a number of seconds, got {value!r}") from None
    if not 0 < number < float("inf"):
        raise pytest.UsageError(f"{name} must be more than 0 seconds, got {value!r}")
    return number
