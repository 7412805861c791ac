"""The `fuzz_verify` check: verify() survives any well-formed response with a usable, reproducible reward.

Responses are generated from the Responses schema (see `strategies`) for the example rows. For each one,
verify must answer (no 5xx, no 422), give a finite reward inside the declared `reward_range`, and give
the same reward again for the same row and response in a fresh session, unless the server's config
declares `stochastic: true`.
"""

from __future__ import annotations

from hypothesis import strategies as st

from gym_conform.checks.context import FolderContext
from gym_conform.checks.properties import Violation, run_property
from gym_conform.checks.server_import import checked_range, client_of, server_or_skip, verify_location
from gym_conform.checks.server_rows import NEMO_GYM_FIELDS, verifiable_rows_or_skip
from gym_conform.checks.server_session import VerifyFailed, payload_line, verify_reward
from gym_conform.checks.strategies import ToolHints, responses
from gym_conform.core.jsonl import RCP
from gym_conform.server import LoadedServer

FUZZ_HINT = (
    "paste the row into tests/verifier_cases.jsonl as the request of a case "
    '{"name": "...", "kind": "zero_reward", "request": <row>, "expected_reward": <lowest reward>} '
    "(or into a unit test) to reproduce it; verify must score any well-formed response, however odd"
)


def tool_hints(loaded: LoadedServer, rows: list[dict]) -> ToolHints:
    """Return the tool names and argument keys of the server and the rows' tools, and the rows' string values."""
    names = dict.fromkeys(loaded.server.tool_names())
    keys: dict[str, None] = {}
    values: dict[str, None] = {}
    for row in rows:
        for tool in row[RCP].get("tools") or []:
            if isinstance(tool, dict) and isinstance(tool.get("name"), str):
                names.setdefault(tool["name"])
                properties = (tool.get("parameters") or {}).get("properties")
                keys.update(dict.fromkeys(properties if isinstance(properties, dict) else []))
        for key, value in row.items():
            if key not in NEMO_GYM_FIELDS:
                values.update(dict.fromkeys(_strings(value)))
    return ToolHints(tuple(names), tuple(keys), tuple(values)[:20])


def _strings(value: object) -> list[str]:
    """Return the short strings and numbers inside a row value, as text (answers, cities, expected values)."""
    if isinstance(value, bool):
        return []
    if isinstance(value, (str, int, float)):
        text = str(value)
        return [text] if len(text) <= 80 else []
    if isinstance(value, list):
        return [text for item in value[:10] for text in _strings(item)]
    return []


def check_fuzz_verify(ctx: FolderContext) -> None:
    """Fail with the shrunk (row, response) for which verify errs, scores out of range, or is not reproducible."""
    loaded = server_or_skip(ctx)
    lines_rows = verifiable_rows_or_skip(ctx, loaded)
    rows = [row for _, row in lines_rows]
    client = client_of(ctx)
    bounds = checked_range(loaded)
    stochastic = loaded.config.stochastic

    def scores_well(example: tuple[dict, dict]) -> None:
        row, response = example
        try:
            first = ctx.run_async(verify_reward(client, row, response, bounds))
            if stochastic:
                return
            second = ctx.run_async(verify_reward(client, row, response, bounds))
        except VerifyFailed as failure:
            raise Violation("fuzz_verify.reward", failure.message, payload_line(row, response)) from None
        if first != second:
            message = (
                f"verify is not deterministic: the same row and response scored {first}, then {second} "
                "(declare `stochastic: true` in the server config if that is intended)"
            )
            raise Violation("fuzz_verify.nondeterministic", message, payload_line(row, response))

    strategy = st.tuples(st.sampled_from(rows), responses(tool_hints(loaded, rows)))
    run_property(ctx, "fuzz_verify", strategy, scores_well, location=verify_location(ctx, loaded), hint=FUZZ_HINT)
