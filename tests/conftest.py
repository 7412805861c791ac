"""Shared fixtures: the repo and its test-fixture locations, and running console scripts as a user would."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# Every file a test reads lives in the repository: a clone has no ../shared/.
FIXTURES = REPO_ROOT / "tests" / "fixtures"
VLLM_REPLIES = FIXTURES / "vllm_0.26_replies.json"
MAKE_OPENMATH = REPO_ROOT / "bench" / "make_openmath.py"
BIN = Path(sys.executable).parent


@dataclass
class CliResult:
    """Outcome of one console-script run."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_script(name: str, *args: str, cwd: Path, env: dict | None = None, timeout: float = 300) -> CliResult:
    """Run an installed console script (as a user would) and capture its output."""
    script = BIN / name
    command = [str(script)] if script.exists() else [sys.executable, "-m", _MODULES[name]]
    full_env = {**os.environ, **(env or {})}
    full_env.pop("GYM_CONFORM_TRACEBACK", None)
    proc = subprocess.run(command + list(args), cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout)
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


_MODULES = {
    "gym-conform": "gym_conform.cli.main",
    "ng_prepare_data": "gym_conform.cli.prepare_data",
    "ng_download_dataset_from_hf": "gym_conform.cli.download",
    "ng_replay_rollouts": "gym_conform.cli.replay_rollouts",
    "ng_init_resources_server": "gym_conform.cli.init_resources_server",
}


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A scratch repo root holding copies of the shipped model configs and resources servers."""
    for folder in ("responses_api_models", "resources_servers"):
        shutil.copytree(REPO_ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def read_jsonl(path: Path) -> list[dict]:
    """Read a JSONL file into a list of dicts."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_jsonl(path: Path, rows: list) -> Path:
    """Write rows (dicts, or raw strings written as they are) to a JSONL file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [r if isinstance(r, str) else json.dumps(r) for r in rows]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def math_row(question: str = "What is 2+2?", answer: str = "4", **extra) -> dict:
    """A valid math row like the seed's examples."""
    return {
        "responses_create_params": {"input": [{"role": "user", "content": question}]},
        "expected_answer": answer,
        **extra,
    }


AGENT_CONFIG = """\
tiny_resources_server:
  resources_servers:
    tiny:
      entrypoint: app.py
      domain: math
tiny_simple_agent:
  responses_api_agents:
    simple_agent:
      entrypoint: app.py
      resources_server:
        type: resources_servers
        name: tiny_resources_server
      model_server:
        type: responses_api_models
        name: policy_model
      datasets:
{datasets}
"""


def tiny_config(root: Path, datasets: str) -> str:
    """Write a one-agent config whose `datasets:` block is `datasets` (YAML, indented 6)."""
    path = root / "configs" / "tiny.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(AGENT_CONFIG.format(datasets=datasets), encoding="utf-8")
    return "configs/tiny.yaml"


def dataset_yaml(name: str, type_: str, path: str, extra: str = "") -> str:
    """One `datasets:` entry of `tiny_config`; `extra` holds more `key: value` lines."""
    lines = [f"      - name: {name}", f"        type: {type_}", f"        jsonl_fpath: {path}"]
    lines += [f"        {x}" for x in extra.splitlines() if x]
    return "\n".join(lines)
