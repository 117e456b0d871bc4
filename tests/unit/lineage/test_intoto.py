"""in-toto Statement v1: SLSA provenance and test-result statements about the dataset."""

from __future__ import annotations

from pathlib import Path

from datagate.lineage.intoto import (
    SLSA_PROVENANCE_V1,
    STATEMENT_V1,
    TEST_RESULT_V01,
    checks_statement,
    provenance_statement,
)
from tests.unit.lineage._helpers import RecordFor, load_validator, make_tree, results

VALIDATOR = load_validator("intoto-statement-v1.schema.json")


def test_provenance_statement(tmp_path: Path, record_for: RecordFor) -> None:
    rec, _, manifest = record_for(make_tree(tmp_path / "t"))
    st = provenance_statement(rec)
    VALIDATOR.validate(st)
    assert st["_type"] == STATEMENT_V1 and st["predicateType"] == SLSA_PROVENANCE_V1
    assert st["subject"][0] == {"name": "demo", "digest": {"dirHash": manifest.root_digest.removeprefix("sha256:")}}
    assert st["subject"][1]["digest"] == {"sha256": rec.data["content"]["manifest"]["sha256"]}
    meta = st["predicate"]["runDetails"]["metadata"]
    assert meta["invocationId"] == rec.data["run"]["invocation_id"]
    assert st["predicate"]["buildDefinition"]["externalParameters"]["source"] == rec.data["source"]["uri"]


def test_checks_statement_pass_warn_fail(tmp_path: Path, record_for: RecordFor) -> None:
    tree = make_tree(tmp_path / "t")
    rec, _, manifest = record_for(tree)
    _, check, decision = results(manifest)
    st = checks_statement(rec, check=check, decision=decision)
    VALIDATOR.validate(st)
    assert st["predicateType"] == TEST_RESULT_V01
    p = st["predicate"]
    assert p["result"] == "WARNED"
    assert p["passedTests"] == ["scan", "schema", "duplicates.cross_split"]
    assert p["warnedTests"] == ["label_distribution"]
    bad, _, m2 = record_for(tree, hostile=True)
    _, check2, decision2 = results(m2, hostile=True)
    p2 = checks_statement(bad, check=check2, decision=decision2)["predicate"]
    assert p2["result"] == "FAILED" and p2["failedTests"] == ["scan", "duplicates.cross_split"]


def test_schema_rejects_a_statement_without_digest(tmp_path: Path, record_for: RecordFor) -> None:
    rec, _, _ = record_for(make_tree(tmp_path / "t"))
    st = provenance_statement(rec)
    st["subject"][0]["digest"] = {}
    assert list(VALIDATOR.iter_errors(st))
    st2 = provenance_statement(rec)
    del st2["predicate"]["buildDefinition"]["buildType"]
    assert list(VALIDATOR.iter_errors(st2))
