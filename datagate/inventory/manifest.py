"""Build, write and read manifests, and compute the dataset version id (in-toto dirHash).

The version id is SHA-256 over the byte-sorted lines ``"<sha256>  <relpath>\\n"`` of the regular
files, which an auditor can recompute from the root with coreutils alone::

    find . -type f -printf '%P\\0' | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum

(Symlinks are not regular files; they are recorded in the manifest with their targets and
compared by ``verify``, but do not enter the dirHash, exactly as ``find -type f`` skips them.)

On disk a manifest is JSON Lines: a header object, then one object per entry in path byte order.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import sqlite3
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from stat import S_ISDIR, S_ISLNK, S_ISREG
from typing import TYPE_CHECKING, Any, BinaryIO, Literal

from datagate._system import usable_cpus
from datagate.errors import InventoryError, ManifestError
from datagate.inventory import cache as cache_module
from datagate.inventory.cache import (
    StatCache,
    close_readers,
    forget_readers,
    read_memo_body,
    read_tree_memo,
)
from datagate.inventory.chunks import Chunk, ChunkResult, OutputMode, probe_chunk, run_chunk
from datagate.inventory.native import native
from datagate.inventory.walk import check_name, list_runs
from datagate.models import EntryKind, FileEntry, Manifest
from datagate.progress import NULL_PROGRESS, ProgressSink

if TYPE_CHECKING:
    from datagate.engine import Engine

__all__ = [
    "MANIFEST_FORMAT",
    "ManifestSummary",
    "build_manifest",
    "dir_hash",
    "dvc_dir_md5",
    "manifest_lines",
    "read_manifest",
    "summary_text",
    "write_manifest",
]

MANIFEST_FORMAT = "datagate.manifest/v1"
"""The header tag of the manifest format this version writes and reads."""


def dir_hash(entries: Iterable[FileEntry]) -> str:
    """Return ``sha256:<hex>``: the in-toto dirHash over the regular files among ``entries``.

    Raises UnicodeEncodeError for a path that cannot be encoded as UTF-8 (a lone surrogate).
    """
    # Sorting by the str is sorting by its UTF-8 bytes (UTF-8 preserves code point order); a
    # path that is not valid UTF-8 fails the encode below wherever it sorts.
    files = sorted((e for e in entries if e.kind is EntryKind.FILE), key=_path_of)
    blob = "".join([f"{e.sha256}  {e.path}\n" for e in files]).encode("utf-8")
    return "sha256:" + hashlib.sha256(blob).hexdigest()


_path_of = attrgetter("path")


def dvc_dir_md5(entries: Iterable[FileEntry]) -> str | None:
    """Return DVC's ``<md5>.dir`` id of the regular files, or None if any MD5 is missing.

    Mirrors dvc-data's ``Tree.as_bytes``: a JSON list of ``{"md5", "relpath"}`` sorted by
    relpath, serialised with ``json.dumps(..., sort_keys=True)``, then MD5 + ``.dir``. DVC follows
    symlinks where datagate records them, so the ids agree only for trees without symlinks.
    """
    items = []
    for e in entries:
        if e.kind is not EntryKind.FILE:
            continue
        if e.md5 is None:
            return None
        items.append({"md5": e.md5, "relpath": e.path})
    items.sort(key=lambda d: d["relpath"])
    blob = json.dumps(items, sort_keys=True).encode("utf-8")
    return hashlib.md5(blob, usedforsecurity=False).hexdigest() + ".dir"


@dataclass(frozen=True, slots=True)
class ManifestSummary:
    """The totals of an inventory that was streamed rather than kept (see :func:`write_manifest`)."""

    root_digest: str
    """``sha256:<hex>``: the dirHash version id."""
    dvc_md5: str | None
    """DVC's ``.dir`` id when MD5s were computed, else None."""
    files: int
    """Regular files."""
    nbytes: int
    """Their total size in bytes."""
    symlinks: int
    """Symlinks."""


def build_manifest(
    path: Path,
    *,
    dvc: bool = False,
    use_cache: bool = True,
    progress: ProgressSink = NULL_PROGRESS,
    workers: int | None = None,
    skip_bad_names: bool = False,
    engine: Engine | None = None,
) -> tuple[Manifest, StatCache | None]:
    """Inventory ``path`` (a directory or a single regular file) and return its manifest.

    Returns the manifest and the stat cache used (None when bypassed), whose ``problem`` says
    whether it had to be ignored. ``workers`` caps the hashing processes (None: one per CPU;
    1: everything in this process, which never forks). Raises InventoryError for a missing path,
    a special file, an unreadable file, a bad name (unless ``skip_bad_names``: such names are
    then left out and listed in ``Manifest.unlisted``), or a file that vanished or was replaced
    mid-walk. ``engine`` (a non-local :class:`~datagate.engine.Engine`, e.g. Ray) hashes the
    chunks as its ordered map instead of this machine's processes (see :func:`_on_engine`).
    """
    entries: list[FileEntry] = []
    append = entries.append
    file_kind, link_kind = EntryKind.FILE, EntryKind.SYMLINK

    def keep(r: ChunkResult) -> None:
        for p, is_link, size, mode, sha, md5, target in r.entries:
            append(FileEntry(p, link_kind if is_link else file_kind, size, mode, sha, md5, target))

    unlisted: list[tuple[str, str]] | None = [] if skip_bad_names else None
    summary, cache = _inventory(
        path, dvc=dvc, use_cache=use_cache, progress=progress, mode="entries", sink=keep,
        workers=workers, unlisted=unlisted, engine=engine,
    )
    return Manifest(tuple(entries), summary.root_digest, summary.dvc_md5, tuple(unlisted or ())), cache


def write_manifest(
    path: Path,
    out: BinaryIO,
    *,
    fmt: Literal["json", "text"] = "json",
    dvc: bool = False,
    use_cache: bool = True,
    progress: ProgressSink = NULL_PROGRESS,
    workers: int | None = None,
    engine: Engine | None = None,
) -> ManifestSummary:
    """Inventory ``path`` and write its manifest to ``out`` without holding it in memory.

    ``fmt`` is ``json`` (the JSON Lines manifest :func:`read_manifest` reads, byte-identical to
    :func:`manifest_lines`) or ``text`` (``sha256sum``-style lines, then the version line).
    Entry lines are spooled (in memory up to a few MiB, then a temporary file) until the totals
    for the header are known; nothing is written to ``out`` if the inventory fails. Raises
    InventoryError as :func:`build_manifest` does.
    """
    import shutil
    import tempfile

    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY) as spool:

        def keep(r: ChunkResult) -> None:
            spool.write(r.out.encode("utf-8"))

        summary, _ = _inventory(
            path, dvc=dvc, use_cache=use_cache, progress=progress, mode=fmt, sink=keep,
            workers=workers, engine=engine,
        )
        spool.seek(0)
        if fmt == "json":
            header: dict[str, Any] = {
                "format": MANIFEST_FORMAT,
                "root_digest": summary.root_digest,
                "files": summary.files,
                "bytes": summary.nbytes,
                "symlinks": summary.symlinks,
            }
            if summary.dvc_md5 is not None:
                header["dvc_md5"] = summary.dvc_md5
            out.write((_dump(header) + "\n").encode("utf-8"))
            shutil.copyfileobj(spool, out, _COPY_BLOCK)
        else:
            shutil.copyfileobj(spool, out, _COPY_BLOCK)
            out.write(summary_text(summary).encode("utf-8"))
    return summary


def summary_text(summary: ManifestSummary) -> str:
    """Return the closing lines of a text manifest: the version line, then the DVC id if any."""
    tail = f", {summary.symlinks} symlinks" if summary.symlinks else ""
    text = f"version {summary.root_digest}  ({summary.files} files, {summary.nbytes} bytes{tail})\n"
    if summary.dvc_md5:
        text += f"dvc {summary.dvc_md5}\n"
    return text


_SPOOL_IN_MEMORY = 8 << 20
_COPY_BLOCK = 1 << 20
CHUNK_FILES = 1000
"""Paths per chunk: the unit of work a hashing process takes (and of parent-side work)."""
PARALLEL_MIN_CHUNKS = 3
"""Trees with fewer chunks are inventoried in-process: forking would cost more than it saves."""


def _inventory(
    path: Path,
    *,
    dvc: bool,
    use_cache: bool,
    progress: ProgressSink,
    mode: OutputMode,
    sink: Callable[[ChunkResult], None],
    workers: int | None,
    unlisted: list[tuple[str, str]] | None = None,
    engine: Engine | None = None,
) -> tuple[ManifestSummary, StatCache | None]:
    """Run the chunks of ``path`` in order, hand each result to ``sink``, return the totals."""
    path = Path(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise InventoryError(f"{path}: no such file or directory") from None
    except OSError as exc:
        raise InventoryError(f"{path}: cannot stat ({exc.strerror})") from exc
    runs: Iterator[list[str]]
    if S_ISLNK(st.st_mode):
        raise InventoryError(
            f"{path}: is a symlink; datagate does not follow symlinks",
            hint="point datagate at the real directory or file",
        )
    if S_ISREG(st.st_mode):
        root = path.parent
        check_name(path.name, os.fspath(path))
        runs = iter([[path.name]])
    elif S_ISDIR(st.st_mode):
        root = path
        runs = list_runs(path, unlisted)
    else:
        raise InventoryError(f"{path}: is not a regular file or directory")

    cache = StatCache(path) if use_cache else None
    db = os.fspath(cache.path) if cache is not None and cache.readable else None
    root_s = os.fspath(root)
    keep = cache is not None
    racy_ns = cache_module.RACY_MARGIN_NS

    accel = native is not None

    def make(spec: tuple[tuple[str, ...], str, str | None]) -> Chunk:
        return Chunk(root_s, spec[0], spec[1], spec[2], dvc, db, keep, racy_ns, mode, accel)

    specs = _chunk_specs(runs, CHUNK_FILES)
    head = list(itertools.islice(specs, PARALLEL_MIN_CHUNKS))
    n = _worker_count(workers)
    results: Iterator[ChunkResult]
    if engine is not None:
        # Workers elsewhere cannot read this machine's stat cache: they hash every file, and
        # this process still records the rows and memos they return.
        remote = (root_s, dvc, None, keep, racy_ns, mode, accel)
        results = _on_engine((Chunk(remote[0], spec[0], spec[1], spec[2], *remote[1:]) for spec in itertools.chain(head, specs)), engine)
    elif n > 1 and len(head) >= PARALLEL_MIN_CHUNKS:
        chunks = map(make, itertools.chain(head, specs))
        if db is not None and accel and mode != "entries":
            results = _probe_then_processes(chunks, n)
        else:
            results = _in_processes(chunks, n)
    else:
        results = map(run_chunk, map(make, itertools.chain(head, specs)))

    digests = _Digests(dvc)
    # The tree memo: when every chunk's memo is still valid and the chunks are the ones the
    # memo was made of, the version id is known without hashing the dirHash input again.
    tree_sig = hashlib.sha256()
    tree_memo_ok = cache is not None and mode != "entries"
    all_hits = True
    pending: list[tuple[str, bytes]] = []  # memo hits whose dirHash input is not hashed yet
    files = nbytes = links = 0
    cache_problem: str | None = None
    task = progress.task("hashing")
    try:
        for r in results:
            if r.error is not None:
                raise InventoryError(r.error[0], hint=r.error[1])
            if r.signature and tree_memo_ok:
                tree_sig.update(f"{r.lo}\0{r.hi}\0".encode("utf-8", "surrogateescape") + r.signature)
            else:
                tree_memo_ok = False
            if r.memo_hit:
                assert db is not None
                if not r.out_read:
                    r.out = _memo_body(db, r, mode, dvc, out=True)[0]
                pending.append((r.lo, r.signature))
            else:
                all_hits = False
                digests.feed_memos(db, pending, mode)
                digests.feed(r.dirhash, r.dvc)
            sink(r)
            files += r.files
            nbytes += r.nbytes
            links += r.links
            if r.cache_problem is not None:
                cache_problem = cache_problem or r.cache_problem
            elif cache is not None and not r.memo_hit:
                cache.apply(r.lo, r.hi, r.rowset, (mode, dvc, r.memo) if r.signature else None)
                cache.flush()
            task.advance(r.files + r.links, r.hashed_bytes)
        known = None
        if tree_memo_ok and all_hits and db is not None:
            known = read_tree_memo(db, dvc)
            if known is not None and known[0] != tree_sig.digest():
                known = None
        if known is not None:
            root_digest, dvc_id = known[1], known[2]
        else:
            digests.feed_memos(db, pending, mode)
            root_digest, dvc_id = digests.result()
            if cache is not None and cache_problem is None and mode != "entries":
                cache.remember_tree(dvc, tree_sig.digest() if tree_memo_ok else None, root_digest, dvc_id)
    except BaseException:
        if cache is not None:
            cache.rollback()
        raise
    finally:
        task.close()
        results_close = getattr(results, "close", None)
        if results_close is not None:
            results_close()
        close_readers()
    if cache is not None:
        if cache_problem is not None:
            cache.rollback()
            cache.unreadable(cache_problem)
        else:
            cache.commit()
    return ManifestSummary(root_digest, dvc_id, files, nbytes, links), cache


class _Digests:
    """The running dirHash and DVC ``.dir`` digests over the chunks' parts, in order."""

    def __init__(self, dvc: bool) -> None:
        self._dirhash = hashlib.sha256()
        self._dvc = hashlib.md5(b"[", usedforsecurity=False) if dvc else None
        self._dvc_first = True

    def feed(self, dirhash: str, dvc: str) -> None:
        """Add one chunk's dirHash lines and DVC items."""
        self._dirhash.update(dirhash.encode("utf-8"))
        if self._dvc is not None and dvc:
            self._dvc.update((dvc if self._dvc_first else ", " + dvc).encode("utf-8"))
            self._dvc_first = False

    def feed_memos(self, db: str | None, pending: list[tuple[str, bytes]], mode: str) -> None:
        """Add (then forget) the parts of the memo-hit chunks in ``pending``, read from ``db``."""
        if pending:
            assert db is not None
            md5 = self._dvc is not None
            for lo, sig in pending:
                _, dirhash, dvc = _memo_body(db, (lo, sig), mode, md5, out=False)
                self.feed(dirhash, dvc)
            pending.clear()

    def result(self) -> tuple[str, str | None]:
        """Return the dirHash version id and the DVC ``.dir`` id (None without MD5s)."""
        root_digest = "sha256:" + self._dirhash.hexdigest()
        if self._dvc is None:
            return root_digest, None
        self._dvc.update(b"]")
        return root_digest, self._dvc.hexdigest() + ".dir"


def _memo_body(
    db: str, chunk: ChunkResult | tuple[str, bytes], mode: str, md5: bool, *, out: bool
) -> tuple[str, str, str]:
    """Return (out, dirhash, dvc) of a chunk's memo (see read_memo_body for ``out``).

    Checks that the memo is the one the worker matched (same signature).
    """
    lo, sig = (chunk.lo, chunk.signature) if isinstance(chunk, ChunkResult) else chunk
    try:
        body = read_memo_body(db, lo, mode, md5, out=out)
    except sqlite3.Error as exc:
        body = None
        why = f"unreadable ({exc})"
    else:
        why = "changed during the run (another datagate on the same folder?)"
    if body is None or body[0] != sig:
        raise InventoryError(
            f"stat cache {db}: {why}", hint="run again, or with --no-cache"
        )
    return body[1], body[2], body[3]


def _chunk_specs(
    runs: Iterator[list[str]], size: int
) -> Iterator[tuple[tuple[str, ...], str, str | None]]:
    """Cut the paths of ``runs`` into chunks of ``size``, each with the cache key range it covers.

    The ranges tile the whole key space (the first starts at "", each ends where the next
    begins, the last has no end), so every cached row falls in exactly one chunk's range and
    rows of vanished paths are found.
    """
    buf: list[str] = []
    full: list[str] | None = None  # a full chunk waiting for the next path, its range's end
    lo = ""
    for run in runs:
        i, n = 0, len(run)
        while i < n:
            if full is not None:
                yield tuple(full), lo, run[i]
                lo, full = run[i], None
            take = size - len(buf)
            buf.extend(run[i : i + take])
            i += take
            if len(buf) == size:
                full, buf = buf, []
    yield tuple(full if full is not None else buf), lo, None


def _worker_count(workers: int | None) -> int:
    if workers is not None:
        return max(1, workers)
    return max(1, min(usable_cpus(), 8))


def _probe_then_processes(chunks: Iterator[Chunk], n: int) -> Iterator[ChunkResult]:
    """Check the chunks' memos on ``n`` threads; from the first that does not hold, use processes.

    An unchanged tree thus costs no process start: the lstat calls run in C without the GIL,
    so threads share them as processes would. At the first chunk needing work, the threads
    stop (before any fork) and that chunk and all after it go to :func:`_in_processes`, whose
    workers still take memo hits where they find them (chunks probed ahead are probed again
    there: a few milliseconds, at most a window's worth).
    """
    from collections import deque
    from concurrent.futures import Future, ThreadPoolExecutor

    window: deque[tuple[Chunk, Future[ChunkResult | None]]] = deque()
    pool = ThreadPoolExecutor(n, thread_name_prefix="datagate-probe")
    try:
        for chunk in itertools.islice(chunks, 2 * n + 2):
            window.append((chunk, pool.submit(probe_chunk, chunk, with_out=True)))
        while window:
            chunk, future = window[0]
            result = future.result()
            if result is None:
                break
            window.popleft()
            for chunk in itertools.islice(chunks, 1):
                window.append((chunk, pool.submit(probe_chunk, chunk, with_out=True)))
            yield result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    if window:
        yield from _in_processes(itertools.chain([c for c, _ in window], chunks), n)


def _in_processes(chunks: Iterator[Chunk], n: int) -> Iterator[ChunkResult]:
    """Run ``chunks`` on ``n`` processes, a bounded window ahead, yielding results in order.

    Forks when this process has no other thread (cheap, and nothing to deadlock on); otherwise
    (a progress bar is drawing, a test runner's I/O thread) starts workers from a fork server.
    """
    import multiprocessing
    import threading
    from collections import deque
    from concurrent.futures import Future, ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    method = "fork" if threading.active_count() == 1 and sys.platform == "linux" else "forkserver"
    if method not in multiprocessing.get_all_start_methods():
        method = "spawn"
    ctx = multiprocessing.get_context(method)
    pool = ProcessPoolExecutor(n, mp_context=ctx, initializer=_worker_init)
    try:
        window: deque[Future[ChunkResult]] = deque()
        for chunk in itertools.islice(chunks, 2 * n + 2):
            window.append(pool.submit(run_chunk, chunk))
        while window:
            result = window.popleft().result()
            for chunk in itertools.islice(chunks, 1):
                window.append(pool.submit(run_chunk, chunk))
            yield result
    except BrokenProcessPool as exc:
        raise InventoryError(
            f"a hashing process died ({exc})", hint="killed, or out of memory? run again"
        ) from exc
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _on_engine(chunks: Iterator[Chunk], engine: Engine) -> Iterator[ChunkResult]:
    """Run ``chunks`` as ``engine``'s ordered map, a window at a time, yielding results in order.

    The dirHash and the cache stay on this process: it consumes the results in path order, as
    with local processes. A failed or lost task is an InventoryError naming the chunk's paths.
    """
    from datagate.engine import Failed

    window = max(4, 4 * engine.workers)
    while True:
        batch = list(itertools.islice(chunks, window))
        if not batch:
            return
        names = [f"{c.paths[0]}" + (f" .. {c.paths[-1]}" if len(c.paths) > 1 else "") for c in batch]
        for name, res in zip(names, engine.map(run_chunk, batch, names=names), strict=True):
            if isinstance(res, Failed):
                raise InventoryError(f"hashing {name} failed on the {engine.name} engine: {res.reason}", hint="run again, or use --engine local")
            yield res


def _worker_init() -> None:
    """Set up a hashing process: its own cache connections; Ctrl-C is the parent's to handle."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    forget_readers()


def _entry_to_dict(e: FileEntry) -> dict[str, Any]:
    d: dict[str, Any] = {"path": e.path, "type": e.kind.value, "size": e.size, "mode": f"{e.mode:04o}"}
    if e.kind is EntryKind.FILE:
        d["sha256"] = e.sha256
        if e.md5 is not None:
            d["md5"] = e.md5
    else:
        d["target"] = e.target
    return d


def manifest_lines(manifest: Manifest) -> list[str]:
    """Return the manifest as JSON Lines (header first, then entries), without newlines."""
    # One pass for the counts (Manifest.files / total_bytes would each walk every entry again).
    n_files = n_bytes = 0
    for e in manifest.entries:
        if e.kind is EntryKind.FILE:
            n_files += 1
            n_bytes += e.size
    header: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        "root_digest": manifest.root_digest,
        "files": n_files,
        "bytes": n_bytes,
        "symlinks": len(manifest.entries) - n_files,
    }
    if manifest.dvc_md5 is not None:
        header["dvc_md5"] = manifest.dvc_md5
    return [_dump(header)] + [_entry_line(e) for e in manifest.entries]


def _dump(obj: dict[str, Any]) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


# json's own string encoder (the C one when available) applies exactly the escaping json.dumps
# uses with ensure_ascii=False, so the hand-assembled line below is byte-identical to
# ``_dump(_entry_to_dict(e))`` at a fraction of the cost (no dict, no key sort, no encoder object
# per line): about 4x faster on a 100k-file manifest.
_enc = json.encoder.encode_basestring


def _entry_line(e: FileEntry) -> str:
    """Return the manifest line of ``e``: ``_dump(_entry_to_dict(e))``, keys in sorted order."""
    if type(e.path) is str and type(e.size) is int and type(e.mode) is int:
        if e.kind is EntryKind.FILE and type(e.sha256) is str and (e.md5 is None or type(e.md5) is str):
            md5 = "" if e.md5 is None else f'"md5":{_enc(e.md5)},'
            return (
                f'{{{md5}"mode":"{e.mode:04o}","path":{_enc(e.path)},"sha256":{_enc(e.sha256)},'
                f'"size":{e.size},"type":"file"}}'
            )
        if e.kind is EntryKind.SYMLINK and type(e.target) is str:
            return (
                f'{{"mode":"{e.mode:04o}","path":{_enc(e.path)},"size":{e.size},'
                f'"target":{_enc(e.target)},"type":"symlink"}}'
            )
    return _dump(_entry_to_dict(e))  # anything unusual: the general (slow) path


def read_manifest(path: Path) -> Manifest:
    """Read a manifest written by ``datagate hash --format json``.

    Raises ManifestError naming the file and line when it is missing, not JSON Lines, not a
    datagate manifest, of an unknown format version, or internally inconsistent.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ManifestError(f"{path}: manifest not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path}: cannot read manifest ({exc})") from exc
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise ManifestError(f"{path}: empty file is not a datagate manifest")
    try:
        header = json.loads(lines[0])
    except json.JSONDecodeError:
        raise ManifestError(f"{path}:1: not a datagate manifest (first line is not JSON)") from None
    if not isinstance(header, dict) or "format" not in header:
        raise ManifestError(f"{path}:1: not a datagate manifest (no format header)")
    if header["format"] != MANIFEST_FORMAT:
        raise ManifestError(
            f"{path}:1: manifest format {header['format']!r} is not {MANIFEST_FORMAT!r}",
            hint="it was written by another datagate version",
        )
    entries: list[FileEntry] = []
    for lineno, line in enumerate(lines[1:], start=2):
        try:
            d = json.loads(line)
            kind = EntryKind(d["type"])
            mode = int(d["mode"], 8)
            if kind is EntryKind.FILE:
                sha = d["sha256"]
                if not (isinstance(sha, str) and len(sha) == 64 and all(c in "0123456789abcdef" for c in sha)):
                    raise ValueError("bad sha256")
                entries.append(FileEntry(str(d["path"]), kind, int(d["size"]), mode, sha, d.get("md5")))
            else:
                entries.append(FileEntry(str(d["path"]), kind, int(d["size"]), mode, None, None, str(d["target"])))
        except (json.JSONDecodeError, KeyError, ValueError, TypeError) as exc:
            raise ManifestError(f"{path}:{lineno}: malformed manifest entry ({exc})") from None
    entries.sort(key=lambda e: e.path.encode("utf-8"))
    digest = dir_hash(entries)
    if header.get("root_digest") != digest:
        raise ManifestError(
            f"{path}: header root_digest {header.get('root_digest')} does not match its entries ({digest})",
            hint="the manifest was edited or truncated",
        )
    return Manifest(tuple(entries), digest, header.get("dvc_md5"))
