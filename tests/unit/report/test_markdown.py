"""Markdown for PR comments and step summaries, rendered by a real CommonMark+tables parser."""

from __future__ import annotations

import re
from pathlib import Path

from markdown_it import MarkdownIt

from datagate.report import markdown
from tests.unit.report import samples

_MD = MarkdownIt("commonmark").enable("table")


def _html(src: str) -> str:
    return str(_MD.render(src))


def test_scan_markdown_verdict_tables_and_collapsible_details() -> None:
    report = samples.scan_report()
    src = markdown.render_scan(report, samples.scan_decision(report))
    assert src.splitlines()[0] == "## ❌ FAIL: datagate scan of `data/`"
    page = _html(src)
    assert page.startswith("<h2>❌ FAIL: datagate scan of <code>data/</code></h2>")
    # Blocking table: header + 2 rows of 4 cells each.
    blocking = page.split("<h3>Blocking findings (2)</h3>", 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", blocking, re.S)
    assert len(rows) == 3
    assert all(row.count("<td>") == 4 for row in rows[1:])
    assert "<code>models/model.pt</code> → <code>archive/data.pkl</code>" in blocking
    assert "<summary>Other findings, below the threshold (2)</summary>" in page
    assert "<summary>Waived findings (1)</summary>" in page
    assert "<summary>Not inspected (2)</summary>" in page


def test_hostile_names_render_as_text() -> None:
    report = samples.scan_report()
    page = _html(markdown.render_scan(report, samples.scan_decision(report)))
    assert "<a " not in page  # no link from [x](http://...)
    assert "<script" not in page  # HTML in a name is escaped
    assert "&lt;script&gt;" in page
    # The name's "|" does not split the table: every findings row keeps 4 cells.
    for table in re.findall(r"<table>.*?</table>", page, re.S):
        header = re.findall(r"<th(?:\s[^>]*)?>", table)
        for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]:
            assert row.count("<td") == len(header)
    # Outside code spans a mention is broken so GitHub does not notify anyone.
    prose = re.sub(r"<code>.*?</code>", "", page, flags=re.S)
    assert "octocat" in prose and "@octocat" not in prose


def test_md_code_survives_backticks_and_pipes() -> None:
    assert _html(markdown.md_code("a`b|c")).strip() == "<p><code>a`b|c</code></p>"
    cell = markdown.md_code("a`b|c", table=True)
    page = _html(f"| x | y |\n|---|---|\n| {cell} | 1 |\n")
    assert "<td><code>a`b|c</code></td>\n<td>1</td>" in page


def test_check_markdown_lists_blocking_checks_and_observed_details() -> None:
    report = samples.check_report()
    src = markdown.render_check(report, samples.check_decision(report))
    page = _html(src)
    assert src.splitlines()[0] == "## ❌ FAIL: datagate check of `data/`"
    blocking = page.split("<h3>Blocking checks (3)</h3>", 1)[1].split("</table>", 1)[0]
    assert "<code>duplicates.cross_split</code>" in blocking
    assert "<td>12</td>" in blocking
    assert "<summary>All other checks (6)</summary>" in page
    assert "<summary>Observed: <code>label_drift</code></summary>" in page
    assert "&quot;js_distance&quot;: 0.21" in page
    assert "label column <code>label</code> (ClassLabel)" in page


def test_ingest_markdown_has_identity_and_both_sections() -> None:
    src = markdown.render_ingest(samples.ingest_result())
    page = _html(src)
    assert src.splitlines()[0] == "## ❌ FAIL: datagate ingest of `reviews`"
    assert "<code>hf://datasets/acme/reviews (hf)</code>" in page
    assert page.index("<h3>Scan</h3>") < page.index("<h3>Checks</h3>")
    assert "<h4>Blocking findings (2)</h4>" in page and "<h4>Blocking checks (3)</h4>" in page


def test_long_tables_are_cut_with_a_note() -> None:
    import dataclasses

    base = samples.scan_report()
    many = tuple(
        dataclasses.replace(base.findings[0], path=f"shard-{i:04d}.pt") for i in range(250)
    )
    report = dataclasses.replace(base, findings=many)
    src = markdown.render_scan(report, samples.scan_decision(report))
    assert src.count("| 🟥 critical |") == markdown.MAX_ROWS
    assert "… and 150 more" in src


def test_markdown_of_a_real_check_run(tmp_path: Path) -> None:
    """The real check stage on a generated dataset with drift renders to a valid summary."""
    from datagate.check import check

    base = samples.labelled_dataset(tmp_path / "v1", (0.48, 0.48, 0.04), seed=7)
    current = samples.labelled_dataset(tmp_path / "v2", (0.25, 0.65, 0.10), seed=8)
    report = check(current, label="label", baseline=base)
    decision = samples.check_decision(report)
    page = _html(markdown.render_check(report, decision))
    assert page.startswith("<h2>❌ FAIL: datagate check of <code>")
    blocking = page.split("Blocking checks (", 1)[1].split("</table>", 1)[0]
    assert "<code>label_drift</code>" in blocking
    for table in re.findall(r"<table>.*?</table>", page, re.S):
        header = re.findall(r"<th(?:\s[^>]*)?>", table)
        for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]:
            assert row.count("<td") == len(header)


def test_huge_reports_shrink_to_fit_a_pr_comment() -> None:
    """Long messages in many findings shrink the tables so the comment stays under 60,000 chars."""
    import dataclasses

    base = samples.scan_report()
    long = "x" * 280
    many = tuple(
        dataclasses.replace(base.findings[i % 2], path=f"p/{i:05d}-{long}.pt", message=long)
        for i in range(2000)
    )
    report = dataclasses.replace(base, findings=many)
    src = markdown.render_scan(report, samples.scan_decision(report))
    assert len(src) <= markdown.MAX_CHARS
    assert src.startswith("## ❌ FAIL")
    assert re.search(r"_… and (\d+) more; run with `--format json` for all\._", src)
