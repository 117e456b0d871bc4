"""``datagate hash`` / ``verify`` driven in-process like a user would, incl. bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from datagate.cli import main


def _tree(root: Path) -> Path:
    root.mkdir()
    (root / "train.csv").write_text("a,b\n1,2\n")
    (root / "sub").mkdir()
    (root / "sub" / "x.json").write_text('{"k": 1}\n')
    return root


def test_hash_text_json_and_verify_roundtrip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _tree(tmp_path / "d")
    assert main(["hash", str(root)]) == 0
    text = capsys.readouterr().out.splitlines()
    assert text[-1].startswith("version sha256:") and "2 files" in text[-1]
    assert main(["hash", str(root), "--format", "json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = json.loads(lines[0])
    assert header["format"] == "datagate.manifest/v1" and header["files"] == 2
    out = tmp_path / "m.jsonl"
    assert main(["hash", str(root), "--output", str(out)]) == 0
    assert out.read_text().splitlines()[0] == lines[0]
    assert main(["verify", str(root), "--manifest", str(out)]) == 0
    assert capsys.readouterr().out.startswith("PASS")
    (root / "train.csv").write_text("a,b\n1,3\n")
    assert main(["verify", str(root), "--manifest", str(out), "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["matches"] is False
    assert doc["differences"] == [
        {
            "path": "train.csv",
            "change": "content",
            "expected": doc["differences"][0]["expected"],
            "actual": doc["differences"][0]["actual"],
        }
    ]


def test_bad_input_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hash", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"datagate: error: {tmp_path / 'missing'}: no such file or directory"]
    bad = tmp_path / "notamanifest.txt"
    bad.write_text("hello\n")
    root = _tree(tmp_path / "d")
    assert main(["verify", str(root), "--manifest", str(bad)]) == 2
    msg = capsys.readouterr().err
    assert "notamanifest.txt:1: not a datagate manifest" in msg and "Traceback" not in msg


def test_verbose_shows_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hash", str(tmp_path / "missing"), "--verbose"]) == 2
    assert "Traceback" in capsys.readouterr().err


def test_output_into_missing_folder_leaves_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _tree(tmp_path / "d")
    assert main(["hash", str(root), "-o", str(tmp_path / "nodir" / "m.jsonl")]) == 2
    assert not (tmp_path / "nodir").exists()
    assert "does not exist" in capsys.readouterr().err


def test_failed_hash_leaves_no_partial_output(tmp_path: Path) -> None:
    import os

    root = _tree(tmp_path / "d")
    os.mkfifo(root / "pipe")
    out = tmp_path / "m.jsonl"
    assert main(["hash", str(root), "-o", str(out)]) == 2
    assert list(tmp_path.iterdir()) == [root], "no manifest and no temp file left behind"


def test_console_script_and_module_entry_points(tmp_path: Path) -> None:
    root = _tree(tmp_path / "d")
    r = subprocess.run(
        [sys.executable, "-m", "datagate", "hash", str(root)], capture_output=True, text=True
    )
    assert r.returncode == 0 and "version sha256:" in r.stdout
    exe = Path(sys.executable).with_name("datagate")
    r2 = subprocess.run([str(exe), "hash", str(root)], capture_output=True, text=True)
    assert r2.stdout == r.stdout
    r3 = subprocess.run([str(exe), "nosuchcommand"], capture_output=True, text=True)
    assert r3.returncode == 2


def test_verify_needs_a_manifest_a_dvc_pointer_or_a_hub_revision(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _tree(tmp_path / "d")
    assert main(["verify", str(root)]) == 2
    assert "no --manifest given" in capsys.readouterr().err
    m = tmp_path / "m.jsonl"
    assert main(["hash", str(root), "-o", str(m)]) == 0
    assert main(["verify", str(root), "-m", str(m), "--against", "hf://datasets/a/b@main"]) == 2
    assert "alternatives" in capsys.readouterr().err
    assert main(["verify", str(root), "--against", "https://example.invalid/x"]) == 2
    assert "not a Hub dataset URI" in capsys.readouterr().err


def test_verify_record_looks_the_manifest_up_in_the_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`ingest --dest` then `verify DEST --record NAME[@VERSION]`: no manifest digging by hand."""
    from tests.unit.lineage._helpers import make_tree

    src = make_tree(tmp_path / "raw")
    store = tmp_path / "store"
    assert main(["-q", "ingest", str(src), "--name", "reviews", "--dest", str(tmp_path / "out"), "--store", str(store), "--label", "label"]) == 0
    capsys.readouterr()
    assert main(["verify", str(tmp_path / "out"), "--record", "reviews", "--store", str(store)]) == 0
    capsys.readouterr()
    version = json.loads(next((store / "records" / "reviews").glob("*.json")).read_text())["content"]["root_digest"]
    assert main(["verify", str(tmp_path / "out"), "--record", f"reviews@{version.split(':')[-1][:12]}", "--store", str(store), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["matches"] is True and doc["expected_digest"] == version
    (tmp_path / "out" / "data" / "train.csv").write_text("tampered\n")
    assert main(["verify", str(tmp_path / "out"), "--record", "reviews", "--store", str(store)]) == 1
    capsys.readouterr()
    assert main(["verify", str(tmp_path / "out"), "--record", "nosuch", "--store", str(store)]) == 2
    assert "no passed version of 'nosuch'" in capsys.readouterr().err
    assert main(["verify", str(tmp_path / "out"), "--record", "reviews", "--manifest", "x"]) == 2
