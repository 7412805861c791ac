"""Tests for the accepted license strings and near-miss suggestions."""

import pytest

from gym_conform.core.licenses import VALID_LICENSES, format_valid_licenses, suggest_license


def test_valid_licenses_are_nemo_gyms_exact_strings_in_order():
    assert VALID_LICENSES == (
        "Apache 2.0",
        "MIT",
        "Creative Commons Attribution 4.0 International",
        "Creative Commons Attribution-ShareAlike 4.0 International",
        "CC BY-SA 4.0",
        "CC BY-NC 3.0",
        "NVIDIA Internal Use Only, Do Not Distribute",
        "NVIDIA Evaluation Dataset License Agreement",
        "TBD",
        "GNU General Public License v3.0",
    )


@pytest.mark.parametrize(
    ("given", "meant"),
    [
        ("Apache-2.0", "Apache 2.0"),
        ("apache2", "Apache 2.0"),
        ("Apache License 2.0", "Apache 2.0"),
        ("Apache License, Version 2.0", "Apache 2.0"),
        ("apache 2.0", "Apache 2.0"),
        ("mit", "MIT"),
        ("MIT License", "MIT"),
        ("CC-BY-4.0", "Creative Commons Attribution 4.0 International"),
        ("cc by 4.0", "Creative Commons Attribution 4.0 International"),
        ("CC-BY-SA-4.0", "Creative Commons Attribution-ShareAlike 4.0 International"),
        ("cc by-sa 4.0", "CC BY-SA 4.0"),
        ("GPL-3.0", "GNU General Public License v3.0"),
        ("GPLv3", "GNU General Public License v3.0"),
        ("gpl-3.0-only", "GNU General Public License v3.0"),
        ("CC-BY-NC-3.0", "CC BY-NC 3.0"),
        ("tbd", "TBD"),
        ("Apahce 2.0", "Apache 2.0"),
        ("NVIDIA Internal Use Only", "NVIDIA Internal Use Only, Do Not Distribute"),
    ],
)
def test_near_misses_map_to_the_accepted_string(given, meant):
    assert suggest_license(given) == meant


@pytest.mark.parametrize("valid", VALID_LICENSES)
def test_exact_strings_are_never_near_misses(valid):
    assert suggest_license(valid) is None


@pytest.mark.parametrize("unrelated", ["BSD-3-Clause", "proprietary", ""])
def test_unrelated_values_have_no_suggestion(unrelated):
    assert suggest_license(unrelated) is None


def test_suggestions_are_always_accepted_strings_never_spdx_ids():
    for given in ["Apache-2.0", "MIT License", "CC-BY-4.0", "GPL-3.0-or-later", "CC-BY-NC-3.0"]:
        assert suggest_license(given) in VALID_LICENSES


def test_format_valid_licenses_quotes_every_string():
    text = format_valid_licenses()
    assert all(f"'{valid}'" in text for valid in VALID_LICENSES)
