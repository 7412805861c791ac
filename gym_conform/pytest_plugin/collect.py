"""Collect resources-server folders: one `CheckItem` per registered check, then (server level) the folder's tests.

At static level no collector of a server folder is a `pytest.Directory`, so pytest never imports the folder's
`conftest.py` or `__init__.py` while collecting it, and a root such as `resources_servers/` yields server
folders only.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from gym_conform.checks import REGISTRY
from gym_conform.checks.base import Level
from gym_conform.checks.context import FolderContext
from gym_conform.checks.discovery import is_candidate, is_root, is_server_folder
from gym_conform.pytest_plugin.items import CheckItem, NotCollected
from gym_conform.pytest_plugin.session import gym_session

if TYPE_CHECKING:
    from typing_extensions import Self

    from gym_conform.isolate.host import CheckWorker

CONTEXT = pytest.StashKey[FolderContext]()
WORKER = pytest.StashKey["CheckWorker"]()


def collect_directory(path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """Return our collector for a server folder (or, at static level, a root of them); None for anything else."""
    options = gym_session(parent.config).options
    if not is_candidate(path, options.roots):
        return None
    level = options.settings.level
    if is_server_folder(path):
        if level >= Level.SERVER:
            return ServerFolderDir.from_parent(parent, path=path)
        return StaticServerFolder.from_parent(parent, path=path)
    if level == Level.STATIC and is_root(path, options.roots):
        return StaticRoot.from_parent(parent, path=path)
    return None


def ignored_by_selection(path: Path, config: pytest.Config) -> bool:
    """Return whether `path` is a server folder that --gym-changed-since leaves out (never collected)."""
    state = gym_session(config)
    selection = state.selection
    if selection is None or not is_server_folder(path) or is_root(path, state.options.roots):
        return False
    return not selection.includes(path)


def check_items(collector: pytest.Collector) -> Iterator[CheckItem]:
    """Yield one item per registered check up to the run's level for the collector's folder, sharing one context.

    Checks above `--gym-level` get no item at all: at static level they are two thirds of a tree's checks, and
    pytest's handling of an item it only skips costs about as much as a static check (the summary counts them).
    """
    options = gym_session(collector.config).options
    context = FolderContext(
        collector.path, options.settings, root=collector.config.rootpath, display=collector.nodeid or "."
    )
    collector.stash[CONTEXT] = context
    gym_session(collector.config).book.collected_folders.add(context.display)
    worker = _worker(collector, context) if options.isolated and options.settings.level >= Level.SERVER else None
    for check in REGISTRY:
        if check.level > options.settings.level:
            continue
        # Live checks stay in the session for now: their model (and a `vllm serve`) belongs to it.
        remote = worker if worker is not None and check.level == Level.SERVER else None
        yield CheckItem.from_parent(collector, name=check.id, check=check, context=context, worker=remote)


def _worker(collector: pytest.Collector, context: FolderContext) -> CheckWorker:
    """Return the folder's check worker (a child process, started when its first server check runs)."""
    from gym_conform.isolate.host import CheckWorker, Limits

    options = gym_session(collector.config).options
    limits = Limits(options.startup_timeout, options.settings.request_timeout, options.memory_mb or None)
    worker = CheckWorker(context.folder, context.root, context.display, options.settings, limits)
    collector.stash[WORKER] = worker
    return worker


def close_context(collector: pytest.Collector) -> None:
    """Release what the folder's checks opened (event loop, clients, its worker) once its last item ran."""
    worker = collector.stash.get(WORKER, None)
    if worker is not None:
        worker.close()
    context = collector.stash.get(CONTEXT, None)
    if context is not None:
        context.close()


def own_tests_blocked(collector: pytest.Collector) -> str | None:
    """Return why the folder's own tests must not be imported here: its app.py exits, crashes or hangs (in a child).

    The folder's tests import app.py into this session, so an app.py that exits, crashes or hangs at import
    would end the session (INTERNALERROR, or no summary at all); a worker tries the import first.
    """
    worker = collector.stash.get(WORKER, None)
    tests = collector.path / "tests"
    if worker is None or not tests.is_dir() or not any(tests.rglob("test_*.py")):
        return None
    if collector.ihook.pytest_ignore_collect(collection_path=tests, config=collector.config):
        return None
    outcome = worker.run("import")
    # The workers of all folders would otherwise stay up until their checks run, after the whole collection.
    worker.close()
    # Exceptions at import are pytest's collection errors as usual; an exit, a crash or a hang would end the session.
    if not outcome.fatal and not any(problem.code == "server.exit" for problem in outcome.problems):
        return None
    first = outcome.problems[0].message if outcome.problems else outcome.summary
    return f"its tests were not collected: the server does not import ({first}); see its `import` check"


def _nodeid(collector: pytest.Collector, path: Path) -> str:
    """Return the node id pytest gives a directory: its path relative to the rootdir, with `/` separators."""
    try:
        relative = path.relative_to(collector.config.rootpath)
    except ValueError:
        return path.as_posix()
    return "" if relative == Path(".") else relative.as_posix()


class _PathCollector(pytest.Collector):
    """A collector for a directory that is not a `pytest.Directory`, so pytest loads no conftest.py for it."""

    @classmethod
    def from_parent(cls, parent: pytest.Collector, *, path: Path) -> Self:  # type: ignore[override]
        """Create the collector for `path` below `parent`."""
        return super().from_parent(parent, name=path.name, path=path, nodeid=_nodeid(parent, path))


class StaticServerFolder(_PathCollector):
    """A server folder at static level: its check items only, none of its own tests or code."""

    def collect(self) -> Iterator[CheckItem]:
        """Yield the folder's check items."""
        yield from check_items(self)

    def teardown(self) -> None:
        """Close the folder's context after its last item."""
        close_context(self)


class StaticRoot(_PathCollector):
    """A root such as resources_servers/ at static level: its server folders, nothing else."""

    def collect(self) -> Iterator[pytest.Collector]:
        """Yield a collector for each server folder directly inside the root (pytest's ignore rules apply)."""
        for child in sorted(self.path.iterdir()):
            if not child.is_dir():
                continue
            if not self.session.isinitpath(child, with_parents=True) and self.ihook.pytest_ignore_collect(
                collection_path=child, config=self.config
            ):
                continue
            if is_server_folder(child):
                yield StaticServerFolder.from_parent(self, path=child)


# pytest.Dir is final for type checkers only; a subclass is how a server folder yields its checks before its tests.
class ServerFolderDir(pytest.Dir):  # type: ignore[misc]
    """A server folder at server level and above: its check items, then its own tests as pytest collects them."""

    def collect(self) -> Iterator[pytest.Item | pytest.Collector]:
        """Yield the folder's check items, then whatever pytest collects in the folder (its own tests)."""
        yield from check_items(self)
        blocked = own_tests_blocked(self)
        if blocked is not None:
            yield NotCollected.from_parent(self, name="tests", reason=blocked)
            return
        yield from super().collect()

    def teardown(self) -> None:
        """Close the folder's context after its last item."""
        close_context(self)
