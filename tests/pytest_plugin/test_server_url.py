"""`--gym-server-url`: the server checks against a server already running over real HTTP on 127.0.0.1.

The stand-in is this project's fixture server, loaded here and served by uvicorn in a thread; pytest runs in
a subprocess pointed at it. Nothing is started for the folder: every request goes to the URL.
"""

from __future__ import annotations

import json

import pytest

from gym_conform.server.loader import load_server_folder
from tests.checks import make_row
from tests.checks.server_apps import app, config, isolated_imports  # noqa: F401 (a fixture)
from tests.checks.test_server_isolation import counter_app, counter_rollout
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


# The probe checks over the URL. The folder's app.py is replaced by one that does not import here once the
# server runs, so every finding comes from the running server's answers (and the config, rows and rollouts).
PROBE_CHECKS = ("reward_hacking", "floors", "session_isolation", "fuzz_tools", "verify_budget")
ONLY_PROBES = ("-k", " or ".join(("import", *PROBE_CHECKS, "judge_failures")))
ADD_TOOL = {
    "type": "function",
    "name": "add",
    "parameters": {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]},
}


def serve_counter(repo, app_text: str):
    """Create alpha with the counter task (rows offering `add`, recorded rollouts) and serve `app_text`."""
    rows = [make_row(n) for n in range(1, 6)]
    for row in rows:
        row["responses_create_params"]["tools"] = [ADD_TOOL]
    folder = repo.server(rows=rows, rollouts=[counter_rollout(row) for row in rows])
    (folder / "app.py").write_text(app_text)
    return folder, serve_uvicorn(load_server_folder(folder).server.app)


def test_the_probe_checks_run_over_the_url_from_the_config_rows_and_rollouts(repo, isolated_imports):  # noqa: F811
    folder, serving = serve_counter(repo, counter_app())
    with serving as url:
        (folder / "app.py").write_text("import no_such_module_here\n")
        result = repo.run(*CI, *ONLY_PROBES, "--gym-server-url", url, "resources_servers/alpha", subprocess=True)

    checks = checks_of(repo)
    outcomes = {c: checks[c]["outcome"] for c in PROBE_CHECKS}
    assert outcomes == dict.fromkeys(PROBE_CHECKS, "passed"), result.stdout.str()
    assert checks["judge_failures"]["skip_reason"] == "the server's config block names no judge_model_server"


def test_planted_defects_are_caught_over_the_url(repo, isolated_imports):  # noqa: F811
    planted = (
        counter_app(key='"shared"')  # totals shared by every session
        .replace("str(total) == body.expected_answer", "body.expected_answer in body.response.output_text")
        .replace("        total = TOTALS[", "        assert body.n >= 0\n        total = TOTALS[")
    )
    folder, serving = serve_counter(repo, planted)
    with serving as url:
        (folder / "app.py").write_text("import no_such_module_here\n")
        repo.run(*CI, *ONLY_PROBES, "--gym-server-url", url, "resources_servers/alpha", subprocess=True)

    checks = checks_of(repo)
    codes = {c: {p["code"] for p in checks[c]["problems"]} for c in ("reward_hacking", "session_isolation")}
    assert "reward_hacking.refusal" in codes["reward_hacking"]
    assert codes["session_isolation"] == {"session.leak"}
    tool_messages = [p["message"] for p in checks["fuzz_tools"]["problems"]]
    assert any('{"method": "POST", "path": "/add", "body": {"n": -1}}' in m for m in tool_messages), tool_messages


def test_judge_failures_says_why_it_cannot_run_over_the_url(repo, isolated_imports):  # noqa: F811
    folder = repo.server(config=config(judge_model_server="{type: responses_api_models, name: policy_model}"))
    (folder / "app.py").write_text(app())
    with serve_uvicorn(load_server_folder(folder).server.app) as url:
        repo.run(*CI, "--gym-server-url", url, "resources_servers/alpha", "-k", "judge_failures", subprocess=True)

    reason = checks_of(repo)["judge_failures"]["skip_reason"]
    assert reason.startswith(f"the server at {url} calls the judge model server it was started with")
    assert "run it with --gym-server-mode child" in reason
