"""What running each server's checks in a child process costs: the server level in-process against child mode.

Copies this repository's shipped `resources_servers/` (and their configs' model folder) to a temporary
directory, then runs, alternately, `--rounds` times each: `pytest resources_servers --gym-server-mode
in-process` and `--gym-server-mode child`, with the CI Hypothesis profile. Prints the median wall time of
each mode, the ratio child / in-process and the cost per server; writes them to
`bench/results/isolation_bench.json`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MODES = ("in-process", "child")


def run_once(workdir: Path, mode: str) -> float:
    """Run the server level over the copied folders once; return the wall time in seconds."""
    command = [sys.executable, "-m", "pytest", "resources_servers", "-q", "-p", "no:cacheprovider"]
    command += ["--gym-hypothesis-profile", "gym-conform-ci", "--gym-server-mode", mode]
    started = time.perf_counter()
    result = subprocess.run(command, cwd=workdir, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode not in (0, 1):
        raise SystemExit(f"pytest ended with {result.returncode} in mode {mode}:\n{result.stdout[-3000:]}")
    return elapsed


def main() -> None:
    """Time both modes and print and write the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "isolation_bench.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gym-conform-isolation-") as tmp:
        workdir = Path(tmp)
        for name in ("resources_servers", "responses_api_models"):
            shutil.copytree(REPO / name, workdir / name, ignore=shutil.ignore_patterns("__pycache__"))
        (workdir / "pytest.ini").write_text("[pytest]\n")
        servers = sum(1 for p in (workdir / "resources_servers").iterdir() if (p / "configs").is_dir())
        times: dict[str, list[float]] = {mode: [] for mode in MODES}
        for _ in range(args.rounds):
            for mode in MODES:
                times[mode].append(run_once(workdir, mode))
    medians = {mode: statistics.median(values) for mode, values in times.items()}
    figures = {
        "servers": servers,
        "rounds": args.rounds,
        "median_seconds": medians,
        "ratio_child_over_in_process": medians["child"] / medians["in-process"],
        "child_cost_per_server_seconds": (medians["child"] - medians["in-process"]) / servers,
        "runs": times,
    }
    print(json.dumps(figures, indent=2))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
