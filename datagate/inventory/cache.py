"""A stat cache so an unchanged tree is re-inventoried without re-reading file contents.

Keyed by path, device, inode, ``mtime_ns``, ``ctime_ns`` and size, stored in SQLite in the user's
cache directory (``$DATAGATE_CACHE_DIR``, else ``$XDG_CACHE_HOME/datagate``, else
``~/.cache/datagate``), one database per resolved root: never inside the hashed tree.

The inventory works on chunks of paths in byte order, possibly in several processes. The rows
of a chunk are stored together, as one JSON row set for the chunk's key range ``[lo, hi)``; the
ranges of consecutive chunks tile the key space, so each chunk reads only the one or two sets
that overlap its range, and rows of vanished paths go when the chunk's set is rewritten. A chunk
also stores a memo (its rendered output, keyed by a signature of its paths and stat keys), and
the tree a memo of its version id; an unchanged re-run then costs one lstat per file. Writes
happen in the parent only, a transaction per chunk (see :meth:`StatCache.flush`); the database
runs in WAL mode so readers and the writer never block each other.

Racy writes (the problem git calls "racily clean"): a file modified within the file system's
timestamp granularity of when we hashed it could keep the same mtime and size. We therefore never
cache an entry whose mtime or ctime is less than :data:`RACY_MARGIN_NS` older than the moment it
was hashed; such files are simply re-hashed next time.

The cache is an accelerator: if it is unreadable or locked it is ignored (and the reason is kept
in :attr:`StatCache.problem`), never trusted partially.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

__all__ = [
    "RACY_MARGIN_NS",
    "CacheRow",
    "Memo",
    "StatCache",
    "cache_dir",
    "close_readers",
    "forget_readers",
    "read_memo_body",
    "read_memo_head",
    "read_tree_memo",
    "read_rows",
]

RACY_MARGIN_NS = 2_000_000_000
"""Entries modified less than this long before hashing are not cached (covers 2 s FAT mtimes)."""

_SCHEMA_VERSION = "3"

Memo = tuple[bytes, str | None, str, str, str, int, int, int]
"""A chunk memo: (signature, hi, out, dirhash, dvc, files, nbytes, links); see chunks.py."""

CacheRow = tuple[str, int, int, int, int, int, str, str | None]
"""A row as stored: (path, dev, ino, mtime_ns, ctime_ns, size, sha256 hex, md5 hex or None)."""



def cache_dir() -> Path:
    """Return the directory holding datagate's caches (not created)."""
    env = os.environ.get("DATAGATE_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "datagate"


# Reader connections of this process, by database path and thread (each thread reads on its
# own connection, so readers never wait on each other). A forked worker must not use its
# parent's connections (SQLite forbids carrying them across fork): see forget_readers().
_readers: dict[tuple[str, int], sqlite3.Connection] = {}


def _reader(db: str) -> sqlite3.Connection:
    key = (db, threading.get_ident())
    con = _readers.get(key)
    if con is None:
        con = sqlite3.connect(db, timeout=2, check_same_thread=False)
        _readers[key] = con
    return con


def read_rows(db: str, lo: str, hi: str | None) -> tuple[dict[str, CacheRow], list[tuple[str, str | None]]]:
    """Return the cached rows with ``lo <= path < hi`` and the (lo, hi) of the row sets read.

    Rows are stored per chunk, as one JSON row set for the chunk's key range; a range may take
    rows from several stored sets when chunk boundaries moved since. Raises sqlite3.Error or
    ValueError when the database is unreadable or a row set malformed (the caller reports it).
    """
    con = _reader(db)
    if hi is None:
        found = con.execute("SELECT lo, hi, rows FROM rowsets WHERE hi IS NULL OR hi > ?", (lo,)).fetchall()
    else:
        found = con.execute(
            "SELECT lo, hi, rows FROM rowsets WHERE lo < ? AND (hi IS NULL OR hi > ?)", (hi, lo)
        ).fetchall()
    rows: dict[str, CacheRow] = {}
    for set_lo, set_hi, text in found:
        loaded = json.loads(text)
        if set_lo >= lo and (hi is None or (set_hi is not None and set_hi <= hi)):
            # The set lies inside the range (the common case): no per-row bounds check.
            for row in loaded:
                rows[row[0]] = _row(row)
        else:
            for row in loaded:
                if row[0] >= lo and (hi is None or row[0] < hi):
                    rows[row[0]] = _row(row)
    return rows, [(set_lo, set_hi) for set_lo, set_hi, _ in found]


def _row(row: list[Any]) -> CacheRow:
    if len(row) != 8 or type(row[0]) is not str or type(row[6]) is not str:
        raise ValueError("malformed cache row")
    return tuple(row)


def read_memo_head(
    db: str, lo: str, mode: str, md5: bool
) -> tuple[bytes, str | None, int, int, int] | None:
    """Return (signature, hi, files, nbytes, links) of the memo of the chunk at ``lo``, or None.

    Raises sqlite3.Error when the database is unreadable (the caller reports it).
    """
    row = _reader(db).execute(
        "SELECT sig, hi, files, nbytes, links FROM chunks WHERE lo = ? AND mode = ? AND md5 = ?",
        (lo, mode, int(md5)),
    ).fetchone()
    return None if row is None else tuple(row)


def read_memo_body(
    db: str, lo: str, mode: str, md5: bool, *, out: bool
) -> tuple[bytes, str, str, str] | None:
    """Return (signature, out, dirhash, dvc) of the memo of the chunk at ``lo``, or None.

    Only the parts asked for are read: ``out`` alone (a memo hit is being printed) or, with
    ``out=False``, the dirHash and DVC parts alone (the version id is being recomputed); the
    other parts come back empty. Raises sqlite3.Error when the database is unreadable.
    """
    columns = "sig, out, '', ''" if out else "sig, '', dirhash, dvc"
    row = _reader(db).execute(
        f"SELECT {columns} FROM chunks WHERE lo = ? AND mode = ? AND md5 = ?",  # noqa: S608 - constant columns
        (lo, mode, int(md5)),
    ).fetchone()
    return None if row is None else tuple(row)


def read_tree_memo(db: str, md5: bool) -> tuple[bytes, str, str | None] | None:
    """Return (signature over every chunk signature, root digest, DVC id) or None.

    Raises sqlite3.Error when the database is unreadable (the caller reports it).
    """
    row = _reader(db).execute("SELECT sig, root_digest, dvc_id FROM trees WHERE md5 = ?", (int(md5),)).fetchone()
    return None if row is None else tuple(row)


def close_readers() -> None:
    """Close this process's reader connections (call it when no other thread uses them)."""
    while _readers:
        _, con = _readers.popitem()
        con.close()


def forget_readers() -> None:
    """Drop (without closing) reader connections inherited from a parent across fork."""
    global _readers
    _readers = {}


def _in_range(prefix: str, lo: str, hi: str | None) -> tuple[str, tuple[str, ...]]:
    """Return ``prefix`` + a condition on ``lo`` within [lo, hi), and its arguments."""
    if hi is None:
        return prefix + " lo >= ?", (lo,)
    return prefix + " lo >= ? AND lo < ?", (lo, hi)


class StatCache:
    """The stat cache of one root directory, as the parent process sees it.

    Opening checks that the database is ours and readable; an unreadable one is deleted (it is
    our own file in our own folder) and the run proceeds without it, with :attr:`problem` set.
    """

    def __init__(self, root: Path) -> None:
        """Locate (and check, if present) the cache of ``root``; never raises for cache problems."""
        real = os.path.realpath(root)
        name = hashlib.sha256(os.fsencode(real)).hexdigest()[:32]
        self.path = cache_dir() / f"stat-{name}.sqlite"
        """Where the cache database lives."""
        self.problem: str | None = None
        """Why the cache was ignored, or None."""
        self.readable = False
        """True when chunks should read cached digests from :attr:`path`."""
        self._con: sqlite3.Connection | None = None
        self._broken = False
        self._check()

    def _check(self) -> None:
        if not self.path.exists():
            return
        try:
            con = sqlite3.connect(self.path, timeout=2)
            try:
                row = con.execute("SELECT value FROM meta WHERE key='version'").fetchone()
                if row is None or row[0] != _SCHEMA_VERSION:
                    raise ValueError(f"schema {row[0] if row else None} is not {_SCHEMA_VERSION}")
                con.execute("SELECT lo FROM rowsets LIMIT 1").fetchall()
                con.execute("SELECT lo FROM chunks LIMIT 1").fetchall()
                con.execute("SELECT md5 FROM trees LIMIT 1").fetchall()
            finally:
                con.close()
        except (sqlite3.Error, TypeError, ValueError) as exc:
            self.unreadable(str(exc))
            return
        self.readable = True

    def unreadable(self, why: str) -> None:
        """Record that the cache cannot be read, stop reading it, and delete it for a rebuild."""
        self.problem = f"cache {self.path} unreadable ({why}); rebuilding it"
        self.readable = False
        try:
            self.path.unlink()
        except OSError:
            pass

    def apply(
        self,
        lo: str,
        hi: str | None,
        rowset: str | None,
        memo: tuple[str, bool, Memo | None] | None = None,
    ) -> None:
        """Queue the new row set and memo of the chunk covering [lo, hi) (one transaction).

        ``rowset`` (JSON rows, None: unchanged) replaces every row set starting in the range;
        ``memo`` is (mode, md5, the new memo or None): every memo of that mode starting in the
        range is dropped, then the new one stored. See :meth:`commit`.
        """
        if rowset is None and memo is None:
            return
        try:
            con = self._writer()
            if rowset is not None:
                # A stored set starting in this range may reach past it (chunk boundaries
                # moved): its rows beyond ``hi`` belong to later chunks, which may be reading
                # them right now, so they stay, as a set of their own starting at ``hi``.
                # (Sets never overlap, so at most one reaches past ``hi``.)
                spill = (
                    con.execute(
                        "SELECT hi, rows FROM rowsets WHERE lo >= ? AND lo < ? AND (hi IS NULL OR hi > ?)",
                        (lo, hi, hi),
                    ).fetchall()
                    if hi is not None
                    else []
                )
                con.execute(*_in_range("DELETE FROM rowsets WHERE", lo, hi))
                con.execute("INSERT INTO rowsets VALUES (?, ?, ?)", (lo, hi, rowset))
                for set_hi, text in spill:
                    kept = [row for row in json.loads(text) if row[0] >= hi]
                    con.execute(
                        "INSERT INTO rowsets VALUES (?, ?, ?)",
                        (hi, set_hi, json.dumps(kept, ensure_ascii=False, separators=(",", ":"))),
                    )
            if memo is not None:
                mode, md5, new = memo
                sql, args = _in_range("DELETE FROM chunks WHERE mode = ? AND md5 = ? AND", lo, hi)
                con.execute(sql, (mode, int(md5), *args))
                if new is not None:
                    con.execute(
                        "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (lo, mode, int(md5), *new),
                    )
        except sqlite3.Error as exc:
            self._fail(exc)

    def remember_tree(self, md5: bool, signature: bytes | None, root_digest: str, dvc_id: str | None) -> None:
        """Queue the tree memo (``signature`` None: forget it)."""
        try:
            con = self._writer()
            if signature is None:
                con.execute("DELETE FROM trees WHERE md5 = ?", (int(md5),))
            else:
                con.execute(
                    "INSERT OR REPLACE INTO trees VALUES (?, ?, ?, ?)",
                    (int(md5), signature, root_digest, dvc_id),
                )
        except sqlite3.Error as exc:
            self._fail(exc)

    def flush(self) -> None:
        """Commit what is queued so far and go on (the connection stays open).

        The inventory flushes after every chunk it applies, so the WAL is checkpointed in
        pieces while the workers hash, not all at once at the end; a run that fails keeps the
        rows and memos of the chunks it finished (each is valid on its own: rows are keyed by
        stat keys, memos by signatures, the tree memo by the signature of every chunk).
        Problems are recorded, not raised.
        """
        if self._con is None:
            return
        try:
            self._con.commit()
        except sqlite3.Error as exc:
            self._fail(exc)

    def commit(self) -> None:
        """Commit what :meth:`apply` queued; problems are recorded, not raised."""
        con, self._con = self._con, None
        if con is None:
            return
        try:
            con.commit()
        except sqlite3.Error as exc:
            self.problem = f"cache {self.path} not written ({exc})"
        finally:
            con.close()

    def rollback(self) -> None:
        """Forget what :meth:`apply` queued (the run failed)."""
        con, self._con = self._con, None
        if con is not None:
            con.close()  # closing without commit rolls back

    def _writer(self) -> sqlite3.Connection:
        if self._con is None:
            if self._broken:
                raise sqlite3.OperationalError("an earlier write failed")
            self.path.parent.mkdir(parents=True, exist_ok=True)
            con = sqlite3.connect(self.path, timeout=2)
            try:
                con.execute("PRAGMA journal_mode=WAL")
                con.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
                con.execute("PRAGMA synchronous=NORMAL")  # WAL: durable enough for a cache
                con.execute("CREATE TABLE IF NOT EXISTS rowsets (lo TEXT PRIMARY KEY, hi TEXT, rows TEXT)")
                con.execute(
                    "CREATE TABLE IF NOT EXISTS chunks (lo TEXT, mode TEXT, md5 INT, sig BLOB,"
                    " hi TEXT, out TEXT, dirhash TEXT, dvc TEXT, files INT, nbytes INT, links INT,"
                    " PRIMARY KEY (lo, mode, md5))"
                )
                con.execute(
                    "CREATE TABLE IF NOT EXISTS trees (md5 INT PRIMARY KEY, sig BLOB,"
                    " root_digest TEXT, dvc_id TEXT)"
                )
                con.execute("INSERT OR REPLACE INTO meta VALUES ('version', ?)", (_SCHEMA_VERSION,))
            except sqlite3.Error:
                con.close()
                raise
            self._con = con
        return self._con

    def _fail(self, exc: sqlite3.Error) -> None:
        if not self._broken:
            self.problem = f"cache {self.path} not written ({exc})"
        self._broken = True
        self.rollback()
