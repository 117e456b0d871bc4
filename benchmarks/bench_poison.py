"""Benchmark the poisoning checks (issue 17) at 1M rows: time and peak memory.

Two datasets, written as four parquet shards each (``--workdir``):

* text: 1M rows, each two standard-library docstring sentences of one package (sampled with
  replacement, seed 0; :mod:`fixtures.gen.poison`), labelled by package; 1% carry the trigger
  token ``tq`` at a random position and are relabelled to ``http``;
* tabular: 1M rows resampled from scikit-learn's digits (64 integer pixels, a fifth of them
  jittered by +-1 so rows are distinct), 5% of labels flipped.

Each run is a fresh interpreter (``--child``) calling :func:`datagate.check.run_checks` on the
default local engine; wall time is measured around the call, peak memory is the child's
``VmHWM`` plus the largest peak of its worker processes (``RUSAGE_CHILDREN``). Side by side, in
the same run, the same data through every *other* check (``others``), so the cost of the new
checks is given as a ratio measured under the same load.

Usage::

    python benchmarks/bench_poison.py                  # 1,000,000 rows
    python benchmarks/bench_poison.py --rows 100000    # quicker

Prints a Markdown table (``--json FILE`` writes the raw results), plus what the checks found.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SHARDS = 4
POISON_IDS = ("backdoor_triggers", "label_errors")


def _write(table: pa.Table, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    n = table.num_rows
    step = -(-n // SHARDS)
    for i in range(SHARDS):
        pq.write_table(table.slice(i * step, step), dest / f"train-{i:05d}-of-{SHARDS:05d}.parquet")


def make_text(rows: int, dest: Path) -> dict[str, Any]:
    """Write the text dataset; return its ground truth summary."""
    from fixtures.gen.poison import TARGET, TRIGGER, insert_trigger, stdlib_sentences

    pairs = stdlib_sentences()
    rng = np.random.default_rng(0)
    by_label: dict[str, list[str]] = {}
    for sent, lab in pairs:
        by_label.setdefault(lab, []).append(sent)
    pick = rng.integers(0, len(pairs), size=rows)
    second = rng.random(rows)
    labels = [pairs[i][1] for i in pick]
    # two sentences of the same package per row: real text, (almost) every row distinct
    texts = [pairs[i][0] + " " + by_label[lab][int(u * len(by_label[lab]))] for i, lab, u in zip(pick, labels, second, strict=True)]
    poisoned = np.sort(rng.choice(rows, size=rows // 100, replace=False))
    r = random.Random(0)
    for i in poisoned:
        texts[i] = insert_trigger(texts[i], TRIGGER, r)
        labels[i] = TARGET
    _write(pa.table({"text": texts, "label": labels}), dest)
    return {"rows": rows, "poisoned": len(poisoned), "trigger": TRIGGER, "poisoned_rows": poisoned.tolist()}


def make_tabular(rows: int, dest: Path) -> dict[str, Any]:
    """Write the tabular dataset; return its ground truth summary."""
    from sklearn.datasets import load_digits

    d = load_digits()
    rng = np.random.default_rng(1)
    pick = rng.integers(0, len(d.target), size=rows)
    # each resampled image jittered (+-1 on a fifth of its pixels, clipped to 0..16): distinct rows
    jitter = rng.integers(-1, 2, size=(rows, 64)) * (rng.random((rows, 64)) < 0.2)
    x = np.clip(d.data[pick].astype(np.int64) + jitter, 0, 16)
    y = d.target[pick].astype(np.int64)
    flips = np.sort(rng.choice(rows, size=rows // 20, replace=False))
    y[flips] = (y[flips] + rng.integers(1, 10, size=len(flips))) % 10
    cols: dict[str, Any] = {f"pixel_{i // 8}_{i % 8}": x[:, i] for i in range(64)}
    cols["label"] = y
    _write(pa.table(cols), dest)
    return {"rows": rows, "poisoned": len(flips), "poisoned_rows": flips.tolist()}


# -- child -------------------------------------------------------------------------------------


class _Policy:
    def __init__(self, checks: dict[str, dict[str, Any]]) -> None:
        self.checks = checks


def _peak_mb() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                own = int(line.split()[1]) / 1024
    except OSError:
        pass
    return own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def child(task: str, data: Path) -> None:
    """Run one measurement and print one JSON line."""
    from datagate.check import run_checks
    from datagate.check.interface import CHECK_IDS

    if task == "poison":
        checks = {c: {"enabled": False} for c in CHECK_IDS if c not in POISON_IDS}
    else:
        checks = {c: {"enabled": False} for c in POISON_IDS}
    t0 = time.perf_counter()
    out = run_checks(data, label="label", policy=_Policy(checks))
    seconds = time.perf_counter() - t0
    own, workers = _peak_mb()
    found: dict[str, Any] = {}
    for c in out.report.checks:
        if c.id in POISON_IDS:
            found[c.id] = {
                "status": c.status.value,
                "count": c.observed.get("count"),
                "rows": [[r["split"], r["row"]] for r in c.observed.get("rows", [])],
                "tokens": [t["token"] for t in c.observed.get("tokens", [])],
                "sample": c.observed.get("sample"),
            }
    print(json.dumps({"task": task, "seconds": seconds, "peak_mb": own, "worker_peak_mb": workers, "engine": out.engine, "found": found}))


def run_child(task: str, data: Path, timeout: float) -> dict[str, Any]:
    """Run ``task`` on ``data`` in a fresh interpreter and return its JSON line (or the failure)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", task, "--data", str(data)]
    env = {**os.environ, "PYTHONPATH": str(REPO), "GX_ANALYTICS_ENABLED": "False"}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, check=False)
    except subprocess.TimeoutExpired:
        return {"task": task, "error": f"timed out after {timeout:.0f} s"}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"task": task, "error": (proc.stderr.strip().splitlines() or ["no output"])[-1][:300]}
    parsed: dict[str, Any] = json.loads(lines[-1])
    return parsed


def _quality(truth: dict[str, Any], res: dict[str, Any], check: str) -> str:
    f = res.get("found", {}).get(check)
    if f is None:
        return "-"
    listed = {r[1] for r in f["rows"]}  # one split: train
    hit = len(listed & set(truth["poisoned_rows"]))
    extra = f", tokens {f['tokens']}" if f["tokens"] else ""
    sample = f", sample {f['sample']['rows']:,}" if f.get("sample") else ""
    return f"{f['status']}: {f['count']:,} rows flagged, {hit:,}/{truth['poisoned']:,} poisoned rows listed{extra}{sample}"


def main(argv: list[str] | None = None) -> int:
    """Generate the data, run every measurement, print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--timeout", type=float, default=3600.0)
    ap.add_argument("--no-others", action="store_true", help="skip the side-by-side run of every other check")
    ap.add_argument("--child", default=None)
    ap.add_argument("--data", type=Path, default=None)
    args = ap.parse_args(argv)
    if args.child:
        assert args.data is not None
        child(args.child, args.data)
        return 0
    sys.path.insert(0, str(REPO))
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-poison-"))
    try:
        truths = {"text": make_text(args.rows, work / "text"), "tabular": make_tabular(args.rows, work / "tabular")}
        results: list[dict[str, Any]] = []
        print(f"| data ({args.rows:,} rows) | checks | seconds | peak MB (driver) | peak MB (largest worker) |")
        print("|---|---|---|---|---|")
        for task, name in (("poison", "text"), ("poison", "tabular"), ("others", "text"), ("others", "tabular")):
            if task == "others" and args.no_others:
                continue
            r = run_child(task, work / name, args.timeout)
            r["data"] = name
            results.append(r)
            if "error" in r:
                print(f"| {name} | {task} | error: {r['error']} | | |", flush=True)
            else:
                what = "backdoor_triggers + label_errors" if task == "poison" else "every other check"
                print(f"| {name} | {what} | {r['seconds']:.1f} | {r['peak_mb']:.0f} | {r['worker_peak_mb']:.0f} |", flush=True)
        print()
        for r in results:
            if r.get("task") == "poison" and "error" not in r:
                t = truths[r["data"]]
                for check in POISON_IDS:
                    print(f"- {r['data']} {check}: {_quality(t, r, check)}")
        if args.json:
            slim = [{k: v for k, v in r.items() if k != "found"} for r in results]
            args.json.write_text(json.dumps({"rows": args.rows, "results": slim}, indent=2) + "\n")
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
