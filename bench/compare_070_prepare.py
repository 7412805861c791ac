"""Compare NeMo Gym 0.7.0's `ng_prepare_data +mode=example_validation` with gym-conform's on every config of its tree.

Each `resources_servers/*/configs/*.yaml` of the 0.7.0 tree runs with the seed's model config
(`responses_api_models/vllm_model/configs/vllm_model_for_training.yaml`), once by NeMo Gym (its own venv, on a
copy of the tree, cwd inside that copy so Hydra's `outputs/` land there too) and once by gym-conform (on a
second copy). After each run the files it wrote in its tree are read and the tree is restored, so runs do not
see each other's metrics files. Per config: pass/fail on each side with the reason, whether the metrics files
are byte-identical and whether the collated rows are. Writes `bench/results/compare_070_prepare.json` and
`.md`; prints the summary table.

    .venv/bin/python bench/compare_070_prepare.py                 # all configs (about 10 minutes)
    .venv/bin/python bench/compare_070_prepare.py --only math_    # configs whose path contains "math_"
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import subprocess
import time
from collections import Counter
from functools import partial
from pathlib import Path

from gym_conform.cli.prepare_data import command as gym_conform_prepare
from gym_conform.errors import GymConformError

HERE = Path(__file__).resolve().parent
MODEL_CONFIG = "responses_api_models/vllm_model/configs/vllm_model_for_training.yaml"
DRIVER = HERE / "compare_070_nemo_driver.py"
# Outputs compared byte for byte; everything else a run writes in its tree is compared by name and content.
OUTPUTS = ("example.jsonl", "example_metrics.json")
SKIP_DIRS = {"outputs", "__pycache__"}


def main() -> None:
    """Run both sides on every selected config and write the table."""
    args = _parse()
    work = Path(args.work)
    trees = {side: work / f"tree-{side}" for side in ("nemo", "ours")}
    for tree in trees.values():
        if tree.exists():
            shutil.rmtree(tree)
        shutil.copytree(args.tree, tree, symlinks=True)
    configs = sorted(str(p.relative_to(args.tree)) for p in Path(args.tree).glob("resources_servers/*/configs/*.yaml"))
    configs = [c for c in configs if args.only in c][: args.limit or None]
    nemo = _NemoRunner(Path(args.venv), trees["nemo"], work, args.subprocess)
    results = []
    started = time.monotonic()
    for index, config in enumerate(configs):
        argv = [f"+config_paths=[{MODEL_CONFIG},{config}]", "+mode=example_validation"]
        theirs = _side(trees["nemo"], Path(args.tree), work / "out-nemo" / str(index), partial(nemo.run, index, argv))
        ours = _side(trees["ours"], Path(args.tree), work / "out-ours" / str(index), partial(_ours, argv))
        results.append(_compare(config, theirs, ours))
        if args.verbose:
            print(f"[{index + 1}/{len(configs)}] {config}: {results[-1]['category']}", flush=True)
    nemo.close()
    summary = _summary(results)
    summary["seconds"] = round(time.monotonic() - started, 1)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "compare_070_prepare.json").write_text(json.dumps({"summary": summary, "configs": results}, indent=2))
    (out / "compare_070_prepare.md").write_text(_markdown(summary, results))
    print(_markdown(summary, results, details=False))


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", default="/work/ng070/tree", help="the unpacked nemo-gym 0.7.0 wheel")
    parser.add_argument("--venv", default="/work/ng070/venv", help="a venv with nemo-gym 0.7.0 installed")
    parser.add_argument("--work", default="/tmp/compare_070_prepare", help="scratch directory (tree copies)")
    parser.add_argument("--only", default="", help="keep configs whose path contains this")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--subprocess", action="store_true", help="run NeMo Gym's console script per config")
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args()


class _NemoRunner:
    """NeMo Gym's side: its entry function in one long-lived process (or its console script per config)."""

    def __init__(self, venv: Path, tree: Path, work: Path, per_config: bool) -> None:
        self.venv, self.tree, self.per_config = venv, tree, per_config
        self.process = None
        if not per_config:
            self.process = subprocess.Popen(
                [str(venv / "bin" / "python"), str(DRIVER)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                cwd=work,
                text=True,
            )

    def run(self, index: int, argv: list[str], out: Path) -> tuple[int, str]:
        """Run one config with output dir `out`; return (exit code, log text)."""
        argv = [*argv, f"+output_dirpath={out}"]
        log = out.parent / f"{out.name}.log"
        if self.per_config:
            done = subprocess.run(
                [str(self.venv / "bin" / "ng_prepare_data"), *argv], cwd=self.tree, capture_output=True, text=True
            )
            log.write_text(done.stdout + done.stderr)
            return done.returncode, log.read_text()
        assert self.process is not None and self.process.stdin and self.process.stdout
        job = {"id": index, "argv": argv, "cwd": str(self.tree), "output": str(log)}
        self.process.stdin.write(json.dumps(job) + "\n")
        self.process.stdin.flush()
        answer = json.loads(self.process.stdout.readline())
        return answer["code"], log.read_text()

    def close(self) -> None:
        if self.process is not None and self.process.stdin:
            self.process.stdin.close()
            self.process.wait()


def _ours(argv: list[str], out: Path) -> tuple[int, str]:
    """gym-conform's side, in this process: the `ng_prepare_data` command with its output captured."""
    log = io.StringIO()
    code = 0
    with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        try:
            code = gym_conform_prepare([*argv, f"+output_dirpath={out}"]) or 0
        except GymConformError as error:
            print(error.render())
            code = 1
    return code, log.getvalue()


def _side(tree: Path, pristine: Path, out: Path, run) -> dict:
    """Run one side in `tree`; return its verdict, reason, the files it wrote (then undone) and its outputs."""
    if out.exists():
        shutil.rmtree(out)  # a previous run's type metrics would be compared with, as NeMo Gym does
    out.parent.mkdir(parents=True, exist_ok=True)
    cwd = os.getcwd()
    os.chdir(tree)
    since = time.time_ns() - 10**6
    try:
        code, log = run(out)
    finally:
        os.chdir(cwd)
    written = _restore(tree, pristine, since)
    outputs = {name: (out / name).read_bytes().decode() for name in OUTPUTS if (out / name).is_file()}
    return {"code": code, "reason": _reason(code, log), "written": written, "outputs": outputs}


def _restore(tree: Path, pristine: Path, since: int) -> dict[str, str]:
    """Return the files changed in `tree` since `since` (name -> text), putting back the pristine ones."""
    written = {}
    for folder, dirs, files in os.walk(tree):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
        for name in files:
            path = Path(folder) / name
            if path.stat().st_mtime_ns < since:
                continue
            relative = path.relative_to(tree)
            if path.suffix == ".json" or path.stat().st_size < 1 << 20:
                written[str(relative)] = path.read_bytes().decode(errors="replace")
            original = pristine / relative
            if original.is_file():
                shutil.copyfile(original, path)
                os.utime(path, ns=(since - 10**9, since - 10**9))
            else:
                path.unlink()
    return written


def _reason(code: int, log: str) -> str:
    """The line that says why a run failed (the last exception line, or gym-conform's error lines)."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    if code == 0:
        notes = [line for line in lines if line.startswith("note: ")]
        return notes[0] if notes else ""
    errors = [line for line in lines if line.startswith("error: ")]
    if errors:
        return " | ".join(errors[:3]) + (f" (+{len(errors) - 3})" if len(errors) > 3 else "")
    exceptions = [i for i, line in enumerate(lines) if "Error:" in line and not line.startswith("File ")]
    if not exceptions:
        return lines[-1] if lines else ""
    at = exceptions[-1]
    # `ValueError:` with its message on the next lines (NeMo Gym's metrics conflict): keep the first of them.
    return lines[at] if not lines[at].endswith(":") or at + 1 >= len(lines) else f"{lines[at]} {lines[at + 1]}"


def _compare(config: str, theirs: dict, ours: dict) -> dict:
    """Classify one config and say what differs."""
    passes = (theirs["code"] == 0, ours["code"] == 0)
    category = {
        (True, True): "both pass",
        (False, False): "both fail",
        (True, False): "only gym-conform fails",
        (False, True): "only NeMo Gym fails",
    }[passes]
    metric_names = sorted(
        {n for side in (theirs, ours) for n in side["written"] if n.endswith("_metrics.json") or "conflict" in n}
    )
    metrics_equal = all(theirs["written"].get(n) == ours["written"].get(n) for n in metric_names) and theirs[
        "outputs"
    ].get("example_metrics.json") == ours["outputs"].get("example_metrics.json")
    rows_equal = theirs["outputs"].get("example.jsonl") == ours["outputs"].get("example.jsonl")
    return {
        "config": config,
        "category": category,
        "nemo": {"code": theirs["code"], "reason": theirs["reason"]},
        "ours": {"code": ours["code"], "reason": ours["reason"]},
        "metrics_equal": metrics_equal,
        "rows_equal": rows_equal,
        "metrics_files": metric_names,
    }


def _summary(results: list[dict]) -> dict:
    counts = Counter(r["category"] for r in results)
    both = [r for r in results if r["category"] == "both pass"]
    return {
        "configs": len(results),
        "categories": dict(counts),
        "both_pass_metrics_equal": sum(r["metrics_equal"] for r in both),
        "both_pass_rows_equal": sum(r["rows_equal"] for r in both),
    }


def _markdown(summary: dict, results: list[dict], details: bool = True) -> str:
    lines = [
        f"# ng_prepare_data +mode=example_validation: NeMo Gym 0.7.0 vs gym-conform ({summary['configs']} configs)",
        "",
        "| outcome | configs |",
        "|---|---|",
    ]
    for category in ("both pass", "both fail", "only gym-conform fails", "only NeMo Gym fails"):
        lines.append(f"| {category} | {summary['categories'].get(category, 0)} |")
    lines.append(f"| both pass, metrics byte-identical | {summary['both_pass_metrics_equal']} |")
    lines.append(f"| both pass, collated rows byte-identical | {summary['both_pass_rows_equal']} |")
    if not details:
        return "\n".join(lines)
    lines += [
        "",
        "| config | outcome | metrics equal | rows equal | NeMo Gym | gym-conform |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        cells = [
            r["config"],
            r["category"],
            "yes" if r["metrics_equal"] else "no",
            "yes" if r["rows_equal"] else "no",
            _cell(r["nemo"]["reason"]),
            _cell(r["ours"]["reason"]),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")[:300]


if __name__ == "__main__":
    main()
