"""HTML: what blocks the gate comes first; outlier charts show the distribution, the threshold
fences and the flagged values (on the planted-outliers fixture, checked for real)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from datagate.check import run_checks
from datagate.config import Policy
from datagate.gate import decide
from datagate.report.html import render_html_check
from fixtures.gen.quality import EXPECTED


@pytest.fixture(scope="module")
def page(quality_cases: dict[str, Path]) -> str:
    case = quality_cases["outliers"]
    report = run_checks(case).report
    decision = decide(Policy(), checks=report.checks)
    assert not decision.passed  # the planted outliers fail the gate
    return render_html_check(report, decision)


def test_blocking_items_come_before_every_chart(page: str) -> None:
    blocking = page.index("class='blocking-summary'")
    table = page.index("<table class='checks'>")
    first_chart = page.index('<figure class="chart')
    assert blocking < table < first_chart
    summary = page[blocking : page.index("</section>", blocking)]
    assert "outliers" in summary


def test_outlier_charts_show_distribution_threshold_and_flagged_values(page: str) -> None:
    fig = re.search(r'<figure class="chart hist" data-chart="outliers:feature_a">(.*?)</figure>', page, re.S)
    assert fig is not None
    body = fig.group(1)
    bars = [int(m) for m in re.findall(r"\): ([\d,]+) rows</title>", body.replace(",", ""))]
    assert sum(bars) > 1000  # the whole column, not only the flagged rows
    assert len(re.findall(r'class="fence"', body)) >= 1  # the threshold fence(s)
    flagged = re.findall(r'class="flagged"', body)
    assert len(flagged) == EXPECTED["outliers"]["per_series"]["feature_a"]
    assert "threshold 6 robust deviations" in body and "flagged values" in body
