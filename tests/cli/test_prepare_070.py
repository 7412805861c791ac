"""`ng_prepare_data` on configs written the 0.7.0 way: task_source routing, forced routing, nothing to check."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, read_jsonl, run_script

TINY = REPO_ROOT / "tests" / "fixtures070" / "tiny070"
CONFIG = "resources_servers/tiny070/configs/tiny070.yaml"
MODEL_CONFIG = "responses_api_models/vllm_model/configs/vllm_model_for_training.yaml"
MULTI_STEP_CONFIG = "resources_servers/example_multi_step/configs/example_multi_step.yaml"


@pytest.fixture
def tiny(workspace: Path) -> Path:
    """The shipped servers plus a hand-made 0.7.0-style server folder."""
    shutil.copytree(TINY, workspace / "resources_servers" / "tiny070")
    return workspace


def prepare(root: Path, configs: str, *extra: str):
    return run_script(
        "ng_prepare_data",
        f"+config_paths=[{configs}]",
        "+output_dirpath=out",
        "+mode=example_validation",
        *extra,
        cwd=root,
    )


def collated_070(source: Path, name: str) -> bytes:
    """What 0.7.0's collate writes: each row json.dumps'ed, legacy agent_ref dropped, task_source set."""
    out = []
    for line in source.read_text().splitlines():
        row = json.loads(line)
        row.pop("agent_ref", None)
        row["task_source"] = name
        out.append(json.dumps(row) + "\n")
    return "".join(out).encode()


def test_a_070_style_config_collates_task_source_rows_as_070_does(tiny: Path) -> None:
    result = prepare(tiny, f"{MODEL_CONFIG},{CONFIG}")
    assert result.returncode == 0, result.output
    assert "task_source (0.7.0-style config: datasets declared on resources server 'tiny070')" in result.stdout
    source = tiny / "resources_servers/tiny070/data/example.jsonl"
    assert (tiny / "out/example.jsonl").read_bytes() == collated_070(source, "tiny070")
    metrics = json.loads((tiny / "out/example_metrics.json").read_text())
    assert metrics["Number of examples"] == 5 and "Number of tasks" not in metrics
    assert source.read_bytes() == (TINY / "data/example.jsonl").read_bytes()  # inputs never modified


def test_routing_can_be_forced_either_way(tiny: Path) -> None:
    result = prepare(tiny, f"{MODEL_CONFIG},{CONFIG}", "+routing=agent_ref")
    assert result.returncode == 0, result.output
    ref = {"type": "responses_api_agents", "name": "tiny070_simple_agent"}
    rows = read_jsonl(tiny / "out/example.jsonl")
    assert [row["agent_ref"] for row in rows] == [ref] * 5
    assert rows[2]["task_source"] == "stale"  # agent_ref routing leaves other keys as they are
    result = prepare(tiny, f"{MODEL_CONFIG},{MULTI_STEP_CONFIG}", "+routing=task_source")
    assert result.returncode == 0, result.output
    source = tiny / "resources_servers/example_multi_step/data/example.jsonl"
    assert (tiny / "out/example.jsonl").read_bytes() == collated_070(source, "example_multi_step_simple_agent")


def test_agent_ref_for_a_server_dataset_needs_one_agent(tiny: Path) -> None:
    path = tiny / CONFIG
    text = path.read_text()
    second = text[text.index("tiny070_simple_agent:") : text.index("tiny070_environment_server:")]
    path.write_text(text + second.replace("tiny070_simple_agent:", "tiny070_other_agent:"))
    result = prepare(tiny, f"{MODEL_CONFIG},{CONFIG}", "+routing=agent_ref")
    assert result.returncode != 0
    assert "2 agents reference it (tiny070_simple_agent, tiny070_other_agent)" in result.stderr
    assert "[config.dataset_agent]" in result.stderr and "tiny070.yaml:8" in result.stderr
    assert "Traceback" not in result.output
    result = prepare(tiny, f"{MODEL_CONFIG},{CONFIG}")  # task_source needs no agent at collation time
    assert result.returncode == 0, result.output


def test_a_config_with_nothing_to_validate_is_a_note(tiny: Path) -> None:
    result = prepare(tiny, "resources_servers/tiny070/configs/tiny070_judge.yaml")
    assert result.returncode == 0, result.output
    assert "note: " in result.stdout and "nothing to validate" in result.stdout
    assert "[data.none_in_scope]" in result.stdout and "# Finished!" in result.stdout
    assert not (tiny / "out/example.jsonl").exists()


def break_rows(root: Path) -> None:
    """Row 2 gets a list where the schema wants a string, row 4 a key the schema does not declare."""
    path = root / "resources_servers/tiny070/data/example.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    rows[1]["expected_answer"] = ["2"]
    rows[3]["expected_answr"] = "6"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def test_rows_are_checked_against_task_data_and_fail_example_validation(tiny: Path) -> None:
    break_rows(tiny)
    result = prepare(tiny, f"{MODEL_CONFIG},{CONFIG}")
    assert result.returncode != 0 and "Traceback" not in result.output
    assert "1/5 rows failed task_data validation against the `tiny070` schema" in result.stdout
    data = "resources_servers/tiny070/data/example.jsonl"
    assert f"error: {data}:2: expected_answer: Input should be a valid string" in result.stderr
    assert f"error: {data}:4: expected_answr: 'expected_answr' is not declared" in result.stderr
    assert "hint: " in result.stderr and not (tiny / "out/example.jsonl").exists()


def test_task_data_validation_warn_and_off(tiny: Path) -> None:
    break_rows(tiny)
    result = prepare(tiny, f"{MODEL_CONFIG},{CONFIG}", "+task_data_validation=warn")
    assert result.returncode == 0, result.output
    assert "[task_data validation]" in result.stdout and "warning: " in result.stdout
    assert (tiny / "out/example.jsonl").exists()
    result = prepare(tiny, f"{MODEL_CONFIG},{CONFIG}", "+task_data_validation=off")
    assert result.returncode == 0, result.output
    assert "task_data" not in result.stdout


TASKSET_CONFIG = "resources_servers/tiny070/configs/tiny070_taskset.yaml"


def test_a_taskset_dataset_collates_materialized_tasks_as_070_does(tiny: Path) -> None:
    # (The task rows carry keys tiny070's TaskData does not declare: that check is tested above.)
    result = prepare(tiny, f"{MODEL_CONFIG},{TASKSET_CONFIG}", "+task_data_validation=off")
    assert result.returncode == 0, result.output
    taskset = "tiny070:example"
    assert read_jsonl(tiny / "out/example.jsonl") == [
        {
            "task_id": {"taskset": taskset, "task_id": "t-1"},
            "task_input": {"task_id": "t-1", "expected_answer": "1", "persona": {"name": "Ada"}},
        },
        {"task_id": {"taskset": taskset, "task_id": "7"}, "task_input": {"problem_id": 7, "expected_answer": "2"}},
        {
            "task_id": {"taskset": taskset, "task_id": "40"},
            "task_input": {"expected_answer": "3"},
            "_ng_task_index": 40,
            "_ng_rollout_index": 1,
        },
        {
            "task_id": {"taskset": taskset, "task_id": "3"},
            "task_input": {"expected_answer": "4", "responses_create_params": {"input": "What is 2+2?"}},
        },
    ]
    metrics = json.loads((tiny / "out/example_metrics.json").read_text())
    # Metrics describe the source rows: 4 examples, words and turns of the one row with a request only.
    assert metrics["Number of examples"] == 4 and metrics["Number of turns"]["Total # non-null values"] == 1
    assert "taskset" not in metrics and "_ng_task_index" not in metrics


def test_a_taskset_needs_a_route_to_its_environment_server(tiny: Path) -> None:
    path = tiny / TASKSET_CONFIG
    path.write_text(path.read_text().replace('  "tiny070:example": tiny070_tasks_environment\n', '  "other": x\n'))
    result = prepare(tiny, f"{MODEL_CONFIG},{TASKSET_CONFIG}")
    assert result.returncode != 0 and "Traceback" not in result.output
    assert "No Environment Server route for taskset 'tiny070:example'" in result.stderr
    assert "tiny070_taskset.yaml:13" in result.stderr and "[config.taskset_route]" in result.stderr


def test_materialized_rows_are_valid_and_get_070s_task_metrics(tiny: Path) -> None:
    path = tiny / CONFIG
    path.write_text(path.read_text().replace("data/example.jsonl", "data/materialized.jsonl"))
    result = prepare(tiny, f"{MODEL_CONFIG},{CONFIG}", "+task_data_validation=off")
    assert result.returncode == 0, result.output
    metrics = json.loads((tiny / "out/example_metrics.json").read_text())
    keys = [k for k in metrics if k[0].isupper()]
    assert keys == [
        "Number of examples",
        "Number of tasks",
        "Number of tools",
        "Json-dumped number of words (proxy for token count)",
        "Json-dumped task-input words (proxy for token count)",
        "Number of turns",
        "Temperature",
        "Tasksets",
    ]
    assert metrics["Number of examples"] == 3 and metrics["Number of tasks"] == 2
    # len(json.dumps(task_input).split()): 5 words, then 2; the extras come from the one row with a request.
    assert metrics["Json-dumped task-input words (proxy for token count)"]["Average"] == 3.5
    assert metrics["Tasksets"] == {"counts": {"tiny:a": 1, "tiny:b": 1}, "unique_count": 2, "total_count": 2}
    assert metrics["expected_answer"] == {"unique_count": 1, "total_count": 1}
    source = tiny / "resources_servers/tiny070/data/materialized.jsonl"
    assert (tiny / "out/example.jsonl").read_bytes() == collated_070(source, "tiny070")


def test_a_malformed_task_id_is_a_row_problem(tiny: Path) -> None:
    path = tiny / CONFIG
    path.write_text(path.read_text().replace("data/example.jsonl", "data/materialized.jsonl"))
    data = tiny / "resources_servers/tiny070/data/materialized.jsonl"
    data.write_text(data.read_text().replace('"taskset": "tiny:b", ', ""))
    result = prepare(tiny, f"{MODEL_CONFIG},{CONFIG}", "+task_data_validation=off")
    assert result.returncode != 0 and "Traceback" not in result.output
    assert "materialized.jsonl:2: task_id.taskset: task_id.taskset must be a non-empty string" in result.stderr
