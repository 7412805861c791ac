"""quick_params accepts only rows the pydantic path accepts, and counts words, turns and strings like it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gym_conform.core.metrics.dataset_metrics import json_word_count, user_turns
from gym_conform.core.rows import check_row
from gym_conform.prepare.canonical import count_strings
from gym_conform.prepare.quickcheck import quick_params
from tests.conftest import MAKE_OPENMATH, REPO_ROOT

TEXT = st.text(alphabet=st.sampled_from(list('ab  \t\n"\\/é😀\x00\x7f\ud800')), max_size=12)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    TEXT,
)
JSON = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3), max_leaves=8
)
ROLES = st.sampled_from(["user", "assistant", "system", "developer", "tool", "User", ""])
MESSAGE = st.fixed_dictionaries(
    {"role": ROLES, "content": st.one_of(TEXT, JSON)},
    optional={"type": st.sampled_from(["message", "input_text", None]), "id": TEXT, "extra": JSON},
)
TOOL = st.fixed_dictionaries(
    {"type": st.sampled_from(["function", "web_search", "func"]), "name": st.one_of(TEXT, JSON)},
    optional={
        "parameters": st.one_of(st.none(), st.dictionaries(TEXT, JSON, max_size=3), JSON),
        "description": st.one_of(st.none(), TEXT, JSON),
        "strict": st.one_of(st.none(), st.booleans(), JSON),
        "other": JSON,
    },
)
OPTION_VALUES = {
    "temperature": st.one_of(SCALARS, JSON),
    "top_p": SCALARS,
    "max_output_tokens": SCALARS,
    "max_tool_calls": SCALARS,
    "top_logprobs": SCALARS,
    "model": SCALARS,
    "instructions": SCALARS,
    "user": SCALARS,
    "previous_response_id": SCALARS,
    "background": SCALARS,
    "store": SCALARS,
    "parallel_tool_calls": SCALARS,
    "tools": st.one_of(st.none(), st.lists(TOOL, max_size=3), JSON),
    "metadata": st.one_of(st.none(), st.dictionaries(TEXT, st.one_of(TEXT, SCALARS), max_size=3), JSON),
    "tool_choice": SCALARS,
    "stream": SCALARS,
    "unknown": JSON,
}
PARAMS = st.fixed_dictionaries(
    {},
    optional={
        "input": st.one_of(TEXT, st.lists(MESSAGE, max_size=4), JSON),
        **OPTION_VALUES,
    },
)


def generic_facts(params: dict) -> tuple:
    """What the metrics take from valid params, the slow way."""
    tools = params.get("tools")
    return (
        None if tools is None else len(tools),
        user_turns(params.get("input")),
        params.get("temperature"),
        json_word_count(params),
        count_strings(params),
    )


def assert_agrees(params: object) -> bool:
    """Assert quick_params never accepts what check_row rejects, and counts alike; return whether it took it."""
    facts = quick_params(params)
    if facts is None:
        return False
    assert check_row({"responses_create_params": params}) == []
    assert tuple(facts) == generic_facts(params)
    return True


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(PARAMS)
def test_quick_path_accepts_only_valid_params_and_counts_like_the_slow_path(params):
    assert_agrees(params)


@given(st.lists(st.fixed_dictionaries({"role": st.sampled_from(["user", "system"]), "content": TEXT}), max_size=4))
def test_plain_messages_always_take_the_quick_path(messages):
    assert assert_agrees({"input": messages, "temperature": 0.5})


def example_rows() -> list[dict]:
    rows = []
    for path in sorted(REPO_ROOT.glob("resources_servers/*/data/example.jsonl")):
        rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return rows


def test_shipped_example_rows_agree():
    rows = example_rows()
    assert rows
    for row in rows:
        assert_agrees(row["responses_create_params"])


def test_openmath_rows_agree_and_are_quick(tmp_path: Path):
    make = MAKE_OPENMATH
    subprocess.run([sys.executable, str(make), "400", str(tmp_path)], check=True, capture_output=True)
    for line in (tmp_path / "train.jsonl").read_text(encoding="utf-8").splitlines():
        assert assert_agrees(json.loads(line)["responses_create_params"])


@pytest.mark.parametrize(
    "params",
    [
        {"input": "x", "temperature": True},
        {"input": "x", "max_output_tokens": 1.0},
        {"input": [{"role": "tool", "content": "x"}]},
        {"input": [{"role": "user", "content": [{"type": "input_text", "text": "x"}]}]},
        {"input": [{"role": "user", "content": "x", "type": "function_call"}]},
        {"input": "x", "tools": [{"type": "function", "name": "f"}]},
        {"input": "x", "metadata": {"k": 1}},
        {"input": "x", "reasoning": {"effort": "low"}},
        {"temperature": 0.5},
        "not a dict",
    ],
)
def test_unusual_params_go_to_the_models(params):
    assert quick_params(params) is None
