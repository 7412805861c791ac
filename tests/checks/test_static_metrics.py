"""Tests for the `example_metrics` snapshot check and its --gym-update-metrics rewrite."""

from __future__ import annotations

import json

import pytest

from gym_conform.checks import CheckFailed, CheckSettings, CheckSkipped, FolderContext, Level
from gym_conform.checks.static_metrics import check_example_metrics
from tests.checks import CONFIG, ROWS, build_server, make_row, metrics_text

METRICS = "resources_servers/alpha/data/example_metrics.json"


def context(folder, root, update=False) -> FolderContext:
    return FolderContext(folder, CheckSettings(level=Level.STATIC, update_metrics=update), root=root)


def stale_metrics() -> str:
    document = json.loads(metrics_text("alpha", ROWS))
    document["Number of turns"]["Average"] = 2.0
    document["license"] = "MIT"
    return json.dumps(document, indent=4)


def test_matching_metrics_pass(tmp_path):
    check_example_metrics(context(build_server(tmp_path), tmp_path))


def test_differences_within_nemo_gyms_tolerance_pass(tmp_path):
    document = json.loads(metrics_text("alpha", ROWS))
    document["Json-dumped number of words (proxy for token count)"]["Average"] += 0.004

    check_example_metrics(context(build_server(tmp_path, metrics=json.dumps(document)), tmp_path))


def test_stale_metrics_fail_with_every_difference(tmp_path):
    folder = build_server(tmp_path, metrics=stale_metrics())

    with pytest.raises(CheckFailed) as raised:
        check_example_metrics(context(folder, tmp_path))

    (problem,) = raised.value.problems
    assert problem.code == "metrics.stale"
    assert problem.location.path == METRICS
    assert "Numeric mismatch at Number of turns.Average: 2.0 != 1.0" in problem.message
    assert "Value differs at license: MIT != None" in problem.message
    assert problem.hint == "rerun with --gym-update-metrics to rewrite it"
    assert not list((folder / "data").glob("*conflict*"))


def test_update_rewrites_stale_metrics_and_notes_it(tmp_path):
    folder = build_server(tmp_path, metrics=stale_metrics())
    ctx = context(folder, tmp_path, update=True)

    check_example_metrics(ctx)

    assert (folder / "data" / "example_metrics.json").read_text() == metrics_text("alpha", ROWS)
    assert ctx.notes == [f"updated {METRICS}: 2 difference(s) from the recomputed metrics (--gym-update-metrics)"]


def test_missing_metrics_fail_and_update_creates_them(tmp_path):
    folder = build_server(tmp_path, metrics=False)
    with pytest.raises(CheckFailed) as raised:
        check_example_metrics(context(folder, tmp_path))
    assert raised.value.problems[0].code == "metrics.missing"

    ctx = context(folder, tmp_path, update=True)
    check_example_metrics(ctx)

    assert (folder / "data" / "example_metrics.json").read_text() == metrics_text("alpha", ROWS)
    assert ctx.notes[0].startswith(f"created {METRICS}")


def test_malformed_metrics_fail_with_the_json_error(tmp_path):
    folder = build_server(tmp_path, metrics="{\n  oops\n}")

    with pytest.raises(CheckFailed) as raised:
        check_example_metrics(context(folder, tmp_path))

    (problem,) = raised.value.problems
    assert (problem.code, problem.location.line) == ("metrics.malformed", 2)
    assert problem.hint.endswith("or rerun with --gym-update-metrics to rewrite it")


def test_num_repeats_of_the_example_dataset_count(tmp_path):
    text = CONFIG.format(name="alpha", train_license="MIT").replace(
        "data/example.jsonl\n", "data/example.jsonl\n        num_repeats: 2\n"
    )
    folder = build_server(tmp_path, config=text)

    with pytest.raises(CheckFailed) as raised:
        check_example_metrics(context(folder, tmp_path))

    assert "Value differs at Number of examples: 5 != 10" in raised.value.problems[0].message


def test_invalid_rows_skip_the_comparison(tmp_path):
    folder = build_server(tmp_path, rows=[*ROWS[:4], {"no": "params"}])

    with pytest.raises(CheckSkipped, match="invalid rows"):
        check_example_metrics(context(folder, tmp_path))


def test_no_example_dataset_skips(tmp_path):
    text = CONFIG.format(name="alpha", train_license="MIT").split("      - name: example")[0]

    with pytest.raises(CheckSkipped, match="no agent declares an example dataset"):
        check_example_metrics(context(build_server(tmp_path, config=text, rows=[make_row(1)] * 5), tmp_path))
