"""SARIF for check and ingest: failed, errored and warned checks are results with rules and
locations (the files, and the row range where the check names rows)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from datagate.check import run_checks
from datagate.cli import main
from datagate.report.formats import OutputFormat, ReportKind, render
from datagate.report.sarif import CHECK_RULE_PREFIX, render_check_sarif
from fixtures.gen.quality import EXPECTED
from tests.unit.report import samples
from tests.unit.report.test_sarif_schema import SCHEMA_PATH, SCHEMA_SHA256


@pytest.fixture(scope="module")
def validator() -> Any:
    raw = SCHEMA_PATH.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == SCHEMA_SHA256
    return jsonschema.Draft4Validator(json.loads(raw))


@pytest.fixture(scope="module")
def duplicates_case(quality_cases: dict[str, Path]) -> Path:
    return quality_cases["duplicates"]


def test_check_sarif_carries_every_flagged_check(duplicates_case: Path, validator: Any) -> None:
    report = run_checks(duplicates_case).report
    doc = json.loads(render_check_sarif(report))
    assert list(validator.iter_errors(doc)) == []
    run = doc["runs"][0]
    flagged = {c.id for c in report.checks if c.status.value in ("fail", "warn", "error")}
    assert flagged >= {"duplicates.cross_split", "duplicates.within_split"}
    assert {r["ruleId"] for r in run["results"]} == {CHECK_RULE_PREFIX + c for c in flagged}
    assert {r["id"] for r in run["tool"]["driver"]["rules"]} == {CHECK_RULE_PREFIX + c for c in flagged}
    for res in run["results"]:
        assert run["tool"]["driver"]["rules"][res["ruleIndex"]]["id"] == res["ruleId"]
        assert res["locations"], res["ruleId"]
    cross = next(r for r in run["results"] if r["ruleId"] == CHECK_RULE_PREFIX + "duplicates.cross_split")
    assert cross["level"] == "error"
    assert cross["properties"]["count"] == EXPECTED["duplicates"]["duplicates.cross_split"]
    # the rows named in the check's evidence are located in their files, with the row range
    files = {loc["physicalLocation"]["artifactLocation"]["uri"] for loc in cross["locations"]}
    split_files = {f for info in report.splits.values() for f in info["files"]}
    assert files and files <= split_files
    obs = next(c for c in report.checks if c.id == "duplicates.cross_split").observed
    later = {(p["b"]["split"], p["b"]["row"]) for p in obs["pairs"]} | {(p["a"]["split"], p["a"]["row"]) for p in obs["pairs"]}
    for loc in cross["locations"]:
        props = loc["properties"]
        assert props["firstRow"] <= props["lastRow"]
        assert all((props["split"], r) in later for r in props["rows"])  # single-file splits: row in file == row in split


def test_check_and_ingest_cli_write_sarif(duplicates_case: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-q", "check", str(duplicates_case), "--format", "sarif", "--output", str(tmp_path / "c.sarif")]) == 1
    check_doc = json.loads((tmp_path / "c.sarif").read_text())
    assert any(r["ruleId"] == "check.duplicates.cross_split" for r in check_doc["runs"][0]["results"])
    code = main(["-q", "ingest", str(duplicates_case), "--store", str(tmp_path / "store"), "--format", "sarif",
                 "--output", str(tmp_path / "i.sarif")])
    assert code == 1
    ingest_doc = json.loads((tmp_path / "i.sarif").read_text())
    rules = {r["ruleId"] for r in ingest_doc["runs"][0]["results"]}
    assert "check.duplicates.cross_split" in rules


def test_ingest_sarif_has_scan_findings_and_checks(validator: Any) -> None:
    doc = json.loads(render(OutputFormat.SARIF, ReportKind.INGEST, samples.ingest_result()))
    assert list(validator.iter_errors(doc)) == []
    results = doc["runs"][0]["results"]
    flagged = [c for c in samples.check_report().checks if c.status.value in ("fail", "warn", "error")]
    assert len(results) == len(samples.findings()) + len(flagged)
    for r in results:
        assert doc["runs"][0]["tool"]["driver"]["rules"][r["ruleIndex"]]["id"] == r["ruleId"]


def test_help_lists_only_supported_formats(capsys: pytest.CaptureFixture[str]) -> None:
    for kind in ReportKind:
        for fmt in OutputFormat.choices(kind):
            assert fmt.supports(kind)
    assert OutputFormat.SARIF in OutputFormat.choices(ReportKind.CHECK)
    main(["verify", "--help"])
    out = capsys.readouterr().out
    assert "sarif" not in out and "html" not in out
