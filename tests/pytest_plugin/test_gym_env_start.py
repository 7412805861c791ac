"""NeMo Gym 0.7.0's own mcqa server, run by NeMo Gym: `--gym-server-url` against a server `gym env start` started,
and process mode (`--gym-server-mode process`) starting it in the nemo-gym venv the way NeMo Gym starts it.

Needs a venv with nemo-gym 0.7.0 and its dependencies (GYM_CONFORM_NEMO_GYM_PYTHON; `.ci/corpus_server.sh`
builds one and CI sets it) and the 0.7.0 wheel (GYM_CONFORM_NEMO_GYM_WHEEL), whose `mcqa` server it starts.
The checks run in this project's venv, where nemo_gym does not import: the folder gives the config and data,
every request goes to the running server.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

NEMO_GYM_PYTHON = os.environ.get("GYM_CONFORM_NEMO_GYM_PYTHON", "")
WHEEL = os.environ.get("GYM_CONFORM_NEMO_GYM_WHEEL", "")
pytestmark = pytest.mark.skipif(
    not (NEMO_GYM_PYTHON and Path(NEMO_GYM_PYTHON).is_file() and WHEEL and Path(WHEEL).is_file()),
    reason="needs GYM_CONFORM_NEMO_GYM_PYTHON (nemo-gym 0.7.0 with its dependencies; .ci/corpus_server.sh builds "
    "one) and GYM_CONFORM_NEMO_GYM_WHEEL",
)
SERVER = "mcqa"
# Only the resources server's block: no agent, no policy model to start.
CONFIG = f"""\
{SERVER}:
  resources_servers:
    {SERVER}:
      entrypoint: app.py
      grading_mode: null
      domain: knowledge
      verified: false
      description: Multi-choice question answering problems
"""
READY = "All 1 / 1 servers ready"
LISTENING = re.compile(rf"\({SERVER}\) INFO:\s+Uvicorn running on (http://127\.0\.0\.1:\d+)")
START_TIMEOUT = 240


def unpacked_server(tmp_path: Path) -> Path:
    """Return a tree holding only resources_servers/mcqa, unpacked from the wheel."""
    tree = tmp_path / "gym"
    with zipfile.ZipFile(WHEEL) as wheel:
        members = [name for name in wheel.namelist() if name.startswith(f"resources_servers/{SERVER}/")]
        wheel.extractall(tree, members=members)
    (tree / "pytest.ini").write_text("[pytest]\n")
    return tree


def run_checks(tree: Path, *options: str) -> tuple[subprocess.CompletedProcess, dict[str, dict]]:
    """Run the server level on mcqa in this project's venv (nemo_gym does not import here); return its checks."""
    command = [sys.executable, "-m", "pytest", f"resources_servers/{SERVER}", "--gym-level", "server", *options]
    command += ["--noconftest", "--ignore-glob", "resources_servers/*/tests"]
    command += ["-p", "no:cacheprovider", "-p", "no:randomly", "--gym-report", "report.json", "-q"]
    command += ["--gym-hypothesis-profile", "gym-conform-ci", "--gym-max-examples", "10"]
    result = subprocess.run(command, cwd=tree, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode in (0, 1), result.stdout[-3000:] + result.stderr[-3000:]
    (server,) = json.loads((tree / "report.json").read_text())["servers"]
    return result, {check["id"]: check for check in server["checks"]}


@pytest.fixture
def running_mcqa(tmp_path):
    """Start NeMo Gym's mcqa server with `gym env start` from an unpacked copy of the wheel; yield its URL."""
    tree = unpacked_server(tmp_path)
    venv = Path(NEMO_GYM_PYTHON).parent.parent
    # NeMo Gym builds each server's venv with uv (and the network); `skip_venv_if_present` takes this one.
    (tree / "resources_servers" / SERVER / ".venv").symlink_to(venv)
    (tree / "only_mcqa.yaml").write_text(CONFIG)
    log_path = tmp_path / "gym_env_start.log"
    env = {
        **os.environ,
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "RAY_USAGE_STATS_ENABLED": "0",
    }
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(venv / "bin" / "gym"), "env", "start", "--config", "only_mcqa.yaml", "+skip_venv_if_present=true"],
            cwd=tree,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    try:
        url = _wait_for_server(process, log_path)
        yield tree, url
    finally:
        _stop(process, venv)


def _wait_for_server(process: subprocess.Popen, log_path: Path) -> str:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        text = log_path.read_text(errors="replace")
        found = LISTENING.search(text)
        if found and READY in text:
            return found.group(1)
        if process.poll() is not None:
            pytest.fail(f"gym env start ended with {process.returncode} before the server was ready:\n{text[-3000:]}")
        time.sleep(0.5)
    pytest.fail(f"gym env start did not report the server ready within {START_TIMEOUT} s:\n{text[-3000:]}")


def _stop(process: subprocess.Popen, venv: Path) -> None:
    """Stop gym env start as Ctrl-C would (it stops its servers and the Ray cluster), then make sure."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    ray = venv / "bin" / "ray"
    if ray.is_file():
        subprocess.run([str(ray), "stop", "--force"], capture_output=True, check=False, timeout=120)


def test_the_server_checks_run_over_the_url_of_a_server_gym_env_start_started(running_mcqa):
    tree, url = running_mcqa

    result, checks = run_checks(tree, "--gym-server-url", url)

    assert checks["import"]["outcome"] == "passed"
    assert f"reached: the running server at {url}" in checks["import"]["notes"][-1]
    assert_mcqa_checks(checks, result)


def test_process_mode_starts_the_server_in_the_nemo_gym_venv_as_nemo_gym_starts_it(tmp_path):
    tree = unpacked_server(tmp_path)

    result, checks = run_checks(tree, "--gym-server-mode", "process", "--gym-server-python", NEMO_GYM_PYTHON)

    assert checks["import"]["outcome"] == "passed", checks["import"]
    assert checks["import"]["notes"][0].startswith(f"started in its own process: {NEMO_GYM_PYTHON} app.py")
    assert checks["import"]["notes"][-1].startswith("reached: its own process, over HTTP at http://127.0.0.1:")
    assert_mcqa_checks(checks, result)


def assert_mcqa_checks(checks: dict[str, dict], result: subprocess.CompletedProcess) -> None:
    """The checks mcqa passes wherever it runs, and its one recorded reward that differs today (listed)."""
    for check_id in ("row_fields", "fuzz_rows", "fuzz_verify", "contract_empty", "reward_hacking", "floors"):
        assert checks[check_id]["outcome"] == "passed", (check_id, checks[check_id], result.stdout[-3000:])
    replay = checks["replay"]
    assert replay["outcome"] in ("passed", "failed")
    assert all(problem["code"] == "replay.reward_changed" for problem in replay.get("problems") or [])
