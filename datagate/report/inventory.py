"""Text and JSON renderings of manifests (``datagate hash``) and verify results."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from datagate.inventory.manifest import manifest_lines
from datagate.inventory.verify import VerifyResult
from datagate.models import EntryKind, Finding, Manifest

__all__ = [
    "hub_verify_json",
    "hub_verify_text",
    "manifest_json",
    "manifest_text",
    "verify_json",
    "verify_text",
]


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


def hub_verify_text(target: str, uri: str, findings: Sequence[Finding]) -> str:
    """Return the verdict of checking a local folder against a Hub revision, then each finding."""
    if not findings:
        return f"PASS {target} matches {uri}\n"
    lines = [f"FAIL {target} differs from {uri}: {len(findings)} finding(s)"]
    lines += [f"  {f.severity.value:<8} {f.rule:<24} {f.path}  {f.message}" for f in findings]
    return "\n".join(lines) + "\n"


def hub_verify_json(target: str, uri: str, findings: Sequence[Finding]) -> str:
    """Return the result of checking a local folder against a Hub revision as JSON."""
    from datagate.report.json import finding_to_dict

    doc = {
        "target": target,
        "against": uri,
        "matches": not findings,
        "findings": [finding_to_dict(f) for f in findings],
    }
    return json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
