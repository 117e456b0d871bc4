"""Text and JSON renderings of signature checks (``datagate verify --signature``).

Depends only on plain data: a check is the ``to_dict()`` of
:class:`datagate.lineage.signing.SignatureCheck`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["signature_json", "signature_text", "signer_text"]


def signer_text(signer: Mapping[str, Any] | None) -> str:
    """Return one short description of a signer (key fingerprint, CA, or identity + issuer)."""
    if not signer:
        return "-"
    kind = signer.get("kind")
    if kind == "key":
        return f"key {str(signer.get('key', ''))[:19]}"
    if kind == "certificate":
        subject = signer.get("subject")
        if subject:
            return f"certificate {subject}"
        ca = signer.get("ca") or []
        return "certificate chain " + ", ".join(str(c)[:19] for c in ca)
    if kind == "sigstore":
        return f"sigstore {signer.get('identity')} ({signer.get('issuer')})"
    return str(kind)


def signature_text(path: str, check: Mapping[str, Any]) -> str:
    """Return the human report: OK with the signer, or FAILED with the reason and the files."""
    who = signer_text(check.get("signer"))
    if check["verified"]:
        return f"OK: {path} matches {check['signature']} ({check['files']} files), signed by {who}\n"
    lines = [f"FAILED: {path} against {check['signature']} ({who}): {check['reason']}"]
    for label, key in (("changed", "changed"), ("missing", "missing"), ("not signed", "extra")):
        for item in check.get(key) or ():
            lines.append(f"  {label:<10} {item}")
    return "\n".join(lines) + "\n"


def signature_json(path: str, check: Mapping[str, Any]) -> str:
    """Return ``{"path": ..., **check}`` as indented JSON."""
    return json.dumps({"path": path, **check}, sort_keys=True, indent=2) + "\n"
