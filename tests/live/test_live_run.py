"""run_live: rows x repeats through the agent loop, errors kept apart from rewards, bounded concurrency, saving."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from pydantic import BaseModel

from gym_conform.agent.rollouts import read_rollouts
from gym_conform.core.responses import Response, function_call_item, make_response, message_item
from gym_conform.errors import ServerError
from gym_conform.live.live_run import (
    BAD_REWARD,
    DEFAULT_MAX_STEPS,
    INVALID_TOOL_JSON,
    MAX_STEPS,
    MODEL_HTTP,
    SERVER_HTTP,
    LiveRollout,
    live_rows,
    run_live,
    save_rollouts,
)
from gym_conform.server import BaseVerifyRequest, ResourcesServer, ServerClient, tool


class WordArgs(BaseModel):
    word: str


class ProbeVerifyRequest(BaseVerifyRequest):
    give: float | str | None = 1.0


class ProbeServer(ResourcesServer):
    """`lookup` works, `explode` raises; verify gives the row's `give` when the answer says "done", else 0."""

    @tool
    async def lookup(self, body: WordArgs) -> dict:
        return {"length": len(body.word)}

    @tool
    async def explode(self, body: WordArgs) -> dict:
        raise RuntimeError("the tool broke")

    async def verify(self, body: ProbeVerifyRequest) -> dict:
        # A dict, not the response model, so that a row can make verify return a reward that is not a float.
        reward = body.give if "done" in body.response.output_text else 0.0
        return {**body.model_dump(mode="json"), "reward": reward}


def tool_spec(name: str) -> dict:
    return {"type": "function", "name": name, "parameters": {"type": "object", "properties": {}}}


def row(text: str, give: float | str | None = 1.0, tools=("lookup", "explode", "ghost")) -> dict:
    return {"responses_create_params": {"input": text, "tools": [tool_spec(t) for t in tools]}, "give": give}


def answer(text: str) -> Response:
    return make_response([message_item(text)])


def call(name: str, arguments: str = '{"word": "hi"}', call_id: str = "c1") -> Response:
    return make_response([function_call_item(name, arguments, call_id)])


class FunctionModel:
    """Answers with `script(user text, number of tool results so far)`; counts requests in flight."""

    def __init__(self, script: Callable[[str, int], Response], delay: float = 0.0) -> None:
        self.script = script
        self.delay = delay
        self.in_flight = 0
        self.max_in_flight = 0

    async def respond(self, params: dict, *, session_key: str | None = None) -> Response:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
            items = params["input"]
            text = items[0]["content"]
            results = sum(1 for item in items if item.get("type") == "function_call_output")
            return self.script(text, results)
        finally:
            self.in_flight -= 1


def run(rows: list[dict], model, **options) -> list[LiveRollout]:
    async def scenario():
        async with ServerClient.in_process(ProbeServer(name="probe")) as client:
            return await run_live(client, model, live_rows(list(enumerate(rows, start=1))), **options)

    return asyncio.run(scenario())


def kinds(rollout: LiveRollout) -> list[str]:
    return [error.kind for error in rollout.errors]


def scripted(text: str, results: int) -> Response:
    """Per row text: what the model does (first turn), then "done" once it read a tool result."""
    if results:
        return answer("done")
    return {
        "plain": answer("done"),
        "wrong": answer("no idea"),
        "lookup": call("lookup"),
        "unoffered": call("not_offered"),
        "bad json": call("lookup", '{"word": '),
        "explode": call("explode"),
        "ghost": call("ghost"),
        "schema": call("lookup", '{"letter": 1}'),
    }[text]


def test_a_reward_of_zero_is_a_reward_and_errors_are_kept_apart():
    texts = ["plain", "wrong", "lookup", "unoffered", "bad json", "explode", "ghost", "schema"]

    rollouts = run([row(text) for text in texts], FunctionModel(scripted))

    by_text = dict(zip(texts, rollouts, strict=True))
    assert [(r.reward, r.errors) for r in (by_text["plain"], by_text["wrong"], by_text["lookup"])] == [
        (1.0, []),
        (0.0, []),
        (1.0, []),
    ]
    assert by_text["lookup"].steps == 2 and by_text["lookup"].clean
    # The model's mistakes the server refuses with a 4xx: shown to the model, no error.
    assert (by_text["unoffered"].clean, by_text["unoffered"].refused_tool_calls) == (True, 1)
    assert (by_text["schema"].clean, by_text["schema"].refused_tool_calls) == (True, 1)
    assert kinds(by_text["bad json"]) == [INVALID_TOOL_JSON]
    assert "lookup arguments '{\"word\": '" in by_text["bad json"].errors[0].message
    assert kinds(by_text["explode"]) == [SERVER_HTTP]
    assert "tool explode raised: HTTP 500" in by_text["explode"].errors[0].message
    assert kinds(by_text["ghost"]) == [SERVER_HTTP]
    assert "tool ghost is offered by the row but has no route: HTTP 404" in by_text["ghost"].errors[0].message
    # Errored rollouts still carry the reward verify gave, but it does not count.
    assert by_text["bad json"].reward == 1.0 and not by_text["bad json"].clean


def test_max_steps_and_unusable_rewards_are_errors():
    looping = FunctionModel(lambda text, results: call("lookup", call_id=f"c{results}"))

    (looped,) = run([row("x")], looping, max_steps=3)
    bad = run([row("plain", give=2.0), row("plain", give="high"), row("plain", give=None)], FunctionModel(scripted))

    assert kinds(looped) == [MAX_STEPS] and looped.steps == 3
    assert "max_steps=3" in looped.errors[0].message
    assert [kinds(r) for r in bad] == [[BAD_REWARD]] * 3
    assert [r.reward for r in bad] == [None] * 3
    assert "verify returned reward 2.0, not a number in [0.0, 1.0]" in bad[0].errors[0].message


def test_without_max_steps_a_default_limit_still_ends_the_loop():
    (looped,) = run([row("x")], FunctionModel(lambda text, results: call("lookup", call_id=f"c{results}")))

    assert kinds(looped) == [MAX_STEPS] and looped.steps == DEFAULT_MAX_STEPS


def test_a_failing_model_server_is_a_model_error_without_a_rollout_line():
    def failing(text: str, results: int) -> Response:
        raise ServerError("model server answered HTTP 503 after 4 attempt(s): overloaded", code="model.http")

    (rollout,) = run([row("plain")], FunctionModel(failing))

    assert kinds(rollout) == [MODEL_HTTP] and rollout.line is None and rollout.reward is None
    assert "HTTP 503" in rollout.errors[0].message and "[model.http]" in rollout.errors[0].message


def test_rows_times_repeats_in_order_with_at_most_concurrency_in_flight():
    model = FunctionModel(scripted, delay=0.02)

    rollouts = run([row("plain"), row("wrong")], model, repeats=3, concurrency=2)

    assert [(r.row.line, r.repeat) for r in rollouts] == [(1, 0), (1, 1), (1, 2), (2, 0), (2, 1), (2, 2)]
    assert model.max_in_flight == 2


def test_identical_rows_share_a_task_index():
    numbered = live_rows([(1, row("a")), (2, row("b")), (3, row("a"))])

    assert [(r.line, r.task_index) for r in numbered] == [(1, 0), (2, 1), (3, 0)]


def test_saved_rollouts_are_nemo_gym_rollout_lines(tmp_path):
    rollouts = run([row("plain"), row("lookup")], FunctionModel(scripted), repeats=2, agent_ref={"name": "a"})
    failed = LiveRollout(rollouts[0].row, 5)  # no line: its model failed

    count = save_rollouts(tmp_path / "out" / "rollouts.jsonl", [*rollouts, failed])

    records = read_rollouts(tmp_path / "out" / "rollouts.jsonl")
    assert count == len(records) == 4
    keys = [(r.data["_ng_task_index"], r.data["_ng_rollout_index"], r.data["agent_ref"]) for r in records]
    assert keys == [(0, 0, {"name": "a"}), (0, 1, {"name": "a"}), (1, 0, {"name": "a"}), (1, 1, {"name": "a"})]
    assert all(r.data["reward"] == 1.0 and r.data["give"] == 1.0 for r in records)
    types = [item["type"] for item in records[2].data["response"]["output"]]
    assert types == ["function_call", "function_call_output", "message"]
