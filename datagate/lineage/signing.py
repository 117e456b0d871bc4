"""Sign and verify dataset folders in the OpenSSF model-signing format; sign in-toto statements.

A signature is a Sigstore bundle whose DSSE envelope carries an in-toto Statement listing every
file's SHA-256 (predicate ``https://model_signing/signature/v1.0``), exactly what the
``model_signing`` CLI writes and reads, so the two interoperate both ways::

    >>> from datagate.lineage.signing import PublicKey, PrivateKey, sign_tree, verify_tree
    >>> sign_tree("data/", "data.sig", PrivateKey("signer.pem"))          # doctest: +SKIP
    >>> verify_tree("data/", "data.sig", PublicKey("signer.pub")).verified  # doctest: +SKIP
    True

All cryptography is the ``model-signing`` library's (which builds on ``sigstore`` and
``cryptography``); nothing here signs or checks a signature by hand. The library is an optional
dependency (``pip install 'datagate-intake[sign]'``) imported only when a signature is made or checked.

Trust anchors (:data:`Trust`): an elliptic-curve :class:`PublicKey`, a :class:`CertificateChain`
(X.509 signing certificate checked up to the given CA certificates) or a :class:`SigstoreIdentity`
(keyless: certificate identity + OIDC issuer, checked against the Sigstore trust root or a given
``trust_config``; that needs the Sigstore public-good instance, i.e. a network, unless the trust
config describes a private deployment).

:func:`sign_statement` / :func:`verify_statement` put any in-toto statement (the record's
provenance and test-result statements) in the same bundle/DSSE format with a key.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datagate.errors import LineageError, UsageError

__all__ = [
    "MODEL_SIGNING_PREDICATE",
    "CertificateChain",
    "CertificateSigner",
    "PrivateKey",
    "PublicKey",
    "SignatureCheck",
    "SigstoreIdentity",
    "SigstoreSigner",
    "Signer",
    "Trust",
    "key_fingerprint",
    "public_pem_of_private",
    "find_signatures",
    "sign_statement",
    "sign_tree",
    "signing_available",
    "verify_statement",
    "verify_tree",
]

MODEL_SIGNING_PREDICATE = "https://model_signing/signature/v1.0"
"""The predicate type of a model-signing statement."""

SIGNATURE_SUFFIXES = (".sig", ".sigstore.json")
"""File names that mark a signature inside a dataset repo (``model.sig``, ``x.sigstore.json``)."""


@dataclass(frozen=True)
class PrivateKey:
    """Sign with an elliptic-curve private key (PEM; P-256, P-384 or P-521)."""

    path: Path
    """The PEM file."""
    password: str | None = None
    """Password of an encrypted key."""

    def describe(self) -> dict[str, Any]:
        """Return the signer as recorded: the SHA-256 fingerprint of its public key."""
        return {"kind": "key", "key": key_fingerprint(public_pem_of_private(self.path, self.password))}


@dataclass(frozen=True)
class CertificateSigner:
    """Sign with a private key and its X.509 signing certificate (plus intermediates)."""

    private_key: Path
    """The PEM private key."""
    certificate: Path
    """The PEM signing certificate for that key."""
    chain: tuple[Path, ...] = ()
    """Intermediate/root certificates to embed in the bundle."""

    def describe(self) -> dict[str, Any]:
        """Return the signer as recorded: the certificate's subject."""
        return {"kind": "certificate", "certificate": str(self.certificate.name)}


@dataclass(frozen=True)
class SigstoreSigner:
    """Keyless signing with Sigstore (Fulcio certificate for an OIDC identity, Rekor log entry).

    Needs the network (the public-good instance, or the deployment ``trust_config`` names).
    """

    identity_token: str | None = None
    """An OIDC identity token; None lets sigstore find ambient CI credentials or open a browser."""
    use_staging: bool = False
    """Use Sigstore's staging instance (testing only)."""
    trust_config: Path | None = None
    """A ClientTrustConfig JSON for a private Sigstore deployment."""

    def describe(self) -> dict[str, Any]:
        """Return the signer as recorded."""
        return {"kind": "sigstore"}


Signer = PrivateKey | CertificateSigner | SigstoreSigner
"""What can sign a tree."""


@dataclass(frozen=True)
class PublicKey:
    """Trust signatures made by the private key paired with this public key (PEM)."""

    path: Path
    """The PEM public key."""

    def describe(self) -> dict[str, Any]:
        """Return the signer as recorded: the SHA-256 fingerprint of the public key."""
        return {"kind": "key", "key": key_fingerprint(_read(self.path, "public key"))}


@dataclass(frozen=True)
class CertificateChain:
    """Trust signatures whose signing certificate chains up to these CA certificates (PEM)."""

    paths: tuple[Path, ...]
    """CA (and intermediate) certificate files."""

    def describe(self) -> dict[str, Any]:
        """Return the trust anchor as recorded: the CA files' SHA-256."""
        return {
            "kind": "certificate",
            "ca": [key_fingerprint(_read(p, "certificate chain")) for p in self.paths],
        }


@dataclass(frozen=True)
class SigstoreIdentity:
    """Trust keyless Sigstore signatures by this certificate identity from this OIDC issuer."""

    identity: str
    """The expected identity (e-mail, or a CI workflow URI)."""
    issuer: str
    """The expected OIDC issuer URL."""
    use_staging: bool = False
    """Check against Sigstore's staging trust root."""
    trust_config: Path | None = None
    """A ClientTrustConfig JSON (private deployment or an offline test root)."""

    def describe(self) -> dict[str, Any]:
        """Return the signer as recorded."""
        return {"kind": "sigstore", "identity": self.identity, "issuer": self.issuer}


Trust = PublicKey | CertificateChain | SigstoreIdentity
"""What a signature is checked against."""


@dataclass(frozen=True)
class SignatureCheck:
    """The outcome of checking one signature over one tree."""

    verified: bool
    """True when the signature is authentic for the trust anchor and every file matches."""
    signature: str
    """The signature file as given."""
    signer: Mapping[str, Any] = field(default_factory=dict)
    """The trust anchor that verified it (or was tried)."""
    reason: str | None = None
    """Why it did not verify (None when it did)."""
    wrong_signer: bool = False
    """True when the signature is not from this key/identity/CA (as opposed to changed files)."""
    changed: tuple[str, ...] = ()
    """Files whose bytes differ from the signed digest."""
    missing: tuple[str, ...] = ()
    """Signed files that are not in the tree."""
    extra: tuple[str, ...] = ()
    """Files in the tree that the signature does not cover."""
    files: int = 0
    """How many files the signature lists."""

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form (``datagate verify --signature --format json``)."""
        return {
            "verified": self.verified,
            "signature": self.signature,
            "signer": dict(self.signer),
            "reason": self.reason,
            "wrong_signer": self.wrong_signer,
            "changed": list(self.changed),
            "missing": list(self.missing),
            "extra": list(self.extra),
            "files": self.files,
        }


# -- helpers --------------------------------------------------------------------------------------


def _read(path: Path, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{path}: {what} file not found") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read {what} ({exc.strerror})") from exc


def key_fingerprint(pem: bytes) -> str:
    """Return ``sha256:<hex>`` of a PEM blob (a public key's fingerprint as model-signing hints it).

    A public key is first re-serialised as SubjectPublicKeyInfo PEM (what model-signing hashes),
    so the same key gives the same fingerprint however its file was formatted; other PEM blobs
    (certificates) are hashed as given.
    """
    from cryptography.hazmat.primitives import serialization

    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError):
        return "sha256:" + hashlib.sha256(pem).hexdigest()
    spki = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "sha256:" + hashlib.sha256(spki).hexdigest()


def public_pem_of_private(path: Path, password: str | None) -> bytes:
    """Return the PEM public key of the private key at ``path``; raise UsageError when unusable."""
    from cryptography.hazmat.primitives import serialization

    blob = _read(path, "private key")
    try:
        key = serialization.load_pem_private_key(blob, password.encode() if password else None)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"{path}: not a usable PEM private key ({exc})") from exc
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _model_signing() -> Any:
    try:
        import model_signing  # noqa: F401  (import checks the optional dependency is there)
        import model_signing.hashing
        import model_signing.signing
        import model_signing.verifying
    except ImportError as exc:
        raise UsageError(
            f"signing needs the model-signing library ({exc})",
            hint="pip install 'datagate-intake[sign]'",
        ) from exc
    return model_signing


def _ignored(root: Path, signature: Path, extra: Iterable[Path] = ()) -> list[Path]:
    """Return the ignore paths relative to ``root`` (the signature itself when inside)."""
    base = root.resolve()
    out = []
    for p in [signature, *extra]:
        candidate = Path(p).resolve()
        try:
            out.append(candidate.relative_to(base))
        except ValueError:
            continue
    return out


def _hashing(ms: Any, root: Path, signature: Path, also: Sequence[Path] = ()) -> Any:
    return ms.hashing.Config().set_ignored_paths(paths=_ignored(root, signature, also), ignore_git_paths=True)


def _signing_config(ms: Any, signer: Signer) -> Any:
    cfg = ms.signing.Config()
    if isinstance(signer, PrivateKey):
        _read(signer.path, "private key")
        return cfg.use_elliptic_key_signer(private_key=signer.path, password=signer.password)
    if isinstance(signer, CertificateSigner):
        for p, what in [(signer.private_key, "private key"), (signer.certificate, "certificate")]:
            _read(p, what)
        return cfg.use_certificate_signer(
            private_key=signer.private_key, signing_certificate=signer.certificate, certificate_chain=signer.chain
        )
    return cfg.use_sigstore_signer(
        identity_token=signer.identity_token, use_staging=signer.use_staging, trust_config=signer.trust_config
    )


def sign_tree(path: Path | str, signature: Path | str, signer: Signer) -> int:
    """Sign every file under ``path`` (git metadata and the signature itself excluded) and write the
    model-signing bundle to ``signature``; return the number of files signed.

    Raises UsageError for a missing path or unusable key, LineageError when signing fails.
    """
    root, sig = Path(path), Path(signature)
    if not root.exists():
        raise UsageError(f"{root}: no such file or directory")
    ms = _model_signing()
    try:
        cfg = _signing_config(ms, signer)
    except UsageError:
        raise
    except (ValueError, TypeError) as exc:
        raise UsageError(f"cannot use the signing key: {exc}") from exc
    except Exception as exc:  # noqa: BLE001  (sigstore's trust-root refresh raises its own types)
        raise LineageError(
            f"keyless signing cannot start: {type(exc).__name__}: {exc}",
            hint="keyless Sigstore signing needs the network (or --trust-config for a private instance)",
        ) from exc
    try:
        cfg.set_hashing_config(_hashing(ms, root, sig)).sign(root, sig)
    except OSError as exc:
        raise LineageError(f"{sig}: cannot write signature ({exc.strerror or exc})") from exc
    except Exception as exc:  # noqa: BLE001  (model-signing/sigstore raise many types; each is a failed signing)
        raise LineageError(f"{root}: signing failed ({exc})") from exc
    return len(_signed_resources(sig))


def _bundle(sig: Path) -> dict[str, Any]:
    try:
        data = json.loads(_read(sig, "signature"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise LineageError(f"{sig}: not a signature bundle (not JSON: {exc})") from exc
    if not isinstance(data, dict):
        raise LineageError(f"{sig}: not a signature bundle (not a JSON object)")
    return data


def _payload(bundle: Mapping[str, Any]) -> dict[str, Any]:
    """Return the (unverified) statement in a bundle's DSSE envelope."""
    env = bundle.get("dsseEnvelope") or bundle.get("dsse_envelope") or {}
    raw = base64.b64decode(env.get("payload", ""))
    out = json.loads(raw)
    if not isinstance(out, dict):
        raise ValueError("DSSE payload is not a JSON object")
    return out


def _signed_resources(sig: Path) -> dict[str, str]:
    """Return {file: sha256 hex} listed in a model-signing signature (content not verified here)."""
    try:
        stmt = _payload(_bundle(sig))
        resources = stmt["predicate"]["resources"]
        return {str(r["name"]): str(r["digest"]) for r in resources}
    except (KeyError, TypeError, ValueError) as exc:
        raise LineageError(f"{sig}: not a model-signing signature ({exc})") from exc


def _is_sigstore_bundle(sig: Path) -> bool:
    """Return whether the bundle carries a Fulcio certificate and a Rekor entry (keyless)."""
    vm = _bundle(sig).get("verificationMaterial") or {}
    return bool(vm.get("tlogEntries"))


def _verifying_config(ms: Any, trust: Trust) -> Any:
    cfg = ms.verifying.Config()
    if isinstance(trust, PublicKey):
        _read(trust.path, "public key")
        return cfg.use_elliptic_key_verifier(public_key=trust.path)
    if isinstance(trust, CertificateChain):
        for p in trust.paths:
            _read(p, "certificate chain")
        return cfg.use_certificate_verifier(certificate_chain=list(trust.paths))
    return cfg.use_sigstore_verifier(
        identity=trust.identity, oidc_issuer=trust.issuer, use_staging=trust.use_staging,
        trust_config=trust.trust_config,
    )


def _actual(ms: Any, root: Path, sig: Path, also: Sequence[Path] = ()) -> dict[str, str]:
    manifest = _hashing(ms, root, sig, also).hash(root)
    return {str(rd.identifier): rd.digest.digest_hex for rd in manifest.resource_descriptors()}


def verify_tree(
    path: Path | str, signature: Path | str, trust: Trust, *, also_ignore: Sequence[Path] = ()
) -> SignatureCheck:
    """Check ``signature`` over the tree at ``path`` against ``trust``; return the outcome.

    Not verified (``verified=False``) when the signature is not authentic for ``trust`` (another
    key, a certificate outside the chain, another identity: ``wrong_signer``) or when any file
    differs from what was signed (``changed``/``missing``/``extra`` name them). Raises UsageError
    for a missing path, signature, key or CA file, and when model-signing is not installed.
    """
    root, sig = Path(path), Path(signature)
    if not root.exists():
        raise UsageError(f"{root}: no such file or directory")
    _read(sig, "signature")
    ms = _model_signing()
    try:
        cfg = _verifying_config(ms, trust)
    except UsageError:
        raise
    except Exception as exc:  # noqa: BLE001  (a key/CA the library cannot load is a usage problem)
        raise UsageError(f"cannot use the trust anchor: {exc}") from exc
    signer = trust.describe()
    try:
        cfg.set_hashing_config(_hashing(ms, root, sig, also_ignore)).verify(root, sig)
    except Exception as exc:  # noqa: BLE001  (every failure type of the library means "not verified")
        text = str(exc) or type(exc).__name__
        if not text.startswith("Signature mismatch"):
            return SignatureCheck(
                False, str(signature), signer, reason=f"signature not made by the trusted signer: {text.strip()}",
                wrong_signer=True,
            )
        # The envelope was authentic (the library checks it before the files): name the files.
        signed = _signed_resources(sig)
        actual = _actual(ms, root, sig, also_ignore)
        changed = tuple(sorted(k for k in signed.keys() & actual.keys() if signed[k] != actual[k]))
        missing = tuple(sorted(signed.keys() - actual.keys()))
        extra = tuple(sorted(actual.keys() - signed.keys()))
        parts = []
        for label, items in (("changed", changed), ("missing", missing), ("not signed", extra)):
            if items:
                parts.append(f"{label}: {', '.join(items)}")
        return SignatureCheck(
            False, str(signature), signer, reason="files differ from the signature (" + "; ".join(parts) + ")",
            changed=changed, missing=missing, extra=extra, files=len(signed),
        )
    if isinstance(trust, CertificateChain):
        signer = {**signer, **_leaf_subject(sig)}
    return SignatureCheck(True, str(signature), signer, files=len(_signed_resources(sig)))


def _leaf_subject(sig: Path) -> dict[str, str]:
    """Return ``{"subject": ...}`` of the (already verified) signing certificate in a bundle."""
    from cryptography import x509

    try:
        chain = _bundle(sig)["verificationMaterial"]["x509CertificateChain"]["certificates"]
        leaf = x509.load_der_x509_certificate(base64.b64decode(chain[0]["rawBytes"]))
    except (KeyError, IndexError, TypeError, ValueError):
        return {}
    return {"subject": leaf.subject.rfc4514_string()}


def signing_available() -> bool:
    """Return whether the model-signing library (the ``sign`` extra) can be imported."""
    try:
        _model_signing()
    except UsageError:
        return False
    return True


def find_signatures(root: Path) -> list[Path]:
    """Return the signature files at the top of ``root`` (``*.sig``, ``*.sigstore.json``), sorted."""
    if not root.is_dir():
        return []
    return sorted(
        p for p in root.iterdir()
        if p.is_file() and not p.is_symlink() and p.name.endswith(SIGNATURE_SUFFIXES)
    )


# -- statements (record attestations) -------------------------------------------------------------


class _StatementPayload:
    """What model-signing's signers sign: an object with an in-toto ``statement`` (protobuf)."""

    def __init__(self, statement: Mapping[str, Any]) -> None:
        from google.protobuf import json_format
        from in_toto_attestation.v1 import statement_pb2

        pb = statement_pb2.Statement()
        json_format.ParseDict(json.loads(json.dumps(statement)), pb)
        self.statement = type("_S", (), {"pb": pb})()


def sign_statement(statement: Mapping[str, Any], key: PrivateKey) -> dict[str, Any]:
    """Return a Sigstore bundle (JSON object) whose DSSE envelope signs ``statement`` with ``key``.

    Raises UsageError for an unusable key.
    """
    _model_signing()
    from model_signing._signing import sign_ec_key

    _read(key.path, "private key")
    try:
        signer = sign_ec_key.Signer(key.path, key.password)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"{key.path}: not a usable signing key ({exc})") from exc
    signature: Any = signer.sign(_StatementPayload(statement))  # type: ignore[arg-type]  # duck-typed payload
    out: dict[str, Any] = json.loads(signature.bundle.to_json())
    return out


def verify_statement(bundle: Mapping[str, Any], *, public_key_pem: bytes | None = None) -> dict[str, Any]:
    """Return the statement a bundle signs after checking its DSSE signature.

    With ``public_key_pem`` the signature must be by that key; without it the signature is checked
    against the public key fingerprint the bundle names being *some* key (callers then compare the
    fingerprint with a trusted one). Raises LineageError when the signature does not verify.
    """
    _model_signing()
    from cryptography.hazmat.primitives import serialization
    from model_signing._signing import sign_ec_key, sign_sigstore_pb
    from sigstore_models.bundle import v1 as bundle_pb

    if public_key_pem is None:
        raise LineageError("no public key to verify the record's signature with")
    import tempfile

    try:
        serialization.load_pem_public_key(public_key_pem)
    except ValueError as exc:
        raise UsageError(f"not a PEM public key ({exc})") from exc
    with tempfile.NamedTemporaryFile(suffix=".pub") as fh:
        fh.write(public_key_pem)
        fh.flush()
        verifier = sign_ec_key.Verifier(Path(fh.name))
    try:
        parsed = json.loads(json.dumps(bundle))
        parsed.setdefault("verificationMaterial", {}).setdefault("tlogEntries", [])
        sig = sign_sigstore_pb.Signature(bundle_pb.Bundle.from_dict(parsed))
        payload_type, payload = verifier._verify_signed_content(sig)
        stmt = json.loads(payload)
    except Exception as exc:  # noqa: BLE001  (every failure of the library means "not verified")
        raise LineageError(f"signature does not verify ({exc or type(exc).__name__})") from exc
    if payload_type != "application/vnd.in-toto+json" or not isinstance(stmt, dict):
        raise LineageError(f"signature covers a {payload_type} payload, not an in-toto statement")
    return stmt


def trust_from_specs(
    public_keys: Sequence[Path] = (), chains: Sequence[Path] = (),
) -> list[Trust]:
    """Return trust anchors for the given public key files and one CA chain (all files together)."""
    out: list[Trust] = [PublicKey(Path(p)) for p in public_keys]
    if chains:
        out.append(CertificateChain(tuple(Path(p) for p in chains)))
    return out
