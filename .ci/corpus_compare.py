"""Compare a `--gym-report` of the static level over NeMo Gym 0.7.0's tree with the committed expectations.

    python .ci/corpus_compare.py REPORT.json EXPECTED.json [--pytest-exit N] [--update]

The expectations file lists every (folder, check, code) that is expected to fail, each with the reason it is
a real defect (or one NeMo Gym itself rejects). Exit 0 when the failing set equals it, the run ended with
pytest's "tests failed" or "all passed" status, and no check crashed; else exit 1 with a diff. `--update`
rewrites EXPECTED.json from the report, keeping the reasons already written; a new entry gets the reason
"TODO: explain", which fails the comparison until someone writes the reason.
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


def compare(report: dict, expected: dict[tuple[str, str, str], str], pytest_exit: int | None) -> list[str]:
    """Return every difference between the run and the expectations, as lines to print ([] when they agree)."""
    errors: list[str] = []
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


def write_expected(path: Path, report: dict, old: dict[tuple[str, str, str], str]) -> None:
    """Rewrite the expectations from the report (atomically), keeping the reasons already written."""
    entries = [
        {"folder": folder, "check": check, "code": code, "reason": old.get((folder, check, code), TODO)}
        for folder, check, code in sorted(failing_set(report))
    ]
    text = json.dumps({"nemo_gym": "0.7.0", "level": report.get("level"), "failures": entries}, indent=2) + "\n"
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(temporary, path)


def main(argv: list[str] | None = None) -> int:
    """Run the comparison (or the update); print the outcome."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
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
    if args.update:
        write_expected(args.expected, report, expected)
        print(f"corpus: wrote {args.expected} ({len(failing_set(report))} expected failure(s))")
        return 0
    errors = compare(report, expected, args.pytest_exit)
    summary = report.get("summary", {})
    counts = f"{summary.get('servers')} folders, {summary.get('failed')} failed checks"
    if errors:
        print(f"corpus: NeMo Gym 0.7.0 static run differs from {args.expected} ({counts}):", file=sys.stderr)
        for line in errors:
            print(f"  {line}", file=sys.stderr)
        print(
            "  (a fixed false alarm or a new real failure: update the file with --update and write each reason)",
            file=sys.stderr,
        )
        return 1
    print(f"corpus: NeMo Gym 0.7.0 static run matches {args.expected} ({counts}, {len(expected)} expected failures)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
