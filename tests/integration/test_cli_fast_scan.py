"""The console script's typer-free ``scan`` path gives what the typer application gives (issue 15).

Each invocation runs twice in-process, once through :func:`datagate.cli.fast.try_scan` and once
through :func:`datagate.cli.main` (typer), on trees built from the repo's fixture scripts, and
stdout, stderr and the exit code must be identical, with reports written to files compared
byte for byte. Invocations the fast path does not take fall back to typer.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from datagate.cli import main
from datagate.cli.fast import parse_scan, try_scan
from fixtures.gen import containers as gen

_TIMES = re.compile(r'("(?:duration_s|started|finished|generated_at|elapsed_s|seconds)": )("[^"]*"|[0-9.e-]+)')


def _zip(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for n, d in members:
            zf.writestr(n, d)
    return buf.getvalue()


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("fast-scan")
    gen.build(root / "containers")
    clean = root / "clean"
    clean.mkdir()
    (clean / "train.csv").write_text("text,label\nhi,1\nho,0\n")
    slip = _zip([("../../escape_dg.txt", b"x")])
    waived = root / "waived"
    waived.mkdir()
    (waived / "slip.zip").write_bytes(slip)
    policy = root / "policy.yaml"
    policy.write_text(
        textwrap.dedent(
            f"""\
            version: 1
            fail_on: high
            waivers:
              - path: slip.zip
                sha256: {hashlib.sha256(slip).hexdigest()}
                reason: reviewed, never extracted
            """
        )
    )
    return {"containers": root / "containers", "clean": clean, "waived": waived, "policy": policy, "root": root}


def _both(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[tuple[int, str, str], tuple[int, str, str]]:
    fast = try_scan(argv)
    assert fast is not None, f"the fast path declined {argv}"
    f_out, f_err = capsys.readouterr()
    slow = main(argv)
    s_out, s_err = capsys.readouterr()
    return (fast, _TIMES.sub(r"\1T", f_out), f_err), (slow, _TIMES.sub(r"\1T", s_out), s_err)


@pytest.mark.parametrize(
    "args",
    [
        ["scan", "{containers}"],
        ["scan", "{containers}", "--format", "json"],
        ["scan", "{containers}", "-f", "sarif"],
        ["-q", "scan", "{containers}", "--format=JSON", "--strict"],
        ["scan", "{clean}", "-fjson", "-v"],
        ["scan", "{clean}"],
        ["scan", "{containers}", "--fail-on", "critical"],
        ["scan", "{containers}", "--fail-on", "bogus"],
        ["scan", "{root}/no-such-dir"],
        ["scan", "{waived}", "--policy", "{policy}", "-f", "json"],
        ["scan", "{waived}", "-p", "{root}/missing-policy.yaml"],
        ["scan", "{containers}", "--format", "markdown"],
        ["scan", "{containers}", "--format", "html", "-o", "{out}"],
    ],
)
def test_fast_path_equals_typer(args: list[str], trees: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    names = {**{k: str(v) for k, v in trees.items()}, "out": str(tmp_path / "report.out")}
    argv = [a.format(**names) for a in args]
    fast, slow = _both(argv, capsys)
    assert fast == slow
    if "-o" in argv:
        assert (tmp_path / "report.out").exists()


def test_output_files_are_identical(trees: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = tmp_path / "fast.sarif", tmp_path / "typer.sarif"
    assert try_scan(["scan", str(trees["containers"]), "-f", "sarif", "--output", str(a)]) == 1
    assert main(["scan", str(trees["containers"]), "-f", "sarif", "--output", str(b)]) == 1
    capsys.readouterr()
    assert _TIMES.sub(r"\1T", a.read_text()) == _TIMES.sub(r"\1T", b.read_text())
    assert json.loads(a.read_text())["runs"][0]["results"]


@pytest.mark.parametrize(
    "argv",
    [
        ["scan", "--help"],
        ["scan", "-h", "x"],
        ["scan"],
        ["scan", "a", "b"],
        ["scan", "x", "--format", "xml"],
        ["scan", "x", "--output"],
        ["scan", "x", "--output", ""],
        ["scan", "x", "--engine", "ray"],
        ["scan", "--", "x"],
        ["--version", "scan", "x"],
        ["hash", "scan"],
        ["scan", "x", "--policy", "--strict"],
    ],
)
def test_anything_else_is_left_to_typer(argv: list[str]) -> None:
    assert parse_scan(argv) is None


_PROBE = """
import sys
sys.argv = ["datagate", "scan", sys.argv[1], "--format", "json"]
from datagate._entry import main
code = main()
heavy = sorted(m for m in ("typer", "click", "pydantic", "rich", "datagate.cli.app") if m in sys.modules)
print("HEAVY", code, heavy, file=sys.stderr)
"""


def test_console_script_scan_loads_no_cli_framework(trees: dict[str, Path]) -> None:
    proc = subprocess.run([sys.executable, "-c", _PROBE, str(trees["clean"])], capture_output=True, text=True, timeout=120)
    assert proc.stderr.strip().splitlines()[-1] == "HEAVY 0 []", proc.stderr
    assert json.loads(proc.stdout)["summary"]["files"] == 1


_RUN = """
import atexit, sys
atexit.register(lambda: print("ATEXIT RAN", file=sys.stderr))
sys.argv = ["datagate", *sys.argv[1:]]
from datagate._entry import run
run()
"""


@pytest.mark.parametrize("tree, code", [("clean", 0), ("containers", 1)])
def test_console_script_quick_exit_keeps_exit_code_output_and_atexit(
    trees: dict[str, Path], tmp_path: Path, tree: str, code: int
) -> None:
    """``run()`` skips the interpreter's teardown after a fast scan, but the gate's exit code,
    the whole report (stdout and -o file) and registered atexit handlers are all kept."""
    out = tmp_path / "r.json"
    for extra in ([], ["-o", str(out)]):
        proc = subprocess.run([sys.executable, "-c", _RUN, "scan", str(trees[tree]), "--format", "json", *extra],
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        assert proc.returncode == code, proc.stderr
        assert "ATEXIT RAN" in proc.stderr
        report = json.loads(out.read_text() if extra else proc.stdout)
        assert report["summary"]["files"] >= 1
    # python -m datagate is the same console script
    proc = subprocess.run([sys.executable, "-m", "datagate", "scan", str(trees[tree]), "--format", "json"],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == code and json.loads(proc.stdout) == report
