"""The engine's state for one pytest run: the options read once and the book of check outcomes."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from gym_conform.checks.changed import Selection, select_changed
from gym_conform.errors import GymConformError
from gym_conform.pytest_plugin.gate import SESSION, changed_since
from gym_conform.pytest_plugin.report import ResultBook
from gym_conform.pytest_plugin.settings import GymOptions, read_options


@dataclass
class GymSession:
    """What every hook of a run shares once a server folder (or a gym option) has started the engine."""

    options: GymOptions
    book: ResultBook
    selection: Selection | None = None  # --gym-changed-since: the servers to run, and why


def gym_session(config: pytest.Config) -> GymSession:
    """Return the run's engine state, reading the options the first time (a bad value is a usage error)."""
    state = config.stash.get(SESSION, None)
    if state is None:
        options = read_options(config)
        state = GymSession(options, ResultBook(options.settings.waivers), _selection(config, options))
        state.book.changed = None if state.selection is None else state.selection.to_json()
        config.stash[SESSION] = state
    return state


def _selection(config: pytest.Config, options: GymOptions) -> Selection | None:
    """Return the servers a change since --gym-changed-since touches; a git failure is a usage error."""
    ref = changed_since(config)
    if ref is None:
        return None
    try:
        return select_changed(config.rootpath, ref, options.roots)
    except GymConformError as error:
        raise pytest.UsageError(f"--gym-changed-since {ref}: {error.render()}") from None
