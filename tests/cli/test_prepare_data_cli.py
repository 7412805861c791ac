"""`ng_prepare_data` end to end: the seeds' commands, every Common Errors row, and output guarantees."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import MAKE_OPENMATH, dataset_yaml, math_row, read_jsonl, run_script, tiny_config, write_jsonl

MODEL_CONFIG = "responses_api_models/vllm_model/configs/vllm_model_for_training.yaml"
MULTI_STEP_CONFIG = "resources_servers/example_multi_step/configs/example_multi_step.yaml"


def prepare(root: Path, config: str, mode: str, *extra: str):
    return run_script(
        "ng_prepare_data",
        f"+config_paths=[{config}]",
        "+output_dirpath=out",
        f"+mode={mode}",
        *extra,
        cwd=root,
    )


def test_seed_quick_start(workspace: Path) -> None:
    result = run_script(
        "ng_prepare_data",
        f"+config_paths=[{MODEL_CONFIG},{MULTI_STEP_CONFIG}]",
        "+output_dirpath=data/test",
        "+mode=example_validation",
        cwd=workspace,
    )
    assert result.returncode == 0, result.output
    assert "# Finished!" in result.stdout
    rows = read_jsonl(workspace / "data/test/example.jsonl")
    assert len(rows) == 5
    for row in rows:
        assert list(row)[-1] == "agent_ref"
        assert row["agent_ref"] == {"type": "responses_api_agents", "name": "example_multi_step_simple_agent"}
    metrics = json.loads((workspace / "data/test/example_metrics.json").read_text())
    assert metrics["name"] == "example" and metrics["Number of examples"] == 5


def test_quick_start_leaves_committed_metrics_untouched(workspace: Path) -> None:
    sidecar = workspace / "resources_servers/example_multi_step/data/example_metrics.json"
    assert sidecar.exists(), "the shipped example_metrics.json is part of the folder"
    before = sidecar.read_bytes()
    result = prepare(workspace, f"{MODEL_CONFIG},{MULTI_STEP_CONFIG}", "example_validation")
    assert result.returncode == 0, result.output
    assert "already up to date" in result.stdout
    assert sidecar.read_bytes() == before


def test_tutorial_train_preparation(workspace: Path) -> None:
    make = MAKE_OPENMATH
    subprocess.run([sys.executable, str(make), "2000", str(workspace)], check=True, capture_output=True)
    tutorial_yaml = (Path(__file__).parent / "tutorial_openmathinstruct2.yaml").read_text()
    (workspace / "resources_servers/math_with_judge/configs/openmathinstruct2.yaml").write_text(tutorial_yaml)
    config = f"{MODEL_CONFIG},resources_servers/math_with_judge/configs/openmathinstruct2.yaml"
    result = run_script(
        "ng_prepare_data",
        f"+config_paths=[{config}]",
        "+mode=train_preparation",
        "+output_dirpath=data",
        cwd=workspace,
    )
    assert result.returncode == 0, result.output
    assert "# Finished!" in result.stdout
    ref = {"type": "responses_api_agents", "name": "math_with_judge_simple_agent"}
    for split, count in (("train", 1800), ("validation", 200)):
        source = (workspace / f"{split}.jsonl").read_text().splitlines()
        output = (workspace / "data" / f"{split}.jsonl").read_text().splitlines()
        assert len(output) == len(source) == count
        for raw, out in zip(source, output, strict=True):
            expected = json.loads(raw)
            expected["agent_ref"] = ref
            assert out == json.dumps(expected)
        assert (workspace / f"{split}_metrics.json").exists()
        assert json.loads((workspace / "data" / f"{split}_metrics.json").read_text())["Number of examples"] == count


def test_json_parse_error_names_the_line(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "data/example.jsonl", [math_row(), '{"responses_create_params": {"input": "x"', math_row()])
    config = tiny_config(tmp_path, dataset_yaml("example", "example", "data/example.jsonl"))
    result = prepare(tmp_path, config, "example_validation")
    assert result.returncode == 1
    assert "data/example.jsonl:2: JSON parse error" in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "out/example.jsonl").exists()


def test_every_bad_row_is_reported(tmp_path: Path) -> None:
    rows = [
        math_row(),
        {"expected_answer": "4"},
        {"responses_create_params": {"input": [{"role": "usr", "content": "hi"}]}},
        {"responses_create_params": {"input": "hi", "temprature": 0.5}},
        "[1, 2]",
        '{"responses_create_params": {"input": "hi", "temperature": NaN}}',
    ]
    write_jsonl(tmp_path / "data/example.jsonl", rows)
    config = tiny_config(tmp_path, dataset_yaml("example", "example", "data/example.jsonl"))
    result = prepare(tmp_path, config, "example_validation")
    assert result.returncode == 1
    err = result.stderr
    assert "data/example.jsonl:2: ValidationError: responses_create_params" in err
    assert "data/example.jsonl:3: responses_create_params.input[0].role" in err
    assert "data/example.jsonl:4: responses_create_params.temprature" in err and "temperature" in err
    assert "data/example.jsonl:5:" in err
    assert "data/example.jsonl:6: JSON parse error" in err
    assert "data/example.jsonl:1:" not in err
    assert "Finished!" not in result.stdout
    assert not (tmp_path / "data/example_metrics.json").exists()


def test_only_first_twenty_problems_are_shown_with_a_count(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "data/example.jsonl", ["{bad"] * 25)
    config = tiny_config(tmp_path, dataset_yaml("example", "example", "data/example.jsonl"))
    result = prepare(tmp_path, config, "example_validation")
    assert result.returncode == 1
    assert result.stderr.count("JSON parse error") == 20
    assert "and 5 more problem(s) not shown" in result.stderr
    assert "25 bad row(s)" in result.stderr


def test_missing_license_for_train(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "data/train.jsonl", [math_row()])
    config = tiny_config(tmp_path, dataset_yaml("my_train", "train", "data/train.jsonl"))
    result = prepare(tmp_path, config, "train_preparation")
    assert result.returncode == 1
    assert "A license is required for my_train" in result.stderr
    assert "configs/tiny.yaml:" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("given", "valid"),
    [
        ("Apache-2.0", "Apache 2.0"),
        ("CC-BY-4.0", "Creative Commons Attribution 4.0 International"),
        ("mit", "MIT"),
    ],
)
def test_near_miss_license_names_the_valid_string(tmp_path: Path, given: str, valid: str) -> None:
    write_jsonl(tmp_path / "data/train.jsonl", [math_row()])
    config = tiny_config(tmp_path, dataset_yaml("train", "train", "data/train.jsonl", f"license: {given}"))
    result = prepare(tmp_path, config, "train_preparation")
    assert result.returncode == 1
    assert f"'{valid}'" in result.stderr
    assert given in result.stderr


def test_missing_local_dataset_suggests_download(tmp_path: Path) -> None:
    datasets = "\n".join(
        [
            dataset_yaml("train", "train", "data/train.jsonl", "license: MIT"),
            dataset_yaml("validation", "validation", "data/validation.jsonl", "license: MIT"),
        ]
    )
    config = tiny_config(tmp_path, datasets)
    result = prepare(tmp_path, config, "train_preparation")
    assert result.returncode == 1
    assert "Missing local datasets" in result.stderr
    assert "data/train.jsonl" in result.stderr and "data/validation.jsonl" in result.stderr
    assert "+should_download=true" in result.stderr


def test_config_file_not_found_lists_paths_tried(tmp_path: Path) -> None:
    result = prepare(tmp_path, "configs/nope.yaml", "example_validation")
    assert result.returncode == 1
    assert "configs/nope.yaml" in result.stderr and "Looked in" in result.stderr
    assert "Traceback" not in result.output


def test_unresolved_interpolation_names_key(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "data/example.jsonl", [math_row()])
    config = tiny_config(tmp_path, dataset_yaml("example", "example", "${data_dir}/example.jsonl"))
    result = prepare(tmp_path, config, "example_validation")
    assert result.returncode == 1
    assert "data_dir" in result.stderr and "++data_dir=" in result.stderr
    ok = prepare(tmp_path, config, "example_validation", "++data_dir=data")
    assert ok.returncode == 0, ok.output


def test_missing_required_option(tmp_path: Path) -> None:
    result = run_script("ng_prepare_data", "+config_paths=[x.yaml]", cwd=tmp_path)
    assert result.returncode != 0
    assert "Traceback" not in result.output


def test_help_explains_every_key(tmp_path: Path) -> None:
    result = run_script("ng_prepare_data", "--help", cwd=tmp_path)
    assert result.returncode == 0
    for key in ("config_paths", "output_dirpath", "mode", "should_download", "overwrite_metrics_conflicts"):
        assert f"+{key}=" in result.stdout


def test_num_repeats_repeats_each_row_consecutively(tmp_path: Path) -> None:
    rows = [math_row("a?", "1"), math_row("b?", "2")]
    write_jsonl(tmp_path / "data/train.jsonl", rows)
    datasets = dataset_yaml("train", "train", "data/train.jsonl", "num_repeats: 3\nlicense: MIT")
    result = prepare(tmp_path, tiny_config(tmp_path, datasets), "train_preparation")
    assert result.returncode == 0, result.output
    answers = [r["expected_answer"] for r in read_jsonl(tmp_path / "out/train.jsonl")]
    assert answers == ["1", "1", "1", "2", "2", "2"]
    metrics = json.loads((tmp_path / "data/train_metrics.json").read_text())
    assert metrics["num_repeats"] == 3 and metrics["Number of examples"] == 6


def test_metrics_conflict_then_overwrite(tmp_path: Path) -> None:
    data = tmp_path / "data/example.jsonl"
    write_jsonl(data, [math_row()])
    config = tiny_config(tmp_path, dataset_yaml("example", "example", "data/example.jsonl"))
    assert prepare(tmp_path, config, "example_validation").returncode == 0
    sidecar = tmp_path / "data/example_metrics.json"
    committed = sidecar.read_text()

    write_jsonl(data, [math_row(), math_row("What is 3*5?", "15")])
    result = prepare(tmp_path, config, "example_validation")
    assert result.returncode == 1
    assert "Number of examples" in result.output
    conflict = tmp_path / "data/example_metrics_conflict.json"
    assert conflict.exists() and json.loads(conflict.read_text())["Number of examples"] == 2
    assert sidecar.read_text() == committed

    result = prepare(tmp_path, config, "example_validation", "+overwrite_metrics_conflicts=true")
    assert result.returncode == 0, result.output
    assert json.loads(sidecar.read_text())["Number of examples"] == 2
    assert not conflict.exists()


def test_inputs_are_never_modified(tmp_path: Path) -> None:
    raw = '{"responses_create_params": {"input": "h\u00e9"}, "expected_answer": "1"}\r\n\r\n'
    data = tmp_path / "data/example.jsonl"
    data.parent.mkdir(parents=True)
    data.write_bytes(raw.encode("utf-8"))
    config = tiny_config(tmp_path, dataset_yaml("example", "example", "data/example.jsonl"))
    result = prepare(tmp_path, config, "example_validation")
    assert result.returncode == 0, result.output
    assert data.read_bytes() == raw.encode("utf-8")
    out = (tmp_path / "out/example.jsonl").read_text()
    assert (
        out == '{"responses_create_params": {"input": "h\\u00e9"}, "expected_answer": "1", '
        '"agent_ref": {"type": "responses_api_agents", "name": "tiny_simple_agent"}}\n'
    )


def test_interrupted_run_leaves_no_partial_files(tmp_path: Path) -> None:
    import signal
    import time

    from tests.conftest import BIN

    row = json.dumps(math_row("x" * 400, "1"))
    (tmp_path / "data").mkdir()
    with open(tmp_path / "data/train.jsonl", "w") as handle:
        for _ in range(100_000):
            handle.write(row + "\n")
    datasets = dataset_yaml("train", "train", "data/train.jsonl", "license: MIT")
    config = tiny_config(tmp_path, datasets)
    proc = subprocess.Popen(
        [
            str(BIN / "ng_prepare_data"),
            f"+config_paths=[{config}]",
            "+output_dirpath=out",
            "+mode=train_preparation",
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 60
    while time.time() < deadline and not list((tmp_path / "out").glob(".train.jsonl.*")):
        time.sleep(0.01)
    assert list((tmp_path / "out").glob(".train.jsonl.*")), "the run never started writing"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert "Traceback" not in err
    assert list((tmp_path / "out").iterdir()) == []
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["train.jsonl"]
