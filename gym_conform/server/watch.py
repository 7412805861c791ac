"""Announce when the server's own code runs (start-up, a request), so a watchdog outside the process can time it."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from typing import Protocol

STARTUP = "startup"
REQUEST = "request"
_SHOWN_BODY = 2000


class Observer(Protocol):
    """Told when a piece of server code starts and ends; the isolation worker forwards both to its parent."""

    def started(self, token: int, kind: str, what: str, body: str | None, path: str | None) -> None:
        """Record that server code `what` (of `kind` STARTUP or REQUEST, in file `path` if known) started."""

    def finished(self, token: int) -> None:
        """Record that the code started under `token` returned (or raised)."""


_observer: Observer | None = None
_tokens = itertools.count(1)


def set_observer(observer: Observer | None) -> None:
    """Install the process-wide observer (None: nobody watches, the default)."""
    global _observer
    _observer = observer


@contextlib.contextmanager
def watched(kind: str, what: str, body: str | None = None, path: object = None) -> Iterator[None]:
    """Run a block of server code under the observer's eye; a no-op when no observer is installed."""
    observer = _observer
    if observer is None:
        yield
        return
    token = next(_tokens)
    shown = body if body is None or len(body) <= _SHOWN_BODY else body[:_SHOWN_BODY] + "..."
    observer.started(token, kind, what, shown, None if path is None else str(path))
    try:
        yield
    finally:
        observer.finished(token)
