"""The `replay` check: every recorded example rollout, replayed against the current code, gives its recorded reward.

The same code path as `ng_replay_rollouts` (gym_conform.agent.replay): the recorded model turns go through
the simple_agent loop again, the server's tools and verify() answer them in-process.
"""

from __future__ import annotations

import json
from dataclasses import replace

from gym_conform.agent.replay import ReplayOutcome, replay_rollouts
from gym_conform.agent.rollouts import RolloutRecord, read_rollouts
from gym_conform.checks.base import CheckFailed, CheckSkipped
from gym_conform.checks.context import FolderContext
from gym_conform.checks.server_import import client_of, server_or_skip, skip_if_judged_by_standin
from gym_conform.errors import Location, Problem, ProblemsFound

REPLAY_HINT = (
    "verify() (or a tool) now scores this recorded rollout differently; if that is intended, rewrite the "
    "file with `ng_replay_rollouts +entrypoint={folder} +update=true`"
)


def check_replay(ctx: FolderContext) -> None:
    """Fail for every recorded rollout whose replayed reward differs from the recorded one, or that fails."""
    loaded = server_or_skip(ctx)
    skip_if_judged_by_standin(loaded, "replaying recorded rewards")
    path = ctx.rollouts_path
    shown = ctx.show(path)
    if not path.is_file():
        raise CheckSkipped(f"no {shown} to replay")
    try:
        records = read_rollouts(path)
    except ProblemsFound as found:
        raise CheckSkipped(f"{shown} has {len(found.problems)} malformed line(s) (see example_rollouts)") from None
    if not records:
        raise CheckSkipped(f"{shown} holds no rollouts")
    records = [with_row_fields(record, ctx.example_rows) for record in records]
    outcomes = ctx.run_async(replay_rollouts(client_of(ctx), loaded, records))
    hint = REPLAY_HINT.format(folder=ctx.display)
    problems = []
    for outcome in outcomes:
        verdict, text = outcome.verdict()
        line = outcome.record.line
        if verdict == "changed":
            message = f"recorded reward {_shown_reward(outcome)}, replay gives {outcome.new_reward}"
            problems.append(Problem("replay.reward_changed", message, Location(shown, line, "reward"), hint))
        elif verdict == "failed":
            problems.append(
                Problem(
                    "replay.failed",
                    f"the replay failed: {text.removeprefix('ERROR ')}",
                    Location(shown, line),
                    _FAILED_HINT,
                )
            )
    if problems:
        raise CheckFailed(problems, summary=f"{len(problems)} of {len(outcomes)} rollout(s) in {shown} do not replay")


def with_row_fields(record: RolloutRecord, rows: list[tuple[int, dict]]) -> RolloutRecord:
    """Return the record with the task fields of the example row it was made from, when its line lacks them.

    Older rollout lines keep only the create params, the response and the reward; verify needs the row's
    fields (an expected answer, a state), so they come from the example row with the same input.
    """
    params = record.data.get("responses_create_params")
    key = json.dumps(params.get("input"), sort_keys=True) if isinstance(params, dict) else None
    for _, row in rows:
        if json.dumps(row["responses_create_params"].get("input"), sort_keys=True) == key:
            missing = {k: v for k, v in row.items() if k not in record.data}
            return replace(record, data={**record.data, **missing}) if missing else record
    return record


def _shown_reward(outcome: ReplayOutcome) -> str:
    return str(outcome.recorded_reward) if "reward" in outcome.record.data else "(none)"


_FAILED_HINT = (
    "the recorded model turns no longer run against the server (a tool or verify() errs, or the recorded "
    "response is malformed); run ng_replay_rollouts on the folder to see each step"
)
