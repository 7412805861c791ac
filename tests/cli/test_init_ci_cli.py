"""`gym-conform init-ci`: the GitHub workflow it writes is valid YAML with the two jobs, their trust and reports."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import yaml

from tests.checks import build_server
from tests.conftest import BIN, run_script

WORKFLOW = Path(".github/workflows/gym-conform.yml")


def steps_running(job: dict) -> list[str]:
    return [step["run"] for step in job["steps"] if "run" in step]


def uploads(job: dict) -> list[dict]:
    return [step["with"] for step in job["steps"] if step.get("uses", "").startswith("actions/upload-artifact@")]


def test_the_workflow_has_a_static_job_for_every_pr_and_a_server_job_for_trusted_code(tmp_path: Path) -> None:
    result = run_script("gym-conform", "init-ci", "+install=gym-conform==0.1.0", '+python="3.11"', cwd=tmp_path)

    assert result.returncode == 0, result.output
    assert f"Wrote {WORKFLOW}" in result.stdout
    text = (tmp_path / WORKFLOW).read_text()
    workflow = yaml.safe_load(text)
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert set(triggers) == {"pull_request", "push", "workflow_dispatch"}
    assert triggers["push"] == {"branches": ["main"]}
    assert workflow["permissions"] == {"contents": "read"}
    jobs = workflow["jobs"]
    assert set(jobs) == {"static", "server"}

    static, server = jobs["static"], jobs["server"]
    assert "if" not in static  # every pull request, forks included
    (install, run) = steps_running(static)
    assert install == 'python -m pip install "gym-conform==0.1.0" pytest-xdist'  # nothing of the pull request
    assert "pip install -e" not in run and "requirements" not in run
    assert "gym-conform check -n auto --dist loadscope resources_servers" in run  # the guaranteed static entry
    assert "pytest" not in run.replace("pytest-xdist", "")
    assert "secrets." not in yaml.safe_dump(static)
    assert all(
        step["with"]["persist-credentials"] is False for step in static["steps"] if "checkout" in step.get("uses", "")
    )

    assert server["needs"] == "static"
    assert server["if"] == (
        "github.event_name != 'pull_request' || github.event.pull_request.head.repo.full_name == github.repository"
    )
    assert "--gym-level server" in steps_running(server)[-1]
    for job, name in ((static, "static"), (server, "server")):
        command = steps_running(job)[-1]
        assert (
            f"--gym-report reports/{name}.json --junitxml reports/{name}.xml --gym-html reports/{name}.html" in command
        )
        assert '--gym-changed-since "origin/$BASE_REF"' in command  # on pull requests only
        assert job["steps"][-1 - len(uploads(job)) + 1 :]  # the upload is the last step
        (upload,) = uploads(job)
        assert upload["name"] == f"gym-conform-reports-{name}" and upload["path"] == "reports/"
        assert job["steps"][-1]["if"] == "always()"
        step = next(step for step in job["steps"] if step.get("run") == command)
        assert step["env"] == {"EVENT": "${{ github.event_name }}", "BASE_REF": "${{ github.base_ref }}"}
        assert "${{" not in command  # event data reaches the script as environment variables only
        assert next(s for s in job["steps"] if "setup-python" in s.get("uses", ""))["with"]["python-version"] == "3.11"


def test_an_existing_workflow_is_kept_unless_overwrite(tmp_path: Path) -> None:
    target = tmp_path / WORKFLOW
    target.parent.mkdir(parents=True)
    target.write_text("mine\n")

    refused = run_script("gym-conform", "init-ci", cwd=tmp_path)

    assert refused.returncode == 1
    assert f"error: {WORKFLOW} exists; not replacing it" in refused.stderr
    assert "hint: pass +overwrite=true" in refused.stderr
    assert target.read_text() == "mine\n"
    replaced = run_script("gym-conform", "init-ci", "+overwrite=true", "+output=" + str(WORKFLOW), cwd=tmp_path)
    assert replaced.returncode == 0, replaced.output
    assert set(yaml.safe_load(target.read_text())["jobs"]) == {"static", "server"}


def test_help_and_the_command_list(tmp_path: Path) -> None:
    assert "init-ci" in run_script("gym-conform", "--help", cwd=tmp_path).stdout
    result = run_script("gym-conform", "init-ci", "--help", cwd=tmp_path)
    assert result.returncode == 0 and "+overwrite" in result.stdout
    bad = run_script("gym-conform", "init-ci", "+colour=blue", cwd=tmp_path)
    assert bad.returncode == 2 and "colour" in bad.stderr


def test_the_static_job_script_checks_only_the_changed_server_of_a_pull_request(tmp_path: Path) -> None:
    """Run the static job's own script, as the runner would, in a clone whose branch changes one server."""
    upstream = tmp_path / "upstream"
    for name in ("alpha", "beta"):
        build_server(upstream, name)
    git(upstream, "init", "-q", "-b", "main")
    git(upstream, "add", "-A")
    git(upstream, "commit", "-q", "-m", "servers")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(upstream), str(clone))
    git(clone, "checkout", "-q", "-b", "pr")
    readme = clone / "resources_servers" / "beta" / "README.md"
    readme.write_text(readme.read_text() + "\nMore words.\n")
    git(clone, "commit", "-q", "-am", "beta: README")
    assert run_script("gym-conform", "init-ci", cwd=clone).returncode == 0
    static = yaml.safe_load((clone / WORKFLOW).read_text())["jobs"]["static"]
    step = next(step for step in static["steps"] if step.get("name", "").startswith("Static checks"))

    env = {**os.environ, "EVENT": "pull_request", "BASE_REF": "main", "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=clone, env=env, capture_output=True, text=True)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 of 2 server(s) selected" in done.stdout
    report = json.loads((clone / "reports" / "static.json").read_text())
    assert [server["folder"] for server in report["servers"]] == ["resources_servers/beta"]
    assert report["level"] == "static" and report["summary"]["failed"] == 0
    assert report["changed_since"]["ref"] == "origin/main"
    assert {p.name for p in (clone / "reports").iterdir()} == {"static.json", "static.xml", "static.html"}


def git(cwd: Path, *args: str) -> None:
    identity = ("-c", "user.name=t", "-c", "user.email=t@example.com")
    subprocess.run(["git", *identity, "-C", str(cwd), *args], check=True, capture_output=True)
