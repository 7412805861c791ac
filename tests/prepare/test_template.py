"""Row templates take only json.dumps-form rows of the learnt shape, and record what parsing would."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
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
    template = RowTemplate.learn(row, facts, trace)
    assert template is not None
    return template, trace


def metrics_of(trace: MetricsTrace) -> dict:
    metrics = DatasetMetrics()
    trace.replay(metrics, 1)
    return metrics.to_json()


def parsed_trace(rows: list[dict]) -> MetricsTrace:
    trace = MetricsTrace()
    for row in rows:
        facts = quick_params(row["responses_create_params"])
        trace.observe(row, facts.tools, facts.turns, facts.temperature, facts.words, 1)
    return trace


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(TEXT, TEXT, st.integers(min_value=-(10**20), max_value=10**20)), min_size=1, max_size=4))
def test_taken_lines_are_dumps_form_and_record_like_parsing(values):
    seed = shaped("q", "a", 1)
    rows = [shaped(question, answer, score) for question, answer, score in values]
    lines = [json.dumps(row).encode() for row in rows]
    template, by_template = learnt(seed)
    screened, parts = template.screen(lines)
    taken = [strings for strings in screened if strings is not None]
    for line, strings, (question, answer, _) in zip(lines, screened, values, strict=True):
        if strings is None:
            # Only a string with a quote or a lone surrogate, or an integer beyond 18 digits, is refused.
            text = line.decode()
            assert (
                '\\"' in text
                or "\\ud8" in text
                or "\\udc" in text
                or "\\/" in text
                or any(len(str(abs(score))) > 18 for _, _, score in values)
            )
        else:
            assert json.dumps(json.loads(line)).encode() == line
            # The free strings, in line order: the system and user contents, the answer, the tags.
            assert strings == ["Be brief.", question, answer, answer, "fixed"]
    template.record([cut for cut, got in zip(parts, screened, strict=True) if got is not None], taken, by_template, 1)
    expected = parsed_trace([seed] + [row for row, got in zip(rows, screened, strict=True) if got is not None])
    assert metrics_of(by_template) == metrics_of(expected)
    # A template records into the trace it was learnt with: a second one measures the region.
    template, by_region = learnt(seed)
    joined = b"\n".join(lines)
    region = template.screen_region(joined)
    assert (region is not None) == all(row is not None for row in screened)
    if region is not None:
        region_parts, region_strings, region_lines = region
        assert region_lines == len(lines)
        assert region_strings == [list(column) for column in zip(*taken, strict=True)]
        template.record_region(region_parts, region_strings, by_region, 1, joined)
        assert metrics_of(by_region) == metrics_of(expected)
        suffix = b', "agent_ref": ' + json.dumps(REF).encode() + b"}\n"
        assert template.collated_region(region_parts, len(lines), suffix) == b"".join(
            json.dumps({**row, "agent_ref": REF}).encode() + b"\n" for row in rows
        )


BODIES = st.text(alphabet=st.sampled_from(list('ab \\/"ntrbfu0123456789abcdefABCDEFxX\x01\x7f')), max_size=16)


@settings(max_examples=3000, deadline=None)
@given(BODIES)
def test_orjson_takes_a_string_body_only_as_json_loads_reads_it(body):
    line = ('{"k": "' + body + '"}').encode()
    try:
        mine = orjson.loads(line)
    except ValueError:
        return
    assert json.loads(line) == mine


@settings(max_examples=1000, deadline=None)
@given(st.lists(TEXT, min_size=1, max_size=3))
def test_orjson_reads_dumps_form_lines_as_json_loads(texts):
    line = json.dumps({"t": texts, "n": [1.5, -0.0, 1e300, 2**63 - 1]}).encode("utf-8", "surrogatepass")
    try:
        mine = orjson.loads(line)
    except ValueError:
        assert "\\ud" in line.decode()  # a lone surrogate: the template does not take the line
        return
    assert repr(mine) == repr(json.loads(line))


@pytest.mark.parametrize(
    "line",
    [
        json.dumps(shaped("x", "y", 1), separators=(",", ":")),
        json.dumps(shaped("x/y", "y", 1)).replace("/", "\\/"),
        json.dumps(shaped("\u00e9", "y", 1)).replace("\\u00e9", "\\u00E9"),
        json.dumps(shaped("A", "y", 1)).replace('"A"', '"\\u0041"'),
        json.dumps(shaped("\u00e9", "y", 1), ensure_ascii=False),
        json.dumps(shaped("x", "y", 1)).replace('"score": 1', '"score": -0'),
        json.dumps(shaped("x", "y", 1)).replace('"score": 1', '"score": 1.0'),
        json.dumps(shaped("x", "y", 1)).replace('"score": 1', '"score": 01'),
        json.dumps(shaped("x", "y", 1, user="assistant")),
        json.dumps(shaped("x", "y", 1)).replace("0.5", "0.7"),
        json.dumps(shaped("x\x7f", "y", 1), ensure_ascii=False),
        json.dumps(shaped("x", "y", 1)).replace('"x"', '"x\x01"'),
        json.dumps(shaped("x", "y", 1)).replace('"x"', '"x\\q"'),
        json.dumps(shaped("x", "y", 1)).replace('"x"', '"\\ud800"'),
        json.dumps(shaped("x", "y", 1)) + " ",
        json.dumps(shaped("x", "y", 1)) + "\r",
        json.dumps({**shaped("x", "y", 1), "agent_ref": REF}),
    ],
)
def test_other_shapes_or_forms_are_not_taken(line):
    template, _ = learnt(shaped("q", "a", 1))
    raw = line.encode("utf-8", "surrogatepass")
    assert template.screen([raw])[0] == [None]
    good = json.dumps(shaped("x", "y", 2)).encode()
    assert template.screen_region(good + b"\n" + raw) is None
    assert template.screen_region(good) is not None


def test_a_row_with_a_quote_in_a_string_gives_no_template():
    row = shaped('say "hi"', "a", 1)
    facts = quick_params(row["responses_create_params"])
    assert RowTemplate.learn(row, facts, parsed_trace([row])) is None


def test_template_rows_give_json_dumps_output_and_sequential_metrics(tmp_path: Path):
    texts = ["plain", 'quote " and \\ back', "new\nline\ttab", "caf\u00e9 \U0001f600", "two  spaces", "\\ud800"]
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


BAD_IN_A_RUN = {
    "tab": ('"question', '"question\t', [(1701, "row.json")]),
    "unknown escape": ('"question', '"question\\q', [(1701, "row.json")]),
    "lone surrogate": ('"question', '"\\ud800', [(1701, "row.surrogate")]),
    "bad answer escape": ('"y"', '"y\\xy"', [(1701, "row.json")]),
    # A raw newline in a string cuts the row in two lines, neither of them JSON.
    "raw newline": ('"question', '"question\n', [(1701, "row.json"), (1702, "row.json")]),
}


@pytest.mark.parametrize("kind", list(BAD_IN_A_RUN))
def test_a_bad_string_inside_a_run_of_template_rows_is_a_problem_at_its_line(tmp_path: Path, kind: str):
    good, bad, expected = BAD_IN_A_RUN[kind]
    lines = [json.dumps(shaped(f"question {i}", "y", i)) for i in range(3000)]
    lines[1700] = lines[1700].replace(good, bad, 1)
    assert lines[1700] != lines[1699].replace("1699", "1700")
    path = tmp_path / "train.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    scan = scan_range(RangeTask(str(path), 0, path.stat().st_size, "agent", 1), None)
    assert [(line, problem.code) for line, problem in scan.problems] == expected
    assert scan.rows == 2999
    assert scan.lines == 3000 + len(expected) - 1


def test_rows_with_escapes_json_dumps_does_not_write_are_collated_in_json_dumps_form(tmp_path: Path):
    rows = [shaped(f"a/b {i}", "\u00e9", i) for i in range(3000)]
    lines = [json.dumps(row) for row in rows]
    lines[5] = lines[5].replace("a/b", "a\\/b")
    lines[2500] = lines[2500].replace("\\u00e9", "\\u00E9")
    path = tmp_path / "train.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with open(tmp_path / "out.jsonl", "wb") as sink:
        scan = scan_range(RangeTask(str(path), 0, path.stat().st_size, "agent", 1), sink)
    assert scan.problems == []
    assert (tmp_path / "out.jsonl").read_bytes() == "".join(
        json.dumps({**row, "agent_ref": REF}) + "\n" for row in rows
    ).encode()
