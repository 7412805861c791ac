"""The engine's state for one pytest run: the options read once and the book of check outcomes."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from gym_conform.pytest_plugin.gate import SESSION
from gym_conform.pytest_plugin.report import ResultBook
from gym_conform.pytest_plugin.settings import GymOptions, read_options


@dataclass
class GymSession:
    """What every hook of a run shares once a server folder (or a gym option) has started the engine."""

    options: GymOptions
    book: ResultBook


def gym_session(config: pytest.Config) -> GymSession:
    """Return the run's engine state, reading the options the first time (a bad value is a usage error)."""
    state = config.stash.get(SESSION, None)
    if state is None:
        options = read_options(config)
        state = GymSession(options, ResultBook(options.settings.waivers))
        config.stash[SESSION] = state
    return state
