"""`gym-conform check` and `pytest --gym-level static` run no code of the repository under test.

Every planted file writes a marker when it runs; the tests run the real commands in a repository full of
them and assert that no marker appears, with the exit code and message of each case.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.checks import build_server
from tests.conftest import BIN, run_script

SECRET = "hf_PLANTED_SECRET_31337"


def planted(path: Path, markers: Path, name: str) -> None:
    """Write Python code at `path` that leaves `markers/<name>` behind when it runs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"import pathlib\npathlib.Path({str(markers / name)!r}).write_text('ran')\n")


@pytest.fixture
def hostile(tmp_path: Path) -> tuple[Path, Path]:
    """A repository with one clean server and code planted everywhere pytest looks for code."""
    repo, markers = tmp_path / "repo", tmp_path / "markers"
    markers.mkdir()
    folder = build_server(repo, "alpha")
    for place in (repo, repo / "resources_servers", folder, folder / "tests"):
        planted(place / "conftest.py", markers, f"conftest-{place.relative_to(tmp_path).as_posix().replace('/', '-')}")
    planted(repo / "__init__.py", markers, "root-init")
    planted(repo / "resources_servers" / "__init__.py", markers, "servers-init")
    planted(folder / "__init__.py", markers, "folder-init")
    planted(folder / "app.py", markers, "app")
    (folder / "tests" / "test_app.py").write_text("from resources_servers.alpha import app  # noqa\n")
    planted(repo / "tests" / "test_repo.py", markers, "repo-test-module")
    (repo / "test_notes.txt").write_text(
        f">>> import pathlib; _ = pathlib.Path({str(markers / 'doctest')!r}).touch()\n"
    )
    return repo, markers


def ran(markers: Path) -> list[str]:
    return sorted(path.name for path in markers.iterdir())


def test_check_runs_no_conftest_test_module_package_or_doctest(hostile) -> None:
    repo, markers = hostile

    result = run_script("gym-conform", "check", "-rs", cwd=repo, env={"SECRET_TOKEN": SECRET})

    assert ran(markers) == [], result.output
    assert result.returncode == 0, result.output
    assert "resources_servers/alpha::config PASSED" in result.stdout or "passed" in result.stdout.splitlines()[-1]
    assert "gym-conform summary" in result.stdout


def test_check_runs_nothing_of_paths_named_on_the_command_line(hostile) -> None:
    repo, markers = hostile
    args = ("resources_servers/alpha", "tests/test_repo.py", "test_notes.txt", "-rs")

    result = run_script("gym-conform", "check", *args, cwd=repo)

    assert ran(markers) == [], result.output
    assert result.returncode == 0, result.output
    assert "tests/test_repo.py: not collected at --gym-level static (pytest would import or run it" in result.stdout


def test_plain_pytest_at_static_level_loads_no_conftest_and_imports_no_test_module(hostile) -> None:
    repo, markers = hostile

    result = run_script("pytest", "--gym-level", "static", "-p", "no:cacheprovider", ".", cwd=repo)

    assert ran(markers) == [], result.output
    assert result.returncode == 0, result.output


def test_plain_pytest_refuses_when_an_ini_plugin_of_the_repository_was_imported(hostile) -> None:
    """`python -m pytest` puts the work tree on sys.path, so an ini's `-p` plugin imports before the plugin can act."""
    repo, markers = hostile
    planted(repo / "evil_plugin.py", markers, "ini-plugin")
    (repo / "pytest.ini").write_text("[pytest]\naddopts = -p evil_plugin\n")
    command = [sys.executable, "-m", "pytest", "--gym-level", "static", "-p", "no:cacheprovider"]

    done = subprocess.run(command, cwd=repo, capture_output=True, text=True, timeout=120)

    assert done.returncode == 4, done.stdout + done.stderr
    assert ran(markers) == ["ini-plugin"]  # what pytest imported before any plugin hook, and the reason for:
    assert "pytest imported evil_plugin (evil_plugin.py) before gym-conform could stop it" in done.stderr
    assert "Run `gym-conform check` instead" in done.stderr
    assert not (repo / "reports").exists()

    guaranteed = run_script("gym-conform", "check", cwd=repo)
    assert guaranteed.returncode == 0, guaranteed.output
    assert ran(markers) == ["ini-plugin"]


def test_check_ignores_the_repository_ini_and_environment_plugins(hostile) -> None:
    repo, markers = hostile
    planted(repo / "evil_plugin.py", markers, "ini-plugin")
    (repo / "pytest.ini").write_text("[pytest]\naddopts = -p evil_plugin\npythonpath = .\n")

    result = run_script(
        "gym-conform", "check", cwd=repo, env={"PYTEST_ADDOPTS": "-p evil_plugin", "PYTEST_PLUGINS": "evil_plugin"}
    )

    assert ran(markers) == [], result.output
    assert result.returncode == 0, result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("-p", "evil"), "-p evil is refused: only gym-conform's plugin is loaded (-p no:NAME is fine)"),
        (("-pevil",), "-p evil is refused"),
        (("-c", "pytest.ini"), "-c is refused: an ini file of the repository can add plugins and options"),
        (("--rootdir=..",), "--rootdir is refused"),
        (("-o", "addopts=-pevil"), "-o addopts=-pevil is refused: only gym_* ini keys may be set"),
        (("--gym-level", "server"), "--gym-level server is refused: this command runs the static level only"),
        (("--doctest-modules",), "--doctest-modules is refused: it imports every Python module"),
        (("--gym-model-url", "http://127.0.0.1:9"), "--gym-model-url is refused: a live run is not a static one"),
    ],
)
def test_options_that_would_run_repository_code_are_refused(hostile, args, message) -> None:
    repo, markers = hostile

    result = run_script("gym-conform", "check", *args, cwd=repo)

    assert result.returncode == 2
    assert f"error: gym-conform check: {message}" in result.stderr
    assert "[check.refused_option]" in result.stderr and "Traceback" not in result.output
    assert ran(markers) == []


def test_check_with_xdist_and_reports(hostile) -> None:
    repo, markers = hostile
    reports = repo / "reports"
    reports.mkdir()
    args = ("-n", "2", "--gym-report", "reports/static.json", "--junitxml", "reports/static.xml")

    result = run_script("gym-conform", "check", *args, cwd=repo)

    assert result.returncode == 0, result.output
    assert ran(markers) == []
    report = json.loads((reports / "static.json").read_text())
    assert report["level"] == "static" and [s["folder"] for s in report["servers"]] == ["resources_servers/alpha"]
    assert (reports / "static.xml").is_file()


def test_a_symlink_to_the_process_environment_is_refused_and_no_secret_is_shown(hostile) -> None:
    repo, markers = hostile
    example = repo / "resources_servers" / "alpha" / "data" / "example.jsonl"
    example.unlink()
    example.symlink_to("/proc/self/environ")
    (repo / "reports").mkdir()

    result = run_script(
        "gym-conform", "check", "--gym-report", "reports/r.json", cwd=repo, env={"SECRET_TOKEN": SECRET}
    )

    assert result.returncode == 1
    assert "resources_servers/alpha/data/example.jsonl leads outside the repository (to /proc/" in result.stdout
    assert "[file.outside_repository]" in result.stdout
    assert SECRET not in result.output
    assert SECRET not in (repo / "reports" / "r.json").read_text()
    assert ran(markers) == []


def test_help(tmp_path: Path) -> None:
    result = run_script("gym-conform", "check", "--help", cwd=tmp_path)
    assert result.returncode == 0 and "untrusted pull" in result.stdout
    assert "check" in run_script("gym-conform", "--help", cwd=tmp_path).stdout
    assert os.access(BIN / "gym-conform", os.X_OK)
