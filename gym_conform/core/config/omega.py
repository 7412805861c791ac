"""OmegaConf's exceptions, imported on first use: plain configs never need OmegaConf (its import costs ~40 ms)."""

from __future__ import annotations

from functools import cache


@cache
def omegaconf_errors() -> tuple[type[Exception], ...]:
    """Return what an OmegaConf call may raise: its own errors, and plain TypeError/ValueError/RecursionError."""
    from omegaconf.errors import OmegaConfBaseException

    return (OmegaConfBaseException, TypeError, ValueError, RecursionError)
