"""`resolve_simple` gives what OmegaConf gives, or None so that OmegaConf decides (property-tested)."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf

from gym_conform.core.config.simple_resolve import resolve_simple

KEYS = st.sampled_from(["a", "b", "c", "judge", "url", "port"])
SET_VARIABLE, UNSET_VARIABLE = "GYM_CONFORM_SIMPLE_SET", "GYM_CONFORM_SIMPLE_UNSET"
REFERENCES = st.one_of(
    st.builds(lambda k: f"${{{k}}}", KEYS),
    st.builds(lambda k, j: f"${{{k}.{j}}}", KEYS, KEYS),
    st.sampled_from(
        [
            f"${{oc.env:{SET_VARIABLE}}}",
            f"${{oc.env:{UNSET_VARIABLE},8000}}",
            f"${{oc.env:{UNSET_VARIABLE},null}}",
            f"${{oc.env:{UNSET_VARIABLE},true}}",
            f"${{oc.env:{UNSET_VARIABLE}}}",
            "${oc.select:a,1}",
            "${.a}",
            "\\${a}",
        ]
    ),
)
TEXTS = st.one_of(
    REFERENCES,
    st.builds(
        lambda pre, ref, post: f"{pre}{ref}{post}",
        st.sampled_from(["", "x", "http://"]),
        REFERENCES,
        st.sampled_from(["", "/v1", " y"]),
    ),
)
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.sampled_from([1.5, 0.0]), st.sampled_from(["s", "", "???"]), TEXTS
)
TREES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.dictionaries(KEYS, inner, max_size=4), st.lists(inner, max_size=3)),
    max_leaves=12,
)


def omegaconf(tree: dict):
    try:
        return True, OmegaConf.to_container(OmegaConf.create(tree), resolve=True)
    except Exception:
        return False, None


@pytest.fixture(autouse=True)
def _variables(monkeypatch):
    monkeypatch.setenv(SET_VARIABLE, "from-env")
    monkeypatch.delenv(UNSET_VARIABLE, raising=False)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(KEYS, TREES, max_size=5))
def test_a_simple_resolution_is_exactly_omegaconfs(tree):
    os.environ[SET_VARIABLE] = "from-env"  # hypothesis reuses the fixture's environment across examples
    fast = resolve_simple(tree)
    if fast is not None:
        ok, slow = omegaconf(tree)
        assert ok and fast == slow and type(fast) is type(slow)


def test_the_corpus_forms_resolve_without_omegaconf():
    tree = {
        "port": "${oc.env:GYM_CONFORM_SIMPLE_UNSET,8000}",
        "judge": {"url": "http://${c.host}:${c.port}/v1", "key": "${oc.env:GYM_CONFORM_SIMPLE_SET}"},
        "c": {"host": "localhost", "port": 9000},
        "copy": "${c}",
    }

    assert resolve_simple(tree) == {
        "port": "8000",
        "judge": {"url": "http://localhost:9000/v1", "key": "from-env"},
        "c": {"host": "localhost", "port": 9000},
        "copy": {"host": "localhost", "port": 9000},
    }


@pytest.mark.parametrize(
    "tree",
    [
        {"a": "${b}"},  # missing key
        {"a": "${a}"},  # cycle
        {"a": "${oc.env:GYM_CONFORM_SIMPLE_UNSET}"},  # unset variable, no default
        {"a": "${oc.select:b,1}"},  # another resolver
        {"a": "x${b}", "b": None},  # OmegaConf writes 'None' into text
        {"a": "???"},
    ],
)
def test_what_only_omegaconf_can_decide_is_left_to_it(tree):
    assert resolve_simple(tree) is None
