"""`--gym-server-url`: the server checks against a server already running over real HTTP on 127.0.0.1.

The stand-in is this project's fixture server, loaded here and served by uvicorn in a thread; pytest runs in
a subprocess pointed at it. Nothing is started for the folder: every request goes to the URL.
"""

from __future__ import annotations

import json

import pytest

from gym_conform.server.loader import load_server_folder
from tests.checks.server_apps import app, isolated_imports  # noqa: F401 (a fixture)
from tests.standins.loopback import serve_uvicorn

CI = ("--gym-hypothesis-profile", "gym-conform-ci", "--gym-max-examples", "10", "--gym-report", "report.json")
CHECKS = ("import", "row_fields", "replay", "fuzz_rows", "fuzz_verify", "contract_empty")


def checks_of(repo) -> dict[str, dict]:
    (server,) = json.loads((repo.path / "report.json").read_text())["servers"]
    return {check["id"]: check for check in server["checks"]}


@pytest.fixture
def served(repo, isolated_imports):  # noqa: F811 (the fixture imported above)
    """Create resources_servers/alpha and serve its app on loopback; yield (folder, base URL)."""
    folder = repo.server()
    (folder / "app.py").write_text(app())
    loaded = load_server_folder(folder)
    with serve_uvicorn(loaded.server.app) as url:
        yield folder, url


def test_the_checks_run_against_the_running_server(repo, served):
    folder, url = served
    # The folder's verify now gives nothing: only the running server's answers can make the checks pass.
    (folder / "app.py").write_text(app("reward = 0.0"))

    result = repo.run(*CI, "--gym-server-url", url, "resources_servers/alpha", subprocess=True)

    checks = checks_of(repo)
    assert {c: checks[c]["outcome"] for c in CHECKS} == dict.fromkeys(CHECKS, "passed"), result.stdout.str()
    assert checks["import"]["notes"] == [f"reached: the running server at {url} (request models from AlphaServer)"]


def test_a_folder_whose_code_does_not_import_here_is_checked_from_its_config(repo, served):
    folder, url = served
    (folder / "app.py").write_text("import no_such_module_here\n")

    repo.run(*CI, "--gym-server-url", url, "resources_servers/alpha", subprocess=True)

    checks = checks_of(repo)
    assert {c: checks[c]["outcome"] for c in ("import", "replay", "fuzz_verify", "contract_empty")} == dict.fromkeys(
        ("import", "replay", "fuzz_verify", "contract_empty"), "passed"
    )
    assert "its config only: app.py does not import here" in checks["import"]["notes"][0]


def test_a_url_where_nothing_answers_fails_import_and_skips_the_rest(repo):
    folder = repo.server()
    (folder / "app.py").write_text(app())

    repo.run(*CI, "--gym-server-url", "http://127.0.0.1:9", "--gym-request-timeout", "3", subprocess=True)

    checks = checks_of(repo)
    (problem,) = checks["import"]["problems"]
    assert problem["code"] == "server.unreachable"
    assert "http://127.0.0.1:9" in problem["message"]


def test_a_server_url_that_is_not_http_is_a_usage_error(repo):
    repo.server()

    result = repo.run("--gym-server-url", "localhost:8000")

    assert result.ret == 4
    result.stderr.fnmatch_lines(["*--gym-server-url must be an http:// or https:// URL, got 'localhost:8000'*"])
