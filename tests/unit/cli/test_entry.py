"""The console script answers ``--version`` without loading the CLI framework (issue 15)."""

from __future__ import annotations

import subprocess
import sys

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
