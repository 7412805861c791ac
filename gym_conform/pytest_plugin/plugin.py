"""gym-conform's pytest plugin: hooks only. Collection, items, options and reports live in sibling modules.

Every resources-server folder under the configured roots becomes one test item per conformance check, with
node ids such as `resources_servers/math_with_judge::license`. Hook reference:
https://docs.pytest.org/en/stable/reference/reference.html#hooks
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gym_conform.pytest_plugin.collect import collect_directory
from gym_conform.pytest_plugin.items import LEVEL_MARKERS, locate_skip_at_folder
from gym_conform.pytest_plugin.options import OPTIONS, add_options, close_model, read_options
from gym_conform.pytest_plugin.report import BOOK, ResultBook

_MARKER_HELP = {
    "gym_static": "gym-conform check that executes no server code",
    "gym_server": "gym-conform check that imports and runs the server in-process",
    "gym_live": "gym-conform check that needs a live model",
}


def _is_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the `--gym-*` options and `gym_*` ini keys."""
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    """Register the level markers and read the options once per session."""
    for marker in LEVEL_MARKERS.values():
        config.addinivalue_line("markers", f"{marker}: {_MARKER_HELP[marker]}")
    config.stash[OPTIONS] = read_options(config)
    config.stash[BOOK] = ResultBook()


@pytest.hookimpl(tryfirst=True)
def pytest_collect_directory(path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """Collect a resources-server folder as its checks (and, above static level, its own tests)."""
    return collect_directory(path, parent)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Remember the selected check items (after -k, -m and --deselect) for the reports."""
    session.config.stash[BOOK].add_items(session.items)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """Show a check's skip at its folder; record each phase's outcome for the summary table and JSON report."""
    report = yield
    locate_skip_at_folder(item, report)
    item.config.stash[BOOK].record(report)
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the `--gym-report` JSON report."""
    config = session.config
    options = config.stash.get(OPTIONS, None)
    if options is None or options.report_path is None or _is_xdist_worker(config):
        return
    config.stash[BOOK].write(options.report_path, options.settings.level, exitstatus)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config) -> None:
    """Print the server x check table and what to do about failures."""
    book = config.stash.get(BOOK, None)
    if book is None or not book.records or _is_xdist_worker(config):
        return
    if all(record.outcome is None for record in book.records.values()):
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
    options = config.stash.get(OPTIONS, None)
    if options is not None:
        close_model(options.settings)
