"""The console script answers ``--version`` without loading the CLI framework (issue 15)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import datagate

_PROBE = """
import sys
sys.argv = ["datagate", "--version"]
from datagate._entry import main
code = main()
heavy = sorted(m for m in ("typer", "pydantic", "importlib.metadata", "datagate.cli",
                           "datagate.scan") if m in sys.modules)
print("HEAVY", code, heavy)
"""


def test_version_fast_path_imports_no_cli_framework() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    lines = out.splitlines()
    assert lines[0].startswith(f"datagate {datagate.__version__} (inventory accelerator: ")
    assert lines[1] == "HEAVY 0 []"


def test_everything_else_goes_to_the_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "datagate", "--version", "--help"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    # typer handles the eager --version: same line, exit 0
    assert done.returncode == 0
    assert done.stdout.startswith(f"datagate {datagate.__version__} ")
    usage = subprocess.run(
        [sys.executable, "-m", "datagate", "no-such-command"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert usage.returncode == 2


_GC_PROBE = """
import gc, sys
sys.argv = ["datagate", *sys.argv[1:]]
from datagate._entry import _dispatch
code, quick = _dispatch()
print("GC", code, quick, gc.get_threshold(), gc.get_freeze_count() > 0)
"""


def test_a_plain_scan_collects_garbage_less_often_and_nothing_else_does(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a\n")

    def probe(*args: str) -> str:
        out = subprocess.run(
            [sys.executable, "-c", _GC_PROBE, *args], capture_output=True, text=True, timeout=120
        ).stdout
        return [line for line in out.splitlines() if line.startswith("GC ")][-1]

    assert probe("-q", "scan", str(tmp_path), "-o", str(tmp_path / "r.json")) == "GC 0 True (20000, 20, 20) True"
    assert probe("scan", "--help") == "GC 0 False (700, 10, 10) False"  # the typer CLI, as usual
    # a scan the typer command runs (--engine is not a plain invocation) leaves the collector as
    # it found it, as it does for tests and library callers in their own processes
    typer_scan = probe("-q", "scan", str(tmp_path), "--engine", "local", "-o", str(tmp_path / "r2.json"))
    assert typer_scan == "GC 0 False (700, 10, 10) False"
