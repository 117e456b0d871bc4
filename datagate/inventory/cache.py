"""A stat cache so an unchanged tree is re-inventoried without re-reading file contents.

Keyed by path, device, inode, ``mtime_ns``, ``ctime_ns`` and size, stored in SQLite in the user's
cache directory (``$DATAGATE_CACHE_DIR``, else ``$XDG_CACHE_HOME/datagate``, else
``~/.cache/datagate``), one database per resolved root: never inside the hashed tree.

Racy writes (the problem git calls "racily clean"): a file modified within the file system's
timestamp granularity of when we hashed it could keep the same mtime and size. We therefore never
cache an entry whose mtime or ctime is less than :data:`RACY_MARGIN_NS` older than the moment it
was hashed; such files are simply re-hashed next time.

The cache is an accelerator: if it is unreadable or locked it is ignored (and the reason is kept
in :attr:`StatCache.problem`), never trusted partially.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from operator import itemgetter
from pathlib import Path

__all__ = ["RACY_MARGIN_NS", "CachedDigest", "StatCache", "cache_dir"]

RACY_MARGIN_NS = 2_000_000_000
"""Entries modified less than this long before hashing are not cached (covers 2 s FAT mtimes)."""

_SCHEMA_VERSION = "1"

CachedDigest = tuple[str, str | None]
"""(sha256 hex, md5 hex or None)."""


def cache_dir() -> Path:
    """Return the directory holding datagate's caches (not created)."""
    env = os.environ.get("DATAGATE_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "datagate"


def _key(st: os.stat_result) -> tuple[int, int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size)


class StatCache:
    """The stat cache of one root directory."""

    def __init__(self, root: Path) -> None:
        """Open (or plan to create) the cache of ``root``; never raises for cache problems."""
        real = os.path.realpath(root)
        name = hashlib.sha256(os.fsencode(real)).hexdigest()[:32]
        self.path = cache_dir() / f"stat-{name}.sqlite"
        """Where the cache database lives."""
        self.problem: str | None = None
        """Why the cache was ignored, or None."""
        # Loaded rows as SQLite returns them: (path, dev, ino, mtime_ns, ctime_ns, size, sha256, md5).
        self._rows: dict[str, tuple[str, int, int, int, int, int, str, str | None]] = {}
        self._new: dict[str, tuple[tuple[int, int, int, int, int], str, str | None]] = {}
        self._seen: set[str] = set()
        self._load()

    def _load(self) -> None:
        if not self.path.exists():
            return
        try:
            con = sqlite3.connect(self.path, timeout=2)
            try:
                (version,) = con.execute("SELECT value FROM meta WHERE key='version'").fetchone()
                if version != _SCHEMA_VERSION:
                    self.problem = f"cache schema {version} is not {_SCHEMA_VERSION}"
                    return
                # fetchall + dict(zip) keep the per-row work in C: ~3x faster than a Python loop
                # on 100k rows, which matters for the unchanged re-run.
                rows = con.execute(
                    "SELECT path, dev, ino, mtime_ns, ctime_ns, size, sha256, md5 FROM files"
                ).fetchall()
                self._rows = dict(zip(map(itemgetter(0), rows), rows, strict=True))
            finally:
                con.close()
        except (sqlite3.Error, TypeError, ValueError) as exc:
            self.problem = f"cache {self.path} unreadable ({exc}); rebuilding it"
            self._rows.clear()
            try:
                # Our own file in our own cache folder: safe to drop and rebuild.
                self.path.unlink()
            except OSError:
                pass

    def get(self, relpath: str, st: os.stat_result, *, need_md5: bool) -> CachedDigest | None:
        """Return the cached digests for ``relpath`` if its stat still matches, else None."""
        self._seen.add(relpath)
        row = self._rows.get(relpath)
        if row is None:
            return None
        if (
            row[3] != st.st_mtime_ns
            or row[5] != st.st_size
            or row[2] != st.st_ino
            or row[4] != st.st_ctime_ns
            or row[1] != st.st_dev
            or (need_md5 and row[7] is None)
        ):
            return None  # stale: kept in _rows so put() can tell whether the row changes
        # A hit is settled: drop the loaded row, which frees memory as the walk proceeds and
        # leaves in _rows only what save() must look at (stale or vanished rows).
        del self._rows[relpath]
        return row[6], row[7]

    def put(
        self, relpath: str, st: os.stat_result, sha256: str, md5: str | None, hashed_at_ns: int
    ) -> None:
        """Remember digests computed at ``hashed_at_ns`` unless the entry is too fresh to trust."""
        self._seen.add(relpath)
        newest = max(st.st_mtime_ns, st.st_ctime_ns)
        if hashed_at_ns - newest < RACY_MARGIN_NS:
            self._rows.pop(relpath, None)
            self._new[relpath] = ((0, 0, 0, 0, -1), "", None)  # tombstone: forget old row
            return
        row = (_key(st), sha256, md5)
        old = self._rows.get(relpath)
        if old is None or (old[1:6], old[6], old[7]) != row:
            self._new[relpath] = row

    def save(self) -> None:
        """Write new entries and forget vanished ones; problems are recorded, not raised."""
        if not self._new and not self._rows:
            return  # an unchanged re-run: every stored row was a hit, nothing new or gone
        # Rows still loaded were not hits: stale ones (seen, and re-put) or vanished (not seen).
        gone = [p for p in self._rows if p not in self._seen]
        if not self._new and not gone:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            con = sqlite3.connect(self.path, timeout=2)
            try:
                with con:
                    con.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
                    con.execute(
                        "CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, dev INT, ino INT,"
                        " mtime_ns INT, ctime_ns INT, size INT, sha256 TEXT, md5 TEXT)"
                    )
                    con.execute(
                        "INSERT OR REPLACE INTO meta VALUES ('version', ?)", (_SCHEMA_VERSION,)
                    )
                    con.executemany("DELETE FROM files WHERE path = ?", [(p,) for p in gone])
                    dead = [(p,) for p, row in self._new.items() if row[0][4] == -1]
                    con.executemany("DELETE FROM files WHERE path = ?", dead)
                    con.executemany(
                        "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        [(p, *row[0], row[1], row[2]) for p, row in self._new.items() if row[0][4] != -1],
                    )
            finally:
                con.close()
        except sqlite3.Error as exc:
            self.problem = f"cache {self.path} not written ({exc})"
        self._new.clear()
