"""`ng_init_resources_server` end to end: a new folder passes the whole conformance suite from its first run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from tests.conftest import BIN, CliResult, run_script

NAME = "capital_quiz"
ENTRYPOINT = f"resources_servers/{NAME}"
PLUGIN_MODULE = "gym_conform.pytest_plugin.plugin"
SUITE_CHECKS = (
    "config",
    "license",
    "readme",
    "example_data",
    "example_metrics",
    "example_rollouts",
    "data_conflicts",
    "import",
    "row_fields",
    "replay",
    "verifier_cases",
    "fuzz_rows",
    "fuzz_verify",
    "contract_empty",
    "contract_gold",
)


def init(*args: str, cwd: Path) -> CliResult:
    """Run ng_init_resources_server as a user would (the module when the script is not installed yet)."""
    script = BIN / "ng_init_resources_server"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "gym_conform.cli.init_resources_server"]
    env = {k: v for k, v in os.environ.items() if k != "GYM_CONFORM_TRACEBACK"}
    proc = subprocess.run(command + list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def conformance(root: Path, folder: Path, report: Path) -> tuple[CliResult, dict[str, dict]]:
    """Run pytest with the gym-conform plugin on `folder`; return the run and each check's report entry."""
    registered = any(ep.value == PLUGIN_MODULE for ep in entry_points(group="pytest11"))
    plugin = [] if registered else ["-p", PLUGIN_MODULE]
    command = [
        sys.executable,
        "-m",
        "pytest",
        *plugin,
        "-p",
        "no:cacheprovider",
        str(folder),
        "--gym-report",
        str(report),
    ]
    proc = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=600)
    result = CliResult(proc.returncode, proc.stdout, proc.stderr)
    document = json.loads(report.read_text(encoding="utf-8"))
    (server,) = document["servers"]
    return result, {check["id"]: check for check in server["checks"]}


@pytest.fixture
def scaffolded(tmp_path: Path) -> Path:
    """A repo root in which `ng_init_resources_server` created resources_servers/capital_quiz."""
    result = init(f"+entrypoint={ENTRYPOINT}", cwd=tmp_path)
    assert result.returncode == 0, result.output
    return tmp_path


def test_help_states_the_name_rule(tmp_path: Path) -> None:
    result = init("--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "+entrypoint=... (required)" in result.stdout
    assert "lowercase Python identifier" in result.stdout
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["+entrypoint=resources_servers/my-env"], "use +entrypoint=resources_servers/my_env"),
        (["+entrypoint=resources_servers/Class"], "lowercase Python identifier"),
        (["+entrypoint=my_env"], "does not name a folder resources_servers/NAME"),
        ([], "missing required configuration: entrypoint"),
        ([f"+entrypoint={ENTRYPOINT}", "+domain=maths"], "bad value for domain"),
        ([f"+entrypoint={ENTRYPOINT}", "+domian=math"], "did you mean +domain=...?"),
        (["entrypoint=resources_servers/x"], "to add it, write +entrypoint="),
    ],
)
def test_bad_command_lines_are_usage_errors_and_write_nothing(tmp_path: Path, args: list[str], expected: str) -> None:
    result = init(*args, cwd=tmp_path)
    assert result.returncode == 2, result.output
    assert expected in result.stderr
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_init_creates_the_folder_and_says_what_is_next(scaffolded: Path) -> None:
    folder = scaffolded / ENTRYPOINT
    assert (folder / "app.py").is_file() and (folder / "tests" / "verifier_cases.jsonl").is_file()
    assert sorted(p.name for p in (scaffolded / "resources_servers").iterdir()) == [NAME]


def test_domain_option_reaches_the_config(tmp_path: Path) -> None:
    result = init(f"+entrypoint={ENTRYPOINT}", "+domain=knowledge", cwd=tmp_path)
    assert result.returncode == 0, result.output
    assert "domain: knowledge" in (tmp_path / ENTRYPOINT / "configs" / f"{NAME}.yaml").read_text(encoding="utf-8")


def test_second_init_is_refused(scaffolded: Path) -> None:
    app = scaffolded / ENTRYPOINT / "app.py"
    app.write_text("# my work\n", encoding="utf-8")
    result = init(f"+entrypoint={ENTRYPOINT}", cwd=scaffolded)
    assert result.returncode == 1
    assert f"Folder already exists: {scaffolded / ENTRYPOINT}. Nothing was written." in result.stderr
    assert app.read_text(encoding="utf-8") == "# my work\n"


def prepare_examples(root: Path) -> CliResult:
    return run_script(
        "ng_prepare_data",
        f"+config_paths=[{ENTRYPOINT}/configs/{NAME}.yaml]",
        "+output_dirpath=data/out",
        "+mode=example_validation",
        cwd=root,
    )


def test_ng_prepare_data_example_validation_passes(scaffolded: Path) -> None:
    metrics = scaffolded / ENTRYPOINT / "data" / "example_metrics.json"
    committed = metrics.read_bytes()
    result = prepare_examples(scaffolded)
    assert result.returncode == 0, result.output
    assert "Finished!" in result.stdout
    assert "already up to date" in result.stdout
    assert metrics.read_bytes() == committed
    assert not list(metrics.parent.glob("*conflict*"))


def test_example_metrics_are_byte_identical_to_what_ng_prepare_data_writes(scaffolded: Path) -> None:
    metrics = scaffolded / ENTRYPOINT / "data" / "example_metrics.json"
    scaffolded_bytes = metrics.read_bytes()
    metrics.unlink()
    result = prepare_examples(scaffolded)
    assert result.returncode == 0, result.output
    assert metrics.read_bytes() == scaffolded_bytes


def test_new_folder_passes_every_conformance_check(scaffolded: Path) -> None:
    result, checks = conformance(scaffolded, scaffolded / ENTRYPOINT, scaffolded / "report.json")
    assert result.returncode == 0, result.output
    assert set(SUITE_CHECKS) <= set(checks)
    # Some checks have nothing to run on yet: leakage is strict (and compares the examples with validation and
    # train data, which a new folder does not have), the new folder offers no tool to fuzz and asks no judge;
    # live checks (which need a model and --gym-level live) get no item at the default level.
    assert checks.pop("leakage")["skip_reason"].startswith(("strict check", "no validation data present locally"))
    assert checks.pop("fuzz_tools")["skip_reason"] == "no example row offers a function tool"
    assert checks.pop("judge_failures")["skip_reason"] == "the server's config block names no judge_model_server"
    # A resources server needs no manifest.yaml (0.7.0 reads those of environments and benchmarks).
    assert checks.pop("manifest")["skip_reason"].startswith("no manifest.yaml")
    assert {c["level"] for c in checks.values()} == {"static", "server"}
    not_passed = {
        cid: (c["outcome"], c["skip_reason"], c["problems"]) for cid, c in checks.items() if c["outcome"] != "passed"
    }
    assert not_passed == {}
    # The folder's own tests ran too.
    assert "tests/test_app.py ......." in result.stdout


def test_removing_the_train_license_fails_the_license_check(scaffolded: Path) -> None:
    config = scaffolded / ENTRYPOINT / "configs" / f"{NAME}.yaml"
    text = config.read_text(encoding="utf-8")
    train = text.index("- name: train")
    license_line = text.index("        license: Apache 2.0\n", train)
    config.write_text(
        text[:license_line] + text[license_line + len("        license: Apache 2.0\n") :], encoding="utf-8"
    )
    result, checks = conformance(scaffolded, scaffolded / ENTRYPOINT, scaffolded / "report.json")
    assert result.returncode == 1, result.output
    assert checks["license"]["outcome"] == "failed"
    messages = [problem["message"] for problem in checks["license"]["problems"]]
    assert any("A license is required" in message for message in messages), messages
    assert "A license is required" in result.stdout
    assert checks["example_data"]["outcome"] == "passed"


def test_breaking_a_row_fails_the_example_data_check_naming_the_line(scaffolded: Path) -> None:
    example = scaffolded / ENTRYPOINT / "data" / "example.jsonl"
    rows = example.read_text(encoding="utf-8").splitlines()
    broken = json.loads(rows[2])
    del broken["responses_create_params"]
    rows[2] = json.dumps(broken)
    example.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result, checks = conformance(scaffolded, scaffolded / ENTRYPOINT, scaffolded / "report.json")
    assert result.returncode == 1, result.output
    assert checks["example_data"]["outcome"] == "failed"
    assert [problem["line"] for problem in checks["example_data"]["problems"]] == [3]
    assert "example.jsonl:3" in result.stdout
    assert checks["license"]["outcome"] == "passed"
