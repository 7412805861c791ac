"""is_dumps_form accepts a line only when it equals json.dumps of its parse, and accepts the common ones."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gym_conform.prepare.canonical import count_strings, is_dumps_form

TEXT = st.text(alphabet=st.sampled_from(list('ab ,:{}[]"\\/\n\té\x7f\x01😀\ud800')), max_size=10)
NUMBERS = st.one_of(st.integers(min_value=-(2**70), max_value=2**70), st.floats(allow_nan=False, allow_infinity=False))
VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), NUMBERS, TEXT),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=10,
)


def proves(text: str) -> bool:
    return is_dumps_form(text.encode("utf-8", "surrogatepass"), count_strings(json.loads(text)))


def variants(draw, value) -> str:
    """Serialize `value` in one of several ways json.loads reads back, most of them not json.dumps' way."""
    style = draw(st.sampled_from(["dumps", "compact", "unicode", "spaced", "slash", "upper", "number", "dup"]))
    text = json.dumps(value)
    if style == "compact":
        text = json.dumps(value, separators=(",", ":"))
    elif style == "unicode":
        text = json.dumps(value, ensure_ascii=False)
    elif style == "spaced":
        text = json.dumps(value, separators=(" , ", " : "))
    elif style == "slash":
        text = text.replace("/", "\\/")
    elif style == "upper":
        text = re.sub(r"\\u([0-9a-f]{4})", lambda m: "\\u" + m.group(1).upper(), text)
    elif style == "number":
        text = re.sub(r"(?<![\w.])0(?![\w.])", "-0", text)
    elif style == "dup" and isinstance(value, dict) and value:
        key = json.dumps(next(iter(value)))
        text = text[:-1] + f", {key}: 0}}"
    return text


@settings(max_examples=2000, deadline=None)
@given(st.data())
def test_a_proved_line_is_exactly_json_dumps_of_its_parse(data):
    value = data.draw(VALUES)
    text = variants(data.draw, value)
    try:
        parsed = json.loads(text)
    except ValueError:
        return
    if proves(text):
        assert text == json.dumps(parsed)


@given(
    st.dictionaries(
        st.text(alphabet="ab _-", max_size=5),
        st.one_of(st.text(alphabet="ab ,:{}[]\\\n/", max_size=8), st.integers(), st.booleans(), st.none()),
        max_size=4,
    )
)
def test_plain_dumps_output_is_proved(value):
    assert proves(json.dumps(value))


@pytest.mark.parametrize(
    "text",
    [
        '{"k":"v" , "k2": 1}',  # blanks moved around a string keep their count but not their place
        '{"k": "v",  "k2": 1}',
        '{"k": "v", "k": "w"}',
        '{"k": -0}',
        '{"k": 1e5}',
        '{"k": 1.50}',
        '{"k": "a\\/b"}',
        '{"k": "\\u00E9"}',
        '{"k": "\\u0041"}',
        '{"k": "\x7f"}',
        '{"k":\t1}',
        ' {"k": 1}',
        '{"k": "\u00e9"}',
    ],
)
def test_lines_json_dumps_would_write_differently_are_not_proved(text):
    assert text != json.dumps(json.loads(text))
    assert not proves(text)


@pytest.mark.parametrize(
    "text",
    [
        '{"k": "a\\\\", "n": [1, -2, 0.5, -0.0, 1e+16, true, null], "e": {}, "l": []}',
        '{"k": "tab\\there\\nnew \\\\u not an escape"}',
    ],
)
def test_dumps_lines_with_numbers_and_escaped_backslashes_are_proved(text):
    assert text == json.dumps(json.loads(text))
    assert proves(text)


def test_escaped_quotes_are_left_to_json_dumps():
    # Canonical, but the proof needs every quote to delimit a string; such lines are simply dumped.
    text = '{"k": "\\"q\\""}'
    assert text == json.dumps(json.loads(text))
    assert not proves(text)
