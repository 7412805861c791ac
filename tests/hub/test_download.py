"""Tests of gym_conform.hub.download: the real huggingface_hub client against a loopback Hub stand-in."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from gym_conform.errors import ConfigError, DownloadError
from gym_conform.hub.download import (
    download_dataset,
    download_dataset_file,
    find_split_file,
    hub_cache_dir,
    resolve_hf_token,
)
from tests.standins.hub import HubStandIn, commit_of

TRAIN = b'{"responses_create_params": {"input": [{"role": "user", "content": "2+2?"}]}}\n'
VALIDATION = b'{"responses_create_params": {"input": []}}\n'
PRIVATE = b'{"private": true}\n'
SECRET = "hf_private_secret_0123456789"
GATED_TOKEN = "hf_gated_secret_9876543210"
FILES = {
    ("org/data", "train.jsonl"): TRAIN,
    ("org/data", "data/validation-v2.jsonl"): VALIDATION,
    ("org/data", "README.md"): b"# data\n",
    ("org/twins", "test-a.jsonl"): b"{}\n",
    ("org/twins", "test-b.jsonl"): b"{}\n",
    ("org/private", "train.jsonl"): PRIVATE,
    ("org/gated", "train.jsonl"): PRIVATE,
}


@pytest.fixture(scope="module")
def hub():
    with HubStandIn(FILES, private_repos={"org/private": SECRET}, gated_repos={"org/gated": GATED_TOKEN}) as stand_in:
        yield stand_in


@pytest.fixture(autouse=True)
def hub_env(hub, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_CACHE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def out_dir(tmp_path) -> Path:
    return tmp_path / "out"


def fails(call, *args, **kwargs) -> DownloadError:
    with pytest.raises(DownloadError) as caught:
        call(*args, **kwargs)
    return caught.value


def closed_port_endpoint() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


# --- success ---------------------------------------------------------------------------------------------


def test_downloads_identical_bytes_to_a_renamed_path_creating_folders(out_dir):
    target = out_dir / "a" / "b" / "renamed.jsonl"
    assert download_dataset_file("org/data", "train.jsonl", target, token=None) == target
    assert target.read_bytes() == TRAIN
    assert sorted(p.name for p in target.parent.iterdir()) == ["renamed.jsonl"]


def test_downloads_a_file_in_a_repo_folder_and_replaces_an_old_output(out_dir):
    target = out_dir / "validation.jsonl"
    target.parent.mkdir()
    target.write_bytes(b"old content\n")
    download_dataset_file("org/data", "data/validation-v2.jsonl", target, token=None)
    assert target.read_bytes() == VALIDATION


def test_downloads_a_pinned_commit(out_dir):
    target = out_dir / "train.jsonl"
    download_dataset_file("org/data", "train.jsonl", target, token=None, revision=commit_of("org/data"))
    assert target.read_bytes() == TRAIN


def test_caches_under_hf_home(tmp_path, out_dir):
    download_dataset_file("org/data", "train.jsonl", out_dir / "t.jsonl", token=None)
    assert (tmp_path / "hf_home" / "hub" / "datasets--org--data").is_dir()


def test_caches_under_the_working_directory_when_hf_home_is_unset(tmp_path, out_dir, monkeypatch):
    monkeypatch.delenv("HF_HOME")
    assert hub_cache_dir() == tmp_path / "cache" / "huggingface" / "hub"
    download_dataset_file("org/data", "train.jsonl", out_dir / "t.jsonl", token=None)
    assert (tmp_path / "cache" / "huggingface" / "hub" / "datasets--org--data").is_dir()


def test_hf_hub_cache_wins_over_hf_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "elsewhere"))
    assert hub_cache_dir() == tmp_path / "elsewhere"


# --- tokens ----------------------------------------------------------------------------------------------


def test_token_from_config_reads_a_private_repo(hub, out_dir):
    token = resolve_hf_token({"hf_token": SECRET})
    download_dataset_file("org/private", "train.jsonl", out_dir / "p.jsonl", token=token)
    assert (out_dir / "p.jsonl").read_bytes() == PRIVATE
    assert hub.requests[-1] == ("GET", "/datasets/org/private/resolve/main/train.jsonl", SECRET)


def test_token_from_hf_token_environment_variable(monkeypatch, out_dir):
    monkeypatch.setenv("HF_TOKEN", SECRET)
    token = resolve_hf_token(None)
    assert token == SECRET
    download_dataset_file("org/private", "train.jsonl", out_dir / "p.jsonl", token=token)
    assert (out_dir / "p.jsonl").read_bytes() == PRIVATE


def test_config_token_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "from-env")
    assert resolve_hf_token({"hf_token": " from-config "}) == "from-config"
    assert resolve_hf_token({"hf_token": ""}) == "from-env"


def test_no_token_anywhere_is_none():
    assert resolve_hf_token({}) is None


def test_non_string_token_is_a_config_error():
    with pytest.raises(ConfigError) as caught:
        resolve_hf_token({"hf_token": 12345})
    assert caught.value.code == "config.hf_token"
    assert "12345" not in caught.value.render()


# --- errors ----------------------------------------------------------------------------------------------


def test_private_repo_without_token_is_unauthorized_with_a_hint(out_dir):
    error = fails(download_dataset_file, "org/private", "train.jsonl", out_dir / "p.jsonl", token=None)
    assert error.code == "download.unauthorized"
    assert "'train.jsonl' from dataset repo 'org/private'" in error.message
    assert "no token was given" in error.message
    assert error.hint.startswith(
        "Set hf_token in env.yaml or export HF_TOKEN=<token> (a token with read access to org/private)"
    )
    assert not out_dir.exists()


def test_wrong_token_never_appears_in_the_error(out_dir):
    wrong = "hf_wrong_token_abcdef"
    error = fails(download_dataset_file, "org/private", "train.jsonl", out_dir / "p.jsonl", token=wrong)
    assert error.code == "download.unauthorized"
    assert "the token given was not accepted" in error.message
    assert wrong not in error.render()
    assert wrong not in str(error.__cause__)


def test_gated_repo_without_access_is_unauthorized_and_points_to_the_access_page(hub, out_dir):
    error = fails(download_dataset_file, "org/gated", "train.jsonl", out_dir / "g.jsonl", token=SECRET)
    assert error.code == "download.unauthorized"
    assert "HTTP 403" in error.message and "gated" in error.message
    assert f"{hub.endpoint}/datasets/org/gated" in error.hint
    assert SECRET not in error.render()


def test_missing_repo_says_it_must_be_a_dataset_repo(hub, out_dir):
    error = fails(download_dataset_file, "org/nothing", "train.jsonl", out_dir / "x.jsonl", token=None)
    assert error.code == "download.repo_not_found"
    assert f"'org/nothing' was not found on {hub.endpoint}" in error.message
    assert "*dataset* repo" in error.hint
    assert not out_dir.exists()


def test_missing_file_lists_the_files_that_exist(out_dir):
    error = fails(download_dataset_file, "org/data", "tran.jsonl", out_dir / "x.jsonl", token=None)
    assert error.code == "download.file_not_found"
    assert "'tran.jsonl'" in error.message
    assert "README.md, data/validation-v2.jsonl, train.jsonl" in error.hint
    assert not out_dir.exists()


def test_missing_revision(out_dir):
    error = fails(download_dataset_file, "org/data", "train.jsonl", out_dir / "x.jsonl", token=None, revision="v9")
    assert error.code == "download.revision_not_found"
    assert "'v9'" in error.message


def test_unreachable_endpoint_is_named(monkeypatch, out_dir):
    endpoint = closed_port_endpoint()
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    # huggingface_hub backs off for 23 s over five retries before giving up; the outcome is the same without
    # sleeping.
    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    error = fails(download_dataset_file, "org/data", "train.jsonl", out_dir / "x.jsonl", token=SECRET)
    assert error.code == "download.unreachable"
    assert endpoint in error.message
    assert SECRET not in error.render()
    assert not out_dir.exists()


@pytest.mark.parametrize("artifact", ["", "../train.jsonl", "/train.jsonl", "data\\train.jsonl"])
def test_artifact_paths_outside_the_repo_are_rejected(artifact, out_dir):
    error = fails(download_dataset_file, "org/data", artifact, out_dir / "x.jsonl", token=None)
    assert error.code == "download.invalid_artifact_fpath"


def test_invalid_repo_id(out_dir):
    error = fails(download_dataset_file, "org/bad name", "train.jsonl", out_dir / "x.jsonl", token=None)
    assert error.code == "download.invalid_repo_id"


def test_unwritable_output_leaves_no_temporary_file(tmp_path):
    (tmp_path / "taken").mkdir()
    error = fails(download_dataset_file, "org/data", "train.jsonl", tmp_path / "taken", token=None)
    assert error.code == "download.write_failed"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hf_home", "taken"]


# --- split lookup and dataset configs --------------------------------------------------------------------


def test_split_finds_the_exact_name_first():
    assert find_split_file("org/data", "train", token=None) == "train.jsonl"


def test_split_finds_the_only_file_containing_the_split_name():
    assert find_split_file("org/data", "validation", token=None) == "data/validation-v2.jsonl"


def test_split_without_a_match_lists_the_jsonl_files():
    error = fails(find_split_file, "org/data", "test", token=None)
    assert error.code == "download.ambiguous"
    assert "artifact_fpath" in error.hint
    assert "data/validation-v2.jsonl, train.jsonl" in error.hint


def test_split_with_several_matches_lists_them():
    error = fails(find_split_file, "org/twins", "test", token=None)
    assert error.code == "download.ambiguous"
    assert "several" in error.message
    assert "test-a.jsonl, test-b.jsonl" in error.hint


def test_split_lookup_of_a_private_repo_without_token_is_unauthorized():
    assert fails(find_split_file, "org/private", "train", token=None).code == "download.unauthorized"


def dataset_config(out: Path, **identifier) -> SimpleNamespace:
    return SimpleNamespace(
        name="demo",
        type="validation",
        jsonl_fpath=str(out),
        huggingface_identifier=SimpleNamespace(**identifier),
    )


def test_dataset_config_with_artifact_fpath(out_dir):
    dataset = dataset_config(out_dir / "v.jsonl", repo_id="org/data", artifact_fpath="train.jsonl")
    assert download_dataset(dataset, token=None) == out_dir / "v.jsonl"
    assert (out_dir / "v.jsonl").read_bytes() == TRAIN


def test_dataset_config_without_artifact_fpath_uses_its_type_as_split(out_dir):
    dataset = dataset_config(out_dir / "v.jsonl", repo_id="org/data", artifact_fpath=None)
    download_dataset(dataset, token=None)
    assert (out_dir / "v.jsonl").read_bytes() == VALIDATION


def test_dataset_config_with_a_unified_huggingface_source(out_dir):
    dataset = SimpleNamespace(
        name="demo",
        type="train",
        jsonl_fpath=str(out_dir / "t.jsonl"),
        huggingface_identifier=None,
        source=SimpleNamespace(type="huggingface", repo_id="org/private", artifact_fpath="train.jsonl"),
    )
    download_dataset(dataset, token=SECRET)
    assert (out_dir / "t.jsonl").read_bytes() == PRIVATE


def test_dataset_config_without_a_huggingface_source(out_dir):
    dataset = SimpleNamespace(name="demo", type="train", jsonl_fpath=str(out_dir / "t.jsonl"))
    error = fails(download_dataset, dataset, token=None)
    assert error.code == "download.no_source"
    assert "'demo'" in error.message
