"""`gym-conform COMMAND`: one console script for every job, and what the ng_* aliases say beside nemo-gym."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import read_jsonl, run_script

QUICK_START = (
    "+config_paths=[responses_api_models/vllm_model/configs/vllm_model_for_training.yaml,"
    "resources_servers/example_multi_step/configs/example_multi_step.yaml]",
    "+output_dirpath=data/test",
    "+mode=example_validation",
)


def fake_nemo_gym(root: Path) -> dict:
    """An environment in which `import nemo_gym` finds a package, as when nemo-gym is installed too."""
    (root / "site" / "nemo_gym").mkdir(parents=True)
    (root / "site" / "nemo_gym" / "__init__.py").write_text("")
    return {"PYTHONPATH": str(root / "site")}


def test_help_lists_every_command_with_its_ng_alias(tmp_path: Path) -> None:
    result = run_script("gym-conform", "--help", cwd=tmp_path)

    assert result.returncode == 0
    for command, alias in [
        ("prepare-data", "ng_prepare_data"),
        ("download-dataset-from-hf", "ng_download_dataset_from_hf"),
        ("init-resources-server", "ng_init_resources_server"),
        ("replay-rollouts", "ng_replay_rollouts"),
    ]:
        assert f"  {command}" in result.stdout and f"(also: {alias})" in result.stdout


def test_prepare_data_subcommand_runs_the_seed_quick_start(workspace: Path) -> None:
    result = run_script("gym-conform", "prepare-data", *QUICK_START, cwd=workspace)

    assert result.returncode == 0, result.output
    assert "# Finished!" in result.stdout
    assert len(read_jsonl(workspace / "data/test/example.jsonl")) == 5


def test_an_unknown_command_exits_2_with_a_suggestion(tmp_path: Path) -> None:
    result = run_script("gym-conform", "prepare_data", cwd=tmp_path)

    assert result.returncode == 2
    assert "unknown command 'prepare_data'" in result.stderr
    assert "did you mean `gym-conform prepare-data`?" in result.stderr


def test_an_ng_alias_says_whose_it_is_when_nemo_gym_is_installed_too(tmp_path: Path) -> None:
    beside = run_script("ng_prepare_data", "--help", cwd=tmp_path, env=fake_nemo_gym(tmp_path))
    alone = run_script("ng_prepare_data", "--help", cwd=tmp_path)

    assert beside.returncode == alone.returncode == 0
    assert "this ng_prepare_data is gym-conform's" in beside.stderr
    assert "`gym dataset collate`" in beside.stderr
    assert alone.stderr == ""
    assert beside.stdout == alone.stdout
