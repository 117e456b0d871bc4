"""Signatures shipped in a Hub repo, checked against the policy's trust.signers (fake Hub server)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from datagate.acquire.hub import HubSource
from datagate.lineage.signing import PrivateKey, key_fingerprint, sign_tree
from tests.integration.hub_fixtures import fake_hub, hub_env, sample_files  # noqa: F401  (fixtures)
from tests.integration.hub_server import FakeHub
from tests.keys import KeyPair, make_key

pytest.importorskip("model_signing")
pytestmark = pytest.mark.hub

META: dict[str, Any] = {
    "author": "acme", "createdAt": "2024-02-01T00:00:00.000Z", "downloads": 1234, "likes": 56,
    "cardData": {"license": "mit"}, "tags": ["license:mit"],
}


def _signed_repo(hub: FakeHub, tmp_path: Path, repo: str, key: KeyPair, *, tamper: bool = False) -> None:
    folder = tmp_path / "publish" / repo.replace("/", "--")
    for rel, blob in sample_files().items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(blob)
    sign_tree(folder, folder / "model.sig", PrivateKey(key.private))
    if tamper:  # the publisher signed one thing, the repo serves another
        (folder / "data" / "test.csv").write_bytes(b"text,label\nswapped,1\n")
    hub.add_repo(repo, folder, **META)


def _policy(tmp_path: Path, signer: Path | None, require: bool = True) -> Path:
    trust: dict[str, Any] = {"require_signature": require}
    if signer is not None:
        trust["signers"] = [{"public_key": signer.name}]
    p = signer.parent / "policy.yaml" if signer is not None else tmp_path / "policy.yaml"
    p.write_text(yaml.safe_dump({"version": 1, "trust": trust}))
    return p


def _ingest(hub: FakeHub, tmp_path: Path, repo: str, policy: Path) -> Any:
    from datagate.pipeline import ingest

    src = HubSource.from_uri(f"hf://datasets/{repo}", token=False)
    return ingest(src, name=repo.replace("/", "--"), store=tmp_path / "store", policy=policy, dest=tmp_path / "v" / repo)


def _sig_rules(result: Any) -> list[tuple[str, str, str]]:
    return [(f.path, f.rule, f.severity.value) for f in result.findings if f.rule.startswith("signature.")]


def test_signed_repo_verifies_against_trusted_key_and_records_the_signer(
    fake_hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    monkeypatch.delenv("OPENLINEAGE_URL", raising=False)
    publisher = make_key(tmp_path / "keys", "publisher")
    _signed_repo(fake_hub, tmp_path, "acme/signed", publisher)
    res = _ingest(fake_hub, tmp_path, "acme/signed", _policy(tmp_path, publisher.public))
    assert _sig_rules(res) == []
    assert res.decision.passed, res.decision.reasons
    auth = res.record.data["authenticity"]
    assert auth["verified"] is True and auth["required"] is True
    assert auth["signatures"] == [{
        "file": "model.sig", "verified": True, "files": 4,
        "signer": {"kind": "key", "key": key_fingerprint(publisher.public.read_bytes())},
    }]


def test_repo_signed_by_someone_else_fails_the_gate(
    fake_hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    monkeypatch.delenv("OPENLINEAGE_URL", raising=False)
    publisher, mallory = make_key(tmp_path / "keys", "publisher"), make_key(tmp_path / "mkeys", "mallory")
    _signed_repo(fake_hub, tmp_path, "acme/signed", mallory)
    res = _ingest(fake_hub, tmp_path, "acme/signed", _policy(tmp_path, publisher.public))
    assert not res.decision.passed
    assert _sig_rules(res) == [("model.sig", "signature.untrusted", "critical")]
    assert res.record.data["authenticity"]["verified"] is False


def test_unsigned_repo_fails_only_when_a_signature_is_required(
    fake_hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    monkeypatch.delenv("OPENLINEAGE_URL", raising=False)
    publisher = make_key(tmp_path / "keys", "publisher")
    res = _ingest(fake_hub, tmp_path, "acme/reviews", _policy(tmp_path, publisher.public))
    assert not res.decision.passed
    assert _sig_rules(res) == [(".", "signature.missing", "critical")]
    (publisher.public.parent / "policy.yaml").write_text(
        yaml.safe_dump({"version": 1, "trust": {"signers": [{"public_key": "publisher.pub"}]}})
    )
    res = _ingest(fake_hub, tmp_path / "again", "acme/reviews", publisher.public.parent / "policy.yaml")
    assert _sig_rules(res) == [] and res.decision.passed and "authenticity" not in res.record.data


def test_signed_then_changed_file_is_named(
    fake_hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    monkeypatch.delenv("OPENLINEAGE_URL", raising=False)
    publisher = make_key(tmp_path / "keys", "publisher")
    _signed_repo(fake_hub, tmp_path, "acme/swapped", publisher, tamper=True)
    res = _ingest(fake_hub, tmp_path, "acme/swapped", _policy(tmp_path, publisher.public))
    assert not res.decision.passed
    hits = [f for f in res.findings if f.rule == "signature.mismatch"]
    assert len(hits) == 1 and hits[0].evidence["changed"] == ["data/test.csv"]
    assert "data/test.csv" in hits[0].message


def test_cli_ingest_exit_1_and_bad_signer_config_exit_2(
    fake_hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    from datagate.cli import main

    monkeypatch.delenv("OPENLINEAGE_URL", raising=False)
    publisher, mallory = make_key(tmp_path / "keys", "publisher"), make_key(tmp_path / "mkeys", "mallory")
    _signed_repo(fake_hub, tmp_path, "acme/signed", mallory)
    policy = _policy(tmp_path, publisher.public)
    code = main(["-q", "ingest", "hf://datasets/acme/signed", "--store", str(tmp_path / "s"),
                 "--policy", str(policy), "--format", "json"])
    out = capsys.readouterr().out
    assert code == 1
    assert any(f["rule"] == "signature.untrusted" for f in json.loads(out)["scan"]["findings"])
    policy.write_text(yaml.safe_dump({"version": 1, "trust": {"signers": [{"public_key": "nope.pub"}]}}))
    code = main(["-q", "ingest", "hf://datasets/acme/signed", "--store", str(tmp_path / "s"), "--policy", str(policy)])
    err = capsys.readouterr().err
    assert code == 2 and "nope.pub: file not found" in err


def test_audit_remote_checks_the_pinned_commit(
    fake_hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    from datagate.cli import main
    from tests.integration.hub_fixtures import SAMPLE_REPO

    monkeypatch.delenv("OPENLINEAGE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["-q", "ingest", f"hf://datasets/{SAMPLE_REPO}", "--name", "reviews"]) == 0
    commit = fake_hub.repos[SAMPLE_REPO].branches["main"]
    capsys.readouterr()
    code = main(["audit", "--remote", "--format", "json"])
    (row,) = json.loads(capsys.readouterr().out)["rows"]
    assert code == 0 and row["data"] == f"hf://datasets/{SAMPLE_REPO}@{commit}" and row["problems"] == []
    assert row["revision"] == commit

    # without --remote the bytes are looked for on disk (the default Hub download folder here)
    code = main(["audit", "--format", "json"])
    (row,) = json.loads(capsys.readouterr().out)["rows"]
    assert code == 0 and row["problems"] == [] and row["data"] is not None

    # a mirror that now serves other bytes under the pinned commit id
    files = sample_files()
    files["data/test.csv"] = b"text,label\nrewritten,0\n"
    new = fake_hub.commit(SAMPLE_REPO, files, branch="other")
    fake_hub.repos[SAMPLE_REPO].commits[commit] = fake_hub.repos[SAMPLE_REPO].commits[new]
    code = main(["audit", "--remote"])
    out = capsys.readouterr().out
    assert code == 1 and f"hf://datasets/{SAMPLE_REPO}@{commit}/data/test.csv" in out
