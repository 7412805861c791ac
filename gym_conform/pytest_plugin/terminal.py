"""The terminal's end-of-run text: the server x check table with each server's time, totals, slowest checks, fixes."""

from __future__ import annotations

from gym_conform.checks.base import Level
from gym_conform.pytest_plugin.report import ResultBook

CELLS = {"passed": "pass", "failed": "FAIL", "skipped": "skip", None: "-"}
SLOWEST_LISTED = 5
_METRICS_UPDATE_CODES = frozenset({"metrics.stale", "metrics.missing", "metrics.malformed"})
_TIME_COLUMN = "time"


def seconds(value: float) -> str:
    """Return a duration as the table shows it: `0.04s`, `3.2s`, `75s`."""
    if value < 1:
        return f"{value:.2f}s"
    return f"{value:.1f}s" if value < 10 else f"{value:.0f}s"


def table_lines(book: ResultBook, width: int) -> list[str]:
    """Return the server x check table, each row ending with the server's time; columns wrap to fit `width`.

    server                        config  license  readme  example_data  ...  time
    resources_servers/alpha       pass    pass     FAIL    pass               0.31s
    """
    folders = book.by_folder()
    durations = book.folder_durations()
    columns = [*dict.fromkeys(record.check for record in book.ordered()), _TIME_COLUMN]
    name_width = max([len("server"), *(len(folder) for folder in folders)])
    widths = {column: max(len(column), 5) for column in columns}
    blocks: list[list[str]] = [[]]
    used = name_width
    for column in columns:
        if blocks[-1] and used + 2 + widths[column] > width:
            blocks.append([])
            used = name_width
        blocks[-1].append(column)
        used += 2 + widths[column]
    lines: list[str] = []
    for block in blocks:
        if lines:
            lines.append("")
        lines.append(("server".ljust(name_width) + "".join(f"  {c.ljust(widths[c])}" for c in block)).rstrip())
        for folder, records in folders.items():
            cells = {record.check: CELLS[record.outcome] for record in records}
            cells[_TIME_COLUMN] = seconds(durations[folder])
            row = folder.ljust(name_width) + "".join(f"  {cells.get(c, '').ljust(widths[c])}" for c in block)
            lines.append(row.rstrip())
    return lines


def live_lines(book: ResultBook) -> list[str]:
    """Return each server's live run (rollouts, errors by kind, mean reward, histogram); [] when none ran."""
    return [line for record in book.ordered() for line in record.live_text]


def not_collected_lines(book: ResultBook, level: Level) -> list[str]:
    """Return the line counting the checks above the run's level, which got no item; [] when there are none."""
    above = {name: count for name, count in book.not_collected(level).items() if count}
    if not above:
        return []
    counted = ", ".join(f"{count:,} {name}" for name, count in above.items())
    return [
        f"{sum(above.values()):,} check(s) above --gym-level {level.label} not collected ({counted}); "
        "run at a higher level to include them."
    ]


def footer_lines(book: ResultBook, level: Level) -> list[str]:
    """Return the totals, the slowest checks, what passing checks did (e.g. rewritten files), how to fix failures."""
    folders = book.by_folder()
    records = book.ordered()
    failing = [folder for folder, group in folders.items() if any(r.outcome == "failed" for r in group)]
    counts = book.counts()
    total = sum(book.folder_durations().values())
    lines = [
        f"{len(folders)} server(s): {len(folders) - len(failing)} without failures, {len(failing)} with failures; "
        f"checks: {counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped; "
        f"{seconds(total)} in checks"
    ]
    servers = book.slowest_servers(SLOWEST_LISTED)
    if len(folders) > 1:
        lines.append("slowest servers: " + ", ".join(f"{folder} {seconds(spent)}" for folder, spent in servers))
    slowest = [record for record in book.slowest(SLOWEST_LISTED) if record.duration > 0]
    if len(records) > 1 and slowest:
        lines.append("slowest checks: " + ", ".join(f"{r.nodeid} {seconds(r.duration)}" for r in slowest))
    lines += [f"{record.nodeid}: {note}" for record in records for note in record.notes]
    failed = [record for record in records if record.outcome == "failed"]
    if any(p["code"] in _METRICS_UPDATE_CODES for record in failed for p in record.problems):
        lines.append("Rerun with --gym-update-metrics to rewrite stale or missing example_metrics.json files.")
    if failing:
        lines.append(
            f"Each failure above names the file, line and fix; rerun one server with `pytest {failing[0]}`, "
            "one check with `-k <check id>`."
        )
    lines += not_collected_lines(book, level)
    for waiver in book.waivers:
        state = "STALE, matched nothing" if waiver.stale else f"matched {waiver.matched} problem(s)"
        if not waiver.checked:
            state = "its check did not run"
        lines.append(f"waiver {waiver.key} ({waiver.source}: {waiver.reason}): {state}")
    if book.written_to is not None:
        lines.append(f"JSON report: {book.written_to}")
    if book.html_written_to is not None:
        lines.append(f"HTML report: {book.html_written_to}")
    return lines
