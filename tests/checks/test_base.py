"""Tests for the check registry, levels and the CheckFailed / CheckSkipped outcomes."""

from __future__ import annotations

import pytest

from gym_conform.checks import REGISTRY, Check, CheckFailed, CheckSkipped, Level, checks_for, register
from gym_conform.errors import GymConformError, Problem

STATIC_IDS = [
    "config",
    "license",
    "readme",
    "example_data",
    "example_metrics",
    "example_rollouts",
    "data_conflicts",
    "leakage",
    "task_data",
    "manifest",
]


def test_static_checks_are_registered_in_display_order():
    assert [check.id for check in REGISTRY if check.level == Level.STATIC] == STATIC_IDS


def test_checks_for_a_level_include_the_levels_below_it():
    assert [check.id for check in checks_for(Level.STATIC)] == STATIC_IDS
    assert all(check.level <= Level.SERVER for check in checks_for(Level.SERVER))
    assert len(checks_for(Level.LIVE)) == len(REGISTRY)


def test_register_refuses_a_duplicate_id():
    with pytest.raises(ValueError, match="'license' is already registered"):
        register(Check("license", Level.STATIC, "again", lambda ctx: None))


def test_register_refuses_an_id_that_would_make_an_awkward_node_id():
    with pytest.raises(ValueError, match="lower-case letters"):
        register(Check("Bad Id", Level.STATIC, "bad", lambda ctx: None))


@pytest.mark.parametrize("text, level", [("static", Level.STATIC), (" Server ", Level.SERVER), ("LIVE", Level.LIVE)])
def test_level_parse(text, level):
    assert Level.parse(text) is level
    assert level.label == text.strip().lower()


def test_level_parse_names_the_choices():
    with pytest.raises(ValueError, match="use one of: static, server, live"):
        Level.parse("fast")


def test_check_failed_carries_its_problems_and_renders_them():
    problem = Problem("x.y", "it is wrong", hint="fix it")
    failed = CheckFailed([problem], summary="1 thing")

    assert isinstance(failed, GymConformError)
    assert failed.code == "check.failed"
    assert failed.problems == [problem]
    assert "it is wrong [x.y]" in failed.render()
    assert failed.render().endswith("1 thing")


def test_check_failed_needs_a_problem():
    with pytest.raises(ValueError):
        CheckFailed([])


def test_check_skipped_keeps_its_reason():
    assert CheckSkipped("no file").reason == "no file"


def _server_code(tmp_path, body: str):
    """Return a check whose code calls a function defined in a server folder's own file (which raises)."""
    import importlib.util

    from gym_conform.checks.context import CheckSettings, FolderContext

    folder = tmp_path / "resources_servers" / "alpha"
    folder.mkdir(parents=True)
    (folder / "app.py").write_text(f"def verify():\n    {body}\n")
    spec = importlib.util.spec_from_file_location("alpha_app_under_test", folder / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    check = Check("calls_server", Level.SERVER, "calls the server", lambda ctx: module.verify())
    return check, FolderContext(folder, CheckSettings(level=Level.SERVER), root=tmp_path)


def test_an_exception_raised_in_the_servers_own_code_fails_at_its_line_not_as_a_gym_conform_bug(tmp_path):
    check, ctx = _server_code(tmp_path, "raise KeyError('synonym_values')")

    with pytest.raises(CheckFailed) as raised:
        check.run(ctx)

    problem = raised.value.problems[0]
    assert problem.code == "server.raised"
    assert problem.message == "the server's code raised KeyError: 'synonym_values'"
    assert (problem.location.path, problem.location.line) == ("resources_servers/alpha/app.py", 2)


def test_an_exception_naming_an_unreachable_host_skips_with_the_host(tmp_path):
    error = "ConnectionError(\"HTTPSConnectionPool(host='codeload.github.com', port=443): Max retries exceeded\")"
    check, ctx = _server_code(tmp_path, f"raise {error}")

    with pytest.raises(CheckSkipped, match=r"the outside service codeload\.github\.com:443, which this machine"):
        check.run(ctx)


def test_a_shell_git_clone_that_fails_skips_naming_the_repository(tmp_path):
    command = "'cd x && if [ ! -d V ]; then git clone https://github.com/open-compass/VLMEvalKit/; fi'"
    check, ctx = _server_code(tmp_path, f"import subprocess; raise subprocess.CalledProcessError(128, {command})")

    with pytest.raises(CheckSkipped, match=r"https://github\.com/open-compass/VLMEvalKit/"):
        check.run(ctx)


def test_an_exception_outside_the_servers_code_stays_a_crash_of_the_check(tmp_path):
    _, ctx = _server_code(tmp_path, "pass")

    def broken(ctx):
        raise RuntimeError("a bug in the check itself")

    with pytest.raises(RuntimeError, match="a bug in the check itself"):
        Check("broken", Level.SERVER, "a broken check", broken).run(ctx)
