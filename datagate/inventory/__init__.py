"""Inventory: walk a tree, hash every file, compute the dataset version id, verify later.

>>> import datagate
>>> m = datagate.hash_tree("fixtures/build/sample")   # doctest: +SKIP
>>> m.root_digest, len(m.files)                       # doctest: +SKIP
('sha256:...', 5)
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from stat import S_ISREG
from typing import TYPE_CHECKING

from datagate.errors import InventoryError
from datagate.inventory.hashing import OPEN_FLAGS
from datagate.inventory.manifest import (
    ManifestSummary,
    build_manifest,
    dir_hash,
    dvc_dir_md5,
    manifest_lines,
    read_manifest,
    write_manifest,
)
from datagate.inventory.verify import Change, Difference, VerifyResult, compare, verify
from datagate.models import EntryKind, FileEntry, Manifest
from datagate.progress import NULL_PROGRESS, ProgressSink

if TYPE_CHECKING:
    from datagate.engine import Engine

__all__ = [
    "Change",
    "Difference",
    "ManifestSummary",
    "SmallFiles",
    "VerifyResult",
    "build_manifest",
    "compare",
    "dir_hash",
    "dvc_dir_md5",
    "hash_tree",
    "manifest_lines",
    "open_entry",
    "read_manifest",
    "scan_root",
    "verify",
    "write_manifest",
]


def hash_tree(
    path: Path | str,
    *,
    dvc: bool = False,
    use_cache: bool = True,
    progress: ProgressSink = NULL_PROGRESS,
    workers: int | None = None,
    skip_bad_names: bool = False,
    engine: Engine | None = None,
) -> Manifest:
    """Return the manifest of ``path`` (a directory or one regular file).

    ``dvc`` also computes MD5s and DVC's ``.dir`` id; ``use_cache=False`` re-reads every file.
    ``workers`` caps hashing processes (None: one per CPU; 1: in this process, never forking).
    ``skip_bad_names`` leaves out names that cannot be manifest lines (not UTF-8, a line break)
    and lists them in ``Manifest.unlisted`` instead of raising (the scan reports them).
    ``engine`` (a non-local engine, e.g. Ray) hashes on its workers, in path order.
    Raises InventoryError for anything that cannot be inventoried.
    """
    manifest, _ = build_manifest(
        Path(path), dvc=dvc, use_cache=use_cache, progress=progress, workers=workers,
        skip_bad_names=skip_bad_names, engine=engine,
    )
    return manifest


def scan_root(path: Path | str) -> Path:
    """Return the directory manifest paths are relative to (the file's parent for a file)."""
    p = Path(path)
    return p.parent if p.is_file() and not p.is_symlink() else p


_READ_SMALL = 64 * 1024
"""Files up to this size are read into memory by :func:`open_entry` instead of mapped."""


def _read_all(fd: int, size: int) -> bytes:
    """Return up to ``size`` bytes of ``fd`` (fewer only when the file shrank meanwhile)."""
    parts = []
    left = size
    while left > 0:
        chunk = os.read(fd, left)
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _contents(fd: int, root: str, path: str, *, mapped: bool) -> bytes | mmap.mmap | None:
    """Check that the open ``fd`` (file ``path`` under ``root``) is still a regular file and
    return its bytes when it is at most 64 KiB (mapping and unmapping cost more than reading a
    small file, about 70 us a file); a larger one is mapped read-only when ``mapped``, else None.
    Closes ``fd`` (a mapping keeps what it needs). Raises InventoryError naming the file."""
    try:
        st = os.fstat(fd)
        if not S_ISREG(st.st_mode):
            raise InventoryError(f"{os.path.join(root, path)}: is no longer a regular file")
        if st.st_size <= _READ_SMALL:
            return _read_all(fd, st.st_size)
        return mmap.mmap(fd, st.st_size, access=mmap.ACCESS_READ) if mapped else None
    except OSError as exc:
        raise InventoryError(f"{os.path.join(root, path)}: cannot map ({exc.strerror})") from exc
    finally:
        os.close(fd)


class SmallFiles:
    """Reads the small regular files of one tree, each opened relative to its folder's
    descriptor (kept open while consecutive entries share the folder, as a sorted manifest's do):
    what :func:`open_entry` does for a file of at most 64 KiB, without resolving the whole path
    and without a context manager per file. Use as ``with SmallFiles(root) as files:``.
    """

    limit = _READ_SMALL
    """Files up to this size are read (larger ones are for :func:`open_entry`)."""

    def __init__(self, root: Path) -> None:
        self.root = str(root)
        self._folder: str | None = None
        self._fd = -1

    def __enter__(self) -> SmallFiles:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the folder descriptor held (if any)."""
        if self._fd >= 0:
            os.close(self._fd)
        self._fd, self._folder = -1, None

    def read(self, entry: FileEntry) -> bytes | None:
        """Return the bytes of ``entry`` when it is a regular file of at most 64 KiB; None when it
        has grown past that since it was inventoried (map it with :func:`open_entry`). Raises
        InventoryError as :func:`open_entry` does."""
        if entry.kind is not EntryKind.FILE:
            raise InventoryError(f"{entry.path}: is not a regular file")
        folder, _, name = entry.path.rpartition("/")
        try:
            if folder != self._folder:
                self.close()
                self._fd = os.open(os.path.join(self.root, folder) if folder else self.root, _DIR_FLAGS)
                self._folder = folder
            fd = os.open(name, OPEN_FLAGS, dir_fd=self._fd)
        except OSError as exc:
            raise InventoryError(f"{os.path.join(self.root, entry.path)}: cannot open ({exc.strerror})") from exc
        data = _contents(fd, self.root, entry.path, mapped=False)
        assert not isinstance(data, mmap.mmap)  # mapped=False never maps
        return data


_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)


@contextmanager
def open_entry(root: Path, entry: FileEntry) -> Iterator[memoryview]:
    """Yield a read-only memoryview over the regular file ``entry`` under ``root``.

    The file is memory-mapped (never read whole) unless it is at most 64 KiB, which is read; an
    empty file yields an empty view. Raises
    InventoryError if the file is not a regular file, vanished, or cannot be read.
    """
    if entry.kind is not EntryKind.FILE:
        raise InventoryError(f"{entry.path}: is not a regular file")
    full = os.path.join(root, entry.path)
    try:
        fd = os.open(full, OPEN_FLAGS)
    except OSError as exc:
        raise InventoryError(f"{full}: cannot open ({exc.strerror})") from exc
    mm = _contents(fd, str(root), entry.path, mapped=True)
    if not isinstance(mm, mmap.mmap):
        yield memoryview(mm or b"")
        return
    view = memoryview(mm)
    try:
        yield view
    finally:
        view.release()
        try:
            mm.close()
        except BufferError:
            # A scanner still holds a slice of the view; the map is freed when it is dropped.
            pass
