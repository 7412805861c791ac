"""gym-conform's pytest plugin: hooks only. Collection, items, options and reports live in sibling modules.

Every resources-server folder under the configured roots becomes one test item per conformance check, with
node ids such as `resources_servers/math_with_judge::license`. This module is the `pytest11` entry point, so
it is imported by every pytest run in the environment: it imports pytest and the option definitions only, and
the engine (checks, configs, servers) loads inside the hooks, once a run has something to check. Hook
reference: https://docs.pytest.org/en/stable/reference/reference.html#hooks
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gym_conform.pytest_plugin.gate import engine_started, gym_options_given, may_hold_servers
from gym_conform.pytest_plugin.options import MARKERS, add_options


def _is_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _session(config: pytest.Config):
    """Return the run's engine state, loading the engine on first use."""
    from gym_conform.pytest_plugin.session import gym_session

    return gym_session(config)


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the `--gym-*` options and `gym_*` ini keys."""
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    """Register the level markers; read the options now (bad values fail early) when any gym option is set."""
    for marker, text in MARKERS.items():
        config.addinivalue_line("markers", f"{marker}: {text}")
    if gym_options_given(config):
        _session(config)


@pytest.hookimpl(tryfirst=True)
def pytest_collect_directory(path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """Collect a resources-server folder as its checks (and, above static level, its own tests)."""
    if not may_hold_servers(path, parent.config):
        return None
    _session(parent.config)
    from gym_conform.pytest_plugin.collect import collect_directory

    return collect_directory(path, parent)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Remember the selected check items (after -k, -m and --deselect) for the reports."""
    if engine_started(session.config):
        _session(session.config).book.add_items(session.items)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """Show a check's skip at its folder; record each phase's outcome for the summary table and JSON report."""
    report = yield
    if engine_started(item.config):
        from gym_conform.pytest_plugin.items import locate_skip_at_folder

        locate_skip_at_folder(item, report)
        _session(item.config).book.record(report)
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the `--gym-report` JSON report."""
    config = session.config
    if not engine_started(config) or _is_xdist_worker(config):
        return
    state = _session(config)
    if state.options.report_path is not None:
        state.book.write(state.options.report_path, state.options.settings.level, exitstatus)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config) -> None:
    """Print the server x check table and what to do about failures."""
    if not engine_started(config) or _is_xdist_worker(config):
        return
    book = _session(config).book
    if not book.records or all(record.outcome is None for record in book.records.values()):
        return
    terminalreporter.write_sep("-", "gym-conform summary")
    width = config.get_terminal_writer().fullwidth
    for line in book.table_lines(width) + [""] + book.footer_lines():
        terminalreporter.write_line(line)
    live = book.live_lines()
    if live:
        terminalreporter.write_sep("-", "gym-conform live results")
        for line in live:
            terminalreporter.write_line(line)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop the `vllm serve` process the live checks started, if any."""
    if engine_started(config):
        from gym_conform.pytest_plugin.settings import close_model

        close_model(_session(config).options.settings)
