"""The inventory's fast paths give exactly what the straightforward code gives.

The manifest line writer, dirHash and the stat cache were tuned for 100k-file trees
(benchmarks/bench_hash.py); these tests pin their output to the plain reference forms.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datagate.inventory import build_manifest, dir_hash, hash_tree, manifest_lines
from datagate.inventory import cache as cache_mod
from datagate.inventory.manifest import _entry_line
from datagate.models import EntryKind, FileEntry
from tests.unit.inventory._cachedb import cached_shas

_HEX = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)
_NAMES = st.text(min_size=1, max_size=20)


def _reference_line(e: FileEntry) -> str:
    d: dict[str, object] = {"path": e.path, "type": e.kind.value, "size": e.size, "mode": f"{e.mode:04o}"}
    if e.kind is EntryKind.FILE:
        d["sha256"] = e.sha256
        if e.md5 is not None:
            d["md5"] = e.md5
    else:
        d["target"] = e.target
    return json.dumps(d, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _reference_dir_hash(entries: list[FileEntry]) -> str:
    files = sorted((e for e in entries if e.kind is EntryKind.FILE), key=lambda e: e.path.encode("utf-8"))
    h = hashlib.sha256()
    for e in files:
        h.update(f"{e.sha256}  {e.path}\n".encode())
    return "sha256:" + h.hexdigest()


@settings(max_examples=150, deadline=None)
@given(
    path=st.text(max_size=30),
    size=st.integers(min_value=0, max_value=2**63),
    mode=st.integers(min_value=0, max_value=0o7777),
    sha=_HEX,
    md5=st.none() | st.text(alphabet="0123456789abcdef", min_size=32, max_size=32),
    target=st.text(max_size=30),
    link=st.booleans(),
)
def test_entry_line_is_json_dumps(
    path: str, size: int, mode: int, sha: str, md5: str | None, target: str, link: bool
) -> None:
    if link:
        e = FileEntry(path, EntryKind.SYMLINK, size, mode, None, None, target)
    else:
        e = FileEntry(path, EntryKind.FILE, size, mode, sha, md5)
    assert _entry_line(e) == _reference_line(e)
    assert json.loads(_entry_line(e))["path"] == path


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(_NAMES, _HEX), max_size=25))
def test_dir_hash_matches_byte_sorted_recipe(items: list[tuple[str, str]]) -> None:
    entries = []
    for name, sha in items:
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            continue
        entries.append(FileEntry(name, EntryKind.FILE, 1, 0o644, sha))
    entries.append(FileEntry("zz-link", EntryKind.SYMLINK, 3, 0o777, None, None, "abc"))
    assert dir_hash(entries) == _reference_dir_hash(entries)


def test_dir_hash_rejects_a_lone_surrogate() -> None:
    with pytest.raises(UnicodeEncodeError):
        dir_hash([FileEntry("bad\udcff", EntryKind.FILE, 1, 0o644, "0" * 64)])


def _rows(path: Path) -> dict[str, str]:
    return cached_shas(path)


def test_unchanged_rerun_leaves_cache_alone_and_vanished_rows_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache_mod, "RACY_MARGIN_NS", 0)
    root = tmp_path / "t"
    (root / "d").mkdir(parents=True)
    for i in range(12):
        (root / "d" / f"f{i:02d}.csv").write_text(f"id\n{i}\n")
    first, cache = build_manifest(root)
    assert cache is not None
    assert len(_rows(cache.path)) == 12
    before = os.stat(cache.path).st_mtime_ns
    again, _ = build_manifest(root)
    assert again == first
    assert os.stat(cache.path).st_mtime_ns == before  # nothing new, nothing gone: not rewritten
    (root / "d" / "f03.csv").unlink()
    (root / "d" / "new.csv").write_text("id\n99\n")
    third, _ = build_manifest(root)
    rows = _rows(cache.path)
    assert "d/f03.csv" not in rows and rows["d/new.csv"] == hashlib.sha256(b"id\n99\n").hexdigest()
    assert third == hash_tree(root, use_cache=False)
    assert manifest_lines(third) == manifest_lines(hash_tree(root, use_cache=False))
