"""VLLMServe against a fake `vllm` executable: start, health wait, timeout and early-exit messages, stop."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from gym_conform.errors import ServerError
from gym_conform.live.vllm_serve import VLLMServe
from tests.live import is_running, write_fake_vllm


@dataclass
class Fake:
    """The fake vllm executable and the file it records its pid and arguments in."""

    path: Path
    record: Path

    def recorded(self) -> dict:
        return json.loads(self.record.read_text())


@pytest.fixture
def fake(tmp_path, monkeypatch) -> Fake:
    record = tmp_path / "record.json"
    monkeypatch.setenv("FAKE_VLLM_RECORD", str(record))
    return Fake(write_fake_vllm(tmp_path / "bin"), record)


@pytest.fixture
def serve_of():
    """Build VLLMServe objects and stop every one of them after the test, whatever happened."""
    made: list[VLLMServe] = []

    def build(fake, **options) -> VLLMServe:
        made.append(VLLMServe("/models/tiny", executable=str(fake.path), **options))
        return made[-1]

    yield build
    for serve in made:
        serve.stop()


def test_start_waits_for_health_then_serves_and_stop_ends_the_process(fake, serve_of, monkeypatch):
    monkeypatch.setenv("FAKE_VLLM_DELAY", "0.5")
    serve = serve_of(fake, extra_args=["--enable-auto-tool-choice", "--tool-call-parser", "hermes"], startup_timeout=60)

    started = time.monotonic()
    serve.start()

    assert time.monotonic() - started >= 0.5
    assert httpx.get(serve.health_url).status_code == 200
    assert httpx.get(serve.base_url + "/models").json()["data"][0]["id"] == "/models/tiny"
    assert serve.base_url == f"http://127.0.0.1:{serve.port}/v1"
    assert fake.recorded()["argv"] == [
        "serve", "/models/tiny", "--host", "127.0.0.1", "--port", str(serve.port),
        "--enable-auto-tool-choice", "--tool-call-parser", "hermes",
    ]  # fmt: skip
    pid = fake.recorded()["pid"]
    assert is_running(pid)
    serve.start()  # already running: nothing new is started
    assert fake.recorded()["pid"] == pid

    serve.stop()

    assert not is_running(pid) and serve.pid is None


def test_a_server_that_never_answers_times_out_with_the_log_and_is_stopped(fake, serve_of, monkeypatch):
    monkeypatch.setenv("FAKE_VLLM_DELAY", "60")
    serve = serve_of(fake, startup_timeout=1)

    with pytest.raises(ServerError) as raised:
        serve.start()

    error = raised.value
    assert error.code == "vllm.timeout"
    assert f"did not answer GET http://127.0.0.1:{serve.port}/health within 1 s" in error.message
    assert "loading weights of /models/tiny" in error.message
    assert "--gym-vllm-serve-timeout" in error.hint
    assert error.location.path == str(serve.log_path)
    assert not is_running(fake.recorded()["pid"])

    fake.record.unlink()
    with pytest.raises(ServerError) as again:
        serve.start()
    assert again.value is error and not fake.record.exists()  # the failure is remembered, not retried


def test_a_server_that_exits_early_reports_its_exit_code_and_log(fake, serve_of, monkeypatch):
    monkeypatch.setenv("FAKE_VLLM_EXIT", "3")
    serve = serve_of(fake, startup_timeout=60)

    with pytest.raises(ServerError) as raised:
        serve.start()

    assert raised.value.code == "vllm.exited"
    assert "exited with code 3 before" in raised.value.message
    assert "CUDA out of memory" in raised.value.message


def test_no_vllm_executable_says_how_to_install_it(tmp_path):
    serve = VLLMServe("/models/tiny", executable=str(tmp_path / "no-such-vllm"))

    with pytest.raises(ServerError) as raised:
        serve.start()

    assert raised.value.code == "vllm.not_installed"
    assert "gym-conform[vllm]" in raised.value.hint and "--gym-model-url" in raised.value.hint


def test_stop_without_start_does_nothing(fake):
    VLLMServe("/models/tiny", executable=str(fake.path)).stop()

    assert not fake.record.exists()
