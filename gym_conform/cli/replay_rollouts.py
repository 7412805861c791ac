"""`ng_replay_rollouts`: replay recorded rollouts against a server's current code and compare the rewards."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from gym_conform.agent.replay import ReplayOutcome, replay_rollouts
from gym_conform.agent.rollouts import RolloutRecord, read_rollouts, write_rollouts
from gym_conform.cli.common import EXIT_ERROR, EXIT_OK, options_from_args, render_help, run, wants_help
from gym_conform.core.config.loader import resolve_read_path
from gym_conform.core.files import display_path
from gym_conform.server import LoadedServer, ServerClient, load_server_folder

PROG = "ng_replay_rollouts"
SUMMARY = (
    "Replay every recorded rollout of a resources server: the recorded model turns are sent again, the\n"
    "server's current tools and verify() answer them, and the new reward is compared with the recorded one.\n"
    "Exits 1 when a reward changed (or a rollout failed). +update=true rewrites the file with the fresh\n"
    "rollout lines, which also turns hand-written draft lines (a row plus a `response` holding only the\n"
    "model's items) into complete rollouts."
)
EXAMPLES = (
    f"{PROG} +entrypoint=resources_servers/example_multi_step",
    f"{PROG} +entrypoint=resources_servers/my_server +rollouts_fpath=data/my_rollouts.jsonl +update=true",
    f"{PROG} +entrypoint=resources_servers/my_server +base_url=http://127.0.0.1:8000",
)
DEFAULT_ROLLOUTS = Path("data") / "example_rollouts.jsonl"
CHANGED_HINT = (
    "verify() now scores these rollouts differently; if that is intended, rerun with +update=true to rewrite the file"
)


class ReplayOptions(BaseModel):
    """The keys `ng_replay_rollouts` accepts."""

    entrypoint: str = Field(description="The server folder, e.g. resources_servers/<name>.")
    rollouts_fpath: str | None = Field(
        None, description="The rollouts JSONL to replay; when unset, <entrypoint>/data/example_rollouts.jsonl."
    )
    config_file: str | None = Field(
        None, description="The server's YAML config, when configs/ holds several different instances."
    )
    base_url: str | None = Field(
        None, description="Replay against this running server instead of one started in this process."
    )
    update: bool = Field(False, description="Rewrite the rollouts file with the freshly produced lines.")
    concurrency: int = Field(8, ge=1, description="How many rollouts run at the same time.")
    timeout: float = Field(60.0, gt=0, description="Seconds to wait for each server call.")


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point."""
    run(_command, argv)


def _command(args: list[str]) -> int:
    if wants_help(args):
        print(render_help(PROG, SUMMARY, ReplayOptions, EXAMPLES, config_overrides=False))
        return EXIT_OK
    options = options_from_args(args, ReplayOptions, PROG)
    folder = resolve_read_path(options.entrypoint)
    config_file = Path(options.config_file) if options.config_file else None
    loaded = load_server_folder(folder, config_file=config_file)
    path = resolve_read_path(options.rollouts_fpath) if options.rollouts_fpath else folder / DEFAULT_ROLLOUTS
    records = read_rollouts(path)
    if not records:
        print(f"{display_path(path)} holds no rollouts; nothing to replay")
        return EXIT_OK
    outcomes = asyncio.run(_replay_all(loaded, records, options))
    return _report(outcomes, path, options.update)


async def _replay_all(
    loaded: LoadedServer, records: list[RolloutRecord], options: ReplayOptions
) -> list[ReplayOutcome]:
    if options.base_url:
        client = ServerClient.remote(options.base_url, timeout=options.timeout)
    else:
        client = ServerClient.in_process(loaded.server, timeout=options.timeout)
    async with client:
        await client.rollout().health()
        return await replay_rollouts(client, loaded, records, concurrency=options.concurrency)


def _report(outcomes: list[ReplayOutcome], path: Path, update: bool) -> int:
    """Print one line per rollout and a summary; rewrite the file if asked; return the exit code."""
    changed = failed = 0
    for outcome in outcomes:
        verdict, text = outcome.verdict()
        print(f"line {outcome.record.line}: {text}")
        for note in outcome.tool_errors:
            print(f"    tool error: {note}")
        changed += verdict == "changed"
        failed += verdict == "failed"
    unchanged = len(outcomes) - changed - failed
    print(
        f"{len(outcomes)} rollout(s) replayed from {display_path(path)}: "
        f"{unchanged} unchanged, {changed} changed, {failed} failed"
    )
    if failed:
        if update:
            print(f"{display_path(path)} was not rewritten because {failed} rollout(s) failed")
        return EXIT_ERROR
    if update:
        write_rollouts(path, [outcome.line for outcome in outcomes if outcome.line is not None])
        print(f"rewrote {display_path(path)} with {len(outcomes)} rollout line(s)")
        return EXIT_OK
    if changed:
        print(f"hint: {CHANGED_HINT}")
        return EXIT_ERROR
    return EXIT_OK


if __name__ == "__main__":
    main()
