"""The lineage record: deterministic, schema-valid, digest-protected."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest

from datagate.errors import LineageError, UsageError
from datagate.lineage.record import (
    RECORD_SCHEMA_ID,
    canonical_json,
    record_digest,
    record_schema,
    validate_dataset_name,
    validate_record,
)
from tests.unit.lineage._helpers import RecordFor, make_tree


def test_schema_is_valid_draft_2020_12_and_ids_agree() -> None:
    schema = record_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$id"] == RECORD_SCHEMA_ID
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_canonical_json_sorts_keys_and_uses_fixed_separators() -> None:
    assert canonical_json({"b": [1, {"d": 2, "c": "é"}], "a": None}) == '{"a":null,"b":[1,{"c":"é","d":2}]}'
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})


def test_same_bytes_and_source_give_the_same_deterministic_record(tmp_path: Path, record_for: RecordFor) -> None:
    tree = make_tree(tmp_path / "t")
    a, _, _ = record_for(tree, n=1)
    b, _, _ = record_for(tree, n=2)
    assert a.data["run"] != b.data["run"]
    assert a.deterministic_json() == b.deterministic_json()
    assert a.digest == b.digest == record_digest(a.data)
    validate_record(json.loads(a.to_json()))


def test_record_fields(tmp_path: Path, record_for: RecordFor) -> None:
    tree = make_tree(tmp_path / "t")
    rec, text, manifest = record_for(tree)
    d = rec.data
    assert d["schema"] == RECORD_SCHEMA_ID and d["schema_version"] == 1
    assert d["content"]["root_digest"] == manifest.root_digest
    assert d["content"]["files"] == 2
    assert d["content"]["dvc_md5"] == manifest.dvc_md5 and d["content"]["dvc_md5"].endswith(".dir")
    assert d["scan"]["skipped"] == 1 and d["scan"]["findings"]["critical"] == 0
    assert d["checks"]["status"] == {"schema": "pass", "label_distribution": "warn", "duplicates.cross_split": "pass"}
    assert d["data"]["labels"] == {"train": {"neg": 2, "pos": 1}}
    assert d["data"]["splits"]["train"]["schema"] == {"label": "string", "text": "string"}
    assert d["gate"] == {"passed": True, "threshold": "high", "blocking_findings": 0, "blocking_checks": 0, "reasons": []}


def test_content_change_changes_the_digest(tmp_path: Path, record_for: RecordFor) -> None:
    tree = make_tree(tmp_path / "t")
    a, _, _ = record_for(tree)
    (tree / "data" / "test.csv").write_text("text,label\nheld out,neg\n")
    b, _, _ = record_for(tree)
    assert a.version != b.version and a.digest != b.digest


def test_tampered_record_is_rejected(tmp_path: Path, record_for: RecordFor) -> None:
    rec, _, _ = record_for(make_tree(tmp_path / "t"))
    data = copy.deepcopy(dict(rec.data))
    data["gate"]["passed"] = False
    with pytest.raises(LineageError, match="record_digest does not match"):
        validate_record(data, where="r.json")


def test_schema_violation_names_the_location(tmp_path: Path, record_for: RecordFor) -> None:
    rec, _, _ = record_for(make_tree(tmp_path / "t"))
    data = copy.deepcopy(dict(rec.data))
    data["content"]["files"] = -1
    with pytest.raises(LineageError, match="content/files"):
        validate_record(data, where="r.json")


def test_newer_schema_version_is_refused(tmp_path: Path, record_for: RecordFor) -> None:
    rec, _, _ = record_for(make_tree(tmp_path / "t"))
    data = copy.deepcopy(dict(rec.data))
    data["schema_version"] = 2
    with pytest.raises(LineageError, match="newer"):
        validate_record(data, where="r.json")


@pytest.mark.parametrize("bad", ["../x", "a/b", "", ".", "..", ".hidden", "a b", "x" * 129, "a\\b", "é"])
def test_unsafe_dataset_names_are_usage_errors(bad: str) -> None:
    with pytest.raises(UsageError):
        validate_dataset_name(bad)


@pytest.mark.parametrize("good", ["imdb", "OWNER--name", "v1.2_x-y", "0"])
def test_safe_dataset_names(good: str) -> None:
    assert validate_dataset_name(good) == good
