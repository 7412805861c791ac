"""ng_replay_rollouts as a user runs it: replay, compare rewards, rewrite with +update=true, clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gym_conform.server import load_server_folder
from tests.conftest import BIN, CliResult, read_jsonl, write_jsonl
from tests.standins.loopback import serve_uvicorn

PROG = "ng_replay_rollouts"

CONFIG = """\
counter_server:
  resources_servers:
    counter:
      entrypoint: app.py
      domain: agent
counter_agent:
  responses_api_agents:
    simple_agent:
      entrypoint: app.py
      max_steps: 3
      resources_server: {type: resources_servers, name: counter_server}
      model_server: {type: responses_api_models, name: policy_model}
"""

APP = """\
from fastapi import Request
from pydantic import BaseModel

from gym_conform.server import BaseSeedSessionRequest, BaseVerifyRequest, BaseVerifyResponse, ResourcesServer, tool


class Seed(BaseSeedSessionRequest):
    start: int = 0


class Add(BaseModel):
    by: int


class CounterVerifyRequest(BaseVerifyRequest):
    expected_count: int


class CounterVerifyResponse(CounterVerifyRequest, BaseVerifyResponse):
    final_count: int


class CounterServer(ResourcesServer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.counts = {}

    async def seed_session(self, request: Request, body: Seed) -> dict:
        self.counts[self.session_id(request)] = body.start
        return {}

    @tool
    async def add(self, request: Request, body: Add) -> dict:
        self.counts[self.session_id(request)] += body.by
        return {"count": self.counts[self.session_id(request)]}

    async def verify(self, request: Request, body: CounterVerifyRequest) -> CounterVerifyResponse:
        final = self.counts[self.session_id(request)]
        reward = 1.0 if final == body.expected_count else 0.0
        return CounterVerifyResponse(**body.model_dump(), reward=reward, final_count=final)
"""


def call(name: str, by: int) -> dict:
    return {"type": "function_call", "name": "add", "arguments": json.dumps({"by": by}), "call_id": name}


def draft(start: int, adds: list[int], expected: int) -> dict:
    """A hand-written line: the row plus the model's items only (no tool outputs, no reward)."""
    text = {
        "type": "message",
        "role": "assistant",
        "content": [{"type": "output_text", "text": "done", "annotations": []}],
    }
    output = [call(f"call_{i}", by) for i, by in enumerate(adds)] + [text]
    return {
        "responses_create_params": {"input": f"add {adds} to {start}"},
        "start": start,
        "expected_count": expected,
        "response": {"output": output},
    }


@pytest.fixture
def server_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "resources_servers" / "counter"
    (folder / "configs").mkdir(parents=True)
    (folder / "configs" / "counter.yaml").write_text(CONFIG)
    (folder / "app.py").write_text(APP)
    write_jsonl(folder / "data" / "example_rollouts.jsonl", [draft(0, [2], 2), draft(5, [1, 1], 7), draft(1, [3], 9)])
    return folder


def replay(*args: str, cwd: Path) -> CliResult:
    script = BIN / PROG
    command = [str(script)] if script.exists() else [sys.executable, "-m", "gym_conform.cli.replay_rollouts"]
    env = {k: v for k, v in os.environ.items() if k != "GYM_CONFORM_TRACEBACK"}
    proc = subprocess.run(command + list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


ENTRY = "+entrypoint=resources_servers/counter"


def test_drafts_are_filled_in_by_update_then_replay_unchanged(server_folder, tmp_path):
    rollouts = server_folder / "data" / "example_rollouts.jsonl"
    first = replay(ENTRY, cwd=tmp_path)
    assert first.returncode == 1, first.output
    assert first.stdout.splitlines()[:3] == [
        "line 1: reward CHANGED (none) -> 1.0",
        "line 2: reward CHANGED (none) -> 1.0",
        "line 3: reward CHANGED (none) -> 0.0",
    ]
    assert "+update=true" in first.stdout

    updated = replay(ENTRY, "+update=true", cwd=tmp_path)
    assert updated.returncode == 0, updated.output
    assert "rewrote resources_servers/counter/data/example_rollouts.jsonl with 3 rollout line(s)" in updated.stdout
    lines = read_jsonl(rollouts)
    assert [line["reward"] for line in lines] == [1.0, 1.0, 0.0]
    assert [line["final_count"] for line in lines] == [2, 7, 4]
    assert [item["type"] for item in lines[1]["response"]["output"]] == [
        "function_call", "function_call", "function_call_output", "function_call_output", "message"
    ]  # fmt: skip

    again = replay(ENTRY, cwd=tmp_path)
    assert again.returncode == 0, again.output
    assert again.stdout.splitlines() == [
        "line 1: reward 1.0 == 1.0",
        "line 2: reward 1.0 == 1.0",
        "line 3: reward 0.0 == 0.0",
        "3 rollout(s) replayed from resources_servers/counter/data/example_rollouts.jsonl: "
        "3 unchanged, 0 changed, 0 failed",
    ]
    assert again.stderr == ""


def test_a_changed_verify_is_caught_and_update_accepts_it(server_folder, tmp_path):
    assert replay(ENTRY, "+update=true", cwd=tmp_path).returncode == 0
    app = server_folder / "app.py"
    app.write_text(APP.replace("reward = 1.0 if final == body.expected_count else 0.0", "reward = 0.5"))

    changed = replay(ENTRY, cwd=tmp_path)
    assert changed.returncode == 1, changed.output
    assert changed.stdout.splitlines()[:3] == [
        "line 1: reward CHANGED 1.0 -> 0.5",
        "line 2: reward CHANGED 1.0 -> 0.5",
        "line 3: reward CHANGED 0.0 -> 0.5",
    ]
    assert "0 unchanged, 3 changed, 0 failed" in changed.stdout
    assert "verify() now scores these rollouts differently" in changed.stdout

    assert replay(ENTRY, "+update=true", cwd=tmp_path).returncode == 0
    passing = replay(ENTRY, cwd=tmp_path)
    assert passing.returncode == 0 and "3 unchanged" in passing.stdout


def test_old_lines_with_routing_keys_keep_them_and_max_steps_comes_from_the_agent(server_folder, tmp_path):
    rollouts = server_folder / "data" / "example_rollouts.jsonl"
    long = draft(0, [], 5)
    long["response"]["output"] = [
        item
        for i in range(5)
        for item in (call(f"call_{i}", 1), {"type": "function_call_output", "call_id": f"call_{i}", "output": ""})
    ]
    write_jsonl(
        rollouts, [{**long, "_ng_task_index": 4, "_ng_rollout_index": 1, "agent_ref": {"name": "counter_agent"}}]
    )
    result = replay(ENTRY, "+update=true", cwd=tmp_path)
    assert result.returncode == 0, result.output
    (line,) = read_jsonl(rollouts)
    assert (line["_ng_task_index"], line["_ng_rollout_index"], line["agent_ref"]) == (4, 1, {"name": "counter_agent"})
    assert line["final_count"] == 3 and line["reward"] == 0.0


@pytest.fixture
def isolated_imports(monkeypatch):
    """Undo the sys.path entries and modules loading a tmp server adds in this process."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        del sys.modules[name]


def test_replay_against_a_running_server(server_folder, tmp_path, isolated_imports):
    assert replay(ENTRY, "+update=true", cwd=tmp_path).returncode == 0
    loaded = load_server_folder(server_folder)
    with serve_uvicorn(loaded.server.app) as base_url:
        result = replay(ENTRY, f"+base_url={base_url}", "+concurrency=2", cwd=tmp_path)
    assert result.returncode == 0, result.output
    assert "3 unchanged, 0 changed, 0 failed" in result.stdout
    assert len(loaded.server.counts) == 3


def test_a_failing_rollout_is_reported_and_blocks_the_update(server_folder, tmp_path):
    rollouts = server_folder / "data" / "example_rollouts.jsonl"
    broken = draft(0, [1], 1)
    del broken["expected_count"]
    write_jsonl(rollouts, [draft(0, [2], 2), broken])
    before = rollouts.read_text()
    result = replay(ENTRY, "+update=true", cwd=tmp_path)
    assert result.returncode == 1
    assert "line 2: ERROR POST /verify returned HTTP 422" in result.stdout and "expected_count" in result.stdout
    assert "was not rewritten because 1 rollout(s) failed" in result.stdout
    assert rollouts.read_text() == before


def test_import_errors_and_missing_files_are_clear_and_without_traceback(server_folder, tmp_path):
    (server_folder / "app.py").write_text("import not_installed_anywhere\n" + APP)
    broken = replay(ENTRY, cwd=tmp_path)
    assert broken.returncode == 1
    assert "not_installed_anywhere" in broken.stderr and "pip install not_installed_anywhere" in broken.stderr
    assert "Traceback" not in broken.output

    (server_folder / "app.py").write_text(APP)
    missing = replay(ENTRY, "+rollouts_fpath=nowhere.jsonl", cwd=tmp_path)
    assert missing.returncode == 1 and "nowhere.jsonl: no such rollouts file" in missing.stderr
    assert "Traceback" not in missing.output

    no_folder = replay("+entrypoint=resources_servers/absent", cwd=tmp_path)
    assert no_folder.returncode == 1 and "server.folder_missing" in no_folder.stderr


def test_usage_errors(tmp_path):
    unknown = replay(ENTRY, "+rollout_fpath=x.jsonl", cwd=tmp_path)
    assert unknown.returncode == 2 and "unknown key: rollout_fpath" in unknown.stderr
    assert "did you mean +rollouts_fpath" in unknown.stderr
    missing = replay(cwd=tmp_path)
    assert missing.returncode == 2 and "missing required configuration: entrypoint" in missing.stderr
    helped = replay("--help", cwd=tmp_path)
    assert helped.returncode == 0 and "+update=..." in helped.stdout and "+base_url=..." in helped.stdout


def test_the_help_examples_use_the_documented_keys():
    from gym_conform.cli.replay_rollouts import EXAMPLES, ReplayOptions

    used = {arg.split("=")[0].lstrip("+") for example in EXAMPLES for arg in example.split()[1:]}
    assert used <= set(ReplayOptions.model_fields)
    assert textwrap.dedent(EXAMPLES[0]).startswith(PROG)
