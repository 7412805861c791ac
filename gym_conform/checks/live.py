"""The `live` check: every example row through the simple_agent loop against a live model, verified in-process.

The check fails when a rollout ends with an error (model or resources server failure, unusable reward,
tool-call arguments that are not JSON, max_steps); a low reward never fails it. The per-server summary
(rewards, histogram, rows whose reward never varies) is kept for the reports: see `live_summary`.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from gym_conform.agent.replay import AGENT_SERVER_TYPE, agent_max_steps, steps_for
from gym_conform.checks.base import CheckFailed, CheckSkipped
from gym_conform.checks.context import FolderContext
from gym_conform.checks.server_import import client_of, reward_range, server_or_skip
from gym_conform.errors import Location, Problem
from gym_conform.live.live_run import (
    BAD_REWARD,
    INVALID_TOOL_JSON,
    MAX_STEPS,
    MODEL_HTTP,
    SERVER_HTTP,
    live_rows,
    run_live,
    save_rollouts,
)
from gym_conform.live.model_setup import ModelSource
from gym_conform.live.summary import LiveSummary
from gym_conform.server import LoadedServer

if TYPE_CHECKING:
    from gym_conform.agent.model import ModelClient
    from gym_conform.models.vllm import VLLMModelClient

ROLLOUTS_FILE = "example_rollouts.jsonl"
NO_MODEL_REASON = (
    "no model configured: pass --gym-model-url URL --gym-model-name NAME (or --gym-vllm-serve MODEL_PATH), "
    "or set policy_base_url and policy_model_name in env.yaml"
)
HINTS = {
    MODEL_HTTP: "the model server failed: check the model URL and name (GET <base_url>/models lists the names) "
    "and that the server is up and not overloaded (lower --gym-concurrency)",
    SERVER_HTTP: "the resources server failed on this row: its error is above; `pytest <folder>` at server level "
    "shows the server checks, and every tool a row offers needs a route",
    BAD_REWARD: "verify() must return a finite number inside the reward_range declared in the server's config",
    INVALID_TOOL_JSON: "the model wrote tool-call arguments that are not JSON: check that vLLM runs with the "
    "right --tool-call-parser for this model",
    MAX_STEPS: "the model kept calling tools: check that the tools' answers let it finish, or set max_steps on "
    "the agent in the server's config",
}
_SUMMARIES: weakref.WeakKeyDictionary[FolderContext, LiveSummary] = weakref.WeakKeyDictionary()


def live_summary(ctx: FolderContext) -> LiveSummary | None:
    """Return the summary of the folder's live run (None when the live check did not run the rows)."""
    return _SUMMARIES.get(ctx)


def check_live(ctx: FolderContext) -> None:
    """Run every example row `live_repeats` times against the model; fail for rollouts that ended with errors."""
    settings = ctx.settings
    source = settings.model
    if source is None:
        raise CheckSkipped(NO_MODEL_REASON)
    loaded = server_or_skip(ctx)
    rows = ctx.example_rows
    if not rows:
        raise CheckSkipped(f"{ctx.show(ctx.example_path)} has no valid rows to run")
    opened: VLLMModelClient | None = None
    model: ModelClient
    if isinstance(source, ModelSource):
        opened = model = source.open()
    else:
        model = source
    try:
        rollouts = ctx.run_async(
            run_live(
                client_of(ctx),
                model,
                live_rows(rows),
                repeats=settings.live_repeats,
                concurrency=settings.live_concurrency,
                max_steps=steps_for({}, agent_max_steps(loaded)),
                reward_range=reward_range(loaded),
                agent_ref=_agent_ref(loaded),
            )
        )
    finally:
        if opened is not None:
            ctx.run_async(opened.aclose())
    described = source.describe() if isinstance(source, ModelSource) else type(source).__name__
    summary = LiveSummary(described, len(rows), settings.live_repeats, rollouts, reward_range(loaded))
    if settings.save_rollouts is not None:
        path = settings.save_rollouts / ctx.folder.name / ROLLOUTS_FILE
        count = save_rollouts(path, rollouts)
        summary.saved_to = ctx.show(path)
        ctx.note(f"wrote {count} rollout(s) to {summary.saved_to}")
    _SUMMARIES[ctx] = summary
    problems = _problems(ctx, summary)
    if problems:
        raise CheckFailed(
            problems,
            summary=f"{len(summary.errored)} of {len(rollouts)} rollout(s) of {ctx.display} ended with errors "
            "(errors are not counted as rewards)",
        )


def _problems(ctx: FolderContext, summary: LiveSummary) -> list[Problem]:
    shown = ctx.show(ctx.example_path)
    problems = []
    for rollout in summary.errored:
        sample = f"sample {rollout.repeat + 1} of {summary.repeats}: " if summary.repeats > 1 else ""
        for error in rollout.errors:
            where = Location(shown, rollout.row.line)
            problems.append(Problem(f"live.{error.kind}", sample + error.message, where, HINTS[error.kind]))
    return problems


def _agent_ref(loaded: LoadedServer) -> dict | None:
    """Return the agent_ref of the first agent in the server's config that uses the server."""
    for instance in loaded.instances:
        target = instance.fields.get("resources_server")
        if instance.server_type == AGENT_SERVER_TYPE and isinstance(target, dict) and target.get("name") == loaded.name:
            return {"type": AGENT_SERVER_TYPE, "name": instance.name}
    return None
