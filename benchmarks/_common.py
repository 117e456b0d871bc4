"""Shared helpers for the benchmark scripts: run a tool as a subprocess and measure it.

Each measured command runs as a child process; wall time comes from ``time.perf_counter`` around
the child's whole life and CPU time and peak RSS from ``os.wait4``'s rusage, which on Linux covers
the child and every descendant it waited for (so ``sh -c 'find | xargs sha256sum'`` reports the
largest process of the pipeline). Linux charges a child's pre-``exec`` copy of its parent to the
child's peak RSS, so a child forked straight from this (large) Python process would report at
least our own size; when GNU ``/usr/bin/time`` exists the command therefore runs under it and the
peak RSS is the one ``time -f %M`` reports for its (small-parent) child. Benchmarks are scripts,
not tests: nothing here asserts on timings.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "REPO",
    "Run",
    "fmt_bytes",
    "fmt_s",
    "machine_facts",
    "md_table",
    "median_run",
    "run",
    "warm",
]

REPO = Path(__file__).resolve().parent.parent
"""The repository root (benchmarks/ lives directly under it)."""

_GNU_TIME = "/usr/bin/time" if Path("/usr/bin/time").exists() else None


@dataclass(frozen=True)
class Run:
    """One measured child process."""

    argv: tuple[str, ...]
    """What was run."""
    wall: float
    """Wall-clock seconds from spawn to reap."""
    user: float
    """User CPU seconds (child and its waited-for descendants)."""
    sys: float
    """System CPU seconds."""
    maxrss_kib: int
    """Peak resident set size in KiB of the largest process in the child's tree."""
    rc: int
    """Exit status (negative: killed by that signal)."""
    stdout: str
    """Captured standard output (empty when it was discarded)."""
    stderr: str
    """Captured standard error."""

    @property
    def cmd(self) -> str:
        """Return the command as a shell string (an inline multi-line script is shown as a tag)."""
        return shlex.join(a if "\n" not in a else "<inline script>" for a in self.argv)


def run(
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    keep_stdout: bool = True,
    timeout: float | None = None,
) -> Run:
    """Run ``argv`` to completion and return its wall time, CPU time and peak RSS.

    stdout is captured when ``keep_stdout`` (else sent to /dev/null, which is what a benchmark of
    a tool's own work wants); stderr is always captured. Output goes through temporary files, not
    pipes, so a chatty child never blocks. Raises subprocess.TimeoutExpired after killing the
    child when ``timeout`` passes.
    """
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    timer = _GNU_TIME if _GNU_TIME and os.access(_GNU_TIME, os.X_OK) else None
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile(prefix="bench-rss-") as rssf:
        spawn = [timer, "-f", "%M", "-o", rssf.name, *argv] if timer else list(argv)
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            spawn,
            cwd=cwd,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=out if keep_stdout else subprocess.DEVNULL,
            stderr=err,
        )
        deadline = None if timeout is None else t0 + timeout
        while True:
            pid, status, ru = os.wait4(proc.pid, os.WNOHANG if deadline else 0)
            if pid:
                break
            if deadline and time.perf_counter() > deadline:
                proc.kill()
                os.wait4(proc.pid, 0)
                proc.returncode = -9
                raise subprocess.TimeoutExpired(list(argv), timeout or 0)
            time.sleep(0.002)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        maxrss = ru.ru_maxrss
        if timer:
            try:
                maxrss = int(Path(rssf.name).read_text().split()[-1])
            except (OSError, ValueError, IndexError):
                pass
        return Run(
            tuple(argv),
            wall,
            ru.ru_utime,
            ru.ru_stime,
            maxrss,
            proc.returncode,
            out.read().decode("utf-8", "replace") if keep_stdout else "",
            err.read().decode("utf-8", "replace"),
        )


def median_run(repeat: int, fn: Callable[[], Run]) -> tuple[Run, list[float]]:
    """Call ``fn`` ``repeat`` times; return the run with the median wall time and all walls."""
    runs = [fn() for _ in range(max(1, repeat))]
    walls = [r.wall for r in runs]
    med = statistics.median_low(walls)
    return next(r for r in runs if r.wall == med), walls


def warm(paths: Iterable[Path]) -> int:
    """Read every regular file under ``paths`` once (warm page cache); return bytes read."""
    total = 0
    buf = bytearray(1 << 20)
    for root in paths:
        files = [root] if root.is_file() else (Path(d) / f for d, _, fs in os.walk(root) for f in fs)
        for p in files:
            with open(p, "rb", buffering=0) as fh:
                while n := fh.readinto(buf):
                    total += n
    return total


def machine_facts() -> dict[str, str]:
    """Return the facts a reader needs to compare figures across machines."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    try:
        rev = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, check=False,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, check=False,
        ).stdout.strip()
        if dirty:
            rev += " + uncommitted changes"
    except OSError:
        rev = "unknown"
    return {
        "date (UTC)": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M"),
        "nproc": str(os.cpu_count()),
        "CPU": cpu,
        "memory": mem,
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "load average (1/5/15 min) at report time": " / ".join(f"{x:.2f}" for x in os.getloadavg()),
        "datagate commit": rev or "unknown",
    }


def md_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Return a GitHub-flavoured Markdown table."""
    def cell(v: object) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in headers) + " |",
             "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def fmt_s(seconds: float | None) -> str:
    """Format seconds for a table."""
    if seconds is None:
        return "n/a"
    return f"{seconds:.3f} s" if seconds < 10 else f"{seconds:.1f} s"


def fmt_bytes(kib: int | None) -> str:
    """Format a KiB count (as ru_maxrss reports it) for a table."""
    if kib is None:
        return "n/a"
    return f"{kib / 1024:.0f} MiB"
