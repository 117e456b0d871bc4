"""The scan engine: every file sniffed and scanned, members recursed, failures are findings."""

from __future__ import annotations

import io
import os
import signal
import tarfile
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest

from datagate.errors import ScanError
from datagate.inventory import hash_tree
from datagate.models import Finding, ScanReport, Severity, Skip
from datagate.scan.engine import _Deadline, _Timeout, scan_blob, scan_tree
from datagate.scan.interface import Blob, ContentKind, Limits, ScanContext, ScanItem, Scanner
from datagate.scan.registry import default_scanners
from fixtures.gen.containers import _png, payload_pickle


def _scan(
    root: Path, *, ctx: ScanContext | None = None, scanners: tuple[Scanner, ...] | None = None
) -> ScanReport:
    return scan_tree(
        root,
        hash_tree(root, use_cache=False),
        ctx=ctx or ScanContext(),
        scanners=default_scanners() if scanners is None else scanners,
    )


def _zip(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for n, d in members:
            zf.writestr(n, d)
    return buf.getvalue()


def _tar_gz(members: list[tuple[str, bytes, int]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data, mode in members:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_benign_data_stays_quiet(tmp_path: Path) -> None:
    table = pa.table({"text": ["a", "b", "c"], "label": [0, 1, 0]})
    pq.write_table(table, tmp_path / "train.parquet")
    with ipc.new_file(tmp_path / "train.arrow", table.schema) as w:
        w.write(table)
    (tmp_path / "train.csv").write_text("text,label\nhello,1\nworld,0\n")
    (tmp_path / "meta.json").write_text('{"name": "demo", "splits": ["train"]}')
    (tmp_path / "rows.jsonl").write_text('{"a": 1}\n{"a": 2}\n')
    (tmp_path / "README.md").write_text("# Demo dataset\n\nSome text.\n")
    (tmp_path / "img.png").write_bytes(_png(8, 8, 3))
    np.save(tmp_path / "x.npy", np.arange(100, dtype=np.float64))
    np.savez(tmp_path / "arrays.npz", a=np.ones((4, 4)), b=np.arange(3))
    (tmp_path / "empty.txt").write_bytes(b"")
    report = _scan(tmp_path)
    assert report.files == 10
    assert [f for f in report.findings if f.severity >= Severity.HIGH] == []
    assert report.skipped == ()


def test_polyglot_runs_the_pickle_scanner_and_the_zip_reader(tmp_path: Path) -> None:
    inner = payload_pickle("inner")
    (tmp_path / "model.pkl").write_bytes(
        payload_pickle("outer") + _zip([("archive/data.pkl", inner)])
    )
    report = _scan(tmp_path)
    members = {
        f.member for f in report.findings if f.category == "pickle" and f.severity >= Severity.HIGH
    }
    assert members == {None, "archive/data.pkl"}


def test_member_chain_and_exec_bit_inside_nested_containers(tmp_path: Path) -> None:
    elf = Path("/bin/true").read_bytes()[:4096]
    inner = _tar_gz([("bin/helper", elf, 0o755), ("data/a.csv", b"a,b\n1,2\n", 0o644)])
    (tmp_path / "outer.zip").write_bytes(_zip([("inner.tar.gz", inner)]))
    report = _scan(tmp_path)
    exe = [f for f in report.findings if f.category == "executable"]
    assert exe and {f.member for f in exe} == {"inner.tar.gz/bin/helper"}
    assert all(f.path == "outer.zip" for f in report.findings)


def test_depth_limit_is_a_finding_and_a_skip(tmp_path: Path) -> None:
    data = payload_pickle("deep")
    for i in range(5):
        data = _zip([(f"l{i}.zip" if i else "p.pkl", data)])
    (tmp_path / "deep.zip").write_bytes(data)
    report = _scan(tmp_path, ctx=ScanContext(limits=Limits(max_depth=3)))
    assert "container.depth" in {f.rule for f in report.findings}
    assert any("deeper than 3" in s.reason for s in report.skipped)
    # with the default depth the payload inside is found
    full = _scan(tmp_path)
    assert any(f.category == "pickle" and f.severity is Severity.CRITICAL for f in full.findings)


def test_total_decompressed_volume_across_nesting(tmp_path: Path) -> None:
    members = [(f"m{i}.bin", bytes([i]) * 4000) for i in range(6)]
    (tmp_path / "a.zip").write_bytes(_zip([("inner.zip", _zip(members))]))
    report = _scan(tmp_path, ctx=ScanContext(limits=Limits(max_total_bytes=10_000)))
    assert "container.bomb.total" in {f.rule for f in report.findings}
    assert report.skipped


def test_unrecognized_binary_is_low_or_medium_when_strict(tmp_path: Path) -> None:
    (tmp_path / "blob.dat").write_bytes(bytes((i * 7919 + 13) % 251 for i in range(4096)))
    low = _scan(tmp_path)
    assert [(f.rule, f.severity) for f in low.findings] == [("content.unrecognized", Severity.LOW)]
    strict = _scan(tmp_path, ctx=ScanContext(strict=True))
    assert [(f.rule, f.severity) for f in strict.findings] == [
        ("content.unrecognized", Severity.MEDIUM)
    ]


def test_content_without_its_scanner_is_unscanned(tmp_path: Path) -> None:
    (tmp_path / "a.pkl").write_bytes(payload_pickle("noscanner"))
    np.save(tmp_path / "num.npy", np.arange(3))
    np.save(tmp_path / "obj.npy", np.array([None, {"a": 1}], dtype=object), allow_pickle=True)
    report = _scan(tmp_path, scanners=())
    got = {(f.path, f.rule, f.severity) for f in report.findings}
    assert got == {
        ("a.pkl", "content.unscanned", Severity.HIGH),
        ("obj.npy", "content.unscanned", Severity.HIGH),
    }


class _Boom:
    """A scanner that raises after its first item."""

    name = "boom"
    kinds: frozenset[ContentKind] = frozenset(ContentKind)

    def __init__(self, exc: BaseException | None = None) -> None:
        self.exc = exc or ValueError("boom")

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterator[ScanItem]:
        yield Skip(blob.path, "about to fail")
        raise self.exc


class _Spin:
    """A scanner that runs (almost) forever, yielding or not."""

    name = "spin"
    kinds: frozenset[ContentKind] = frozenset(ContentKind)

    def __init__(self, yields: bool = False) -> None:
        self.yields = yields

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterator[ScanItem]:
        end = time.monotonic() + 30
        while time.monotonic() < end:
            if self.yields:
                yield Skip(blob.path, "tick")
        yield Finding(blob.path, "never", "scan", Severity.INFO, "unreachable")


def test_scanner_exception_is_an_internal_error_finding(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("a,b\n1,2\n")
    (tmp_path / "b.csv").write_text("a,b\n3,4\n")
    report = _scan(tmp_path, scanners=(_Boom(),))
    errs = [f for f in report.findings if f.rule == "scan.internal_error"]
    assert [f.path for f in errs] == ["a.csv", "b.csv"]
    assert errs[0].evidence["exception"] == "ValueError" and errs[0].severity is Severity.HIGH


def test_datagate_errors_from_scanners_propagate(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ScanError):
        _scan(tmp_path, scanners=(_Boom(exc=ScanError("cannot run")),))


# The budget's SIGALRM can land inside another library's gc callback (hypothesis registers
# one), where Python reports it as "unraisable" and drops it; the repeating timer fires again,
# so the budget still holds, but pytest would turn the report into an error.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("yields", [False, True], ids=["busy-loop", "yielding"])
@pytest.mark.parametrize("outer", [True, False], ids=["outer-timer", "ticking"])
def test_time_budget_per_file(tmp_path: Path, yields: bool, outer: bool) -> None:
    (tmp_path / "a.csv").write_text("a,b\n1,2\n")
    (tmp_path / "b.csv").write_text("a,b\n1,2\n")
    ctx = ScanContext(limits=Limits(max_seconds_per_file=0.3))
    # pytest-timeout's own timer is the outer one; without it the budget timer ticks for the run
    saved = signal.setitimer(signal.ITIMER_REAL, 600.0 if outer else 0)
    try:
        report = _scan(tmp_path, ctx=ctx, scanners=(_Spin(yields=yields),))
    finally:
        signal.setitimer(signal.ITIMER_REAL, *saved)
    assert [f.path for f in report.findings if f.rule == "scan.timeout"] == ["a.csv", "b.csv"]
    # cut short by the budget: a spin that ran to its end (30 s) would have reported "never"
    assert not [f for f in report.findings if f.rule == "never"]
    assert any(s.reason.startswith("time budget") for s in report.skipped)


@contextmanager
def _outer_alarm(seconds: float) -> Iterator[tuple[Callable[[int, object], None], list[int]]]:
    """An outer SIGALRM handler, as pytest-timeout installs one, recording the alarms it gets, with
    its timer set to ``seconds`` (0: none pending); both are restored afterwards."""
    calls: list[int] = []

    def outer(signum: int, frame: object) -> None:
        calls.append(signum)

    previous = signal.signal(signal.SIGALRM, outer)
    saved = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield outer, calls
    finally:
        signal.setitimer(signal.ITIMER_REAL, *saved)
        signal.signal(signal.SIGALRM, previous)


def test_budget_handler_is_installed_once_and_hands_outer_alarms_on() -> None:
    """With an outer timer pending, the timer is armed around each file: the SIGALRM handler
    stays for the run, an alarm between files is the outer timer's, and the outer timer is
    re-armed with what it had left."""
    with _outer_alarm(1000.0) as (outer, calls):
        with _Deadline(30.0) as deadline:
            deadline.start()
            assert not deadline._ticking and signal.getitimer(signal.ITIMER_REAL)[0] <= 30.0
            deadline.stop()
            assert 990.0 < signal.getitimer(signal.ITIMER_REAL)[0] <= 1000.0  # the outer's, back
            assert signal.getsignal(signal.SIGALRM) == deadline._fire  # still ours
            signal.raise_signal(signal.SIGALRM)  # no file is timed: the outer timer's alarm
            assert calls == [signal.SIGALRM]
            deadline.start()
            with pytest.raises(_Timeout):
                signal.raise_signal(signal.SIGALRM)  # a file's budget ran out
            deadline.stop()
            assert calls == [signal.SIGALRM]
        assert signal.getsignal(signal.SIGALRM) is outer  # restored after the run


def test_without_an_outer_timer_the_budget_timer_ticks_for_the_run() -> None:
    """No outer timer: armed once; files move their end; an alarm re-arms itself for the current
    file, raises in a file whose budget ran out, and one that is not ours is handed on."""
    with _outer_alarm(0) as (outer, calls):
        with _Deadline(30.0) as deadline:
            deadline.start()
            assert deadline._ticking
            deadline.stop()
            deadline.start()  # no system call: the same timer
            assert 29.0 < signal.getitimer(signal.ITIMER_REAL)[0] <= 30.0
            signal.raise_signal(signal.SIGALRM)  # our timer is still pending: not ours
            assert calls == [signal.SIGALRM]
            signal.setitimer(signal.ITIMER_REAL, 0)  # as if ours went off, budget left
            signal.raise_signal(signal.SIGALRM)
            assert 29.0 < signal.getitimer(signal.ITIMER_REAL)[0] <= 30.0  # re-armed for the file
            deadline.end = time.monotonic() - 1  # this file's budget ran out
            signal.setitimer(signal.ITIMER_REAL, 0)
            with pytest.raises(_Timeout):
                signal.raise_signal(signal.SIGALRM)
            assert 0 < signal.getitimer(signal.ITIMER_REAL)[0] <= 0.05  # again soon, until stop
            deadline.stop()
            assert calls == [signal.SIGALRM]
        assert signal.getitimer(signal.ITIMER_REAL)[0] == 0  # disarmed after the run
        assert signal.getsignal(signal.SIGALRM) is outer


def test_symlinks_are_reported_never_followed(tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_text("a,b\n1,2\n")
    os.symlink("/etc/passwd", tmp_path / "evil.pkl")
    os.symlink("data.csv", tmp_path / "alias.csv")
    report = _scan(tmp_path)
    evil = [f for f in report.findings if f.path == "evil.pkl"]
    assert evil and max(f.severity for f in evil) >= Severity.HIGH
    assert all(f.category != "pickle" for f in report.findings)


def test_findings_are_sorted_by_path_member_rule(tmp_path: Path) -> None:
    (tmp_path / "b.zip").write_bytes(
        _zip([("z.pkl", payload_pickle("z")), ("a.pkl", payload_pickle("a"))])
    )
    (tmp_path / "a.pkl").write_bytes(payload_pickle("top"))
    report = _scan(tmp_path)
    keys = [(f.path, f.member or "", f.rule) for f in report.findings]
    assert keys == sorted(keys)
    assert {k[0] for k in keys} == {"a.pkl", "b.zip"}


def test_single_file_target(tmp_path: Path) -> None:
    target = tmp_path / "one.pkl"
    target.write_bytes(payload_pickle("single"))
    report = scan_tree(
        target, hash_tree(target, use_cache=False), ctx=ScanContext(), scanners=default_scanners()
    )
    assert report.files == 1
    assert {f.path for f in report.findings} == {"one.pkl"}


def test_scan_blob_in_memory() -> None:
    findings, skipped = scan_blob(
        Blob("mem.zip", _zip([("x.pkl", payload_pickle("mem"))]), name="mem.zip"),
        ctx=ScanContext(),
        scanners=default_scanners(),
    )
    assert any(f.member == "x.pkl" and f.severity is Severity.CRITICAL for f in findings)
    assert skipped == []


def test_file_vanished_or_changed_after_inventory(tmp_path: Path) -> None:
    (tmp_path / "gone.csv").write_text("a,b\n1,2\n")
    (tmp_path / "grew.csv").write_text("a,b\n1,2\n")
    manifest = hash_tree(tmp_path, use_cache=False)
    (tmp_path / "gone.csv").unlink()
    (tmp_path / "grew.csv").write_text("a,b\n1,2\n3,4\n")
    report = scan_tree(tmp_path, manifest, ctx=ScanContext(), scanners=default_scanners())
    got = {(f.path, f.rule, f.severity) for f in report.findings}
    assert ("gone.csv", "scan.unreadable", Severity.HIGH) in got
    assert ("grew.csv", "scan.file_changed", Severity.HIGH) in got
    assert [s.path for s in report.skipped] == ["gone.csv"]


def test_public_scan_applies_policy_limits_and_strict(tmp_path: Path) -> None:
    from datagate.config import Policy
    from datagate.errors import ConfigError
    from datagate.scan import scan

    (tmp_path / "a.zip").write_bytes(_zip([("m.bin", b"x" * 5000)]))
    (tmp_path / "blob.dat").write_bytes(bytes((i * 7919 + 13) % 251 for i in range(4096)))
    policy = Policy(scan={"strict": True, "limits": {"max_member_bytes": 1000}})
    report = scan(tmp_path, policy=policy)
    rules = {(f.rule, f.severity) for f in report.findings}
    assert ("container.bomb.size", Severity.HIGH) in rules
    assert ("content.unrecognized", Severity.MEDIUM) in rules
    with pytest.raises(ConfigError, match="max_bogus"):
        scan(tmp_path, policy=Policy(scan={"limits": {"max_bogus": 1}}))
