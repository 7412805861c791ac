"""Run a property with Hypothesis inside a check, and report its shrunk counterexample as a pasteable JSON row.

Two profiles: "gym-conform-ci" (derandomized, no example database, ~30 examples) and "gym-conform-dev"
(more examples, the default database, so a failure found once is tried first next time). The pytest
plugin picks one through `CheckSettings.hypothesis_profile`.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from gym_conform.checks.base import CheckFailed
from gym_conform.checks.context import FolderContext
from gym_conform.errors import Location, Problem

CI_PROFILE = "gym-conform-ci"
DEV_PROFILE = "gym-conform-dev"
# The server base class logs every unhandled handler error with its traceback; shrinking causes hundreds.
SERVER_ERROR_LOGGER = "gym_conform.server.base"
_SLOW_INPUTS = [HealthCheck.too_slow, HealthCheck.data_too_large]

settings.register_profile(
    CI_PROFILE,
    derandomize=True,
    database=None,
    max_examples=30,
    deadline=None,
    print_blob=False,
    suppress_health_check=_SLOW_INPUTS,
)
# Hypothesis loads its own "ci" profile (no database, derandomized) when it sees a CI environment; the dev
# profile must keep its example database there too, so it builds on "default" and not on whatever is loaded.
settings.register_profile(
    DEV_PROFILE,
    parent=settings.get_profile("default"),
    max_examples=100,
    deadline=None,
    suppress_health_check=_SLOW_INPUTS,
)


@dataclass
class Violation(Exception):
    """A property does not hold for one example; `payload_line` is the row (with `response`) that shows it."""

    code: str
    message: str
    payload_line: str
    location: Location | None = None

    def __str__(self) -> str:
        return self.message


def profile_settings(ctx: FolderContext) -> settings:
    """Return the Hypothesis settings for this run: the chosen profile, `max_examples` if given, quiet output,
    and no explain phase.
    """
    try:
        base = settings.get_profile(ctx.settings.hypothesis_profile)
    except InvalidArgument:
        raise CheckFailed(
            [
                Problem(
                    "check.hypothesis_profile",
                    f"unknown Hypothesis profile {ctx.settings.hypothesis_profile!r}",
                    hint=f"use {CI_PROFILE} or {DEV_PROFILE}, or register the profile in a conftest.py",
                )
            ]
        ) from None
    # The explain phase only adds notes to Hypothesis's own report, which the check replaces; it costs seconds.
    phases = [phase for phase in base.phases if phase != Phase.explain]
    overrides: dict[str, Any] = {"verbosity": Verbosity.quiet, "report_multiple_bugs": False, "phases": phases}
    if ctx.settings.max_examples is not None:
        overrides["max_examples"] = ctx.settings.max_examples
    return settings(base, **overrides)


def run_property(
    ctx: FolderContext,
    name: str,
    strategy: st.SearchStrategy[Any],
    prop: Callable[[Any], None],
    *,
    location: Location,
    hint: str,
    most_examples: int | None = None,
) -> None:
    """Check `prop(example)` for examples of `strategy`; raise CheckFailed with the shrunk Violation.

    `most_examples` caps the profile's example count (for properties run many times per folder), unless the
    run sets `max_examples` itself.

    `prop` raises `Violation` when the example breaks the property. Hypothesis shrinks it; the last
    violation seen is the shrunk one (also when the failure does not reproduce, as a nondeterministic
    verify's does not).
    """
    seen: list[tuple[Any, Violation]] = []

    def test(example: Any) -> None:
        try:
            prop(example)
        except Violation as violation:
            seen.append((example, violation))
            raise

    # A distinct name per check and folder gives each its own example-database key (dev profile).
    test.__name__ = test.__qualname__ = re.sub(r"\W", "_", f"{name}__{ctx.display}")
    chosen = profile_settings(ctx)
    if most_examples is not None and ctx.settings.max_examples is None and chosen.max_examples > most_examples:
        chosen = settings(chosen, max_examples=most_examples)
    runner = chosen(given(strategy)(test))
    try:
        with _server_errors_unlogged():
            runner()
    except Exception:
        if not seen:
            raise
    except BaseException as group:  # Hypothesis wraps flaky failures in an exception group.
        if not seen or isinstance(group, (KeyboardInterrupt, SystemExit)):
            raise
    if seen:
        example, violation = seen[-1]
        # Once more with the server's error log on: its traceback then shows for the shrunk example only.
        with contextlib.suppress(Violation):
            prop(example)
        message = f"{violation.message}\n    counterexample (shrunk), one JSON line:\n    {violation.payload_line}"
        problem = Problem(violation.code, message, violation.location or location, hint)
        raise CheckFailed([problem], summary=f"{name}: {violation.message}")


@contextlib.contextmanager
def _server_errors_unlogged() -> Iterator[None]:
    """Silence the server's per-request error log while Hypothesis explores and shrinks."""
    logger = logging.getLogger(SERVER_ERROR_LOGGER)
    was_disabled = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = was_disabled
