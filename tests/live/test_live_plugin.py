"""The live checks end to end: pytest with the plugin, in copies of shipped servers, against the OpenAI stand-in."""

from __future__ import annotations

import itertools
import json
import os
import signal

from tests.conftest import run_script
from tests.live import is_running, make_repo, multi_step_model, run_pytest, tool_results, user_text, write_fake_vllm
from tests.standins.openai_server import OpenAIStandIn, Reply, chat_completion, error_body, tool_call

SECRET = "sk-live-TOPSECRET-4f9a1c"
WEATHER = "example_single_tool_call"
MULTI_STEP = "example_multi_step"


def weather_call(city: str, arguments: str | None = None) -> Reply:
    return Reply(chat_completion(tool_calls=[tool_call("get_weather", arguments or {"city": city})]))


def answer(text: str = "It is nice out.") -> Reply:
    return Reply(chat_completion(text))


def test_multi_step_tool_calling_scores_saves_replayable_rollouts_and_never_shows_the_key(tmp_path):
    root = make_repo(tmp_path, MULTI_STEP, env_yaml=f"policy_api_key: {SECRET}\n")

    with OpenAIStandIn(default=multi_step_model) as standin:
        result = run_pytest(
            root,
            "--gym-model-url", standin.base_url, "--gym-model-name", "tiny",
            "--gym-report", "report.json", "--gym-save-rollouts", "out",
        )  # fmt: skip

    assert result.returncode == 0, result.output
    saved = root / "out" / MULTI_STEP / "example_rollouts.jsonl"
    lines = [json.loads(line) for line in saved.read_text().splitlines()]
    assert [line["reward"] for line in lines] == [1.0] * 5
    # Row 4 has four synonyms: four lookups, the submission, the final answer (six model turns).
    fourth = [item for item in lines[4]["response"]["output"] if item["type"] == "function_call"]
    assert [call["name"] for call in fourth] == ["get_synonym_value"] * 4 + ["extract_synonym_values"]
    assert len(standin.requests_to()) == sum(len(line["expected_synonyms"]) + 2 for line in lines)
    assert {request.bearer for request in standin.requests} == {SECRET}
    assert [line["_ng_rollout_index"] for line in lines] == [0] * 5
    assert [line["_ng_task_index"] for line in lines] == [0, 1, 2, 3, 4]
    assert lines[0]["agent_ref"] == {"type": "responses_api_agents", "name": "example_multi_step_simple_agent"}

    stdout = result.stdout
    assert f"resources_servers/example_multi_step (model tiny at {standin.base_url})" in stdout
    assert "  5 row(s) x 1 = 5 rollout(s): 5 scored, 0 with errors; mean reward 1.000" in stdout
    assert "  reward 1  5 " + "#" * 40 in stdout
    report = json.loads((root / "report.json").read_text())
    live = report["servers"][0]["live"]
    assert (live["rollouts"], live["scored"], live["mean_reward"], live["errored"]) == (5, 5, 1.0, 0)
    assert live["histogram"] == [{"low": 1.0, "high": 1.0, "count": 5}]
    assert live["saved_rollouts"] == f"out/{MULTI_STEP}/example_rollouts.jsonl"
    assert report["level"] == "live"  # a model on the command line implies --gym-level live
    for text in (result.output, (root / "report.json").read_text(), saved.read_text()):
        assert SECRET not in text

    replay = run_script(
        "ng_replay_rollouts", f"+entrypoint=resources_servers/{MULTI_STEP}", f"+rollouts_fpath={saved}", cwd=root
    )
    assert replay.returncode == 0, replay.output
    assert "5 unchanged, 0 changed, 0 failed" in replay.output


def test_errors_are_reported_apart_from_rewards_with_the_model_from_env_yaml(tmp_path):
    def model(request):
        text = user_text(request)
        if tool_results(request):
            return answer()
        if "Paris" in text:
            return weather_call("Paris")
        if "Tokyo" in text:
            return weather_call("Tokyo", arguments='{"city": "Tokyo"')
        if "San Francisco" in text:
            return Reply(error_body("engine overloaded", status=500, type="InternalServerError"), status=500)
        return answer()

    with OpenAIStandIn(default=model) as standin:
        env = (
            f"policy_base_url: {standin.base_url}\npolicy_model_name: tiny\n"
            "policy_model:\n  responses_api_models:\n    vllm_model:\n      max_retries: 0\n"
        )
        root = make_repo(tmp_path, WEATHER, env_yaml=env)
        result = run_pytest(root, "--gym-level", "live", "--gym-report", "report.json")

    assert result.returncode == 1
    stdout = result.stdout
    assert "2 of 5 rollout(s) of resources_servers/example_single_tool_call ended with errors" in stdout
    data = f"resources_servers/{WEATHER}/data/example.jsonl"
    assert f'{data}:2: get_weather arguments \'{{"city": "Tokyo"\': ' in stdout
    assert "[live.invalid_tool_json]" in stdout
    assert f"{data}:3: model server answered HTTP 500 after 1 attempt(s): " in stdout
    assert "engine overloaded" in stdout and "[live.model_http]" in stdout
    assert "  5 row(s) x 1 = 5 rollout(s): 3 scored, 2 with errors; mean reward 0.333" in stdout
    assert "  errors (not counted as rewards): model_http 1, invalid_tool_json 1" in stdout
    live = json.loads((root / "report.json").read_text())["servers"][0]["live"]
    assert live["errors"] == {
        "model_http": 1,
        "server_http": 0,
        "bad_reward": 0,
        "invalid_tool_json": 1,
        "max_steps": 0,
    }
    assert live["histogram"] == [{"low": 0.0, "high": 0.0, "count": 2}, {"low": 1.0, "high": 1.0, "count": 1}]


def test_repeats_flag_rows_whose_reward_never_varies_with_ini_options_and_bounded_concurrency(tmp_path):
    paris_first_turns = itertools.count()

    def model(request):
        if tool_results(request) or "Paris" not in user_text(request):
            return answer()
        # Paris: every other sample looks the weather up, so that row's reward varies.
        return weather_call("Paris") if next(paris_first_turns) % 2 == 0 else answer()

    root = make_repo(tmp_path, WEATHER, ini="gym_live_repeats = 3\ngym_concurrency = 2\n")
    with OpenAIStandIn(default=model, latency=0.02) as standin:
        result = run_pytest(root, "--gym-model-url", standin.base_url, "--gym-model-name", "tiny")

    assert result.returncode == 0, result.output
    assert "  5 row(s) x 3 = 15 rollout(s): 15 scored, 0 with errors; mean reward 0.133" in result.stdout
    assert (
        "  4 row(s) whose reward never varied (no signal for GRPO): line 2 (0 x3), line 3 (0 x3), "
        "line 4 (0 x3), line 5 (0 x3)" in result.stdout
    )
    assert standin.max_in_flight == 2


def test_without_a_model_the_live_check_skips_with_the_reason_and_below_live_it_is_not_collected(tmp_path):
    root = make_repo(tmp_path, WEATHER)

    at_live = run_pytest(root, "--gym-level", "live")
    by_default = run_pytest(root)

    assert at_live.returncode == 0
    assert (
        f"SKIPPED [1] resources_servers/{WEATHER}: no model configured: pass --gym-model-url URL "
        "--gym-model-name NAME (or --gym-vllm-serve MODEL_PATH), or set policy_base_url and policy_model_name "
        "in env.yaml" in at_live.stdout
    )
    assert f"resources_servers/{WEATHER}: live check" not in by_default.stdout
    assert "1 check(s) above --gym-level server not collected (1 live)" in by_default.stdout


def test_a_misconfigured_model_is_a_usage_error(tmp_path):
    root = make_repo(tmp_path, WEATHER)

    result = run_pytest(root, "--gym-model-url", "http://127.0.0.1:9/v1")

    assert result.returncode == 4
    assert "the model of the live checks is misconfigured" in result.stderr
    assert "a model server URL is set but no model name [config.model.name_missing]" in result.stderr


def test_vllm_serve_is_started_for_the_session_and_stopped_at_its_end(tmp_path):
    root = make_repo(tmp_path, WEATHER)
    record = tmp_path / "record.json"
    env = {
        "PATH": f"{write_fake_vllm(tmp_path / 'bin').parent}{os.pathsep}{os.environ['PATH']}",
        "FAKE_VLLM_RECORD": str(record),
        "FAKE_VLLM_DELAY": "0.5",
    }

    result = run_pytest(
        root, "--gym-vllm-serve", "/models/tiny", "--gym-vllm-serve-args=--enable-auto-tool-choice", env=env
    )

    started = json.loads(record.read_text())
    try:
        assert result.returncode == 0, result.output
        assert started["argv"][:2] == ["serve", "/models/tiny"]
        assert started["argv"][-1] == "--enable-auto-tool-choice"
        port = started["argv"][started["argv"].index("--port") + 1]
        assert f"(model /models/tiny at http://127.0.0.1:{port}/v1, started with `vllm serve /models/tiny`)" in (
            result.stdout
        )
        assert "mean reward 0.200" in result.stdout  # the stand-in's default model looks Paris up
        assert not is_running(started["pid"])
    finally:
        if is_running(started["pid"]):
            os.kill(started["pid"], signal.SIGKILL)


def test_vllm_serve_that_never_gets_healthy_fails_the_check_with_a_timeout_and_is_stopped(tmp_path):
    root = make_repo(tmp_path, WEATHER)
    record = tmp_path / "record.json"
    env = {
        "PATH": f"{write_fake_vllm(tmp_path / 'bin').parent}{os.pathsep}{os.environ['PATH']}",
        "FAKE_VLLM_RECORD": str(record),
        "FAKE_VLLM_DELAY": "60",
    }

    result = run_pytest(root, "--gym-vllm-serve", "/models/tiny", "--gym-vllm-serve-timeout", "1", env=env)

    started = json.loads(record.read_text())
    try:
        assert result.returncode == 1
        assert "`vllm serve /models/tiny` did not answer GET http://127.0.0.1:" in result.stdout
        assert "/health within 1 s; the end of its log:" in result.stdout
        assert "loading weights of /models/tiny" in result.stdout
        assert "raise --gym-vllm-serve-timeout SECONDS" in result.stdout
        assert not is_running(started["pid"])
    finally:
        if is_running(started["pid"]):
            os.kill(started["pid"], signal.SIGKILL)
