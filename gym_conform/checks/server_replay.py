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
from gym_conform.checks.server_rows import seed_request_model, task_fields
from gym_conform.errors import Location, Problem, ProblemsFound
from gym_conform.server import LoadedServer

REPLAY_HINT = (
    "verify() (or a tool) now scores this recorded rollout differently; if that is intended, rewrite the "
    "file with `ng_replay_rollouts +entrypoint={folder} +update=true`"
)


def check_replay(ctx: FolderContext) -> None:
    """Fail for every recorded rollout whose replayed reward differs from the recorded one, or that fails."""
    loaded = server_or_skip(ctx)
    skip_if_judged_by_standin(loaded, "replaying recorded rewards")
    client = client_of(ctx)  # first: a server these checks do not apply to skips for that reason
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
    records, unreplayable = _replayable(records, loaded)
    if unreplayable:
        ctx.note(f"not replayed: {unreplayable}")
        if not records:
            raise CheckSkipped(f"no rollout in {shown} can be replayed: {unreplayable}")
    outcomes = ctx.run_async(replay_rollouts(client, loaded, records))
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
    key = input_key(record.data.get("responses_create_params"))
    if key is None:
        return record
    for _, row in rows:
        if input_key(row["responses_create_params"]) == key:
            missing = {k: v for k, v in row.items() if k not in record.data}
            return replace(record, data={**record.data, **missing}) if missing else record
    return record


def input_key(params: object) -> str | None:
    """Return a create-params input as a comparable text, written back as NeMo Gym writes it, or None.

    NeMo Gym records a string input as one user message, adds `"type": "message"` to input messages and
    writes their unset fields as null (`"phase": null`), so a rollout's input equals its row's only once both
    are written the same way.
    """
    if not isinstance(params, dict):
        return None
    items = params.get("input")
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    if not isinstance(items, list):
        return None
    written = [
        {k: v for k, v in item.items() if v is not None and (k, v) != ("type", "message")}
        if isinstance(item, dict)
        else item
        for item in items
    ]
    return json.dumps(written, sort_keys=True)


def _replayable(records: list[RolloutRecord], loaded: LoadedServer) -> tuple[list[RolloutRecord], str]:
    """Split off the rollouts that lack a field verify or seed_session requires (their row is not in the data).

    Such a line cannot be replayed: that is a gap in the recording, not a change of the server's code.
    Returns the replayable records and, when some are not, why (their lines and the missing fields).
    """
    models = [loaded.server.verify_request_model(), seed_request_model(loaded.server)]
    required = [key for model in models if model for key, info in task_fields(model).items() if info.is_required()]
    kept, lines, missing = [], [], set()
    for record in records:
        absent = [key for key in required if key not in record.data]
        if absent:
            lines.append(str(record.line))
            missing.update(absent)
        else:
            kept.append(record)
    if not lines:
        return kept, ""
    fields = ", ".join(sorted(missing))
    why = (
        f"line(s) {', '.join(lines)} lack {fields}, which the server's request models require, and no row of "
        "data/example.jsonl has their input (record the rollouts from the example rows, or keep the task "
        "fields in each line)"
    )
    return kept, why


def _shown_reward(outcome: ReplayOutcome) -> str:
    return str(outcome.recorded_reward) if "reward" in outcome.record.data else "(none)"


_FAILED_HINT = (
    "the recorded model turns no longer run against the server (a tool or verify() errs, or the recorded "
    "response is malformed); run ng_replay_rollouts on the folder to see each step"
)
