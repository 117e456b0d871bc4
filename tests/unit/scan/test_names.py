"""File names that are not UTF-8 or hold control characters (issue 14).

One such name used to make ``datagate scan DIR`` exit 2 without scanning anything: a one-byte
way to keep a whole repo from being scanned. Now each is a ``repo.name.undecodable`` finding
(high, raw bytes escaped) and the rest of the tree is scanned; ``hash`` still exits 2 naming
the file, since manifests are UTF-8.
"""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import pytest

from datagate.cli import main


class _Evil:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("echo DGPWNED",))


def _tree(root: Path) -> Path:
    root.mkdir()
    base = os.fsencode(root)
    (root / "model.pkl").write_bytes(pickle.dumps(_Evil(), protocol=2))  # must still be found
    (root / "ok.csv").write_text("a,b\n1,2\n")
    with open(base + b"/bad\xe9name.csv", "wb") as fh:
        fh.write(b"a,b\n1,2\n")
    os.mkdir(base + b"/d\xffir")
    with open(base + b"/d\xffir/hidden.bin", "wb") as fh:
        fh.write(b"x")
    (root / "esc\x1b[31mred.txt").write_text("hi\n")
    (root / "line\nbreak.txt").write_text("hi\n")
    return root


def test_bad_names_are_findings_and_the_rest_is_scanned(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _tree(tmp_path / "repo")
    code = main(["scan", str(root), "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1
    names = {(f["path"], f["severity"]) for f in doc["findings"] if f["rule"] == "repo.name.undecodable"}
    assert names == {
        ("bad\\xe9name.csv", "high"),
        ("d\\xffir/", "high"),
        ("esc\\x1b[31mred.txt", "high"),
        ("line\\x0abreak.txt", "high"),
    }
    # the rest of the tree was scanned: the hostile pickle next to them is still caught
    assert any(f["path"] == "model.pkl" and f["severity"] in ("high", "critical") for f in doc["findings"])
    assert doc["summary"]["files"] == 3  # model.pkl, ok.csv and the control-character name
    skipped = {s["path"] for s in doc["summary"]["skipped"]}
    assert {"bad\\xe9name.csv", "d\\xffir/", "line\\x0abreak.txt"} <= skipped


def test_text_output_never_prints_raw_control_characters(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _tree(tmp_path / "repo")
    main(["scan", str(root)])
    out = capsys.readouterr().out
    assert "\x1b" not in out and "esc\\x1b[31mred.txt" in out


def test_hash_still_exits_2_naming_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _tree(tmp_path / "repo")
    code = main(["hash", str(root)])
    err = capsys.readouterr().err
    assert code == 2
    assert "bad\\xe9name.csv" in err and "not valid UTF-8" in err
    assert "\\udc" not in err
