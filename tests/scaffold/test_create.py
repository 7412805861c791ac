"""scaffold_resources_server: names, the file set, computed data, and all-or-nothing creation."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from gym_conform.agent import read_rollouts
from gym_conform.core.config.loader import NO_MODEL_DEFAULTS, load_config
from gym_conform.core.config.schema import parse_server_instances
from gym_conform.core.task_data import load_task_schema
from gym_conform.scaffold import (
    ScaffoldError,
    check_name,
    class_prefix,
    folder_from_entrypoint,
    scaffold_resources_server,
    suggest_name,
)
from gym_conform.scaffold import create as create_module
from gym_conform.server import load_server_folder

EXPECTED_FILES = [
    "README.md",
    "__init__.py",
    "app.py",
    "configs/my_env.yaml",
    "data/.gitignore",
    "data/example.jsonl",
    "data/example_metrics.json",
    "data/example_rollouts.jsonl",
    "task_data.py",
    "tests/__init__.py",
    "tests/test_app.py",
    "tests/verifier_cases.jsonl",
]


@pytest.fixture(scope="module")
def scaffolded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One scaffolded folder shared by the read-only tests: <root>/resources_servers/my_env."""
    root = tmp_path_factory.mktemp("repo")
    return scaffold_resources_server(root / "resources_servers" / "my_env").folder


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


@pytest.mark.parametrize("name", ["my_env", "a", "env2", "math_with_judge", "x_1_y"])
def test_valid_names_pass(name: str) -> None:
    check_name(name)


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("my-env", "my_env"),
        ("MyEnv", "myenv"),
        ("2fast", "fast"),
        ("_private", "private"),
        ("class", "class_env"),
        ("my.env", "my_env"),
        ("", "my_env"),
        ("ünïcode", "n_code"),
    ],
)
def test_invalid_names_are_refused_with_the_rule_and_a_valid_suggestion(name: str, suggestion: str) -> None:
    with pytest.raises(ScaffoldError) as caught:
        check_name(name)
    assert caught.value.code == "scaffold.name"
    assert "lowercase Python identifier" in caught.value.message
    assert caught.value.hint == f"use +entrypoint=resources_servers/{suggestion}"
    check_name(suggest_name(name))


def test_class_prefix_follows_nemo_gym() -> None:
    assert class_prefix("my_weather_tool") == "MyWeatherTool"
    assert class_prefix("env2") == "Env2"
    assert class_prefix("a__b") == "AB"


@pytest.mark.parametrize(
    "entrypoint", ["resources_servers/my_env", "resources_servers/my_env/", "/r/resources_servers/my_env"]
)
def test_entrypoint_names_a_folder_under_resources_servers(entrypoint: str) -> None:
    assert folder_from_entrypoint(entrypoint).name == "my_env"


@pytest.mark.parametrize("entrypoint", ["my_env", "servers/my_env", "resources_servers", ""])
def test_other_entrypoints_are_refused(entrypoint: str) -> None:
    with pytest.raises(ScaffoldError) as caught:
        folder_from_entrypoint(entrypoint)
    assert caught.value.code == "scaffold.entrypoint"
    assert "+entrypoint=resources_servers/" in caught.value.hint


def test_entrypoint_with_a_bad_name_is_refused() -> None:
    with pytest.raises(ScaffoldError) as caught:
        folder_from_entrypoint("resources_servers/My-Env")
    assert caught.value.code == "scaffold.name"


def test_writes_the_whole_file_set(scaffolded: Path) -> None:
    written = sorted(p.relative_to(scaffolded).as_posix() for p in scaffolded.rglob("*") if p.is_file())
    assert written == EXPECTED_FILES
    assert leftovers(scaffolded.parent) == ["my_env"]


def test_data_gitignore_holds_nemo_gyms_five_patterns(scaffolded: Path) -> None:
    patterns = (scaffolded / "data" / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert patterns == [
        "*train.jsonl",
        "*validation.jsonl",
        "*train_prepare.jsonl",
        "*validation_prepare.jsonl",
        "*example_prepare.jsonl",
    ]


def test_config_puts_a_commented_resources_block_first(scaffolded: Path) -> None:
    text = (scaffolded / "configs" / "my_env.yaml").read_text(encoding="utf-8")
    config = yaml.safe_load(text)
    assert list(config) == ["my_env_resources_server", "my_env_simple_agent"]
    block = config["my_env_resources_server"]["resources_servers"]["my_env"]
    assert block["domain"] == "other"
    assert block["verified"] is False
    assert block["reward_range"] == [0.0, 1.0]
    assert block["description"] and block["value"]
    for key in ("domain", "verified", "description", "reward_range"):
        line_index = next(i for i, line in enumerate(text.splitlines()) if line.strip().startswith(f"{key}:"))
        around = text.splitlines()[line_index - 1 : line_index + 1]
        assert any("#" in line for line in around), key


def test_config_declares_licensed_datasets_and_the_agent(scaffolded: Path) -> None:
    agent = yaml.safe_load((scaffolded / "configs" / "my_env.yaml").read_text(encoding="utf-8"))
    simple = agent["my_env_simple_agent"]["responses_api_agents"]["simple_agent"]
    assert simple["resources_server"] == {"type": "resources_servers", "name": "my_env_resources_server"}
    assert simple["model_server"] == {"type": "responses_api_models", "name": "policy_model"}
    by_type = {d["type"]: d for d in simple["datasets"]}
    assert set(by_type) == {"train", "validation", "example"}
    for kind in ("train", "validation", "example"):
        assert by_type[kind]["jsonl_fpath"] == f"resources_servers/my_env/data/{kind}.jsonl"
    assert by_type["train"]["license"] == by_type["validation"]["license"] == "Apache 2.0"


def test_config_passes_the_schema_checks(scaffolded: Path) -> None:
    cfg = load_config({"config_paths": [str(scaffolded / "configs" / "my_env.yaml")]}, initial=NO_MODEL_DEFAULTS)
    names = [instance.name for instance in parse_server_instances(cfg)]
    assert "my_env_resources_server" in names and "my_env_simple_agent" in names


def test_domain_is_written_to_the_config(tmp_path: Path) -> None:
    folder = scaffold_resources_server(tmp_path / "resources_servers" / "mathy", domain="math").folder
    block = yaml.safe_load((folder / "configs" / "mathy.yaml").read_text(encoding="utf-8"))
    assert block["mathy_resources_server"]["resources_servers"]["mathy"]["domain"] == "math"


def test_unknown_domain_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    with pytest.raises(ScaffoldError) as caught:
        scaffold_resources_server(tmp_path / "resources_servers" / "x", domain="maths")
    assert caught.value.code == "scaffold.domain"
    assert "math, coding" in caught.value.hint
    assert leftovers(tmp_path) == []


def test_readme_has_every_section_and_placeholders(scaffolded: Path) -> None:
    text = (scaffolded / "README.md").read_text(encoding="utf-8")
    headings = [line for line in text.splitlines() if line.startswith("# ")]
    assert headings == ["# Description", "# Data", "# Reward", "# Example usage", "# Licensing information"]
    assert "`expected_answer`" in text and "TODO(you):" in text
    assert "+mode=example_validation" in text and "pytest resources_servers/my_env" in text
    assert "{{" not in text


def test_example_rows_are_five_valid_rows(scaffolded: Path) -> None:
    rows = lines(scaffolded / "data" / "example.jsonl")
    assert len(rows) == 5
    for row in rows:
        roles = [message["role"] for message in row["responses_create_params"]["input"]]
        assert roles == ["system", "user"]
        assert isinstance(row["expected_answer"], str) and row["expected_answer"]


def test_example_metrics_count_the_five_rows(scaffolded: Path) -> None:
    document = json.loads((scaffolded / "data" / "example_metrics.json").read_text(encoding="utf-8"))
    assert document["name"] == "example"
    assert document["jsonl_fpath"] == "resources_servers/my_env/data/example.jsonl"
    assert document["Number of examples"] == 5
    assert document["expected_answer"] == {"unique_count": 5, "total_count": 5}


def test_example_rollouts_hold_real_rewards_from_the_generated_server(scaffolded: Path) -> None:
    records = read_rollouts(scaffolded / "data" / "example_rollouts.jsonl")
    rows = lines(scaffolded / "data" / "example.jsonl")
    assert len(records) == 5
    rewards = [record.data["reward"] for record in records]
    assert 1.0 in rewards and 0.0 in rewards
    for index, (record, row) in enumerate(zip(records, rows, strict=True)):
        assert record.data["expected_answer"] == row["expected_answer"]
        assert record.data["_ng_task_index"] == index
        assert record.data["agent_ref"] == {"type": "responses_api_agents", "name": "my_env_simple_agent"}
        assert record.data["response"]["output"][-1]["type"] == "message"


def test_verifier_cases_follow_nemo_gyms_schema(scaffolded: Path) -> None:
    cases = lines(scaffolded / "tests" / "verifier_cases.jsonl")
    assert {"full_reward", "zero_reward", "malformed"} <= {case["kind"] for case in cases}
    for case in cases:
        assert set(case) == {
            "name",
            "kind",
            "request",
            "expected_error" if case["kind"] == "malformed" else "expected_reward",
        }
        assert case["request"]["responses_create_params"]["input"]
    assert [c["expected_error"] for c in cases if c["kind"] == "malformed"] == ["response"]


async def _verify(folder: Path, request: dict) -> float:
    loaded = load_server_folder(folder)
    model = loaded.server.verify_request_model()
    return (await loaded.server.verify(model.model_validate(request))).reward


def test_verifier_cases_score_what_they_expect(scaffolded: Path) -> None:
    for case in lines(scaffolded / "tests" / "verifier_cases.jsonl"):
        if case["kind"] == "malformed":
            with pytest.raises(Exception, match=case["expected_error"]):
                asyncio.run(_verify(scaffolded, case["request"]))
        else:
            assert asyncio.run(_verify(scaffolded, case["request"])) == case["expected_reward"], case["name"]


def test_generated_tests_pass(scaffolded: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(scaffolded / "tests")],
        cwd=scaffolded.parents[1],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "7 passed" in proc.stdout


def test_generated_tests_fail_when_verify_is_broken(tmp_path: Path) -> None:
    folder = scaffold_resources_server(tmp_path / "resources_servers" / "broken").folder
    app = folder / "app.py"
    app.write_text(app.read_text(encoding="utf-8").replace("reward = 1.0 if", "reward = 0.5 if"), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder / "tests")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAILED" in proc.stdout and "test_right_answer_scores_one" in proc.stdout


def test_scaffolds_are_reproducible(scaffolded: Path, tmp_path: Path) -> None:
    again = scaffold_resources_server(tmp_path / "resources_servers" / "my_env").folder
    for relative in EXPECTED_FILES:
        assert (again / relative).read_bytes() == (scaffolded / relative).read_bytes(), relative


def test_existing_folder_is_refused_and_left_alone(tmp_path: Path) -> None:
    target = tmp_path / "resources_servers" / "my_env"
    target.mkdir(parents=True)
    (target / "mine.txt").write_text("keep", encoding="utf-8")
    with pytest.raises(ScaffoldError) as caught:
        scaffold_resources_server(target)
    assert caught.value.code == "scaffold.exists"
    assert caught.value.message == f"Folder already exists: {target}. Nothing was written."
    assert leftovers(target) == ["mine.txt"]
    assert leftovers(target.parent) == ["my_env"]


def test_existing_empty_folder_and_file_are_refused_too(tmp_path: Path) -> None:
    (tmp_path / "resources_servers" / "empty").mkdir(parents=True)
    (tmp_path / "resources_servers" / "afile").write_text("", encoding="utf-8")
    for name in ("empty", "afile"):
        with pytest.raises(ScaffoldError):
            scaffold_resources_server(tmp_path / "resources_servers" / name)
    assert leftovers(tmp_path / "resources_servers") == ["afile", "empty"]
    assert leftovers(tmp_path / "resources_servers" / "empty") == []


def test_second_scaffold_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "resources_servers" / "twice"
    scaffold_resources_server(target)
    before = {p: p.read_bytes() for p in target.rglob("*") if p.is_file()}
    with pytest.raises(ScaffoldError, match="Folder already exists"):
        scaffold_resources_server(target)
    assert {p: p.read_bytes() for p in target.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize("step", ["_example_metrics", "_reference_rollouts"])
@pytest.mark.parametrize("raised", [KeyboardInterrupt, RuntimeError])
def test_interrupted_scaffold_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str, raised: type[BaseException]
) -> None:
    def interrupt(*args: object) -> None:
        raise raised("stopped midway")

    monkeypatch.setattr(create_module, step, interrupt)
    path_before = list(sys.path)
    with pytest.raises(raised):
        scaffold_resources_server(tmp_path / "resources_servers" / "my_env")
    # The parent folder was created for this scaffold, so it goes too.
    assert leftovers(tmp_path) == []
    assert sys.path == path_before


def test_interrupt_keeps_an_existing_parent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parent = tmp_path / "resources_servers"
    (parent / "other").mkdir(parents=True)

    def interrupt(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(create_module, "_reference_rollouts", interrupt)
    with pytest.raises(KeyboardInterrupt):
        scaffold_resources_server(parent / "my_env")
    assert leftovers(parent) == ["other"]


def test_folder_appearing_during_the_build_is_not_replaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "resources_servers" / "raced"
    real_build = create_module._build

    def build_while_someone_creates_it(staged: Path, domain: object) -> list[str]:
        files = real_build(staged, domain)
        target.mkdir()
        return files

    monkeypatch.setattr(create_module, "_build", build_while_someone_creates_it)
    with pytest.raises(ScaffoldError, match="Folder already exists"):
        scaffold_resources_server(target)
    assert leftovers(target.parent) == ["raced"]
    assert leftovers(target) == []


def test_loading_the_staged_server_leaves_imports_as_they_were(tmp_path: Path) -> None:
    path_before = list(sys.path)
    scaffold_resources_server(tmp_path / "resources_servers" / "clean")
    assert sys.path == path_before
    stale = [
        name
        for name, module in list(sys.modules.items())
        if ".scaffold-tmp" in (getattr(module, "__file__", None) or "")
    ]
    assert stale == []
    assert not any(".scaffold-tmp" in entry for entry in os.listdir(tmp_path / "resources_servers"))


def test_the_row_schema_accepts_every_example_row_and_names_the_gold_field(scaffolded: Path) -> None:
    schema = load_task_schema(scaffolded)
    assert not schema.unchecked  # read in full without running the folder's code
    rows = [json.loads(line) for line in (scaffolded / "data" / "example.jsonl").read_text().splitlines()]
    assert all(schema.validate_row(row) == [] for row in rows)
    broken = {key: value for key, value in rows[0].items() if key != "expected_answer"}
    assert [issue.field for issue in schema.validate_row(broken)] == ["expected_answer"]
