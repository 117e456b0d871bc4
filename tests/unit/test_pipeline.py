"""``datagate.ingest`` end to end on real local data: record, store, events, statements, gate."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pytest

from datagate.errors import LineageError, UsageError
from datagate.lineage.record import validate_record
from datagate.lineage.store import Store
from datagate.pipeline import IngestResult
from tests.unit.lineage._helpers import load_validator, make_tree


def _stages_ready() -> bool:
    scan = importlib.import_module("datagate.scan")
    check = importlib.import_module("datagate.check")
    return hasattr(scan, "scan") and hasattr(check, "run_checks")


pytestmark = pytest.mark.skipif(
    not _stages_ready(),
    reason="datagate.scan.scan or datagate.check.run_checks not present yet (issues 3 and 4)",
)

# A protocol-0 pickle whose load runs os.system: what a scanner must flag (never loaded here).
HOSTILE_PICKLE = b"cos\nsystem\n(S'echo DGPWNED-ingest'\ntR."


def _ingest(source: Path, **kwargs: Any) -> IngestResult:
    from datagate.pipeline import ingest

    return ingest(source, **kwargs)


def test_ingest_local_folder_stores_a_valid_record(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "reviews", rows=6)
    store = tmp_path / "store"
    res = _ingest(tree, store=store, label="label")
    assert res.decision.passed and res.exit_code == 0
    rec = res.record
    validate_record(json.loads(res.record_path.read_text()))
    assert rec.name == "reviews"
    # the path relative to the project root (the store's parent), no host name: privacy
    assert rec.data["source"] == {"kind": "local", "uri": "reviews",
                                  "requested_revision": None, "resolved_revision": None}
    assert "host" not in rec.data["run"] and "source_path" not in rec.data["run"]
    assert rec.data["run_digest"].startswith("sha256:")
    assert rec.version == res.manifest.root_digest
    assert rec.data["content"]["dvc_md5"] == res.manifest.dvc_md5
    assert set(rec.data["data"]["splits"]) == {"train", "test"}
    assert rec.data["data"]["labels"]["train"] == {"neg": 3, "pos": 3}
    st = Store.open(store)
    assert st.manifest(st.resolve(rec.version)) == res.manifest
    assert st.profile(rec) is not None
    # OpenLineage START + COMPLETE, same run, valid
    ol = load_validator("openlineage-runevent.schema.json")
    events = [json.loads(x) for x in st.events_path.read_text().splitlines()]
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"]
    for e in events:
        ol.validate(e)
    assert events[0]["run"]["runId"] == events[1]["run"]["runId"] == rec.data["run"]["invocation_id"]
    # in-toto statements
    it = load_validator("intoto-statement-v1.schema.json")
    statements = [json.loads(x) for x in st.attestation_path(rec.name, rec.version).read_text().splitlines()]
    assert [s["predicateType"] for s in statements] == [
        "https://slsa.dev/provenance/v1", "https://in-toto.io/attestation/test-result/v0.1"]
    for s in statements:
        it.validate(s)


def test_same_bytes_same_record_across_runs_and_stores(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "reviews")
    a = _ingest(tree, store=tmp_path / "s1", label="label")
    b = _ingest(tree, store=tmp_path / "s2", label="label")
    c = _ingest(tree, store=tmp_path / "s1", label="label")
    assert a.record.deterministic_json() == b.record.deterministic_json() == c.record.deterministic_json()
    assert a.record.data["run"]["invocation_id"] != c.record.data["run"]["invocation_id"]
    assert c.baseline is None  # the same version is never its own baseline


def test_next_version_uses_the_previous_profile_as_baseline(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "reviews")
    first = _ingest(tree, store=tmp_path / "s", label="label")
    (tree / "data" / "train.csv").write_text("text,label\nnew a,neg\nnew b,neg\nnew c,pos\n")
    second = _ingest(tree, store=tmp_path / "s", label="label")
    assert second.baseline == first.record.version
    assert second.record.data["baseline"] == first.record.version
    assert [r.version for r in Store.open(tmp_path / "s").history("reviews")] == [
        first.record.version, second.record.version]


def test_hostile_file_fails_the_gate_and_is_not_delivered(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "reviews")
    (tree / "data" / "evil.pkl").write_bytes(HOSTILE_PICKLE)
    dest = tmp_path / "vetted" / "reviews"
    res = _ingest(tree, store=tmp_path / "s", dest=dest, label="label")
    assert not res.decision.passed and res.exit_code == 1
    assert not res.delivered and not dest.exists()
    assert list((tmp_path / "vetted").iterdir()) == []  # no staging left behind
    assert res.record.data["gate"]["passed"] is False
    assert res.record.data["scan"]["findings"]["critical"] + res.record.data["scan"]["findings"]["high"] >= 1
    events = [json.loads(x) for x in Store.open(tmp_path / "s").events_path.read_text().splitlines()]
    assert events[-1]["eventType"] == "FAIL"


def test_passing_dataset_is_delivered_to_dest(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "reviews")
    dest = tmp_path / "vetted" / "reviews"
    res = _ingest(tree, store=tmp_path / "s", dest=dest, label="label")
    assert res.delivered and res.root == dest
    assert sorted(p.name for p in (dest / "data").iterdir()) == ["test.csv", "train.csv"]
    from datagate.inventory import hash_tree

    assert hash_tree(dest).root_digest == hash_tree(tree).root_digest == res.record.version
    assert sorted(p.name for p in (tmp_path / "vetted").iterdir()) == ["reviews"]


def test_non_empty_dest_is_refused(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "reviews")
    dest = tmp_path / "vetted"
    dest.mkdir()
    (dest / "old.txt").write_text("keep me")
    with pytest.raises(UsageError, match="not empty"):
        _ingest(tree, store=tmp_path / "s", dest=dest)
    assert (dest / "old.txt").read_text() == "keep me"


def test_name_with_path_characters_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "reviews")
    with pytest.raises(UsageError, match="not allowed"):
        _ingest(tree, store=tmp_path / "s", name="../escape")
    assert not (tmp_path / "s").exists()


def test_missing_parent_is_an_error_and_nothing_is_recorded(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "reviews")
    with pytest.raises(LineageError, match="parent"):
        _ingest(tree, store=tmp_path / "s", parents=("raw@abcdef",))
    assert Store.open(tmp_path / "s").names() == []


def test_parent_is_recorded(tmp_path: Path) -> None:
    raw = _ingest(make_tree(tmp_path / "raw"), store=tmp_path / "s")
    clean = _ingest(make_tree(tmp_path / "clean", rows=4), store=tmp_path / "s", parents=(f"raw@{raw.record.version[7:19]}",))
    assert clean.record.data["parents"] == [
        {"name": "raw", "root_digest": raw.record.version, "record_digest": raw.record.digest}]


def test_corrupt_store_fails_fast_and_overwrites_nothing(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "reviews")
    first = _ingest(tree, store=tmp_path / "s")
    first.record_path.write_text('{"truncated": ')
    (tree / "data" / "extra.csv").write_text("text,label\nq,pos\n")
    with pytest.raises(LineageError, match="corrupt store file"):
        _ingest(tree, store=tmp_path / "s")
    assert first.record_path.read_text() == '{"truncated": '
    assert len(list((tmp_path / "s" / "records" / "reviews").iterdir())) == 1


def test_unchanged_reingest_reuses_cached_results_and_stays_identical(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "reviews")
    (tree / "data" / "evil.pkl").write_bytes(HOSTILE_PICKLE)
    first = _ingest(tree, store=tmp_path / "s", label="label")
    entries = sorted((tmp_path / "s" / "cache" / "results").glob("*.json"))
    assert len(entries) == 2  # scan and check
    second = _ingest(tree, store=tmp_path / "s", label="label")
    assert second.record.deterministic_json() == first.record.deterministic_json()
    assert not second.decision.passed  # a cached scan still blocks
    assert [f.rule for f in second.findings] == [f.rule for f in first.findings]
    for e in entries:  # a damaged cache entry is a miss, never a result
        e.write_text("{garbage")
    third = _ingest(tree, store=tmp_path / "s", label="label")
    assert third.record.deterministic_json() == first.record.deterministic_json()
    assert json.loads(entries[0].read_text())["format"] == 1  # rewritten


def test_no_cache_writes_no_results(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "reviews")
    _ingest(tree, store=tmp_path / "s", use_cache=False)
    assert not (tmp_path / "s" / "cache").exists()


def test_tree_without_table_data_skips_checks_with_a_reason(tmp_path: Path) -> None:
    tree = tmp_path / "images"
    tree.mkdir()
    (tree / "notes.md").write_text("# just notes\n")
    res = _ingest(tree, store=tmp_path / "s")
    assert [(c.id, c.status.value) for c in res.check.checks] == [("data", "skipped")]
    assert "no table data" in res.check.checks[0].message
    assert res.record.data["checks"]["status"] == {"data": "skipped"}


def test_staging_left_by_a_dead_ingest_is_removed(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "reviews")
    vetted = tmp_path / "vetted"
    stale = vetted / ".reviews.datagate-staging-999999999-abcd"
    (stale / "half").mkdir(parents=True)
    res = _ingest(tree, store=tmp_path / "s", dest=vetted / "reviews")
    assert res.delivered and not stale.exists()
    assert sorted(p.name for p in vetted.iterdir()) == ["reviews"]


def test_policy_waiver_marks_the_finding_and_lets_the_gate_pass(tmp_path: Path) -> None:
    import hashlib

    tree = make_tree(tmp_path / "reviews")
    (tree / "data" / "evil.pkl").write_bytes(HOSTILE_PICKLE)
    policy = tmp_path / "datagate.yaml"
    policy.write_text(
        "version: 1\nwaivers:\n  - path: data/evil.pkl\n"
        f"    sha256: {hashlib.sha256(HOSTILE_PICKLE).hexdigest()}\n    reason: reviewed fixture\n"
    )
    res = _ingest(tree, store=tmp_path / "s", policy=policy)
    assert res.decision.passed
    pkl = [f for f in res.scan.findings if f.path == "data/evil.pkl"]
    assert pkl and all(f.waived == "reviewed fixture" for f in pkl)
    assert res.record.data["scan"]["waived"] == len(pkl)
    assert res.record.data["policy"]["sha256"] is not None


def test_stored_baseline_for_the_check_command(tmp_path: Path) -> None:
    from datagate.check.profile import Profile
    from datagate.pipeline import stored_baseline

    assert stored_baseline("reviews", store=tmp_path / "none") is None
    tree = make_tree(tmp_path / "reviews")
    first = _ingest(tree, store=tmp_path / "s", label="label")
    found = stored_baseline("reviews", store=tmp_path / "s")
    assert found is not None
    rec, profile = found
    assert rec.version == first.record.version and isinstance(profile, Profile)
    assert stored_baseline("reviews", store=tmp_path / "s", exclude_version=rec.version) is None


def test_explicit_baseline_version_and_none(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "reviews")
    first = _ingest(tree, store=tmp_path / "s", label="label")
    (tree / "data" / "train.csv").write_text("text,label\nfresh,neg\n")
    second = _ingest(tree, store=tmp_path / "s", label="label", baseline=first.record.version[7:19])
    assert second.baseline == first.record.version
    third = _ingest(tree, store=tmp_path / "s", label="label", baseline=None)
    assert third.baseline is None and third.record.data["baseline"] is None
    with pytest.raises(LineageError, match="no such version"):
        _ingest(tree, store=tmp_path / "s", baseline="ffffffffffff" if not first.record.version[7:].startswith("f") else "000000000000")
