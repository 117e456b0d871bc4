"""Benchmark datagate's check stage against the tools users would pick instead (issue 4).

Side by side, one script, each measurement in its own child process (wall time measured in the
child around the work, including reading the parquet file; peak RSS is the child's own
``ru_maxrss``, so it includes the interpreter and imports):

1. classic: datagate's five classic checks (unique ``id``, label in set, numeric between,
   not-null, label drift) vs Great Expectations 1.x (pandas engine) running the equivalent suite
   (``expect_column_values_to_be_unique``, ``_to_be_in_set``, ``_to_be_between``,
   ``_to_not_be_null``, ``expect_column_kl_divergence_to_be_less_than``) on the same parquet;
2. exact duplicates on the text column: datagate's bucketed 64-bit row-key hashes vs
   ``pandas.DataFrame.duplicated``;
3. near-duplicates: datagate's vectorised one-permutation MinHash LSH + exact verification vs
   datasketch's ``MinHashLSH`` at the same threshold (0.7) and signature size (64), with recall
   on 1,000 planted one-word edits (datasketch is a bench-only dependency);
4. streaming: every datagate check on a large parquet, peak memory (target < 2 GB).

Usage::

    python benchmarks/bench_check.py                 # the issue's sizes (5M rows; 50M streaming)
    python benchmarks/bench_check.py --quick         # 200k rows, 50k near-dup train, 1M streaming
    python benchmarks/bench_check.py --rows 1000000 --near-rows 200000 --stream-rows 0

Results print as a Markdown table (and ``--json FILE`` writes them). Generated data lives in
``--workdir`` (default a temp dir, removed afterwards unless ``--keep``).
"""

from __future__ import annotations

import argparse
import json
import os
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
CHUNK = 250_000
NUM_CLASSES = 10
THRESHOLD = 0.7
NUM_PERM = 64
PLANTED = 1000

# -- data --------------------------------------------------------------------------------------


def _vocab(rng: np.random.Generator, n: int = 20_000) -> Any:
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    lengths = rng.integers(3, 10, size=n)
    return np.array(["".join(rng.choice(letters, size=int(k))) for k in lengths], dtype=object)


def _texts(rng: np.random.Generator, vocab: Any, n: int, words: int = 16) -> list[str]:
    idx = rng.integers(0, len(vocab), size=(n, words))
    table = vocab[idx]
    return [" ".join(row) for row in table.tolist()]


def _label_p() -> Any:
    p = np.linspace(1.0, 2.0, NUM_CLASSES)
    return p / p.sum()


def make_main(path: Path, rows: int, seed: int = 1, dup_rate: float = 0.01) -> dict[str, Any]:
    """Write ``rows`` rows (id, ~100-char text, 10-class label, two floats) with ``dup_rate``
    of the texts repeating an earlier text; return facts about it."""
    rng = np.random.default_rng(seed)
    vocab = _vocab(rng)
    schema = pa.schema([("id", pa.int64()), ("text", pa.string()), ("label", pa.int64()), ("f1", pa.float64()), ("f2", pa.float64())])
    dups = 0
    with pq.ParquetWriter(path, schema) as w:
        for start in range(0, rows, CHUNK):
            n = min(CHUNK, rows - start)
            texts = _texts(rng, vocab, n)
            k = int(n * dup_rate)
            if k:
                src = rng.choice(n - k, size=k, replace=False)
                for j, s in enumerate(src):
                    texts[n - k + j] = texts[int(s)]
                dups += k
            labels = rng.choice(NUM_CLASSES, size=n, p=_label_p())
            w.write_table(
                pa.table(
                    {
                        "id": np.arange(start, start + n, dtype=np.int64),
                        "text": texts,
                        "label": labels,
                        "f1": rng.normal(size=n),
                        "f2": rng.normal(loc=labels, scale=2.0, size=n),
                    },
                    schema=schema,
                )
            )
    return {"rows": rows, "planted_text_duplicates": dups}


def _edit(text: str, rng: np.random.Generator, vocab: Any) -> str:
    words = text.split(" ")
    i = int(rng.integers(len(words)))
    words[i] = str(vocab[int(rng.integers(len(vocab)))])
    return " ".join(words)


def make_near(root: Path, train_rows: int, seed: int = 2) -> dict[str, Any]:
    """Write a train/test dataset where 1,000 test rows are one-word edits of train rows."""
    rng = np.random.default_rng(seed)
    vocab = _vocab(rng)
    (root / "data").mkdir(parents=True, exist_ok=True)
    train = _texts(rng, vocab, train_rows)
    picks = rng.choice(train_rows, size=PLANTED, replace=False)
    edits = [_edit(train[int(i)], rng, vocab) for i in picks]
    test = edits + _texts(rng, vocab, 4 * PLANTED)
    for name, texts in (("train", train), ("test", test)):
        n = len(texts)
        pq.write_table(
            pa.table({"id": np.arange(n), "text": texts, "label": rng.integers(0, NUM_CLASSES, size=n)}),
            root / "data" / f"{name}-00000-of-00001.parquet",
        )
    return {"train_rows": train_rows, "test_rows": len(test), "planted": PLANTED}


# -- child tasks -------------------------------------------------------------------------------


class _Policy:
    def __init__(self, checks: dict[str, dict[str, Any]]) -> None:
        self.checks = checks


_ALL = (
    "schema",
    "label_distribution",
    "label_drift",
    "duplicates.within_split",
    "duplicates.cross_split",
    "near_duplicates.cross_split",
    "outliers",
    "nulls",
    "conflicting_labels",
    "backdoor_triggers",
    "label_errors",
)


def _only(*keep: str) -> _Policy:
    return _Policy({c: {"enabled": False} for c in _ALL if c not in keep})


def task_datagate_classic(data: Path, extra: dict[str, Any]) -> dict[str, Any]:
    from datagate.check import Profile, run_checks

    base = Profile.from_dict(json.loads(Path(extra["baseline"]).read_text()))
    out = run_checks(
        data,
        label="label",
        keys=("id",),
        text=("text",),
        baseline=base,
        policy=_only("schema", "label_distribution", "label_drift", "duplicates.within_split", "outliers", "nulls"),
    )
    return {c.id: [c.status.value, c.observed.get("count")] for c in out.report.checks if c.status.value != "skipped"}


def _gx_suite(weights: list[float]) -> list[dict[str, Any]]:
    return [
        {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "id"}},
        {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "label", "value_set": list(range(NUM_CLASSES))}},
        {"type": "expect_column_values_to_be_between", "kwargs": {"column": "f1", "min_value": -10, "max_value": 10}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "text"}},
        {
            "type": "expect_column_kl_divergence_to_be_less_than",
            "kwargs": {"column": "label", "partition_object": {"values": list(range(NUM_CLASSES)), "weights": weights}, "threshold": 0.1},
        },
    ]


def task_gx_classic(data: Path, extra: dict[str, Any]) -> dict[str, Any]:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    import pandas as pd
    from great_expectations.core import ExpectationSuite

    ctx = gx.get_context(mode="ephemeral")
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    suite = ExpectationSuite(name="classic", expectations=_gx_suite(extra["weights"]))
    df = pd.read_parquet(data)
    bd = ctx.data_sources.add_pandas("p").add_dataframe_asset("a").add_batch_definition_whole_dataframe("b")
    res = bd.get_batch(batch_parameters={"dataframe": df}).validate(suite)
    return {str(r.expectation_config.type if r.expectation_config else "?"): bool(r.success) for r in res.results}


def task_datagate_dups(data: Path, extra: dict[str, Any]) -> dict[str, Any]:
    from datagate.check.duplicates import DuplicateAccumulator
    from datagate.check.load import discover, iter_batches

    acc = DuplicateAccumulator(["text"], budget=256 << 20, keep_first_split=False)
    row = 0
    for shard in discover(data).splits[0].shards:
        for batch in iter_batches(shard, columns=["text"]):
            acc.add(batch, 0, row)
            row += batch.num_rows
    found = acc.analyse()
    return {"duplicates": sum(found.within_counts.values()), "rows": row}


def task_pandas_dups(data: Path, extra: dict[str, Any]) -> dict[str, Any]:
    import pandas as pd

    df = pd.read_parquet(data, columns=["text"])
    return {"duplicates": int(df.duplicated().sum()), "rows": len(df)}


def task_datagate_near(data: Path, extra: dict[str, Any]) -> dict[str, Any]:
    from datagate.check import run_checks

    out = run_checks(data, text=("text",), policy=_only("near_duplicates.cross_split"))
    res = next(c for c in out.report.checks if c.id == "near_duplicates.cross_split")
    return {"found": res.observed["count"], "recall": res.observed["count"] / PLANTED, "candidates": res.observed["candidates"]}


def task_datasketch_near(data: Path, extra: dict[str, Any]) -> dict[str, Any]:
    from datasketch import MinHash, MinHashLSH

    def norm(t: str) -> bytes:
        return " ".join(t.lower().split()).encode()

    def shingles(t: str) -> list[bytes]:
        b = norm(t)
        return [b[i : i + 5] for i in range(len(b) - 4)]

    def hashes(texts: list[str]) -> list[MinHash]:
        # MinHash.bulk shares one set of permutations (the fast way to build many)
        out: list[MinHash] = []
        for start in range(0, len(texts), 10_000):
            out += MinHash.bulk([shingles(t) for t in texts[start : start + 10_000]], num_perm=NUM_PERM)
        return out

    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
    train = pq.read_table(data / "data" / "train-00000-of-00001.parquet", columns=["text"])["text"].to_pylist()
    test = pq.read_table(data / "data" / "test-00000-of-00001.parquet", columns=["text"])["text"].to_pylist()
    with lsh.insertion_session() as session:
        for i, m in enumerate(hashes(train)):
            session.insert(i, m)
    found = 0
    for j, m in enumerate(hashes(test)):
        if j < PLANTED and lsh.query(m):
            found += 1
    return {"found": found, "recall": found / PLANTED}


def task_datagate_stream(data: Path, extra: dict[str, Any]) -> dict[str, Any]:
    from datagate.check import run_checks

    out = run_checks(data, label="label", text=("text",))
    return {c.id: [c.status.value, c.observed.get("count")] for c in out.report.checks}


TASKS = {
    "datagate_classic": task_datagate_classic,
    "gx_classic": task_gx_classic,
    "datagate_dups": task_datagate_dups,
    "pandas_dups": task_pandas_dups,
    "datagate_near": task_datagate_near,
    "datasketch_near": task_datasketch_near,
    "datagate_stream": task_datagate_stream,
}


def child(task: str, data: Path, extra: dict[str, Any]) -> None:
    """Run one task and print one JSON line: seconds, peak RSS, result."""
    fn = TASKS[task]
    t0 = time.perf_counter()
    result = fn(data, extra)
    seconds = time.perf_counter() - t0
    print(json.dumps({"task": task, "seconds": seconds, "peak_rss_mb": peak_rss_mb(), "result": result}))


def peak_rss_mb() -> float:
    """Return this process's peak resident memory in MB.

    ``VmHWM`` from /proc (reset by exec, so it is this child's own peak); ``ru_maxrss`` where
    /proc is missing (on Linux it can carry the parent's peak across fork+exec).
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(task: str, data: Path, extra: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Run ``task`` in a fresh interpreter and return its JSON line (or the failure)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", task, "--data", str(data), "--extra", json.dumps(extra)]
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


# -- driver ------------------------------------------------------------------------------------


def _fmt(r: dict[str, Any]) -> tuple[str, str]:
    if "error" in r:
        return "error", r["error"]
    return f"{r['seconds']:.2f}", f"{r['peak_rss_mb']:.0f}"


def main(argv: list[str] | None = None) -> int:
    """Generate the data, run every comparison, print the table."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=5_000_000, help="rows of the main parquet (classic checks, exact duplicates)")
    ap.add_argument("--near-rows", type=int, default=1_000_000, help="train rows of the near-duplicate dataset")
    ap.add_argument("--datasketch-rows", type=int, default=200_000, help="train rows for datasketch (throughput is compared per row)")
    ap.add_argument("--stream-rows", type=int, default=50_000_000, help="rows of the streaming-memory parquet (0: skip)")
    ap.add_argument("--quick", action="store_true", help="200k rows, 50k near-dup train rows, 1M streaming rows")
    ap.add_argument("--skip", action="append", default=[], choices=sorted(TASKS), help="tasks not to run")
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds per child task")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--keep", action="store_true", help="keep the generated data")
    ap.add_argument("--json", type=Path, default=None, help="also write the results as JSON")
    ap.add_argument("--child", choices=sorted(TASKS), help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--extra", default="{}", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args.child, args.data, json.loads(args.extra))
        return 0
    if args.quick:
        args.rows, args.near_rows, args.stream_rows = 200_000, 50_000, 1_000_000
    ds_rows = min(args.datasketch_rows, args.near_rows)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="datagate-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"rows": args.rows, "near_rows": args.near_rows, "datasketch_rows": ds_rows, "stream_rows": args.stream_rows}
    try:
        t = time.perf_counter()
        main_dir = work / "main"
        main_dir.mkdir(exist_ok=True)
        main_file = main_dir / "train.parquet"
        facts = make_main(main_file, args.rows)
        base_file = work / "base" / "train.parquet"
        base_file.parent.mkdir(exist_ok=True)
        make_main(base_file, min(args.rows, 200_000), seed=9, dup_rate=0.0)
        from datagate.check import profile_dataset

        base_prof = profile_dataset(base_file.parent, label="label", keys=("id",))
        (work / "baseline-profile.json").write_text(json.dumps(base_prof.to_dict()))
        counts = base_prof.splits["train"].label_counts
        total = sum(counts.values())
        weights = [counts.get(str(k), 0) / total for k in range(NUM_CLASSES)]
        near_dir = work / "near"
        make_near(near_dir, args.near_rows)
        ds_dir = near_dir
        if ds_rows != args.near_rows:
            ds_dir = work / "near_ds"
            make_near(ds_dir, ds_rows)
        print(f"generated data in {time.perf_counter() - t:.1f} s under {work}", file=sys.stderr)
        extra = {"baseline": str(work / "baseline-profile.json"), "weights": weights}
        plan = [
            ("datagate_classic", main_dir),
            ("gx_classic", main_file),
            ("datagate_dups", main_dir),
            ("pandas_dups", main_file),
            ("datagate_near", near_dir),
            ("datasketch_near", ds_dir),
        ]
        for task, data in plan:
            if task in args.skip:
                continue
            print(f"running {task} ...", file=sys.stderr)
            results[task] = run_child(task, data, extra, args.timeout)
            print(f"  {results[task]}", file=sys.stderr)
        results["facts"] = facts
        if args.stream_rows and "datagate_stream" not in args.skip:
            stream_dir = work / "stream"
            stream_dir.mkdir(exist_ok=True)
            t = time.perf_counter()
            make_main(stream_dir / "train.parquet", args.stream_rows, seed=3)
            print(f"generated {args.stream_rows} streaming rows in {time.perf_counter() - t:.1f} s", file=sys.stderr)
            results["datagate_stream"] = run_child("datagate_stream", stream_dir, extra, args.timeout)
            print(f"  {results['datagate_stream']}", file=sys.stderr)
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    print(render(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


def _ratio(a: dict[str, Any] | None, b: dict[str, Any] | None, key: str) -> str:
    if not a or not b or "error" in a or "error" in b:
        return "n/a"
    return f"{b[key] / a[key]:.1f}x"


def render(r: dict[str, Any]) -> str:
    """Return the results as a Markdown table."""
    lines = [
        "| comparison | rows | datagate s | datagate peak MB | other | other s | other peak MB | speed-up | datagate/other memory | notes |",
        "| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- |",
    ]

    def row(name: str, rows: int, dg: str, other_name: str, other: str, note: str, speedup: str | None = None) -> None:
        a, b = r.get(dg), r.get(other)
        if a is None and b is None:
            return
        da, ma = _fmt(a) if a else ("-", "-")
        db, mb = _fmt(b) if b else ("-", "-")
        mem = f"{a['peak_rss_mb'] / b['peak_rss_mb']:.2f}" if a and b and "error" not in a and "error" not in b else "n/a"
        lines.append(
            f"| {name} | {rows:,} | {da} | {ma} | {other_name} | {db} | {mb} | {speedup or _ratio(a, b, 'seconds')} | {mem} | {note} |"
        )

    row("five classic checks", r["rows"], "datagate_classic", "GX 1.x pandas", "gx_classic", "unique, in-set, between, not-null, label drift/KL")
    dups_note = ""
    if r.get("datagate_dups") and r.get("pandas_dups") and "result" in r["datagate_dups"] and "result" in r["pandas_dups"]:
        dups_note = f"both count {r['datagate_dups']['result']['duplicates']:,} / {r['pandas_dups']['result']['duplicates']:,} duplicates"
    row("exact duplicates (text)", r["rows"], "datagate_dups", "pandas duplicated", "pandas_dups", dups_note)
    near_note = ""
    near_speed = None
    a, b = r.get("datagate_near"), r.get("datasketch_near")
    if a and "result" in a:
        near_note += f"datagate recall {a['result']['recall']:.3f}"
    if b and "result" in b:
        near_note += f", datasketch recall {b['result']['recall']:.3f}"
    if a and b and "seconds" in a and "seconds" in b and r["datasketch_rows"] != r["near_rows"]:
        # compare throughput (rows per second) when the sizes differ
        ta = (r["near_rows"] + 5 * PLANTED) / a["seconds"]
        tb = (r["datasketch_rows"] + 5 * PLANTED) / b["seconds"]
        near_note += f"; throughput {ta:,.0f} vs {tb:,.0f} rows/s (datasketch on {r['datasketch_rows'] + 5 * PLANTED:,} rows)"
        near_speed = f"{ta / tb:.1f}x (rows/s)"
    row("near-duplicates (MinHash LSH, J>=0.7, 64 perm)", r["near_rows"] + 5 * PLANTED, "datagate_near", "datasketch MinHashLSH", "datasketch_near", near_note, near_speed)
    s = r.get("datagate_stream")
    if s:
        sec, mb = _fmt(s)
        lines.append(f"| streaming, every check | {r['stream_rows']:,} | {sec} | {mb} | - | - | - | - | - | target peak < 2048 MB |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
