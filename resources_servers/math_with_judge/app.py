"""Math with a boxed final answer: math-verify decides equivalence; an optional LLM judge rescues misses."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gym_conform.core.responses import Response, make_response, message_item
from gym_conform.errors import GymConformError, ServerError
from gym_conform.server import BaseVerifyRequest, BaseVerifyResponse, ResourcesServer, ResourcesServerConfig
from resources_servers.math_with_judge.math_verifier import (
    LibraryVerdict,
    MathVerifierPool,
    boxed,
    last_boxed_answer,
)

if TYPE_CHECKING:
    from gym_conform.agent.model import ModelClient

EQUAL_LABEL = "[[A=B]]"
NOT_EQUAL_LABEL = "[[A!=B]]"
JUDGE_PROMPT = """Two answers were given to the math problem below. Decide whether they are mathematically \
equivalent: the same value, set or expression, even if written differently (for example 1/2, 0.5 and \
\\frac{{1}}{{2}} are equivalent). Ignore how they were derived.

Problem:
{question}

Answer A:
{first}

Answer B:
{second}

Reason briefly, then end your reply with exactly one verdict: {equal} if the answers are equivalent, \
{not_equal} if they are not."""


class MathWithJudgeConfig(ResourcesServerConfig):
    """Settings of the math server: the library verifier's limits and the optional judge."""

    should_use_judge: bool = False
    judge_model_server: dict[str, Any] | None = None
    judge_responses_create_params: dict[str, Any] = {"input": []}
    library_verifier_timeout_seconds: float = 10.0
    library_verifier_max_workers: int = 4


class MathVerifyRequest(BaseVerifyRequest):
    """A verify request: the reference answer (and, for the judge, the problem text) plus the response."""

    expected_answer: str
    question: str | None = None


class MathVerifyResponse(MathVerifyRequest, BaseVerifyResponse):
    """The verify request echoed, with the reward and how it was reached."""

    extracted_answer: str | None
    library_reward: float
    verifier_timeout: bool
    judge_evaluations: list[dict[str, Any]] | None
    # NeMo Gym 0.7.0's verify-response fields: a judge that gave no verdict makes the reward no measurement.
    mask_sample: bool = False
    failure_kind: str | None = None
    failure_reason: str | None = None


class JudgeFailed(Exception):
    """The judge gave no usable verdict; `kind` is NeMo Gym's failure kind, the message its reason."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


def judge_says_equal(text: str) -> bool:
    """Return whether the judge's final verdict (the last label in its reply) is `[[A=B]]`."""
    return text.rfind(EQUAL_LABEL) > text.rfind(NOT_EQUAL_LABEL)


def judge_verdict(judge_text: str, quoted: tuple[str, ...]) -> bool:
    """Return the judge's own verdict, with every text it may quote from the candidate removed first.

    Raise JudgeFailed("judge_unparseable") when no label is left: a verdict the candidate wrote is not one.
    """
    own = judge_text
    # Only quoted texts that carry a label are removed: stripping a short answer ("A") could break a label.
    for text in sorted((t for t in quoted if EQUAL_LABEL in t or NOT_EQUAL_LABEL in t), key=len, reverse=True):
        own = own.replace(text, "")
    if EQUAL_LABEL not in own and NOT_EQUAL_LABEL not in own:
        raise JudgeFailed("judge_unparseable", f"the judge's reply has no verdict of its own: {judge_text[:300]!r}")
    return judge_says_equal(own)


def _question(body: MathVerifyRequest) -> str:
    """Return the problem text: the row's `question`, else the last user message of the prompt."""
    if body.question:
        return body.question
    prompt = body.responses_create_params.model_dump(mode="json")["input"]
    if isinstance(prompt, str):
        return prompt
    user_texts = [m["content"] for m in prompt if m.get("role") == "user" and isinstance(m.get("content"), str)]
    return user_texts[-1] if user_texts else ""


class MathWithJudgeResourcesServer(ResourcesServer):
    """Rewards the last `\\boxed{}` answer; set `judge_model` before verify when `should_use_judge` is on."""

    config_class = MathWithJudgeConfig
    judge_model: ModelClient | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pool: MathVerifierPool | None = None

    def _verifier(self) -> MathVerifierPool:
        # Created on first use so that building a server (as tests and checks do) starts no process.
        if self._pool is None:
            self._pool = MathVerifierPool(
                timeout_seconds=self.config.library_verifier_timeout_seconds,
                max_workers=self.config.library_verifier_max_workers,
            )
        return self._pool

    def close(self) -> None:
        """Stop the verifier worker processes (a later verify starts new ones)."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    async def verify(self, body: MathVerifyRequest) -> MathVerifyResponse:
        """Reward 1.0 iff the last boxed answer is equivalent to `expected_answer` (library, then judge)."""
        text = body.response.output_text
        extracted = last_boxed_answer(text)
        verdict = LibraryVerdict(equivalent=False)
        if extracted:
            verdict = await self._verifier().check(body.expected_answer, extracted)
        library_reward = 1.0 if verdict.equivalent else 0.0
        reward, judge_evaluations, failure = library_reward, None, None
        if self.config.should_use_judge and library_reward <= 0.5:
            judge_evaluations = []
            if text.strip():
                try:
                    reward = await self._judge(
                        _question(body), body.expected_answer, extracted or text, judge_evaluations, quoted=(text,)
                    )
                except JudgeFailed as error:
                    reward, failure = 0.0, error
        return MathVerifyResponse(
            **body.model_dump(),
            reward=reward,
            extracted_answer=extracted,
            library_reward=library_reward,
            verifier_timeout=verdict.timed_out,
            judge_evaluations=judge_evaluations,
            mask_sample=failure is not None,
            failure_kind=failure.kind if failure else None,
            failure_reason=failure.reason if failure else None,
        )

    async def _judge(
        self, question: str, expected: str, generated: str, evaluations: list[dict], *, quoted: tuple[str, ...] = ()
    ) -> float:
        """Ask the judge in both orders, as NeMo Gym does; 1.0 only when both verdicts say equivalent.

        Raise JudgeFailed when the judge fails (timeout, HTTP error, bad reply) or gives no verdict of its own.
        """
        if self.judge_model is None:
            raise ServerError(
                "should_use_judge is true but the math server has no judge model",
                code="server.judge_model_missing",
                hint="set `judge_model` on the server to a gym_conform.agent.model.ModelClient before verify, "
                "or set should_use_judge: false in the server config",
            )
        for order, (first, second) in (
            ("expected_first", (expected, generated)),
            ("model_first", (generated, expected)),
        ):
            prompt = JUDGE_PROMPT.format(
                question=question, first=first, second=second, equal=EQUAL_LABEL, not_equal=NOT_EQUAL_LABEL
            )
            params = dict(self.config.judge_responses_create_params)
            params["input"] = [*(params.get("input") or []), {"role": "user", "content": prompt}]
            try:
                judge_text = (await self.judge_model.respond(params)).output_text
            except GymConformError as error:
                raise JudgeFailed("judge_failed", f"the judge model failed: {error.message}") from None
            equal = judge_verdict(judge_text, (generated, *quoted))
            evaluations.append({"order": order, "equal": equal, "judge_text": judge_text})
            if not equal:
                return 0.0
        return 1.0

    def gold_response(self, row: dict) -> Response | None:
        """Return a final message holding `\\boxed{<expected_answer>}`."""
        return make_response([message_item(boxed(row["expected_answer"]))])
