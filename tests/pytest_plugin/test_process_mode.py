"""Process mode (`--gym-server-mode process`): each server runs in a Python of its own and is checked over HTTP.

A NeMo Gym-style server starts as NeMo Gym starts it (`python app.py`, its config in NEMO_GYM_CONFIG_DICT),
here on the fake nemo_gym of `tests/standins`; a server of this project's base class starts through
`python -m gym_conform.server.serve`. Every server writes a marker at import, which tells where its code ran.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sys
import time
import zipfile
from pathlib import Path

import pytest

from tests.checks.server_apps import app
from tests.pytest_plugin.test_upstream_servers import FAKE_APP, upstream_server

CI = ("--gym-hypothesis-profile", "gym-conform-ci", "--gym-max-examples", "10", "--gym-report", "report.json")
CHECKS = ("import", "row_fields", "replay", "fuzz_rows", "fuzz_verify", "contract_empty")
MARKER = """\
import json as _json, os as _os, sys as _sys
with open(_os.path.join(_os.path.dirname(_os.path.abspath(__file__)), "imported.jsonl"), "a") as _marker:
    _marker.write(_json.dumps({"pid": _os.getpid(), "argv": _sys.argv,
                               "config_path": _os.environ.get("NEMO_GYM_CONFIG_PATH")}) + "\\n")
"""
RUN = '\n\nif __name__ == "__main__":\n    AlphaServer.run_webserver()\n'


def checks_of(repo) -> dict[str, dict]:
    (server,) = json.loads((repo.path / "report.json").read_text())["servers"]
    return {check["id"]: check for check in server["checks"]}


def imports_of(folder) -> list[dict]:
    return [json.loads(line) for line in (folder / "imported.jsonl").read_text().splitlines()]


@pytest.fixture
def fake_nemo_gym_on_path(repo, monkeypatch):
    """Make the fake nemo_gym importable by a server process started in its folder (as an installed one is)."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(repo.path), *sys.path]))


def test_a_nemo_gym_server_starts_as_nemo_gym_starts_it_and_its_checks_go_over_http(repo, fake_nemo_gym_on_path):
    folder = upstream_server(repo, MARKER + FAKE_APP + RUN)

    result = repo.run(*CI, "--gym-server-mode", "process", subprocess=True)

    checks = checks_of(repo)
    assert {c: checks[c]["outcome"] for c in CHECKS} == dict.fromkeys(CHECKS, "passed"), result.stdout.str()
    notes = checks["import"]["notes"]
    assert notes[0].startswith(f"started in its own process: {sys.executable} app.py (as NeMo Gym starts it)")
    assert notes[-1].startswith("reached: its own process, over HTTP at http://127.0.0.1:")
    # Its code ran once, as `python app.py`, told its instance name as NeMo Gym's launcher tells it.
    (imported,) = imports_of(folder)
    assert (imported["argv"], imported["config_path"]) == (["app.py"], "alpha_resources_server")
    assert not _alive(imported["pid"])


def test_a_server_of_this_projects_base_class_starts_through_gym_conform_serve(repo):
    folder = repo.server()
    (folder / "app.py").write_text(MARKER + app())

    result = repo.run(*CI, "--gym-server-mode", "process", subprocess=True)

    checks = checks_of(repo)
    assert {c: checks[c]["outcome"] for c in CHECKS} == dict.fromkeys(CHECKS, "passed"), result.stdout.str()
    assert "-m gym_conform.server.serve" in checks["import"]["notes"][0]
    (imported,) = imports_of(folder)
    assert imported["argv"][1:3] == [str(folder), "--port"]
    assert not _alive(imported["pid"])


def test_a_server_that_exits_at_start_fails_import_with_its_output_and_the_rest_skip(repo, fake_nemo_gym_on_path):
    upstream_server(repo, FAKE_APP + '\nraise SystemExit("the secret sauce is missing")\n' + RUN)

    repo.run(*CI, "--gym-server-mode", "process", subprocess=True)

    checks = checks_of(repo)
    (problem,) = checks["import"]["problems"]
    assert problem["code"] == "server.process_exited"
    assert problem["path"] == "resources_servers/alpha/app.py"
    assert "exited with 1 before it answered" in problem["message"]
    assert "the secret sauce is missing" in problem["message"]
    assert checks["replay"]["skip_reason"].startswith("server did not start: the server's process")


def test_a_server_that_never_answers_is_stopped_at_the_startup_limit(repo, fake_nemo_gym_on_path):
    folder = upstream_server(repo, MARKER + FAKE_APP + "\n\nimport time\ntime.sleep(600)\n" + RUN)

    started = time.monotonic()
    repo.run(*CI, "--gym-server-mode", "process", "--gym-startup-timeout", "3", subprocess=True)

    checks = checks_of(repo)
    (problem,) = checks["import"]["problems"]
    assert problem["code"] == "server.process_timeout"
    assert "did not answer GET / within 3 s" in problem["message"]
    assert "--gym-startup-timeout" in problem["hint"]
    (imported,) = imports_of(folder)
    assert not _alive(imported["pid"])
    # One start-up limit, not one per check: the failed start is kept for the folder.
    assert time.monotonic() - started < 60


def test_a_python_that_does_not_exist_is_named(repo, fake_nemo_gym_on_path):
    upstream_server(repo, FAKE_APP + RUN)

    repo.run(*CI, "--gym-server-mode", "process", "--gym-server-python", "no/such/python", subprocess=True)

    (problem,) = checks_of(repo)["import"]["problems"]
    assert problem["code"] == "server.process_start"
    assert f"{repo.path / 'no/such/python'} could not be started" in problem["message"]


def test_auto_starts_a_nemo_gym_server_that_has_its_own_venv_in_it(repo, fake_nemo_gym_on_path):
    folder = upstream_server(repo, MARKER + FAKE_APP + RUN)
    # NeMo Gym's per-server venv (`gym env prefetch` builds it): here, this Python stands in for it.
    (folder / ".venv" / "bin").mkdir(parents=True)
    (folder / ".venv" / "bin" / "python").symlink_to(sys.executable)

    repo.run(*CI, subprocess=True)

    checks = checks_of(repo)
    assert checks["import"]["outcome"] == "passed"
    venv_python = folder / ".venv" / "bin" / "python"
    assert checks["import"]["notes"][0].startswith(f"started in its own process: {venv_python} app.py")
    assert imports_of(folder)[0]["argv"] == ["app.py"]


def tiny_wheel(directory: Path) -> Path:
    """Write a one-module wheel (`tinydep`), made by hand: pip installs it with no network and no build."""
    files = {
        "tinydep/__init__.py": b'VALUE = "from the venv"\n',
        "tinydep-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: tinydep\nVersion: 1.0\n",
        "tinydep-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = [
        f"{name},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},{len(data)}"
        for name, data in files.items()
    ]
    files["tinydep-1.0.dist-info/RECORD"] = ("\n".join([*record, "tinydep-1.0.dist-info/RECORD,,"]) + "\n").encode()
    directory.mkdir(parents=True, exist_ok=True)
    wheel = directory / "tinydep-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return wheel


@pytest.fixture
def venv_cache(tmp_path_factory, monkeypatch) -> Path:
    cache = tmp_path_factory.mktemp("venvs")
    monkeypatch.setenv("GYM_CONFORM_VENV_CACHE", str(cache))
    return cache


def test_a_folder_with_requirements_and_no_venv_gets_one_built_once_and_cached(repo, venv_cache):
    folder = repo.server()
    tiny_wheel(folder / "vendor")
    (folder / "requirements.txt").write_text("./vendor/tinydep-1.0-py3-none-any.whl\n")
    # The package is not where the checks run: only the built venv has it.
    (folder / "app.py").write_text(MARKER + "import tinydep\n" + app())

    first = repo.run(*CI, "--gym-server-mode", "process", subprocess=True)

    checks = checks_of(repo)
    assert {c: checks[c]["outcome"] for c in CHECKS} == dict.fromkeys(CHECKS, "passed"), first.stdout.str()
    built = checks["import"]["notes"][0]
    assert built.startswith("its Python: a venv built from resources_servers/alpha/requirements.txt in ")
    assert f"(cached at {venv_cache}" in built
    (venv,) = [path for path in venv_cache.iterdir() if path.is_dir()]
    assert checks["import"]["notes"][1].startswith(f"started in its own process: {venv / 'bin' / 'python'} -m")

    repo.run(*CI, "--gym-server-mode", "process", subprocess=True)

    assert checks_of(repo)["import"]["notes"][0] == (
        f"its Python: the venv built from resources_servers/alpha/requirements.txt (cached at {venv})"
    )


def test_requirements_that_do_not_install_fail_import_with_what_pip_said_and_leave_no_venv(repo, venv_cache):
    folder = repo.server()
    (folder / "requirements.txt").write_text("./vendor/no-such-1.0-py3-none-any.whl\n")
    (folder / "app.py").write_text(app())

    repo.run(*CI, "--gym-server-mode", "process", subprocess=True)

    checks = checks_of(repo)
    (problem,) = checks["import"]["problems"]
    assert problem["code"] == "server.venv_build"
    assert problem["path"] == "resources_servers/alpha/requirements.txt"
    assert "building a venv from resources_servers/alpha/requirements.txt failed: exit 1" in problem["message"]
    assert "no-such-1.0-py3-none-any.whl" in problem["message"]
    assert "gym env prefetch" in problem["hint"]
    assert not [path for path in venv_cache.iterdir() if path.is_dir()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
