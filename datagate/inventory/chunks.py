"""Inventory one chunk of a tree: the unit of work the hashing processes share.

A chunk is a run of consecutive paths (in byte order) from the listing. For each path it lstat's,
rejects what is not a regular file or symlink, looks the file up in its range of the stat cache,
hashes the misses, and renders its part of every output at once: manifest lines (JSON or
``sha256sum`` text), dirHash lines, DVC ``.dir`` items. The parent only concatenates the parts of
consecutive chunks, so its work per chunk does not grow with the number of files in it, and an
unchanged 100k-file tree costs the parent a few hundred string joins.

:func:`run_chunk` never raises for a bad file: it returns the error, so the parent can report the
first failure in path order whichever process met it first.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import stat
import time
from array import array
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Literal

from datagate.errors import InventoryError
from datagate.inventory import cache as _cache
from datagate.inventory.cache import Memo
from datagate.inventory.hashing import hash_file, hash_many
from datagate.inventory.native import native
from datagate.inventory.walk import special_kind

__all__ = ["BIG_FILE", "Chunk", "ChunkResult", "EntryTuple", "OutputMode", "probe_chunk", "run_chunk"]

OutputMode = Literal["json", "text", "entries"]
"""What a chunk renders: manifest JSON lines, ``sha256sum``-style text lines, or entry tuples."""

EntryTuple = tuple[str, bool, int, int, str | None, str | None, str | None]
"""(path, is_symlink, size, mode, sha256, md5, target): a FileEntry's fields, cheap to pickle."""

BIG_FILE = 1 << 20
"""Files larger than this are hashed on threads (hashlib releases the GIL on large updates)."""

_enc = json.encoder.encode_basestring
_enc_ascii = json.encoder.encode_basestring_ascii
_S_IFMT = stat.S_IFMT
_IFREG = stat.S_IFREG
_IFLNK = stat.S_IFLNK
_IFDIR = stat.S_IFDIR
_ENTRY_KINDS = frozenset((_IFREG, _IFLNK))
_MODE_OF = attrgetter("st_mode")
_STAT_KEY = attrgetter("st_mode", "st_dev", "st_ino", "st_mtime_ns", "st_ctime_ns", "st_size")
_ID_OF = attrgetter("st_dev", "st_ino")


def _new_md5(data: bytes) -> hashlib._Hash:
    return hashlib.md5(data, usedforsecurity=False)



@dataclass(frozen=True, slots=True)
class Chunk:
    """Consecutive paths of one tree and how to inventory them."""

    root: str
    """The directory the paths are relative to."""
    paths: tuple[str, ...]
    """Relative paths, in byte order, none of them a directory at listing time."""
    lo: str
    """Start of this chunk's cache key range (inclusive)."""
    hi: str | None
    """End of the range (exclusive), None for the last chunk."""
    md5: bool
    """Also compute MD5 (for DVC ids)."""
    cache: str | None
    """The stat cache database to read, or None to hash everything."""
    keep: bool
    """Return what the stat cache should store (rows, memo); False for ``--no-cache``."""
    racy_ns: int
    """Entries modified less than this before hashing are not cached (see cache.py)."""
    mode: OutputMode
    """What to render."""
    accel: bool = True
    """Use the C accelerator where it is built (the parent decides, so workers agree)."""


@dataclass(slots=True)
class ChunkResult:
    """What one chunk produced; ``error`` set means the rest is incomplete and must be dropped."""

    out: str = ""
    """Manifest lines (JSON or text) of the entries, each ending in a newline."""
    dirhash: str = ""
    """``"<sha256>  <path>\\n"`` for each regular file: this chunk's slice of the dirHash input."""
    dvc: str = ""
    """DVC ``.dir`` list items of the regular files, joined by ``", "``."""
    entries: list[EntryTuple] = field(default_factory=list)
    """Entry tuples (mode ``entries`` only)."""
    files: int = 0
    """Regular files."""
    nbytes: int = 0
    """Their total size."""
    links: int = 0
    """Symlinks."""
    hashed_bytes: int = 0
    """Bytes actually read (cache misses)."""
    rowset: str | None = None
    """The chunk's new stat cache rows as JSON, or None when the stored ones are still exact."""
    signature: bytes = b""
    """SHA-256 over the chunk's paths and stat keys (empty when no memo applies). On a chunk
    that is not a memo hit, a signature means: drop the memos starting in this chunk's range,
    then store :attr:`memo` (if any)."""
    memo_hit: bool = False
    """The stored memo of this chunk is still valid: ``dirhash`` and ``dvc`` are left empty for
    the parent to read from the cache, ``out`` too unless :attr:`out_read` (counts are filled
    in)."""
    out_read: bool = False
    """On a memo hit: ``out`` was read from the memo already."""
    memo: Memo | None = None
    """This chunk's memo to store (None: nothing worth storing)."""
    lo: str = ""
    """The chunk's key range, for the memo table."""
    hi: str | None = None
    """See :attr:`lo`."""
    cache_problem: str | None = None
    """Why the cache range could not be read (the chunk then hashed everything)."""
    error: tuple[str, str | None] | None = None
    """(message, hint) of the first InventoryError, in path order."""


def probe_chunk(chunk: Chunk, *, with_out: bool = False) -> ChunkResult | None:
    """Return ``chunk``'s result from its stored memo if the memo still holds, else None.

    The whole cost of an unchanged chunk: one C call for the stat keys of every path (without
    the GIL, so threads can share the work), their signature, one cache query, and with
    ``with_out`` a second for the manifest lines (``out``; ``out_read`` says it is filled).
    Needs the accelerator and a readable cache. Never raises: anything unusual (a change, a
    special file, an lstat failure, a cache problem) is a None, and :func:`run_chunk` meets it
    again on its full path, which names it.
    """
    if not chunk.accel or native is None or chunk.cache is None or not chunk.keep or chunk.mode == "entries":
        return None
    packed = native.lstat_keys(chunk.root.rstrip("/") + "/", chunk.paths)
    if packed is None:
        return None
    result = ChunkResult(lo=chunk.lo, hi=chunk.hi)
    try:
        if not _memo_hit(chunk, _signature(packed, chunk.paths), result):
            return None
        if with_out:
            body = _cache.read_memo_body(chunk.cache, chunk.lo, chunk.mode, chunk.md5, out=True)
            if body is None or body[0] != result.signature:
                return None
            result.out, result.out_read = body[1], True
    except Exception:  # noqa: BLE001 - run_chunk reads the cache again and reports the failure
        return None
    return result


def run_chunk(chunk: Chunk) -> ChunkResult:
    """Inventory ``chunk``; errors are returned in :attr:`ChunkResult.error`, never raised."""
    hit = probe_chunk(chunk)
    if hit is not None:
        return hit
    result = ChunkResult(lo=chunk.lo, hi=chunk.hi)
    try:
        _run(chunk, result)
    except InventoryError as exc:
        result.error = (exc.message, exc.hint)
    return result


def _run(chunk: Chunk, result: ChunkResult) -> None:
    root = chunk.root.rstrip("/") + "/"
    need_md5 = chunk.md5
    hashed_at = time.time_ns()
    lstat = os.lstat

    memo_ok = chunk.keep and chunk.mode != "entries"
    # Pass 1: lstat everything, reject what is neither a regular file nor a symlink, and sum up
    # the stat keys in a signature for the chunk memo. The common case runs in C (map over
    # lstat and attrgetter); any failure re-walks the chunk slowly to name the path. (When
    # probe_chunk already lstat'ed these paths and found no valid memo, they are lstat'ed
    # again: the signature kept must be of the very stats the output is made of.)
    try:
        sts = list(map(lstat, [root + path for path in chunk.paths]))
    except OSError:
        sts = _lstat_or_explain(root, chunk.paths)
    if not set(map(_S_IFMT, map(_MODE_OF, sts))) <= _ENTRY_KINDS:
        _explain_kind(root, chunk.paths, sts)
    signature = b""
    if memo_ok:
        try:
            keys = array("q", itertools.chain.from_iterable(map(_STAT_KEY, sts)))
        except OverflowError:
            memo_ok = False
        else:
            signature = _signature(keys, chunk.paths)
            del keys

    # The chunk memo: the rendered result of this very chunk, valid while every stat key in it
    # (and so the signature) is unchanged.
    if chunk.cache is not None:
        try:
            if memo_ok and _memo_hit(chunk, signature, result):
                return
            cached, sources = _cache.read_rows(chunk.cache, chunk.lo, chunk.hi)
        except Exception as exc:  # noqa: BLE001 - any cache failure means: do not use it
            result.cache_problem = f"{type(exc).__name__}: {exc}"
            cached, sources = {}, []
    else:
        cached, sources = {}, []
    margin = chunk.racy_ns
    settled = True  # every entry old enough to be cached (the memo is only kept then)

    # Pass 2: settle cache hits, read symlinks, collect misses.
    # slot: (path, st, digest-or-None, target-or-None)
    slots: list[tuple[str, os.stat_result, tuple[str, str | None] | None, str | None]] = []
    misses: list[int] = []
    pop = cached.pop
    for path, st in zip(chunk.paths, sts, strict=True):
        row = pop(path, None)
        if _S_IFMT(st.st_mode) == _IFREG:
            if (
                row is not None
                and row[3] == st.st_mtime_ns
                and row[5] == st.st_size
                and row[2] == st.st_ino
                and row[4] == st.st_ctime_ns
                and row[1] == st.st_dev
                and (row[7] is not None or not need_md5)
            ):
                slots.append((path, st, (row[6], row[7]), None))  # md5 kept for the row set
                continue
            misses.append(len(slots))
            slots.append((path, st, None, None))
        else:
            try:
                target = os.readlink(root + path)
            except OSError as exc:
                raise InventoryError(f"{root}{path}: cannot read symlink ({exc.strerror})") from exc
            if hashed_at - max(st.st_mtime_ns, st.st_ctime_ns) < margin:
                settled = False
            slots.append((path, st, None, target))
    # Rows left over are paths no longer there (or no longer regular files): the stored row set
    # changes, as it does when it came from sets cut at other chunk boundaries.
    rows_changed = bool(cached) or bool(misses) or sources != [(chunk.lo, chunk.hi)]
    del cached, sts

    # Pass 3: hash the misses; big files on threads, small ones here (no thread hand-offs),
    # with the accelerator in one call (any file it declines is hashed the Python way).
    racy: set[int] = set()
    if misses:
        big = [i for i in misses if slots[i][1].st_size > BIG_FILE]
        digests: dict[int, tuple[str, str | None, int]] = {}
        if len(big) > 1:
            jobs = [(root + slots[i][0], slots[i][1]) for i in big]
            digests.update(
                (i, (d.sha256, d.md5, d.size))
                for i, d in zip(big, hash_many(jobs, md5=need_md5), strict=True)
            )
        small = [i for i in misses if i not in digests and slots[i][1].st_size <= BIG_FILE]
        if chunk.accel and native is not None and small:
            expect = array("Q", itertools.chain.from_iterable(_ID_OF(slots[i][1]) for i in small))
            got = native.hash_files(
                root, [slots[i][0] for i in small], expect.tobytes(), hashlib.sha256,
                _new_md5 if need_md5 else None,
            )
            digests.update((i, g) for i, g in zip(small, got, strict=True) if g is not None)
        for i in misses:
            if i not in digests:
                path, st, _, _ = slots[i]
                d = hash_file(root + path, st, md5=need_md5)
                digests[i] = (d.sha256, d.md5, d.size)
        for i in misses:
            path, st, _, _ = slots[i]
            sha, md5, size = digests[i]
            if size != st.st_size:
                raise InventoryError(f"{root}{path}: changed size while hashing")
            result.hashed_bytes += size
            slots[i] = (path, st, (sha, md5), None)
            if hashed_at - max(st.st_mtime_ns, st.st_ctime_ns) < margin:
                settled = False
                racy.add(i)

    # Pass 4: render, and offer the result as this chunk's memo when nothing in it is racy.
    _render(chunk.mode, slots, result, need_md5)
    if chunk.keep and rows_changed:
        # The rows of every regular file old enough to trust (see cache.py on racy entries).
        result.rowset = json.dumps(
            [
                [path, st.st_dev, st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size, d[0], d[1]]
                for i, (path, st, d, target) in enumerate(slots)
                if target is None and d is not None and i not in racy
            ],
            ensure_ascii=False,
            separators=(",", ":"),
        )
    if memo_ok:
        result.signature = signature
        result.memo = (
            (signature, chunk.hi, result.out, result.dirhash, result.dvc,
             result.files, result.nbytes, result.links)
            if settled
            else None
        )


def _signature(keys: bytes | array[int], paths: tuple[str, ...]) -> bytes:
    """SHA-256 over the packed stat keys (native int64, six per path) and the paths."""
    sig = hashlib.sha256(keys)
    sig.update("\0".join(paths).encode("utf-8", "surrogateescape"))
    return sig.digest()


def _memo_hit(chunk: Chunk, signature: bytes, result: ChunkResult) -> bool:
    """Fill ``result`` from the stored memo if it matches ``signature``; True if it did.

    Raises whatever the cache read raises (the caller decides what a broken cache means).
    """
    assert chunk.cache is not None
    head = _cache.read_memo_head(chunk.cache, chunk.lo, chunk.mode, chunk.md5)
    if head is None or head[0] != signature or head[1] != chunk.hi:
        return False
    result.signature, result.memo_hit = signature, True
    result.files, result.nbytes, result.links = head[2:]
    return True


def _lstat_or_explain(root: str, paths: tuple[str, ...]) -> list[os.stat_result]:
    """lstat ``paths`` one by one; raise InventoryError naming the first that fails."""
    out = []
    for path in paths:
        full = root + path
        try:
            out.append(os.lstat(full))
        except FileNotFoundError:
            raise InventoryError(f"{full}: vanished while walking") from None
        except OSError as exc:
            raise InventoryError(f"{full}: cannot stat ({exc.strerror})") from exc
    return out


def _explain_kind(root: str, paths: tuple[str, ...], sts: list[os.stat_result]) -> None:
    """Raise InventoryError for the first of ``paths`` that is neither a file nor a symlink."""
    for path, st in zip(paths, sts, strict=True):
        fmt = _S_IFMT(st.st_mode)
        if fmt == _IFDIR:
            raise InventoryError(f"{root}{path}: became a directory while walking")
        if fmt not in _ENTRY_KINDS:
            raise InventoryError(
                f"{root}{path}: is a {special_kind(st.st_mode)}, not a regular file",
                hint="datagate hashes regular files and records symlinks; remove or move it",
            )


def _render(
    mode: OutputMode,
    slots: list[tuple[str, os.stat_result, tuple[str, str | None] | None, str | None]],
    result: ChunkResult,
    need_md5: bool,
) -> None:
    out: list[str] = []
    dh: list[str] = []
    dvc: list[str] = []
    files = nbytes = links = 0
    for path, st, digest, target in slots:
        perm = st.st_mode & 0o7777
        if digest is None:  # symlink
            assert target is not None
            links += 1
            size = len(os.fsencode(target))
            if mode == "json":
                out.append(
                    f'{{"mode":"{perm:04o}","path":{_enc(path)},"size":{size},'
                    f'"target":{_enc(target)},"type":"symlink"}}\n'
                )
            elif mode == "text":
                out.append(f"{'symlink':<64}  {path} -> {target}\n")
            else:
                result.entries.append((path, True, size, perm, None, None, target))
            continue
        sha, md5 = digest
        if not need_md5:
            md5 = None
        size = st.st_size
        files += 1
        nbytes += size
        dh.append(f"{sha}  {path}\n")
        if need_md5:
            dvc.append(f'{{"md5": "{md5}", "relpath": {_enc_ascii(path)}}}')
        if mode == "json":
            md5_part = f'"md5":"{md5}",' if md5 is not None else ""
            out.append(
                f'{{{md5_part}"mode":"{perm:04o}","path":{_enc(path)},"sha256":"{sha}",'
                f'"size":{size},"type":"file"}}\n'
            )
        elif mode == "text":
            flag = "  (exec)" if perm & 0o111 else ""
            out.append(f"{sha}  {path}{flag}\n")
        else:
            result.entries.append((path, False, size, perm, sha, md5, None))
    result.out = "".join(out)
    result.dirhash = "".join(dh)
    result.dvc = ", ".join(dvc)
    result.files, result.nbytes, result.links = files, nbytes, links
