#!/usr/bin/env python3
"""Measure how fast `ng_prepare_data` stops on SIGINT / SIGTERM mid-scan, in-process and with forked workers.

Writes a train file of --megabytes (default 60) once, then for each signal and worker count runs the real
command --rounds times, sends the signal a random 0.1-0.5 s after the scan started (its temporary output
file appeared), and times signal -> process exit (the parent exits after its workers are stopped). Each run
must exit 130 / 143 and leave the output directory empty. Prints median and max latency; writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.cli.faults import big_train, prepare_command  # noqa: E402  (the tests' own config builder)


def main(argv: list[str] | None = None) -> int:
    """Run the measurement and print one line per case."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--root", type=Path, default=REPO / "bench" / "_data" / "signals")
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "signal_latency.json")
    args = parser.parse_args(argv)
    shutil.rmtree(args.root, ignore_errors=True)
    args.root.mkdir(parents=True)
    config = big_train(args.root, args.megabytes)
    results = []
    for workers in (1, 2):
        for signum in (signal.SIGINT, signal.SIGTERM):
            latencies = [one_run(args.root, config, workers, signum) for _ in range(args.rounds)]
            row = {
                "signal": signal.Signals(signum).name,
                "workers": workers,
                "median_s": round(statistics.median(latencies), 3),
                "max_s": round(max(latencies), 3),
                "runs_s": [round(x, 3) for x in latencies],
            }
            results.append(row)
            print(f"{row['signal']:>7} workers={workers}: median {row['median_s']:.3f} s, max {row['max_s']:.3f} s")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"megabytes": args.megabytes, "results": results}, indent=2) + "\n")
    shutil.rmtree(args.root, ignore_errors=True)
    return 0


def one_run(root: Path, config: str, workers: int, signum: int) -> float:
    """Start a run, signal it mid-scan, return the seconds from the signal to its exit."""
    out = root / "out"
    proc = subprocess.Popen(
        prepare_command(config, "out", f"+num_workers={workers}"),
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    while not list(out.glob(".train.jsonl.*")):
        if proc.poll() is not None:
            sys.exit(f"the run ended before it was signalled: {proc.stderr.read().decode()}")
        time.sleep(0.002)
    time.sleep(random.uniform(0.1, 0.5))
    sent = time.perf_counter()
    proc.send_signal(signum)
    _, status, _ = os.wait4(proc.pid, 0)
    latency = time.perf_counter() - sent
    code = os.waitstatus_to_exitcode(status)
    if code != 128 + signum or list(out.iterdir()):
        sys.exit(f"exit {code}, left {list(out.iterdir())}: {proc.stderr.read().decode()}")
    return latency


if __name__ == "__main__":
    sys.exit(main())
