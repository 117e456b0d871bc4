"""Atomic writes: nothing half-written, no temp file left on any exit path, umask honoured (issue 14)."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from datagate.atomic import (
    atomic_write_bytes,
    atomic_writer,
    is_stream_target,
    sweep_stale_temps,
    temp_name,
)
from datagate.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_outputs_honour_the_umask(tmp_path: Path, capsys: pytest.CaptureFixture[str], umask: int) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.txt").write_text("a\n")
    old = os.umask(umask)
    try:
        assert main(["-q", "hash", str(tmp_path / "data"), "-o", str(tmp_path / "m.json")]) == 0
        atomic_write_bytes(tmp_path / "b.bin", b"x")
    finally:
        os.umask(old)
    capsys.readouterr()
    assert (tmp_path / "m.json").stat().st_mode & 0o777 == 0o666 & ~umask
    assert (tmp_path / "b.bin").stat().st_mode & 0o777 == 0o666 & ~umask


def test_exception_in_the_block_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_writer(target) as fh:
        fh.write(b"half")
        raise RuntimeError("stop")
    assert target.read_bytes() == b"old"
    assert _leftovers(tmp_path) == []


CHILD = """
import os, signal, sys
# Ctrl-C as a foreground command gets it: a job started in the background by a non-interactive
# shell (CI run as "bash .ci/run &") inherits SIGINT ignored, and Python keeps it ignored
signal.signal(signal.SIGINT, signal.default_int_handler)
import datagate.inventory
real = datagate.inventory.write_manifest
def killed(path, out, **kw):
    out.write(b"partial manifest\\n")
    out.flush()
    os.kill(os.getpid(), signal.{sig})
    raise AssertionError("the signal did not interrupt")
datagate.inventory.write_manifest = killed
from datagate.cli import main
sys.exit(main(["hash", sys.argv[1], "-o", sys.argv[2]]))
"""


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGHUP", "SIGINT"])
def test_a_signal_during_hash_o_leaves_no_temp_file(tmp_path: Path, sig: str) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.txt").write_text("a\n")
    out = tmp_path / "out" / "m.json"
    out.parent.mkdir()
    out.write_bytes(b"previous")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", CHILD.format(sig=sig), str(tmp_path / "data"), str(out)],
        env=env, capture_output=True, text=True, timeout=300,
    )
    expected = 130 if sig == "SIGINT" else 128 + getattr(signal, sig)
    assert proc.returncode == expected, proc.stderr
    assert "Traceback" not in proc.stderr
    assert out.read_bytes() == b"previous"
    assert _leftovers(out.parent) == []


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temps_of_a_killed_writer_are_removed_by_the_next_write(tmp_path: Path) -> None:
    target = tmp_path / "m.json"
    dead = tmp_path / f".m.json.tmp-{_dead_pid()}-0badc0de"
    dead.write_bytes(b"left by SIGKILL")
    mine = temp_name(target)  # a live writer (this process): must survive
    mine.write_bytes(b"in progress")
    legacy_old = tmp_path / ".m.json.k2j4h5g6.tmp"  # the pattern of older versions
    legacy_old.write_bytes(b"old")
    hour_ago = time.time() - 7200
    os.utime(legacy_old, (hour_ago, hour_ago))
    legacy_new = tmp_path / ".m.json.abcdefgh.tmp"
    legacy_new.write_bytes(b"maybe in progress")
    other = tmp_path / f".other.json.tmp-{_dead_pid()}-00000000"  # another target's: not ours to judge
    other.write_bytes(b"x")

    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new"
    assert not dead.exists() and not legacy_old.exists()
    assert mine.exists() and legacy_new.exists() and other.exists()
    assert sweep_stale_temps(target) == []


def test_streams_are_not_files_to_replace(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "file").write_bytes(b"x")
    os.symlink(tmp_path / "pipe", tmp_path / "link-to-pipe")
    assert is_stream_target(Path("/dev/null")) and is_stream_target(tmp_path / "pipe")
    assert is_stream_target(tmp_path / "link-to-pipe")
    assert not is_stream_target(tmp_path / "file") and not is_stream_target(tmp_path / "missing")
    assert not is_stream_target(tmp_path)


def test_output_to_a_named_pipe_writes_through_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--output /dev/null`` (or a pipe) once renamed a temp file over the device node: as root,
    /dev/null became a regular file. A named pipe takes the same path, safely."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.txt").write_text("a\n")
    pipe = tmp_path / "out.json"
    os.mkfifo(pipe)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(pipe.read_bytes()))
    reader.start()
    try:
        code = main(["-q", "hash", str(tmp_path / "data"), "-o", str(pipe)])
    finally:
        if reader.is_alive():  # the writer never opened it: unblock the reader
            with open(pipe, "wb"):
                pass
        reader.join(timeout=30)
    capsys.readouterr()
    assert code == 0
    assert stat.S_ISFIFO(os.lstat(pipe).st_mode)  # still the pipe, not a file renamed over it
    assert b"a.txt" in got[0]
    assert _leftovers(tmp_path) == []
