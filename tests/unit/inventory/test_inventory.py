"""Inventory: hashing, dirHash, symlinks, modes, the stat cache and verify, on real trees."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from datagate.errors import InventoryError, ManifestError
from datagate.inventory import (
    Change,
    SmallFiles,
    build_manifest,
    hash_tree,
    manifest_lines,
    read_manifest,
    verify,
)
from datagate.inventory import cache as cache_mod
from datagate.inventory.hashing import hash_file
from datagate.models import EntryKind
from tests.unit.inventory._cachedb import cached_shas, poison_sha


def make_tree(root: Path) -> Path:
    """A tree with nesting, odd names, an exec bit, an empty file, a large file and symlinks."""
    (root / "data" / "train").mkdir(parents=True)
    (root / "data" / "train" / "part 1.csv").write_text("id,label\n1,cat\n2,dog\n")
    (root / "data" / "ünïcødé é.txt").write_text("héllo\n")
    (root / "data" / "a-b").mkdir()
    (root / "data" / "a-b" / "x").write_bytes(b"x")
    (root / "data" / "a").mkdir()
    (root / "data" / "a" / "x").write_bytes(b"y")
    (root / "empty").write_bytes(b"")
    big = root / "big.bin"
    big.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    run = root / "run.sh"
    run.write_text("#!/bin/sh\necho hi\n")
    run.chmod(0o755)
    os.symlink("/etc/passwd", root / "evil.pkl")
    os.symlink("data", root / "datalink")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    return root


def coreutils_dirhash(root: Path) -> str:
    out = subprocess.run(
        "find . -type f -printf '%P\\0' | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum",
        shell=True, cwd=root, capture_output=True, text=True, check=True,
    ).stdout
    return "sha256:" + out.split()[0]


def test_dirhash_matches_coreutils_recipe(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "t")
    # The recipe runs from the root and would see .git too; compare on a copy of the content only.
    subprocess.run(["rm", "-rf", str(root / ".git")], check=True)
    assert hash_tree(root).root_digest == coreutils_dirhash(root)


def test_entries_hash_modes_and_symlinks(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "t")
    m = hash_tree(root)
    by = m.by_path()
    assert ".git/HEAD" not in by, "tool state at the root is excluded"
    assert by["big.bin"].sha256 == hashlib.sha256((root / "big.bin").read_bytes()).hexdigest()
    assert by["empty"].sha256 == hashlib.sha256(b"").hexdigest()
    assert by["run.sh"].executable and not by["data/train/part 1.csv"].executable
    link = by["evil.pkl"]
    assert link.kind is EntryKind.SYMLINK and link.target == "/etc/passwd" and link.sha256 is None
    assert by["datalink"].kind is EntryKind.SYMLINK, "directory symlinks are not descended"
    assert not any(p.startswith("datalink/") for p in by)
    paths = [e.path.encode() for e in m.entries]
    assert paths == sorted(paths), "entries are in byte order (a-b/x before a/x)"
    assert paths.index(b"data/a-b/x") < paths.index(b"data/a/x")


def test_nested_git_folder_is_content(tmp_path: Path) -> None:
    root = tmp_path / "t"
    (root / "sub" / ".git").mkdir(parents=True)
    (root / "sub" / ".git" / "hidden.pkl").write_bytes(b"\x80\x04N.")
    assert "sub/.git/hidden.pkl" in hash_tree(root).by_path()


def test_single_file(tmp_path: Path) -> None:
    f = tmp_path / "one.parquet"
    f.write_bytes(b"PAR1....PAR1")
    m = hash_tree(f)
    assert [e.path for e in m.entries] == ["one.parquet"]


def test_manifest_roundtrip_and_tamper(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "t")
    m = hash_tree(root, dvc=True)
    path = tmp_path / "m.jsonl"
    path.write_text("\n".join(manifest_lines(m)) + "\n")
    back = read_manifest(path)
    assert back == m
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-1]) + "\n")  # drop one entry: header digest no longer holds
    with pytest.raises(ManifestError, match="does not match its entries"):
        read_manifest(path)


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "empty file"),
        ("hello\n", "first line is not JSON"),
        ('{"a": 1}\n', "no format header"),
        ('{"format": "datagate.manifest/v9"}\n', "is not"),
        ('{"format": "datagate.manifest/v1", "root_digest": "x"}\n{"path": 1}\n', ":2: malformed"),
    ],
)
def test_bad_manifests(tmp_path: Path, content: str, message: str) -> None:
    p = tmp_path / "bad.jsonl"
    p.write_text(content)
    with pytest.raises(ManifestError, match=message):
        read_manifest(p)


def test_dvc_dir_id_shape(tmp_path: Path) -> None:
    root = tmp_path / "t"
    root.mkdir()
    (root / "a").write_text("1")
    m = hash_tree(root, dvc=True)
    assert m.dvc_md5 is not None and m.dvc_md5.endswith(".dir")
    assert m.entries[0].md5 == hashlib.md5(b"1").hexdigest()


def test_stat_cache_reuses_and_verify_bypasses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache_mod, "RACY_MARGIN_NS", 0)
    root = tmp_path / "t"
    root.mkdir()
    (root / "a.csv").write_text("x\n1\n")
    m1, cache = build_manifest(root)
    assert cache is not None and cache.path.exists()
    # Poison the cached digest: hash_tree trusts the cache (proves it is used) ...
    poison_sha(cache.path, "a.csv", "0" * 64)
    assert hash_tree(root).by_path()["a.csv"].sha256 == "0" * 64
    assert hash_tree(root, use_cache=False).by_path()["a.csv"].sha256 == m1.by_path()["a.csv"].sha256
    # ... while verify always re-reads, so it reports the real bytes.
    mpath = tmp_path / "m.jsonl"
    mpath.write_text("\n".join(manifest_lines(m1)) + "\n")
    assert verify(root, mpath).matches


def test_cache_skips_racy_entries(tmp_path: Path) -> None:
    root = tmp_path / "t"
    root.mkdir()
    (root / "fresh").write_text("just written")
    _, cache = build_manifest(root)
    assert cache is not None
    # Written less than RACY_MARGIN_NS before hashing: never cached, so always re-hashed.
    assert cached_shas(cache.path) == {}


def test_corrupt_cache_is_ignored(tmp_path: Path) -> None:
    root = tmp_path / "t"
    root.mkdir()
    (root / "a").write_text("1")
    _, cache = build_manifest(root)
    assert cache is not None
    cache.path.parent.mkdir(parents=True, exist_ok=True)
    cache.path.write_bytes(b"not a database")
    m, cache2 = build_manifest(root)
    assert cache2 is not None and cache2.problem and "unreadable" in cache2.problem
    assert m.by_path()["a"].sha256 == hashlib.sha256(b"1").hexdigest()


def test_verify_reports_every_kind_of_change(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "t")
    mpath = tmp_path / "m.jsonl"
    mpath.write_text("\n".join(manifest_lines(hash_tree(root))) + "\n")
    (root / "data" / "train" / "part 1.csv").write_text("id,label\n1,cat\n2,cat\n")
    (root / "empty").unlink()
    (root / "new.txt").write_text("new")
    (root / "run.sh").chmod(0o644)
    os.unlink(root / "evil.pkl")
    os.symlink("/etc/shadow", root / "evil.pkl")
    os.unlink(root / "datalink")
    (root / "datalink").write_text("now a file")
    result = verify(root, mpath)
    got = {(d.path, d.change) for d in result.differences}
    assert got == {
        ("data/train/part 1.csv", Change.CONTENT),
        ("empty", Change.REMOVED),
        ("new.txt", Change.ADDED),
        ("run.sh", Change.MODE),
        ("evil.pkl", Change.TARGET),
        ("datalink", Change.KIND),
    }
    assert not result.matches and result.expected_digest != result.actual_digest


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match="no such file"):
        hash_tree(tmp_path / "nope")


def test_fifo_is_an_error(tmp_path: Path) -> None:
    root = tmp_path / "t"
    root.mkdir()
    os.mkfifo(root / "pipe")
    with pytest.raises(InventoryError, match="pipe: is a FIFO"):
        hash_tree(root)


def test_non_utf8_name_is_an_error(tmp_path: Path) -> None:
    root = tmp_path / "t"
    root.mkdir()
    with open(os.path.join(os.fsencode(root), b"bad\xffname"), "wb") as fh:
        fh.write(b"x")
    with pytest.raises(InventoryError, match="not valid UTF-8"):
        hash_tree(root)


def test_newline_name_is_an_error(tmp_path: Path) -> None:
    root = tmp_path / "t"
    root.mkdir()
    (root / "a\nb").write_text("x")
    with pytest.raises(InventoryError, match="line break"):
        hash_tree(root)


def test_root_symlink_is_refused(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    os.symlink(tmp_path / "real", tmp_path / "link")
    with pytest.raises(InventoryError, match="does not follow symlinks"):
        hash_tree(tmp_path / "link")


def test_file_vanishing_or_swapped_after_walk(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_text("1")
    st = os.lstat(f)
    f.unlink()
    with pytest.raises(InventoryError, match="vanished"):
        hash_file(str(f), st)
    os.symlink("/etc/passwd", f)
    with pytest.raises(InventoryError, match="cannot open"):
        hash_file(str(f), st)
    f.unlink()
    f.write_text("2")
    st2 = os.lstat(f)
    f.rename(tmp_path / "kept")  # keep the inode alive so the new file cannot reuse it
    f.write_text("3")
    with pytest.raises(InventoryError, match="replaced"):
        hash_file(str(f), st2)


@pytest.mark.timeout(20)
def test_a_fifo_swapped_in_after_the_walk_is_refused_without_hanging(tmp_path: Path) -> None:
    """open() of a FIFO with no writer blocks forever unless O_NONBLOCK: every reader of walked
    files must refuse it instead (the hashing paths, native and Python, and open_entry)."""
    from datagate.inventory import open_entry
    from datagate.models import FileEntry

    f = tmp_path / "f"
    f.write_text("data")
    st = os.lstat(f)
    f.unlink()
    os.mkfifo(f)
    with pytest.raises(InventoryError, match="no longer a regular file|replaced"):
        hash_file(str(f), st)
    with pytest.raises(InventoryError, match="no longer a regular file"):
        hash_file(str(f))
    entry = FileEntry("f", EntryKind.FILE, 4, 0o644, "0" * 64, None, None)
    with pytest.raises(InventoryError, match="no longer a regular file"):
        with open_entry(tmp_path, entry):
            pass
    with SmallFiles(tmp_path) as files, pytest.raises(InventoryError, match="no longer a regular file"):
        files.read(entry)


def test_small_files_are_read_relative_to_their_folder_as_open_entry_reads_them(tmp_path: Path) -> None:
    from datagate.inventory import open_entry

    (tmp_path / "a" / "b").mkdir(parents=True)
    for rel, data in (("top.bin", b"t"), ("a/one.bin", b"1" * 10), ("a/two.bin", b""), ("a/b/deep.bin", b"d" * 70_000)):
        (tmp_path / rel).write_bytes(data)
    manifest = hash_tree(tmp_path, use_cache=False)
    with SmallFiles(tmp_path) as files:
        for entry in manifest.files:
            got = files.read(entry)
            with open_entry(tmp_path, entry) as view:
                want = bytes(view)
            assert got == (want if len(want) <= SmallFiles.limit else None), entry.path  # deep.bin: None
        (tmp_path / "a" / "one.bin").unlink()
        os.symlink("two.bin", tmp_path / "a" / "one.bin")  # a link swapped in: never followed
        one = next(e for e in manifest.files if e.path == "a/one.bin")
        with pytest.raises(InventoryError, match=r"a/one.bin: cannot open"):
            files.read(one)
        (tmp_path / "a" / "one.bin").unlink()
        with pytest.raises(InventoryError, match=r"a/one.bin: cannot open \(No such file"):
            files.read(one)
    assert files._fd == -1  # the folder descriptor is closed with the block


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files regardless of permissions")
def test_unreadable_file(tmp_path: Path) -> None:
    root = tmp_path / "t"
    root.mkdir()
    (root / "secret").write_text("x")
    (root / "secret").chmod(0)
    with pytest.raises(InventoryError, match="permission denied"):
        hash_tree(root, use_cache=False)
