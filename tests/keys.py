"""Real signing material for tests: EC key pairs and a throw-away X.509 CA, made with cryptography."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["KeyPair", "TestCA", "make_ca", "make_key", "make_trust_config"]


@dataclass(frozen=True)
class KeyPair:
    """A P-256 key pair written as PEM files."""

    private: Path
    public: Path


def make_key(dest: Path, name: str) -> KeyPair:
    """Write ``name.pem`` (PKCS#8) and ``name.pub`` (SubjectPublicKeyInfo) under ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    priv, pub = dest / f"{name}.pem", dest / f"{name}.pub"
    priv.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    pub.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return KeyPair(priv, pub)


@dataclass(frozen=True)
class TestCA:
    """A root CA and one code-signing leaf it issued, as PEM files."""

    ca_cert: Path
    leaf_key: Path
    leaf_cert: Path


def make_ca(dest: Path, name: str = "test") -> TestCA:
    """Write a self-signed root CA and a leaf signing certificate (digitalSignature, codeSigning)."""
    dest.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} root CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(ca_key, hashes.SHA256())
    )
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} data publisher")]))
        .issuer_name(ca_name).public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    out = TestCA(dest / f"{name}-ca.crt", dest / f"{name}-leaf.pem", dest / f"{name}-leaf.crt")
    out.ca_cert.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    out.leaf_cert.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    out.leaf_key.write_bytes(
        leaf_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return out


def _log_key(url: str) -> dict[str, object]:
    der = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return {
        "baseUrl": url, "hashAlgorithm": "SHA2_256",
        "publicKey": {"rawBytes": base64.b64encode(der).decode(), "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                      "validFor": {"start": "2020-01-01T00:00:00Z"}},
        "logId": {"keyId": base64.b64encode(hashlib.sha256(der).digest()).decode()},
    }


def make_trust_config(dest: Path, ca: TestCA) -> Path:
    """Write a Sigstore ClientTrustConfig whose Fulcio CA is ``ca`` and whose Rekor and CT logs are
    fresh keys (nothing signed by them exists): an offline test trust root for keyless checks."""
    der = x509.load_pem_x509_certificate(ca.ca_cert.read_bytes()).public_bytes(serialization.Encoding.DER)
    dest.write_text(json.dumps({
        "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
        "trustedRoot": {
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [_log_key("https://rekor.invalid")], "ctlogs": [_log_key("https://ctfe.invalid")],
            "timestampAuthorities": [],
            "certificateAuthorities": [{
                "subject": {"organization": "test", "commonName": "fulcio"},
                "uri": "https://fulcio.invalid",
                "certChain": {"certificates": [{"rawBytes": base64.b64encode(der).decode()}]},
                "validFor": {"start": "2020-01-01T00:00:00Z"},
            }],
        },
        "signingConfig": {"mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
                          "caUrls": [], "oidcUrls": [], "rekorTlogUrls": [], "tsaUrls": []},
    }))
    return dest
