"""The plain-data merge gives what OmegaConf.merge gives, or hands the case to OmegaConf."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf

from gym_conform.core.config.merge import Unmergeable, has_interpolation, is_plain, merge_layers

KEYS = st.sampled_from(["a", "b", "c", 1])
LEAVES = st.sampled_from([0, 1, 2.5, True, None, "x", "???", "${b}", "${oc.env:HOME}", "\\${b}", ""])
TREES = st.recursive(
    LEAVES, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3), max_leaves=12
)
LAYERS = st.lists(st.dictionaries(KEYS, TREES, max_size=4), min_size=1, max_size=4)


def omegaconf_merge(layers: list[dict]) -> dict:
    """What the loader did before: one OmegaConf.merge per layer, then back to plain data."""
    merged = OmegaConf.create({})
    for layer in layers:
        merged = OmegaConf.merge(merged, OmegaConf.create(layer))
    return OmegaConf.to_container(merged, resolve=False)


@settings(max_examples=300, deadline=None)
@given(LAYERS)
def test_the_plain_merge_equals_omegaconf_or_defers_to_it(layers: list[dict]) -> None:
    try:
        ours = merge_layers(layers)
    except Unmergeable:
        return  # the loader then merges with OmegaConf itself
    expected = omegaconf_merge(layers)
    assert ours == expected
    assert [repr(key) for key in ours] == [repr(key) for key in expected]  # key order too


@settings(max_examples=100, deadline=None)
@given(LAYERS)
def test_the_layers_are_not_modified(layers: list[dict]) -> None:
    before = repr(layers)
    try:
        merge_layers(layers)
    except Unmergeable:
        pass
    assert repr(layers) == before


@pytest.mark.parametrize(
    ("layers", "expected"),
    [
        ([{"a": 1}, {"a": "???"}], {"a": 1}),  # a missing value never replaces a set one
        ([{"a": {"x": 1}}, {"a": None}], {"a": None}),
        ([{"a": None}, {"a": {"x": 1}}], {"a": {"x": 1}}),
        ([{"a": {"x": 1}}, {"a": 5}], {"a": 5}),
        ([{"a": [1, 2]}, {"a": [3]}], {"a": [3]}),  # lists are replaced whole
        ([{"a": {"x": 1, "y": 2}}, {"a": {"y": 3, "z": 4}}], {"a": {"x": 1, "y": 3, "z": 4}}),
    ],
)
def test_omegaconf_rules_for_plain_data(layers: list[dict], expected: dict) -> None:
    assert merge_layers(layers) == expected == omegaconf_merge(layers)


@pytest.mark.parametrize(
    "layers",
    [
        [{"a": [1]}, {"a": {"x": 1}}],  # OmegaConf refuses; its error names the layer
        [{"a": "${b}", "b": [1]}, {"a": {"x": 1}}],  # decided by resolving the interpolation
        [{"a": "${b}", "b": 1}, {"a": "???"}],
        [{"a": b"bytes"}],  # not plain YAML data
    ],
)
def test_cases_only_omegaconf_decides_are_handed_back(layers: list[dict]) -> None:
    with pytest.raises(Unmergeable):
        merge_layers(layers)


def test_plain_and_interpolation_detection() -> None:
    assert is_plain({"a": [1, {"b": None}], 2: "x"})
    assert not is_plain({True: 1})
    assert has_interpolation({"a": ["x", {"b": "${c}"}]})
    assert not has_interpolation({"a": ["x", {"b": "$c"}]})
