"""Real signing material for tests: EC key pairs and a throw-away X.509 CA, made with cryptography."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["KeyPair", "TestCA", "make_ca", "make_key"]


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
