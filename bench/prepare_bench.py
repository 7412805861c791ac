#!/usr/bin/env python3
"""Benchmark `ng_prepare_data +mode=train_preparation` against a naive loop on the tutorial's OpenMath data.

For each size (default 100k and 1M rows, 1,000 of them validation) this generates the data once with
bench/make_openmath.py, then runs, alternately, `ng_prepare_data` (full validation, metrics,
sidecars, collation) and the naive loop (json.loads, add agent_ref, json.dumps per row; no validation,
no metrics), each in its own process. It prints the median wall time of each, their ratio, the peak RSS
of each process tree (from the OS, `wait4`) and rows/s, checks once that both wrote the same bytes, and
writes everything as JSON. See bench/README.md.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GENERATOR = REPO / "bench" / "make_openmath.py"
MODEL_CONFIG = REPO / "responses_api_models" / "vllm_model" / "configs" / "vllm_model_for_training.yaml"
TUTORIAL_CONFIG = REPO / "tests" / "cli" / "tutorial_openmathinstruct2.yaml"
AGENT = "math_with_judge_simple_agent"
SPLITS = ("train", "validation")

NAIVE_LOOP = """
import json, sys
ref = {"type": "responses_api_agents", "name": sys.argv[1]}
for source, target in zip(sys.argv[2::2], sys.argv[3::2]):
    with open(source) as rows, open(target, "w") as out:
        for line in rows:
            row = json.loads(line)
            row["agent_ref"] = ref
            out.write(json.dumps(row) + "\\n")
"""


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a summary table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000], help="total rows per data set")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each program per size (alternating)")
    parser.add_argument("--data-dir", type=Path, default=REPO / "bench" / "_data", help="where data sets live")
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "prepare_bench.json")
    parser.add_argument("--workers", type=int, default=None, help="+num_workers for ng_prepare_data")
    parser.add_argument("--generator", type=Path, default=GENERATOR, help="make_openmath.py")
    parser.add_argument("--startup-rounds", type=int, default=5, help="runs of --help and of the quick start")
    args = parser.parse_args(argv)

    compile_package()
    startup = bench_startup(args.startup_rounds)
    results = []
    for size in args.sizes:
        workspace = args.data_dir / f"openmath_{size}"
        ensure_data(args.generator, workspace, size)
        results.append(bench_size(workspace, size, args.rounds, args.workers))
        print_row(results[-1])
    args.json.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "launcher_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "startup": startup,
        "results": results,
    }
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.json}")
    return 0


def compile_package() -> None:
    """Byte-compile gym_conform first, as installing a wheel does.

    With PYTHONDONTWRITEBYTECODE=1 (set on these machines) an editable install never caches bytecode, and every
    run would compile each module again (~80 ms); the standard library and installed packages are compiled.
    """
    compileall.compile_dir(REPO / "gym_conform", quiet=1)


def bench_startup(rounds: int) -> dict:
    """Median wall time of `ng_prepare_data --help` and of README's quick start (the seed's example)."""
    script = str(Path(sys.executable).parent / "ng_prepare_data")
    server_config = REPO / "resources_servers" / "example_multi_step" / "configs" / "example_multi_step.yaml"
    quick = [
        script,
        f"+config_paths=[{MODEL_CONFIG},{server_config}]",
        "+mode=example_validation",
    ]
    figures = {}
    with tempfile.TemporaryDirectory() as scratch:
        for name, command in (("help", [script, "--help"]), ("quick_start", [*quick, f"+output_dirpath={scratch}"])):
            figures[f"{name}_median_s"] = round(
                statistics.median(run(command, REPO)["seconds"] for _ in range(rounds)), 3
            )
    print(
        f"start-up: --help {figures['help_median_s']:.3f} s, quick start {figures['quick_start_median_s']:.3f} s "
        f"(median of {rounds})",
        flush=True,
    )
    return figures


def ensure_data(generator: Path, workspace: Path, size: int) -> None:
    """Generate train.jsonl / validation.jsonl for `size` rows unless they exist; write the configs."""
    if not all((workspace / f"{split}.jsonl").exists() for split in SPLITS):
        if not generator.exists():
            sys.exit(f"{generator} not found; pass --generator")
        print(f"generating {size:,} rows in {workspace} ...", flush=True)
        subprocess.run([sys.executable, str(generator), str(size), str(workspace)], check=True)
    (workspace / "openmathinstruct2.yaml").write_text(TUTORIAL_CONFIG.read_text())


def bench_size(workspace: Path, size: int, rounds: int, workers: int | None) -> dict:
    """Time both programs `rounds` times each, alternating; return medians and peaks."""
    ours_cmd = [
        str(Path(sys.executable).parent / "ng_prepare_data"),
        f"+config_paths=[{MODEL_CONFIG},openmathinstruct2.yaml]",
        "+mode=train_preparation",
        "+output_dirpath=_bench_out",
    ] + ([f"+num_workers={workers}"] if workers else [])
    naive_args = [AGENT]
    for split in SPLITS:
        naive_args += [f"{split}.jsonl", f"_naive_{split}.jsonl"]
    naive_cmd = [sys.executable, "-c", NAIVE_LOOP, *naive_args]
    ours, naive = [], []
    for index in range(rounds):
        for sidecar in SPLITS:
            (workspace / f"{sidecar}_metrics.json").unlink(missing_ok=True)
        ours.append(run(ours_cmd, workspace))
        naive.append(run(naive_cmd, workspace))
        if index == 0:
            for split in SPLITS:
                same = _same_bytes(workspace / "_bench_out" / f"{split}.jsonl", workspace / f"_naive_{split}.jsonl")
                if not same:
                    sys.exit(f"outputs differ for {split} at {size} rows")
        shutil.rmtree(workspace / "_bench_out", ignore_errors=True)
        for split in SPLITS:
            (workspace / f"_naive_{split}.jsonl").unlink(missing_ok=True)
    ours_s = statistics.median(r["seconds"] for r in ours)
    naive_s = statistics.median(r["seconds"] for r in naive)
    return {
        "rows": size,
        "bytes": sum((workspace / f"{split}.jsonl").stat().st_size for split in SPLITS),
        "workers": workers or "default",
        "ours_seconds": [r["seconds"] for r in ours],
        "naive_seconds": [r["seconds"] for r in naive],
        "ours_median_s": round(ours_s, 3),
        "naive_median_s": round(naive_s, 3),
        "ratio": round(ours_s / naive_s, 3),
        "ours_cpu_median_s": round(statistics.median(r["cpu_seconds"] for r in ours), 3),
        "naive_cpu_median_s": round(statistics.median(r["cpu_seconds"] for r in naive), 3),
        "ours_peak_rss_mb": round(max(r["peak_rss_mb"] for r in ours), 1),
        "naive_peak_rss_mb": round(max(r["peak_rss_mb"] for r in naive), 1),
        "ours_rows_per_s": round(size / ours_s),
        "naive_rows_per_s": round(size / naive_s),
    }


def run(command: list[str], cwd: Path) -> dict:
    """Run one program; return its wall time and the peak RSS of its process tree (from wait4)."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    errors = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode != 0:
        sys.exit(f"{command[0]} failed ({proc.returncode}):\n{errors}")
    # Linux reports ru_maxrss in KiB: the largest of the process and its waited-for children (the workers).
    # It also counts this launcher's own RSS at the fork before exec, kept small here (see launcher_rss_mb).
    cpu = usage.ru_utime + usage.ru_stime
    return {"seconds": round(seconds, 3), "cpu_seconds": round(cpu, 3), "peak_rss_mb": usage.ru_maxrss / 1024}


def _same_bytes(a: Path, b: Path) -> bool:
    if a.stat().st_size != b.stat().st_size:
        return False
    with open(a, "rb") as left, open(b, "rb") as right:
        while True:
            x, y = left.read(1 << 20), right.read(1 << 20)
            if x != y:
                return False
            if not x:
                return True


def print_row(result: dict) -> None:
    """Print one size's summary."""
    print(
        f"{result['rows']:>9,} rows: ours {result['ours_median_s']:.2f} s "
        f"({result['ours_rows_per_s']:,} rows/s, CPU {result['ours_cpu_median_s']:.1f} s, "
        f"peak RSS {result['ours_peak_rss_mb']:.0f} MB) | "
        f"naive {result['naive_median_s']:.2f} s ({result['naive_rows_per_s']:,} rows/s, "
        f"CPU {result['naive_cpu_median_s']:.1f} s, {result['naive_peak_rss_mb']:.0f} MB) | "
        f"ratio {result['ratio']:.2f}",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
