"""Tests for JSONL line reading and strict JSON parsing."""

from __future__ import annotations

import pytest

from gym_conform.core.jsonl import JsonLineError, iter_jsonl_lines, json_type_name, parse_json_line
from gym_conform.errors import DataError


def test_bom_crlf_and_blank_lines_keep_physical_line_numbers(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}\r\n\r\n   \t\r\n{"b": 2}\n\n{"c": 3}')

    assert list(iter_jsonl_lines(path)) == [(1, '{"a": 1}'), (4, '{"b": 2}'), (6, '{"c": 3}')]


def test_bom_only_stripped_at_file_start(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_bytes(b'{"a": 1}\n\xef\xbb\xbf{"b": 2}\n')

    (_, first), (_, second) = iter_jsonl_lines(path)

    assert first == '{"a": 1}'
    with pytest.raises(JsonLineError):
        parse_json_line(second)


def test_invalid_utf8_line_is_yielded_and_reported_at_parse_time(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_bytes(b'{"a": 1}\n{"b": "caf\xe9"}\n{"c": "\xc3\xa9"}\n')

    lines = list(iter_jsonl_lines(path))

    assert [number for number, _ in lines] == [1, 2, 3]
    assert parse_json_line(lines[2][1]) == {"c": "\u00e9"}
    with pytest.raises(JsonLineError) as caught:
        parse_json_line(lines[1][1])
    error = caught.value.at(path, lines[1][0])
    assert error.code == "row.encoding"
    assert error.message == "invalid UTF-8: byte 0xe9 at column 11"
    assert (error.location.path, error.location.line) == (str(path), 2)
    assert "line 2" in error.hint


def test_parse_error_message_names_the_column():
    with pytest.raises(JsonLineError) as caught:
        parse_json_line('{"a": 1 "b": 2}')

    assert caught.value.code == "row.json"
    assert caught.value.message == "JSON parse error: Expecting ',' delimiter (column 9)"


def test_at_places_the_error_and_names_the_line_in_the_hint():
    with pytest.raises(JsonLineError) as caught:
        parse_json_line("{")

    error = caught.value.at("data/train.jsonl", 7)

    assert isinstance(error, DataError)
    assert str(error.location) == "data/train.jsonl:7"
    assert error.hint == "check quotes, commas and brackets at line 7"


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_constants_are_rejected(constant):
    with pytest.raises(JsonLineError) as caught:
        parse_json_line(f'{{"temperature": {constant}}}')

    assert caught.value.code == "row.json"
    assert constant in caught.value.message


def test_constant_names_inside_strings_are_fine():
    assert parse_json_line('{"word": "NaN", "n": -1.5e3}') == {"word": "NaN", "n": -1500.0}


def test_unreadable_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError) as caught:
        list(iter_jsonl_lines(tmp_path / "missing.jsonl"))

    assert caught.value.code == "data.unreadable"


@pytest.mark.parametrize(
    ("value", "name"),
    [({}, "object"), ([], "array"), ("x", "string"), (1.5, "number"), (True, "boolean"), (None, "null")],
)
def test_json_type_name(value, name):
    assert json_type_name(value) == name
