"""Every `task_data.py` of a NeMo Gym 0.7.0 tree: read statically, imported, and against NeMo Gym's own validator.

Needs a venv where both `nemo_gym` (0.7.0) and this worktree import (the brief's venv313 layering), and the
tree as the current directory's sibling of nothing: pass `--tree`. Not part of the test suite.

    /work/<you>/venv313/bin/python bench/task_data_corpus.py --tree /work/ng070/tree [--json out.json]

For each schema file: (a) load it statically and by importing it; (b) compare both JSON Schemas with the
one NeMo Gym's `load_task_data_schema` gives (what `gym env schema` prints) and the legacy-field sets;
(c) validate every line of every `data/*.jsonl` beside it with the static schema, the imported one and
NeMo Gym's `TaskDataValidator`, comparing each row's buckets (failed row, conflicting / misplaced /
unknown keys) and each file's report text. Then CPU times of loading all files, cold, four ways.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

from gym_conform.core.task_data import TaskDataReport, TaskSchemaError, clear_cache, load_task_schema

# nemo_gym is imported in main(), from the tree's root: importing it puts the current directory on
# sys.path (its component search roots), and `resources_servers.<x>.task_data` must resolve in the tree.
TaskDataValidator: Any = None
legacy_metadata_fields: Any = None
load_task_data_schema: Any = None

_BUCKETS = ("conflicting_keys", "misplaced_keys", "unknown_keys")
_OURS = {"conflict": "conflicting_keys", "misplaced": "misplaced_keys", "unknown_key": "unknown_keys"}


def schema_dirs(tree: Path) -> list[Path]:
    """Every folder of the tree holding a task_data.py (resources servers, then self-contained agents)."""
    found = []
    for base in ("resources_servers", "responses_api_agents", "environments"):
        found.extend(sorted(p.parent for p in (tree / base).glob("*/task_data.py")))
    return found


def ng_row(validator: TaskDataValidator, index: int, row: dict[str, Any]) -> tuple[bool, Counter[str]]:
    """NeMo Gym's verdict on one row: did it fail, and which keys landed in which bucket."""
    report = validator.report
    before_errors = report.error_rows
    before = {name: dict(getattr(report, name)) for name in _BUCKETS}
    validator.validate_row(index, row)
    keys: Counter[str] = Counter()
    for name in _BUCKETS:
        for key, count in getattr(report, name).items():
            added = count - before[name].get(key, 0)
            if added:
                keys[f"{name}:{key}"] += added
    return report.error_rows > before_errors, keys


def our_row(issues: list[Any]) -> tuple[bool, Counter[str]]:
    """Our verdict on one row, in the same terms."""
    keys: Counter[str] = Counter(f"{_OURS[i.bucket]}:{i.key}" for i in issues if i.bucket != "invalid_row")
    return any(i.bucket == "invalid_row" for i in issues), keys


def rows_of(path: Path) -> list[tuple[int, dict[str, Any]]]:
    rows = []
    with path.open(encoding="utf-8") as handle:
        for index, line in enumerate(handle):
            line = line.strip()
            if not line:
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(value, dict):
                rows.append((index, value))
    return rows


def compare_server(folder: Path, tree: Path) -> dict[str, Any]:
    """All comparisons for one schema folder."""
    out: dict[str, Any] = {"server": f"{folder.parent.name}/{folder.name}", "disagreements": []}
    try:
        static = load_task_schema(folder, roots=[tree])
    except TaskSchemaError as exc:
        static, out["static_error"] = None, exc.render()
    try:
        executed = load_task_schema(folder, roots=[tree], execute=True)
    except TaskSchemaError as exc:
        executed, out["exec_error"] = None, exc.render()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ng_adapter = load_task_data_schema(folder)
    assert static is not None and executed is not None and ng_adapter is not None, out
    out["unchecked"] = [str(n) for n in static.unchecked]
    ng_schema = json.dumps(ng_adapter.json_schema(), sort_keys=True)
    out["schema_equal_static"] = json.dumps(static.json_schema(), sort_keys=True) == ng_schema
    out["schema_equal_exec"] = json.dumps(executed.json_schema(), sort_keys=True) == ng_schema
    ng_legacy = legacy_metadata_fields(ng_adapter)
    out["legacy_equal"] = static.legacy_fields == ng_legacy == executed.legacy_fields
    out["legacy_fields"] = len(ng_legacy)
    for flag in ("schema_equal_static", "schema_equal_exec", "legacy_equal"):
        if not out[flag]:
            out["disagreements"].append(f"{flag} is False")
    files = []
    for data in sorted((folder / "data").glob("*.jsonl")):
        files.append(compare_file(data, static, executed, ng_adapter, out["disagreements"]))
    out["files"] = files
    return out


def compare_file(data: Path, static: Any, executed: Any, ng_adapter: Any, disagreements: list[str]) -> dict[str, Any]:
    """Row-by-row verdicts and the report text of one dataset file, three ways."""
    name = f"{data.parent.parent.name}/data/{data.name}"
    validator = TaskDataValidator(server_name=static.server, adapter=ng_adapter, dataset_fpath=name)
    ours = TaskDataReport(server_name=static.server, dataset_fpath=name)
    codes: Counter[str] = Counter()
    rows = rows_of(data)
    for index, row in rows:
        ng_failed, ng_keys = ng_row(validator, index, row)
        issues = static.validate_row(row)
        ours.add(index, issues)
        codes.update(i.code for i in issues)
        for label, verdict in (("static", our_row(issues)), ("exec", our_row(executed.validate_row(row)))):
            if verdict != (ng_failed, ng_keys):
                disagreements.append(f"{name} row {index} ({label}): ours {verdict} vs NeMo Gym {(ng_failed, ng_keys)}")
    if ours.summary() != validator.report.summary():
        disagreements.append(
            f"{name}: report text differs:\n{ours.summary()}\n--- NeMo Gym:\n{validator.report.summary()}"
        )
    report = validator.report
    return {
        "file": name,
        "rows": len(rows),
        "error_rows": report.error_rows,
        "unknown": sum(report.unknown_keys.values()),
        "conflicts": sum(report.conflicting_keys.values()),
        "misplaced": sum(report.misplaced_keys.values()),
        "clean": report.clean,
        "codes": dict(codes),
    }


def timings(folders: list[Path], tree: Path, rounds: int) -> dict[str, float]:
    """Best-of-`rounds` CPU seconds to load every schema (validator built): static cold, static warm (the
    per-process cache), imported by us, imported by NeMo Gym. The imports are warm after round 1
    (Python caches bytecode and modules), so their figure is a floor for a first import."""

    def cpu(fn: Any) -> float:
        start = time.process_time()
        fn()
        return time.process_time() - start

    def static_cold() -> None:
        for folder in folders:
            load_task_schema(folder, roots=[tree])

    def ours_exec() -> None:
        for folder in folders:
            load_task_schema(folder, roots=[tree], execute=True)

    def nemo_gym() -> None:
        for folder in folders:
            load_task_data_schema(folder)

    best: dict[str, float] = {}
    for _ in range(rounds):
        clear_cache()
        best["static_cold"] = min(best.get("static_cold", 1e9), cpu(static_cold))
        best["static_warm"] = min(best.get("static_warm", 1e9), cpu(static_cold))
        best["exec_ours"] = min(best.get("exec_ours", 1e9), cpu(ours_exec))
        best["exec_nemo_gym"] = min(best.get("exec_nemo_gym", 1e9), cpu(nemo_gym))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=Path("/work/ng070/tree"))
    parser.add_argument("--rounds", type=int, default=3, help="timing rounds (best CPU time is kept)")
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    args = parser.parse_args()
    tree = args.tree.resolve()
    sys.dont_write_bytecode = True  # the tree is read-only: imports must not leave __pycache__ in it
    os.chdir(tree)  # NeMo Gym resolves `resources_servers.<x>.task_data` imports from here
    global TaskDataValidator, legacy_metadata_fields, load_task_data_schema
    try:
        from nemo_gym import task_data
    except ImportError:
        sys.exit("nemo_gym is not importable: run this with a venv that has nemo-gym 0.7.0 and gym-conform")
    TaskDataValidator = task_data.TaskDataValidator
    legacy_metadata_fields = task_data.legacy_metadata_fields
    load_task_data_schema = task_data.load_task_data_schema
    folders = schema_dirs(tree)
    results = [compare_server(folder, tree) for folder in folders]
    print_table(results)
    times = timings(folders, tree, args.rounds)
    print(
        f"\nCPU seconds to load all {len(folders)} schemas (best of {args.rounds}; load average "
        f"{os.getloadavg()[0]:.1f}):"
    )
    for key, value in times.items():
        print(f"  {key:18} {value:.3f}")
    print(f"  ratio static_cold / exec_nemo_gym = {times['static_cold'] / times['exec_nemo_gym']:.2f}")
    if args.json:
        args.json.write_text(json.dumps({"servers": results, "timings": times}, indent=2))


def print_table(results: list[dict[str, Any]]) -> None:
    print(
        f"{'server':55} {'full':4} {'unchk':5} {'schema':6} {'rows':>5} {'fail':>4} {'unkn':>4} {'conf':>4} "
        f"{'misp':>4} {'disagree':>8}"
    )
    totals: Counter[str] = Counter()
    for r in results:
        files = r["files"]
        rows = sum(f["rows"] for f in files)
        line = Counter(
            rows=rows,
            fail=sum(f["error_rows"] for f in files),
            unkn=sum(f["unknown"] for f in files),
            conf=sum(f["conflicts"] for f in files),
            misp=sum(f["misplaced"] for f in files),
        )
        full = not r["unchecked"]
        schema = "same" if r["schema_equal_static"] else "DIFF"
        print(
            f"{r['server']:55} {'yes' if full else 'no':4} {len(r['unchecked']):5} {schema:6} {line['rows']:5} "
            f"{line['fail']:4} {line['unkn']:4} {line['conf']:4} {line['misp']:4} {len(r['disagreements']):8}"
        )
        totals.update(line)
        totals["servers"] += 1
        totals["resources_servers"] += r["server"].startswith("resources_servers/")
        totals["full"] += full
        totals["with_unchecked"] += not full
        totals["schema_same"] += r["schema_equal_static"]
        totals["files"] += len(files)
        totals["disagreements"] += len(r["disagreements"])
        totals["files_not_clean"] += sum(1 for f in files if not f["clean"])
        totals["example_jsonl_not_clean"] += sum(
            1 for f in files if not f["clean"] and f["file"].endswith("/example.jsonl")
        )
        totals["example_jsonl"] += sum(1 for f in files if f["file"].endswith("/example.jsonl"))
    print("\ntotals:", dict(totals))
    for r in results:
        for note in r["unchecked"]:
            print(f"unchecked: {note}")
        for item in r["disagreements"]:
            print(f"DISAGREEMENT {r['server']}: {item}")


if __name__ == "__main__":
    main()
