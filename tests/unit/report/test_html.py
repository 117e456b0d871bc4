"""The HTML page: self-contained, escaped, and charts drawn from the check observations."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from datagate.models import (
    CheckReport,
    CheckResult,
    CheckStatus,
    GateDecision,
    ScanReport,
    Severity,
)
from datagate.report import html as report_html
from tests.unit.report import samples


class _Collector(HTMLParser):
    """Collect tags, attributes and text with the standard library's HTML parser."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(page: str) -> _Collector:
    c = _Collector()
    c.feed(page)
    c.close()
    return c


def test_page_is_self_contained() -> None:
    r = samples.ingest_result()
    page = report_html.render_html_ingest(r)
    parsed = _parse(page)
    tags = {t for t, _ in parsed.tags}
    assert (
        "script" not in tags and "link" not in tags and "iframe" not in tags and "img" not in tags
    )
    for _, attrs in parsed.tags:
        for key in ("src", "href"):
            assert key not in attrs, attrs
    assert "url(" not in page  # no CSS fetches
    assert "default-src 'none'" in page


def test_hostile_names_are_escaped() -> None:
    report = samples.scan_report()
    page = report_html.render_html_scan(report, samples.scan_decision(report))
    parsed = _parse(page)
    assert [t for t, _ in parsed.tags].count("script") == 0
    assert "<script>alert(1)</script>" in "".join(parsed.text)
    assert "\x1b" not in page


def test_verdict_identity_and_tables() -> None:
    result = samples.ingest_result()
    page = report_html.render_html_ingest(result)
    assert "<span class='verdict fail' id='verdict'>FAIL</span>" in page
    text = "".join(_parse(page).text)
    for fact in ("hf://datasets/acme/reviews (hf)", "a" * 40 + " (requested main)", samples.DIGEST):
        assert fact in text
    assert "Blocking findings (2)" in text and "Check results (9)" in text
    assert text.index("Blocking findings (2)") < text.index(
        "Other findings (3: 2 below the threshold, 1 waived)"
    )


def _charts(page: str) -> dict[str, list[tuple[float, float]]]:
    """Return chart name -> (width, height) of each bar, read from the SVG attributes."""
    out: dict[str, list[tuple[float, float]]] = {}
    for fig in re.findall(
        r'<figure class="chart[^"]*" data-chart="([^"]+)">(.*?)</figure>', page, re.S
    ):
        name, body = fig
        bars = re.findall(r'<rect class="bar"[^>]*?width="([\d.]+)" height="([\d.]+)"', body)
        out[name] = [(float(w), float(h)) for w, h in bars]
    return out


def test_check_charts_from_observed_data() -> None:
    report = samples.check_report()
    charts = _charts(report_html.render_html_check(report, samples.check_decision(report)))
    assert set(charts) == {
        "label_distribution",
        "label_drift",
        "null_rates",
        "outliers:score",
        "outliers",
    }
    # 3 labels x 2 splits; the largest count gets the longest bar.
    bars = charts["label_distribution"]
    assert len(bars) == 6 and all(w > 0 for w, _ in bars)
    # Drift: baseline and current proportions per label (3 x 2 bars).
    assert len(charts["label_drift"]) == 6
    # Nulls: one bar per column; only 'score' has a nonzero width.
    assert sum(1 for w, _ in charts["null_rates"] if w > 0) == 1
    # Histogram: one bar per bin, zero-count bins drawn with zero height.
    assert len(charts["outliers:score"]) == 7
    assert all(h > 0 for _, h in charts["outliers:score"])


def test_real_check_shapes_drift_statistics_and_flagged_rows() -> None:
    """Shapes the check stage emits: per-split drift statistics, outlier rows without bins."""
    checks = (
        CheckResult(
            "label_drift",
            CheckStatus.FAIL,
            Severity.HIGH,
            "drifted",
            {
                "count": 2,
                "label": "label",
                "splits": {
                    "train": {"chi2": 81.5, "df": 2, "p_value": 2e-18, "js_distance": 0.223},
                    "test": {"chi2": 18.7, "df": 2, "p_value": 8.7e-05, "js_distance": 0.214},
                },
            },
        ),
        CheckResult(
            "outliers",
            CheckStatus.WARN,
            Severity.MEDIUM,
            "6 values beyond 6 robust deviations",
            {
                "count": 3,
                "series": {"score": {"count": 3, "median": -0.07, "scale": 0.97}},
                "rows": [
                    {"split": "train", "row": 2, "column": "score", "value": 12.0, "score": 12.5},
                    {"split": "train", "row": 0, "column": "score", "value": 9.5, "score": 9.9},
                    {"split": "train", "row": 1, "column": "score", "value": -8.0, "score": 8.2},
                ],
            },
        ),
        CheckResult(
            "nulls",
            CheckStatus.PASS,
            Severity.INFO,
            "no nulls",
            {"count": 0, "rates": {"train": {"a": 0.0}}},
        ),
    )
    report = CheckReport("data/", checks)
    page = report_html.render_html_check(
        report, GateDecision(False, Severity.HIGH, blocking_checks=checks[:1])
    )
    charts = _charts(page)
    assert len(charts["label_drift"]) == 2  # one JS-distance bar per split
    assert sum(h for _, h in charts["outliers:score"]) > 0
    assert len(charts["outliers:score"]) == 12
    assert "null_rates" not in charts  # all-zero rates are a note, not an empty chart
    assert "Null rates: no nulls in any of the 1 column." in page
    assert "p_value = 2e-18" in page


def test_scan_charts_and_empty_scan() -> None:
    report = samples.scan_report()
    charts = _charts(report_html.render_html_scan(report, samples.scan_decision(report)))
    assert {"findings_by_severity", "findings_by_family", "findings_by_rule"} <= set(charts)
    empty = ScanReport("data/", samples.DIGEST, (), (), 3, 10)
    page = report_html.render_html_scan(empty, GateDecision(True, Severity.HIGH))
    assert _charts(page) == {}
    assert "No findings." in page
