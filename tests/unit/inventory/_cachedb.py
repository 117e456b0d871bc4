"""Read and tamper with a stat cache database the way the tests need (rows live in JSON sets)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path


def cached_shas(db: Path) -> dict[str, str]:
    """Return path -> cached SHA-256 over every row set of ``db`` (empty if it does not exist)."""
    if not db.exists():
        return {}
    con = sqlite3.connect(db)
    try:
        out: dict[str, str] = {}
        for (text,) in con.execute("SELECT rows FROM rowsets ORDER BY lo"):
            out.update((row[0], row[6]) for row in json.loads(text))
        return out
    finally:
        con.close()


def poison_sha(db: Path, path: str, sha: str) -> None:
    """Replace the cached SHA-256 of ``path`` in every row set that holds it."""
    con = sqlite3.connect(db)
    try:
        with con:
            for lo, text in con.execute("SELECT lo, rows FROM rowsets").fetchall():
                rows = json.loads(text)
                for row in rows:
                    if row[0] == path:
                        row[6] = sha
                con.execute("UPDATE rowsets SET rows = ? WHERE lo = ?", (json.dumps(rows), lo))
    finally:
        con.close()
