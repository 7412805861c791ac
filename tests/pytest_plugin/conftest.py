"""Pytester setup for the plugin's tests: fake repositories of resources-server folders, run through pytest."""

from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path

import hypothesis  # noqa: F401
import pytest

# Imported here once: pytester's in-process runs restore sys.modules afterwards, so a module imported only
# inside a run is imported again by every run (a fresh check registry; seconds per run for hypothesis, whose
# pytest plugin imports it at the end of each session).
import gym_conform.pytest_plugin.plugin  # noqa: F401
from tests.checks import build_server

PLUGIN_MODULE = "gym_conform.pytest_plugin.plugin"


def pytest_configure(config: pytest.Config) -> None:
    # Not `pytest_plugins = ["pytester"]`: pytest refuses that in a conftest below the rootdir when the
    # conftest is not loaded at startup, as happens under a plain `pytest` at the repository root.
    if not config.pluginmanager.has_plugin("pytester"):
        config.pluginmanager.import_plugin("pytester")


def _entry_point_installed() -> bool:
    return any(ep.value == PLUGIN_MODULE for ep in importlib.metadata.entry_points(group="pytest11"))


# Loading the plugin both through its entry point and with -p would register it twice, which pytest refuses.
# With -p, pytest warns that the (already imported) plugin module cannot be assert-rewritten: harmless here.
PLUGIN_ARGS: tuple[str, ...] = (
    () if _entry_point_installed() else ("-p", PLUGIN_MODULE, "-W", "ignore::pytest.PytestAssertRewriteWarning")
)


class Repo:
    """A fake repository root in pytester's directory: an ini file, server folders, and a way to run pytest."""

    def __init__(self, pytester: pytest.Pytester) -> None:
        self.pytester = pytester
        self.path = pytester.path
        pytester.makeini("[pytest]\n")

    def server(self, name: str = "alpha", **options) -> Path:
        """Create resources_servers/<name>, passing every static check unless `options` say otherwise."""
        return build_server(self.path, name, **options)

    def run(self, *args: str, subprocess: bool = False) -> pytest.RunResult:
        """Run pytest with the plugin in the fake repository (in-process unless `subprocess`)."""
        args = (*PLUGIN_ARGS, "-p", "no:cacheprovider", "-rfEs", *args)
        if subprocess:
            return self.pytester.runpytest_subprocess(*args)
        # The fake tree has its own `resources_servers` package; hide the real one (imported by other tests in
        # this process) so the in-process run imports the fake folders' code, then put it back.
        hidden = {name: module for name, module in sys.modules.items() if name.split(".")[0] == "resources_servers"}
        for name in hidden:
            del sys.modules[name]
        try:
            return self.pytester.runpytest(*args)
        finally:
            for name in [n for n in sys.modules if n.split(".")[0] == "resources_servers"]:
                del sys.modules[name]
            sys.modules.update(hidden)

    def static(self, *args: str, subprocess: bool = False) -> pytest.RunResult:
        """Run pytest at --gym-level static."""
        return self.run("--gym-level", "static", *args, subprocess=subprocess)


def match_lines(result: pytest.RunResult, *patterns: str) -> None:
    """Assert the output has lines matching `patterns` in order; `*` is a wildcard, `[` and `]` are literal."""
    result.stdout.fnmatch_lines([pattern.replace("[", "[[]") for pattern in patterns])


@pytest.fixture
def repo(pytester: pytest.Pytester) -> Repo:
    """A fake repository with no server yet."""
    return Repo(pytester)
