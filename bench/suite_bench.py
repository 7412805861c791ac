#!/usr/bin/env python3
"""Benchmark the conformance suite itself: the plugin's start-up, the static level on a large tree, per-server time.

Three measurements, each against a baseline run in the same command (see bench/README.md):

1. start-up: `pytest --version` with the plugin and with `-p no:gym_conform`, alternately, and the entry
   point's cumulative import time from `python -X importtime`;
2. static level: `pytest <tree> --gym-level static` over a copy of a NeMo Gym tree (`--tree`, e.g. the
   unpacked 0.7.0 wheel), wall time and outcome counts from `--gym-report`;
3. server level: `pytest <root>` at `--gym-level server` (default: this repository's `resources_servers/`),
   per-server wall time from `--junitxml`, the slowest ten and the total.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ENTRY_POINT = "gym_conform.pytest_plugin.plugin"
# Timed as a user's machine runs Python: bytecode cached (some CI images set PYTHONDONTWRITEBYTECODE, which
# makes every run compile, and pytest assertion-rewrite, every module again).
_ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


def main(argv: list[str] | None = None) -> int:
    """Run the selected measurements and print a table for each."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="runs of each start-up program (alternating)")
    parser.add_argument("--tree", type=Path, help="a NeMo Gym tree for the static level (copied to a temp dir)")
    parser.add_argument("--static-rounds", type=int, default=3, help="static-level runs over --tree")
    parser.add_argument("--server-root", type=Path, default=REPO / "resources_servers", help="servers to time")
    parser.add_argument("--server-args", default="", help="extra pytest arguments of the server-level run")
    parser.add_argument("--skip", nargs="*", default=[], choices=["startup", "static", "server"])
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "suite_bench.json")
    args = parser.parse_args(argv)

    report: dict[str, object] = {"cpus": os.cpu_count(), "python": sys.version.split()[0]}
    if "startup" not in args.skip:
        report["startup"] = bench_startup(args.rounds)
    if args.tree and "static" not in args.skip:
        report["static"] = bench_static(args.tree, args.static_rounds)
    if "server" not in args.skip:
        report["server"] = bench_server(args.server_root, args.server_args.split())
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.json}")
    return 0


def bench_startup(rounds: int) -> dict[str, object]:
    """`pytest --version` with and without the plugin, and the entry point's own import time."""
    with_plugin = [sys.executable, "-m", "pytest", "--version"]
    without = [*with_plugin, "-p", "no:gym_conform"]
    on, off = [], []
    with tempfile.TemporaryDirectory() as empty:
        for _ in range(rounds):
            on.append(_wall(with_plugin, Path(empty)))
            off.append(_wall(without, Path(empty)))
    importtime = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import pytest, {ENTRY_POINT}"],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    plugin_us = _cumulative_us(importtime, ENTRY_POINT)
    result = {
        "pytest_version_with_plugin_s": round(statistics.median(on), 3),
        "pytest_version_without_plugin_s": round(statistics.median(off), 3),
        "added_s": round(statistics.median(on) - statistics.median(off), 3),
        "entry_point_import_ms": round(plugin_us / 1000, 1),
    }
    print(
        f"start-up: pytest --version {result['pytest_version_with_plugin_s']:.3f} s with the plugin, "
        f"{result['pytest_version_without_plugin_s']:.3f} s without (median of {rounds}); "
        f"entry point import {result['entry_point_import_ms']} ms cumulative",
        flush=True,
    )
    return result


def bench_static(tree: Path, rounds: int) -> dict[str, object]:
    """The static level over a copy of `tree`: wall time per run and the outcome counts."""
    walls: list[float] = []
    summary: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "tree"
        shutil.copytree(tree, copy, symlinks=True)
        roots = [name for name in ("resources_servers", "environments") if (copy / name).is_dir()]
        warm_up = [sys.executable, "-m", "pytest", *roots, "--gym-level", "static", "-q", "--co"]
        _wall(warm_up, copy, allowed=(0, 1, 5))  # byte-compiles the engine once, as any earlier run would have
        for index in range(rounds):
            report = Path(scratch) / f"report{index}.json"
            command = [sys.executable, "-m", "pytest", *roots, "--gym-level", "static", "-q", "-p", "no:cacheprovider"]
            command += ["--gym-report", str(report)]
            walls.append(_wall(command, copy, allowed=(0, 1)))
            summary = json.loads(report.read_text()).get("summary", {})
    result = {"tree": str(tree), "roots": roots, "wall_s": walls, "median_s": round(statistics.median(walls), 2)}
    result["summary"] = summary
    print(f"static level over {tree} ({', '.join(roots)}): median {result['median_s']} s; {summary}", flush=True)
    return result


def bench_server(root: Path, extra: list[str]) -> dict[str, object]:
    """The server level over `root`: per-server wall time (from JUnit XML), slowest ten, total."""
    with tempfile.TemporaryDirectory() as scratch:
        junit = Path(scratch) / "junit.xml"
        command = [sys.executable, "-m", "pytest", str(root), "--gym-level", "server", "-q", "-p", "no:cacheprovider"]
        command += ["--junitxml", str(junit), *extra]
        wall = _wall(command, REPO, allowed=(0, 1))
        per_server, per_check = _times_by_server(junit, root.name)
    ranked = sorted(per_server.items(), key=lambda item: -item[1])
    result = {
        "root": str(root),
        "wall_s": round(wall, 2),
        "servers": len(per_server),
        "items_s": round(sum(per_server.values()), 2),
        "slowest": [{"server": name, "seconds": round(seconds, 2)} for name, seconds in ranked[:10]],
        "slowest_checks": per_check[:10],
    }
    print(f"server level over {root}: {result['servers']} servers, wall {wall:.1f} s", flush=True)
    for name, seconds in ranked[:10]:
        print(f"  {seconds:8.2f} s  {name}")
    return result


def _times_by_server(junit: Path, root_name: str) -> tuple[dict[str, float], list[dict[str, object]]]:
    """Sum the JUnit test-case times per server folder (the path segment after the root's name)."""
    per_server: dict[str, float] = defaultdict(float)
    checks: list[dict[str, object]] = []
    for case in ET.parse(junit).iter("testcase"):
        parts = case.get("classname", "").split(".")
        if root_name not in parts or parts.index(root_name) + 1 >= len(parts):
            continue
        server = parts[parts.index(root_name) + 1]
        seconds = float(case.get("time") or 0.0)
        per_server[server] += seconds
        checks.append({"server": server, "item": case.get("name", ""), "seconds": round(seconds, 3)})
    checks.sort(key=lambda item: -float(str(item["seconds"])))
    return dict(per_server), checks


def _wall(command: list[str], cwd: Path, allowed: tuple[int, ...] = (0,)) -> float:
    """Run a command to completion and return its wall time; stop the benchmark when it fails."""
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=_ENV)
    seconds = time.perf_counter() - started
    if proc.returncode not in allowed:
        sys.exit(f"{' '.join(command)} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return seconds


def _cumulative_us(importtime: str, module: str) -> int:
    """The cumulative microseconds `-X importtime` gives a module (0 when it was not imported)."""
    for line in importtime.splitlines():
        match = re.match(r"import time:\s+\d+\s+\|\s+(\d+)\s+\|\s*(\S+)$", line)
        if match and match.group(2) == module:
            return int(match.group(1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
