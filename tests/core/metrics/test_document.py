"""The metrics document: NeMo Gym's exact text, config-then-metrics order, and loading with clear errors."""

import json

import pytest

from gym_conform.core.metrics.dataset_metrics import DatasetMetrics
from gym_conform.core.metrics.document import dumps_metrics, load_metrics, metrics_document
from gym_conform.errors import DataError

CONFIG = {
    "name": "example",
    "type": "example",
    "jsonl_fpath": "resources_servers/demo/data/example.jsonl",
    "num_repeats": 1,
    "source": None,
    "gitlab_identifier": None,
    "huggingface_identifier": None,
    "license": None,
}

GOLDEN_ROWS = """\
{"responses_create_params": {"input": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 2+2?"}], "tools": [], "temperature": 0.5}, "expected_answer": "4", "id": 0, "verified": true}
{"responses_create_params": {"input": "Say hi"}, "expected_answer": "hi", "id": 1, "verified": false}
{"responses_create_params": {"input": [{"role": "user", "content": "Café?"}, {"role": "assistant", "content": "Oui"}, {"role": "user", "content": "Merci"}], "temperature": 1.0}, "expected_answer": "4", "id": 2, "verified": true}
{"responses_create_params": {"input": [{"role": "user", "content": "Add 1 and 2"}], "tools": [{"type": "function", "name": "add", "parameters": {}}]}, "expected_answer": "3", "id": 3, "verified": true}
{"responses_create_params": {"input": [{"role": "system", "content": "Hi"}]}, "expected_answer": "ok", "id": 4, "verified": true, "agent_ref": {"type": "responses_api_agents", "name": "demo_simple_agent"}}
"""

# Worked by hand from GOLDEN_ROWS:
# words (json.dumps of params split on spaces): 16, 3, 15 ("Caf\u00e9?"}, is one word), 15, 5
#   mean 54/5 = 10.8; squared deviations 27.04+60.84+17.64+17.64+33.64 = 156.8; std sqrt(156.8/4) = 6.261
# tools: rows 1 ([] -> 0) and 4 (1): mean 0.5, std sqrt(0.5) = 0.707
# turns: 1, 1 (string input), 2, 1; row 5 has no user item: mean 1.25, std sqrt(0.75/3) = 0.5
# temperature: 0.5, 1.0: mean 0.75, std sqrt(0.125) = 0.354
# expected_answer: 4, hi, 4, 3, ok -> 4 unique of 5; id 0..4: mean 2, std sqrt(10/4) = 1.58
# verified: 1, 0, 1, 1, 1: mean 0.8, std sqrt(0.8/4) = 0.447; agent_ref is a dict: ignored
GOLDEN_TEXT = """\
{
    "name": "example",
    "type": "example",
    "jsonl_fpath": "resources_servers/demo/data/example.jsonl",
    "num_repeats": 1,
    "source": null,
    "gitlab_identifier": null,
    "huggingface_identifier": null,
    "license": null,
    "Number of examples": 5,
    "Number of tools": {
        "Total # non-null values": 2,
        "Average": 0.5,
        "Min": 0.0,
        "Max": 1.0,
        "Standard deviation": 0.707
    },
    "Json-dumped number of words (proxy for token count)": {
        "Total # non-null values": 5,
        "Average": 10.8,
        "Min": 3.0,
        "Max": 16.0,
        "Standard deviation": 6.26
    },
    "Number of turns": {
        "Total # non-null values": 4,
        "Average": 1.25,
        "Min": 1.0,
        "Max": 2.0,
        "Standard deviation": 0.5
    },
    "Temperature": {
        "Total # non-null values": 2,
        "Average": 0.75,
        "Min": 0.5,
        "Max": 1.0,
        "Standard deviation": 0.354
    },
    "expected_answer": {
        "unique_count": 4,
        "total_count": 5
    },
    "id": {
        "Total # non-null values": 5,
        "Average": 2.0,
        "Min": 0.0,
        "Max": 4.0,
        "Standard deviation": 1.58
    },
    "verified": {
        "Total # non-null values": 5,
        "Average": 0.8,
        "Min": 0.0,
        "Max": 1.0,
        "Standard deviation": 0.447
    }
}"""


def test_golden_example_metrics_file_byte_for_byte():
    metrics = DatasetMetrics()
    for line in GOLDEN_ROWS.splitlines():
        metrics.observe_row(json.loads(line))
    assert dumps_metrics(metrics_document(CONFIG, metrics)) == GOLDEN_TEXT


def test_dumps_uses_four_spaces_ascii_escapes_float_forms_and_no_trailing_newline():
    text = dumps_metrics({"name": "café", "x": 2.0, "n": {"a": 1, "b": None}})
    assert (
        text == '{\n    "name": "caf\\u00e9",\n    "x": 2.0,\n    "n": {\n        "a": 1,\n        "b": null\n    }\n}'
    )


def test_document_puts_config_first_and_extras_named_like_config_keys_replace_them_in_place():
    metrics = DatasetMetrics()
    metrics.observe_row({"responses_create_params": {"input": "q"}, "name": "row-name"})
    document = metrics_document({"name": "example", "type": "example"}, metrics)
    assert list(document)[:3] == ["name", "type", "Number of examples"]
    assert document["name"] == {"unique_count": 1, "total_count": 1}


def test_load_metrics_round_trips_and_accepts_a_bom(tmp_path):
    path = tmp_path / "example_metrics.json"
    path.write_bytes(b"\xef\xbb\xbf" + GOLDEN_TEXT.encode("ascii"))
    loaded = load_metrics(path)
    assert loaded["Number of examples"] == 5
    assert dumps_metrics(loaded) == GOLDEN_TEXT


def test_load_metrics_reports_malformed_json_with_its_line(tmp_path):
    path = tmp_path / "example_metrics.json"
    path.write_text('{\n    "name": "example",\n    "type": \n}')
    with pytest.raises(DataError) as caught:
        load_metrics(path)
    assert caught.value.code == "metrics.malformed"
    assert caught.value.location.path == str(path)
    assert caught.value.location.line == 4
    assert "regenerate" in caught.value.hint


def test_load_metrics_requires_an_object(tmp_path):
    path = tmp_path / "example_metrics.json"
    path.write_text("[1, 2]")
    with pytest.raises(DataError) as caught:
        load_metrics(path)
    assert caught.value.code == "metrics.malformed"
    assert "an array" in caught.value.message


def test_load_metrics_rejects_non_utf8_and_missing_files(tmp_path):
    path = tmp_path / "example_metrics.json"
    path.write_bytes(b'{"name": "\xff"}')
    with pytest.raises(DataError) as caught:
        load_metrics(path)
    assert caught.value.code == "metrics.malformed"
    with pytest.raises(DataError) as caught:
        load_metrics(tmp_path / "absent_metrics.json")
    assert caught.value.code == "metrics.missing"
