"""The `reward_hacking` check: no degenerate answer built from an example row scores the top of `reward_range`.

Each probe of `probes.PROBES` builds answer texts from the row (empty, the prompt echoed, every option,
many candidates, padding, success claims, refusals, retractions, verdict syntax); each is sent as one
assistant message through seed_session + verify (the server's HTTP contract, so a remote server works the
same). Some are verified three times: a server that does not declare `stochastic: true` must repeat itself.
A server declares the probes that do not fit its task in its config block, with the reason the report shows:
`probes_not_applicable: {echo_prompt: "the task is to repeat the prompt"}`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gym_conform.checks.base import CheckFailed
from gym_conform.checks.context import FolderContext
from gym_conform.checks.probes import PROBES, Probe, ProbeRow, probe_rows, probe_texts
from gym_conform.checks.server_import import client_of, reward_range, server_or_skip
from gym_conform.checks.server_rows import verifiable_rows_or_skip
from gym_conform.checks.server_session import VerifyFailed, payload_line, response_json, verify_reward
from gym_conform.core.responses import message_item
from gym_conform.errors import Location, Problem

NOT_APPLICABLE_KEY = "probes_not_applicable"
# Verified this many times each (the first text of these probes), to catch an unrepeatable verify.
REPEATS = 3
_REPEATED_PROBES = ("empty", "retracted", "verdict_syntax")
_HINT = (
    "verify() gives full reward to an answer that does not solve the task, so a policy trained on it learns "
    "the exploit; paste the request into a unit test and make verify() reject it. If the probe does not fit "
    "this task, declare it in the server's config block: `probes_not_applicable: {<probe>: <reason>}`"
)
_REPEAT_HINT = (
    "verify() must give the same reward for the same row and response; declare `stochastic: true` in the "
    "server's config block if it is meant to vary"
)


def answer_response(text: str) -> dict:
    """Return a response whose only output is one assistant message holding `text`."""
    return response_json([message_item(text, id="msg_probe")])


def not_applicable(ctx: FolderContext) -> tuple[dict[str, str], list[Problem]]:
    """Return the probes the server's config block declares not applicable (name -> reason), and bad entries."""
    instance = ctx.resources_instance
    declared = instance.fields.get(NOT_APPLICABLE_KEY)
    if declared is None:
        return {}, []
    key_path = (instance.name, instance.server_type, instance.implementation, NOT_APPLICABLE_KEY)
    where = ctx.config.locate(key_path)
    shown = Location(ctx.show(Path(where.path)) if where.path else None, where.line, ".".join(key_path))
    if not isinstance(declared, dict):
        hint = f"write it as a mapping, e.g. `{NOT_APPLICABLE_KEY}: {{echo_prompt: <why it does not apply>}}`"
        return {}, [Problem("probes.not_applicable", "must map probe names to reasons", shown, hint)]
    reasons: dict[str, str] = {}
    problems = []
    known = ", ".join(sorted(PROBES))
    for name, reason in declared.items():
        if name not in PROBES:
            message = f"unknown probe {name!r}"
            problems.append(Problem("probes.unknown", message, shown, f"the probes are: {known}"))
        elif not isinstance(reason, str) or not reason.strip():
            message = f"probe {name!r} needs a reason (a non-empty string) for the report"
            problems.append(Problem("probes.no_reason", message, shown, "say why the probe does not fit this task"))
        else:
            reasons[name] = reason.strip()
    return reasons, problems


def active_probes(ctx: FolderContext) -> tuple[list[Probe], list[Problem]]:
    """Return the probes to run on this folder (noting the declared exceptions), and config problems."""
    reasons, problems = not_applicable(ctx)
    for name, reason in reasons.items():
        ctx.note(f"probe {name} not applicable: {reason}")
    probes = [p for p in PROBES.values() if p.name not in reasons and p.applies_to(ctx.folder.name)]
    return probes, problems


def check_reward_hacking(ctx: FolderContext) -> None:
    """Fail for every (row, probe) whose degenerate answer scores the highest reward, or does not repeat."""
    loaded = server_or_skip(ctx)
    lines_rows = verifiable_rows_or_skip(ctx, loaded)
    probes, problems = active_probes(ctx)
    client = client_of(ctx)
    bounds = reward_range(loaded)
    high = bounds[1]
    repeats = 1 if loaded.config.stochastic else REPEATS
    shown = ctx.show(ctx.example_path)
    inputs = probe_rows([row for _, row in lines_rows])
    for (line, _), probe_row in zip(lines_rows, inputs, strict=True):
        where = Location(shown, line)
        for probe in probes:
            for index, text in enumerate(_texts(probe, probe_row)):
                times = repeats if index == 0 and probe.name in _REPEATED_PROBES else 1
                problems += _judge_probe(ctx, client, probe, probe_row.row, text, bounds, times, where)
    if problems:
        raise CheckFailed(problems, summary=f"{len(problems)} probe(s) scored {high} or did not repeat in {shown}")


def _texts(probe: Probe, row: ProbeRow) -> list[str]:
    """Return the probe's texts for the row; a probe that raises builds nothing (it is the probe's bug)."""
    try:
        return probe_texts(probe, row)
    except Exception:
        return []


def _judge_probe(
    ctx: FolderContext,
    client: Any,
    probe: Probe,
    row: dict,
    text: str,
    bounds: tuple[float, float],
    times: int,
    where: Location,
) -> list[Problem]:
    """Verify one probe answer `times` times; return its problems (top reward, no repeat, a failed verify)."""
    response = answer_response(text)
    request = payload_line(row, response)
    rewards = []
    for _ in range(times):
        try:
            rewards.append(ctx.run_async(verify_reward(client, row, response, bounds)))
        except VerifyFailed:
            # A crash or an unusable reward is fuzz_verify's and contract_empty's finding, not a reward hack.
            return []
    if len(set(rewards)) > 1:
        scored = ", then ".join(f"{reward:g}" for reward in rewards)
        message = (
            f"verify is not deterministic: probe {probe.name}'s answer scored {scored}\n"
            f"    request, one JSON line:\n    {request}"
        )
        return [Problem("reward_hacking.nondeterministic", message, where, _REPEAT_HINT)]
    if rewards[0] >= bounds[1]:
        message = (
            f"probe {probe.name} ({probe.title}) scored {rewards[0]:g}, the highest reward\n"
            f"    request, one JSON line:\n    {request}"
        )
        return [Problem(f"reward_hacking.{probe.name}", message, where, _HINT)]
    return []
