"""Signed records: DSSE envelopes over a record's in-toto statements, and their verification.

>>> from datagate.lineage.attest import sign_record, signature_problems
>>> signed = sign_record(record, statements, PrivateKey(Path("datagate.pem")))   # doctest: +SKIP
>>> signature_problems(signed.data, trusted_keys=[key_fingerprint(pub_pem)])     # doctest: +SKIP
[]

The provenance statement names the record's ``record_digest`` and ``run_digest``, so its
signature covers every field of the record; the test-result statement's signature covers the
gate's verdict. A record's ``signatures`` block holds both bundles, the signer's public key and
its fingerprint. :func:`signature_problems` checks the envelopes against that key, that the
statements name exactly this record (digests, dataset version, manifest, verdict) and, given
trusted fingerprints, that the key is one of them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from datagate.errors import DatagateError, LineageError
from datagate.lineage.record import LineageRecord, record_digest, run_digest
from datagate.lineage.signing import (
    PrivateKey,
    key_fingerprint,
    public_pem_of_private,
    sign_statement,
    verify_statement,
)

__all__ = ["record_signer", "sign_record", "signature_problems"]

_KINDS = ("provenance", "test_result")


def sign_record(
    record: LineageRecord, statements: Sequence[Mapping[str, Any]], key: PrivateKey
) -> LineageRecord:
    """Return ``record`` with a ``signatures`` block: ``statements`` (provenance, test result)
    signed with ``key``. Raises UsageError for an unusable key, LineageError when signing fails."""
    if len(statements) != 2:
        raise LineageError("a record is signed over exactly its provenance and test-result statements")
    public = public_pem_of_private(key.path, key.password)
    data = dict(record.data)
    data["signatures"] = {
        "key": key_fingerprint(public),
        "public_key": public.decode("ascii"),
        **{kind: sign_statement(stmt, key) for kind, stmt in zip(_KINDS, statements, strict=True)},
    }
    return LineageRecord(data)


def record_signer(data: Mapping[str, Any]) -> str | None:
    """Return the fingerprint of the key a record says signed it, or None when it is unsigned."""
    sig = data.get("signatures")
    return str(sig.get("key")) if isinstance(sig, Mapping) and sig.get("key") else None


def _hex(digest: str) -> str:
    return digest.split(":", 1)[1] if ":" in digest else digest


def signature_problems(
    data: Mapping[str, Any], *, trusted_keys: Collection[str] | None = None
) -> list[str]:
    """Return what is wrong with a record's signatures (empty when they prove this record).

    Checks each envelope against the embedded public key, that the key's fingerprint is the one
    named, that the statements name this record's ``record_digest``/``run_digest``, version,
    manifest and verdict (recomputed from the record, so a record whose digests were recomputed
    after an edit fails), and with ``trusted_keys`` (fingerprints) that the signer is trusted.
    An unsigned record is a problem only when ``trusted_keys`` is given.
    """
    sig = data.get("signatures")
    if not isinstance(sig, Mapping):
        return ["record is not signed"] if trusted_keys is not None else []
    problems: list[str] = []
    pem = str(sig.get("public_key", "")).encode("ascii", "replace")
    fp = key_fingerprint(pem)
    if sig.get("key") != fp:
        problems.append(f"signatures.key {sig.get('key')} is not the fingerprint of the embedded public key")
    statements: dict[str, dict[str, Any]] = {}
    for kind in _KINDS:
        bundle = sig.get(kind)
        if not isinstance(bundle, Mapping):
            problems.append(f"the {kind} signature is missing")
            continue
        try:
            statements[kind] = verify_statement(bundle, public_key_pem=pem)
        except DatagateError as exc:
            problems.append(f"the {kind} signature does not verify: {exc.message}")
    want_subjects = {
        ("dirHash", _hex(str(data.get("content", {}).get("root_digest", "")))),
        ("sha256", str(data.get("content", {}).get("manifest", {}).get("sha256", ""))),
    }
    for kind, stmt in statements.items():
        got = {
            (alg, str(v))
            for s in stmt.get("subject", [])
            if isinstance(s, Mapping)
            for alg, v in (s.get("digest") or {}).items()
        }
        if got != want_subjects:
            problems.append(f"the signed {kind} statement is about other bytes than this record's version")
    prov = statements.get("provenance")
    if prov is not None:
        internal = prov.get("predicate", {}).get("buildDefinition", {}).get("internalParameters", {})
        if internal.get("recordDigest") != record_digest(data):
            problems.append(
                f"signature covers record_digest {internal.get('recordDigest')}, "
                f"but the record's content hashes to {record_digest(data)} (edited after signing)"
            )
        if internal.get("runDigest") != run_digest(data):
            problems.append("signature covers another run block (edited after signing)")
    tests = statements.get("test_result")
    if tests is not None:
        result = tests.get("predicate", {}).get("result")
        passed = bool(data.get("gate", {}).get("passed"))
        if (result == "FAILED") == passed:
            problems.append(f"signed test result is {result}, but the record says the gate {'passed' if passed else 'failed'}")
    if trusted_keys is not None and fp not in trusted_keys:
        problems.append(f"signed by key {fp}, which is not a trusted key")
    return problems
