"""`--gym-html PATH`: the JSON report as one self-contained page (inline CSS and SVG charts, no script, no network).

The page holds the server x check table, each failure with its location and hint, each server's time and the
slowest checks, and per live run the reward histogram, the mean reward with its 95% confidence interval and the
rows whose reward never varied.
"""

from __future__ import annotations

from html import escape
from typing import Any

CELL_TEXT = {"passed": "pass", "failed": "FAIL", "skipped": "skip", "not_run": "-"}
_BAR_AREA = 480  # px of the longest bar
_ROW = 22  # px per bar row
_HIST_HEIGHT = 160
_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1d1d1f; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 28px; } h3 { font-size: 15px; }
table { border-collapse: collapse; } th, td { border: 1px solid #d0d0d5; padding: 3px 8px; text-align: left; }
thead th { background: #f0f0f4; } td.passed { background: #d8f3dc; }
td.failed { background: #ffccd5; font-weight: bold; }
td.skipped { background: #f1f1f1; color: #666; } td.not_run { color: #999; } td.time { text-align: right; }
code { font: 13px ui-monospace, monospace; } .problem { margin: 6px 0; } .hint { color: #3b5bdb; margin-left: 16px; }
.source { color: #555; margin-left: 16px; white-space: pre-wrap; } svg text { font: 12px system-ui, sans-serif; }
.wide { overflow-x: auto; max-width: 100%; } #checks thead th { font-size: 12px; }
#checks tbody th { position: sticky; left: 0; background: #fff; }
.bar { fill: #4c6ef5; } .hist { fill: #f59f00; } .ci { stroke: #2b8a3e; stroke-width: 3; } .mean { fill: #2b8a3e; }
"""


def _not_collected(counts: dict[str, int], level: str) -> str:
    """Return the summary's clause on checks above the run's level (no item was collected for them)."""
    above = {name: count for name, count in counts.items() if count}
    if not above:
        return ""
    counted = ", ".join(f"{count:,} {_e(name)}" for name, count in above.items())
    return f"; {sum(above.values()):,} check(s) above level {_e(level)} not collected ({counted})"


def render_html(report: dict[str, Any]) -> str:
    """Return the page for a JSON report (`ResultBook.to_json`)."""
    summary = report["summary"]
    parts = [
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
        "<title>gym-conform report</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>gym-conform report</h1>",
        f'<p id="summary">level {_e(report["level"])}: {summary["servers"]} server(s), {summary["passed"]} passed, '
        f"{summary['failed']} failed, {summary['skipped']} skipped, {summary['not_run']} not run; "
        f"{_seconds(summary.get('duration', 0.0))} in checks; exit status {summary['exit_status']}"
        f"{_not_collected(summary.get('not_collected', {}), report['level'])}</p>",
    ]
    parts += _changed(report.get("changed_since"))
    parts += _table(report["servers"])
    parts += _timings(report["servers"], summary.get("slowest", []))
    parts += _failures(report["servers"])
    parts += _live(report["servers"])
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _table(servers: list[dict[str, Any]]) -> list[str]:
    checks = list(dict.fromkeys(check["id"] for server in servers for check in server["checks"]))
    head = "".join(f"<th>{_e(check)}</th>" for check in checks)
    rows = []
    for server in servers:
        by_id = {check["id"]: check for check in server["checks"]}
        cells = []
        for check_id in checks:
            check = by_id.get(check_id)
            if check is None:
                cells.append("<td></td>")
                continue
            outcome = check["outcome"]
            title = check.get("skip_reason") or (check["problems"][0]["message"] if check["problems"] else "")
            link = f'<a href="#{_anchor(check["nodeid"])}">FAIL</a>' if outcome == "failed" else CELL_TEXT[outcome]
            cells.append(f'<td class="{_e(outcome)}" data-check="{_e(check_id)}" title="{_e(title)}">{link}</td>')
        time = f'<td class="time">{_seconds(server.get("duration", 0.0))}</td>'
        rows.append(
            f'<tr data-server="{_e(server["folder"])}"><th>{_e(server["folder"])}</th>{"".join(cells)}{time}</tr>'
        )
    return [
        "<h2>Servers and checks</h2>",
        f'<div class="wide"><table id="checks"><thead><tr><th>server</th>{head}<th>time</th></tr></thead>',
        f"<tbody>{''.join(rows)}</tbody></table></div>",
    ]


def _timings(servers: list[dict[str, Any]], slowest: list[dict[str, Any]]) -> list[str]:
    if not servers:
        return []
    label_width = 8 * max(len(server["folder"]) for server in servers) + 12
    longest = max((server.get("duration", 0.0) for server in servers), default=0.0) or 1.0
    width, height = label_width + _BAR_AREA + 80, _ROW * len(servers) + 8
    bars = []
    for index, server in enumerate(servers):
        seconds = server.get("duration", 0.0)
        y = 4 + index * _ROW
        length = max(1.0, _BAR_AREA * seconds / longest)
        bars.append(
            f'<text x="{label_width - 8}" y="{y + 15}" text-anchor="end">{_e(server["folder"])}</text>'
            f'<rect class="bar" data-server="{_e(server["folder"])}" data-seconds="{seconds:.4f}" x="{label_width}" '
            f'y="{y + 3}" width="{length:.1f}" height="{_ROW - 6}"><title>{_seconds(seconds)}</title></rect>'
            f'<text x="{label_width + length + 6:.1f}" y="{y + 15}">{_seconds(seconds)}</text>'
        )
    items = "".join(f"<li><code>{_e(entry['nodeid'])}</code> {_seconds(entry['duration'])}</li>" for entry in slowest)
    return [
        "<h2>Time per server</h2>",
        f'<svg id="server-times" role="img" aria-label="seconds per server" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">{"".join(bars)}</svg>',
        "<h3>Slowest checks</h3>",
        f'<ol id="slowest">{items}</ol>',
    ]


def _failures(servers: list[dict[str, Any]]) -> list[str]:
    failed = [check for server in servers for check in server["checks"] if check["outcome"] == "failed"]
    parts = ["<h2>Failures</h2>"]
    if not failed:
        return parts + ['<p id="no-failures">No check failed.</p>']
    for check in failed:
        problems = []
        for problem in check["problems"]:
            where = ":".join(str(part) for part in (problem["path"], problem["line"]) if part)
            if problem.get("field"):
                where = f"{where}: {problem['field']}" if where else problem["field"]
            hint = f'<div class="hint">hint: {_e(problem["hint"])}</div>' if problem.get("hint") else ""
            problems.append(
                f'<li class="problem"><code class="where">{_e(where)}</code> {_e(problem["message"])} '
                f'<code class="code">[{_e(problem["code"])}]</code>{hint}</li>'
            )
        parts.append(
            f'<section class="failure" id="{_anchor(check["nodeid"])}"><h3><code>{_e(check["nodeid"])}</code> '
            f"{_e(check['title'])}</h3><ul>{''.join(problems)}</ul></section>"
        )
    return parts


def _live(servers: list[dict[str, Any]]) -> list[str]:
    runs = [(server["folder"], server["live"]) for server in servers if server.get("live")]
    if not runs:
        return []
    parts = ["<h2>Live runs</h2>"]
    for folder, live in runs:
        parts.append(
            f'<section class="live" data-server="{_e(folder)}"><h3>{_e(folder)} (model {_e(live["model"])})</h3>'
        )
        parts.append(
            f"<p>{live['rows']} row(s) x {live['repeats']} = {live['rollouts']} rollout(s): {live['scored']} scored, "
            f"{live['errored']} with errors</p>"
        )
        parts += _mean(live)
        parts += _histogram(live["histogram"])
        constant = live.get("constant_rows") or []
        if constant:
            rows = "".join(
                f"<tr><td>{row['line']}</td><td>{row['reward']:g}</td><td>{row['samples']}</td></tr>"
                for row in constant
            )
            parts.append(
                f"<h4>{len(constant)} row(s) whose reward never varied (no signal for GRPO-style training)</h4>"
                f'<table class="constant-rows"><thead><tr><th>line</th><th>reward</th><th>samples</th></tr></thead>'
                f"<tbody>{rows}</tbody></table>"
            )
        parts.append("</section>")
    return parts


def _mean(live: dict[str, Any]) -> list[str]:
    mean, interval = live.get("mean_reward"), live.get("mean_reward_ci95")
    if mean is None:
        return ['<p class="mean">no reward (every rollout ended with an error)</p>']
    if interval is None:
        return [f'<p class="mean" data-mean="{mean}">mean reward {mean:.3f} (one row: no interval)</p>']
    low, high = interval["low"], interval["high"]
    text = f"mean reward {mean:.3f}, 95% confidence interval {low:.3f} to {high:.3f} over {interval['rows']} rows"
    # The interval on a 0..1 axis of the rewards seen (the declared range is not in the report).
    top = max(1.0, high)
    bottom = min(0.0, low)
    span = (top - bottom) or 1.0

    def x(value: float) -> float:
        return 20 + 400 * (value - bottom) / span

    return [
        f'<p class="mean" data-mean="{mean}" data-low="{low}" data-high="{high}">{_e(text)}</p>',
        f'<svg class="mean-ci" role="img" aria-label="{_e(text)}" width="440" height="44" viewBox="0 0 440 44">'
        f'<line x1="20" y1="30" x2="420" y2="30" stroke="#999"/>'
        f'<text x="20" y="42" text-anchor="middle">{bottom:g}</text>'
        f'<text x="420" y="42" text-anchor="middle">{top:g}</text>'
        f'<line class="ci" x1="{x(low):.1f}" y1="14" x2="{x(high):.1f}" y2="14"/>'
        f'<circle class="mean" cx="{x(mean):.1f}" cy="14" r="5"/></svg>',
    ]


def _histogram(bins: list[dict[str, Any]]) -> list[str]:
    if not bins:
        return []
    most = max(entry["count"] for entry in bins) or 1
    bar, gap = 40, 12
    width = len(bins) * (bar + gap) + gap
    shapes = []
    for index, entry in enumerate(bins):
        height = _HIST_HEIGHT * entry["count"] / most
        x = gap + index * (bar + gap)
        label = f"{entry['low']:g}" if entry["low"] == entry["high"] else f"{entry['low']:g}..{entry['high']:g}"
        shapes.append(
            f'<rect class="hist" data-count="{entry["count"]}" data-label="{_e(label)}" x="{x}" '
            f'y="{20 + _HIST_HEIGHT - height:.1f}" width="{bar}" height="{height:.1f}">'
            f"<title>{entry['count']}</title></rect>"
            f'<text x="{x + bar / 2}" y="{14 + _HIST_HEIGHT - height:.1f}" text-anchor="middle">{entry["count"]}</text>'
            f'<text x="{x + bar / 2}" y="{_HIST_HEIGHT + 36}" text-anchor="middle">{_e(label)}</text>'
        )
    return [
        f'<svg class="histogram" role="img" aria-label="reward histogram" width="{width}" height="{_HIST_HEIGHT + 44}" '
        f'viewBox="0 0 {width} {_HIST_HEIGHT + 44}">{"".join(shapes)}</svg>'
    ]


def _changed(changed: dict[str, Any] | None) -> list[str]:
    if changed is None:
        return []
    if changed.get("everything"):
        text = f"every server: {changed['everything']}"
    else:
        text = f"{len(changed['selected'])} server(s) changed: " + "; ".join(
            f"{folder} ({why})" for folder, why in changed["selected"].items()
        )
    return [f'<p id="changed-since">Changed since {_e(changed["ref"])}: {_e(text)}</p>']


def _anchor(nodeid: str) -> str:
    return "fail-" + "".join(char if char.isalnum() else "-" for char in nodeid)


def _seconds(value: float) -> str:
    return f"{value:.2f} s" if value < 10 else f"{value:.0f} s"


def _e(value: object) -> str:
    return escape(str(value), quote=True)
