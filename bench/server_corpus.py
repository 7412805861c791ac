"""The server level over NeMo Gym 0.7.0's 145 resources servers: how each was reached, what passed, what failed.

Copies the tree's server, model, agent and environment folders to a temporary directory (the tree is never
written), runs `pytest resources_servers --gym-level server` there with the JSON report (the servers' own
tests left out: they need their own venvs), and prints and writes a table per server: how it was reached
(from the `import` check's note), server checks passed / failed / skipped, replayed rollouts equal /
different / not replayed, its time; then the totals, the slowest ten, the skip reasons by count and every
failure's first problem (the list to review: each should be a real defect of the server).

Run it with a Python that imports nemo_gym 0.7.0 and this checkout (the brief's venv313 layering):

    .venv313/bin/python bench/server_corpus.py --tree /work/ng070/tree [--max-examples 10] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from gym_conform.checks import REGISTRY, Level

REPO = Path(__file__).resolve().parent.parent
FOLDERS = (
    "benchmarks",
    "resources_servers",
    "responses_api_models",
    "responses_api_agents",
    "environment_servers",
    "environments",
)
# What verify answered, recorded beside the request in a rollout line.
ROLLOUT_ANSWER_FIELDS = frozenset({"reward", "mask_sample", "failure_kind", "failure_reason", "metrics"})
# Every check of the server level (the static checks that run beside them are the static corpus run's).
SERVER_CHECKS = frozenset(check.id for check in REGISTRY if check.level == Level.SERVER)


def run_corpus(tree: Path, workdir: Path, args: argparse.Namespace) -> tuple[dict, float, str]:
    """Copy the tree's folders to `workdir`, run the server level there; return the report, seconds, output tail."""
    for name in FOLDERS:
        if (tree / name).is_dir():
            shutil.copytree(tree / name, workdir / name, ignore=shutil.ignore_patterns("__pycache__", ".venv"))
    (workdir / "pytest.ini").write_text("[pytest]\n")
    command = [sys.executable, "-m", "pytest", "resources_servers", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"]
    # The servers' own tests and conftest.py files need their own venvs (a conftest that fails to import would
    # stop the whole collection); the checks need neither.
    command += ["--gym-level", "server", "--gym-report", "report.json", "--ignore-glob", "resources_servers/*/tests"]
    command += ["--noconftest"]
    command += ["--gym-hypothesis-profile", "gym-conform-ci", "--gym-max-examples", str(args.max_examples)]
    command += ["--gym-server-mode", args.mode, *args.pytest_args]
    started = time.perf_counter()
    result = subprocess.run(command, cwd=workdir, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    report_path = workdir / "report.json"
    if not report_path.is_file():
        raise SystemExit(
            f"no report (pytest exit {result.returncode}):\n{result.stdout[-4000:]}{result.stderr[-2000:]}"
        )
    return json.loads(report_path.read_text()), elapsed, result.stdout[-3000:]


def rollout_count(workdir: Path, folder: str) -> int:
    """Return the number of non-blank lines of the folder's data/example_rollouts.jsonl."""
    path = workdir / folder / "data" / "example_rollouts.jsonl"
    if not path.is_file():
        return 0
    return sum(1 for line in path.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip())


def server_row(server: dict, workdir: Path) -> dict:
    """Return one server's line of the table."""
    checks = {check["id"]: check for check in server["checks"] if check["id"] in SERVER_CHECKS}
    counts = Counter(check["outcome"] for check in checks.values())
    notes = [note for check in checks.values() for note in check.get("notes", []) if note.startswith("reached: ")]
    reached = notes[0].removeprefix("reached: ") if notes else "not reached"
    importing = checks.get("import", {})
    why_not = importing.get("skip_reason") or next(
        (problem["message"] for problem in importing.get("problems") or []), ""
    )
    replay = checks.get("replay", {})
    codes = Counter(problem["code"] for problem in replay.get("problems", []))
    total = rollout_count(workdir, server["folder"])
    replayed = replay.get("outcome") in ("passed", "failed")
    different = codes.get("replay.reward_changed", 0)
    errors = codes.get("replay.failed", 0)
    return {
        "folder": server["folder"],
        "reached": reached,
        "not_reached_because": "" if notes else why_not.splitlines()[0][:240] if why_not else "",
        "passed": counts.get("passed", 0),
        "failed": counts.get("failed", 0),
        "skipped": counts.get("skipped", 0),
        "rollouts": total,
        "replay_equal": total - different - errors if replayed else 0,
        "replay_different": different,
        "replay_errors": errors,
        "seconds": round(float(server.get("duration") or 0.0), 1),
        "failures": {
            check_id: check["problems"][0]["message"][:300]
            for check_id, check in checks.items()
            if check["outcome"] == "failed" and check["problems"]
        },
        "skips": {
            check_id: check["skip_reason"] for check_id, check in checks.items() if check["outcome"] == "skipped"
        },
    }


def defects(report: dict, workdir: Path) -> list[dict]:
    """Return every failed server check's problems with the request that triggers each, as one JSON line."""
    found = []
    for server in report["servers"]:
        for check in server["checks"]:
            if check["id"] not in SERVER_CHECKS or check["outcome"] != "failed":
                continue
            for problem in check["problems"]:
                found.append(
                    {
                        "server": server["folder"],
                        "check": check["id"],
                        "code": problem["code"],
                        "message": problem["message"].splitlines()[0][:400],
                        "request": request_line(problem, workdir),
                    }
                )
    return found


def request_line(problem: dict, workdir: Path) -> str | None:
    """Return the verify request behind a problem: the JSON line the check quotes, else the rollout line it names."""
    for line in reversed(problem["message"].splitlines()):
        text = line.strip()
        if text.startswith("{") and text.endswith("}"):
            return text
    location = problem.get("location") or {}
    path, number = location.get("path"), location.get("line")
    if path and number and path.endswith(".jsonl") and (workdir / path).is_file():
        lines = (workdir / path).read_text(encoding="utf-8").splitlines()
        if 0 < number <= len(lines):
            record = json.loads(lines[number - 1])
            # A recorded rollout is the verify request plus what verify answered: the answer's fields go.
            request = {k: v for k, v in record.items() if k not in ROLLOUT_ANSWER_FIELDS}
            return json.dumps(request, ensure_ascii=False)
    return None


def markdown(rows: list[dict], found: list[dict], elapsed: float) -> str:
    """Return the table, the totals and the defect list as Markdown (bench/results/server_corpus.md)."""
    totals = {key: sum(row[key] for row in rows) for key in ("passed", "failed", "skipped", "rollouts")}
    totals |= {key: sum(row[key] for row in rows) for key in ("replay_equal", "replay_different", "replay_errors")}
    reached = sum(1 for row in rows if row["reached"] != "not reached")
    out = [
        "# Server level on NeMo Gym 0.7.0 (`bench/server_corpus.py`)",
        "",
        f"{len(rows)} servers, {reached} reached; server checks {totals['passed']} passed, {totals['failed']} failed, "
        f"{totals['skipped']} skipped; {totals['rollouts']} recorded rollouts: {totals['replay_equal']} replay "
        f"equal, {totals['replay_different']} different, {totals['replay_errors']} fail to replay; {elapsed:.0f} s.",
        "",
        "| server | how reached (or why not) | pass | fail | skip | rollouts eq/diff/err | s | skips and failures |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        how = row["reached"] if row["reached"] != "not reached" else f"not reached: {row['not_reached_because']}"
        reasons = [f"{check}: skipped, {reason[:160]}" for check, reason in row["skips"].items() if check != "import"]
        reasons += [f"{check}: FAILED, {message[:160]}" for check, message in row["failures"].items()]
        cells = [
            row["folder"].removeprefix("resources_servers/"),
            how,
            str(row["passed"]),
            str(row["failed"]),
            str(row["skipped"]),
            f"{row['rollouts']} {row['replay_equal']}/{row['replay_different']}/{row['replay_errors']}",
            str(row["seconds"]),
            "<br>".join(reasons),
        ]
        out.append("| " + " | ".join(cell.replace("|", "\\|").replace("\n", " ") for cell in cells) + " |")
    out += ["", f"## Defects ({len(found)}), each with the request that triggers it", ""]
    for defect in found:
        out.append(f"- `{defect['server']}::{defect['check']}` [{defect['code']}]: {defect['message']}")
        if defect["request"]:
            out += ["", "  ```json", f"  {defect['request']}", "  ```"]
    return "\n".join(out) + "\n"


def print_table(rows: list[dict], elapsed: float) -> None:
    """Print the per-server table, the totals, the slowest ten, skip reasons and failures."""
    width = max(len(row["folder"]) for row in rows)
    print(f"{'server'.ljust(width)}  pass fail skip  rollouts eq/diff/err  secs  reached")
    for row in rows:
        replay = f"{row['rollouts']:>3} {row['replay_equal']}/{row['replay_different']}/{row['replay_errors']}"
        print(
            f"{row['folder'].ljust(width)}  {row['passed']:>4} {row['failed']:>4} {row['skipped']:>4}  "
            f"{replay:<18} {row['seconds']:>5}  {row['reached']}"
        )
    totals = {key: sum(row[key] for row in rows) for key in ("passed", "failed", "skipped", "rollouts")}
    totals |= {key: sum(row[key] for row in rows) for key in ("replay_equal", "replay_different", "replay_errors")}
    reached = sum(1 for row in rows if row["reached"] != "not reached")
    print(f"\n{len(rows)} servers, {reached} reached (import passed); server checks: {totals}")
    print(f"wall time {elapsed:.0f} s")
    print("\nslowest ten:")
    for row in sorted(rows, key=lambda r: -r["seconds"])[:10]:
        print(f"  {row['seconds']:>6} s  {row['folder']}")
    reasons = Counter(reason.split(":")[0][:110] for row in rows for reason in row["skips"].values())
    print("\nskip reasons (first words, by count):")
    for reason, count in reasons.most_common(25):
        print(f"  {count:>4}  {reason}")
    print("\nfailures (first problem of each failed check):")
    for row in rows:
        for check_id, message in row["failures"].items():
            print(f"  {row['folder']}::{check_id}: {message}")


def main() -> None:
    """Run the corpus and print and write the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, required=True, help="the unpacked NeMo Gym 0.7.0 tree")
    parser.add_argument("--max-examples", type=int, default=10, help="examples per fuzz check and server")
    parser.add_argument("--mode", default="auto", help="--gym-server-mode (auto, child, in-process)")
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "server_corpus.json")
    parser.add_argument("--report", type=Path, default=None, help="also keep pytest's --gym-report JSON here")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --), e.g. -k")
    args = parser.parse_args()
    # SIGTERM (a timeout, a CI cancel) unwinds like Ctrl-C, so pytest's child is stopped and the copy removed.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    with tempfile.TemporaryDirectory(prefix="gym-conform-corpus-") as tmp:
        workdir = Path(tmp)
        report, elapsed, tail = run_corpus(args.tree.resolve(), workdir, args)
        rows = [server_row(server, workdir) for server in report["servers"]]
        found = defects(report, workdir)
    print_table(rows, elapsed)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    document = {"elapsed_seconds": elapsed, "servers": rows, "defects": found, "summary": report["summary"]}
    args.json.write_text(json.dumps(document, indent=2))
    args.json.with_suffix(".md").write_text(markdown(rows, found, elapsed), encoding="utf-8")
    if args.report is not None:
        args.report.write_text(json.dumps(report))
    print(f"\nwritten to {args.json} and {args.json.with_suffix('.md')}; pytest's last output:\n{tail[-800:]}")


if __name__ == "__main__":
    main()
