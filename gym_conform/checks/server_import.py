"""The `import` check (the folder's server loads), and the loaded server and client the other server checks share.

A server that does not load fails `import` with the loader's problems (file, line, missing module, hint);
every other server check then skips with "server could not be imported: <reason>".
"""

from __future__ import annotations

import inspect
import math
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gym_conform.checks.base import CheckFailed, CheckSkipped
from gym_conform.checks.context import FolderContext
from gym_conform.errors import GymConformError, Location, Problem
from gym_conform.server import LoadedServer, ResourcesServer, ServerClient
from gym_conform.server.loader import RemoteServer
from gym_conform.server.upstream import UpstreamServer
from gym_conform.server.watch import REQUEST, STARTUP, watched

# Per folder context: the in-process client of its server (the server itself is cached by the context).
_CLIENTS: weakref.WeakKeyDictionary[FolderContext, ServerClient] = weakref.WeakKeyDictionary()
_CLOSING: weakref.WeakSet[FolderContext] = weakref.WeakSet()
# Loader codes for a server that needs what this machine lacks (a package, a value, a service), or a folder that
# serves nothing (a library): a skip with the reason, no failure.
NEEDS_OUTSIDE_CODES = frozenset(
    {"server.needs_package", "server.needs_value", "server.needs_outside", "server.no_server"}
)


def check_import(ctx: FolderContext) -> None:
    """Fail with the loader's problems when the folder's server cannot be imported and built from its config."""
    try:
        loaded = loaded_server(ctx)
    except GymConformError as error:
        if error.code in NEEDS_OUTSIDE_CODES:
            raise CheckSkipped(error.message + (f": {error.hint}" if error.hint else "")) from None
        problems = [_shown(ctx, problem) for problem in error.problems]
        raise CheckFailed(problems, summary=f"the server of {ctx.display} could not be imported") from None
    if ctx.settings.server_url is None and not ctx.starts_own_process and not loaded.needs:
        # Built here, not lazily in the first check that calls it: a setup_webserver() that raises or waits
        # for ever (for a service that is not there) fails `import`, and the other checks skip.
        loaded.server.app  # noqa: B018
    if ctx.starts_own_process:
        try:
            ctx.server_url  # noqa: B018 (starts the server process, once per folder)
        except GymConformError as error:
            raise CheckFailed(error.problems, summary=f"the server of {ctx.display} did not start") from None
    if ctx.server_url is not None:
        try:
            ctx.run_async(client_of(ctx).rollout().health())
        except GymConformError as error:
            raise CheckFailed(error.problems, summary=f"the server at {ctx.server_url} does not answer") from None
    for note in loaded.notes:
        ctx.note(note)
    ctx.note(f"reached: {reached(ctx, loaded)}")


def reached(ctx: FolderContext, loaded: LoadedServer) -> str:
    """Return how the server checks reach the server, for the summary: where it runs and how it was built."""
    if ctx.starts_own_process:
        return f"its own process, over HTTP at {ctx.server_url} (its config only is read here)"
    if ctx.settings.server_url is not None:
        code = (
            "its config only: app.py does not import here"
            if isinstance(loaded.server, RemoteServer)
            else (f"request models from {type(loaded.server).__name__}")
        )
        return f"the running server at {ctx.settings.server_url} ({code})"
    where = "child process" if ctx.settings.server_mode == "child" else "in-process"
    if isinstance(loaded.server, UpstreamServer):
        return f"{where}, built as NeMo Gym builds it ({type(loaded.server).__name__}, a SimpleResourcesServer)"
    return f"{where}, {type(loaded.server).__name__} (gym-conform ResourcesServer)"


def loaded_server(ctx: FolderContext) -> LoadedServer:
    """Return the folder's server (loaded once per context, closed with it); raise the loader's error."""
    loaded = ctx.server
    if ctx not in _CLOSING:
        _CLOSING.add(ctx)
        ctx.add_cleanup(lambda: close_server(loaded.server))
    return loaded


def server_or_skip(ctx: FolderContext) -> LoadedServer:
    """Return the folder's server for a check that needs it; skip the check when the server does not load."""
    try:
        loaded = loaded_server(ctx)
    except GymConformError as error:
        reason = error.problems[0].message
        if error.code in NEEDS_OUTSIDE_CODES and error.hint:
            reason += f" ({error.hint})"
        raise CheckSkipped(f"server could not be imported: {reason}") from None
    if ctx.starts_own_process:
        try:
            ctx.server_url  # noqa: B018 (starts the server process, once per folder)
        except GymConformError as error:
            raise CheckSkipped(f"server did not start: {error.problems[0].message}") from None
    return loaded


def client_of(ctx: FolderContext) -> ServerClient:
    """Return an in-process client of the folder's server, made once and closed with the context."""
    loaded = server_or_skip(ctx)
    skip_if_needs_outside_help(ctx, loaded)
    client = _CLIENTS.get(ctx)
    if client is None:
        client = new_client(ctx, loaded)
        _CLIENTS[ctx] = client
        ctx.add_cleanup(client.aclose)
    return client


def new_client(ctx: FolderContext, loaded: LoadedServer, server: ResourcesServer | None = None) -> ServerClient:
    """Return a client of the running server (--gym-server-url), else of `server` (default: the loaded one) here."""
    if ctx.server_url is not None:
        return ServerClient.remote(ctx.server_url, timeout=ctx.settings.request_timeout)
    return ServerClient.in_process(server or loaded.server, timeout=ctx.settings.request_timeout)


def skip_if_needs_outside_help(ctx: FolderContext, loaded: LoadedServer) -> None:
    """Skip a check that calls the server when its verify needs something that does not run here (a judge).

    A server reached at --gym-server-url was started with what it needs (its judge model server), so nothing skips.
    """
    # The config first: building the app (for its routes) runs server code, which may wait for that judge.
    if loaded.needs and ctx.settings.server_url is None:
        raise CheckSkipped("the server needs " + "; and ".join(loaded.needs))
    if isinstance(loaded.server, UpstreamServer):
        gap = loaded.server.contract_gap()
        if gap is not None:
            raise CheckSkipped(gap)


def skip_if_judged_by_standin(loaded: LoadedServer, what: str) -> None:
    """Skip a check whose verdict is the judge's when the scripted stand-in answers the server's judge."""
    if loaded.standin_judges:
        names = ", ".join(repr(name) for name in loaded.standin_judges)
        raise CheckSkipped(
            f"{what} depends on the verdicts of the judge model server {names}, which the scripted stand-in "
            "answers here (--gym-judge-standin): run against that judge model for this check"
        )


def fresh_server(loaded: LoadedServer) -> ResourcesServer:
    """Return a new instance of the loaded server's class, built from the same config (no shared state)."""
    with watched(STARTUP, f"{type(loaded.server).__name__}(config)", path=loaded.app_path):
        return type(loaded.server)(config=loaded.config)


def close_server(server: ResourcesServer) -> None:
    """Release what a server holds (worker processes, ...) through its optional `close()`."""
    close = getattr(server, "close", None)
    if callable(close):
        with watched(REQUEST, f"{type(server).__name__}.close()"):
            close()


def reward_range(loaded: LoadedServer) -> tuple[float, float]:
    """Return the server's declared (lowest, highest) reward."""
    low, high = loaded.config.reward_range
    return float(low), float(high)


def declares_reward_range(loaded: LoadedServer) -> bool:
    """Return whether the range is the server's own: NeMo Gym's servers declare none, and may score 2 or -100."""
    return not isinstance(loaded.server, UpstreamServer) or "reward_range" in loaded.config.model_fields_set


def checked_range(loaded: LoadedServer) -> tuple[float, float]:
    """Return the range a reward must lie in: the declared one, else any finite number."""
    return reward_range(loaded) if declares_reward_range(loaded) else (-math.inf, math.inf)


def verify_location(ctx: FolderContext, loaded: LoadedServer) -> Location:
    """Return where the server's verify() is defined (its file and the line of `def verify`), as shown to users."""
    return code_location(ctx, loaded, getattr(type(loaded.server), "verify", None), "verify")


def code_location(ctx: FolderContext, loaded: LoadedServer, code: Callable[..., Any] | None, name: str) -> Location:
    """Return where a function or class of the server is defined; app.py when it comes from outside the folder.

    A server that inherits seed_session, or uses the base request model, has nothing of its own to point at.
    """
    if code is None:
        return Location(ctx.show(loaded.app_path))
    try:
        path = Path(inspect.getsourcefile(code) or "")
        line = inspect.getsourcelines(code)[1]
    except (OSError, TypeError):
        return Location(ctx.show(loaded.app_path))
    if not path.resolve().is_relative_to(loaded.folder):
        return Location(ctx.show(loaded.app_path))
    return Location(ctx.show(path), line, name)


def _shown(ctx: FolderContext, problem: Problem) -> Problem:
    """Return the problem with an absolute file path shown relative to the run's root."""
    where = problem.location
    if not where.path or not Path(where.path).is_absolute():
        return problem
    shown = Location(ctx.show(Path(where.path)), where.line, where.field)
    return Problem(problem.code, problem.message, shown, problem.hint)
