"""The text summary: verdict line first, then what blocks, then counts; hostile names inert."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from datagate.models import GateDecision, ScanReport, Severity
from datagate.report import text
from tests.unit.report import samples


def test_scan_fail_verdict_first_then_blocking_then_counts() -> None:
    report = samples.scan_report()
    out = text.render_scan(report, samples.scan_decision(report))
    lines = out.splitlines()
    assert lines[0] == "FAIL  scan data/: 2 blocking findings (fail on high and above)"
    blocking_at = out.index("Blocking findings (2):")
    assert out.index("pickle.global.unsafe") > blocking_at
    assert out.index("Blocking findings") < out.index("Other findings") < out.index("Findings: ")
    # Critical is listed before high inside the blocking section.
    assert out.index("CRITICAL  pickle.global.unsafe") < out.index("HIGH      executable.elf")
    assert "models/model.pt :: archive/data.pkl" in out
    assert "Findings: 1 critical, 1 high, 1 medium, 1 low, 0 info (1 waived)" in out
    assert "By rule: executable.elf 1, pickle.global.allowed 1," in out
    assert "waived: reviewed: runs `git lfs pull` only" in out
    # Skips are always reported.
    assert "raw/secret.7z: encrypted 7z archive" in out
    assert "raw/archive.zip :: big.bin: member over the size limit" in out


def test_scan_pass_when_only_findings_below_the_threshold() -> None:
    full = samples.scan_report()
    low = tuple(f for f in full.findings if f.severity < Severity.HIGH or f.waived is not None)
    report = dataclasses.replace(full, findings=low)
    decision = samples.scan_decision(report)
    assert decision.passed
    out = text.render_scan(report, decision)
    assert out.startswith("PASS  scan data/: no blocking findings (fail on high and above)\n")
    assert "Blocking findings" not in out
    assert "Other findings, below the threshold (2):" in out
    assert "Waived findings (1):" in out


def test_empty_scan_is_a_clean_pass() -> None:
    report = ScanReport("fixtures/build/sample", samples.DIGEST, (), (), files=3, bytes=2_048)
    out = text.render_scan(report, GateDecision(True, Severity.HIGH))
    assert out.splitlines()[0].startswith("PASS")
    assert "Scanned 3 files, 2.0 kB" in out
    assert "Not inspected" not in out


def test_hostile_file_names_cannot_inject_terminal_control() -> None:
    report = samples.scan_report()
    out = text.render_scan(report, samples.scan_decision(report))
    assert "\x1b" not in out
    assert "raw/\\x1b[2Jevil\\x0aname" in out
    # Each finding's location stays on one line: the embedded newline is escaped.
    assert all("evil" not in line or "\\x0aname" in line for line in out.splitlines())


def test_clean_escapes_bidi_overrides_and_cuts_long_text() -> None:
    assert text.clean("a\u202eexe.pkl") == "a\\u202eexe.pkl"
    assert len(text.clean("x" * 1000, limit=50)) == 50


def test_check_summary_orders_blocking_then_warnings_then_counts() -> None:
    report = samples.check_report()
    out = text.render_check(report, samples.check_decision(report))
    lines = out.splitlines()
    assert lines[0] == "FAIL  check data/: 3 blocking checks (fail on high and above)"
    assert out.index("Blocking checks (3):") < out.index("Warnings (4):") < out.index("Checks: ")
    assert (
        "duplicates.cross_split: 12 rows of test also occur in train (leakage)  (count 12)" in out
    )
    assert "Checks: 2 fail, 1 error, 4 warn, 1 skipped, 1 pass" in out
    assert "label column: label (from ClassLabel)" in out
    assert "splits: train 1000 rows, test 200 rows" in out


def test_ingest_summary_names_dataset_source_revision_and_both_stages() -> None:
    result = samples.ingest_result()
    out = text.render_ingest(result)
    assert out.splitlines()[0] == (
        "FAIL  ingest reviews: 2 blocking findings, 3 blocking checks (fail on high and above)"
    )
    assert "hf://datasets/acme/reviews (hf)" in out
    assert "a" * 40 + " (requested main)" in out
    assert samples.DIGEST in out
    assert out.index("== scan ==") < out.index("== check ==")


def test_verify_summary_from_a_real_verify(tmp_path: Path) -> None:
    from datagate.inventory import hash_tree
    from datagate.inventory.verify import verify
    from datagate.report.inventory import manifest_json

    tree = tmp_path / "data"
    tree.mkdir()
    (tree / "a.csv").write_text("id,label\n1,pos\n")
    (tree / "b.csv").write_text("id,label\n2,neg\n")
    manifest = tmp_path / "data.manifest.jsonl"
    manifest.write_text(manifest_json(hash_tree(tree, use_cache=False)))

    same = text.render_verify(verify(tree, manifest))
    assert same.startswith(f"PASS  verify {tree}: matches {manifest}\n")

    (tree / "a.csv").write_text("id,label\n1,neg\n")
    (tree / "b.csv").unlink()
    (tree / "c.bin").write_bytes(b"\x7fELF")
    (tree / "c.bin").chmod(0o755)
    out = text.render_verify(verify(tree, manifest))
    assert out.splitlines()[0] == f"FAIL  verify {tree}: 3 differences from {manifest}"
    assert "  CONTENT  a.csv  " in out
    assert "  REMOVED  b.csv" in out
    assert "  ADDED    c.bin" in out
    assert "Differences: 1 added, 1 content, 1 removed" in out
