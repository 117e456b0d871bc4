"""Text and JSON renderings of manifests (``datagate hash``) and verify results."""

from __future__ import annotations

import json
from typing import Any

from datagate.inventory.manifest import manifest_lines
from datagate.inventory.verify import VerifyResult
from datagate.models import EntryKind, Manifest

__all__ = ["manifest_json", "manifest_text", "verify_json", "verify_text"]


def manifest_text(manifest: Manifest) -> str:
    """Return ``sha256sum``-style lines for the files, symlinks marked, then the version line."""
    out = []
    for e in manifest.entries:
        if e.kind is EntryKind.FILE:
            flag = "  (exec)" if e.executable else ""
            out.append(f"{e.sha256}  {e.path}{flag}")
        else:
            out.append(f"{'symlink':<64}  {e.path} -> {e.target}")
    links = len(manifest.entries) - len(manifest.files)
    tail = f", {links} symlinks" if links else ""
    out.append(
        f"version {manifest.root_digest}  ({len(manifest.files)} files, "
        f"{manifest.total_bytes} bytes{tail})"
    )
    if manifest.dvc_md5:
        out.append(f"dvc {manifest.dvc_md5}")
    return "\n".join(out) + "\n"


def manifest_json(manifest: Manifest) -> str:
    """Return the manifest as sorted JSON Lines (the format ``verify --manifest`` reads)."""
    return "\n".join(manifest_lines(manifest)) + "\n"


def verify_text(result: VerifyResult) -> str:
    """Return the verify verdict first, then one line per difference."""
    if result.matches:
        head = f"PASS {result.target} matches {result.manifest_path} ({result.actual_digest})"
        return head + "\n"
    lines = [
        f"FAIL {result.target} differs from {result.manifest_path}: "
        f"{len(result.differences)} difference(s)",
        f"  expected {result.expected_digest}",
        f"  actual   {result.actual_digest}",
    ]
    for d in result.differences:
        if d.expected is not None and d.actual is not None:
            detail = f"{d.expected} -> {d.actual}"
        else:
            detail = d.actual or d.expected or ""
        lines.append(f"  {d.change.value:<8} {d.path}  {detail}")
    return "\n".join(lines) + "\n"


def verify_json(result: VerifyResult) -> str:
    """Return the verify result as one JSON document."""
    doc: dict[str, Any] = {
        "target": result.target,
        "manifest": result.manifest_path,
        "matches": result.matches,
        "expected_digest": result.expected_digest,
        "actual_digest": result.actual_digest,
        "differences": [
            {"path": d.path, "change": d.change.value, "expected": d.expected, "actual": d.actual}
            for d in result.differences
        ],
    }
    return json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
