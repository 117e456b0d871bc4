"""``datagate audit`` over a store, refs and a real DVC repo (issue 16)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from datagate.cli import main
from tests.integration._ingest_ready import needs_stages
from tests.keys import KeyPair, make_key
from tests.unit.lineage._helpers import make_tree

pytest.importorskip("model_signing")


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> tuple[Path, KeyPair]:
    root = tmp_path / "proj"
    make_tree(root / "data" / "reviews")
    make_tree(root / "data" / "imdb", rows=4)
    key = make_key(tmp_path / "keys", "team")
    monkeypatch.chdir(root)
    assert _run(capsys, "-q", "ingest", "data/reviews", "--sign-key", str(key.private))[0] == 0
    assert _run(capsys, "-q", "ingest", "data/imdb", "--dest", "vetted/imdb")[0] == 0
    return root, key


@needs_stages
def test_clean_store_verifies_and_unsigned_is_listed_not_failed(
    project: tuple[Path, KeyPair], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "audit", "--format", "json")
    assert code == 0
    doc = json.loads(out)
    rows = {r["dataset"]: r for r in doc["rows"]}
    assert rows["reviews"]["status"] == "verified" and rows["reviews"]["data"] == "data/reviews"
    assert rows["reviews"]["signer"].startswith("sha256:") and rows["reviews"]["gate"] == "pass"
    assert rows["imdb"]["status"] == "unverified" and rows["imdb"]["data"] == "vetted/imdb"
    assert rows["imdb"]["unverified"] == [f"{rows['imdb']['record']}: record is not signed (who made it cannot be proven)"]
    assert _run(capsys, "audit", "--strict")[0] == 1
    assert _run(capsys, "audit", "reviews", "--strict")[0] == 0


@needs_stages
def test_changed_data_file_exits_1_and_is_named(
    project: tuple[Path, KeyPair], capsys: pytest.CaptureFixture[str]
) -> None:
    root, _ = project
    (root / "data" / "reviews" / "data" / "train.csv").write_text("text,label\nswapped,pos\n")
    (root / "vetted" / "imdb" / "data" / "test.csv").unlink()
    code, out, _ = _run(capsys, "audit")
    assert code == 1
    assert "data/reviews/data/train.csv: content since intake" in out
    assert "vetted/imdb/data/test.csv: removed since intake" in out
    for fmt, marker in (("markdown", "| broken | reviews |"), ("html", "<tr class=broken>")):
        code, out, _ = _run(capsys, "audit", "--format", fmt)
        assert code == 1 and marker in out and "train.csv" in out


@needs_stages
def test_edited_record_and_wrong_key_are_broken_rows(
    project: tuple[Path, KeyPair], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, key = project
    rec = next((root / ".datagate" / "records" / "reviews").glob("*.json"))
    data = json.loads(rec.read_text())
    data["run"]["trust"] = {"downloads": 999999}
    rec.write_text(json.dumps(data))
    code, out, _ = _run(capsys, "audit", "--format", "json")
    assert code == 1
    rows = {r["dataset"]: r for r in json.loads(out)["rows"]}
    where = f".datagate/records/reviews/{rec.name}"
    assert rows["reviews"]["problems"] == [
        f"{where}: run block edited (run_digest does not match)",
        f"{where}: signature covers another run block (edited after signing)",
    ]
    assert rows["imdb"]["status"] == "unverified"  # one broken record does not hide the others

    other = make_key(tmp_path / "other", "x")
    code, out, _ = _run(capsys, "audit", "imdb", "--public-key", str(other.public))
    assert code == 1 and "record is not signed (a trusted key was required)" in out
    rec.write_text(json.dumps({**data, "run": {**data["run"], "trust": {}}}))
    code, out, _ = _run(capsys, "audit", "reviews", "--public-key", str(key.public))
    assert code == 1  # still edited: the run block differs from what was signed


@needs_stages
def test_unknown_ref_and_missing_store_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = _run(capsys, "audit")
    assert code == 2 and "no datagate store" in err
    make_tree(tmp_path / "d")
    assert _run(capsys, "-q", "ingest", "d")[0] == 0
    code, _, err = _run(capsys, "audit", "nope@abc")
    assert code == 2 and "'nope@abc': no such record" in err


@pytest.mark.dvc
@pytest.mark.slow
@needs_stages
def test_dvc_repo_audit_checks_workspace_then_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.integration.test_dvc import DVC, _sh

    if DVC is None:
        pytest.skip("the dvc CLI is not installed")
    root = tmp_path / "project"
    root.mkdir()
    _sh(root, "git", "init", "-q")
    _sh(root, DVC, "init", "-q")
    _sh(root, DVC, "config", "core.analytics", "false")
    make_tree(root / "data")
    _sh(root, DVC, "add", "data")
    monkeypatch.chdir(root)
    assert _run(capsys, "-q", "record", "data")[0] == 0
    code, out, _ = _run(capsys, "audit", "--dvc", ".", "--format", "json")
    assert code == 0, out
    (row,) = json.loads(out)["rows"]
    assert row["data"] == "data" and row["problems"] == []
    # verify (DVC path) and show report an edited record, naming the file
    rec = next((root / ".datagate" / "records").rglob("*.json"))
    original = rec.read_text()
    data = json.loads(original)
    data["run"]["finished_at"] = "2020-01-01T00:00:00Z"
    rec.write_text(json.dumps(data))
    for argv in (["verify", "data"], ["show", "data"]):
        code, _, err = _run(capsys, *argv)
        assert code == 2 and rec.name in err and "run_digest does not match" in err, (argv, err)
    rec.write_text(original)
    shutil.rmtree(root / "data")  # workspace gone: the DVC cache still proves the bytes
    code, out, _ = _run(capsys, "audit", "--dvc", ".", "--format", "json")
    (row,) = json.loads(out)["rows"]
    assert code == 0 and row["data"] == "DVC cache of data" and row["problems"] == []
    cache = sorted(p for p in (root / ".dvc" / "cache").rglob("*") if p.is_file() and not p.name.endswith(".dir"))
    victim = cache[0]
    victim.chmod(0o644)
    victim.write_bytes(victim.read_bytes() + b"tampered")
    code, out, _ = _run(capsys, "audit", "--dvc", ".")
    assert code == 1 and "changed since intake" in out and victim.name in out
