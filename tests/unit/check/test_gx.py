"""Great Expectations suites run through GX itself; ``suggest`` writes suites GX loads back.

GX is slow to import, so these tests are few and marked slow.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from datagate.check import run_checks
from datagate.check.gx import read_suite, validate_suite_json
from datagate.check.suggest import suggest_suite, write_suite
from datagate.models import CheckStatus, Severity
from tests.unit.check.conftest import by_id

REPO = Path(__file__).resolve().parents[3]


def test_not_a_suite_is_an_error_without_importing_gx(quality: dict[str, Path], tmp_path: Path) -> None:
    bad_json = tmp_path / "broken.json"
    bad_json.write_text("{not json", encoding="utf-8")
    out = run_checks(quality["baseline"], suites=[quality["not_a_suite"], bad_json, tmp_path / "missing.json"])
    res = by_id(out)
    for rid, needle in (("gx.not_a_suite", "no 'expectations' list"), ("gx.broken", "invalid JSON"), ("gx.missing", "cannot read suite")):
        assert res[rid].status is CheckStatus.ERROR and res[rid].severity is Severity.HIGH
        assert needle in res[rid].message
    assert validate_suite_json({"expectations": [{"type": "nope", "kwargs": {}}]}) == ["expectation 0 has no 'type' naming an expectation"]


def test_shipped_sample_suite_names_the_sample_columns(sample: Path) -> None:
    suite = read_suite(REPO / "expectations" / "sample.json")
    assert suite.name == "sample"
    assert set(suite.columns) == {"id", "text", "label", "feature_a", "feature_b"}


@pytest.mark.slow
def test_gx_runs_suites_with_their_severities(sample: Path, quality: dict[str, Path], tmp_path: Path) -> None:
    strict = {
        "name": "strict",
        "meta": {"severity": "warning"},
        "expectations": [
            {"type": "expect_column_values_to_be_between", "kwargs": {"column": "feature_b", "min_value": 0, "max_value": 12}},
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "text"}, "severity": "critical"},
            {"type": "expect_column_to_exist", "kwargs": {"column": "text"}},
        ],
    }
    (tmp_path / "strict.json").write_text(json.dumps(strict), encoding="utf-8")
    unknown = {"name": "unknown", "expectations": [{"type": "expect_the_moon", "kwargs": {}}]}
    (tmp_path / "unknown.json").write_text(json.dumps(unknown), encoding="utf-8")
    suites = [REPO / "expectations" / "sample.json", tmp_path / "strict.json", tmp_path / "unknown.json"]
    res = by_id(run_checks(sample, suites=suites))
    shipped = res["gx.sample"]
    assert shipped.status is CheckStatus.PASS, shipped.message
    assert shipped.observed["evaluated"] == len(json.loads((REPO / "expectations" / "sample.json").read_text())["expectations"])
    assert all(e["success"] for e in shipped.observed["expectations"])
    warn = res["gx.strict"]
    # feature_b exceeds 12 in every split, which the suite-level severity makes a warning
    assert warn.status is CheckStatus.WARN and warn.observed["count"] == 1
    between = warn.observed["expectations"][0]
    assert between["success"] is False and between["on_failure"] == "warn"
    assert between["splits"]["train"]["unexpected_count"] > 0
    assert res["gx.unknown"].status is CheckStatus.ERROR and "unknown.json" in res["gx.unknown"].message
    # nulls in the text column make the critical expectation fail the suite
    nulls = by_id(run_checks(quality["nulls"], suites=[tmp_path / "strict.json"]))["gx.strict"]
    assert nulls.status is CheckStatus.FAIL and nulls.severity is Severity.CRITICAL
    assert nulls.observed["count"] == 2


@pytest.mark.slow
def test_suggested_suite_loads_in_gx_and_passes(quality: dict[str, Path], tmp_path: Path) -> None:
    from great_expectations.core import ExpectationSuite

    suite = suggest_suite(quality["baseline"], name="baseline")
    text = write_suite(suite)
    data = json.loads(text)
    loaded = ExpectationSuite(**data)
    assert loaded.name == "baseline" and len(loaded.expectations) == len(data["expectations"])
    kinds = {(e["type"], e["kwargs"].get("column")) for e in data["expectations"]}
    assert ("expect_column_values_to_be_in_set", "label") in kinds
    assert ("expect_column_values_to_be_between", "feature_a") in kinds
    assert ("expect_column_values_to_not_be_null", "text") in kinds
    years = next(e for e in data["expectations"] if e["type"] == "expect_column_values_to_be_in_set" and e["kwargs"]["column"] == "year")
    assert years["kwargs"]["value_set"] == list(range(2015, 2024))
    between = next(e for e in data["expectations"] if e["type"] == "expect_column_values_to_be_between")
    assert between["severity"] == "warning"
    path = tmp_path / "baseline.json"
    path.write_text(text, encoding="utf-8")
    assert by_id(run_checks(quality["baseline"], suites=[path]))["gx.baseline"].status is CheckStatus.PASS
    # and it catches the schema change and the retyped column of a later version
    res = by_id(run_checks(quality["schema_changed"], suites=[path]))
    assert res["gx.baseline"].status is CheckStatus.FAIL
    assert res["schema"].status is CheckStatus.FAIL
    assert {c["column"] for c in res["schema"].observed["changes"]} == {"feature_b", "year"}
