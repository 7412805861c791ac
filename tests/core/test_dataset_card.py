"""Tests of gym_conform.core.dataset_card: a card's `license:` metadata and when it contradicts a config's."""

from __future__ import annotations

import pytest

from gym_conform.core.dataset_card import CardLicense, card_license, contradicts, hub_repo
from gym_conform.core.licenses import license_of_spelling


def test_the_license_of_a_card_and_its_line():
    card = "---\npretty_name: Alpha\nlicense: cc-by-nc-4.0\ntask_categories:\n- question-answering\n---\n# Alpha\n"
    assert card_license(card) == CardLicense(("cc-by-nc-4.0",), 3)


def test_a_list_of_licenses_is_kept_in_order():
    assert card_license("---\nlicense:\n- mit\n- apache-2.0\n---\n") == CardLicense(("mit", "apache-2.0"), 2)


@pytest.mark.parametrize(
    "card",
    [
        "# Alpha\nlicense: mit\n",  # no metadata block
        "---\nlicense: mit\n",  # a block that never ends
        "---\npretty_name: Alpha\n---\n",  # no license in it
        "---\nlicense: [mit\n---\n",  # YAML that does not parse
        "---\n- mit\n---\n",  # metadata that is not a mapping
    ],
)
def test_a_card_without_readable_license_metadata_says_nothing(card):
    assert card_license(card) is None


@pytest.mark.parametrize(
    ("config", "card", "expected"),
    [
        ("Apache 2.0", ("apache-2.0",), False),
        ("Apache 2.0", ("cc-by-nc-4.0",), True),
        ("MIT", ("apache-2.0", "mit"), False),
        ("CC BY-SA 4.0", ("cc-by-sa-4.0",), False),  # the short accepted spelling of the same license
        ("Creative Commons Attribution 4.0 International", ("cc-by-sa-4.0",), True),
        ("CC BY-NC 3.0", ("cc-by-nc-4.0",), True),  # another version is another license
        ("Apache 2.0", ("other",), False),  # nothing to compare with
        ("Apache 2.0", ("unknown",), False),
        ("TBD", ("mit",), False),  # the config has not decided yet
    ],
)
def test_contradicts_compares_exact_licenses_only(config, card, expected):
    assert contradicts(config, CardLicense(card, 1)) is expected


def test_license_of_spelling_takes_no_near_misses():
    assert license_of_spelling("apache-2.0") == "Apache 2.0"
    assert license_of_spelling("cc-by-nc-4.0") is None  # suggest_license would guess CC BY-NC 3.0


def test_hub_repo_reads_both_source_forms():
    from gym_conform.core.config.schema_datasets import validate_dataset

    legacy, _ = validate_dataset(
        {
            "name": "t",
            "type": "train",
            "jsonl_fpath": "t.jsonl",
            "license": "MIT",
            "huggingface_identifier": {"repo_id": "org/a"},
        }  # fmt: skip
    )
    unified, _ = validate_dataset(
        {
            "name": "t",
            "type": "train",
            "jsonl_fpath": "t.jsonl",
            "license": "MIT",
            "source": {"type": "huggingface", "repo_id": "org/b"},
        }  # fmt: skip
    )
    local, _ = validate_dataset({"name": "t", "type": "train", "jsonl_fpath": "t.jsonl", "license": "MIT"})
    assert (hub_repo(legacy), hub_repo(unified), hub_repo(local)) == ("org/a", "org/b", None)
