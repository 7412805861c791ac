"""Compare a `--gym-report` of a level over NeMo Gym 0.7.0's tree with the committed expectations.

    python .ci/corpus_compare.py REPORT.json EXPECTED.json [--pytest-exit N] [--update]
    python .ci/corpus_compare.py --list-servers EXPECTED.json     (the folders a server-level file names)

The expectations file lists every (folder, check, code) that is expected to fail, each with the reason it is
a real defect (or one NeMo Gym itself rejects). Exit 0 when the failing set equals it, the run ended with
pytest's "tests failed" or "all passed" status, and no check crashed; else exit 1 with a diff. `--update`
rewrites EXPECTED.json from the report, keeping the reasons already written; a new entry gets the reason
"TODO: explain", which fails the comparison until someone writes the reason.

A server-level file also lists `servers`: the folders the run checks (those that need nothing outside the
nemo-gym venv). Each must still be reached (its `import` check passes): one that is no longer reached would
hide its failures, so it fails the comparison too.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

TODO = "TODO: explain"
# pytest's exit codes: 0 all passed, 1 some tests failed; anything else is an interrupted or broken run.
GOOD_EXITS = (0, 1)
CRASH_CODE = "check.crashed"


def failing_set(report: dict) -> dict[tuple[str, str, str], str]:
    """Return every failing (folder, check, problem code) of a report, with its first message."""
    found: dict[tuple[str, str, str], str] = {}
    for server in report.get("servers", []):
        for check in server.get("checks", []):
            if check.get("outcome") != "failed":
                continue
            problems = check.get("problems") or [{"code": "<no problem recorded>", "message": ""}]
            for problem in problems:
                found.setdefault((server["folder"], check["id"], problem["code"]), problem.get("message", ""))
    return found


def load_expected(path: Path) -> dict[tuple[str, str, str], str]:
    """Return the expected failures as {(folder, check, code): reason}."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return {(e["folder"], e["check"], e["code"]): e.get("reason", "") for e in data["failures"]}


def load_servers(path: Path) -> list[str]:
    """Return the folders a server-level expectations file lists ([] for a static-level file)."""
    return list(json.loads(path.read_text(encoding="utf-8")).get("servers", []))


def not_reached(report: dict, servers: list[str]) -> list[str]:
    """Return a line for every listed folder whose `import` check did not pass (or that was not run)."""
    outcomes = {
        server["folder"]: check.get("outcome")
        for server in report.get("servers", [])
        for check in server.get("checks", [])
        if check.get("id") == "import"
    }
    return [
        f"not reached    {folder} (import {outcomes.get(folder, 'not run')})"
        for folder in servers
        if outcomes.get(folder) != "passed"
    ]


def compare(
    report: dict, expected: dict[tuple[str, str, str], str], pytest_exit: int | None, servers: list[str] = ()
) -> list[str]:
    """Return every difference between the run and the expectations, as lines to print ([] when they agree)."""
    errors: list[str] = not_reached(report, list(servers))
    if pytest_exit is not None and pytest_exit not in GOOD_EXITS:
        errors.append(f"pytest exited with {pytest_exit} (internal error, usage error or crashed collection)")
    actual = failing_set(report)
    crashed = sorted(key for key in actual if key[2] == CRASH_CODE)
    errors += [
        f"internal error: {folder}::{check} crashed: {actual[(folder, check, code)]}" for folder, check, code in crashed
    ]
    collected = {server["folder"] for server in report.get("servers", [])}
    expected_folders = {folder for folder, _, _ in expected}
    errors += [f"not collected any more: {folder}" for folder in sorted(expected_folders - collected)]
    for key in sorted(set(actual) - set(expected)):
        errors.append(f"NEW failure    {key[0]}::{key[1]} [{key[2]}]: {actual[key][:200]}")
    for key in sorted(set(expected) - set(actual)):
        errors.append(f"GONE (fixed?)  {key[0]}::{key[1]} [{key[2]}] (expected because: {expected[key]})")
    for key, reason in sorted(expected.items()):
        if key in actual and (not reason.strip() or reason.startswith("TODO")):
            errors.append(f"no reason      {key[0]}::{key[1]} [{key[2]}]: write why it is a real failure")
    return errors


def write_expected(path: Path, report: dict, old: dict[tuple[str, str, str], str], servers: list[str] = ()) -> None:
    """Rewrite the expectations from the report (atomically), keeping the reasons and the server list."""
    entries = [
        {"folder": folder, "check": check, "code": code, "reason": old.get((folder, check, code), TODO)}
        for folder, check, code in sorted(failing_set(report))
    ]
    document: dict = {"nemo_gym": "0.7.0", "level": report.get("level")}
    if servers:
        document["servers"] = list(servers)
    text = json.dumps({**document, "failures": entries}, indent=2) + "\n"
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(temporary, path)


def main(argv: list[str] | None = None) -> int:
    """Run the comparison (or the update); print the outcome."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["--list-servers"] and len(argv) == 2:
        print(" ".join(load_servers(Path(argv[1]))))
        return 0
    parser.add_argument("report", type=Path)
    parser.add_argument("expected", type=Path)
    parser.add_argument("--pytest-exit", type=int, default=None)
    parser.add_argument("--update", action="store_true")
    args = parser.parse_args(argv)
    try:
        report = json.loads(args.report.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        print(f"corpus: cannot read the report {args.report}: {error}", file=sys.stderr)
        return 1
    expected = load_expected(args.expected) if args.expected.is_file() else {}
    servers = load_servers(args.expected) if args.expected.is_file() else []
    if args.update:
        write_expected(args.expected, report, expected, servers)
        print(f"corpus: wrote {args.expected} ({len(failing_set(report))} expected failure(s))")
        return 0
    errors = compare(report, expected, args.pytest_exit, servers)
    level = report.get("level") or "static"
    summary = report.get("summary", {})
    counts = f"{summary.get('servers')} folders, {summary.get('failed')} failed checks"
    if servers:
        counts += f", {len(servers)} servers reached"
    if errors:
        print(f"corpus: NeMo Gym 0.7.0 {level} run differs from {args.expected} ({counts}):", file=sys.stderr)
        for line in errors:
            print(f"  {line}", file=sys.stderr)
        print(
            "  (a fixed false alarm or a new real failure: update the file with --update and write each reason)",
            file=sys.stderr,
        )
        return 1
    print(f"corpus: NeMo Gym 0.7.0 {level} run matches {args.expected} ({counts}, {len(expected)} expected failures)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
