"""The lineage store: atomic writes under a lock, validated reads, clear errors."""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path

import pytest

from datagate.errors import LineageError, UsageError
from datagate.lineage.record import ParentRef
from datagate.lineage.store import Store, atomic_write
from tests.unit.lineage._helpers import RecordFor, make_tree


def _save(store: Store, record_for: RecordFor, tree: Path, name: str = "demo", n: int = 0) -> str:
    rec, text, _ = record_for(tree, name=name, n=n, store=store)
    store.save(rec, manifest_text=text, profile={"labels": {}}, attestations=[{"_type": "x"}])
    return rec.version


def test_save_then_read_back(tmp_path: Path, record_for: RecordFor) -> None:
    store = Store.open(tmp_path / "s", create=True)
    tree = make_tree(tmp_path / "t")
    rec, text, manifest = record_for(tree, store=store)
    path = store.save(rec, manifest_text=text, profile={"p": 1}, attestations=[{"a": 1}, {"b": 2}])
    assert path == store.record_path("demo", rec.version)
    got = store.read_record(path)
    assert got.data == rec.data
    assert store.manifest(got) == manifest
    assert store.profile(got) == {"p": 1}
    assert len(store.attestation_path("demo", rec.version).read_text().splitlines()) == 2
    assert (store.root / ".gitignore").read_text().splitlines()[1:] == ["lock", "cache/"]
    assert store.names() == ["demo"]


def test_history_order_latest_and_resolve(tmp_path: Path, record_for: RecordFor) -> None:
    store = Store.open(tmp_path / "s", create=True)
    tree = make_tree(tmp_path / "t")
    v1 = _save(store, record_for, tree, n=1)
    (tree / "data" / "more.csv").write_text("text,label\nz,pos\n")
    v2 = _save(store, record_for, tree, n=2)
    assert [r.version for r in store.history("demo")] == [v1, v2]
    latest, previous = store.latest("demo"), store.latest("demo", exclude_version=v2)
    assert latest is not None and latest.version == v2
    assert previous is not None and previous.version == v1
    assert store.resolve(v1).version == v1
    assert store.resolve(v2[7:15]).version == v2
    assert store.resolve(f"demo@{v1[7:15]}").version == v1
    assert store.resolve("demo").version == v2
    with pytest.raises(LineageError, match="no such version"):
        store.resolve("ffffffffffff" if not v1[7:].startswith("f") else "000000000000")
    with pytest.raises(LineageError, match="not a version"):
        store.resolve("zz-top")


def test_ambiguous_prefix(tmp_path: Path, record_for: RecordFor) -> None:
    store = Store.open(tmp_path / "s", create=True)
    tree = make_tree(tmp_path / "t")
    v = _save(store, record_for, tree, name="a")
    _save(store, record_for, tree, name="b")  # same bytes under another name
    with pytest.raises(LineageError, match="ambiguous"):
        store.resolve(v[7:19])
    assert store.resolve(f"b@{v[7:19]}").name == "b"


def test_missing_store_is_an_error_unless_created(tmp_path: Path) -> None:
    with pytest.raises(LineageError, match="no datagate store"):
        Store.open(tmp_path / "nothing")


def test_newer_store_version_is_refused_and_untouched(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s", create=True)
    meta = store.root / "store.json"
    meta.write_text('{"format": "datagate.store", "version": 99}\n')
    with pytest.raises(LineageError, match="newer"):
        Store.open(store.root, create=True)
    assert json.loads(meta.read_text())["version"] == 99


def test_corrupt_record_is_an_error_and_save_writes_nothing_new(tmp_path: Path, record_for: RecordFor) -> None:
    store = Store.open(tmp_path / "s", create=True)
    tree = make_tree(tmp_path / "t")
    v1 = _save(store, record_for, tree, n=1)
    path = store.record_path("demo", v1)
    path.write_text(path.read_text()[:50])
    with pytest.raises(LineageError, match="corrupt store file"):
        store.history("demo")
    with pytest.raises(LineageError, match="corrupt store file"):
        store.resolve(v1[7:15])


def test_corrupt_store_json(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s", create=True)
    (store.root / "store.json").write_text("{not json")
    with pytest.raises(LineageError, match="corrupt store file"):
        Store.open(store.root)


def test_manifest_mismatch_is_detected(tmp_path: Path, record_for: RecordFor) -> None:
    store = Store.open(tmp_path / "s", create=True)
    v = _save(store, record_for, make_tree(tmp_path / "t"))
    rec = store.resolve(v)
    man = store.root / rec.data["content"]["manifest"]["path"]
    man.write_text(man.read_text().replace("train.csv", "trian.csv"))
    with pytest.raises(LineageError, match="does not match the sha256"):
        store.manifest(rec)


def test_save_refuses_manifest_bytes_that_do_not_match(tmp_path: Path, record_for: RecordFor) -> None:
    store = Store.open(tmp_path / "s", create=True)
    rec, text, _ = record_for(make_tree(tmp_path / "t"), store=store)
    with pytest.raises(LineageError, match="do not match"):
        store.save(rec, manifest_text=text + b"x")
    assert not store.record_path("demo", rec.version).exists()


def test_unsafe_name_cannot_address_files(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s", create=True)
    with pytest.raises(UsageError):
        store.history("../../etc")
    with pytest.raises(UsageError):
        store.record_path("a/b", "sha256:" + "0" * 64)


def test_parent_refs_are_recorded(tmp_path: Path, record_for: RecordFor) -> None:
    store = Store.open(tmp_path / "s", create=True)
    tree = make_tree(tmp_path / "t")
    v = _save(store, record_for, tree, name="raw")
    parent = store.resolve(v)
    rec, text, _ = record_for(make_tree(tmp_path / "u", rows=5), name="clean", store=store,
                              parents=(ParentRef(parent.name, parent.version, parent.digest),))
    store.save(rec, manifest_text=text)
    got = store.resolve("clean")
    assert got.data["parents"] == [{"name": "raw", "root_digest": v, "record_digest": parent.digest}]


def test_atomic_write_leaves_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "d" / "f.json"
    atomic_write(target, b"one")
    atomic_write(target, b"two")
    assert target.read_bytes() == b"two"
    assert os.listdir(target.parent) == ["f.json"]


def test_leftover_temp_files_are_swept_and_ignored(tmp_path: Path, record_for: RecordFor) -> None:
    store = Store.open(tmp_path / "s", create=True)
    tree = make_tree(tmp_path / "t")
    v = _save(store, record_for, tree)
    stale = store.record_path("demo", v).parent / f".{v[7:]}.json.tmp-123-abcd"
    stale.write_text("{partial")
    assert [r.version for r in store.history("demo")] == [v]
    _save(store, record_for, tree, n=3)
    assert not stale.exists()


def _concurrent_ingest(args: tuple[str, str, int]) -> str:
    root, tree, n = args
    import hashlib

    from datagate.inventory import hash_tree, manifest_lines
    from datagate.lineage.record import build_record
    from tests.unit.lineage._helpers import results, run_block

    store = Store.open(Path(root), create=True)
    manifest = hash_tree(Path(tree), dvc=True, use_cache=False)
    text = ("\n".join(manifest_lines(manifest)) + "\n").encode()
    scan, check, decision = results(manifest)
    from datagate.acquire.interface import SourceInfo as SI

    name = "ds"  # one dataset: writers share directories, so the lock and temp sweeping matter
    rec = build_record(
        name=name, source=SI("local", Path(tree).as_uri()), manifest=manifest,
        manifest_path=store.manifest_relpath(name, manifest.root_digest),
        manifest_sha256=hashlib.sha256(text).hexdigest(), scan=scan, findings=(), check=check,
        profile=None, decision=decision, run=run_block(n),
    )
    store.save(rec, manifest_text=text)
    return rec.version


def test_two_concurrent_writers_both_land(tmp_path: Path) -> None:
    trees = [str(make_tree(tmp_path / f"t{i}", rows=i + 2)) for i in range(4)]
    root = str(tmp_path / "s")
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        versions = pool.map(_concurrent_ingest, [(root, t, i) for i, t in enumerate(trees)])
    store = Store.open(Path(root))
    assert store.names() == ["ds"]
    assert sorted(r.version for r in store.history("ds")) == sorted(versions)
    assert len(set(versions)) == 4
