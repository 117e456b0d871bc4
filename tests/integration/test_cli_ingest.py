"""The ingest/log/show/diff/init commands, run in-process through ``datagate.cli.main``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from datagate.cli import main
from datagate.lineage.record import validate_record
from tests.integration._ingest_ready import HOSTILE_PICKLE, needs_stages
from tests.unit.lineage._helpers import make_tree


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@needs_stages
def test_ingest_log_show_diff(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tree = make_tree(tmp_path / "reviews")
    store = str(tmp_path / "store")
    rec_out, met_out = tmp_path / "lineage" / "r.json", tmp_path / "metrics" / "m.json"
    code, out, _ = _run(
        capsys,
        "-q",
        "ingest",
        str(tree),
        "--store",
        store,
        "--label",
        "label",
        "--record-out",
        str(rec_out),
        "--metrics-out",
        str(met_out),
    )
    assert code == 0, out
    assert out.startswith("PASS")
    record = json.loads(rec_out.read_text())
    validate_record(record)
    v1 = record["content"]["root_digest"]
    metrics = json.loads(met_out.read_text())
    assert metrics["passed"] == 1 and metrics["files"] == 2
    assert all(isinstance(v, (int, float)) for v in metrics.values())

    (tree / "data" / "train.csv").write_text("text,label\nother,neg\nrows,pos\nhere,pos\n")
    (tree / "data" / "notes.txt").write_text("added later\n")
    code, out, _ = _run(capsys, "-q", "ingest", str(tree), "--store", store, "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["gate"]["passed"] is True
    # The record is emitted as the document stored on disk, not wrapped.
    assert doc["record"]["content"]["root_digest"] == doc["root_digest"]
    assert json.loads(Path(doc["record_path"]).read_text())["record_digest"] == doc["record"]["record_digest"]

    code, out, _ = _run(capsys, "log", "reviews", "--store", store, "--format", "json")
    assert code == 0
    versions = json.loads(out)["versions"]
    assert len(versions) == 2 and versions[1]["version"] == v1 and versions[0]["baseline"] == v1
    v2 = versions[0]["version"]
    code, out, _ = _run(capsys, "log", "reviews", "--store", store)
    assert code == 0 and out.splitlines()[0].startswith(v2[7:19])

    code, out, _ = _run(capsys, "show", v1[7:15], "--store", store, "--format", "json")
    assert code == 0 and json.loads(out)["content"]["root_digest"] == v1
    code, out, _ = _run(capsys, "show", "reviews", "--store", store)
    assert code == 0 and f"version      {v2}" in out

    code, out, _ = _run(capsys, "diff", v1[7:15], v2[7:15], "--store", store, "--format", "json")
    assert code == 0
    d = json.loads(out)
    assert d["files"] == {"added": ["data/notes.txt"], "removed": [], "changed": ["data/train.csv"]}
    assert d["labels"]["train"] == {"neg": [2, 1], "pos": [1, 2]}
    code, out, _ = _run(capsys, "diff", v1[7:15], v2[7:15], "--store", store)
    assert "+ data/notes.txt" in out and "~ data/train.csv" in out


@needs_stages
def test_failing_gate_exits_1_and_still_records(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = make_tree(tmp_path / "reviews")
    (tree / "evil.pkl").write_bytes(HOSTILE_PICKLE)
    dest = tmp_path / "vetted"
    code, out, _ = _run(
        capsys, "-q", "ingest", str(tree), "--store", str(tmp_path / "s"), "--dest", str(dest)
    )
    assert code == 1 and out.startswith("FAIL")
    assert not dest.exists()
    code, out, _ = _run(capsys, "log", "reviews", "--store", str(tmp_path / "s"))
    assert code == 0 and "FAIL" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ingest", "{tree}", "--name", "a/b"], "not allowed"),
        (["ingest", "{tmp}/missing"], "no such file"),
        (["ingest", "s3://bucket/x"], "unsupported source scheme"),
        (["ingest", "{tree}", "--format", "yaml"], "--format"),
        (["log", "nothing", "--store", "{tmp}/s"], "no datagate store"),
        (["show", "abc", "--store", "{tmp}/s"], "no datagate store"),
    ],
)
def test_usage_and_operational_errors_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    tree = make_tree(tmp_path / "reviews")
    args = [a.format(tree=tree, tmp=tmp_path) for a in argv]
    if args[0] == "ingest":
        args += ["--store", str(tmp_path / "s")]
    code, _, err = _run(capsys, *args)
    assert code == 2
    assert message in err and "Traceback" not in err


def test_corrupt_store_exits_2_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "s"
    store.mkdir()
    (store / "store.json").write_text("{oops")
    code, _, err = _run(capsys, "log", "x", "--store", str(store))
    assert code == 2 and "store.json" in err and "corrupt" in err
    assert (store / "store.json").read_text() == "{oops"


def test_init_writes_policy_and_dvc_stage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dvc.yaml").write_text("# mine\nstages:\n  train:\n    cmd: python train.py\n")
    code, _, _ = _run(capsys, "-q", "init", "--dvc", "--source", "data/raw")
    assert code == 0
    from datagate.config import load_policy

    load_policy(tmp_path / "datagate.yaml")  # the starter policy is a valid policy
    text = (tmp_path / "dvc.yaml").read_text()
    assert text.startswith("# mine\n")
    doc = yaml.safe_load(text)
    assert doc["stages"]["train"] == {"cmd": "python train.py"}
    intake = doc["stages"]["intake"]
    assert intake["cmd"].startswith("datagate ingest data/raw --name raw --dest data/staging/raw")
    assert intake["deps"] == ["data/raw", "datagate.yaml"]
    assert intake["outs"] == ["data/staging/raw", "lineage/raw.json"]
    assert doc["stages"]["intake-publish"] == {
        "cmd": "python -m datagate.lineage.publish data/staging/raw data/vetted/raw",
        "deps": ["data/staging/raw"],
        "outs": ["data/vetted/raw"],
    }
    code, _, err = _run(capsys, "init", "--dvc", "--source", "data/raw")
    assert code == 2 and "exists already" in err


def test_record_and_status_outside_dvc(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    make_tree(tmp_path / "data")
    code, _, err = _run(capsys, "record", "data")
    assert code == 2 and "not tracked by DVC" in err
    code, out, _ = _run(capsys, "status")
    assert code == 0 and "no .dvc outputs" in out
    (tmp_path / "data.dvc").write_text("outs:\n- md5: 0123456789abcdef0123456789abcdef.dir\n  path: data\n"
                                       "  meta:\n    datagate:\n      md5: ffffffffffffffffffffffffffffffff.dir\n"
                                       "      record: r.json\n")
    code, out, _ = _run(capsys, "status", "--format", "json")
    assert code == 1
    assert json.loads(out)["outputs"][0]["state"] == "stale"
    (tmp_path / "data.dvc").write_text("outs: [\n")
    code, _, err = _run(capsys, "status")
    assert code == 2 and "data.dvc" in err and "not YAML" in err
