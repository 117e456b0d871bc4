"""Tamper-evident, signed lineage records and privacy of what is recorded (issue 16)."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from datagate.cli import main
from datagate.errors import LineageError
from datagate.lineage.attest import signature_problems
from datagate.lineage.record import record_digest, run_digest, validate_record
from datagate.lineage.signing import key_fingerprint
from tests.integration._ingest_ready import needs_stages
from tests.keys import make_key
from tests.unit.lineage._helpers import make_tree

pytest.importorskip("model_signing")

FAKE_HOST = "dg-host-q7x9k2"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def signed_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, Path, Any]:
    tree = make_tree(tmp_path / "proj" / "data" / "reviews")
    key = make_key(tmp_path / "keys", "datagate")
    store = tmp_path / "proj" / ".datagate"
    code, _, err = _run(capsys, "-q", "ingest", str(tree), "--store", str(store), "--sign-key", str(key.private))
    assert code == 0, err
    rec = next((store / "records" / "reviews").glob("*.json"))
    return store, rec, key


@needs_stages
def test_signed_record_verifies_and_names_its_signer(signed_store: tuple[Path, Path, Any]) -> None:
    _, rec_path, key = signed_store
    data = json.loads(rec_path.read_text())
    validate_record(data, where=str(rec_path))
    fp = key_fingerprint(key.public.read_bytes())
    assert data["signatures"]["key"] == fp
    assert signature_problems(data, trusted_keys={fp}) == []
    other = "sha256:" + "0" * 64
    assert signature_problems(data, trusted_keys={other}) == [f"signed by key {fp}, which is not a trusted key"]


EDITS: list[tuple[str, Callable[[dict[str, Any]], None]]] = [
    ("gate", lambda d: d["gate"].__setitem__("passed", not d["gate"]["passed"])),
    ("source", lambda d: d["source"].__setitem__("uri", "elsewhere")),
    ("content", lambda d: d["content"].__setitem__("bytes", d["content"]["bytes"] + 1)),
    ("run.remote_files", lambda d: d["run"].__setitem__("remote_files", {"x.csv": {"sha256": "0" * 64}})),
    ("run.trust", lambda d: d["run"].__setitem__("trust", {"downloads": 10**6})),
    ("run.finished_at", lambda d: d["run"].__setitem__("finished_at", "2020-01-01T00:00:00Z")),
]


@needs_stages
def test_any_edit_is_reported_and_a_forgery_with_recomputed_digests_fails_its_signature(
    signed_store: tuple[Path, Path, Any], capsys: pytest.CaptureFixture[str],
) -> None:
    store, rec_path, _ = signed_store
    original = rec_path.read_text()
    for field, edit in EDITS:
        data = json.loads(original)
        edit(data)
        rec_path.write_text(json.dumps(data, indent=2, sort_keys=True))
        code, _, err = _run(capsys, "show", "reviews", "--store", str(store))
        assert code == 2 and rec_path.name in err and "does not match" in err, (field, err)
        code, out, err = _run(capsys, "log", "reviews", "--store", str(store))
        assert code == 1 and rec_path.name in err and "does not match" in err, (field, err)
        assert out.splitlines()[1].startswith("BROKEN") and "edited" in out, (field, out)
        with pytest.raises(LineageError, match="does not match"):
            validate_record(data, where="r.json")

        # the forger recomputes both digests: the signature still tells
        data["record_digest"] = record_digest(data)
        data["run_digest"] = run_digest(data)
        rec_path.write_text(json.dumps(data, indent=2, sort_keys=True))
        with pytest.raises(LineageError, match="edited after signing|signed test result"):
            validate_record(data, where="r.json")
        code, _, err = _run(capsys, "show", "reviews", "--store", str(store))
        assert code == 2 and rec_path.name in err and "sign" in err, (field, err)
    rec_path.write_text(original)
    assert _run(capsys, "show", "reviews", "--store", str(store))[0] == 0


@needs_stages
def test_resigned_forgery_is_caught_by_the_trusted_key(
    signed_store: tuple[Path, Path, Any], tmp_path: Path,
) -> None:
    """A forger who re-signs with their own key makes a self-consistent record: only the
    auditor's trusted key tells it apart."""
    from datagate.lineage.attest import sign_record
    from datagate.lineage.intoto import checks_statement, provenance_statement
    from datagate.lineage.record import LineageRecord
    from datagate.lineage.signing import PrivateKey
    from datagate.models import CheckReport, GateDecision, Severity

    _, rec_path, key = signed_store
    data = json.loads(rec_path.read_text())
    data.pop("signatures")
    data["run"]["trust"] = {"downloads": 10**6}
    data["run_digest"] = run_digest(data)
    rec = LineageRecord(data)
    decision = GateDecision(True, Severity.HIGH, (), (), ())
    statements = [provenance_statement(rec), checks_statement(rec, check=CheckReport("x", ()), decision=decision)]
    forger = make_key(tmp_path / "forger", "f")
    forged = sign_record(rec, statements, PrivateKey(forger.private)).data
    validate_record(dict(forged))  # self-consistent
    trusted = {key_fingerprint(key.public.read_bytes())}
    assert "not a trusted key" in signature_problems(forged, trusted_keys=trusted)[-1]


@needs_stages
def test_records_statements_and_events_keep_no_home_path_or_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    home = tmp_path / "home-dg-u5r"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setattr(socket, "gethostname", lambda: FAKE_HOST)
    project = home / "work" / "proj"
    tree = make_tree(project / "data" / "reviews")
    monkeypatch.chdir(project)
    code, _, err = _run(capsys, "-q", "ingest", "data/reviews", "--dest", "vetted/reviews", "--record-out", "lineage/r.json")
    assert code == 0, err
    written = [p for p in (project / ".datagate").rglob("*") if p.is_file()] + [project / "lineage" / "r.json"]
    blob = b"".join(p.read_bytes() for p in written)
    assert b"openlineage.jsonl" not in blob  # sanity: we read contents, not names
    for secret in (str(home), str(tmp_path), FAKE_HOST):
        assert secret.encode() not in blob, secret
    rec = json.loads((project / "lineage" / "r.json").read_text())
    assert rec["source"]["uri"] == "data/reviews" and rec["run"]["dest"] == "vetted/reviews"
    events = [json.loads(line) for line in (project / ".datagate" / "openlineage.jsonl").read_text().splitlines()]
    assert events[-1]["inputs"][0]["namespace"] == "file" and events[-1]["inputs"][0]["name"] == "data/reviews"
    assert tree.is_dir()

    # asked for: --record-host records the host and the absolute source path
    (tree / "data" / "extra.csv").write_text("text,label\nnew,pos\n")
    code, _, err = _run(capsys, "-q", "ingest", "data/reviews", "--record-host", "--record-out", "lineage/r2.json")
    assert code == 0, err
    rec2 = json.loads((project / "lineage" / "r2.json").read_text())
    assert rec2["run"]["host"] == FAKE_HOST and rec2["source"]["uri"] == tree.resolve().as_uri()


@needs_stages
def test_policy_signing_key_signs_and_bad_settings_are_config_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = make_tree(tmp_path / "proj" / "reviews")
    key = make_key(tmp_path / "proj" / "keys", "dg")
    policy = tmp_path / "proj" / "policy.yaml"
    policy.write_text("version: 1\nsigning:\n  key: keys/dg.pem\n")
    store = tmp_path / "proj" / ".datagate"
    code, _, err = _run(capsys, "-q", "ingest", str(tree), "--store", str(store), "--policy", str(policy))
    assert code == 0, err
    data = json.loads(next((store / "records" / "reviews").glob("*.json")).read_text())
    assert data["signatures"]["key"] == key_fingerprint(key.public.read_bytes())
    policy.write_text("version: 1\nsigning:\n  key: keys/dg.pem\n  colour: blue\n")
    code, _, err = _run(capsys, "-q", "ingest", str(tree), "--store", str(store), "--policy", str(policy))
    assert code == 2 and "signing.colour: unknown key" in err
    policy.write_text("version: 1\nsigning:\n  key: keys/missing.pem\n")
    code, _, err = _run(capsys, "-q", "ingest", str(tree), "--store", str(store), "--policy", str(policy))
    assert code == 2 and "missing.pem: signing key file not found" in err


def test_keyless_signing_without_a_reachable_sigstore_is_a_clean_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Offline, keyless signing cannot work; it must fail with one line and exit 2, writing nothing."""
    tree = make_tree(tmp_path / "reviews")
    sig = tmp_path / "r.sigstore.json"
    code, _, err = _run(capsys, "sign", str(tree), "--sigstore", "--identity-token", "not-a-jwt", "--signature", str(sig))
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) <= 2
    assert "internal error" not in err and ("keyless signing" in err or "signing failed" in err)
    assert not sig.exists()


def test_unusable_sign_key_fails_before_any_work(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tree = make_tree(tmp_path / "reviews")
    bad = tmp_path / "not-a-key.pem"
    bad.write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    store = tmp_path / ".datagate"
    code, _, err = _run(capsys, "-q", "ingest", str(tree), "--store", str(store), "--sign-key", str(bad))
    assert code == 2 and "not-a-key.pem: not a usable PEM private key" in err
    assert not (store / "records").exists()
