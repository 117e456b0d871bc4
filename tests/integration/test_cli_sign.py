"""``datagate sign`` and ``datagate verify --signature``, in-process, interoperating with model_signing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from datagate.cli import main
from tests.keys import make_ca, make_key
from tests.unit.lineage._helpers import make_tree

pytest.importorskip("model_signing")


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def _model_signing(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-c", "from model_signing._cli import main; main()", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def test_sign_then_model_signing_verifies_and_back(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tree = make_tree(tmp_path / "reviews")
    k, other = make_key(tmp_path / "keys", "pub"), make_key(tmp_path / "keys", "other")
    code, out, err = _run(capsys, "sign", str(tree), "--key", str(k.private))
    sig = tmp_path / "reviews.sig"
    assert code == 0, err
    assert sig.is_file() and "signed 2 files" in out
    done = _model_signing("verify", "key", str(tree), "--signature", str(sig), "--public_key", str(k.public))
    assert done.returncode == 0, done.stderr

    theirs = tmp_path / "theirs.sig"
    from click.testing import CliRunner
    from model_signing._cli import main as model_signing_main

    # model_signing's own CLI code, in-process (the console script costs seconds of imports)
    ran = CliRunner().invoke(
        model_signing_main, ["sign", "key", str(tree), "--signature", str(theirs), "--private_key", str(k.private)]
    )
    assert ran.exit_code == 0, ran.output
    code, out, _ = _run(capsys, "verify", str(tree), "--signature", str(theirs), "--public-key", str(k.public))
    assert code == 0 and out.startswith("OK:")

    code, out, _ = _run(capsys, "verify", str(tree), "--signature", str(theirs), "--public-key", str(other.public))
    assert code == 1 and "not made by the trusted signer" in out

    (tree / "data" / "test.csv").write_bytes((tree / "data" / "test.csv").read_bytes() + b"x")
    code, out, _ = _run(
        capsys, "verify", str(tree), "--signature", str(sig), "--public-key", str(k.public), "--format", "json"
    )
    assert code == 1
    doc = json.loads(out)
    assert doc["verified"] is False and doc["changed"] == ["data/test.csv"]


def test_certificate_chain_via_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tree = make_tree(tmp_path / "reviews")
    ca, evil = make_ca(tmp_path / "pki", "acme"), make_ca(tmp_path / "pki", "evil")
    sig = tmp_path / "r.sig"
    code, _, err = _run(
        capsys, "sign", str(tree), "--key", str(ca.leaf_key), "--certificate", str(ca.leaf_cert),
        "--certificate-chain", str(ca.ca_cert), "--signature", str(sig),
    )
    assert code == 0, err
    code, out, _ = _run(capsys, "verify", str(tree), "--signature", str(sig), "--certificate-chain", str(ca.ca_cert))
    assert code == 0 and "CN=acme data publisher" in out
    code, out, _ = _run(capsys, "verify", str(tree), "--signature", str(sig), "--certificate-chain", str(evil.ca_cert))
    assert code == 1


def test_usage_errors_exit_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tree = make_tree(tmp_path / "reviews")
    code, _, err = _run(capsys, "sign", str(tree))
    assert code == 2 and "--key" in err and "Traceback" not in err
    code, _, err = _run(capsys, "sign", str(tree), "--key", str(tmp_path / "none.pem"))
    assert code == 2 and "none.pem: private key file not found" in err
    code, _, err = _run(capsys, "verify", str(tree), "--signature", str(tmp_path / "none.sig"), "--public-key", "x")
    assert code == 2 and "none.sig" in err


def test_keyless_verify_via_cli_against_an_offline_trust_root_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.keys import make_trust_config

    tree = make_tree(tmp_path / "reviews")
    k = make_key(tmp_path / "keys", "pub")
    sig = tmp_path / "r.sig"
    assert _run(capsys, "sign", str(tree), "--key", str(k.private), "--signature", str(sig))[0] == 0
    tc = make_trust_config(tmp_path / "tc.json", make_ca(tmp_path / "pki", "fulcio"))
    code, out, err = _run(
        capsys, "verify", str(tree), "--signature", str(sig), "--identity", "a@example.com",
        "--issuer", "https://issuer.invalid", "--trust-config", str(tc),
    )
    assert code == 1 and "FAILED" in out and "sigstore a@example.com" in out, err
    code, _, err = _run(capsys, "verify", str(tree), "--signature", str(sig), "--identity", "a@example.com")
    assert code == 2 and "--issuer" in err
