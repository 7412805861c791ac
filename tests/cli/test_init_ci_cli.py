"""`gym-conform init-ci`: the GitHub workflow it writes is valid YAML with the two jobs, their trust and reports."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.conftest import run_script

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
    for flag in ("pytest -c /dev/null --rootdir . --noconftest", "--gym-level static", "-n auto --dist loadscope"):
        assert flag in run
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
        assert f"--gym-report reports/{name}.json --junitxml reports/{name}.xml" in command
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
