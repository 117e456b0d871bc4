"""A result cache in the store, so an unchanged re-ingest costs about a re-hash.

Scanning and checking are pure functions of the bytes (and modes and symlinks), the policy, the
stage arguments and the code that runs them. The key is SHA-256 over: the manifest's JSON Lines
(every path, digest, mode and symlink target), the policy digest, the arguments, the baseline
record digest (checks only) and a fingerprint of datagate's own source files (so an upgraded or
edited scanner never reuses old results). Entries live under ``<store>/cache/`` (git-ignored) and
are written atomically; an unreadable entry is a miss, never a result.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from datagate.errors import LineageError
from datagate.lineage.record import canonical_json, jsonable
from datagate.lineage.store import Store, atomic_write
from datagate.models import (
    CheckReport,
    CheckResult,
    CheckStatus,
    Finding,
    ScanReport,
    Severity,
    Skip,
)

__all__ = [
    "CACHE_FORMAT",
    "cache_key",
    "check_from_dict",
    "check_to_dict",
    "code_fingerprint",
    "load",
    "save",
    "scan_from_dict",
    "scan_to_dict",
]

CACHE_FORMAT = 1
"""Bumped whenever the stored shape changes."""


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """Return a hex digest of datagate's version and its source files' names, sizes and mtimes."""
    import datagate

    pkg = Path(datagate.__file__).parent
    h = hashlib.sha256(datagate.__version__.encode())
    for dirpath, dirnames, filenames in os.walk(pkg):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for f in sorted(filenames):
            if f.endswith(".py"):
                st = os.stat(os.path.join(dirpath, f))
                h.update(f"{os.path.relpath(os.path.join(dirpath, f), pkg)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def cache_key(kind: str, manifest_sha256: str, **parts: Any) -> str:
    """Return the cache key of a ``kind`` (``scan`` or ``check``) result."""
    blob = canonical_json(jsonable({"kind": kind, "manifest": manifest_sha256, "code": code_fingerprint(),
                                    "format": CACHE_FORMAT, **parts}))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _path(store: Store, key: str) -> Path:
    return store.root / "cache" / "results" / f"{key}.json"


def load(store: Store, key: str) -> dict[str, Any] | None:
    """Return the cached JSON object under ``key``, or None when absent or unreadable."""
    try:
        data = json.loads(_path(store, key).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == CACHE_FORMAT else None


def save(store: Store, key: str, data: Mapping[str, Any]) -> None:
    """Store ``data`` under ``key`` (best effort: a cache that cannot be written is skipped)."""
    body = {"format": CACHE_FORMAT, **jsonable(dict(data))}
    try:
        atomic_write(_path(store, key), (json.dumps(body, sort_keys=True, allow_nan=False) + "\n").encode())
    except (LineageError, ValueError):
        return


def scan_to_dict(report: ScanReport) -> dict[str, Any]:
    """Return a ScanReport as JSON types (lossless for :func:`scan_from_dict`)."""
    return {
        "target": report.target,
        "root_digest": report.root_digest,
        "files": report.files,
        "bytes": report.bytes,
        "findings": [
            {"path": f.path, "rule": f.rule, "category": f.category, "severity": f.severity.value,
             "message": f.message, "member": f.member, "evidence": jsonable(dict(f.evidence)), "waived": f.waived}
            for f in report.findings
        ],
        "skipped": [{"path": s.path, "reason": s.reason, "member": s.member} for s in report.skipped],
    }


def scan_from_dict(d: Mapping[str, Any]) -> ScanReport:
    """Return the ScanReport stored by :func:`scan_to_dict`. Raises KeyError/ValueError if malformed."""
    return ScanReport(
        target=str(d["target"]),
        root_digest=str(d["root_digest"]),
        findings=tuple(
            Finding(str(f["path"]), str(f["rule"]), str(f["category"]), Severity(f["severity"]), str(f["message"]),
                    f.get("member"), dict(f.get("evidence") or {}), f.get("waived"))
            for f in d["findings"]
        ),
        skipped=tuple(Skip(str(s["path"]), str(s["reason"]), s.get("member")) for s in d["skipped"]),
        files=int(d["files"]),
        bytes=int(d["bytes"]),
    )


def check_to_dict(report: CheckReport) -> dict[str, Any]:
    """Return a CheckReport as JSON types (lossless for :func:`check_from_dict`)."""
    return {
        "dataset": report.dataset,
        "checks": [
            {"id": c.id, "status": c.status.value, "severity": c.severity.value, "message": c.message,
             "observed": jsonable(dict(c.observed))}
            for c in report.checks
        ],
        "splits": jsonable(dict(report.splits)),
        "label_column": report.label_column,
        "label_source": report.label_source,
    }


def check_from_dict(d: Mapping[str, Any]) -> CheckReport:
    """Return the CheckReport stored by :func:`check_to_dict`. Raises KeyError/ValueError if malformed."""
    checks: Sequence[Mapping[str, Any]] = d["checks"]
    return CheckReport(
        dataset=str(d["dataset"]),
        checks=tuple(
            CheckResult(str(c["id"]), CheckStatus(c["status"]), Severity(c["severity"]), str(c["message"]),
                        dict(c.get("observed") or {}))
            for c in checks
        ),
        splits=dict(d.get("splits") or {}),
        label_column=d.get("label_column"),
        label_source=d.get("label_source"),
    )
