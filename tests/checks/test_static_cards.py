"""`license` with --gym-strict: a train dataset from the Hub against its dataset card, read from the Hub cache.

The card gets into the cache the way a user's does: huggingface_hub downloads it from a loopback Hub stand-in.
The check itself never calls the Hub (the stand-in's request log proves it).
"""

from __future__ import annotations

import pytest

from gym_conform.checks import CheckFailed, CheckSettings, FolderContext, Level
from gym_conform.checks.static_license import check_license
from gym_conform.hub.cards import fetch_card
from tests.checks import CONFIG, build_server
from tests.standins.hub import HubStandIn

REPO = "org/alpha-data"
SOURCE = f"        huggingface_identifier: {{repo_id: {REPO}, artifact_fpath: train.jsonl}}\n"
CARD = "---\nlicense: {license}\npretty_name: Alpha\n---\n# Alpha\n"
YAML = "resources_servers/alpha/configs/alpha.yaml"


def hub_config(train_license: str = "Apache 2.0") -> str:
    """The fixture config with the train dataset sourced from REPO on the Hub."""
    text = CONFIG.format(name="alpha", train_license=train_license)
    marker = f"        license: {train_license}\n"
    return text.replace(marker, marker + SOURCE, 1)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """Point huggingface_hub's cache at tmp_path; yield a function that caches REPO's card with a license."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    hubs: list[HubStandIn] = []

    def cache_card(license_id: str) -> HubStandIn:
        hub = HubStandIn({(REPO, "README.md"): CARD.format(license=license_id).encode(), (REPO, "train.jsonl"): b""})
        hubs.append(hub.__enter__())
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        assert fetch_card(REPO, token=None) is not None
        hub.requests.clear()
        return hub

    yield cache_card
    for hub in hubs:
        hub.__exit__(None, None, None)


def strict(folder, root) -> FolderContext:
    return FolderContext(folder, CheckSettings(level=Level.STATIC, strict=True), root=root)


def test_a_cached_card_that_contradicts_the_yaml_license_fails_at_the_yaml_line(tmp_path, cache):
    hub = cache("cc-by-nc-4.0")
    folder = build_server(tmp_path, config=hub_config())

    with pytest.raises(CheckFailed) as raised:
        check_license(strict(folder, tmp_path))

    (problem,) = raised.value.problems
    assert (problem.code, problem.location.path, problem.location.line) == ("license.card_mismatch", YAML, 22)
    assert problem.message.startswith(
        "the train dataset is licensed 'Apache 2.0' here, but the dataset card of org/alpha-data (README.md:2, "
        "cached at "
    )
    assert problem.message.endswith("says `license: cc-by-nc-4.0`")
    assert "https://huggingface.co/datasets/org/alpha-data" in problem.hint
    assert hub.requests == []  # read from the cache: no network at the static level


@pytest.mark.parametrize("license_id", ["apache-2.0", "other"])
def test_a_card_that_agrees_or_names_no_comparable_license_passes(tmp_path, cache, license_id):
    cache(license_id)
    folder = build_server(tmp_path, config=hub_config())
    ctx = strict(folder, tmp_path)

    check_license(ctx)

    assert ctx.notes == []


def test_the_card_is_compared_only_with_gym_strict(tmp_path, cache):
    cache("mit")
    folder = build_server(tmp_path, config=hub_config())

    check_license(FolderContext(folder, CheckSettings(level=Level.STATIC), root=tmp_path))


def test_an_uncached_card_is_noted_not_fetched(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    with HubStandIn({(REPO, "README.md"): CARD.format(license="mit").encode()}) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        folder = build_server(tmp_path, config=hub_config())
        ctx = strict(folder, tmp_path)

        check_license(ctx)

        assert hub.requests == []
    (note,) = ctx.notes
    assert note.startswith("the dataset card of org/alpha-data (train dataset 'train') is not in the local Hub cache (")
    assert "+should_download=true` caches it" in note
