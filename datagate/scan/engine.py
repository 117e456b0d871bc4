"""The scan engine: sniff every file and container member, run the scanners, collect results.

:func:`scan_tree` walks a manifest (never the file system: the inventory already decided what is
there, and symlinks are recorded, never followed). Each regular file is memory-mapped read-only
and sniffed by content; every registered scanner whose ``kinds`` include the sniffed kind (or,
for polyglots, one of its secondary kinds) runs on it; child blobs a scanner yields (container
members) are sniffed and scanned in turn, down to :attr:`Limits.max_depth`.

Fail closed, never crash:

* a scanner that raises anything but a :class:`~datagate.errors.DatagateError` becomes a
  ``scan.internal_error`` finding (high) naming the exception type;
* a file that exceeds :attr:`Limits.max_seconds_per_file` becomes ``scan.timeout`` (high);
* members deeper than the limit are ``container.depth`` (high) and skipped; the decompressed
  volume of one outer file is bounded by :attr:`Limits.max_total_bytes` (``container.bomb.total``);
* content on the allowlist of plain data formats passes quietly; unrecognised bytes are
  ``content.unrecognized`` (low, medium with ``strict``); a kind that needs a scanner which is not
  registered is ``content.unscanned`` (high).

>>> from pathlib import Path
>>> import tempfile
>>> from datagate.inventory import hash_tree
>>> from datagate.scan.interface import ScanContext
>>> from datagate.scan.registry import default_scanners
>>> d = Path(tempfile.mkdtemp()); _ = (d / "a.csv").write_text("x,y\\n1,2\\n")
>>> report = scan_tree(d, hash_tree(d, use_cache=False), ctx=ScanContext(), scanners=default_scanners())
>>> report.files, report.findings
(1, ())
"""

from __future__ import annotations

import itertools
import os
import signal
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any

from datagate._system import usable_cpus
from datagate.errors import DatagateError, breadcrumb
from datagate.models import EntryKind, FileEntry, Finding, Manifest, ScanReport, Severity, Skip
from datagate.progress import NULL_PROGRESS, ProgressSink
from datagate.scan.interface import Blob, ContentKind, ScanContext, Scanner
from datagate.scan.sniff import npy_is_numeric, sniff_full

if TYPE_CHECKING:  # the process pool machinery is imported only when a pool is started
    from concurrent.futures import Future, ProcessPoolExecutor

    from datagate.engine import Engine
    from datagate.inventory import SmallFiles

__all__ = [
    "PARALLEL_MIN_BYTES",
    "PARALLEL_MIN_FILES",
    "RESPONSIBLE_SCANNER",
    "SAFE_KINDS",
    "parallel_workers",
    "scan_blob",
    "scan_tree",
    "start_pool",
]

SAFE_KINDS: frozenset[ContentKind] = frozenset(
    {
        ContentKind.EMPTY,
        ContentKind.PARQUET,
        ContentKind.ARROW,
        ContentKind.ARROW_STREAM,
        ContentKind.CSV,
        ContentKind.JSON,
        ContentKind.JSONL,
        ContentKind.TEXT,
        ContentKind.YAML,
        ContentKind.IMAGE,
        ContentKind.AUDIO,
        ContentKind.VIDEO,
        ContentKind.SAFETENSORS,
        ContentKind.HDF5,
        ContentKind.MATLAB,
        ContentKind.NETCDF,
        ContentKind.IDL_SAVE,
        ContentKind.ORC,
        ContentKind.AVRO,
        ContentKind.TFRECORD,
        ContentKind.FITS,
        ContentKind.FORTRAN,
        ContentKind.GGUF,
        ContentKind.ONNX,
        ContentKind.PDF,
    }
)
"""Plain data formats that pass quietly when no scanner objects (numeric ``.npy`` too)."""

RESPONSIBLE_SCANNER: dict[ContentKind, str] = {
    ContentKind.PICKLE: "pickles",
    ContentKind.TORCH_LEGACY: "pickles",
    ContentKind.NUMPY: "pickles",
    ContentKind.TORCH_ZIP: "containers",
    ContentKind.ZIP: "containers",
    ContentKind.TAR: "containers",
    ContentKind.SEVENZ: "containers",
    ContentKind.RAR: "containers",
    ContentKind.GZIP: "containers",
    ContentKind.BZIP2: "containers",
    ContentKind.XZ: "containers",
    ContentKind.LZMA: "containers",
    ContentKind.ZSTD: "containers",
    ContentKind.LZ4: "containers",
    ContentKind.ZLIB: "containers",
    ContentKind.ELF: "executables",
    ContentKind.PE: "executables",
    ContentKind.MACHO: "executables",
    ContentKind.MACHO_FAT: "executables",
    ContentKind.WASM: "executables",
    ContentKind.JAVA_CLASS: "executables",
    ContentKind.SHEBANG: "scripts",
    ContentKind.PYTHON: "scripts",
    ContentKind.SHELL: "scripts",
    ContentKind.BATCH: "scripts",
    ContentKind.POWERSHELL: "scripts",
    ContentKind.NOTEBOOK: "notebooks",
    ContentKind.HTML: "markup",
    ContentKind.SVG: "markup",
    ContentKind.OFFICE: "markup",
    ContentKind.LFS_POINTER: "repo",
    ContentKind.TF_SAVEDMODEL: "models",
}
"""For kinds that are not plain data: the scanner that must inspect them (else ``content.unscanned``)."""


class _Timeout(BaseException):
    """Raised (by a timer or a check between items) when a file's time budget is spent.

    A BaseException so that scanners' ``except Exception`` blocks cannot swallow it.
    """


_UNRAISABLE_FRAMES = frozenset({"__del__", "gc_callback", "_remove", "__exit__", "close"})
"""Frames where a timer exception would be lost (finalisers, callbacks) or leak resources."""


class _Deadline:
    """Per-file wall-clock budgets for one scan run: a SIGALRM timer in the main thread, plus
    explicit checks between items.

    ``with _Deadline(seconds) as deadline:`` covers the run: the SIGALRM handler is installed at
    most once and restored at the end (installing one costs more than scanning a small file).
    ``deadline.start()`` / ``deadline.stop()`` open and close each file's budget.

    With no outer timer pending when the first file starts (a plain CLI run), the timer is armed
    once and *ticks* for the whole run: start() and stop() only move the current file's end, and
    each alarm either raises in the file whose budget ran out or re-arms itself for the current
    file's end (or a full budget between files). No system call per file: arming and disarming
    around each one cost a scan of a thousand small files about as much as scanning 80 of them.

    Otherwise it nests politely with the outer timer (e.g. pytest-timeout), arming around each
    file: an outer alarm due before the file's budget is left alone, a later one is re-armed with
    its remaining time after the file. Either way an alarm that is not ours (no file is timed and
    our timer is not the one that went off) is handed to the outer handler.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds
        self._usable = (
            seconds > 0
            and hasattr(signal, "setitimer")
            and threading.current_thread() is threading.main_thread()
        )
        self._installed = False
        self._active = False
        self._armed = False
        self._ticking = False
        self._prev_handler: object = None
        self._prev: tuple[float, float] = (0.0, 0.0)
        self._start = 0.0

    def check(self) -> None:
        if time.monotonic() > self.end:
            raise _Timeout

    def _hand_on(self, signum: int, frame: FrameType | None) -> None:
        prev = self._prev_handler
        if callable(prev):
            prev(signum, frame)
        elif prev == signal.SIG_DFL:
            signal.signal(signal.SIGALRM, signal.SIG_DFL)
            signal.raise_signal(signal.SIGALRM)

    def _fire(self, signum: int, frame: FrameType | None) -> None:
        if self._ticking:
            if signal.getitimer(signal.ITIMER_REAL)[0] > 0:  # ours is pending: not our alarm
                self._hand_on(signum, frame)
                return
            left = self.end - time.monotonic()
            if not self._active or left > 0:
                signal.setitimer(signal.ITIMER_REAL, left if self._active else self.seconds)
                return
            # Again in 50 ms, until the file stops: one alarm may land where an exception
            # cannot propagate (a finaliser, a gc callback).
            signal.setitimer(signal.ITIMER_REAL, 0.05)
        elif not self._armed:  # the outer timer's alarm (ours disarms it while a file is timed)
            self._hand_on(signum, frame)
            return
        if not self._active:
            return  # our own tick, racing stop()
        if frame is not None and frame.f_code.co_name in _UNRAISABLE_FRAMES:
            return  # an exception here would be swallowed; the repeating timer fires again soon
        raise _Timeout

    def __enter__(self) -> _Deadline:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        if self._ticking:
            self._ticking = False
            signal.setitimer(signal.ITIMER_REAL, 0)
        if self._installed:
            self._installed = False
            if (
                self._prev_handler is not None
            ):  # None: not installed from Python, nothing to restore
                signal.signal(signal.SIGALRM, self._prev_handler)  # type: ignore[arg-type]  # restoring whatever was there

    def start(self) -> None:
        """Start the next file's budget (pair with :meth:`stop` in a ``finally``)."""
        self.end = time.monotonic() + self.seconds
        if self._ticking:
            self._active = True
            return
        if not self._usable:
            return
        prev = signal.getitimer(signal.ITIMER_REAL)
        if prev[0] == 0 or prev[0] > self.seconds:
            if not self._installed:
                self._prev_handler = signal.getsignal(signal.SIGALRM)
                signal.signal(signal.SIGALRM, self._fire)
                self._installed = True
                if prev[0] == 0:  # no outer timer: tick for the whole run
                    self._ticking = self._active = True
                    signal.setitimer(signal.ITIMER_REAL, self.seconds)
                    return
            self._start = time.monotonic()
            self._active = True
            self._armed = True
            # Repeat every 50 ms after the deadline: one tick may land where an exception
            # cannot propagate (a finaliser, a gc callback).
            self._prev = signal.setitimer(signal.ITIMER_REAL, self.seconds, 0.05)

    def stop(self) -> None:
        """End the current file's budget: disarm, and re-arm an outer timer with its rest."""
        self._active = False
        if not self._armed:
            return
        signal.setitimer(signal.ITIMER_REAL, 0)
        self._armed = False
        delay, interval = self._prev
        if delay > 0:
            left = max(delay - (time.monotonic() - self._start), 0.001)
            signal.setitimer(signal.ITIMER_REAL, left, interval)


def _scan_finding(
    path: str, rule: str, severity: Severity, message: str, **evidence: object
) -> Finding:
    return Finding(
        path=path, rule=rule, category="scan", severity=severity, message=message, evidence=evidence
    )


_Plan = tuple[tuple[Scanner, ContentKind, bool], ...]
_PLANS: dict[tuple[int, ContentKind, frozenset[ContentKind]], tuple[Sequence[Scanner], _Plan]] = {}


def _plan(scanners: Sequence[Scanner], kind: ContentKind, also: frozenset[ContentKind]) -> _Plan:
    """Return (scanner, kind it is handed, whether it is the kind's responsible scanner) for
    every scanner that reads ``kind`` or, for a polyglot, one of ``also``; in scanner order.

    Decided once per scanner set and sniffed kinds (a handful per run), not per file: matching
    enum members against every scanner's kinds cost more than scanning a small pickle.
    """
    key = (id(scanners), kind, also)
    hit = _PLANS.get(key)
    if hit is not None and hit[0] is scanners:
        return hit[1]
    kinds = {kind, *also}
    responsible = RESPONSIBLE_SCANNER.get(kind)
    out = []
    for scanner in scanners:
        if kind in scanner.kinds:
            view_kind = kind
        else:
            matched = scanner.kinds.intersection(kinds)
            if not matched:
                continue
            view_kind = sorted(matched, key=lambda k: k.value)[0]
        # a lazy registry stand-in is resolved here, once: its module is imported when content
        # of its kinds first turns up
        real = getattr(scanner, "real", scanner)
        out.append((real, view_kind, responsible == scanner.name))
    plan = tuple(out)
    if len(_PLANS) > 1024:
        _PLANS.clear()
    _PLANS[key] = (scanners, plan)
    return plan


class _FileScan:
    """Scans one outer file and everything inside it."""

    def __init__(self, ctx: ScanContext, scanners: Sequence[Scanner], deadline: _Deadline) -> None:
        self.ctx = ctx
        self.scanners = scanners
        self.deadline = deadline
        self.findings: list[Finding] = []
        self.skipped: list[Skip] = []
        self.child_bytes = 0
        self.total_hit = False
        self.content_type = ""

    def scan(self, blob: Blob) -> None:
        self.deadline.check()
        sniffed = sniff_full(blob.data)
        kind = sniffed.kind
        if blob.member is None:
            self.content_type = sniffed.content_type
        # The Blob constructor, not dataclasses.replace: this runs for every file and member.
        blob = Blob(
            blob.path, blob.data, blob.member, blob.depth, blob.mode, blob.name, kind,
            sniffed.detail,
        )  # fmt: skip
        covered = False
        for scanner, view_kind, responsible in _plan(self.scanners, kind, sniffed.also):
            # a polyglot's secondary kind: the scanner gets the bytes labelled as the kind it reads
            view = blob if view_kind is kind else replace(blob, kind=view_kind)
            covered = covered or responsible
            self._run(scanner, view)
        self._coverage(blob, kind, covered)

    def scan_entry(self, base: Path, entry: FileEntry, small: SmallFiles | None = None) -> None:
        """Scan the regular file ``entry`` under ``base``: read (up to 64 KiB, through ``small``
        when given) or read-only mmap, sniff, scanners.

        A file that cannot be read (vanished, permissions) is a ``scan.unreadable`` finding and
        a skip; one whose size changed since the inventory is a ``scan.file_changed`` finding.
        """
        from datagate.inventory import open_entry

        try:
            data = small.read(entry) if small is not None and entry.size <= small.limit else None
            if data is not None:
                self._scan_view(entry, memoryview(data))
            else:
                with open_entry(base, entry) as view:
                    self._scan_view(entry, view)
        except DatagateError as exc:
            if not _is_read_error(exc):
                raise
            self.findings.append(
                _scan_finding(
                    entry.path,
                    "scan.unreadable",
                    Severity.HIGH,
                    "file could not be read for scanning",
                    error=exc.message,
                )
            )
            self.skipped.append(Skip(entry.path, f"unreadable: {exc.message}"))

    def _scan_view(self, entry: FileEntry, view: memoryview) -> None:
        if len(view) != entry.size:
            self.findings.append(
                _scan_finding(
                    entry.path,
                    "scan.file_changed",
                    Severity.HIGH,
                    "file changed size since it was inventoried; the scanned bytes "
                    "may not be the hashed ones",
                    inventoried=entry.size,
                    scanned=len(view),
                )
            )
        blob = Blob(entry.path, view, name=entry.path.rsplit("/", 1)[-1], mode=entry.mode)
        self.scan(blob)
        del blob

    def _coverage(self, blob: Blob, kind: ContentKind, covered: bool) -> None:
        if kind is ContentKind.BINARY:
            self.findings.append(
                Finding(
                    path=blob.path,
                    member=blob.member,
                    rule="content.unrecognized",
                    category="content",
                    severity=Severity.MEDIUM if self.ctx.strict else Severity.LOW,
                    message="content matches no known data format; it was not inspected as data",
                    evidence={"magic": blob.detail},
                )
            )
            return
        if kind in SAFE_KINDS or covered:
            return
        if kind is ContentKind.NUMPY and npy_is_numeric(blob.data):
            return
        self.findings.append(
            Finding(
                path=blob.path,
                member=blob.member,
                rule="content.unscanned",
                category="content",
                severity=Severity.HIGH,
                message=f"{kind.value} content needs the "
                f"{RESPONSIBLE_SCANNER.get(kind, 'a')} scanner, which is not available",
                evidence={"kind": kind.value, "magic": blob.detail},
            )
        )

    def _run(self, scanner: Scanner, blob: Blob) -> None:
        items = scanner.scan(blob, self.ctx)
        try:
            for item in items:
                self.deadline.check()
                if isinstance(item, Finding):
                    self.findings.append(item)
                elif isinstance(item, Skip):
                    self.skipped.append(item)
                elif isinstance(item, Blob):
                    self._child(item)
                else:
                    raise TypeError(f"scanner yielded {type(item).__name__}")
        except (_Timeout, DatagateError):
            raise
        except Exception as exc:  # noqa: BLE001 - fail closed: a scanner bug is a finding
            self.findings.append(
                Finding(
                    path=blob.path,
                    member=blob.member,
                    rule="scan.internal_error",
                    category="scan",
                    severity=Severity.HIGH,
                    message=f"the {scanner.name} scanner failed on this content "
                    f"({type(exc).__name__}); it was not fully inspected",
                    evidence={
                        "scanner": scanner.name,
                        "exception": type(exc).__name__,
                        "detail": str(exc)[:300],
                    },
                )
            )
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    def _child(self, child: Blob) -> None:
        limits = self.ctx.limits
        if child.depth > limits.max_depth:
            self.findings.append(
                Finding(
                    path=child.path,
                    member=child.member,
                    rule="container.depth",
                    category="container",
                    severity=Severity.HIGH,
                    message=f"containers nest deeper than {limits.max_depth} levels; the innermost "
                    "content was not inspected",
                    evidence={"depth": child.depth, "limit": limits.max_depth},
                )
            )
            self.skipped.append(
                Skip(child.path, f"nested deeper than {limits.max_depth} containers", child.member)
            )
            return
        if not isinstance(child.data, memoryview):
            # Only materialised (decompressed) members count: a memoryview is a zero-copy slice
            # of bytes already counted (a stored ZIP member, an uncompressed tar member).
            self.child_bytes += len(child.data)
        if self.child_bytes > limits.max_total_bytes:
            if not self.total_hit:
                self.total_hit = True
                self.findings.append(
                    Finding(
                        path=child.path,
                        member=child.member,
                        rule="container.bomb.total",
                        category="container",
                        severity=Severity.HIGH,
                        message="possible decompression bomb: members of this file decompress to more "
                        f"than {limits.max_total_bytes} bytes in total; the rest was not inspected",
                        evidence={
                            "limit": limits.max_total_bytes,
                            "decompressed_at_least": self.child_bytes,
                        },
                    )
                )
            self.skipped.append(Skip(child.path, "decompressed volume limit reached", child.member))
            return
        self.scan(child)


def scan_blob(
    blob: Blob, *, ctx: ScanContext, scanners: Sequence[Scanner]
) -> tuple[list[Finding], list[Skip]]:
    """Scan one in-memory ``blob`` (and its members) and return its findings and skips.

    Applies the same time budget, depth and volume limits as :func:`scan_tree`. Raises only
    DatagateError subclasses raised by a scanner.
    """
    fs = _FileScan(ctx, scanners, _Deadline(ctx.limits.max_seconds_per_file))
    try:
        with fs.deadline:
            fs.deadline.start()
            try:
                fs.scan(blob)
            finally:
                fs.deadline.stop()
    except _Timeout:
        fs.findings.append(_timeout_finding(blob.path, ctx))
        fs.skipped.append(Skip(blob.path, "time budget exhausted; scan incomplete"))
    return fs.findings, fs.skipped


def _timeout_finding(path: str, ctx: ScanContext) -> Finding:
    return _scan_finding(
        path,
        "scan.timeout",
        Severity.HIGH,
        f"scanning this file took longer than {ctx.limits.max_seconds_per_file:g} s; "
        "it was not fully inspected",
        limit_seconds=ctx.limits.max_seconds_per_file,
    )


def _symlink_findings(entry: FileEntry, root: Path) -> list[Finding]:
    try:
        from datagate.scan import repo

        fn = getattr(repo, "symlink_findings", None)
    except ImportError:
        fn = None
    if fn is not None:
        try:
            return list(fn(entry, root))
        except DatagateError:
            raise
        except Exception as exc:  # noqa: BLE001 - fail closed: a scanner bug is a finding
            return [
                _scan_finding(
                    entry.path,
                    "scan.internal_error",
                    Severity.HIGH,
                    f"the symlink check failed ({type(exc).__name__}); the link was not assessed",
                    scanner="repo",
                    exception=type(exc).__name__,
                    target=entry.target,
                )
            ]
    # Minimal fallback until datagate.scan.repo exists: every symlink is reported, never followed.
    target = entry.target or ""
    parts = [
        p for p in (Path(entry.path).parent / target).as_posix().split("/") if p not in ("", ".")
    ]
    depth, escapes = 0, target.startswith("/")
    for p in parts:
        depth += -1 if p == ".." else 1
        escapes = escapes or depth < 0
    return [
        Finding(
            path=entry.path,
            rule="repo.symlink_escape" if escapes else "repo.symlink",
            category="repo",
            severity=Severity.HIGH if escapes else Severity.LOW,
            message="symlink points outside the dataset root"
            if escapes
            else "symlink inside the dataset",
            evidence={"target": target},
        )
    ]


def _sort_key(f: Finding) -> tuple[str, str, str, str]:
    return (f.path, f.member or "", f.rule, f.message)


def _dedupe(findings: Iterable[Finding]) -> list[Finding]:
    seen: set[tuple[str, str, str, str, str]] = set()
    out: list[Finding] = []
    for f in findings:
        key = (f.path, f.member or "", f.rule, f.message, f.severity.value)
        if key in seen:
            continue
        seen.add(key)
        out.append(f)
    return sorted(out, key=_sort_key)


def scan_tree(
    root: Path,
    manifest: Manifest,
    *,
    ctx: ScanContext,
    scanners: Sequence[Scanner],
    progress: ProgressSink = NULL_PROGRESS,
    workers: int | None = None,
    pool: ProcessPoolExecutor | None = None,
    engine: Engine | None = None,
) -> ScanReport:
    """Scan every entry of ``manifest`` (taken of ``root``, a folder or one file) and report.

    Large trees (:func:`parallel_workers`) are scanned by worker processes: ``pool`` (from
    :func:`start_pool`, made with the same ``ctx`` and ``scanners``), or a pool this call starts
    before any file is read. ``workers=1`` keeps everything in this process; ``workers=n`` asks
    for ``n`` processes whatever the size. ``engine`` (a non-local engine, e.g. Ray) scans the
    files as its ordered map instead (datagate's own scanners on its workers). Results do not
    depend on the number of processes or the engine.

    Returns a :class:`~datagate.models.ScanReport` with findings sorted by (path, member, rule)
    and every skipped item with its reason. Raises DatagateError subclasses only for operational
    failures a scanner reports; a bad file is a finding, never an exception.
    """
    from datagate.inventory import scan_root
    from datagate.scan.repo import name_findings

    base = scan_root(root)
    findings, skipped = name_findings(manifest)
    content_types: dict[str, int] = {}
    task = progress.task("scanning", total=len(manifest.entries), total_bytes=manifest.total_bytes)
    own_pool = None
    if pool is None and engine is None and workers != 1:
        n = parallel_workers(len(manifest.files), manifest.total_bytes, workers)
        if n > 1:
            # created before this process or any worker reads a byte of the files to scan
            own_pool = pool = start_pool(n, ctx, scanners)
    try:
        if pool is not None or engine is not None:
            for entry in manifest.entries:
                if entry.kind is EntryKind.SYMLINK:
                    findings.extend(_symlink_findings(entry, base))
                    task.advance(1, 0)
            files = [e for e in manifest.entries if e.kind is EntryKind.FILE]
            parts = _on_engine(engine, ctx, base, files) if engine is not None else _in_pool(pool, base, files)  # type: ignore[arg-type]
            for done, size, fs, sk, ct in parts:
                findings.extend(fs)
                skipped.extend(sk)
                for k, v in ct.items():
                    content_types[k] = content_types.get(k, 0) + v
                task.advance(done, size)
        else:
            from datagate.inventory import SmallFiles

            with _Deadline(ctx.limits.max_seconds_per_file) as deadline, SmallFiles(base) as small:
                for entry in manifest.entries:
                    breadcrumb("scan", entry.path)
                    if entry.kind is EntryKind.SYMLINK:
                        findings.extend(_symlink_findings(entry, base))
                        task.advance(1, 0)
                        continue
                    _scan_one(base, entry, ctx, scanners, deadline, findings, skipped,
                              content_types, small)  # fmt: skip
                    task.advance(1, entry.size)
    finally:
        task.close()
        if own_pool is not None:
            own_pool.shutdown(wait=True, cancel_futures=True)
    return ScanReport(
        target=str(root),
        root_digest=manifest.root_digest,
        findings=tuple(_dedupe(findings)),
        skipped=tuple(sorted(skipped, key=lambda s: (s.path, s.member or "", s.reason))),
        files=len(manifest.files),
        bytes=manifest.total_bytes,
        content_types=dict(sorted(content_types.items())),
    )


def _scan_one(
    base: Path,
    entry: FileEntry,
    ctx: ScanContext,
    scanners: Sequence[Scanner],
    deadline: _Deadline,
    findings: list[Finding],
    skipped: list[Skip],
    content_types: dict[str, int],
    small: SmallFiles | None = None,
) -> None:
    """Scan the regular file ``entry`` within its time budget; append what it yields."""
    fs = _FileScan(ctx, scanners, deadline)
    try:
        deadline.start()
        try:
            fs.scan_entry(base, entry, small)
        finally:
            deadline.stop()
    except _Timeout:
        fs.findings.append(_timeout_finding(entry.path, ctx))
        fs.skipped.append(Skip(entry.path, "time budget exhausted; scan incomplete"))
    findings.extend(fs.findings)
    skipped.extend(fs.skipped)
    if fs.content_type:
        content_types[fs.content_type] = content_types.get(fs.content_type, 0) + 1


# ---- worker processes -------------------------------------------------------------------------
#
# Large trees are scanned by a pool of processes created before any byte of the tree is read
# (forked from a process that has inspected nothing, or from a fork server). Each worker receives
# the scan context and the scanners once, when it starts; tasks are plain (path, size, mode)
# tuples and results plain tuples of str/int/dict/list values, so nothing crossing a process
# boundary is unpickled through a class lookup (the audit-hook test watches pickle.find_class).

PARALLEL_MIN_FILES = 2_000
"""Trees with at least this many files are scanned by worker processes (one per CPU)."""
PARALLEL_MIN_BYTES = 512 * 1024 * 1024
"""... and so are trees with at least this many bytes."""
_CHUNK_FILES = 256
_CHUNK_BYTES = 64 * 1024 * 1024

_WORKER_STATE: tuple[ScanContext, tuple[Scanner, ...]] | None = None

_Item = tuple[str, int, int]
_FindingRow = tuple[str, str | None, str, str, str, str, dict[str, Any]]


def parallel_workers(files: int, total_bytes: int, requested: int | None = None) -> int:
    """Return how many processes should scan a tree of ``files`` files and ``total_bytes``.

    ``requested``: None decides by size (one process per CPU from :data:`PARALLEL_MIN_FILES`
    files or :data:`PARALLEL_MIN_BYTES` bytes, else 1); a number is taken as given (at least 1).
    """
    if requested is not None:
        return max(1, requested)
    if files < 2 or (files < PARALLEL_MIN_FILES and total_bytes < PARALLEL_MIN_BYTES):
        return 1
    return min(usable_cpus(), 8, files)


def _worker_init(ctx: ScanContext, scanners: tuple[Scanner, ...]) -> None:
    """Set up a scanning process: its scan settings; Ctrl-C is the parent's to handle."""
    global _WORKER_STATE
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER_STATE = (ctx, scanners)


def _worker_ready() -> int:
    return os.getpid()


def start_pool(n: int, ctx: ScanContext, scanners: Sequence[Scanner]) -> ProcessPoolExecutor:
    """Start ``n`` scanning processes now and return the pool (the caller shuts it down).

    Forks when this process has no other thread (nothing to deadlock on, nothing to re-import),
    else uses a fork server. Returns once every worker is running, so a caller that starts the
    pool before reading any file knows no worker inherited a byte of it. Raises ScanError when
    the processes cannot be started."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    from datagate.errors import ScanError

    method = "fork" if threading.active_count() == 1 and sys.platform == "linux" else "forkserver"
    if method not in multiprocessing.get_all_start_methods():
        method = "spawn"
    try:
        pool = ProcessPoolExecutor(
            n,
            mp_context=multiprocessing.get_context(method),
            initializer=_worker_init,
            initargs=(ctx, tuple(scanners)),
        )
        pids = {pool.submit(_worker_ready).result() for _ in range(n)}
    except (OSError, BrokenProcessPool) as exc:
        raise ScanError(f"cannot start {n} scanning processes ({exc})") from exc
    del pids
    return pool


def _row(f: Finding) -> _FindingRow:
    return (f.path, f.member, f.rule, f.category, f.severity.value, f.message, dict(f.evidence))


def _worker_scan(
    base: str, items: list[_Item]
) -> tuple[list[_FindingRow], list[tuple[str, str, str | None]], dict[str, int]]:
    """Scan ``items`` under ``base`` in a worker; return plain rows (see the note above)."""
    assert _WORKER_STATE is not None, "worker started without _worker_init"
    ctx, scanners = _WORKER_STATE
    return _scan_items(ctx, scanners, base, items)


_ENGINE_SCANNERS: tuple[Scanner, ...] | None = None


def engine_scan(ctx: ScanContext, base: str, items: list[_Item]) -> tuple[list[_FindingRow], list[tuple[str, str, str | None]], dict[str, int]]:
    """Scan ``items`` under ``base`` as one task of an engine's map (e.g. on a Ray worker).

    The worker builds the default scanners once (datagate's own, as installed there); results
    are the plain rows :func:`_worker_scan` returns.
    """
    global _ENGINE_SCANNERS
    if _ENGINE_SCANNERS is None:
        from datagate.scan.registry import default_scanners

        _ENGINE_SCANNERS = default_scanners()
    return _scan_items(ctx, _ENGINE_SCANNERS, base, items)


def _scan_items(
    ctx: ScanContext, scanners: Sequence[Scanner], base: str, items: list[_Item]
) -> tuple[list[_FindingRow], list[tuple[str, str, str | None]], dict[str, int]]:
    findings: list[Finding] = []
    skipped: list[Skip] = []
    content_types: dict[str, int] = {}
    root = Path(base)
    from datagate.inventory import SmallFiles

    with _Deadline(ctx.limits.max_seconds_per_file) as deadline, SmallFiles(root) as small:
        for path, size, mode in items:
            entry = FileEntry(path, EntryKind.FILE, size, mode, None)
            _scan_one(root, entry, ctx, scanners, deadline, findings, skipped, content_types, small)
    return (
        [_row(f) for f in findings],
        [(s.path, s.reason, s.member) for s in skipped],
        content_types,
    )


def _chunks(files: Sequence[FileEntry]) -> Iterator[list[FileEntry]]:
    chunk: list[FileEntry] = []
    size = 0
    for e in files:
        chunk.append(e)
        size += e.size
        if len(chunk) >= _CHUNK_FILES or size >= _CHUNK_BYTES:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def _in_pool(
    pool: ProcessPoolExecutor, base: Path, files: Sequence[FileEntry]
) -> Iterator[tuple[int, int, list[Finding], list[Skip], dict[str, int]]]:
    """Scan ``files`` on ``pool``, a bounded window ahead; yield (files, bytes, findings,
    skipped, content types) per chunk. Raises ScanError when a worker dies."""
    from collections import deque
    from concurrent.futures.process import BrokenProcessPool

    from datagate.errors import ScanError

    chunks = _chunks(files)
    window: deque[tuple[list[FileEntry], Future[Any]]] = deque()
    n = getattr(pool, "_max_workers", 2)

    def submit(chunk: list[FileEntry]) -> None:
        items = [(e.path, e.size, e.mode) for e in chunk]
        window.append((chunk, pool.submit(_worker_scan, str(base), items)))

    try:
        for chunk in itertools.islice(chunks, 2 * n + 2):
            submit(chunk)
        while window:
            chunk, future = window.popleft()
            rows, skips, ct = future.result()
            for chunk2 in itertools.islice(chunks, 1):
                submit(chunk2)
            findings = [
                Finding(path=p, member=m, rule=r, category=c, severity=Severity(sev), message=msg,
                        evidence=ev)
                for p, m, r, c, sev, msg, ev in rows
            ]  # fmt: skip
            yield (len(chunk), sum(e.size for e in chunk), findings,
                   [Skip(p, reason, member) for p, reason, member in skips], ct)  # fmt: skip
    except BrokenProcessPool as exc:
        raise ScanError(
            f"a scanning process died ({exc})", hint="killed, or out of memory? run again"
        ) from exc
    finally:
        for _, future in window:
            future.cancel()


def _on_engine(
    engine: Engine, ctx: ScanContext, base: Path, files: Sequence[FileEntry]
) -> Iterator[tuple[int, int, list[Finding], list[Skip], dict[str, int]]]:
    """Scan ``files`` as ``engine``'s ordered map (chunks as for the local pool); yield what
    :func:`_in_pool` yields. Raises ScanError naming the files of a failed or lost task: what
    was not scanned never passes."""
    import functools

    from datagate.engine import Failed
    from datagate.errors import ScanError

    chunks = _chunks(files)
    task = functools.partial(engine_scan, ctx, str(base))
    window = max(4, 4 * engine.workers)
    while True:
        batch = list(itertools.islice(chunks, window))
        if not batch:
            return
        names = [c[0].path + (f" .. {c[-1].path}" if len(c) > 1 else "") for c in batch]
        items = [[(e.path, e.size, e.mode) for e in c] for c in batch]
        for chunk, name, res in zip(batch, names, engine.map(task, items, names=names), strict=True):
            if isinstance(res, Failed):
                raise ScanError(f"scanning {name} failed on the {engine.name} engine: {res.reason}", hint="run again, or use --engine local")
            rows, skips, ct = res
            findings = [
                Finding(path=p, member=m, rule=r, category=c, severity=Severity(sev), message=msg, evidence=ev)
                for p, m, r, c, sev, msg, ev in rows
            ]
            yield (len(chunk), sum(e.size for e in chunk), findings, [Skip(p, reason, member) for p, reason, member in skips], ct)


def _is_read_error(exc: DatagateError) -> bool:
    from datagate.errors import InventoryError

    return isinstance(exc, InventoryError)
