"""Tests of math_with_judge: boxed-answer extraction, math-verify equivalence, the worker timeout, the judge."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gym_conform.core.responses import Response, make_response, message_item, reasoning_item
from gym_conform.errors import ServerError
from gym_conform.server.client import ServerClient
from resources_servers.math_with_judge import math_verifier
from resources_servers.math_with_judge.app import (
    MathVerifyRequest,
    MathWithJudgeResourcesServer,
    judge_says_equal,
)
from resources_servers.math_with_judge.math_verifier import MathVerifierPool, last_boxed_answer

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "example.jsonl"
PROMPT = {"input": [{"role": "user", "content": "Simplify 2/4."}]}


class ScriptedJudge:
    """A ModelClient stand-in that answers each judge request with the next scripted text."""

    def __init__(self, *texts: str) -> None:
        self.texts = list(texts)
        self.requests: list[dict] = []

    async def respond(self, params: dict, *, session_key: str | None = None) -> Response:
        self.requests.append(params)
        return make_response([message_item(self.texts.pop(0))])


@pytest.fixture(scope="module")
def server() -> Iterator[MathWithJudgeResourcesServer]:
    math_server = MathWithJudgeResourcesServer()
    yield math_server
    math_server.close()


def verify(server: MathWithJudgeResourcesServer, output: list[dict], expected: str, **row: Any) -> dict[str, Any]:
    body = {"responses_create_params": PROMPT, "expected_answer": expected, **row}
    request = MathVerifyRequest.model_validate({**body, "response": make_response(output).model_dump()})
    return asyncio.run(server.verify(request)).model_dump()


def answer(text: str) -> list[dict]:
    return [message_item(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r"so \boxed{\frac{1}{2}}.", r"\frac{1}{2}"),
        (r"\boxed{1} then \boxed{ 2 }", "2"),
        (r"\boxed{\{1, 2\}}", r"\{1, 2\}"),
        (r"\boxed {x^{2}}", "x^{2}"),
        (r"\boxed{unclosed \boxed{3}", "3"),
        (r"\boxed{\boxed{4}}", r"\boxed{4}"),
        (r"\\boxed{5}", None),
        ("no box here", None),
        ("", None),
    ],
)
def test_last_boxed_answer(text: str, expected: str | None) -> None:
    assert last_boxed_answer(text) == expected


def test_last_boxed_answer_is_fast_on_huge_adversarial_text() -> None:
    started = time.monotonic()
    assert last_boxed_answer("\\boxed{" * 200_000) is None
    assert last_boxed_answer("{" * 500_000 + "\\boxed{7}" + "}" * 500_000) == "7"
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r"The answer is \boxed{\frac{1}{2}}.", "0.5"),
        (r"\boxed{0.5}", r"\frac{1}{2}"),
        (r"\boxed{4}", "4.0"),
        (r"\boxed{720^\circ}", "720"),
        (r"First \boxed{3}, no wait: \boxed{4}", "4"),
    ],
)
def test_equivalent_answers_score_one(server: MathWithJudgeResourcesServer, text: str, expected: str) -> None:
    result = verify(server, answer(text), expected)
    assert result["reward"] == 1.0 and result["library_reward"] == 1.0
    assert result["verifier_timeout"] is False
    assert result["judge_evaluations"] is None


def test_wrong_answer_scores_zero(server: MathWithJudgeResourcesServer) -> None:
    result = verify(server, answer(r"\boxed{17}"), "16")
    assert result["reward"] == 0.0 and result["extracted_answer"] == "17"


def test_only_the_last_boxed_answer_counts(server: MathWithJudgeResourcesServer) -> None:
    result = verify(server, answer(r"\boxed{4} hmm, actually \boxed{5}"), "4")
    assert result["reward"] == 0.0 and result["extracted_answer"] == "5"


def test_missing_boxed_answer_or_empty_output_scores_zero(server: MathWithJudgeResourcesServer) -> None:
    for output in (answer("The answer is 4."), answer(""), answer(r"\boxed{}"), [], [reasoning_item(r"\boxed{4}")]):
        result = verify(server, output, "4")
        assert result["reward"] == 0.0 and result["library_reward"] == 0.0
        assert result["verifier_timeout"] is False


def test_answer_is_read_from_message_text_only(server: MathWithJudgeResourcesServer) -> None:
    output = [reasoning_item(r"maybe \boxed{3}"), message_item(r"\boxed{\frac{1}{2}}")]
    result = verify(server, output, "0.5", question="Simplify 2/4.")
    assert result["reward"] == 1.0
    assert result["extracted_answer"] == r"\frac{1}{2}" and result["question"] == "Simplify 2/4."


def test_pathological_answer_times_out_and_the_worker_is_replaced() -> None:
    quick = MathWithJudgeResourcesServer(library_verifier_timeout_seconds=1.0, library_verifier_max_workers=1)
    try:
        verify(quick, answer(r"\boxed{1}"), "1")  # start the one worker outside the timed part
        started = time.monotonic()
        result = verify(quick, answer(r"\boxed{9^{9^{9^{9}}}}"), "5")
        assert time.monotonic() - started < 4
        assert result["reward"] == 0.0 and result["verifier_timeout"] is True
        assert verify(quick, answer(r"\boxed{2}"), "2.0")["reward"] == 1.0
    finally:
        quick.close()


def test_huge_answer_does_not_hang() -> None:
    quick = MathWithJudgeResourcesServer(library_verifier_timeout_seconds=1.0)
    try:
        started = time.monotonic()
        result = verify(quick, answer("\\boxed{" + "9" * 200_000 + "^{9^{9}}}"), "5")
        assert result["reward"] == 0.0
        assert time.monotonic() - started < 30  # worker start plus the 1 s budget, with slack for slow machines
    finally:
        quick.close()


def test_a_worker_that_cannot_start_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(math_verifier, "_MODULE", "resources_servers.math_with_judge.no_such_module")
    pool = MathVerifierPool(start_timeout_seconds=60)
    try:
        with pytest.raises(ServerError, match="did not become ready") as raised:
            asyncio.run(pool.check("1", "1"))
        assert raised.value.code == "server.math_verifier_start"
    finally:
        pool.close()


def test_invalid_verifier_settings_are_refused() -> None:
    for settings in ({"timeout_seconds": 0}, {"max_workers": 0}):
        with pytest.raises(ServerError) as raised:
            MathVerifierPool(**settings)
        assert raised.value.code == "server.math_verifier_config"


def test_concurrent_verifies_all_get_their_own_answer(server: MathWithJudgeResourcesServer) -> None:
    async def run() -> list[float]:
        requests = [
            MathVerifyRequest.model_validate(
                {
                    "responses_create_params": PROMPT,
                    "expected_answer": str(n),
                    "response": make_response(answer(f"\\boxed{{{n if n % 3 else n + 1}}}")).model_dump(),
                }
            )
            for n in range(12)
        ]
        return [r.reward for r in await asyncio.gather(*(server.verify(q) for q in requests))]

    assert asyncio.run(run()) == [0.0 if n % 3 == 0 else 1.0 for n in range(12)]


def test_judge_says_equal_reads_the_last_verdict() -> None:
    assert judge_says_equal("Equivalent. [[A=B]]")
    assert not judge_says_equal("They differ. [[A!=B]]")
    assert judge_says_equal("Not [[A!=B]] after all: [[A=B]]")
    assert not judge_says_equal("no verdict")


def test_judge_rescues_a_library_miss_only_when_both_orders_agree() -> None:
    judged = MathWithJudgeResourcesServer(should_use_judge=True)
    judged.judge_model = ScriptedJudge("Same. [[A=B]]", "Same. [[A=B]]")
    try:
        result = verify(judged, answer(r"\boxed{one half}"), "0.5", question="Simplify 2/4.")
    finally:
        judged.close()
    assert result["library_reward"] == 0.0 and result["reward"] == 1.0
    assert [e["order"] for e in result["judge_evaluations"]] == ["expected_first", "model_first"]
    first, second = (request["input"][-1]["content"] for request in judged.judge_model.requests)
    assert "Simplify 2/4." in first
    assert "Answer A:\n0.5\n" in first and "Answer B:\none half\n" in first
    assert "Answer A:\none half\n" in second and "Answer B:\n0.5\n" in second


def test_judge_disagreeing_in_the_first_order_stops_with_zero() -> None:
    judged = MathWithJudgeResourcesServer(should_use_judge=True)
    judged.judge_model = ScriptedJudge("Different. [[A!=B]]")
    try:
        result = verify(judged, answer(r"\boxed{3}"), "4")
    finally:
        judged.close()
    assert result["reward"] == 0.0
    assert [e["equal"] for e in result["judge_evaluations"]] == [False]


def test_judge_is_not_asked_when_the_library_agrees() -> None:
    judged = MathWithJudgeResourcesServer(should_use_judge=True)
    judged.judge_model = ScriptedJudge()
    try:
        result = verify(judged, answer(r"\boxed{4}"), "4")
    finally:
        judged.close()
    assert result["reward"] == 1.0 and result["judge_evaluations"] is None
    assert judged.judge_model.requests == []


def test_judge_uses_the_configured_create_params() -> None:
    judged = MathWithJudgeResourcesServer(
        should_use_judge=True,
        judge_responses_create_params={"input": [{"role": "system", "content": "Be strict."}], "temperature": 0.0},
    )
    judged.judge_model = ScriptedJudge("[[A!=B]]")
    try:
        verify(judged, answer("no box"), "4")
    finally:
        judged.close()
    (request,) = judged.judge_model.requests
    assert request["temperature"] == 0.0
    assert [m["role"] for m in request["input"]] == ["system", "user"]


def test_judge_enabled_without_a_model_is_a_clear_error() -> None:
    judged = MathWithJudgeResourcesServer(should_use_judge=True)
    try:
        with pytest.raises(ServerError, match="no judge model") as raised:
            verify(judged, answer(r"\boxed{3}"), "4")
        assert raised.value.code == "server.judge_model_missing"

        async def over_http() -> None:
            async with ServerClient.in_process(judged) as client:
                body = {"responses_create_params": PROMPT, "expected_answer": "4"}
                await client.rollout().verify({**body, "response": make_response(answer("3")).model_dump(mode="json")})

        with pytest.raises(ServerError, match="HTTP 500.*no judge model"):
            asyncio.run(over_http())
    finally:
        judged.close()


def test_verify_over_http_rejects_a_row_without_expected_answer() -> None:
    async def run() -> None:
        async with ServerClient.in_process(MathWithJudgeResourcesServer()) as client:
            body = {"responses_create_params": PROMPT, "response": make_response(answer("4")).model_dump(mode="json")}
            await client.rollout().verify(body)

    with pytest.raises(ServerError, match="HTTP 422"):
        asyncio.run(run())


def test_gold_response_scores_one_on_every_example_row(server: MathWithJudgeResourcesServer) -> None:
    rows = [json.loads(line) for line in EXAMPLES.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 5
    for row in rows:
        gold = server.gold_response(row)
        assert gold.output_text == "\\boxed{" + row["expected_answer"] + "}"
        assert verify(server, gold.model_dump()["output"], row["expected_answer"])["reward"] == 1.0
