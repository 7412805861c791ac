"""End-to-end tests of `ng_download_dataset_from_hf`: a real subprocess against the loopback Hub stand-in."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gym_conform.cli.download import DownloadOptions
from tests.standins.hub import HubStandIn

TRAIN = b'{"responses_create_params": {"input": [{"role": "user", "content": "hi"}]}}\n'
VALIDATION = b'{"responses_create_params": {"input": []}}\n'
SECRET = "hf_cli_secret_token_42"
FILES = {
    ("org/data", "train.jsonl"): TRAIN,
    ("org/data", "splits/validation.jsonl"): VALIDATION,
    ("org/private", "train.jsonl"): TRAIN,
    **{(f"org/{fault}", "train.jsonl"): TRAIN * 2000 for fault in ("500", "stall", "truncated")},
}
FAULTS = {f"org/{fault}": fault for fault in ("500", "stall", "truncated")}
SCRIPT = Path(sys.executable).parent / "ng_download_dataset_from_hf"


@pytest.fixture(scope="module")
def hub():
    private = {"org/private": SECRET, **dict.fromkeys(FAULTS, SECRET)}
    with HubStandIn(FILES, private_repos=private, faults=FAULTS) as stand_in:
        yield stand_in


@pytest.fixture
def cli(hub, tmp_path):
    """Run the command in tmp_path with the Hub pointed at the stand-in; extra env entries override."""

    def run(*args: str, **env: str) -> subprocess.CompletedProcess:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING_FACE_", "GYM_CONFORM_"))}
        base.update(HF_ENDPOINT=hub.endpoint, HF_HOME=str(tmp_path / "hf_home"), **env)
        command = [sys.executable, "-m", "gym_conform.cli.download", *args]
        return subprocess.run(command, check=False, cwd=tmp_path, env=base, capture_output=True, text=True, timeout=120)

    return run


def test_downloads_and_says_where(cli, tmp_path):
    result = cli("+repo_id=org/data", "+artifact_fpath=train.jsonl", "+output_fpath=out/renamed.jsonl")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Downloaded org/data/train.jsonl to: out/renamed.jsonl\n"
    assert (tmp_path / "out" / "renamed.jsonl").read_bytes() == TRAIN


def test_downloads_by_split(cli, tmp_path):
    result = cli("+repo_id=org/data", "+split=validation", "+output_fpath=val.jsonl")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Downloaded org/data/splits/validation.jsonl to: val.jsonl\n"
    assert (tmp_path / "val.jsonl").read_bytes() == VALIDATION


def test_token_from_env_yaml(cli, tmp_path):
    (tmp_path / "env.yaml").write_text(f"policy_model_name: m\nhf_token: {SECRET}\n")
    result = cli("+repo_id=org/private", "+artifact_fpath=train.jsonl", "+output_fpath=p.jsonl")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "p.jsonl").read_bytes() == TRAIN


def test_token_from_env_yaml_interpolation(cli, tmp_path):
    (tmp_path / "env.yaml").write_text("hf_token: ${oc.env:MY_SECRET_VAR}\n")
    result = cli("+repo_id=org/private", "+artifact_fpath=train.jsonl", "+output_fpath=p.jsonl", MY_SECRET_VAR=SECRET)
    assert result.returncode == 0, result.stderr


def test_unresolvable_env_yaml_token_is_a_config_error(cli, tmp_path):
    (tmp_path / "env.yaml").write_text("hf_token: ${oc.env:GYM_CONFORM_TEST_UNSET_VARIABLE}\n")
    result = cli("+repo_id=org/private", "+artifact_fpath=train.jsonl", "+output_fpath=p.jsonl")
    assert result.returncode == 1
    assert "[config.hf_token]" in result.stderr
    assert "Traceback" not in result.stderr


def test_token_from_the_command_line_wins_over_env_yaml(cli, tmp_path):
    (tmp_path / "env.yaml").write_text("hf_token: hf_stale_token\n")
    result = cli("+repo_id=org/private", "+artifact_fpath=train.jsonl", "+output_fpath=p.jsonl", f"+hf_token={SECRET}")
    assert result.returncode == 0, result.stderr


def test_token_from_hf_token_variable(cli):
    result = cli("+repo_id=org/private", "+artifact_fpath=train.jsonl", "+output_fpath=p.jsonl", HF_TOKEN=SECRET)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("args", "env", "code"),
    [
        (["+repo_id=org/private", "+artifact_fpath=train.jsonl"], {}, "download.unauthorized"),
        (
            ["+repo_id=org/private", "+artifact_fpath=train.jsonl"],
            {"HF_TOKEN": "hf_wrong_1"},
            "download.unauthorized",
        ),
        (["+repo_id=org/missing", "+artifact_fpath=train.jsonl"], {}, "download.repo_not_found"),
        (["+repo_id=org/data", "+artifact_fpath=nope.jsonl"], {}, "download.file_not_found"),
        (["+repo_id=org/data", "+split=test"], {}, "download.ambiguous"),
        (
            ["+repo_id=org/data", "+artifact_fpath=train.jsonl"],
            {"HF_HUB_OFFLINE": "1"},
            "download.unreachable",
        ),
    ],
    ids=["no-token", "wrong-token", "no-repo", "no-file", "no-split", "offline"],
)
def test_download_errors_exit_1_without_traceback_or_output(cli, tmp_path, args, env, code):
    result = cli(*args, "+output_fpath=out/x.jsonl", **env)
    assert result.returncode == 1
    assert f"[{code}]" in result.stderr
    assert "hint:" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()
    assert "hf_wrong_1" not in result.stdout + result.stderr


def test_unauthorized_message_names_the_file_and_how_to_fix_it(cli):
    result = cli("+repo_id=org/private", "+artifact_fpath=train.jsonl", "+output_fpath=x.jsonl")
    assert "'train.jsonl' from dataset repo 'org/private'" in result.stderr
    assert "Set hf_token in env.yaml or export HF_TOKEN=<token> (a token with read access to org/private)" in (
        result.stderr
    )


def test_offline_mode_is_named_and_still_serves_the_cache(cli, tmp_path):
    args = ("+repo_id=org/data", "+artifact_fpath=train.jsonl")
    offline = cli(*args, "+output_fpath=first.jsonl", HF_HUB_OFFLINE="1")
    assert "offline mode is on (HF_HUB_OFFLINE)" in offline.stderr
    assert cli(*args, "+output_fpath=online.jsonl").returncode == 0
    cached = cli(*args, "+output_fpath=cached.jsonl", HF_HUB_OFFLINE="1")
    assert cached.returncode == 0, cached.stderr
    assert (tmp_path / "cached.jsonl").read_bytes() == TRAIN


def test_wrong_token_from_env_yaml_is_never_printed(cli, tmp_path):
    (tmp_path / "env.yaml").write_text("hf_token: hf_wrong_from_env_yaml\n")
    result = cli("+repo_id=org/private", "+artifact_fpath=train.jsonl", "+output_fpath=x.jsonl", "--traceback")
    assert result.returncode == 1
    assert "hf_wrong_from_env_yaml" not in result.stdout + result.stderr


def test_broken_env_yaml_points_at_the_line_without_quoting_it(cli, tmp_path):
    (tmp_path / "env.yaml").write_text('policy_model_name: m\nhf_token: "hf_unterminated_secret\n')
    result = cli("+repo_id=org/data", "+artifact_fpath=train.jsonl", "+output_fpath=x.jsonl")
    assert result.returncode == 1
    assert "env.yaml:" in result.stderr and "[config.yaml]" in result.stderr
    assert "hf_unterminated_secret" not in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "exit_code", "text"),
    [
        (["+repo_id=org/data"], 2, "missing required configuration: output_fpath"),
        (["+repo_id=org/data", "+output_fpath=x.jsonl"], 2, "give exactly one of artifact_fpath and split"),
        (["+repo_id=org/data", "+output_fpath=x", "+split=train", "+artifact_fpath=a"], 2, "exactly one"),
        (
            ["+repo_id=org/data", "+output_fpath=x", "+artifact_path=train.jsonl"],
            2,
            "unknown key: artifact_path",
        ),
        (["repo_id"], 2, "is not of the form +key=value"),
    ],
    ids=["missing-output", "no-source", "two-sources", "unknown-key", "malformed"],
)
def test_usage_errors(cli, args, exit_code, text):
    result = cli(*args)
    assert result.returncode == exit_code
    assert text in result.stderr
    assert "Traceback" not in result.stderr


def test_help_of_the_console_script_lists_every_key():
    assert SCRIPT.exists()
    result = subprocess.run([str(SCRIPT), "--help"], check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    for key in DownloadOptions.model_fields:
        assert f"+{key}=" in result.stdout
    assert "HF_TOKEN" in result.stdout


# Every token source against a 5xx; a stall (about 70 s of the client's own retries) and a cut body once.
@pytest.mark.parametrize(
    ("fault", "source"),
    [("500", "env.yaml"), ("500", "+hf_token="), ("500", "HF_TOKEN"), ("stall", "env.yaml"), ("truncated", "HF_TOKEN")],
)
def test_a_failing_hub_never_shows_the_token(cli, tmp_path, fault, source):
    args = [f"+repo_id=org/{fault}", "+artifact_fpath=train.jsonl", "+output_fpath=out/x.jsonl", "--traceback"]
    env = {"HF_HUB_ETAG_TIMEOUT": "1", "HF_HUB_DOWNLOAD_TIMEOUT": "1"}  # a stall is caught in seconds
    if source == "env.yaml":
        (tmp_path / "env.yaml").write_text(f"hf_token: {SECRET}\n")
    elif source == "+hf_token=":
        args.append(f"+hf_token={SECRET}")
    else:
        env["HF_TOKEN"] = SECRET
    result = cli(*args, **env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "org/" + fault in result.stderr and "hint:" in result.stderr
    assert SECRET not in result.stdout + result.stderr  # not even in the traceback asked for
    assert not (tmp_path / "out").exists()
    cached = list((tmp_path / "hf_home").rglob("*"))
    assert not any(SECRET.encode() in path.read_bytes() for path in cached if path.is_file())
