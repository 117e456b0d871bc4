"""Large trees are scanned by worker processes (issue 15): same report as one process, workers
started before any byte of the tree is read, and nothing inspected runs in any of them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from datagate.scan import scan
from datagate.scan.engine import PARALLEL_MIN_FILES, parallel_workers
from fixtures.gen import containers as container_gen
from fixtures.gen import pickles as pickle_gen

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("workers")
    pickle_gen.build(root / "p")
    container_gen.build(root / "c")
    return root


def test_worker_count_follows_the_tree_size() -> None:
    assert parallel_workers(10, 10_000) == 1
    assert parallel_workers(PARALLEL_MIN_FILES, 0) >= 1
    assert parallel_workers(5, 0, requested=3) == 3
    assert parallel_workers(5, 0, requested=0) == 1


def test_workers_give_the_same_report_as_one_process(tree: Path) -> None:
    one = scan(tree, workers=1)
    two = scan(tree, workers=2)
    assert len(one.findings) > 100
    assert two.findings == one.findings
    assert two.skipped == one.skipped
    assert two.content_types == one.content_types
    assert (two.files, two.bytes, two.root_digest) == (one.files, one.bytes, one.root_digest)


_AUDIT_CHILD = textwrap.dedent(
    """\
    import json, os, sys
    import datagate.scan
    root, log = os.path.abspath(sys.argv[1]), sys.argv[2]
    # warm up: every lazy import of the scanners happens in this process (workers are forked
    # from it), and so do those of the process pool (a scan of one file by two workers)
    datagate.scan.scan(root, workers=1)
    datagate.scan.scan(sys.argv[3], workers=2)
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    BAD = ("os.system", "subprocess.Popen", "os.posix_spawn", "os.spawn", "os.exec", "exec",
           "pickle.find_class", "os.fork", "os.startfile", "ctypes.dlopen")
    def hook(event, args):
        if event == "open":
            if isinstance(args[0], str) and args[0].startswith(root + os.sep):
                os.write(fd, f"{os.getpid()} open -\\n".encode())
        elif event in BAD or event.startswith(("os.exec", "os.spawn", "os.posix_spawn")):
            detail = ".".join(map(str, args[:2])) if event == "pickle.find_class" else ""
            os.write(fd, f"{os.getpid()} {event} {detail}\\n".encode())
    sys.addaudithook(hook)
    report = datagate.scan.scan(root, workers=2)
    print(json.dumps({"pid": os.getpid(), "findings": len(report.findings)}))
    """
)


def test_workers_start_before_any_byte_is_read_and_run_nothing(tree: Path, tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    small = tmp_path / "small"
    small.mkdir()
    (small / "a.csv").write_text("a,b\n1,2\n")
    proc = subprocess.run(
        [sys.executable, "-c", _AUDIT_CHILD, str(tree), str(log), str(small)],
        capture_output=True, text=True, timeout=300, cwd=REPO, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["findings"] > 100
    assert "DGPWNED" not in proc.stdout + proc.stderr
    events = [(line + "  ").split(" ", 2)[:3] for line in log.read_text().splitlines()]
    parent = str(out["pid"])
    forks = [i for i, (pid, ev, _) in enumerate(events) if ev == "os.fork"]
    opens = [i for i, (pid, ev, _) in enumerate(events) if ev == "open"]
    # two workers, forked by the scan before any file of the tree was opened by anyone
    assert [events[i][0] for i in forks] == [parent, parent]
    assert opens and max(forks) < min(opens)
    # workers really read the files (not only the parent)
    assert {events[i][0] for i in opens} - {parent}
    # and nothing else: no process, no exec, and no class looked up by an unpickler but the
    # process pool's own messages (its call/result records and the worker functions)
    pool_protocol = {
        "concurrent.futures.process._CallItem", "concurrent.futures.process._ResultItem",
        "datagate.scan.engine._worker_scan", "datagate.scan.engine._worker_ready",
    }  # fmt: skip
    lookups = {e[2].strip() for e in events if e[1] == "pickle.find_class"}
    assert lookups <= pool_protocol, lookups - pool_protocol
    assert [e for e in events if e[1] not in ("open", "os.fork", "pickle.find_class")] == []


@pytest.mark.slow
def test_a_tree_past_the_threshold_uses_workers_by_itself(tree: Path, tmp_path: Path) -> None:
    root = tmp_path / "big"
    shutil.copytree(tree / "p", root / "p")
    filler = root / "filler"
    filler.mkdir()
    for i in range(PARALLEL_MIN_FILES):
        (filler / f"r{i:05d}.csv").write_text(f"a,b\n{i},{i * 2}\n")
    auto = scan(root)
    one = scan(root, workers=1)
    assert auto.findings == one.findings and auto.files == one.files


def test_rough_size_counts_the_same_with_and_without_the_accelerator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker decision's tree size: regular files and their bytes, folders walked, links and
    pipes not counted; the same from the C listing as from os.scandir."""
    import os

    from datagate._system import usable_cpus
    from datagate.inventory import native as native_mod
    from datagate.scan import _rough_size
    from datagate.scan.engine import parallel_workers

    tree, many = tmp_path / "tree", tmp_path / "many"
    (tree / "a" / "b").mkdir(parents=True)
    (tree / "x.bin").write_bytes(b"x" * 10)
    (tree / "a" / "y.bin").write_bytes(b"y" * 200)
    (tree / "a" / "b" / "z.bin").write_bytes(b"z" * 3000)
    os.symlink("x.bin", tree / "link")
    many.mkdir()
    for i in range(2100):
        (many / f"f{i}").write_bytes(b"")
    answers: list[list[object]] = []
    for accelerated in (True, False):
        if not accelerated:
            monkeypatch.setattr(native_mod, "native", None)
        got: list[object] = [_rough_size(tree)]
        os.mkfifo(tree / "a" / "pipe")  # the C call declines that folder: counted the Python way
        got.append(_rough_size(tree))
        os.unlink(tree / "a" / "pipe")
        got.append(parallel_workers(*_rough_size(many)))
        answers.append(got)
    assert answers[0] == answers[1] == [(3, 3210), (3, 3210), min(usable_cpus(), 8)]
