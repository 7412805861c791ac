"""Text of the files `ng_init_resources_server` writes, with `{{NAME}}`-style tokens, and the example task."""

from __future__ import annotations

import re

from gym_conform.core.config.schema import Domain

# Files copied as they are once the tokens are filled in; generated data (example rows, metrics, rollouts,
# verifier cases) is built by gym_conform.scaffold.create from EXAMPLE_TASKS below.
_TOKEN = re.compile(r"\{\{([A-Z_]+)\}\}")

PACKAGE_INIT = '"""The {{NAME}} resources server."""\n'

TESTS_INIT = '"""Tests of the {{NAME}} resources server."""\n'

# The 5 patterns NeMo Gym's scaffold ignores: full datasets stay out of git, example data and metrics are committed.
DATA_GITIGNORE = """\
*train.jsonl
*validation.jsonl
*train_prepare.jsonl
*validation_prepare.jsonl
*example_prepare.jsonl
"""

APP = '''\
"""{{NAME}}: answer a short question; the reward checks the final answer against the row's expected_answer.

Scaffolded by ng_init_resources_server. Put your task's grading logic in `is_correct` (or in `verify`), declare
every row field verify() reads on {{CLASS}}VerifyRequest, and keep gold_response() returning an answer that
scores the top of reward_range (configs/{{NAME}}.yaml).
"""

from __future__ import annotations

from pathlib import Path

import uvicorn

from gym_conform.core.responses import Response, make_response, message_item
from gym_conform.core.responses_output import OutputMessage, OutputTextPart
from gym_conform.server import BaseVerifyRequest, BaseVerifyResponse, ResourcesServer, load_server_folder


class {{CLASS}}VerifyRequest(BaseVerifyRequest):
    """A data row plus the model's response; every row field verify() reads is declared here."""

    expected_answer: str


class {{CLASS}}VerifyResponse({{CLASS}}VerifyRequest, BaseVerifyResponse):
    """The request echoed back with the reward; add fields here to report extra per-rollout metrics."""


def final_answer(response: Response) -> str:
    """Return the text of the last assistant message of the response ("" when there is none)."""
    for item in reversed(response.output):
        if isinstance(item, OutputMessage):
            return "".join(part.text for part in item.content if isinstance(part, OutputTextPart))
    return ""


def is_correct(answer: str, expected: str) -> bool:
    """Return whether the answer matches the expected one, ignoring case and surrounding whitespace."""
    # An empty answer never scores, even against an empty expected_answer.
    return bool(answer.strip()) and answer.strip().casefold() == expected.strip().casefold()


class {{CLASS}}ResourcesServer(ResourcesServer):
    """Scores one final answer per rollout; add @tool methods (from gym_conform.server) to offer tools."""

    async def verify(self, body: {{CLASS}}VerifyRequest) -> {{CLASS}}VerifyResponse:
        """Reward 1.0 when the final answer is the expected answer, else 0.0."""
        reward = 1.0 if is_correct(final_answer(body.response), body.expected_answer) else 0.0
        return {{CLASS}}VerifyResponse(**body.model_dump(), reward=reward)

    def gold_response(self, row: dict) -> Response | None:
        """Return a response that answers exactly the row's expected_answer (the conformance checks use it)."""
        return make_response([message_item(row["expected_answer"])])


if __name__ == "__main__":
    # Serve this folder over HTTP with its config block (host and port from there, else 127.0.0.1:8000).
    loaded = load_server_folder(Path(__file__).resolve().parent)
    uvicorn.run(loaded.server.app, host=loaded.config.host or "127.0.0.1", port=loaded.config.port or 8000)
'''

TASK_DATA = '''\
"""Row schema of the {{NAME}} server: the task fields of a data row (NeMo Gym 0.7.0's `task_data.py`).

`gym dataset collate` (and gym-conform's task_data check) validate every row's task fields against TaskData;
`gym env schema` prints it. Keep it in step with {{CLASS}}VerifyRequest in app.py.
"""

from pydantic import BaseModel, ConfigDict, Field


class TaskData(BaseModel):
    """The fields of a row that verify() or the reports read, beside responses_create_params."""

    # NeMo Gym's convention: other keys are allowed (and reported), never silently dropped.
    model_config = ConfigDict(extra="allow")

    expected_answer: str = Field(
        description="The answer that scores 1.0; compared ignoring case and surrounding whitespace.",
        json_schema_extra={"consumed_by": ["verify"]},
    )
    id: int = Field(description="Row number in the example data, for reports.")
'''

CONFIG = """\
# Resources server: owns this environment's verify() and reward. Keep this block first in the file:
# environment listings read domain, description and value from the first block.
{{NAME}}_resources_server:  # instance name: how agents and the CLI refer to this server
  resources_servers:  # server type: resources_servers | responses_api_agents | responses_api_models
    {{NAME}}:  # implementation: the folder name under resources_servers/
      entrypoint: app.py  # the Python file that defines the server class
      # Task domain (`other` when none fits), one of:
      # {{DOMAINS}}
      domain: {{DOMAIN}}
      verified: false  # a maintainer sets true once the environment has been baselined and reviewed
      # One line each, shown in environment listings; replace them with your task's.
      description: Answer a short question; the reward checks the final answer against expected_answer
      value: Improve short-answer accuracy
      reward_range: [0.0, 1.0]  # lowest and highest reward verify() returns

# Agent: runs the model against the resources server above, and names this environment's datasets.
{{NAME}}_simple_agent:  # pass this instance name as the agent when collecting rollouts
  responses_api_agents:
    simple_agent:
      entrypoint: app.py
      resources_server:
        type: resources_servers
        name: {{NAME}}_resources_server
      model_server:
        type: responses_api_models
        name: policy_model
      datasets:
      # train and validation need a license (one of NeMo Gym's exact license strings); their files are
      # git-ignored (data/.gitignore): add a source: block to fetch them from Hugging Face.
      - name: train
        type: train
        jsonl_fpath: resources_servers/{{NAME}}/data/train.jsonl
        num_repeats: 1
        license: Apache 2.0
      - name: validation
        type: validation
        jsonl_fpath: resources_servers/{{NAME}}/data/validation.jsonl
        num_repeats: 1
        license: Apache 2.0
      # The 5 committed example rows, checked by ng_prepare_data +mode=example_validation.
      - name: example
        type: example
        jsonl_fpath: resources_servers/{{NAME}}/data/example.jsonl
        num_repeats: 1
"""

README = """\
# Description

TODO(you): describe the task in two or three sentences: what the model is asked, what it must answer, and
where the data comes from.

As scaffolded, the model answers a short question and `verify()` compares its final answer with the row's
`expected_answer`.

Data links: TODO(you): link every dataset source (for example its Hugging Face page).

# Data

`data/example.jsonl` holds 5 example rows (usually the first 5 rows of the train dataset). Row fields besides
`responses_create_params`:

| field | type | read by verify |
|---|---|---|
| `id` | int | no (tracking only) |
| `expected_answer` | str | yes: the answer the final assistant message must match |

TODO(you): list every field of your rows in this table and say which ones `verify()` reads.

# Reward

`verify()` reads the text of the last assistant message of the response. The reward is 1.0 when that text
equals `expected_answer`, ignoring case and surrounding whitespace, and 0.0 otherwise; an empty answer scores
0.0. Rewards lie in [0.0, 1.0] (`reward_range` in `configs/{{NAME}}.yaml`).

TODO(you): describe your reward the same way once you change `verify()`.

# Example usage

Validate the example data and its metrics (run from the repository root):

```bash
ng_prepare_data "+config_paths=[resources_servers/{{NAME}}/configs/{{NAME}}.yaml]" \\
    +output_dirpath=data/{{NAME}} +mode=example_validation
```

Run the conformance checks and this folder's tests:

```bash
pytest resources_servers/{{NAME}}
```

# Licensing information

Code: Apache 2.0
Data: Apache 2.0 (the example rows were written for this environment). TODO(you): give the license of each
dataset, matching `license:` in `configs/{{NAME}}.yaml`.

Dependencies
- gym-conform: Apache 2.0
- TODO(you): list every other dependency with its license, or delete this line.
"""

TEST_APP = '''\
"""Tests of the {{NAME}} verify(): right and wrong answers, case and spaces, empty output, over HTTP."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from gym_conform.core.responses import function_call_item, make_response, message_item
from gym_conform.server import ServerClient

from ..app import {{CLASS}}ResourcesServer, {{CLASS}}VerifyRequest

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "example.jsonl"
ROW = {
    "responses_create_params": {"input": [{"role": "user", "content": "What is 6 x 7?"}]},
    "expected_answer": "42",
}


def reward(output: list[dict], row: dict = ROW) -> float:
    """Score a response made of `output` items against `row` by calling verify() directly."""
    request = {{CLASS}}VerifyRequest.model_validate({**row, "response": make_response(output).model_dump()})
    return asyncio.run({{CLASS}}ResourcesServer().verify(request)).reward


def test_right_answer_scores_one() -> None:
    assert reward([message_item("42")]) == 1.0


def test_wrong_answer_scores_zero() -> None:
    assert reward([message_item("41")]) == 0.0
    assert reward([message_item("The answer is 42")]) == 0.0


def test_case_and_surrounding_whitespace_are_ignored() -> None:
    row = {**ROW, "expected_answer": " Paris "}
    assert reward([message_item("  pARIS\\n")], row) == 1.0
    assert reward([message_item("Pa ris")], row) == 0.0


def test_only_the_last_assistant_message_counts() -> None:
    assert reward([message_item("41"), message_item("42")]) == 1.0
    assert reward([message_item("42"), message_item("41")]) == 0.0


def test_empty_output_scores_zero() -> None:
    assert reward([]) == 0.0
    assert reward([message_item("")]) == 0.0
    assert reward([message_item("   ")], {**ROW, "expected_answer": ""}) == 0.0
    assert reward([function_call_item("calculator", {"expression": "6*7"}, "call_1")]) == 0.0


def test_verify_over_http_echoes_the_row() -> None:
    async def run() -> dict:
        async with ServerClient.in_process({{CLASS}}ResourcesServer()) as client:
            response = make_response([message_item("42")]).model_dump(mode="json")
            return await client.rollout().verify({**ROW, "id": 7, "response": response})

    result = asyncio.run(run())
    assert result["reward"] == 1.0
    assert result["expected_answer"] == "42"
    assert result["id"] == 7


def test_gold_response_scores_one_on_every_example_row() -> None:
    server = {{CLASS}}ResourcesServer()
    rows = [json.loads(line) for line in EXAMPLES.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 5
    for row in rows:
        assert reward(server.gold_response(row).model_dump()["output"], row) == 1.0
'''

SYSTEM_PROMPT = "Answer the question. Reply with only the final answer, nothing else."

# (question, expected answer, reference reply, reward the reply must get). The reference replies become
# data/example_rollouts.jsonl: some right, some wrong, so the rollouts show both ends of the reward range.
EXAMPLE_TASKS = (
    ("What is the capital of France?", "Paris", "Paris", 1.0),
    ("How many days are there in a leap year?", "366", "366", 1.0),
    ("What is the chemical symbol for gold?", "Au", "Ag", 0.0),
    ("What is 12 multiplied by 12?", "144", " 144\n", 1.0),
    ("Which planet is known as the Red Planet?", "Mars", "I think it is Jupiter.", 0.0),
)

# NeMo Gym's verifier-case kinds (tests/verifier_cases.jsonl): (name, kind, question, expected answer, reply).
# A reply of None leaves the response out of the request, which verify() must refuse.
VERIFIER_CASES = (
    ("correct", "full_reward", "What is 6 x 7?", "42", "42"),
    ("correct despite case and spaces", "full_reward", "Name the largest ocean.", "Pacific", "  pacific \n"),
    ("incorrect", "zero_reward", "What is 6 x 7?", "42", "41"),
    ("empty answer", "zero_reward", "What is 6 x 7?", "42", ""),
    ("missing response", "malformed", "What is 6 x 7?", "42", None),
)


def render(template: str, **values: str) -> str:
    """Fill `{{KEY}}` tokens from `values` (keys in upper case); a token without a value is an error."""

    def fill(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise KeyError(f"template token {{{{{key}}}}} has no value")
        return values[key]

    return _TOKEN.sub(fill, template)


def domain_list() -> str:
    """Return the valid domains as one comma-separated line."""
    return ", ".join(domain.value for domain in Domain)
