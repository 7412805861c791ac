"""NeMo Gym-style servers (a `SimpleResourcesServer` subclass, built from the config block) through the server checks.

`tests/standins/fake_nemo_gym` imitates the shape of NeMo Gym's classes (our own code), copied into the
fake repository so that the checks run without nemo_gym installed; one test builds a server on the real
nemo_gym and skips cleanly without it.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
import time
from pathlib import Path

import pytest

from gym_conform.server.loader import load_server_folder
from tests.checks.server_apps import isolated_imports  # noqa: F401 (a fixture)
from tests.standins.loopback import serve_uvicorn

FAKE_NEMO_GYM = Path(__file__).resolve().parent.parent / "standins" / "fake_nemo_gym" / "nemo_gym"
CI = ("--gym-hypothesis-profile", "gym-conform-ci", "--gym-max-examples", "10", "--gym-report", "report.json")
CHECKS = ("import", "row_fields", "replay", "fuzz_rows", "fuzz_verify", "contract_empty")
FAKE_APP = """\
from pydantic import BaseModel

from nemo_gym.base_resources_server import (
    BaseResourcesServerConfig,
    BaseVerifyRequest,
    BaseVerifyResponse,
    SimpleResourcesServer,
)


class AlphaConfig(BaseResourcesServerConfig):
    judge_model_server: dict | None = None


class AlphaVerifyRequest(BaseVerifyRequest):
    expected_answer: str


class AlphaVerifyResponse(AlphaVerifyRequest, BaseVerifyResponse):
    pass


class LookupRequest(BaseModel):
    key: str


class AlphaServer(SimpleResourcesServer):
    config: AlphaConfig

    def setup_webserver(self):
        app = super().setup_webserver()
        app.post("/lookup")(self.lookup)
        return app

    async def lookup(self, body: LookupRequest) -> dict:
        return {"value": body.key.upper()}

    async def verify(self, body: AlphaVerifyRequest) -> AlphaVerifyResponse:
        texts = [
            part.get("text", "")
            for item in body.response.get("output", [])
            if item.get("type") == "message"
            for part in item.get("content", [])
        ]
        reward = 1.0 if "".join(texts).strip() == "\\\\boxed{" + body.expected_answer + "}" else 0.0
        return AlphaVerifyResponse(**body.model_dump(), reward=reward)
"""
JUDGE = "      judge_model_server:\n        type: responses_api_models\n        name: policy_model\n"


def upstream_server(repo, app_text: str = FAKE_APP, *, config_lines: str = "", fake: bool = True) -> Path:
    """Create resources_servers/alpha whose app.py is a NeMo Gym-style server (on the fake nemo_gym by default)."""
    folder = repo.server()
    if config_lines:
        config = folder / "configs" / "alpha.yaml"
        text = config.read_text()
        config.write_text(
            text.replace("      description: Add two numbers\n", "      description: Add two numbers\n" + config_lines)
        )
    (folder / "app.py").write_text(app_text)
    if fake:
        shutil.copytree(FAKE_NEMO_GYM, repo.path / "nemo_gym")
    return folder


def checks_of(repo) -> dict[str, dict]:
    (server,) = json.loads((repo.path / "report.json").read_text())["servers"]
    return {check["id"]: check for check in server["checks"]}


@pytest.mark.parametrize("mode", ["child", "in-process"])
def test_a_nemo_gym_style_server_is_built_from_its_config_and_passes_the_server_checks(repo, mode):
    upstream_server(repo)

    result = repo.run(*CI, "--gym-server-mode", mode, subprocess=True)

    checks = checks_of(repo)
    assert {c: checks[c]["outcome"] for c in CHECKS} == dict.fromkeys(CHECKS, "passed"), result.stdout.str()
    where = "child process" if mode == "child" else "in-process"
    assert checks["import"]["notes"] == [
        f"reached: {where}, built as NeMo Gym builds it (AlphaServer, a SimpleResourcesServer)"
    ]
    # The server builds no gold response: NeMo Gym's classes have no such method.
    assert checks["contract_gold"]["outcome"] == "skipped"


def test_a_nemo_gym_style_server_whose_verify_breaks_fails_like_any_other(repo):
    upstream_server(repo, FAKE_APP.replace("reward = 1.0 if", "reward = 1.0 / 0 if"))

    repo.run(*CI, subprocess=True)

    checks = checks_of(repo)
    assert checks["import"]["outcome"] == "passed"
    (problem, *_) = checks["replay"]["problems"]
    assert "ZeroDivisionError" in problem["message"]


def test_a_server_whose_config_points_at_a_judge_model_skips_what_calls_verify_and_says_why(repo):
    upstream_server(repo, config_lines=JUDGE)

    repo.run(*CI, subprocess=True)

    checks = checks_of(repo)
    assert (checks["import"]["outcome"], checks["row_fields"]["outcome"]) == ("passed", "passed")
    for check_id in ("replay", "fuzz_verify", "contract_empty", "fuzz_rows"):
        reason = checks[check_id]["skip_reason"]
        assert reason.startswith("the server needs the model server 'policy_model' (`judge_model_server`"), reason


JUDGED_APP = FAKE_APP.replace(
    "        reward = 1.0 if",
    """        judged = await self.server_client.post(
            server_name=self.config.judge_model_server["name"], url_path="/v1/responses", json={"input": texts}
        )
        verdict = judged.json()["output"][0]["content"][0]["text"]
        reward = 0.0 if "CORRECT" not in verdict else 1.0 if""",
)


def test_with_the_judge_standin_a_judged_server_runs_its_contract_and_fuzz_checks(repo):
    upstream_server(repo, JUDGED_APP, config_lines=JUDGE)

    result = repo.run(*CI, "--gym-judge-standin", subprocess=True)

    checks = checks_of(repo)
    ran = ("import", "fuzz_rows", "fuzz_verify", "contract_empty")
    assert {c: checks[c]["outcome"] for c in ran} == dict.fromkeys(ran, "passed"), result.stdout.str()
    assert "'policy_model' answered by the scripted stand-in at http://127.0.0.1:" in checks["import"]["notes"][0]
    for check_id in ("replay", "contract_gold"):
        reason = checks[check_id]["skip_reason"]
        assert "the judge model server 'policy_model', which the scripted stand-in answers" in reason, reason


# Credits whatever text holds the verdict syntax, the judge's quote of the candidate included.
NAIVE_JUDGE_APP = FAKE_APP.replace(
    "        reward = 1.0 if",
    """        judged = await self.server_client.post(
            server_name=self.config.judge_model_server["name"], url_path="/v1/responses", json={"input": texts}
        )
        judged.raise_for_status()
        verdict = judged.json()["output"][0]["content"][0]["text"]
        return AlphaVerifyResponse(**body.model_dump(), reward=1.0 if "[[A=B]]" in verdict else 0.0)
        reward = 1.0 if""",
)
# Marks the sample unless the judge answers 200 with its own verdict line.
CAREFUL_JUDGE_APP = FAKE_APP.replace(
    "        reward = 1.0 if",
    """        judged = await self.server_client.post(
            server_name=self.config.judge_model_server["name"], url_path="/v1/responses", json={"input": texts}
        )
        verdict = judged.json()["output"][0]["content"][0]["text"] if judged.status_code == 200 else ""
        if not verdict.startswith(("VERDICT: CORRECT", "VERDICT: WRONG")):
            return AlphaVerifyResponse(
                **body.model_dump(), reward=0.0, mask_sample=True, failure_kind="judge_failed"
            )
        return AlphaVerifyResponse(**body.model_dump(), reward=1.0 if verdict == "VERDICT: CORRECT" else 0.0)
        reward = 1.0 if""",
)


def test_judge_failures_scripts_the_stand_in_and_names_each_failure_verify_leaves_unmarked(repo):
    upstream_server(repo, NAIVE_JUDGE_APP, config_lines=JUDGE)

    result = repo.run(*CI, "--gym-judge-standin", "-k", "judge_failures", subprocess=True)

    check = checks_of(repo)["judge_failures"]
    assert check["outcome"] == "failed", result.stdout.str()
    by_code = {problem["code"]: problem["message"] for problem in check["problems"]}
    assert set(by_code) == {"judge.http_500", "judge.unparseable", "judge.quotes_candidate"}
    assert by_code["judge.http_500"].startswith("when the judge answers HTTP 500, verify fails instead of marking")
    assert by_code["judge.unparseable"].startswith("when the judge answers text with no verdict, verify scores 0")
    assert by_code["judge.quotes_candidate"].startswith(
        "when the judge quotes the candidate's answer (verdict syntax included), verify credits a wrong answer with 1"
    )
    assert "request, one JSON line:" in by_code["judge.quotes_candidate"]


def test_judge_failures_passes_a_server_that_marks_every_sample_its_judge_fails_on(repo):
    upstream_server(repo, CAREFUL_JUDGE_APP, config_lines=JUDGE)

    result = repo.run(*CI, "--gym-judge-standin", "-k", "judge_failures", subprocess=True)

    assert checks_of(repo)["judge_failures"]["outcome"] == "passed", result.stdout.str()


def test_a_missing_package_the_server_declares_skips_import_with_how_to_install_it(repo):
    folder = upstream_server(repo, "import no_such_package_for_gym_conform\n" + FAKE_APP)
    (folder / "requirements.txt").write_text("no-such-package-for-gym-conform\n")

    repo.run(*CI, subprocess=True)

    checks = checks_of(repo)
    reason = checks["import"]["skip_reason"]
    assert "imports 'no_such_package_for_gym_conform', which is not installed here" in reason
    assert f"pip install -r {folder / 'requirements.txt'}" in reason
    assert checks["replay"]["skip_reason"].startswith("server could not be imported: app.py imports")


def test_a_missing_package_the_server_does_not_declare_fails_import(repo):
    upstream_server(repo, "import no_such_package_for_gym_conform\n" + FAKE_APP)

    repo.run(*CI, subprocess=True)

    (problem,) = checks_of(repo)["import"]["problems"]
    assert problem["code"] == "server.import"


REAL_APP = """\
from nemo_gym.base_resources_server import BaseVerifyRequest, BaseVerifyResponse, SimpleResourcesServer


class AlphaServer(SimpleResourcesServer):
    async def verify(self, body: BaseVerifyRequest) -> BaseVerifyResponse:
        return BaseVerifyResponse(**body.model_dump(), reward=1.0 if body.response.output_text else 0.0)
"""


@pytest.mark.skipif(importlib.util.find_spec("nemo_gym") is None, reason="needs nemo_gym installed (e.g. 0.7.0)")
def test_a_server_on_the_real_nemo_gym_passes_the_server_checks(repo):
    upstream_server(repo, REAL_APP, fake=False)

    result = repo.run(*CI, subprocess=True)

    checks = checks_of(repo)
    assert {c: checks[c]["outcome"] for c in CHECKS} == dict.fromkeys(CHECKS, "passed"), result.stdout.str()
    assert "built as NeMo Gym builds it" in checks["import"]["notes"][0]


@pytest.fixture
def fake_nemo_gym_here(repo, monkeypatch, isolated_imports):  # noqa: F811 (the fixture imported below)
    """Import `nemo_gym` from the fake repository in this process for the test; put the previous modules back."""
    saved = {name: module for name, module in sys.modules.items() if name.split(".")[0] == "nemo_gym"}
    for name in saved:
        del sys.modules[name]
    monkeypatch.syspath_prepend(str(repo.path))
    yield
    for name in [n for n in sys.modules if n.split(".")[0] == "nemo_gym"]:
        del sys.modules[name]
    sys.modules.update(saved)


def test_over_a_url_a_server_whose_judge_runs_there_is_checked_not_skipped(repo, fake_nemo_gym_here):
    # The running server was started with its judge model server: nothing it needs is missing at the URL.
    folder = upstream_server(repo, config_lines=JUDGE)
    with serve_uvicorn(load_server_folder(folder).server.app) as url:
        repo.run(*CI, "--gym-server-url", url, "-k", "import or contract_empty or fuzz_verify", subprocess=True)

    checks = checks_of(repo)
    assert {c: checks[c]["outcome"] for c in ("import", "contract_empty", "fuzz_verify")} == dict.fromkeys(
        ("import", "contract_empty", "fuzz_verify"), "passed"
    )


GYMNASIUM_APP = FAKE_APP.replace(
    """    def setup_webserver(self):
        app = super().setup_webserver()
        app.post("/lookup")(self.lookup)
        return app
""",
    """    def setup_webserver(self):
        from fastapi import FastAPI

        app = FastAPI()
        app.post("/reset")(self.lookup)
        app.post("/step")(self.lookup)
        return app
""",
)


def test_a_gymnasium_style_server_is_reported_as_such_not_failed_for_its_missing_routes(repo):
    upstream_server(repo, GYMNASIUM_APP)

    result = repo.run(*CI, subprocess=True)

    checks = checks_of(repo)
    assert checks["import"]["outcome"] == "passed", result.stdout.str()
    for check_id in ("replay", "fuzz_rows", "fuzz_verify", "contract_empty"):
        assert checks[check_id]["outcome"] == "skipped", (check_id, checks[check_id])
        reason = checks[check_id]["skip_reason"]
        assert reason.startswith("the server does not serve /seed_session or /verify (it serves /reset, /step)")
        assert "gymnasium-style environment" in reason


SANDBOXED_APP = FAKE_APP.replace(
    "    async def verify(self, body: AlphaVerifyRequest) -> AlphaVerifyResponse:\n",
    """    async def seed_session(self, body: dict) -> dict:
        raise ValueError("Sandbox provider reference 'sandbox' is not defined in the merged config.")

    async def verify(self, body: AlphaVerifyRequest) -> AlphaVerifyResponse:
""",
)


def test_a_server_whose_sessions_need_a_sandbox_provider_skips_naming_it(repo):
    upstream_server(repo, SANDBOXED_APP)

    result = repo.run(*CI, subprocess=True)

    checks = checks_of(repo)
    for check_id in ("fuzz_verify", "contract_empty"):
        assert checks[check_id]["outcome"] == "skipped", (check_id, checks[check_id], result.stdout.str()[-3000:])
        assert "a sandbox provider ('sandbox': a top-level `sandbox:` block" in checks[check_id]["skip_reason"]


MULTI_REWARD_APP = FAKE_APP.replace("reward = 1.0 if", "reward = 2.0 if").replace(
    "else 0.0\n        return", "else (-100.0 if not texts else 0.0)\n        return"
)


def test_a_nemo_gym_server_declares_no_reward_range_so_rewards_beyond_0_to_1_are_its_own(repo):
    upstream_server(repo, MULTI_REWARD_APP)

    result = repo.run(*CI, subprocess=True)

    checks = checks_of(repo)
    for check_id in ("fuzz_verify", "contract_empty"):
        assert checks[check_id]["outcome"] == "passed", (check_id, result.stdout.str()[-3000:])


def test_a_declared_reward_range_still_binds_a_nemo_gym_server(repo):
    upstream_server(repo, MULTI_REWARD_APP, config_lines="      reward_range: [0.0, 1.0]\n")

    repo.run(*CI, subprocess=True)

    (problem, *_) = checks_of(repo)["fuzz_verify"]["problems"]
    assert "outside the declared reward_range [0.0, 1.0]" in problem["message"]


def test_a_setup_webserver_that_waits_for_ever_fails_import_at_the_startup_limit_and_the_rest_skip(repo):
    # As NeMo Gym 0.7.0's xstest does while its judge model server is not there: poll, sleep, poll.
    waiting = FAKE_APP.replace(
        "    def setup_webserver(self):\n",
        "    def setup_webserver(self):\n        import time\n        while True:\n            time.sleep(10)\n",
    )
    upstream_server(repo, waiting)

    started = time.monotonic()
    repo.run(*CI, "--gym-startup-timeout", "3", subprocess=True)

    checks = checks_of(repo)
    (problem, *_) = checks["import"]["problems"]
    assert "AlphaServer.setup_webserver()" in problem["message"]
    assert "--gym-startup-timeout" in problem["message"]
    assert checks["replay"]["skip_reason"].startswith("server could not be imported: ")
    assert time.monotonic() - started < 60
