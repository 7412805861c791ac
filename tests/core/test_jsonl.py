"""Tests for JSONL line reading and strict JSON parsing."""

from __future__ import annotations

import json
import os

import pytest

from gym_conform.core.jsonl import JsonLineError, iter_jsonl_lines, json_type_name, parse_json_line
from gym_conform.errors import DataError, GymConformError


def test_crlf_and_blank_lines_keep_physical_line_numbers(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_bytes(b'{"a": 1}\r\n\r\n   \t\r\n{"b": 2}\n\n{"c": 3}')

    assert list(iter_jsonl_lines(path)) == [(1, '{"a": 1}'), (4, '{"b": 2}'), (6, '{"c": 3}')]


@pytest.mark.parametrize("where", ["first", "later"])
def test_a_bom_is_refused_on_any_line_as_nemo_gym_json_loads_refuses_it(tmp_path, where):
    path = tmp_path / "rows.jsonl"
    body = b'\xef\xbb\xbf{"a": 1}\n{"b": 2}\n' if where == "first" else b'{"a": 1}\n\xef\xbb\xbf{"b": 2}\n'
    path.write_bytes(body)

    lines = list(iter_jsonl_lines(path))
    bad = 0 if where == "first" else 1
    with pytest.raises(JsonLineError) as caught:
        parse_json_line(lines[bad][1])
    assert caught.value.code == "row.bom"
    assert parse_json_line(lines[1 - bad][1]) in ({"a": 1}, {"b": 2})
    with pytest.raises(ValueError, match="BOM"):
        json.loads(body.decode("utf-8").splitlines()[bad])  # what NeMo Gym's reader does with the line


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
    assert error.message == "invalid UTF-8: byte 0xe9 at column 11 (byte 11)"
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


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ('{"a": "\\ud800"}', 8),
        ('{"a": "x\\udc00"}', 9),
        ('{"a": "\\ud83d\\ude00\\ud83d"}', 20),
        ('{"a": "\\ud83dz"}', 8),
        ('{"a": "\\uD800\\u0041"}', 8),
    ],
)
def test_lone_surrogate_escapes_are_refused_with_their_column(text, column):
    assert isinstance(json.loads(text)["a"], str)  # Python's json takes them: the strings cannot be written as UTF-8

    with pytest.raises(JsonLineError) as caught:
        parse_json_line(text)

    assert caught.value.code == "row.surrogate"
    assert f"column {column}" in caught.value.message


@pytest.mark.parametrize("text", ['{"a": "\\ud83d\\ude00"}', '{"a": "\\\\ud800"}', '{"a": "\\\\\\ud83d\\uDE00"}'])
def test_surrogate_pairs_and_escaped_backslashes_pass(text):
    assert parse_json_line(text) == json.loads(text)


def test_nul_byte_is_refused_with_its_column():
    with pytest.raises(JsonLineError) as caught:
        parse_json_line('{"a": "x\x00"}')
    assert caught.value.code == "row.nul"
    assert "column 9" in caught.value.message
    assert parse_json_line('{"a": "x\\u0000"}') == {"a": "x\x00"}  # the escape is valid JSON


def test_overlong_line_stops_the_file_without_reading_it_whole(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_bytes(b'{"a": 1}\n' + b"x" * 5000 + b"\n{}\n")

    with pytest.raises(DataError) as caught:
        list(iter_jsonl_lines(path, max_line_bytes=4096))

    assert caught.value.code == "row.too_long"
    assert caught.value.location.line == 2
    assert "4,096 bytes" in caught.value.message
    assert [n for n, _ in iter_jsonl_lines(path, max_line_bytes=5000)] == [1, 2, 3]


def test_a_fifo_or_directory_is_refused_without_being_opened(tmp_path):
    fifo = tmp_path / "rows.jsonl"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer forever

    for path, kind in ((fifo, "FIFO"), (tmp_path, "directory")):
        with pytest.raises(GymConformError) as caught:
            list(iter_jsonl_lines(path))
        assert caught.value.code == "file.not_regular"
        assert kind in caught.value.message
