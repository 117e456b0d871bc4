"""The README's Python API stays callable however the sub-packages are imported (issue 14)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import sys, pathlib
d = pathlib.Path(sys.argv[1])
import datagate
{imports}
print(type(datagate.scan(d)).__name__, type(datagate.check(d)).__name__)
print(type(datagate.hash_tree(d)).__name__)
"""


def _run(tmp: Path, imports: str) -> list[str]:
    (tmp / "train.csv").write_text("text,label\nhello,1\nworld,0\n")
    proc = subprocess.run(
        [sys.executable, "-c", CHILD.format(imports=imports), str(tmp)],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


def test_api_callable_before_subpackages_are_imported(tmp_path: Path) -> None:
    assert _run(tmp_path, "") == ["ScanReport", "CheckReport", "Manifest"]


def test_api_callable_after_subpackages_are_imported(tmp_path: Path) -> None:
    # Before issue 14: "'module' object is not callable".
    got = _run(tmp_path, "import datagate.scan, datagate.check\nfrom datagate.scan import engine\nfrom datagate.check import load")
    assert got == ["ScanReport", "CheckReport", "Manifest"]


def test_submodule_functions_still_reachable() -> None:
    import datagate.check
    import datagate.scan

    assert callable(datagate.scan) and callable(datagate.scan.scan)
    assert callable(datagate.check) and callable(datagate.check.run_checks)
