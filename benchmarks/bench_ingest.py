"""Benchmark: what recording and reporting add to an ingest, and an unchanged re-ingest.

    python benchmarks/bench_ingest.py                  # 100k files of 0.25-4 KiB
    python benchmarks/bench_ingest.py --files 10000    # smaller

Builds (or reuses) the same tree as ``bench_hash.py`` under ``$TMPDIR/datagate-bench/hash``, then in ONE
process, page cache warm, each step timed with ``time.perf_counter``:

1. baseline: ``hash_tree(dvc=True, use_cache=False)`` + ``scan(manifest=...)`` (what ingest must do
   anyway), and separately ``run_checks`` (data-quality checks; not part of the 10% budget);
   ``--skip-baseline`` skips this separate scan (the ingest's own stage timings are the primary
   reference, measured in the same run under the same load);
2. ``ingest`` of the same tree into a fresh store with the stat cache cold, plus rendering its text
   and JSON reports; its own per-stage timings (in the record's ``run.stages``) split the total;
   overhead = ingest total + rendering - (hash + scan + check), as a share of hash + scan;
3. an unchanged re-ingest (stat cache warm) next to a plain re-hash with the cache.

Prints a Markdown table; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.bench_hash import build_tree  # noqa: E402  (after sys.path)

T = TypeVar("T")


def _t(fn: Callable[[], T]) -> tuple[T, float]:
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table; return 0."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=100_000)
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "datagate-bench" / "hash")
    ap.add_argument("--skip-baseline", action="store_true", help="skip the separate hash+scan run")
    args = ap.parse_args(argv)

    cache = Path(tempfile.mkdtemp(prefix="dg-bench-cache-"))
    os.environ["DATAGATE_CACHE_DIR"] = str(cache)
    tree = args.work / f"ingest-{args.files}"
    t0 = time.perf_counter()
    build_tree(tree, args.files, 256, 4096, seed=5)
    print(f"tree: {tree} ({args.files} files) ready in {time.perf_counter() - t0:.1f} s", file=sys.stderr)

    from datagate.check import run_checks
    from datagate.inventory import hash_tree
    from datagate.pipeline import ingest
    from datagate.report.formats import OutputFormat
    from datagate.scan import scan

    # warm the page cache and imports
    hash_tree(tree, use_cache=False)

    from datagate.pipeline import _has_tabular

    manifest, t_hash = _t(lambda: hash_tree(tree, dvc=True, use_cache=False))
    if args.skip_baseline:
        t_scan = t_check = float("nan")
    else:
        _, t_scan = _t(lambda: scan(tree, manifest=manifest))
        t_check = _t(lambda: run_checks(tree))[1] if _has_tabular(manifest) else 0.0
    print(f"baseline hash {t_hash:.2f} s, scan {t_scan:.2f} s, check {t_check:.2f} s", file=sys.stderr)

    shutil.rmtree(cache, ignore_errors=True)
    store = Path(tempfile.mkdtemp(prefix="dg-bench-store-"))
    result, t_ingest = _t(lambda: ingest(tree, name="bench", store=store, baseline=None))
    _, t_text = _t(lambda: OutputFormat.TEXT.to_ingest_renderer()(result))
    _, t_json = _t(lambda: OutputFormat.JSON.to_ingest_renderer()(result))
    stages = result.record.data["run"]["stages"]
    inner = stages["hash"] + stages["scan"] + stages["check"]
    overhead = t_ingest + t_text + t_json - inner
    in_run = stages["hash"] + stages["scan"]
    print(f"ingest {t_ingest:.2f} s (stages {stages}), render text {t_text:.2f} s, json {t_json:.2f} s", file=sys.stderr)

    re_result, t_reingest = _t(lambda: ingest(tree, name="bench", store=store, baseline=None))
    _, t_rehash = _t(lambda: hash_tree(tree, dvc=True))
    re_stages = re_result.record.data["run"]["stages"]

    rows = [
        ("files", f"{len(manifest.files):,}", ""),
        ("hash (sha256+md5, no cache)", f"{t_hash:.2f} s", "baseline"),
        ("scan", f"{t_scan:.2f} s", "baseline"),
        ("check", f"{t_check:.2f} s", "not in the budget"),
        ("ingest total (cold stat cache)", f"{t_ingest:.2f} s",
         f"hash {stages['hash']:.2f} + scan {stages['scan']:.2f} + check {stages['check']:.2f}"),
        ("render text + json", f"{t_text + t_json:.2f} s", ""),
        ("recording + reporting overhead", f"{overhead:.2f} s",
         f"{100 * overhead / in_run:.1f}% of the same run's hash + scan ({in_run:.2f} s)"
         + ("" if args.skip_baseline else f"; {100 * overhead / (t_hash + t_scan):.1f}% of the separate run's ({t_hash + t_scan:.2f} s)")),
        ("unchanged re-ingest (warm stat cache)", f"{t_reingest:.2f} s",
         f"hash {re_stages['hash']:.2f} + scan {re_stages['scan']:.2f} + check {re_stages['check']:.2f}"),
        ("re-hash with stat cache", f"{t_rehash:.2f} s", ""),
    ]
    print("| step | time | note |\n|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} |")
    shutil.rmtree(store, ignore_errors=True)
    shutil.rmtree(cache, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
