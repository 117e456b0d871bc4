"""The chunked inventory: byte order, processes, the chunk and tree memos, and errors.

Trees are cut into chunks of a few paths here (``CHUNK_FILES``) so that every test crosses many
chunk boundaries and, with ``workers=2``, really runs in worker processes. Every result is
compared with the straightforward reference: the manifest computed without cache, in-process.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import sqlite3
import time
from pathlib import Path

import pytest

from datagate.errors import InventoryError
from datagate.inventory import cache as cache_mod
from datagate.inventory import hash_tree, manifest_lines, write_manifest
from datagate.inventory import manifest as manifest_mod
from datagate.inventory import walk as walk_mod
from datagate.inventory.cache import StatCache
from datagate.inventory.manifest import summary_text
from datagate.inventory.native import native
from datagate.inventory.walk import list_runs
from datagate.report.inventory import manifest_text
from tests.unit.inventory._cachedb import cached_shas

# Names whose byte order differs from a per-folder name sort: "." and "-" sort before "/".
_TRICKY = ["a.txt", "a-b", "a0", "a b", "é.csv", "Z", "_x", "~y", "日本.parquet"]


def _tree(root: Path, n_extra: int = 30) -> Path:
    for name in _TRICKY:
        (root / "a").mkdir(parents=True, exist_ok=True)
        (root / name).write_text(name)
        (root / "a" / name).write_text("a/" + name)
    (root / "a" / "deep" / "er").mkdir(parents=True)
    (root / "a" / "deep" / "er" / "leaf.bin").write_bytes(os.urandom(300))
    (root / "a.txt.d").mkdir()
    (root / "a.txt.d" / "x").write_text("x")
    (root / "empty-dir").mkdir()
    (root / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (root / "run.sh").chmod(0o755)
    os.symlink("a/a.txt", root / "link-in")
    os.symlink("/etc/passwd", root / "a" / "link-out")
    big = root / "big"
    big.mkdir()
    for i in range(3):  # more than one big file in a chunk: hashed on threads
        (big / f"b{i}.bin").write_bytes(os.urandom((1 << 20) + 17 * i))
    many = root / "many"
    many.mkdir()
    for i in range(n_extra):
        (many / f"f{i:03d}.csv").write_text(f"id\n{i}\n")
    # Tool state at the root is skipped; the same names deeper are content.
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref")
    (root / ".cache" / "huggingface").mkdir(parents=True)
    (root / ".cache" / "huggingface" / "x.lock").write_text("")
    (root / ".cache" / "other").write_text("content")
    (root / "many" / ".git").mkdir()
    (root / "many" / ".git" / "config").write_text("content")
    return root


def _flat_tree(root: Path, n: int) -> Path:
    """``n`` small files, ``f00`` ..., directly in ``root``."""
    root.mkdir()
    for i in range(n):
        (root / f"f{i:02d}").write_text(str(i))
    return root


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(manifest_mod, "CHUNK_FILES", 4)
    monkeypatch.setattr(manifest_mod, "PARALLEL_MIN_CHUNKS", 2)


@pytest.fixture(params=["native", "python"])
def accel(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with the C accelerator, then with the pure-Python code paths."""
    if request.param == "python":
        monkeypatch.setattr(manifest_mod, "native", None)
        monkeypatch.setattr(walk_mod, "_list_dir", walk_mod._scandir)
    elif native is None:
        pytest.skip("the C accelerator is not built")
    return str(request.param)


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "cache-home"
    monkeypatch.setenv("DATAGATE_CACHE_DIR", str(home))
    return home


def _all_paths(root: Path) -> list[str]:
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            out.append(name if rel == "." else f"{rel}/{name}")
    skip = (".git/", ".cache/huggingface/")
    return sorted((p for p in out if not p.startswith(skip)), key=lambda p: p.encode())


def test_listing_is_in_full_path_byte_order(tmp_path: Path, accel: str) -> None:
    root = _tree(tmp_path / "t")
    listed = [p for run in list_runs(root) for p in run]
    assert listed == _all_paths(root)
    assert "a.txt" in listed and listed.index("a.txt") < listed.index("a/a.txt")
    assert ".cache/other" in listed and "many/.git/config" in listed
    assert not any(p.startswith((".git/", ".cache/huggingface")) for p in listed)


@pytest.mark.parametrize("workers", [1, 2])
def test_chunked_manifest_equals_reference(
    tmp_path: Path, small_chunks: None, cache_home: Path, workers: int, accel: str
) -> None:
    root = _tree(tmp_path / "t")
    reference = hash_tree(root, use_cache=False, workers=1, dvc=True)
    assert [e.path for e in reference.entries] == _all_paths(root)
    for use_cache in (False, True, True):  # no cache, cache-writing run, memo-hit run
        got = hash_tree(root, use_cache=use_cache, workers=workers, dvc=True)
        assert got == reference
    expected_sha = hashlib.sha256(b"a/a.txt").hexdigest()
    assert reference.by_path()["a/a.txt"].sha256 == expected_sha


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("dvc", [False, True])
def test_streamed_outputs_equal_the_rendered_manifest(
    tmp_path: Path, small_chunks: None, cache_home: Path, monkeypatch: pytest.MonkeyPatch,
    workers: int, dvc: bool,
    accel: str,
) -> None:
    monkeypatch.setattr(cache_mod, "RACY_MARGIN_NS", 0)  # so the first run stores memos
    root = _tree(tmp_path / "t")
    reference = hash_tree(root, use_cache=False, workers=1, dvc=dvc)
    want_json = ("\n".join(manifest_lines(reference)) + "\n").encode()
    want_text = manifest_text(reference).encode()
    for _ in range(3):  # writes the cache, then hits the chunk memos and the tree memo
        for fmt, want in (("json", want_json), ("text", want_text)):
            out = io.BytesIO()
            summary = write_manifest(root, out, fmt=fmt, dvc=dvc, workers=workers)  # type: ignore[arg-type]
            assert out.getvalue() == want, fmt
            assert summary.root_digest == reference.root_digest
            assert summary.dvc_md5 == reference.dvc_md5
            assert summary_text(summary) in want_text.decode()
    db = sqlite3.connect(StatCache(root).path)
    try:
        assert db.execute("SELECT count(*) FROM chunks").fetchone()[0] > 2
        assert db.execute("SELECT count(*) FROM trees").fetchone()[0] == 1
    finally:
        db.close()


def _touch_later(path: Path) -> None:
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))


@pytest.mark.parametrize("workers", [1, 2])
def test_memos_follow_every_kind_of_change(
    tmp_path: Path, small_chunks: None, cache_home: Path, monkeypatch: pytest.MonkeyPatch,
    workers: int,
    accel: str,
) -> None:
    monkeypatch.setattr(cache_mod, "RACY_MARGIN_NS", 0)
    root = _tree(tmp_path / "t")

    def check() -> None:
        want = "\n".join(manifest_lines(hash_tree(root, use_cache=False, workers=1))) + "\n"
        for _ in range(2):
            out = io.BytesIO()
            write_manifest(root, out, workers=workers)
            assert out.getvalue().decode() == want

    check()
    (root / "many" / "f007.csv").write_text("id\n70\n")  # same size, new content
    _touch_later(root / "many" / "f007.csv")
    check()
    (root / "many" / "f0105.csv").write_text("inserted")  # shifts every later chunk boundary
    check()
    (root / "many" / "f000.csv").unlink()
    check()
    (root / "run.sh").chmod(0o644)
    check()
    (root / "a" / "a0").unlink()
    os.symlink("elsewhere", root / "a" / "a0")
    check()
    for p in sorted((root / "many").glob("f*.csv"))[:10]:
        p.unlink()
    check()


def test_poisoned_memo_is_used_and_verify_still_rereads(
    tmp_path: Path, small_chunks: None, cache_home: Path, monkeypatch: pytest.MonkeyPatch, accel: str
) -> None:
    """The memo is really what an unchanged re-run prints (so the speed-up is real) ..."""
    monkeypatch.setattr(cache_mod, "RACY_MARGIN_NS", 0)
    root = _tree(tmp_path / "t")
    first = io.BytesIO()
    write_manifest(root, first, workers=1)
    db = sqlite3.connect(StatCache(root).path)
    with db:
        db.execute("UPDATE chunks SET out = replace(out, '\"size\":', '\"size\": ') WHERE mode = 'json'")
    db.close()
    again = io.BytesIO()
    write_manifest(root, again, workers=1)
    assert again.getvalue() != first.getvalue() and b'"size": ' in again.getvalue()
    # ... and a changed signature (any stat key) makes it a miss that is recomputed.
    db = sqlite3.connect(StatCache(root).path)
    with db:
        db.execute("UPDATE chunks SET sig = x'00'")
    db.close()
    third = io.BytesIO()
    write_manifest(root, third, workers=1)
    assert third.getvalue() == first.getvalue()


def test_unchanged_rerun_does_not_write_the_cache(
    tmp_path: Path, small_chunks: None, cache_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache_mod, "RACY_MARGIN_NS", 0)
    root = _tree(tmp_path / "t")
    write_manifest(root, io.BytesIO(), workers=2)
    path = StatCache(root).path
    before = {p.name: p.stat().st_mtime_ns for p in path.parent.iterdir()}
    time.sleep(0.01)
    write_manifest(root, io.BytesIO(), workers=2)
    assert {p.name: p.stat().st_mtime_ns for p in path.parent.iterdir()} == before


@pytest.mark.parametrize("workers", [1, 2])
def test_first_error_in_path_order_from_a_later_chunk(
    tmp_path: Path, small_chunks: None, cache_home: Path, workers: int, accel: str
) -> None:
    root = _tree(tmp_path / "t")
    os.mkfifo(root / "many" / "f0105.pipe")
    os.mkfifo(root / "many" / "f0205.pipe")
    out = io.BytesIO()
    with pytest.raises(InventoryError, match=r"many/f0105\.pipe: is a FIFO"):
        write_manifest(root, out, workers=workers)
    assert out.getvalue() == b""  # nothing written when the inventory fails


def test_racy_files_keep_the_memo_out(
    tmp_path: Path, small_chunks: None, cache_home: Path
) -> None:
    root = _flat_tree(tmp_path / "t", 10)  # all just written: racy
    write_manifest(root, io.BytesIO(), workers=1)
    path = StatCache(root).path
    if path.exists():
        db = sqlite3.connect(path)
        try:
            assert db.execute("SELECT count(*) FROM chunks").fetchone()[0] == 0
            assert cached_shas(path) == {}
        finally:
            db.close()


class _Bytes:
    """A progress sink that counts the bytes the inventory reports as read."""

    def __init__(self) -> None:
        self.read = 0

    def task(self, description: str, *, total: int | None = None, total_bytes: int | None = None, unit: str = "files") -> _Bytes:
        return self

    def advance(self, items: int = 1, nbytes: int = 0) -> None:
        self.read += nbytes

    def close(self) -> None:
        return None


@pytest.mark.parametrize("workers", [1, 2])
def test_moved_chunk_boundaries_still_reuse_cached_rows(
    tmp_path: Path, small_chunks: None, cache_home: Path, monkeypatch: pytest.MonkeyPatch,
    workers: int,
    accel: str,
) -> None:
    monkeypatch.setattr(cache_mod, "RACY_MARGIN_NS", 0)
    root = _tree(tmp_path / "t")
    first = _Bytes()
    write_manifest(root, io.BytesIO(), workers=workers, progress=first)
    assert first.read > 3 << 20  # everything, including the three big files
    (root / "a" / "a-0").write_text("new early path: every later chunk boundary moves")
    second = _Bytes()
    write_manifest(root, io.BytesIO(), workers=workers, progress=second)
    assert second.read == len("new early path: every later chunk boundary moves")
    for fmt in ("json", "text"):  # a format never memoised before still reads nothing
        third = _Bytes()
        write_manifest(root, io.BytesIO(), fmt=fmt, workers=workers, progress=third)
        assert third.read == 0


def test_a_killed_hashing_process_is_a_clean_inventory_error(
    tmp_path: Path, small_chunks: None, cache_home: Path
) -> None:
    """A worker that dies (OOM killer, kill -9) ends the run with InventoryError, not a traceback."""
    import signal

    root = _flat_tree(tmp_path / "t", 60)

    class KillFirstWorker:
        def task(self, description: str, *, total: int | None = None, total_bytes: int | None = None, unit: str = "files") -> KillFirstWorker:
            return self

        def advance(self, items: int = 1, nbytes: int = 0) -> None:
            import multiprocessing

            for child in multiprocessing.active_children():
                with contextlib.suppress(ProcessLookupError):  # it may exit between list and kill
                    os.kill(child.pid or 0, signal.SIGKILL)

        def close(self) -> None:
            return None

    with pytest.raises(InventoryError, match="hashing process died"):
        write_manifest(root, io.BytesIO(), workers=2, progress=KillFirstWorker())


def test_a_spanning_row_set_keeps_the_rows_of_later_chunks(
    tmp_path: Path, cache_home: Path
) -> None:
    """Chunk boundaries moved: the stored set that reaches past a chunk's range is trimmed, not
    dropped, so a later chunk still finds its rows (it may be reading them concurrently)."""
    import json

    cache = StatCache(tmp_path)
    rows = [[p, 1, 2, 3, 4, 5, p * 8, None] for p in ("a", "b", "m", "x", "y")]
    cache.apply("", None, json.dumps(rows))
    cache.commit()
    cache = StatCache(tmp_path)
    cache.apply("", "c", json.dumps(rows[:2]))  # a new first chunk ["", "c")
    cache.flush()
    db = sqlite3.connect(cache.path)
    try:
        sets = db.execute("SELECT lo, hi, rows FROM rowsets ORDER BY lo").fetchall()
    finally:
        db.close()
    assert [(lo, hi) for lo, hi, _ in sets] == [("", "c"), ("c", None)]
    assert [r[0] for r in json.loads(sets[1][2])] == ["m", "x", "y"]
    cache.commit()
    assert cached_shas(cache.path) == {p: p * 8 for p in ("a", "b", "m", "x", "y")}


@pytest.mark.parametrize("workers", [1, 2])
def test_a_failed_run_keeps_the_chunks_it_finished(
    tmp_path: Path, small_chunks: None, cache_home: Path, monkeypatch: pytest.MonkeyPatch,
    workers: int,
) -> None:
    monkeypatch.setattr(cache_mod, "RACY_MARGIN_NS", 0)
    root = _tree(tmp_path / "t")
    os.mkfifo(root / "many" / "f0205.pipe")  # late in the tree: earlier chunks finish first
    with pytest.raises(InventoryError, match="FIFO"):
        write_manifest(root, io.BytesIO(), workers=workers)
    (root / "many" / "f0205.pipe").unlink()
    again = _Bytes()
    write_manifest(root, io.BytesIO(), workers=workers, progress=again)
    total = sum((root / p).stat().st_size for p in _all_paths(root) if not (root / p).is_symlink())
    assert 0 < again.read < total - (3 << 20)  # the early chunks (with the big files) were kept
