"""The C accelerator (``_native.c``) against its Python twins, on real files.

Each native function must give exactly what the Python code path gives (the inventory's
results may never depend on whether the extension was built), and must decline (None) or
raise where the Python path would explain a problem, so the explanation still comes.
"""

from __future__ import annotations

import itertools
import os
from array import array
from operator import attrgetter
from pathlib import Path

import pytest

from datagate.inventory import manifest as manifest_mod
from datagate.inventory import native as native_mod
from datagate.inventory import walk
from datagate.inventory.chunks import Chunk, probe_chunk, run_chunk
from datagate.inventory.native import native

needs_native = pytest.mark.skipif(native is None, reason=f"accelerator {native_mod.status}")

_STAT_KEY = attrgetter("st_mode", "st_dev", "st_ino", "st_mtime_ns", "st_ctime_ns", "st_size")

# Valid names whose byte order differs from a naive per-character guess.
_NAMES = ["a.txt", "a-b", "a0", "a b", "é.csv", "Z", "_x", "~y", "日本.parquet", ".hidden", "e\u0301"]


def test_accelerator_is_built_here() -> None:
    """The test environment has a compiler: a silently failed build must not pass unnoticed."""
    import shutil
    import sysconfig

    if os.environ.get("DATAGATE_PURE_PYTHON", "") not in ("", "0"):
        pytest.skip("DATAGATE_PURE_PYTHON is set")
    headers = Path(sysconfig.get_paths()["include"]) / "Python.h"
    if not (shutil.which("cc") or shutil.which("gcc")) or not headers.exists():
        pytest.skip("no C compiler or Python headers here: the Python paths are used")
    assert native is not None, native_mod.status
    assert native_mod.status == "on"
    assert native.ABI == native_mod.ABI


def test_status_says_why_the_accelerator_is_off(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setenv("DATAGATE_PURE_PYTHON", "1")
    assert native_mod._load() == (None, "off (DATAGATE_PURE_PYTHON is set)")
    monkeypatch.delenv("DATAGATE_PURE_PYTHON")
    monkeypatch.setitem(sys.modules, "datagate.inventory._native", None)  # as if never built
    module, why = native_mod._load()
    assert module is None and why.startswith("not built")


def _odd_folder(root: Path) -> Path:
    root.mkdir()
    for name in _NAMES:
        (root / name).write_text(name)
    for sub in ("sub", "a", "a.d", "zz"):
        (root / sub).mkdir()
    os.symlink("sub", root / "link-to-dir")  # a symlink to a folder is not a folder
    os.symlink("missing", root / "dangling")
    os.mkfifo(root / "fifo")
    return root


@needs_native
@pytest.mark.parametrize("prefix", ["", "x/", "日/"])
def test_list_dir_matches_scandir(tmp_path: Path, prefix: str) -> None:
    assert native is not None
    root = _odd_folder(tmp_path / "f")
    files, dirs = native.list_dir(str(root), prefix)
    want_files, want_dirs = walk._scandir(str(root), prefix)
    assert files == want_files
    assert sorted(dirs) == sorted(want_dirs) == ["a", "a.d", "sub", "zz"]
    assert prefix + "link-to-dir" in files and prefix + "fifo" in files
    # Sorted by the UTF-8 bytes, which for valid names is code point order.
    assert [f.encode() for f in files] == sorted(f.encode() for f in files)


@needs_native
def test_list_dir_empty_and_huge_names(tmp_path: Path) -> None:
    assert native is not None
    (tmp_path / "empty").mkdir()
    assert native.list_dir(str(tmp_path / "empty"), "p/") == ([], [])
    big = tmp_path / "big"
    big.mkdir()
    names = [("n" * 200) + f"{i:05d}" for i in range(3000)]  # more than one getdents buffer
    for name in names:
        (big / name).touch()
    files, dirs = native.list_dir(str(big), "")
    assert files == sorted(names) and dirs == []


@needs_native
def test_list_dir_non_utf8_name_decodes_like_os(tmp_path: Path) -> None:
    assert native is not None
    d = tmp_path / "d"
    d.mkdir()
    bad = os.fsencode(str(d)) + b"/caf\xe9.csv"
    with open(bad, "wb") as fh:
        fh.write(b"x")
    files, _ = native.list_dir(str(d), "")
    assert files == os.listdir(d) == ["caf\udce9.csv"]


@needs_native
def test_list_dir_errors_name_the_folder(tmp_path: Path) -> None:
    assert native is not None
    with pytest.raises(FileNotFoundError) as exc:
        native.list_dir(str(tmp_path / "nope"), "")
    assert exc.value.filename == str(tmp_path / "nope")
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError):
        native.list_dir(str(tmp_path / "file"), "")
    with pytest.raises(TypeError, match=r"list_dir\(path, prefix\) takes 2 arguments \(1 given\)"):
        native.list_dir(str(tmp_path))
    with pytest.raises(TypeError, match=r"hash_files\(.*\) takes 5 arguments \(2 given\)"):
        native.hash_files(str(tmp_path), [])


def _python_keys(root: str, paths: list[str]) -> bytes:
    sts = [os.lstat(root + p) for p in paths]
    return array("q", itertools.chain.from_iterable(map(_STAT_KEY, sts))).tobytes()


@needs_native
def test_lstat_keys_match_os_lstat(tmp_path: Path) -> None:
    assert native is not None
    root = tmp_path / "t"
    (root / "a" / "b").mkdir(parents=True)
    (root / "c").mkdir()
    paths = []
    for i, folder in enumerate(["", "a/", "a/b/", "c/", "a/"]):  # folders revisited, not sorted
        name = f"{folder}f{i}-{_NAMES[i % len(_NAMES)]}"
        (root / name).write_bytes(os.urandom(i * 100))
        paths.append(name)
    os.symlink("../f0", root / "a" / "link")
    paths.append("a/link")
    os.chmod(root / paths[1], 0o755)
    base = str(root) + "/"
    assert native.lstat_keys(base, paths) == _python_keys(base, paths)
    assert native.lstat_keys(base, tuple(paths)) == _python_keys(base, paths)
    assert native.lstat_keys(base, []) == b""


@needs_native
def test_lstat_keys_decline_what_python_must_explain(tmp_path: Path) -> None:
    assert native is not None
    root = tmp_path / "t"
    root.mkdir()
    (root / "ok").write_text("x")
    (root / "dir").mkdir()
    os.mkfifo(root / "fifo")
    base = str(root) + "/"
    assert native.lstat_keys(base, ["ok"]) is not None
    for bad in (["ok", "dir"], ["fifo"], ["ok", "gone"], ["gone/x"], ["ok/x"], ["caf\udce9"], ["a\0b"]):
        assert native.lstat_keys(base, bad) is None, bad


def _chunk(root: Path, paths: tuple[str, ...], db: str | None, accel: bool) -> Chunk:
    return Chunk(str(root), paths, "", None, False, db, True, 0, "json", accel)


@needs_native
def test_probe_finds_exactly_the_memos_run_chunk_finds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A memo stored by the Python path is a hit for the native probe (same signature) and
    the other way round; a touched file makes both miss."""
    from datagate.inventory.cache import StatCache, close_readers

    monkeypatch.setenv("DATAGATE_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "t"
    (root / "d").mkdir(parents=True)
    paths = ("d/x", "d/y", "z")
    for p in paths:
        (root / p).write_text(p)
    os.utime(root / "z", ns=(1, 1))
    for writer_accel in (False, True):
        cache = StatCache(root)
        first = run_chunk(_chunk(root, paths, None, writer_accel))
        assert first.memo is not None
        cache.apply(first.lo, first.hi, first.rowset, ("json", False, first.memo))
        cache.commit()
        db = str(cache.path)
        hit = probe_chunk(_chunk(root, paths, db, True), with_out=True)
        assert hit is not None and hit.memo_hit and hit.out_read
        assert hit.out == first.out and hit.signature == first.signature
        slow = run_chunk(_chunk(root, paths, db, False))
        assert slow.memo_hit and slow.signature == first.signature
        assert probe_chunk(_chunk(root, paths, db, False)) is None  # accel off: no probe
        os.utime(root / "z", ns=(2, 2))
        assert probe_chunk(_chunk(root, paths, db, True)) is None
        assert not run_chunk(_chunk(root, paths, db, False)).memo_hit
        os.utime(root / "z", ns=(1, 1))
        close_readers()
        cache.path.unlink()


@needs_native
def test_unchanged_tree_starts_no_process_and_a_change_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    from datagate.inventory import cache as cache_mod
    from datagate.inventory import write_manifest

    monkeypatch.setenv("DATAGATE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(cache_mod, "RACY_MARGIN_NS", 0)
    monkeypatch.setattr(manifest_mod, "CHUNK_FILES", 3)
    root = tmp_path / "t"
    root.mkdir()
    for i in range(20):
        (root / f"f{i:02d}").write_text(str(i))
    started: list[int] = []
    real = manifest_mod._in_processes

    def spy(chunks, n):  # type: ignore[no-untyped-def]
        started.append(n)
        return real(chunks, n)

    monkeypatch.setattr(manifest_mod, "_in_processes", spy)
    outs = []
    for step in range(3):
        if step == 2:
            (root / "f13").write_text("changed")
        out = io.BytesIO()
        write_manifest(root, out, workers=2)
        outs.append(out.getvalue())
        assert len(started) == (1 if step == 0 else 0 if step == 1 else 1), step
        started.clear()
    assert outs[0] == outs[1] != outs[2]
    reference = io.BytesIO()
    write_manifest(root, reference, use_cache=False, workers=1)
    assert outs[2] == reference.getvalue()


def test_cli_reports_the_accelerator_and_both_paths_print_the_same_manifest(tmp_path: Path) -> None:
    """End to end, in fresh interpreters: the same tree hashed with and without the accelerator
    (each time writing, then hitting, its own stat cache) gives byte-identical manifests."""
    import subprocess
    import sys

    root = _odd_folder(tmp_path / "t")
    (root / "fifo").unlink()
    for sub in ("sub", "a", "a.d", "zz"):
        for i in range(5):
            (root / sub / f"f{i}").write_text(f"{sub}{i}")
    outputs = {}
    for pure in ("0", "1"):
        env = {**os.environ, "DATAGATE_PURE_PYTHON": pure, "DATAGATE_CACHE_DIR": str(tmp_path / f"c{pure}")}
        version = subprocess.run(
            [sys.executable, "-m", "datagate", "--version"], env=env, capture_output=True, text=True, check=True
        ).stdout
        assert ("accelerator: on" in version) == (pure == "0" and native is not None), version
        runs = [
            subprocess.run(
                [sys.executable, "-m", "datagate", "-q", "hash", str(root), "--format", fmt],
                env=env, capture_output=True, check=True,
            ).stdout
            for fmt in ("json", "json", "text", "text")
        ]
        assert runs[0] == runs[1] and runs[2] == runs[3]
        outputs[pure] = runs
    assert outputs["0"] == outputs["1"]


def _ids(root: Path, paths: list[str]) -> bytes:
    return array("Q", itertools.chain.from_iterable(
        (st.st_dev, st.st_ino) for st in (os.lstat(root / p) for p in paths)
    )).tobytes()


def _md5(data: bytes) -> object:
    import hashlib

    return hashlib.md5(data, usedforsecurity=False)


@needs_native
def test_hash_files_matches_hashlib(tmp_path: Path) -> None:
    import hashlib

    assert native is not None
    root = tmp_path / "t"
    (root / "d" / "e").mkdir(parents=True)
    sizes = [0, 1, 2047, 2048, 4096, 65535, 65536, 65537, 300_000, 1 << 20]
    paths = []
    for i, size in enumerate(sizes):
        p = ["", "d/", "d/e/", "d/"][i % 4] + f"f{i}-{_NAMES[i % len(_NAMES)]}"
        (root / p).write_bytes(os.urandom(size))
        paths.append(p)
    got = native.hash_files(str(root) + "/", paths, _ids(root, paths), hashlib.sha256, _md5)
    for p, g in zip(paths, got, strict=True):
        data = (root / p).read_bytes()
        assert g == (hashlib.sha256(data).hexdigest(), hashlib.md5(data).hexdigest(), len(data)), p
    no_md5 = native.hash_files(str(root) + "/", paths, _ids(root, paths), hashlib.sha256, None)
    assert [g[1] if g else "x" for g in no_md5] == [None] * len(paths)


@needs_native
def test_hash_files_declines_what_python_must_explain(tmp_path: Path) -> None:
    """Each case is a None (the caller's hash_file then names the problem), never a digest."""
    import hashlib

    assert native is not None
    root = tmp_path / "t"
    root.mkdir()
    for name in ("ok", "swapped", "gone", "link", "fifo"):
        (root / name).write_text(name)
    names = ["ok", "swapped", "gone", "link", "fifo"]
    expect = _ids(root, names)
    (root / "swapped").rename(tmp_path / "kept")  # keeps the inode alive: it cannot be reused
    (root / "swapped").write_text("another inode")  # replaced after the walk
    (root / "gone").unlink()
    (root / "link").unlink()
    os.symlink("ok", root / "link")  # became a symlink: O_NOFOLLOW refuses it
    (root / "fifo").unlink()
    os.mkfifo(root / "fifo")  # not a regular file (and never opened for reading)
    got = native.hash_files(str(root) + "/", names, expect, hashlib.sha256, None)
    assert got[0] == (hashlib.sha256(b"ok").hexdigest(), None, 2)
    assert got[1:] == [None] * 4
    # A name that is not UTF-8 (os.fsdecode's surrogates): the whole call is declined.
    odd = ["ok", "caf\udce9"]
    assert native.hash_files(str(root) + "/", odd, _ids(root, ["ok", "ok"]), hashlib.sha256, None) == [None, None]
    with pytest.raises(ValueError, match="two uint64"):
        native.hash_files(str(root) + "/", ["ok"], b"", hashlib.sha256, None)

