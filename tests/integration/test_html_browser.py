"""The HTML report renders in a real headless Chromium: charts drawn, no console errors.

Chromium (Debian packages ``chromium`` and ``chromium-driver``) is driven over the Chrome
DevTools Protocol on a pipe (``--remote-debugging-pipe``: commands on fd 3, replies on fd 4,
NUL-separated JSON), so no Python browser package is needed. Each page is opened from a
``file://`` URL with networking disabled; the test fails on any console error, uncaught
exception or blocked request (a CSP violation would be one), and checks in the DOM that every
chart's SVG has bars with a nonzero rendered size. A full-page screenshot of each report is kept
in ``test-artifacts/``.

The reports come from the real scan of generated hostile and benign fixtures and, when the check
stage is importable, the real check of a generated labelled dataset; otherwise the check report is
built from the same facts the check would observe.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from datagate.models import GateDecision, ScanReport, Severity
from datagate.report.html import render_html_check, render_html_ingest, render_html_scan

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TIMEOUT = 60.0


class CDPError(RuntimeError):
    """The browser answered a command with an error, or did not answer in time."""


class Chromium:
    """A headless Chromium process spoken to over the DevTools protocol on a pipe."""

    def __init__(self, user_data_dir: Path) -> None:
        cmd_r, self._cmd_w = os.pipe()
        self._out_r, out_w = os.pipe()

        def place_fds() -> None:  # runs in the child between fork and exec
            # Move both ends above any fd they could clobber, then onto 3 and 4.
            high_r = fcntl.fcntl(cmd_r, fcntl.F_DUPFD, 32)
            high_w = fcntl.fcntl(out_w, fcntl.F_DUPFD, 32)
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        self.proc = subprocess.Popen(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--disable-default-apps",
                "--no-first-run",
                "--no-default-browser-check",
                "--mute-audio",
                "--hide-scrollbars",
                f"--user-data-dir={user_data_dir}",
                "--remote-debugging-pipe",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=place_fds,  # noqa: PLW1509 - single-threaded test process
            pass_fds=(3, 4),  # kept open in the child after place_fds put the pipe ends there
        )
        os.close(cmd_r)
        os.close(out_w)
        self._buf = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def send(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> dict[str, Any]:
        """Send one command and return its result; events that arrive meanwhile are kept."""
        self._next_id += 1
        msg: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session is not None:
            msg["sessionId"] = session
        os.write(self._cmd_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise CDPError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result
            self.events.append(reply)

    def wait_event(self, method: str, session: str) -> dict[str, Any]:
        """Return the first event ``method`` for ``session`` (already received or next)."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            for ev in self.events:
                if ev.get("method") == method and ev.get("sessionId") == session:
                    return ev
            self.events.append(self._read(deadline))

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CDPError("no answer from Chromium in time")
            ready, _, _ = select.select([self._out_r], [], [], left)
            if ready:
                chunk = os.read(self._out_r, 1 << 20)
                if not chunk:
                    raise CDPError("Chromium closed the pipe: " + self._stderr())
                self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        msg: dict[str, Any] = json.loads(raw)
        return msg

    def _stderr(self) -> str:
        if self.proc.poll() is None or self.proc.stderr is None:
            return ""
        return self.proc.stderr.read().decode(errors="replace")[-2000:]

    def close(self) -> None:
        """Ask the browser to quit; kill it if it does not."""
        try:
            self.send("Browser.close")
        except (CDPError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._cmd_w, self._out_r):
            try:
                os.close(fd)
            except OSError:
                pass
        if self.proc.stderr is not None:
            self.proc.stderr.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Chromium]:
    if not os.path.exists(CHROMIUM):
        pytest.skip(
            "Chromium is not installed (/usr/bin/chromium missing): "
            "apt-get install -y chromium chromium-driver"
        )
    with tempfile.TemporaryDirectory(prefix="dg-chromium-") as profile:
        b = Chromium(Path(profile))
        try:
            yield b
        finally:
            b.close()


_PROBE = """
(() => {
  const figs = [...document.querySelectorAll('figure.chart')];
  return JSON.stringify({
    verdict: (document.getElementById('verdict') || {}).textContent || null,
    title: document.title,
    charts: figs.map(f => {
      const svg = f.querySelector('svg');
      const bars = svg ? [...svg.querySelectorAll('rect.bar')] : [];
      const sized = bars.filter(b => { const r = b.getBoundingClientRect(); return r.width > 0 && r.height > 0; });
      const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
      return {name: f.dataset.chart, bars: bars.length, drawn: sized.length, width: box.width, height: box.height};
    }),
    scripts: document.scripts.length,
    external: [...document.querySelectorAll('[src],[href]')].map(e => e.getAttribute('src') || e.getAttribute('href')),
  });
})()
"""


def open_report(browser: Chromium, page: Path, shot: Path) -> dict[str, Any]:
    """Open ``page``, wait for load, screenshot it full-page to ``shot``, return the DOM probe and errors."""
    target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
        "sessionId"
    ]
    try:
        for domain in ("Page", "Runtime", "Log"):
            browser.send(f"{domain}.enable", session=session)
        browser.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        start = len(browser.events)
        browser.send("Page.navigate", {"url": page.as_uri()}, session=session)
        browser.wait_event("Page.loadEventFired", session)
        probe: dict[str, Any] = json.loads(
            browser.send(
                "Runtime.evaluate", {"expression": _PROBE, "returnByValue": True}, session=session
            )["result"]["value"]
        )
        metrics = browser.send("Page.getLayoutMetrics", session=session)
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        shot_data = browser.send(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {
                    "x": 0,
                    "y": 0,
                    "width": size["width"],
                    "height": min(size["height"], 5000),
                    "scale": 1,
                },
            },
            session=session,
        )["data"]
        shot.parent.mkdir(parents=True, exist_ok=True)
        shot.write_bytes(base64.b64decode(shot_data))
        errors = []
        for ev in browser.events[start:]:
            if ev.get("sessionId") != session:
                continue
            params = ev.get("params", {})
            if ev.get("method") == "Runtime.exceptionThrown":
                errors.append(f"exception: {params.get('exceptionDetails', {}).get('text')}")
            elif ev.get("method") == "Runtime.consoleAPICalled" and params.get("type") in (
                "error",
                "assert",
                "warning",
            ):
                errors.append(
                    f"console.{params['type']}: {[a.get('value') for a in params.get('args', [])]}"
                )
            elif ev.get("method") == "Log.entryAdded" and params.get("entry", {}).get("level") in (
                "error",
                "warning",
            ):
                entry = params["entry"]
                errors.append(
                    f"log {entry.get('source')}: {entry.get('text')} {entry.get('url', '')}"
                )
        probe["errors"] = errors
        return probe
    finally:
        browser.send("Target.closeTarget", {"targetId": target})


# --------------------------------------------------------------------------- real inputs


@pytest.fixture(scope="module")
def real_scan(tmp_path_factory: pytest.TempPathFactory) -> ScanReport:
    """Scan generated hostile pickles/executables plus benign pickles with the real scanner."""
    from fixtures.generate import build_all

    try:
        from datagate.scan import scan
    except ImportError:
        pytest.skip("the scan stage is not importable yet")
    root = tmp_path_factory.mktemp("fx")
    build_all(root, ("pickles", "executables"))
    return scan(root)


@pytest.fixture(scope="module")
def real_check(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Run the real check stage on a generated dataset against a baseline version of it.

    Falls back to a report built from the same facts when the check stage is not importable.
    """
    from tests.unit.report import samples

    root = tmp_path_factory.mktemp("ds")
    baseline = samples.labelled_dataset(root / "v1", (0.48, 0.48, 0.04), seed=7)
    current = samples.labelled_dataset(root / "v2", (0.25, 0.65, 0.10), seed=8)
    try:
        from datagate.check import check
    except ImportError:
        return samples.check_report()
    return check(current, label="label", baseline=baseline)


def _decide(scan: ScanReport | None = None, check: Any = None) -> GateDecision:
    from tests.unit.report.samples import check_decision, scan_decision

    blocking_f = scan_decision(scan).blocking_findings if scan is not None else ()
    blocking_c = check_decision(check).blocking_checks if check is not None else ()
    return GateDecision(not blocking_f and not blocking_c, Severity.HIGH, blocking_f, blocking_c)


def _assert_rendered(probe: dict[str, Any], expect: set[str]) -> None:
    assert probe["errors"] == [], probe["errors"]
    assert probe["scripts"] == 0
    assert probe["external"] == []
    names = {c["name"].split(":", 1)[0] for c in probe["charts"]}
    assert expect <= names, f"missing charts: {sorted(expect - names)}"
    for chart in probe["charts"]:
        assert chart["width"] > 0 and chart["height"] > 0, chart
        assert chart["drawn"] > 0, f"chart {chart['name']} drew no bars: {chart}"


def test_scan_report_renders_with_charts(
    browser: Chromium, real_scan: ScanReport, tmp_path: Path
) -> None:
    decision = _decide(scan=real_scan)
    page = tmp_path / "scan.html"
    page.write_text(render_html_scan(real_scan, decision), encoding="utf-8")
    probe = open_report(browser, page, ARTIFACTS / "report-scan.png")
    _assert_rendered(probe, {"findings_by_severity", "findings_by_family"})
    assert probe["verdict"] == "FAIL"
    assert (ARTIFACTS / "report-scan.png").stat().st_size > 10_000


def test_check_report_renders_with_charts(
    browser: Chromium, real_check: Any, tmp_path: Path
) -> None:
    page = tmp_path / "check.html"
    page.write_text(render_html_check(real_check, _decide(check=real_check)), encoding="utf-8")
    probe = open_report(browser, page, ARTIFACTS / "report-check.png")
    _assert_rendered(probe, {"label_distribution", "label_drift", "null_rates", "outliers"})
    assert probe["verdict"] == "FAIL"  # the planted label drift fails the gate


def test_ingest_report_with_every_chart_kind(
    browser: Chromium, real_scan: ScanReport, tmp_path: Path
) -> None:
    """An ingest page carrying drift, nulls and outlier histograms draws every chart kind."""
    import dataclasses

    from tests.unit.report import samples

    result = dataclasses.replace(samples.ingest_result(), scan=real_scan)
    page = tmp_path / "ingest.html"
    page.write_text(render_html_ingest(result), encoding="utf-8")
    probe = open_report(browser, page, ARTIFACTS / "report-ingest.png")
    _assert_rendered(
        probe,
        {"findings_by_severity", "label_distribution", "label_drift", "null_rates", "outliers"},
    )
    assert any(c["name"] == "outliers:score" for c in probe["charts"])


def test_a_broken_chart_is_caught(browser: Chromium, tmp_path: Path) -> None:
    """The probe really fails a page whose bars have no size and which logs an error."""
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><html><body><figure class='chart' data-chart='x'><svg width='100' height='50'>"
        "<rect class='bar' width='0' height='10'/></svg></figure>"
        "<img src='missing-image.png'></body></html>",
        encoding="utf-8",
    )
    probe = open_report(browser, page, tmp_path / "broken.png")
    assert probe["charts"][0]["drawn"] == 0
    assert probe["errors"], "a failed resource load must show up as an error"
    with pytest.raises(AssertionError):
        _assert_rendered(probe, {"x"})
