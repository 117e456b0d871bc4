"""libmagic is loaded without starting a process (issue 14: ``find_library`` ran ``ldconfig -p``).

The child installs an audit hook *before* anything of datagate is imported, so the first scan
(which loads python-magic and libmagic) is watched too. Imports are allowed (they raise "exec"
audit events, so that one is not watched here); any process creation fails the test.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

_CHILD = textwrap.dedent(
    """\
    import sys
    bad = []
    def hook(event, args):
        if event in ("subprocess.Popen", "os.posix_spawn", "os.spawn", "os.exec", "os.fork",
                     "os.forkpty", "os.system", "os.startfile", "pty.spawn"):
            bad.append((event, str(args)[:200]))
    sys.addaudithook(hook)
    import datagate.scan
    import pathlib
    root = pathlib.Path(sys.argv[1])
    report = datagate.scan.scan(root)
    print("magic" in sys.modules, sorted(set(bad)))
    sys.exit(1 if bad else 0)
    """
)


def test_first_scan_loads_libmagic_without_a_process(tmp_path: Path) -> None:
    # bytes datagate's own checks do not place make the sniffer consult libmagic
    (tmp_path / "blob.bin").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "notes.txt").write_text("hello\n")
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(tmp_path)], capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    loaded, bad = proc.stdout.split(" ", 1)
    assert loaded == "True"  # libmagic really was consulted
    assert bad.strip() == "[]"


def test_libmagic_path_finds_the_library() -> None:
    from datagate.scan.sniff import import_magic, libmagic_path

    assert libmagic_path() is not None
    magic = import_magic()
    assert magic.from_buffer(b"%PDF-1.4\n", mime=True) == "application/pdf"
