"""Open a page in real headless Chromium and read what it rendered: tables, SVG bars and their on-screen sizes."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
# Without the background-networking flags Chromium tries hosts this closed network refuses, at every start.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--allow-file-access-from-files",  # the probe page reads the report's document in its iframe
    "--virtual-time-budget=15000",
)
# Loaded beside the report: measures the report as laid out in an iframe and writes the figures into #out.
PROBE = """<!DOCTYPE html><html><body>
<iframe id="page" src="{name}" width="1400" height="4000"></iframe><pre id="out">not measured</pre>
<script>
window.addEventListener("load", () => {
  const doc = document.getElementById("page").contentDocument;
  const size = (el) => { const r = el.getBoundingClientRect(); return {width: r.width, height: r.height, x: r.x}; };
  const all = (selector) => [...doc.querySelectorAll(selector)];
  const data = {
    title: doc.title,
    headers: all("#checks thead th").map((th) => th.textContent),
    rows: all("#checks tbody tr").map((tr) => ({
      server: tr.dataset.server,
      cells: all(`#checks tbody tr[data-server="${tr.dataset.server}"] td`).map((td) => ({
        check: td.dataset.check || null, text: td.textContent, outcome: td.className,
        background: getComputedStyle(td).backgroundColor, ...size(td)})),
    })),
    bars: all("#server-times rect.bar").map((r) => ({server: r.dataset.server, seconds: +r.dataset.seconds, ...size(r)})),
    slowest: all("#slowest li").map((li) => li.textContent),
    failures: all("section.failure").map((s) => ({id: s.id, text: s.textContent, visible: size(s).height > 0})),
    histograms: all("svg.histogram").map((svg) =>
      [...svg.querySelectorAll("rect.hist")].map((r) => ({count: +r.dataset.count, label: r.dataset.label, ...size(r)}))),
    means: all("p.mean").map((p) => ({text: p.textContent, mean: +p.dataset.mean, low: +p.dataset.low, high: +p.dataset.high})),
    intervals: all("svg.mean-ci").map((svg) => ({
      line: size(svg.querySelector("line.ci")), dot: size(svg.querySelector("circle.mean")), axis: size(svg)})),
    constant: all("table.constant-rows tbody tr").map((tr) => [...tr.children].map((td) => td.textContent)),
  };
  document.getElementById("out").textContent = JSON.stringify(data);
});
</script></body></html>
"""


def chromium() -> str:
    """Return the Chromium executable, or skip the test (the OS package `chromium`; .ci/run installs it)."""
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no Chromium on this machine (the Debian package `chromium`; .ci/run installs it with apt-get)")


def rendered(page: Path) -> dict:
    """Return what headless Chromium rendered of `page` (see PROBE for the figures)."""
    browser = chromium()
    probe = page.with_name(page.stem + "_probe.html")
    probe.write_text(PROBE.replace("{name}", page.name), encoding="utf-8")
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [browser, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", probe.as_uri()],
            capture_output=True,
            text=True,
            timeout=120,
        )
    found = re.search(r'<pre id="out">(.*?)</pre>', done.stdout, re.S)
    assert found, f"Chromium printed no page (exit {done.returncode}): {done.stderr[-2000:]}"
    text = html.unescape(found.group(1))
    assert text != "not measured", "the probe's script did not run"
    return json.loads(text)
