"""Issue 15 speed figures: start-up, one small file, 1,000 small pickles, 100k small random files.

Run from the repository root (picklescan must be installed in the project's environment for the
side-by-side rows: ``.venv/bin/pip install picklescan``)::

    .venv/bin/python benchmarks/bench_scan_speed.py            # 100k random files (~400 MB)
    .venv/bin/python benchmarks/bench_scan_speed.py --quick    # 10k random files
    # options: --repeat N (median of N interleaved runs, default 5)  --workdir DIR

Every command runs as a child process, with bytecode caches in place (``PYTHONDONTWRITEBYTECODE``
is removed from the children's environment and the package is compiled first, as ``pip install``
does), datagate and picklescan interleaved so both see the same machine load. Wall time is the
child's life; CPU is its user+sys time (children included). On a loaded machine the wall times
are several times the CPU times: read both, and the load average in the report.

Rows:

* ``datagate --version`` (the console script's fast path);
* one small pickle: ``datagate scan FILE --format json`` vs ``picklescan -p FILE``;
* 1,000 small pickles (dicts, lists, float arrays, strings; protocols 2-5) in one folder:
  ``datagate scan DIR --format json`` vs ``picklescan -p DIR``;
* N small random files (0.25-4 KiB, 1,000 per folder): ``datagate scan DIR --format json`` with
  an empty stat cache, by default (worker processes: one per CPU) and in one process
  (``datagate.scan.scan(DIR, workers=1)`` in a child Python); plus how many files datagate's own
  sniffing left to libmagic (counted in a separate in-process run).

The report is written between the ``issue15-speed`` markers of ``benchmarks/RESULTS-scan.md``
(the rest of that file is ``bench_scan.py``'s), and printed.
"""

from __future__ import annotations

import argparse
import os
import pickle
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO, Run, fmt_s, machine_facts, md_table, run  # noqa: E402

__all__ = ["main"]

BIN = REPO / ".venv" / "bin"
DATAGATE, PICKLESCAN, PYTHON = BIN / "datagate", BIN / "picklescan", BIN / "python"
DEFAULT_WORKDIR = Path(tempfile.gettempdir()) / "datagate-bench" / "scan-speed"
RESULTS = REPO / "benchmarks" / "RESULTS-scan.md"
BEGIN, END = "<!-- issue15-speed -->", "<!-- /issue15-speed -->"

_ONE_PROCESS = """
import sys, time
from datagate.scan import scan
t = time.perf_counter()
report = scan(sys.argv[1], workers=1)
print(len(report.findings), report.files, time.perf_counter() - t)
"""

_LIBMAGIC_COUNT = """
import sys
from datagate.scan import scan, sniff
calls = [0]
real = sniff._MAGIC.identify
def counted(head):
    calls[0] += 1
    return real(head)
sniff._MAGIC.identify = counted
report = scan(sys.argv[1], workers=1)
print(calls[0], report.files)
"""


def log(msg: str) -> None:
    """Print a progress line on stderr."""
    print(f"[scan-speed] {msg}", file=sys.stderr, flush=True)


def _env(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["DATAGATE_CACHE_DIR"] = str(cache)
    return env


def build_inputs(work: Path, random_files: int) -> tuple[Path, Path, Path]:
    """Write (or reuse) the inputs; return (one pickle, 1,000-pickle folder, random tree)."""
    import numpy as np

    one = work / "one" / "small.pkl"
    one.parent.mkdir(parents=True, exist_ok=True)
    one.write_bytes(pickle.dumps({"a": [1, 2, 3], "b": "text"}, protocol=4))
    k1 = work / "pickles-1k"
    if not k1.exists() or len(list(k1.iterdir())) != 1000:
        shutil.rmtree(k1, ignore_errors=True)
        k1.mkdir(parents=True)
        for i in range(1000):
            obj = [{"a": i, "b": [1.5] * 10}, list(range(20)), np.arange(10.0), "x" * 50][i % 4]
            (k1 / f"p{i:04d}.pkl").write_bytes(pickle.dumps(obj, protocol=2 + i % 4))
    rnd = work / f"random-{random_files}"
    marker = work / f"random-{random_files}.complete"  # outside the tree: it is not scanned
    if not marker.exists():
        shutil.rmtree(rnd, ignore_errors=True)
        rng = random.Random(7)
        for i in range(random_files):
            d = rnd / f"d{i // 1000:03d}"
            if i % 1000 == 0:
                d.mkdir(parents=True, exist_ok=True)
            (d / f"f{i % 1000:04d}.bin").write_bytes(os.urandom(rng.randint(256, 4096)))
        marker.write_text("")
    return one, k1, rnd


def interleaved(repeat: int, cmds: dict[str, Callable[[], Run]]) -> dict[str, list[Run]]:
    """Run each command ``repeat`` times, round-robin; return the runs by name."""
    out: dict[str, list[Run]] = {k: [] for k in cmds}
    for _ in range(repeat):
        for name, fn in cmds.items():
            out[name].append(fn())
    return out


def med(runs: list[Run]) -> tuple[float, float]:
    """Return (median wall, median CPU) of ``runs``."""
    return statistics.median(r.wall for r in runs), statistics.median(r.user + r.sys for r in runs)


def main(argv: list[str] | None = None) -> int:
    """Build the inputs, time datagate and picklescan side by side, write the report."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="10k random files instead of 100k")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    ap.add_argument("--results", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    work: Path = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    n_random = 10_000 if args.quick else 100_000
    log("compiling the package (bytecode caches, as pip install leaves them)")
    subprocess.run([str(PYTHON), "-m", "compileall", "-q", str(REPO / "datagate")], env=_env(work),
                   check=False, capture_output=True)  # fmt: skip
    log("building inputs")
    one, k1, rnd = build_inputs(work, n_random)
    cache = work / "dg-cache"
    env = _env(cache)
    have_ps = PICKLESCAN.exists()

    def dg(*a: str) -> Callable[[], Run]:
        return lambda: run([str(DATAGATE), *a], env=env, keep_stdout=False, timeout=3600)

    def ps(*a: str) -> Callable[[], Run]:
        return lambda: run([str(PICKLESCAN), *a], env=env, keep_stdout=False, timeout=3600)

    rows: list[list[object]] = []
    log("start-up and one small file")
    cmds = {"version": dg("--version"), "dg one": dg("scan", str(one), "--format", "json")}
    if have_ps:
        cmds["ps one"] = ps("-p", str(one))
    res = interleaved(args.repeat, cmds)
    w, c = med(res["version"])
    rows.append(["`datagate --version`", fmt_s(w), fmt_s(c), "", "", "<= 0.15 s wall"])
    w, c = med(res["dg one"])
    pw, pc = med(res["ps one"]) if have_ps else (float("nan"), float("nan"))
    rows.append(["one small pickle: `datagate scan FILE` / `picklescan -p FILE`", fmt_s(w),
                 fmt_s(c), fmt_s(pw), fmt_s(pc), "<= 0.25 s wall"])  # fmt: skip
    log("1,000 small pickles")
    dg(*("scan", str(k1), "--format", "json"))()  # warm the stat cache and the page cache
    cmds = {"dg 1k": dg("scan", str(k1), "--format", "json")}
    if have_ps:
        cmds["ps 1k"] = ps("-p", str(k1))
    res = interleaved(args.repeat, cmds)
    w, c = med(res["dg 1k"])
    pw, pc = med(res["ps 1k"]) if have_ps else (float("nan"), float("nan"))
    rows.append(["1,000 small pickles: `datagate scan DIR` / `picklescan -p DIR`", fmt_s(w),
                 fmt_s(c), fmt_s(pw), fmt_s(pc), "datagate wall <= picklescan wall"])  # fmt: skip
    log(f"{n_random:,} random files (empty stat cache each run)")
    runs_auto: list[Run] = []
    runs_one: list[Run] = []
    for _ in range(max(1, min(args.repeat, 2))):
        shutil.rmtree(cache, ignore_errors=True)
        runs_auto.append(dg("scan", str(rnd), "--format", "json")())
        shutil.rmtree(cache, ignore_errors=True)
        runs_one.append(run([str(PYTHON), "-c", _ONE_PROCESS, str(rnd)], env=env,
                            keep_stdout=False, timeout=7200))  # fmt: skip
    w, c = med(runs_auto)
    rows.append([f"{n_random:,} random files, `datagate scan DIR` (workers: one per CPU)", fmt_s(w),
                 fmt_s(c), "", "", "< 60 s wall"])  # fmt: skip
    w, c = med(runs_one)
    rows.append([f"{n_random:,} random files, one process (`scan(DIR, workers=1)`)", fmt_s(w),
                 fmt_s(c), "", "", ""])  # fmt: skip
    counted = subprocess.run([str(PYTHON), "-c", _LIBMAGIC_COUNT, str(k1)], env=env,
                             capture_output=True, text=True, check=False).stdout.split()  # fmt: skip
    counted_rnd = subprocess.run([str(PYTHON), "-c", _LIBMAGIC_COUNT, str(rnd)], env=env,
                                 capture_output=True, text=True, check=False).stdout.split()  # fmt: skip
    facts = machine_facts()
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True, check=False).stdout.strip()  # fmt: skip
    body = [
        BEGIN,
        "## Issue 15: start-up and scan speed, side by side with picklescan",
        "",
        f"`python benchmarks/bench_scan_speed.py{' --quick' if args.quick else ''} --repeat "
        f"{args.repeat}` at `{head}`, {facts['date (UTC)']} UTC; {facts['CPU']}, "
        f"{facts['nproc']} CPUs; Python {facts['python']}; load average at the end "
        f"{facts['load average (1/5/15 min) at report time']}. Medians of interleaved runs; CPU "
        "is user+sys of the child and its children.",
        "",
        md_table(
            [
                "what",
                "datagate wall",
                "datagate CPU",
                "picklescan wall",
                "picklescan CPU",
                "target (issue 15)",
            ],
            rows,
        ),  # fmt: skip
        "",
        f"libmagic consulted: {counted[0] if counted else '?'} of {counted[1] if counted else '?'}"
        f" files of the 1,000 pickles; {counted_rnd[0] if counted_rnd else '?'} of "
        f"{counted_rnd[1] if counted_rnd else '?'} random files (datagate's own magic checks "
        "run first; random bytes match none of them).",
        END,
    ]
    text = "\n".join(body) + "\n"
    print(text)
    old = args.results.read_text() if args.results.exists() else ""
    if BEGIN in old and END in old:
        new = old[: old.index(BEGIN)] + text.rstrip("\n") + old[old.index(END) + len(END) :]
    else:
        new = old.rstrip("\n") + "\n\n" + text
    args.results.write_text(new)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
