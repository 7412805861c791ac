"""The responses a check can play for an example row: the server's gold response, else a recorded rollout's.

`gold_response(row)` is this project's hook and needs the server's code here; a folder's recorded
`data/example_rollouts.jsonl` needs nothing but the file, so a NeMo Gym server (which has no gold hook) and a
server reached over `--gym-server-url` whose code does not import here can still be played.
"""

from __future__ import annotations

import json

from gym_conform.agent.rollouts import read_rollouts
from gym_conform.checks.context import FolderContext
from gym_conform.checks.server_session import RESPONSE, response_dump
from gym_conform.core.jsonl import RCP
from gym_conform.errors import GymConformError
from gym_conform.server import LoadedServer

GOLD = "gold_response"
ROLLOUT = "recorded rollout"


def gold_responses(loaded: LoadedServer, lines_rows: list[tuple[int, dict]]) -> dict[int, dict]:
    """Return line -> the gold response the server builds for that row (rows it builds none for left out)."""
    found = {}
    for line, row in lines_rows:
        try:
            gold = loaded.server.gold_response(row)
        except Exception:
            gold = None  # contract_gold reports a gold_response that raises
        if gold is not None:
            found[line] = response_dump(gold)
    return found


def recorded_responses(ctx: FolderContext, lines_rows: list[tuple[int, dict]]) -> dict[int, dict]:
    """Return line -> the response of the first recorded rollout made from that row (matched by its input)."""
    try:
        records = read_rollouts(ctx.rollouts_path) if ctx.rollouts_path.is_file() else []
    except GymConformError:
        return {}  # example_rollouts reports malformed lines
    by_input = {_input_key(row): line for line, row in lines_rows}
    found: dict[int, dict] = {}
    for record in records:
        line = by_input.get(_input_key(record.data))
        response = record.data.get(RESPONSE)
        if line is not None and line not in found and isinstance(response, dict):
            found[line] = response
    return found


def reference_responses(
    ctx: FolderContext, loaded: LoadedServer, lines_rows: list[tuple[int, dict]]
) -> tuple[list[tuple[int, dict, dict]], str]:
    """Return (line, row, response) for every row with a gold response, else with a recorded rollout; and which.

    Gold responses win when the server builds them for at least two rows; recorded rollouts otherwise.
    """
    rows = dict(lines_rows)
    gold = gold_responses(loaded, lines_rows)
    source, responses = (GOLD, gold) if len(gold) >= 2 else (ROLLOUT, recorded_responses(ctx, lines_rows))
    return [(line, rows[line], response) for line, response in sorted(responses.items())], source


def _input_key(row: dict) -> str | None:
    params = row.get(RCP)
    return json.dumps(params.get("input"), sort_keys=True) if isinstance(params, dict) else None
