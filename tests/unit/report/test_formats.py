"""Every (format, result kind) pair maps to a renderer or to a clear usage error (STYLE.md 9)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from datagate.errors import UsageError
from datagate.report.formats import _UNSUPPORTED, OutputFormat, ReportKind, render
from tests.unit.report import samples


def _args(kind: ReportKind, tmp_path: Path) -> tuple[Any, ...]:
    match kind:
        case ReportKind.SCAN:
            scan = samples.scan_report()
            return (scan, samples.scan_decision(scan))
        case ReportKind.CHECK:
            check = samples.check_report()
            return (check, samples.check_decision(check))
        case ReportKind.INGEST:
            return (samples.ingest_result(),)
        case ReportKind.VERIFY:
            from datagate.inventory import hash_tree
            from datagate.inventory.verify import verify
            from datagate.report.inventory import manifest_json

            tree = tmp_path / "tree"
            tree.mkdir()
            (tree / "a.txt").write_text("a\n")
            manifest = tmp_path / "m.jsonl"
            manifest.write_text(manifest_json(hash_tree(tree, use_cache=False)))
            (tree / "a.txt").write_text("changed\n")
            return (verify(tree, manifest),)


_FIRST_LINE: dict[OutputFormat, Callable[[str], bool]] = {
    OutputFormat.TEXT: lambda out: out.startswith("FAIL  "),
    OutputFormat.JSON: lambda out: isinstance(json.loads(out), dict),
    OutputFormat.SARIF: lambda out: json.loads(out)["version"] == "2.1.0",
    OutputFormat.MARKDOWN: lambda out: out.startswith("## ❌ FAIL"),
    OutputFormat.HTML: lambda out: out.startswith("<!DOCTYPE html>") and "FAIL" in out,
}


@pytest.mark.parametrize("kind", list(ReportKind))
@pytest.mark.parametrize("fmt", list(OutputFormat))
def test_every_format_and_kind(fmt: OutputFormat, kind: ReportKind, tmp_path: Path) -> None:
    assert set(_FIRST_LINE) == set(OutputFormat)  # a new format needs a check here
    if (fmt, kind) in _UNSUPPORTED:
        assert not fmt.supports(kind)
        with pytest.raises(
            UsageError, match=f"--format {fmt.value} is not available for {kind.value}"
        ) as exc:
            fmt.renderer_for(kind)
        assert exc.value.hint is not None and "text" in exc.value.hint
        return
    assert fmt.supports(kind)
    out = render(fmt, kind, *_args(kind, tmp_path))
    assert _FIRST_LINE[fmt](out), out[:200]


def test_choices_and_values() -> None:
    assert [f.value for f in OutputFormat] == ["text", "json", "sarif", "markdown", "html"]
    assert OutputFormat.choices(ReportKind.CHECK) == tuple(OutputFormat)
    assert OutputFormat.choices(ReportKind.VERIFY) == (
        OutputFormat.TEXT,
        OutputFormat.JSON,
        OutputFormat.MARKDOWN,
    )
    assert OutputFormat("sarif") is OutputFormat.SARIF


def test_json_scan_follows_the_contract() -> None:
    scan = samples.scan_report()
    doc = json.loads(render(OutputFormat.JSON, ReportKind.SCAN, scan, samples.scan_decision(scan)))
    assert doc["root_digest"] == samples.DIGEST
    assert doc["findings"][0]["member"] == "archive/data.pkl"
    assert doc["summary"]["findings"]["critical"] == 1


def test_sarif_of_an_ingest_carries_its_scan() -> None:
    doc = json.loads(render(OutputFormat.SARIF, ReportKind.INGEST, samples.ingest_result()))
    scan_results = [r for r in doc["runs"][0]["results"] if not r["ruleId"].startswith("check.")]
    assert len(scan_results) == len(samples.findings())
