"""The `--gym-*` options, their `gym_*` ini mirrors, and reading them into one `GymOptions` per session.

A command-line value wins over the ini value, which wins over the default.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from gym_conform.checks.base import Level
from gym_conform.checks.context import CheckSettings, default_hypothesis_profile

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
    parser.addini("gym_root", type="paths", default=[], help="Directories whose sub-folders are resources servers.")
    parser.addini("gym_level", default="", help="static, server (default) or live.")
    parser.addini("gym_update_metrics", type="bool", default=False, help="Rewrite stale example_metrics.json files.")
    parser.addini("gym_report", default="", help="Path of the JSON report.")
    parser.addini("gym_hypothesis_profile", default="", help="Hypothesis profile of the fuzz checks.")
    parser.addini("gym_max_examples", default="", help="Examples per fuzz check.")


def read_options(config: pytest.Config) -> GymOptions:
    """Read the options (command line over ini over defaults); raise pytest.UsageError for a bad ini value."""
    invocation_dir = config.invocation_params.dir
    cli_roots = config.getoption("gym_root")
    if cli_roots:
        roots: list[Path] | None = [invocation_dir / root for root in cli_roots]
    else:
        roots = [Path(root) for root in config.getini("gym_root")] or None

    level_text = config.getoption("gym_level") or config.getini("gym_level") or Level.SERVER.label
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
    return GymOptions(settings=settings, roots=roots, report_path=report_path)


def _positive_int(name: str, value: object) -> int:
    """Return `value` as an integer >= 1, or raise a UsageError naming the option."""
    try:
        number = int(str(value))
    except ValueError:
        raise pytest.UsageError(f"{name} must be a whole number, got {value!r}") from None
    if number < 1:
        raise pytest.UsageError(f"{name} must be at least 1, got {number}")
    return number
