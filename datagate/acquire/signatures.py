"""Signatures shipped with a dataset (``*.sig``, ``*.sigstore.json``), checked against the policy.

The policy's ``trust:`` mapping names who may sign::

    trust:
      require_signature: true            # unsigned, or signed by anyone else: the gate fails
      signers:
        - public_key: keys/publisher.pub         # paths relative to the policy file
        - certificate_chain: [keys/ca.crt]       # X.509: signing certificate must chain to these
        - identity: data-team@example.com        # keyless Sigstore (checking it needs the network)
          issuer: https://accounts.google.com

:func:`evaluate_signatures` checks every signature file at the top of the acquired tree against
every signer (model-signing format, :mod:`datagate.lineage.signing`) and returns findings plus
the ``authenticity`` block of the lineage record (which file verified, by which signer).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from datagate.errors import ConfigError
from datagate.models import Finding, Severity

__all__ = ["RULES", "evaluate_signatures", "parse_signers"]

RULES = {
    "signature.missing": Severity.CRITICAL,
    "signature.untrusted": Severity.CRITICAL,
    "signature.mismatch": Severity.CRITICAL,
    "signature.unchecked": Severity.INFO,
}
"""Rule ids. Without ``require_signature`` a signature that fails is ``high`` (files differ) or
``medium`` (another signer), and an unsigned dataset is no finding."""


def parse_signers(trust: Mapping[str, Any], *, base: Path) -> list[Any]:
    """Return the trust anchors ``trust.signers`` names (paths resolved against ``base``).

    Raises ConfigError listing every malformed entry.
    """
    from datagate.lineage.signing import CertificateChain, PublicKey, SigstoreIdentity

    raw = trust.get("signers") or []
    problems: list[str] = []
    out: list[Any] = []
    if "require_signature" in trust and not isinstance(trust["require_signature"], bool):
        problems.append("trust.require_signature: must be true or false")
    if not isinstance(raw, list):
        raise ConfigError("trust.signers: must be a list of {public_key|certificate_chain|identity+issuer}")
    for i, entry in enumerate(raw):
        where = f"trust.signers[{i}]"
        if not isinstance(entry, Mapping):
            problems.append(f"{where}: must be a mapping")
            continue
        kinds = [k for k in ("public_key", "certificate_chain", "identity") if k in entry]
        if len(kinds) != 1:
            problems.append(f"{where}: give exactly one of public_key, certificate_chain, identity")
            continue
        extra = set(entry) - {"public_key", "certificate_chain", "identity", "issuer", "trust_config", "name"}
        if extra:
            problems.append(f"{where}: unknown keys {sorted(extra)}")
        kind = kinds[0]
        if kind == "public_key":
            out.append(PublicKey(base / str(entry["public_key"])))
        elif kind == "certificate_chain":
            chain = entry["certificate_chain"]
            chain = [chain] if isinstance(chain, str) else chain
            if not isinstance(chain, list) or not chain or not all(isinstance(c, str) for c in chain):
                problems.append(f"{where}.certificate_chain: must be a file or a list of files")
                continue
            out.append(CertificateChain(tuple(base / c for c in chain)))
        else:
            if not isinstance(entry.get("identity"), str) or not isinstance(entry.get("issuer"), str):
                problems.append(f"{where}: identity and issuer must both be strings")
                continue
            tc = entry.get("trust_config")
            out.append(SigstoreIdentity(entry["identity"], entry["issuer"], trust_config=base / tc if tc else None))
    for t in out:
        for p in getattr(t, "paths", None) or [getattr(t, "path", None), getattr(t, "trust_config", None)]:
            if p is not None and not Path(p).is_file():
                problems.append(f"trust.signers: {p}: file not found")
    if problems:
        raise ConfigError(f"policy: {len(problems)} problem(s): " + "; ".join(problems))
    return out


def evaluate_signatures(
    root: Path, trust: Mapping[str, Any], *, base: Path
) -> tuple[list[Finding], dict[str, Any] | None]:
    """Check the signatures at the top of ``root`` against ``trust.signers``.

    Returns (findings, authenticity block or None when there is nothing to record). Raises
    ConfigError for malformed ``signers`` or missing key files.
    """
    from datagate.lineage.signing import find_signatures, signing_available

    require = bool(trust.get("require_signature", False))
    signers = parse_signers(trust, base=base)
    sigs = find_signatures(root)
    if not sigs:
        if not require:
            return [], None
        msg = "the dataset carries no signature (*.sig, *.sigstore.json) and the policy requires one"
        return [Finding(".", "signature.missing", "trust", Severity.CRITICAL, msg)], {
            "required": True, "verified": False, "signatures": [],
        }
    rel = [s.relative_to(root).as_posix() for s in sigs]
    if not signers or not signing_available():
        why = "no trust.signers in the policy" if not signers else "model-signing is not installed (pip install 'datagate-intake[sign]')"
        sev = Severity.CRITICAL if require else Severity.INFO
        rule = "signature.untrusted" if require else "signature.unchecked"
        unchecked = [Finding(r, rule, "trust", sev, f"signature not checked: {why}") for r in rel]
        return unchecked, {"required": require, "verified": False,
                          "signatures": [{"file": r, "verified": False, "reason": why} for r in rel]}
    entries: list[dict[str, Any]] = []
    findings: list[Finding] = []
    for sig, name in zip(sigs, rel, strict=True):
        others = [s for s in sigs if s != sig]
        checks = [_check(root, sig, t, others) for t in signers]
        good = next((c for c in checks if c.verified), None)
        if good is not None:
            entries.append({"file": name, "verified": True, "signer": dict(good.signer), "files": good.files})
            continue
        mismatch = next((c for c in checks if not c.wrong_signer), None)
        if mismatch is not None:
            rule, sev = "signature.mismatch", (Severity.CRITICAL if require else Severity.HIGH)
            msg = f"signed by a trusted signer, but {mismatch.reason}"
            evidence: dict[str, Any] = {"changed": list(mismatch.changed), "missing": list(mismatch.missing),
                                        "extra": list(mismatch.extra)}
        else:
            rule, sev = "signature.untrusted", (Severity.CRITICAL if require else Severity.MEDIUM)
            msg = "signature is not from any signer in trust.signers"
            evidence = {"tried": [c.signer for c in checks], "reasons": [c.reason for c in checks]}
        findings.append(Finding(name, rule, "trust", sev, msg, evidence=evidence))
        entries.append({"file": name, "verified": False, "reason": msg})
    verified = any(e["verified"] for e in entries)
    if verified:  # a trusted signature is there: another party's extra signature is only noted
        findings = [
            Finding(f.path, f.rule, f.category, Severity.INFO, f.message, evidence=f.evidence)
            if f.rule == "signature.untrusted" else f
            for f in findings
        ]
    if require and not verified and not findings:
        findings.append(Finding(".", "signature.missing", "trust", Severity.CRITICAL, "no signature verified"))
    return findings, {"required": require, "verified": verified, "signatures": entries}


def _check(root: Path, sig: Path, trust: Any, others: list[Path]) -> Any:
    """Return the check of ``sig`` against one signer; a signer that cannot be used here (keyless
    without the network) is a failed check with the reason, not an error."""
    from datagate.errors import UsageError
    from datagate.lineage.signing import SignatureCheck, verify_tree

    try:
        return verify_tree(root, sig, trust, also_ignore=others)
    except UsageError as exc:
        return SignatureCheck(False, sig.name, trust.describe(), reason=exc.message, wrong_signer=True)
