"""A server that exits, crashes, hangs or eats memory fails its own checks; the session and the other servers go on.

Each server folder gets one fault planted in app.py (at import, or at the top of verify), next to a
conforming `resources_servers/beta`; pytest runs in a subprocess. The summary table and the JSON report
must be written, beta must pass, and each faulty server's failure must say what happened and where.
"""

from __future__ import annotations

import json

import pytest

from tests.checks.server_apps import app
from tests.pytest_plugin.conftest import match_lines

CI = ("--gym-hypothesis-profile", "gym-conform-ci", "--gym-report", "report.json")
FAST = ("--gym-startup-timeout", "8", "--gym-request-timeout", "3")
SEGFAULT = "import ctypes; ctypes.string_at(0)"
HANG = "while True: pass"  # one line: wherever the stack dump catches the loop, it names this line
EATER = "hog = []\nwhile True:\n    hog.append(bytearray(50_000_000))"
SERVER_CHECKS = ("import", "row_fields", "replay", "fuzz_rows", "fuzz_verify", "contract_empty", "contract_gold")
BOXED = 'reward = 1.0 if text.strip() == "\\\\boxed{" + body.expected_answer + "}" else 0.0'


def plant(repo, name: str, *, at_import: str = "", in_verify: str = "", own_tests: bool = True) -> None:
    """Create `name` with `at_import` at module level of app.py and `in_verify` at the top of verify, and tests/."""
    folder = repo.server(name)
    (folder / "app.py").write_text(at_import + "\n" + app((in_verify + "\n" if in_verify else "") + BOXED))
    if not own_tests:
        return
    (folder / "tests").mkdir()
    own_test = f"from resources_servers.{name}.app import AlphaServer\n\n\ndef test_it():\n    assert AlphaServer\n"
    (folder / "tests" / f"test_{name}.py").write_text(own_test)


def outcomes(repo) -> dict[str, dict[str, dict]]:
    """Return each server's checks by id from the JSON report."""
    report = json.loads((repo.path / "report.json").read_text())
    return {server["folder"].split("/")[-1]: {c["id"]: c for c in server["checks"]} for server in report["servers"]}


def assert_passes(checks: dict[str, dict]) -> None:
    assert {c: checks[c]["outcome"] for c in SERVER_CHECKS} == dict.fromkeys(SERVER_CHECKS, "passed")


def only_problem(check: dict) -> dict:
    (problem,) = check["problems"]
    return problem


IMPORT_FAULTS = {
    "exits": ("import sys; sys.exit(3)", "server.exit", "raised SystemExit: 3"),
    "quits": ("import os; os._exit(7)", "server.crashed", "exited with code 7 during the import of app.py"),
    "segfaults": (SEGFAULT, "server.crashed", "was killed by SIGSEGV during the import of app.py"),
    "hangs": (HANG, "server.hang", "did not finish within 8 s (--gym-startup-timeout) during the import of app.py"),
}


def test_a_fault_at_import_fails_import_and_skips_the_rest_of_that_server_only(repo):
    for name, (fault, _, _) in IMPORT_FAULTS.items():
        plant(repo, name, at_import=fault)
    plant(repo, "beta")

    result = repo.run(*CI, *FAST, subprocess=True)

    checks = outcomes(repo)
    for name, (_, code, words) in IMPORT_FAULTS.items():
        problem = only_problem(checks[name]["import"])
        assert (name, problem["code"]) == (name, code)
        assert words in problem["message"]
        assert problem["path"] == f"resources_servers/{name}/app.py"
        if name != "quits":
            # Where it happened: the traceback (sys.exit) or the stacks faulthandler dumped (segfault, hang).
            assert problem["line"] == 1
        for check_id in SERVER_CHECKS[1:]:
            assert checks[name][check_id]["skip_reason"].startswith("server could not be imported")
        # The folder's own tests were not imported into the session: one failing item says why.
        match_lines(result, f"FAILED resources_servers/{name}::tests - its tests were not collected*")
    assert_passes(checks["beta"])
    match_lines(result, "*gym-conform summary*", "*resources_servers/beta*pass*")
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    match_lines(result, "resources_servers/beta/tests/test_beta.py .*")  # beta's own test ran
    assert result.ret == 1


VERIFY_FAULTS = {
    "quits": ("import os; os._exit(5)", "server.crashed", "exited with code 5 during POST /verify"),
    "segfaults": (SEGFAULT, "server.crashed", "was killed by SIGSEGV during POST /verify"),
    "hangs": (HANG, "server.hang", "did not finish within 3 s (--gym-request-timeout) during POST /verify"),
    "exits": ("import sys; sys.exit(2)", "server.exit", "raised sys.exit(2) during the replay check"),
}


def test_a_fault_in_verify_fails_each_check_that_hits_it_and_every_check_gets_a_new_server(repo):
    for name, (fault, _, _) in VERIFY_FAULTS.items():
        plant(repo, name, in_verify=fault)
    plant(repo, "beta")

    result = repo.run(*CI, *FAST, subprocess=True)

    checks = outcomes(repo)
    for name, (_, code, words) in VERIFY_FAULTS.items():
        assert checks[name]["import"]["outcome"] == "passed"
        problem = only_problem(checks[name]["replay"])
        assert (name, problem["code"]) == (name, code)
        assert words in problem["message"]
        if code != "server.exit":
            # The request in flight, as a JSON line to paste into a test.
            assert "expected_answer" in json.loads(problem["message"].split("reproduce): ", 1)[1])
        if name != "quits":
            assert (problem["path"], problem["field"]) == (f"resources_servers/{name}/app.py", "verify")
        # A later check ran in a new process (and hit the fault again) rather than being skipped.
        assert checks[name]["contract_empty"]["outcome"] == "failed"
    assert_passes(checks["beta"])
    match_lines(result, "*gym-conform summary*")
    assert result.ret == 1


def test_runaway_memory_at_import_is_a_memory_error_of_that_server(repo):
    plant(repo, "eats", at_import=EATER, own_tests=False)
    plant(repo, "beta", own_tests=False)

    # A generous time limit: filling 1.5 GB takes a while on a loaded machine, and this is about memory.
    repo.run(*CI, "--gym-startup-timeout", "120", "--gym-server-memory", "1500", subprocess=True)

    checks = outcomes(repo)
    problem = only_problem(checks["eats"]["import"])
    assert "MemoryError" in problem["message"]
    assert (problem["path"], problem["line"]) == ("resources_servers/eats/app.py", 3)
    assert_passes(checks["beta"])


@pytest.mark.parametrize("mode", ["in-process", "child"])
def test_a_conforming_server_passes_in_either_mode(repo, mode):
    plant(repo, "beta", own_tests=False)

    result = repo.run(*CI, "--gym-server-mode", mode)

    assert_passes(outcomes(repo)["beta"])
    assert result.ret == 0
