"""`ng_prepare_data` compares a Hub dataset's YAML license with its dataset card (a loopback Hub stand-in).

The card is fetched only with `+should_download=true` (with the data); later runs read the cached copy, and a
run with neither says the license was not compared.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import dataset_yaml, math_row, run_script, tiny_config, write_jsonl
from tests.standins.hub import HubStandIn

REPO = "org/tiny-data"
TRAIN = "".join(json.dumps(math_row(f"What is {n}+{n}?", str(2 * n))) + "\n" for n in range(3)).encode()
CARD = b"---\nlicense: cc-by-nc-4.0\n---\n# Tiny data\n"


@pytest.fixture(scope="module")
def hub():
    with HubStandIn(
        {(REPO, "train.jsonl"): TRAIN, (REPO, "README.md"): CARD, ("org/no-card", "train.jsonl"): TRAIN}
    ) as stand_in:
        yield stand_in


def workspace(root, repo=REPO):
    source = f"license: Apache 2.0\nhuggingface_identifier: {{repo_id: {repo}, artifact_fpath: train.jsonl}}"
    datasets = "\n".join(
        [
            dataset_yaml("train", "train", "data/train.jsonl", source),
            dataset_yaml("validation", "validation", "data/validation.jsonl", "license: Apache 2.0"),
        ]
    )
    write_jsonl(root / "data" / "validation.jsonl", [math_row("What is 9+9?", "18")])
    return tiny_config(root, datasets)


def prepare(root, hub, config, *extra, home="hf_home"):
    env = {"HF_ENDPOINT": hub.endpoint, "HF_HOME": str(root / home), "HF_HUB_CACHE": ""}
    args = (f"+config_paths=[{config}]", "+output_dirpath=out", "+mode=train_preparation", *extra)
    return run_script("ng_prepare_data", *args, cwd=root, env=env)


def test_a_download_fetches_the_card_and_a_contradicting_license_is_a_warning(tmp_path, hub):
    config = workspace(tmp_path)

    result = prepare(tmp_path, hub, config, "+should_download=true")

    assert result.returncode == 0, result.output
    (warning,) = [line for line in result.stdout.splitlines() if line.startswith("warning:")]
    assert warning.startswith("warning: configs/tiny.yaml:")
    assert "the train dataset is licensed 'Apache 2.0' here, but the dataset card of org/tiny-data" in warning
    assert warning.endswith("says `license: cc-by-nc-4.0` [license.card_mismatch]")
    assert (tmp_path / "out" / "train.jsonl").is_file()

    # Later runs read the cached card: the same warning, no request to the Hub.
    before = len(hub.requests)
    again = prepare(tmp_path, hub, config)
    assert again.returncode == 0, again.output
    assert [line for line in again.stdout.splitlines() if line.startswith("warning:")] == [warning]
    assert len(hub.requests) == before


def test_without_downloads_an_uncached_card_is_noted_and_nothing_is_fetched(tmp_path, hub):
    config = workspace(tmp_path)
    (tmp_path / "data" / "train.jsonl").write_bytes(TRAIN)
    before = len(hub.requests)

    result = prepare(tmp_path, hub, config, home="empty_home")

    assert result.returncode == 0, result.output
    assert len(hub.requests) == before
    (note,) = [line for line in result.stdout.splitlines() if "dataset card" in line]
    assert note.startswith("note: configs/tiny.yaml:")
    assert (
        "the license of dataset 'train' was not compared with the dataset card of org/tiny-data: it is not in" in note
    )
    assert note.endswith("(+should_download=true fetches it)")


def test_a_repo_without_a_card_is_noted(tmp_path, hub):
    config = workspace(tmp_path, repo="org/no-card")

    result = prepare(tmp_path, hub, config, "+should_download=true")

    assert result.returncode == 0, result.output
    assert "was not compared with the dataset card of org/no-card: it has none" in result.stdout
    assert "warning:" not in result.stdout
