"""One boundary for the unexpected (issue 14): exit 2, one line, lineage run closed.

A real bug cannot be planted in the library for a test, so these tests make one real library
function raise (monkeypatch) and check what the user sees, and what is left on disk.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import datagate.check
import datagate.check.schema
from datagate.cli import main
from tests.unit.lineage._helpers import make_tree

ROOT = Path(__file__).resolve().parents[2]


def _boom(*args: object, **kwargs: object) -> None:
    raise RuntimeError("planted bug\nsecond line")


def _two_widths(root: Path) -> Path:
    # Two shards of one split. A bug inside a shard's map task is that shard's check ``error``
    # (the engine's contract, tested in tests/unit/engine); the bug planted below is in the
    # driver's evaluation, after the last shard was read, which no task boundary catches.
    import pyarrow as pa
    import pyarrow.parquet as pq

    root.mkdir()
    pq.write_table(pa.table({"x": pa.array([1, 2], pa.int64()), "label": [0, 1]}), root / "train-0.parquet")
    pq.write_table(pa.table({"x": pa.array([3, 4], pa.int32()), "label": [0, 1]}), root / "train-1.parquet")
    return root


def test_unexpected_exception_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    data = _two_widths(tmp_path / "ds")
    monkeypatch.setattr(datagate.check.schema, "evaluate", _boom)
    code = main(["check", str(data)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().splitlines() == [
        "datagate: internal error in check on train-1.parquet: RuntimeError: planted bug "
        "(re-run with --verbose for the traceback)"
    ]


def test_verbose_shows_the_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    data = _two_widths(tmp_path / "ds")
    monkeypatch.setattr(datagate.check.schema, "evaluate", _boom)
    code = main(["--verbose", "check", str(data)])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" in err and "internal error in check on train-1.parquet" in err


def _events(store: Path) -> list[str]:
    lines = (store / "openlineage.jsonl").read_text().splitlines()
    return [json.loads(line)["eventType"] for line in lines]


def test_ingest_closes_its_lineage_run_on_a_bug(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    tree = make_tree(tmp_path / "src", rows=20)
    store = tmp_path / "store"
    monkeypatch.setattr(datagate.check, "run_checks", _boom)
    code = main(["-q", "ingest", str(tree), "--store", str(store), "--no-cache"])
    err = capsys.readouterr().err
    assert code == 2
    assert "internal error in check on" in err and "Traceback" not in err
    assert _events(store) == ["START", "FAIL"]


CHILD = """
import os, signal, sys
import datagate.check
def killed(*a, **k):
    os.kill(os.getpid(), signal.SIGTERM)
    raise AssertionError("SIGTERM did not interrupt")
datagate.check.run_checks = killed
from datagate.cli import main
sys.exit(main(["-q", "ingest", sys.argv[1], "--store", sys.argv[2], "--no-cache"]))
"""


def test_sigterm_closes_the_lineage_run(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "src", rows=20)
    store = tmp_path / "store"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(tree), str(store)], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 128 + signal.SIGTERM, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == f"datagate: terminated by signal {int(signal.SIGTERM)}"
    assert _events(store) == ["START", "FAIL"]
