"""gym-conform's pytest plugin: hooks only. Collection, items, options and reports live in sibling modules.

Every resources-server folder under the configured roots becomes one test item per conformance check, with
node ids such as `resources_servers/math_with_judge::license`. This module is the `pytest11` entry point, so
it is imported by every pytest run in the environment: it imports pytest and the option definitions only, and
the engine (checks, configs, servers) loads inside the hooks, once a run has something to check. Hook
reference: https://docs.pytest.org/en/stable/reference/reference.html#hooks
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from gym_conform.pytest_plugin.gate import (
    carries_result,
    changed_since,
    engine_started,
    gym_options_given,
    may_hold_servers,
)
from gym_conform.pytest_plugin.options import MARKERS, add_options
from gym_conform.pytest_plugin.static_guard import (
    enforce_at_configure,
    enforce_before_conftests,
    ignored_at_static,
    static_file_collectors,
    static_requested,
)

if TYPE_CHECKING:
    from gym_conform.pytest_plugin.report import ResultBook
    from gym_conform.pytest_plugin.session import GymSession


def _is_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _session(config: pytest.Config) -> GymSession:
    """Return the run's engine state, loading the engine on first use."""
    from gym_conform.pytest_plugin.session import gym_session

    return gym_session(config)


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the `--gym-*` options and `gym_*` ini keys."""
    add_options(parser)


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    """At --gym-level static load no conftest.py (no code of the repository runs); refuse if some was imported."""
    enforce_before_conftests(early_config)


def pytest_configure(config: pytest.Config) -> None:
    """Register the level markers and the reporting hooks; read the options now when any gym option is set."""
    enforce_at_configure(config)
    for marker, text in MARKERS.items():
        config.addinivalue_line("markers", f"{marker}: {text}")
    if not _is_xdist_worker(config):
        config.pluginmanager.register(Reporting(config), "gym-conform-reporting")
    if gym_options_given(config):
        _session(config)


@pytest.hookimpl(tryfirst=True)
def pytest_collect_directory(path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """Collect a resources-server folder as its checks (and, above static level, its own tests)."""
    collector = None
    if may_hold_servers(path, parent.config):
        _session(parent.config)
        from gym_conform.pytest_plugin.collect import collect_directory

        collector = collect_directory(path, parent)
    if collector is None and static_requested(parent.config):
        # At static level a package is a plain directory: pytest's Package imports its __init__.py.
        return pytest.Dir.from_parent(parent, path=path)
    return collector


@pytest.hookimpl(wrapper=True)
def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> Generator[None, Any, Any]:
    """At static level keep no collector of pytest or another plugin for a file (it would import or run it)."""
    found = yield
    return static_file_collectors(file_path, parent, found)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Leave out every file at static level, and the server folders a --gym-changed-since selection excludes."""
    if ignored_at_static(collection_path, config):
        return True
    if changed_since(config) is None or not may_hold_servers(collection_path, config):
        return None
    from gym_conform.pytest_plugin.collect import ignored_by_selection

    return True if ignored_by_selection(collection_path, config) else None


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    """Say which servers a --gym-changed-since run selected, and why."""
    if changed_since(config) is None:
        return None
    selection = _session(config).selection
    return None if selection is None else selection.lines()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Remember the selected check items (after -k, -m and --deselect), so one that never runs is reported too."""
    if engine_started(session.config) and not _is_xdist_worker(session.config):
        _session(session.config).book.add_items(session.items)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    """Attach a check's result (problems, notes, live summary) to each phase's report, wherever the item runs."""
    report = yield
    if engine_started(item.config):
        from gym_conform.pytest_plugin.report import attach_result

        attach_result(item, report)
    return report


class Reporting:
    """Hooks of the process that reports (the xdist controller, or the only process): results come from reports."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.collected: Sequence[str] = ()

    def book(self) -> ResultBook:
        """Return the run's result book (loading the engine), ordered as the items were collected."""
        book = _session(self.config).book
        if self.collected:
            book.set_order(self.collected)
            self.collected = ()
        return book

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Fold a check item's phase report into its record (before JUnit XML and others see the report)."""
        if carries_result(report) or engine_started(self.config):
            self.book().record(report)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: object, ids: Sequence[str]) -> None:
        """Keep the order an xdist worker collected the items in (every worker collects the same)."""
        if not self.collected:
            self.collected = list(ids)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Write the `--gym-report` JSON report; a change that selects no server and no test is a pass."""
        if not engine_started(self.config):
            return
        state = _session(self.config)
        if state.selection is not None and exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
            session.exitstatus = exitstatus = pytest.ExitCode.OK
        options = state.options
        if options.report_path is not None:
            self.book().write(options.report_path, options.settings.level, exitstatus)
        if options.html_path is not None:
            self.book().write_html(options.html_path, options.settings.level, exitstatus)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        """Print the server x check table, the slowest checks and what to do about failures."""
        if not engine_started(self.config):
            return
        book = self.book()
        from gym_conform.pytest_plugin.terminal import footer_lines, live_lines, not_collected_lines, table_lines

        level = _session(self.config).options.settings.level
        if not book.records or all(record.outcome is None for record in book.records.values()):
            # Nothing ran (e.g. `-m gym_live` below live level): still say which checks the level left out.
            for line in not_collected_lines(book, level):
                terminalreporter.write_line(line)
            return
        terminalreporter.write_sep("-", "gym-conform summary")
        width = self.config.get_terminal_writer().fullwidth
        for line in table_lines(book, width) + [""] + footer_lines(book, level):
            terminalreporter.write_line(line)
        live = live_lines(book)
        if live:
            terminalreporter.write_sep("-", "gym-conform live results")
            for line in live:
                terminalreporter.write_line(line)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop the `vllm serve` process the live checks started, if any."""
    if engine_started(config):
        from gym_conform.pytest_plugin.settings import close_model

        close_model(_session(config).options.settings)
