"""Row templates match only json.dumps-form rows of the learnt shape, and record what parsing would."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gym_conform.core.metrics.dataset_metrics import DatasetMetrics
from gym_conform.prepare.quickcheck import quick_params
from gym_conform.prepare.scan import RangeTask, scan_range
from gym_conform.prepare.template import RowTemplate
from gym_conform.prepare.trace import MetricsTrace

REF = {"type": "responses_api_agents", "name": "agent"}
TEXT = st.text(alphabet=st.sampled_from(list('ab  "\\/\n\t\x00\x7fé😀\ud800{}:,')), max_size=12)


def shaped(question: str, answer: str, score: int, user: str = "user") -> dict:
    return {
        "responses_create_params": {
            "input": [{"role": "system", "content": "Be brief."}, {"role": user, "content": question}],
            "temperature": 0.5,
        },
        "answer": answer,
        "score": score,
        "tags": [answer, "fixed"],
        "counts": [score, 7, True, 2.5],
        "meta": {"k": "v"},
    }


def learnt(row: dict) -> tuple[RowTemplate, MetricsTrace]:
    trace = MetricsTrace()
    facts = quick_params(row["responses_create_params"])
    trace.observe(row, facts.tools, facts.turns, facts.temperature, facts.words, 1)
    return RowTemplate(row, facts, trace), trace


@settings(max_examples=400)
@given(TEXT, TEXT, st.integers(min_value=-(10**20), max_value=10**20))
def test_a_dumps_form_row_of_the_shape_matches_and_records_like_parsing(question, answer, score):
    template, _ = learnt(shaped("q", "a", 1))
    row = shaped(question, answer, score)
    groups = template.match(json.dumps(row).encode())
    if groups is None:
        assert len(str(abs(score))) > 18
        return
    by_template, by_parsing = MetricsTrace(), MetricsTrace()
    template_seed = shaped("q", "a", 1)
    for trace in (by_template, by_parsing):
        facts = quick_params(template_seed["responses_create_params"])
        trace.observe(template_seed, facts.tools, facts.turns, facts.temperature, facts.words, 1)
    template = RowTemplate(template_seed, quick_params(template_seed["responses_create_params"]), by_template)
    template.observe(template.match(json.dumps(row).encode()), by_template, 1)
    facts = quick_params(row["responses_create_params"])
    by_parsing.observe(row, facts.tools, facts.turns, facts.temperature, facts.words, 1)
    left, right = DatasetMetrics(), DatasetMetrics()
    by_template.replay(left, 1)
    by_parsing.replay(right, 1)
    assert left.to_json() == right.to_json()


@pytest.mark.parametrize(
    "line",
    [
        json.dumps(shaped("x", "y", 1), separators=(",", ":")),
        json.dumps(shaped("x/y", "y", 1)).replace("/", "\\/"),
        json.dumps(shaped("\u00e9", "y", 1)).replace("\\u00e9", "\\u00E9"),
        json.dumps(shaped("\u00e9", "y", 1), ensure_ascii=False),
        json.dumps(shaped("x", "y", 1)).replace('"score": 1', '"score": -0'),
        json.dumps(shaped("x", "y", 1)).replace('"score": 1', '"score": 1.0'),
        json.dumps(shaped("x", "y", 1, user="assistant")),
        json.dumps(shaped("x", "y", 1)).replace("0.5", "0.7"),
        json.dumps(shaped("x\x7f", "y", 1), ensure_ascii=False),
        json.dumps(shaped("x", "y", 1)).replace("A", "B") + " ",
        json.dumps({**shaped("x", "y", 1), "agent_ref": REF}),
    ],
)
def test_other_shapes_or_forms_do_not_match(line):
    template, _ = learnt(shaped("q", "a", 1))
    assert template.match(line.encode("utf-8", "surrogatepass")) is None


def test_template_rows_give_json_dumps_output_and_sequential_metrics(tmp_path: Path):
    texts = ["plain", 'quote " and \\ back', "new\nline\ttab", "caf\u00e9 \U0001f600", "two  spaces", "\ud800"]
    rows = [shaped(q, a, i) for i, (q, a) in enumerate((q, a) for q in texts for a in texts)]
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8", errors="surrogatepass")
    with open(tmp_path / "out.jsonl", "wb") as sink:
        scan = scan_range(RangeTask(str(path), 0, path.stat().st_size, "agent", 2), sink)
    assert scan.problems == []
    metrics = DatasetMetrics()
    scan.trace.replay(metrics, 2)
    expected = DatasetMetrics()
    for row in rows:
        expected.observe_row(row, 2)
    assert metrics.to_json() == expected.to_json()
    assert (tmp_path / "out.jsonl").read_bytes() == "".join(
        (json.dumps({**row, "agent_ref": REF}) + "\n") * 2 for row in rows
    ).encode("utf-8", "surrogatepass")
