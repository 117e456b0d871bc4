"""Content hashing: SHA-256 always, MD5 only to match DVC's ids.

Files are opened with ``O_NOFOLLOW | O_NONBLOCK`` and checked against the walk's lstat (same inode, still a
regular file), so a file swapped for a symlink between walk and read is an error, not a silent
read through the link. Small files are read in one call; hashlib releases the GIL on large
updates, so :func:`hash_many` hashes the big files of a chunk on a small thread pool (small files
stay on the calling thread: GIL hand-offs per small file cost more than they save). Processes
across chunks are chunks.py's and manifest.py's business.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from datagate.errors import InventoryError

__all__ = ["OPEN_FLAGS", "Digests", "hash_file", "hash_many"]

_CHUNK = 1 << 20
_SMALL = 1 << 16
OPEN_FLAGS = (
    os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
)
"""How a file of the walk is opened for reading: never through a final symlink, and without
blocking (a FIFO swapped in after the walk would otherwise hang open(); it is then refused by the
regular-file check on the descriptor). O_NONBLOCK does not change reads of regular files."""


@dataclass(frozen=True, slots=True)
class Digests:
    """What hashing one file produced."""

    sha256: str
    """Lower-case hex SHA-256."""
    md5: str | None
    """Lower-case hex MD5, or None when not asked for."""
    size: int
    """Bytes actually read."""


def hash_file(path: str, expected: os.stat_result | None = None, *, md5: bool = False) -> Digests:
    """Return the digests of the regular file at ``path``.

    ``expected`` is the walk's lstat; the opened file must be the same inode. Raises
    InventoryError when the file vanished, is unreadable, or changed identity since the walk.
    """
    try:
        fd = os.open(path, OPEN_FLAGS)
    except FileNotFoundError:
        raise InventoryError(f"{path}: vanished while hashing") from None
    except PermissionError:
        raise InventoryError(f"{path}: permission denied") from None
    except OSError as exc:
        # ELOOP: the path became a symlink after the walk; we never read through links.
        raise InventoryError(f"{path}: cannot open ({exc.strerror})") from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InventoryError(f"{path}: is no longer a regular file")
        if expected is not None and (st.st_ino, st.st_dev) != (expected.st_ino, expected.st_dev):
            raise InventoryError(f"{path}: was replaced while hashing")
        sha = hashlib.sha256()
        digest_md5 = hashlib.md5(usedforsecurity=False) if md5 else None
        total = 0
        if st.st_size <= _SMALL:
            chunks = []
            while True:
                block = os.read(fd, _SMALL + 1)
                if not block:
                    break
                chunks.append(block)
                total += len(block)
            data = b"".join(chunks)
            sha.update(data)
            if digest_md5 is not None:
                digest_md5.update(data)
        else:
            buf = bytearray(_CHUNK)
            view = memoryview(buf)
            with open(fd, "rb", buffering=0, closefd=False) as raw:
                while True:
                    n = raw.readinto(buf)
                    if not n:
                        break
                    part = view[:n]
                    sha.update(part)
                    if digest_md5 is not None:
                        digest_md5.update(part)
                    total += n
    except OSError as exc:
        raise InventoryError(f"{path}: read failed ({exc.strerror})") from exc
    finally:
        os.close(fd)
    return Digests(sha.hexdigest(), digest_md5.hexdigest() if digest_md5 else None, total)


def hash_many(
    jobs: Sequence[tuple[str, os.stat_result]],
    *,
    md5: bool = False,
    workers: int | None = None,
    on_done: Callable[[int], None] | None = None,
) -> Iterator[Digests]:
    """Hash ``jobs`` (path, lstat) concurrently and yield digests in the same order.

    ``on_done`` is called with each file's byte count as it finishes (for progress). Raises
    InventoryError for the first file that fails.
    """
    if not jobs:
        return
    n = workers or min(4, (os.cpu_count() or 1) + 1)
    if n <= 1 or len(jobs) < 8:
        for path, st in jobs:
            d = hash_file(path, st, md5=md5)
            if on_done:
                on_done(d.size)
            yield d
        return
    # Batch small files so per-task overhead does not dominate; one big file is one task.
    batches = list(_batches(jobs, target_bytes=8 << 20, max_files=256))

    def run(batch: Sequence[tuple[str, os.stat_result]]) -> list[Digests]:
        return [hash_file(p, s, md5=md5) for p, s in batch]

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=n, thread_name_prefix="datagate-hash") as pool:
        for result in pool.map(run, batches):
            for d in result:
                if on_done:
                    on_done(d.size)
                yield d


def _batches(
    jobs: Iterable[tuple[str, os.stat_result]], *, target_bytes: int, max_files: int
) -> Iterator[list[tuple[str, os.stat_result]]]:
    batch: list[tuple[str, os.stat_result]] = []
    size = 0
    for job in jobs:
        batch.append(job)
        size += job[1].st_size
        if size >= target_bytes or len(batch) >= max_files:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch
