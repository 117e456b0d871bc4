"""The long fuzz run behind ``make fuzz``: N mutated inputs per format family through the CLI.

    python -m tests.fuzz.run --per-family 20000 --out fuzz-results.json

Each family runs in a worker process that feeds its inputs one after another to
:func:`datagate.cli.main` in-process (``scan`` always, ``check`` for tabular families, ``ingest``
every ``--ingest-every``-th input). Input ``i`` of a family is fully determined by ``--seed``, the
family and ``i``, so any problem can be replayed with ``--replay FAMILY:I``. A worker killed by
a signal (the crash this suite exists to catch) is recorded with the input it was on, which is
saved under ``--workdir``/crashes, and a new worker resumes after it. Problems counted: exit
codes outside {0, 1, 2}, a traceback or ``internal error`` line on stderr, a signal, an input
over ``--max-seconds``, and peak RSS over ``--max-rss-mib``.

Prints a table and writes the JSON summary (``--out``). Exit 0 when there was no problem.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.fuzz.mutate import FAMILIES, TABULAR, mutate, run_one, seeds

__all__ = ["input_bytes", "main"]


def input_bytes(seed: int, family: str, i: int) -> bytes:
    """Return mutated input ``i`` of ``family`` for run seed ``seed`` (deterministic)."""
    rng = random.Random(f"{seed}:{family}:{i}")
    return mutate(rng.choice(seeds(family)), rng)


def _worker(family: str, start: int, stop: int, seed: int, ingest_every: int, workdir: Path, progress: Path) -> int:
    """Run inputs [start, stop) of ``family``; one JSON line per input with a problem, then a summary."""
    work = workdir / f"w-{family}"
    codes: dict[str, dict[str, int]] = {}
    slowest = 0.0
    with progress.open("w") as prog:
        for i in range(start, stop):
            prog.seek(0)
            prog.write(f"{i:>12}\n")
            prog.flush()
            data = input_bytes(seed, family, i)
            t = time.perf_counter()
            out = run_one(family, data, work, ingest=ingest_every > 0 and i % ingest_every == 0)
            slowest = max(slowest, time.perf_counter() - t)
            for cmd, code in out.codes.items():
                bucket = codes.setdefault(cmd, {})
                bucket[str(code)] = bucket.get(str(code), 0) + 1
            if out.problems:
                print(json.dumps({"input": i, "problems": out.problems}), flush=True)
            if (i - start) % 200 == 199:  # a checkpoint survives a crash of this worker
                print(json.dumps({"checkpoint": i + 1, "codes": codes}), flush=True)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(json.dumps({"done": stop, "codes": codes, "slowest_s": round(slowest, 3), "max_rss_mib": rss}), flush=True)
    return 0


def _run_family(family: str, n: int, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    crashes = workdir / "crashes"
    progress = workdir / f"progress-{family}"
    summary: dict[str, Any] = {"family": family, "inputs": n, "codes": {}, "problems": [], "signals": [],
                               "slowest_s": 0.0, "max_rss_mib": 0}
    start = 0
    t0 = time.perf_counter()
    env = {**os.environ, "DATAGATE_CACHE_DIR": str(workdir / "cache")}
    while start < n:
        cmd = [sys.executable, "-m", "tests.fuzz.run", "--worker", family, "--start", str(start), "--stop", str(n),
               "--seed", str(args.seed), "--ingest-every", str(args.ingest_every), "--workdir", str(workdir)]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        done = None
        last_codes: dict[str, dict[str, int]] = {}
        for line in proc.stdout.splitlines():
            rec = json.loads(line)
            if "problems" in rec:
                summary["problems"].append(rec)
            elif "done" in rec:
                done = rec
            if "codes" in rec:
                last_codes = rec["codes"]
        # counts of the inputs this worker finished (up to its last checkpoint if it crashed)
        for c, hist in last_codes.items():
            bucket = summary["codes"].setdefault(c, {})
            for k, v in hist.items():
                bucket[k] = bucket.get(k, 0) + v
        if done is not None and proc.returncode == 0:
            summary["slowest_s"] = max(summary["slowest_s"], done["slowest_s"])
            summary["max_rss_mib"] = max(summary["max_rss_mib"], done["max_rss_mib"])
            break
        at = int(progress.read_text().strip() or start)
        crashes.mkdir(exist_ok=True)
        saved = crashes / f"{family}-{at}"
        saved.write_bytes(input_bytes(args.seed, family, at))
        summary["signals"].append({"input": at, "returncode": proc.returncode, "saved": str(saved),
                                   "stderr": proc.stderr.strip()[-500:]})
        start = at + 1
    summary["seconds"] = round(time.perf_counter() - t0, 1)
    limits = []
    if summary["slowest_s"] > args.max_seconds:
        limits.append(f"slowest input took {summary['slowest_s']} s (limit {args.max_seconds})")
    if summary["max_rss_mib"] > args.max_rss_mib:
        limits.append(f"peak RSS {summary['max_rss_mib']} MiB (limit {args.max_rss_mib})")
    summary["limits"] = limits
    return summary


def main(argv: list[str] | None = None) -> int:
    """Run the fuzz campaign (or one worker, or one replay); return the exit code."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--per-family", type=int, default=20_000, help="mutated inputs per family")
    ap.add_argument("--families", default=",".join(FAMILIES), help="comma-separated subset")
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--ingest-every", type=int, default=25, help="also run ingest on every N-th input (0: never)")
    ap.add_argument("--max-seconds", type=float, default=60.0, help="slowest input allowed (all its commands)")
    ap.add_argument("--max-rss-mib", type=int, default=2048, help="peak RSS allowed per worker")
    ap.add_argument("--jobs", type=int, default=1, help="families run side by side")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=None, help="write the JSON summary here")
    ap.add_argument("--replay", default=None, metavar="FAMILY:I", help="run one input verbosely and exit")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--start", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--stop", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="datagate-fuzz-"))
    workdir.mkdir(parents=True, exist_ok=True)
    if args.worker:
        return _worker(args.worker, args.start, args.stop, args.seed, args.ingest_every, workdir,
                       workdir / f"progress-{args.worker}")
    if args.replay:
        family, _, i = args.replay.partition(":")
        out = run_one(family, input_bytes(args.seed, family, int(i)), workdir / "replay", ingest=True)
        print(json.dumps({"codes": out.codes, "problems": out.problems}, indent=2))
        return 1 if out.problems else 0
    families = [f for f in args.families.split(",") if f]
    results: list[dict[str, Any]] = []
    print(f"fuzzing {args.per_family} inputs per family, seed {args.seed}, workdir {workdir}", flush=True)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        finished = pool.map(lambda fam: _run_family(fam, args.per_family, args, workdir), families)
        for res in finished:
            _report(res, results, args)
    bad = sum(len(r["problems"]) + len(r["signals"]) + len(r["limits"]) for r in results)
    return 1 if bad else 0


def _report(res: dict[str, Any], results: list[dict[str, Any]], args: argparse.Namespace) -> None:
    """Print one family's line and rewrite the JSON summary with it."""
    results.append(res)
    cmds = ", ".join(f"{c} {sum(h.values())} ({' '.join(f'exit {k}: {v}' for k, v in sorted(h.items()))})"
                     for c, h in res["codes"].items())
    print(f"{res['family']:8} {res['inputs']} inputs in {res['seconds']} s; {cmds}; problems {len(res['problems'])}, "
          f"signals {len(res['signals'])}, slowest {res['slowest_s']} s, peak RSS {res['max_rss_mib']} MiB"
          + (f"; OVER LIMIT: {'; '.join(res['limits'])}" if res["limits"] else ""), flush=True)
    if args.out is not None:
        args.out.write_text(json.dumps({"seed": args.seed, "per_family": args.per_family,
                                        "tabular": sorted(TABULAR), "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
