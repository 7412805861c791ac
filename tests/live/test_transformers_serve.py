"""The live checks against a real third-party OpenAI-compatible server: Hugging Face `transformers serve`.

.ci/run starts the server with .ci/live_server.sh (the tiny offline models of .ci/live_server) and
exports its URL; without GYM_CONFORM_LIVE_BASE_URL these tests skip.
"""

from __future__ import annotations

import json
import os

import pytest

from tests.live import SHIPPED_SERVERS, make_repo, run_pytest

BASE_URL = os.environ.get("GYM_CONFORM_LIVE_BASE_URL", "")
MODEL = os.environ.get("GYM_CONFORM_LIVE_MODEL", "local/tiny-scripted")
TINY_ANSWER = "Hello from the tiny model."
NATIVE = "policy_model:\n  responses_api_models:\n    vllm_model:\n      is_responses_native: true\n"

pytestmark = pytest.mark.skipif(
    not BASE_URL,
    reason="GYM_CONFORM_LIVE_BASE_URL is not set, so there is no real model server to run against "
    "(.ci/run starts one: .ci/live_server.sh start DIR prints the URL to export)",
)


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_every_shipped_server_runs_without_errors_and_the_paris_row_scores_1(tmp_path, api):
    root = make_repo(tmp_path, *SHIPPED_SERVERS, env_yaml=NATIVE if api == "responses" else "")

    result = run_pytest(
        root,
        "--gym-model-url", BASE_URL, "--gym-model-name", MODEL, "--gym-concurrency", "4",
        "--gym-report", "report.json", "--gym-save-rollouts", "out",
    )  # fmt: skip

    assert result.returncode == 0, result.output
    report = json.loads((root / "report.json").read_text())
    assert [server["folder"] for server in report["servers"]] == [f"resources_servers/{s}" for s in SHIPPED_SERVERS]
    for server in report["servers"]:
        (check,) = server["checks"]
        assert check["outcome"] == "passed", server
        assert server["live"]["errored"] == 0 and server["live"]["rollouts"] == server["live"]["rows"] == 5, server

    lines = (root / "out" / "example_single_tool_call" / "example_rollouts.jsonl").read_text().splitlines()
    paris = next(line for line in map(json.loads, lines) if line["expected_city"] == "Paris")
    assert paris["reward"] == 1.0
    output = paris["response"]["output"]
    calls = [item for item in output if item["type"] == "function_call"]
    assert [(call["name"], json.loads(call["arguments"])) for call in calls] == [("get_weather", {"city": "Paris"})]
    (tool_output,) = [item for item in output if item["type"] == "function_call_output"]
    assert tool_output["call_id"] == calls[0]["call_id"] and json.loads(tool_output["output"])["city"] == "Paris"
    assert output[-1]["type"] == "message" and output[-1]["content"][0]["text"] == TINY_ANSWER
