"""Signing and verifying trees in the model-signing format, with real keys and a real test CA."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from datagate.errors import LineageError, UsageError
from datagate.lineage.signing import (
    CertificateChain,
    CertificateSigner,
    PrivateKey,
    PublicKey,
    SigstoreIdentity,
    find_signatures,
    key_fingerprint,
    sign_statement,
    sign_tree,
    verify_statement,
    verify_tree,
)
from tests.keys import make_ca, make_key, make_trust_config
from tests.unit.lineage._helpers import make_tree

pytest.importorskip("model_signing")

@dataclass(frozen=True)
class _Done:
    returncode: int
    stdout: str
    stderr: str


def _model_signing(*args: str) -> _Done:
    """Run the real ``model_signing`` CLI (its click group) in-process; the integration tests run
    the console script itself."""
    from click.testing import CliRunner
    from model_signing._cli import main

    result = CliRunner().invoke(main, list(args))
    return _Done(result.exit_code, result.output, str(result.exception or ""))


def test_datagate_signature_verifies_with_the_model_signing_cli_and_back(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "reviews")
    k = make_key(tmp_path / "keys", "publisher")
    sig = tmp_path / "reviews.sig"
    assert sign_tree(tree, sig, PrivateKey(k.private)) == 2
    done = _model_signing("verify", "key", str(tree), "--signature", str(sig), "--public_key", str(k.public))
    assert done.returncode == 0, done.stderr
    assert "Verification succeeded" in done.stdout

    theirs = tmp_path / "theirs.sig"
    done = _model_signing("sign", "key", str(tree), "--signature", str(theirs), "--private_key", str(k.private))
    assert done.returncode == 0, done.stderr
    check = verify_tree(tree, theirs, PublicKey(k.public))
    assert check.verified and check.files == 2
    assert check.signer == {"kind": "key", "key": key_fingerprint(k.public.read_bytes())}


def test_another_key_or_one_changed_byte_fails_naming_the_file(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "reviews")
    k, other = make_key(tmp_path / "keys", "a"), make_key(tmp_path / "keys", "b")
    sig = tmp_path / "reviews.sig"
    sign_tree(tree, sig, PrivateKey(k.private))

    wrong = verify_tree(tree, sig, PublicKey(other.public))
    assert not wrong.verified and wrong.wrong_signer and "Key mismatch" in (wrong.reason or "")

    target = tree / "data" / "train.csv"
    blob = bytearray(target.read_bytes())
    blob[5] ^= 0x01
    target.write_bytes(bytes(blob))
    (tree / "data" / "new.csv").write_text("text,label\nx,pos\n")
    (tree / "data" / "test.csv").unlink()
    changed = verify_tree(tree, sig, PublicKey(k.public))
    assert not changed.verified and not changed.wrong_signer
    assert changed.changed == ("data/train.csv",)
    assert changed.missing == ("data/test.csv",)
    assert changed.extra == ("data/new.csv",)
    # and model_signing agrees it fails
    done = _model_signing("verify", "key", str(tree), "--signature", str(sig), "--public_key", str(k.public))
    assert done.returncode == 1


def test_signature_inside_the_tree_is_not_part_of_what_it_signs(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "reviews")
    k = make_key(tmp_path / "keys", "a")
    sig = tree / "model.sig"
    sign_tree(tree, sig, PrivateKey(k.private))
    assert find_signatures(tree) == [sig]
    assert verify_tree(tree, sig, PublicKey(k.public)).verified


def test_certificate_chain_signing_and_verification(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "reviews")
    ca = make_ca(tmp_path / "pki", "acme")
    other_ca = make_ca(tmp_path / "pki", "evil")
    sig = tmp_path / "reviews.sig"
    sign_tree(tree, sig, CertificateSigner(ca.leaf_key, ca.leaf_cert, (ca.ca_cert,)))
    ok = verify_tree(tree, sig, CertificateChain((ca.ca_cert,)))
    assert ok.verified, ok.reason
    assert ok.signer["subject"] == "CN=acme data publisher"
    bad = verify_tree(tree, sig, CertificateChain((other_ca.ca_cert,)))
    assert not bad.verified and bad.wrong_signer
    done = _model_signing(
        "verify", "certificate", str(tree), "--signature", str(sig), "--certificate_chain", str(ca.ca_cert)
    )
    assert done.returncode == 0, done.stderr
    # a certificate-signed bundle, checked as if it were a plain key signature by another key
    assert not verify_tree(tree, sig, PublicKey(make_key(tmp_path / "keys", "x").public)).verified


def test_keyless_verification_fails_closed_offline(tmp_path: Path) -> None:
    """Keyless checks against an offline test trust root (a throw-away "Fulcio" CA and log keys).

    A key-signed bundle is rejected, and so is a certificate-signed one even when its leaf chains
    to the test "Fulcio" CA: model-signing's certificate bundles carry an X.509 chain, a keyless
    bundle one Fulcio leaf plus Rekor evidence. A *successful* keyless verification needs that
    leaf with an SCT from a CT log and a Rekor inclusion proof, which cannot be minted offline:
    that path is not tested here.
    """
    tree = make_tree(tmp_path / "reviews")
    k = make_key(tmp_path / "keys", "a")
    sig = tmp_path / "reviews.sig"
    sign_tree(tree, sig, PrivateKey(k.private))
    ca = make_ca(tmp_path / "pki", "fulcio")
    trust_config = make_trust_config(tmp_path / "trust_config.json", ca)
    who = SigstoreIdentity("someone@example.com", "https://issuer.invalid", trust_config=trust_config)
    check = verify_tree(tree, sig, who)
    assert not check.verified and check.wrong_signer
    assert "expected certificate in bundle" in (check.reason or "")

    cert_sig = tmp_path / "cert.sig"
    sign_tree(tree, cert_sig, CertificateSigner(ca.leaf_key, ca.leaf_cert, (ca.ca_cert,)))
    check = verify_tree(tree, cert_sig, who)
    assert not check.verified and check.wrong_signer
    assert "expected certificate in bundle" in (check.reason or "")


def test_missing_key_is_a_usage_error_and_garbage_signature_fails(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "reviews")
    with pytest.raises(UsageError, match="private key file not found"):
        sign_tree(tree, tmp_path / "x.sig", PrivateKey(tmp_path / "nope.pem"))
    k = make_key(tmp_path / "keys", "a")
    junk = tmp_path / "junk.sig"
    junk.write_text("{not json")
    assert not verify_tree(tree, junk, PublicKey(k.public)).verified
    assert not (tmp_path / "x.sig").exists()


def test_statement_signature_round_trip_and_key_binding(tmp_path: Path) -> None:
    k, other = make_key(tmp_path / "keys", "a"), make_key(tmp_path / "keys", "b")
    stmt = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "reviews", "digest": {"sha256": "ab" * 32}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {"buildDefinition": {"internalParameters": {"recordDigest": "sha256:" + "cd" * 32}}},
    }
    bundle = sign_statement(stmt, PrivateKey(k.private))
    assert bundle["dsseEnvelope"]["payloadType"] == "application/vnd.in-toto+json"
    assert verify_statement(bundle, public_key_pem=k.public.read_bytes()) == stmt
    with pytest.raises(LineageError, match="does not verify"):
        verify_statement(bundle, public_key_pem=other.public.read_bytes())
    # a payload swapped under the same signature is rejected
    forged = json.loads(json.dumps(bundle))
    import base64

    fake = dict(stmt, predicate={"buildDefinition": {"internalParameters": {"recordDigest": "sha256:" + "ee" * 32}}})
    forged["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(fake).encode()).decode()
    with pytest.raises(LineageError, match="does not verify"):
        verify_statement(forged, public_key_pem=k.public.read_bytes())
