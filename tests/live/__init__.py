"""Helpers of the live tests: fake repositories of shipped servers, pytest runs in them, scripted models, a fake vLLM."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT, CliResult
from tests.pytest_plugin.conftest import PLUGIN_ARGS
from tests.standins.openai_server import RecordedRequest, Reply, chat_completion, tool_call

SHIPPED = REPO_ROOT / "resources_servers"
SHIPPED_SERVERS = sorted(p.name for p in SHIPPED.iterdir() if (p / "configs").is_dir())
# Variables that would hand the inner runs a model or a key from the machine running the tests.
_HOST_VARIABLES = ("POLICY_API_KEY", "OPENAI_API_KEY", "NEMO_GYM_EXTRA_ROOTS", "PYTEST_ADDOPTS")


def make_repo(root: Path, *servers: str, env_yaml: str = "", ini: str = "") -> Path:
    """Create a repository at `root` with copies of shipped servers (their own tests left out) and an env.yaml.

    The env.yaml is always written (empty by default), so that no env.yaml of the machine is picked up.
    """
    for name in servers:
        shutil.copytree(
            SHIPPED / name, root / "resources_servers" / name, ignore=shutil.ignore_patterns("tests", "__pycache__")
        )
    (root / "pytest.ini").write_text("[pytest]\n" + ini)
    (root / "env.yaml").write_text(env_yaml)
    return root


def run_pytest(root: Path, *args: str, env: dict | None = None, timeout: float = 300) -> CliResult:
    """Run pytest with the plugin in `root` (a subprocess, as a contributor would), selecting the live items."""
    full_env = {k: v for k, v in os.environ.items() if k not in _HOST_VARIABLES} | (env or {})
    command = [sys.executable, "-m", "pytest", *PLUGIN_ARGS, "-p", "no:cacheprovider", "-rfEs", "-m", "gym_live"]
    proc = subprocess.run([*command, *args], cwd=root, env=full_env, capture_output=True, text=True, timeout=timeout)
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def chat_text(content: object) -> str:
    """Return the text of a chat message's content (a string, or a list of text parts)."""
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content or ""


def user_text(request: RecordedRequest) -> str:
    """Return the text of the last user message of a chat request."""
    return next(chat_text(m["content"]) for m in reversed(request.json["messages"]) if m["role"] == "user")


def tool_results(request: RecordedRequest) -> list[str]:
    """Return the contents of the chat request's tool messages, in order."""
    return [chat_text(m["content"]) for m in request.json["messages"] if m["role"] == "tool"]


def multi_step_model(request: RecordedRequest) -> Reply:
    """Solve example_multi_step: look up each given synonym, submit the values in order, then say so."""
    pairs = user_text(request).split("Use these synonyms:")[1].strip().rstrip(".").split(",")
    synonyms = [pair.split("->")[1].strip() for pair in pairs]
    results = tool_results(request)
    if len(results) < len(synonyms):
        call = tool_call("get_synonym_value", {"synonym": synonyms[len(results)]})
        return Reply(chat_completion(tool_calls=[call]))
    if len(results) == len(synonyms):
        values = [json.loads(text)["synonym_value"] for text in results]
        return Reply(chat_completion(tool_calls=[tool_call("extract_synonym_values", {"synonym_values": values})]))
    return Reply(chat_completion("Submitted the values."))


FAKE_VLLM = """\
#!{python}
# A stand-in for `vllm serve MODEL --host H --port P ...`: records its arguments, optionally exits or waits
# first, then serves the scripted OpenAI stand-in (with /health) on that port.
import json, os, sys, time
sys.path.insert(0, {repo!r})
args = sys.argv[1:]
record = os.environ.get("FAKE_VLLM_RECORD")
if record:
    with open(record, "w") as handle:
        json.dump({{"pid": os.getpid(), "argv": args}}, handle)
print("loading weights of", args[1], flush=True)
if os.environ.get("FAKE_VLLM_EXIT"):
    print("CUDA out of memory", flush=True)
    sys.exit(int(os.environ["FAKE_VLLM_EXIT"]))
time.sleep(float(os.environ.get("FAKE_VLLM_DELAY", "0")))
import uvicorn
from tests.standins.openai_server import OpenAIStandIn
port = int(args[args.index("--port") + 1])
uvicorn.run(OpenAIStandIn(model=args[1]).app(), host="127.0.0.1", port=port, log_level="warning")
"""


def write_fake_vllm(directory: Path) -> Path:
    """Write an executable `vllm` into `directory` (put it first on PATH) and return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "vllm"
    path.write_text(FAKE_VLLM.format(python=sys.executable, repo=str(REPO_ROOT)))
    path.chmod(0o755)
    return path


def is_running(pid: int) -> bool:
    """Return whether a process with this id exists (and is not a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
