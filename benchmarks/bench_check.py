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
    python benchmarks/bench_check.py --v2 --near-rows 200000    # issue 12 (engine v2), see main_v2

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
    from datagate.check._hashing import row_hash
    from datagate.check.duplicates import analyse_bucket, loc_of
    from datagate.check.load import discover, iter_batches
    from datagate.engine.interface import partition

    parts: list[Any] = []
    row = 0
    for shard in discover(data).splits[0].shards:
        for batch in iter_batches(shard, columns=["text"]):
            h = row_hash(batch, ["text"])
            parts.append(np.stack([h, loc_of(0, np.arange(row, row + batch.num_rows, dtype=np.int64))], axis=1))
            row += batch.num_rows
    dups = 0
    for bucket in partition(np.concatenate(parts), 64):
        if len(bucket):
            dups += sum(analyse_bucket(bucket).within_counts.values())
    return {"duplicates": dups, "rows": row}


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
    """Every check with its defaults on the default (local) engine; peak memory of the whole
    process tree (the driver and its worker processes, sampled), not only this process."""
    from datagate.check import run_checks

    mem = TreeMemory()
    out = run_checks(data, label="label", text=("text",))
    return {"tree_peak_mb": mem.stop(), "tree_peak_pss_mb": mem.peak_pss_mb, "engine": dict(out.engine), "checks": {c.id: [c.status.value, c.observed.get("count")] for c in out.report.checks}}


TASKS = {
    "datagate_classic": task_datagate_classic,
    "gx_classic": task_gx_classic,
    "datagate_dups": task_datagate_dups,
    "pandas_dups": task_pandas_dups,
    "datagate_near": task_datagate_near,
    "datasketch_near": task_datasketch_near,
    "datagate_stream": task_datagate_stream,
}


# -- issue 12: check engine v2 -------------------------------------------------------------------


class TreeMemory:
    """Samples the summed resident memory of this process and all its descendants (worker
    processes, a local Ray's raylet/GCS/workers) every ``interval`` seconds; ``peak_mb`` is the
    highest sum of resident sizes seen (an upper bound: pages shared between processes, such as
    the libraries a fork server's workers inherit, count once per process); ``peak_pss_mb`` the
    highest sum of proportional set sizes (each shared page divided among its sharers: what the
    tree costs the machine)."""

    def __init__(self, interval: float = 0.1) -> None:
        import threading

        self.interval = interval
        self.peak_mb = 0.0
        self.peak_pss_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @staticmethod
    def _tree() -> list[int]:
        me = os.getpid()
        parent: dict[int, int] = {}
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    fields = Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()
                    parent[int(d)] = int(fields[1])
                except (OSError, IndexError, ValueError):
                    continue
        out, todo = [me], [me]
        while todo:
            p = todo.pop()
            kids = [c for c, pp in parent.items() if pp == p]
            out += kids
            todo += kids
        return out

    @staticmethod
    def _rss_mb(pid: int) -> float:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0

    @staticmethod
    def _pss_mb(pid: int) -> float:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0

    def _run(self) -> None:
        while not self._stop.is_set():
            tree = self._tree()
            self.peak_mb = max(self.peak_mb, sum(self._rss_mb(p) for p in tree))
            self.peak_pss_mb = max(self.peak_pss_mb, sum(self._pss_mb(p) for p in tree))
            self._stop.wait(self.interval)

    def stop(self) -> float:
        """Stop sampling and return the peak (MB)."""
        self._stop.set()
        self._thread.join()
        return max(self.peak_mb, peak_rss_mb())


def make_table(root: Path, rows: int, *, shards: int = 1, vocab_words: int = 200, seed: int = 5, row_group: int = 131_072) -> dict[str, Any]:
    """Write the issue's table in the Hub layout: ``data/{train,test}-NNNNN-of-NNNNN.parquet``
    (80/20), columns id, ~100-character text from a ``vocab_words``-word vocabulary, 10-class
    label, two floats; 1% of train texts repeated, 0.5% of test rows copied from train (leakage)."""
    rng = np.random.default_rng(seed)
    vocab = _vocab(rng, vocab_words)
    (root / "data").mkdir(parents=True, exist_ok=True)
    schema = pa.schema([("id", pa.int64()), ("text", pa.string()), ("label", pa.int64()), ("f1", pa.float64()), ("f2", pa.float64())])
    n_train = int(rows * 0.8)
    for split, n_split in (("train", n_train), ("test", rows - n_train)):
        cuts = np.linspace(0, n_split, shards + 1).astype(int)
        for k in range(shards):
            name = root / "data" / f"{split}-{k:05d}-of-{shards:05d}.parquet"
            with pq.ParquetWriter(name, schema) as w:
                for start in range(int(cuts[k]), int(cuts[k + 1]), CHUNK):
                    n = min(CHUNK, int(cuts[k + 1]) - start)
                    texts = _texts(rng, vocab, n, words=14)
                    labels = rng.choice(NUM_CLASSES, size=n, p=_label_p())
                    w.write_table(
                        pa.table(
                            {
                                "id": np.arange(start, start + n, dtype=np.int64) + (0 if split == "train" else n_train),
                                "text": texts,
                                "label": labels,
                                "f1": rng.normal(size=n),
                                "f2": rng.normal(loc=labels, scale=2.0, size=n),
                            },
                            schema=schema,
                        ),
                        row_group_size=row_group,
                    )
    return {"rows": rows, "shards_per_split": shards, "vocab_words": vocab_words}


def task_datagate_check(data: Path, extra: dict[str, Any]) -> dict[str, Any]:
    """``datagate check --label label`` with its defaults, on the engine ``extra`` names.

    With ``extra["memory"]`` false the process tree's memory is not sampled: the sampler reads
    ``/proc`` (every process's stat, every tree member's smaps_rollup) ten times a second from a
    thread of this process, which slows the run it watches (on the 2M-row table, 2 cores: 38.3 s
    sampled against 36.5 / 36.8 s unsampled in one benchmark run), so timed runs and the
    memory run are separate.
    """
    from datagate.check import run_checks
    from datagate.engine import make_engine

    mem = TreeMemory() if extra.get("memory", True) else None
    t_up = time.perf_counter()
    engine = make_engine(extra.get("engine", "local"), workers=extra.get("workers"))
    up = time.perf_counter() - t_up
    t0 = time.perf_counter()
    try:
        out = run_checks(data, label="label", engine=engine)
    finally:
        seconds = time.perf_counter() - t0
        engine.close()
    report = [(c.id, c.status.value, c.observed) for c in out.report.checks]
    digest = __import__("hashlib").sha256(json.dumps(report, sort_keys=True, default=str).encode()).hexdigest()[:16]
    near = next(c for c in out.report.checks if c.id == "near_duplicates.cross_split")
    return {
        "check_seconds": seconds,
        "engine_start_seconds": up,
        "tree_peak_mb": mem.stop() if mem is not None else None,
        "tree_peak_pss_mb": mem.peak_pss_mb if mem is not None else None,
        "engine": dict(out.engine),
        "report_sha256_16": digest,
        "statuses": {c.id: [c.status.value, c.observed.get("count")] for c in out.report.checks},
        "near_candidates": near.observed.get("candidates"),
        "near_capped": near.observed.get("capped"),
    }


def task_gx_five(data: Path, extra: dict[str, Any]) -> dict[str, Any]:
    """GX 1.x, pandas engine, the five expectations over the same dataset (both splits)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    import pandas as pd
    from great_expectations.core import ExpectationSuite
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    suite = ExpectationSuite(name="five", expectations=_gx_suite(extra["weights"]))
    df = pd.read_parquet(data / "data")
    bd = ctx.data_sources.add_pandas("p").add_dataframe_asset("a").add_batch_definition_whole_dataframe("b")
    res = bd.get_batch(batch_parameters={"dataframe": df}).validate(suite)
    return {str(r.expectation_config.type if r.expectation_config else "?"): bool(r.success) for r in res.results}


def real_sentences() -> list[str]:
    """Short real English texts shipped with Python and installed packages: the sentences of the
    stdlib's ``pydoc_data.topics`` and the one-line ``Summary`` of every installed distribution."""
    import re
    from importlib import metadata
    from pydoc_data.topics import topics

    out: set[str] = set()
    for text in topics.values():
        for sent in re.split(r"(?<=[.!?])\s+", " ".join(text.split())):
            if 40 <= len(sent) <= 200 and len(sent.split()) >= 6 and not any(ch in sent for ch in "{}[]=<>"):
                out.add(sent)
    for dist in metadata.distributions():
        summary = (dist.metadata["Summary"] or "").strip()
        if 30 <= len(summary) <= 200 and len(summary.split()) >= 5:
            out.add(summary)
    found = sorted(out)
    np.random.default_rng(12).shuffle(found)
    return found


def real_edit(text: str, k: int) -> str:
    """The issue's edits, one per copy: case changed, whitespace doubled, one word reversed,
    "a" -> "the" (or "the" inserted), trailing punctuation added."""
    w = text.split()
    if k == 0:
        return text.swapcase()
    if k == 1:
        return text.replace(" ", "  ")
    if k == 2:
        i = max(range(len(w)), key=lambda j: len(w[j]))
        w[i] = w[i][::-1]
        return " ".join(w)
    if k == 3:
        return " ".join("the" if x == "a" else x for x in w) if "a" in w else " ".join([*w[:-1], "the", w[-1]])
    return text + "!!"


def make_real_near(root: Path) -> dict[str, Any]:
    """Train: the first half of the real texts; test: edited copies of every train text (each
    edit kind on a fifth) plus the other half unedited (negatives)."""
    texts = real_sentences()
    half = len(texts) // 2
    train, negatives = texts[:half], texts[half:]
    edited = [real_edit(t, i % 5) for i, t in enumerate(train)]
    (root / "data").mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"text": train}), root / "data" / "train-00000-of-00001.parquet")
    pq.write_table(pa.table({"text": edited + negatives}), root / "data" / "test-00000-of-00001.parquet")
    return {"train": len(train), "edited": len(edited), "negatives": len(negatives)}


def _near_truth(root: Path) -> tuple[list[str], list[str]]:
    train = pq.read_table(root / "data" / "train-00000-of-00001.parquet")["text"].to_pylist()
    test = pq.read_table(root / "data" / "test-00000-of-00001.parquet")["text"].to_pylist()
    return train, test


def _score(train: list[str], test: list[str], pairs: list[tuple[int, int]], n_planted: int) -> dict[str, Any]:
    """Recall over the planted edited copies (test row i < n_planted is a copy of train row i);
    precision: reported pairs whose exact word-set Jaccard is >= 0.7 (true near-duplicates, planted
    or found in the real text itself), and the share that are the planted pair."""
    from datagate.check.near_duplicates import jaccard, words

    found = {b for a, b in pairs if b < n_planted and a == b}
    true = sum(jaccard(words(train[a]), words(test[b])) >= THRESHOLD for a, b in pairs)
    planted_pairs = sum(1 for a, b in pairs if b < n_planted and a == b)
    return {
        "recall": len(found) / n_planted,
        "reported_rows": len({b for _, b in pairs}),
        "precision_exact_jaccard": true / len(pairs) if pairs else 1.0,
        "precision_planted": planted_pairs / len(pairs) if pairs else 1.0,
    }


def task_datagate_real_near(data: Path, extra: dict[str, Any]) -> dict[str, Any]:
    from datagate.check import run_checks
    from datagate.check.interface import MAX_EVIDENCE

    t0 = time.perf_counter()
    out = run_checks(data, text=("text",), policy=_only("near_duplicates.cross_split"))
    seconds = time.perf_counter() - t0
    res = next(c for c in out.report.checks if c.id == "near_duplicates.cross_split")
    train, test = _near_truth(data)
    n_planted = int(extra["edited"])
    if res.observed["count"] > MAX_EVIDENCE:
        # observed.pairs lists 50; recompute every best pair through the engine's own reduce output
        pairs = _engine_pairs(data)
    else:
        pairs = [(p["a"]["row"], p["b"]["row"]) for p in res.observed["pairs"]]
    return {"check_seconds": seconds, "count": res.observed["count"], **_score(train, test, pairs, n_planted)}


def _engine_pairs(data: Path) -> list[tuple[int, int]]:
    """Every (train row, test row) best match the near-duplicate reduce found (not only the 50 listed)."""
    from datagate.check import _engine, duplicates
    from datagate.check.duplicates import LOC_SHIFT
    from datagate.engine.local import LocalEngine
    from datagate.progress import NULL_PROGRESS

    layout, states, columns, _ = _engine._prepare(Path(data), None, ())
    plan = _engine._Plan(None, ("text",), None, ("text",), True, (), (), duplicates.ID_COLUMN_NAMES)
    with LocalEngine() as eng:
        merged = _engine._execute(eng, states, plan, None, THRESHOLD, None, NULL_PROGRESS)
    m = merged.reduced.near.cross if merged.reduced.near is not None else np.zeros((0, 3))
    later = np.ascontiguousarray(m[:, 0]).view(np.uint64)
    earlier = np.ascontiguousarray(m[:, 1]).view(np.uint64)
    mask = np.uint64((1 << LOC_SHIFT) - 1)
    keep = m[:, 2] >= THRESHOLD
    return [(int(a & mask), int(b & mask)) for a, b in zip(earlier[keep], later[keep], strict=True)]


def task_datasketch_real_near(data: Path, extra: dict[str, Any]) -> dict[str, Any]:
    """datasketch MinHashLSH (threshold 0.7, 64 perm) on the same normalised word sets."""
    from datasketch import MinHash, MinHashLSH

    from datagate.check.near_duplicates import words

    t0 = time.perf_counter()
    train, test = _near_truth(data)
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
    tr = MinHash.bulk([[w.encode() for w in words(t)] for t in train], num_perm=NUM_PERM)
    te = MinHash.bulk([[w.encode() for w in words(t)] for t in test], num_perm=NUM_PERM)
    with lsh.insertion_session() as session:
        for i, m in enumerate(tr):
            session.insert(i, m)
    pairs = []
    for j, m in enumerate(te):
        got = lsh.query(m)
        if got:
            # its best candidate by estimated Jaccard, as datagate reports one match per row
            best = max(got, key=lambda i: (m.jaccard(tr[i]), -i))
            pairs.append((int(best), j))
    seconds = time.perf_counter() - t0
    return {"check_seconds": seconds, "count": len(pairs), **_score(train, test, pairs, int(extra["edited"]))}


def task_datagate_synth_near(data: Path, extra: dict[str, Any]) -> dict[str, Any]:
    from datagate.check import run_checks

    t0 = time.perf_counter()
    out = run_checks(data, text=("text",), policy=_only("near_duplicates.cross_split"))
    seconds = time.perf_counter() - t0
    res = next(c for c in out.report.checks if c.id == "near_duplicates.cross_split")
    return {"check_seconds": seconds, "found": res.observed["count"], "recall": min(res.observed["count"], PLANTED) / PLANTED}


def task_datasketch_synth_near(data: Path, extra: dict[str, Any]) -> dict[str, Any]:
    from datasketch import MinHash, MinHashLSH

    from datagate.check.near_duplicates import words

    t0 = time.perf_counter()
    train = pq.read_table(data / "data" / "train-00000-of-00001.parquet", columns=["text"])["text"].to_pylist()
    test = pq.read_table(data / "data" / "test-00000-of-00001.parquet", columns=["text"])["text"].to_pylist()
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
    with lsh.insertion_session() as session:
        for start in range(0, len(train), 10_000):
            chunk = MinHash.bulk([[w.encode() for w in words(t)] for t in train[start : start + 10_000]], num_perm=NUM_PERM)
            for i, m in enumerate(chunk):
                session.insert(start + i, m)
    found = 0
    for start in range(0, len(test), 10_000):
        chunk = MinHash.bulk([[w.encode() for w in words(t)] for t in test[start : start + 10_000]], num_perm=NUM_PERM)
        for j, m in enumerate(chunk):
            if start + j < PLANTED and lsh.query(m):
                found += 1
    return {"check_seconds": time.perf_counter() - t0, "found": found, "recall": found / PLANTED}


TASKS.update(
    {
        "datagate_check": task_datagate_check,
        "gx_five": task_gx_five,
        "datagate_real_near": task_datagate_real_near,
        "datasketch_real_near": task_datasketch_real_near,
        "datagate_synth_near": task_datagate_synth_near,
        "datasketch_synth_near": task_datasketch_synth_near,
    }
)


def main_v2(args: argparse.Namespace) -> int:
    """The issue-12 measurements (see ``--v2`` in the usage)."""
    work = args.workdir or Path(tempfile.mkdtemp(prefix="datagate-bench12-"))
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"table_rows": args.table_rows, "shard_rows": args.shard_rows, "near_rows": args.near_rows}
    only = set(args.only or [])

    def want(name: str) -> bool:
        return not only or name in only

    def run(key: str, task: str, data: Path, extra: dict[str, Any]) -> None:
        print(f"running {key} ...", file=sys.stderr)
        results[key] = run_child(task, data, extra, args.timeout)
        print(f"  {json.dumps(results[key])[:400]}", file=sys.stderr)

    try:
        if want("table"):
            table = work / "table"
            results["table_facts"] = make_table(table, args.table_rows)
            from datagate.check import profile_dataset

            counts = profile_dataset(table, label="label").splits["train"].label_counts
            total = sum(counts.values())
            weights = [counts.get(str(k), 0) / total for k in range(NUM_CLASSES)]
            # side by side, twice each, alternating, so load changes hit both; datagate's process
            # tree memory in a run of its own (the sampler slows the run it watches)
            for rep in (1, 2):
                run(f"gx_five_{rep}", "gx_five", table, {"weights": weights})
                run(f"datagate_check_{rep}", "datagate_check", table, {"engine": "local", "memory": False})
            run("datagate_check_memory", "datagate_check", table, {"engine": "local"})
        if want("near"):
            real = work / "real_near"
            facts = make_real_near(real)
            results["real_near_facts"] = facts
            run("datagate_real_near", "datagate_real_near", real, facts)
            run("datasketch_real_near", "datasketch_real_near", real, facts)
            synth = work / "synth_near"
            make_near(synth, args.near_rows)
            run("datagate_synth_near", "datagate_synth_near", synth, {})
            run("datasketch_synth_near", "datasketch_synth_near", synth, {})
        if want("engines"):
            shards = work / "shards"
            results["shards_facts"] = make_table(shards, args.shard_rows, shards=10, seed=6)
            for key, extra in (
                ("local_2", {"engine": "local", "workers": 2}),
                ("ray_2", {"engine": "ray", "workers": 2}),
                ("local_1", {"engine": "local", "workers": 1}),
                ("ray_1", {"engine": "ray", "workers": 1}),
            ):
                run(key, "datagate_check", shards, extra)
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(results, indent=2, default=str))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return 0


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
    ap.add_argument("--v2", action="store_true", help="issue 12: 2M-row table vs GX, near-duplicates on edited real text and vs datasketch, ray vs local on 10 shards, 1 vs 2 workers")
    ap.add_argument("--table-rows", type=int, default=2_000_000, help="--v2: rows of the GX comparison table")
    ap.add_argument("--shard-rows", type=int, default=600_000, help="--v2: rows of the 10-shard engine comparison")
    ap.add_argument("--only", action="append", choices=["table", "near", "engines"], help="--v2: run only these parts")
    ap.add_argument("--child", choices=sorted(TASKS), help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--extra", default="{}", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args.child, args.data, json.loads(args.extra))
        return 0
    if args.v2:
        return main_v2(args)
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
        res = s.get("result") if isinstance(s.get("result"), dict) else {}
        tree, pss = res.get("tree_peak_mb"), res.get("tree_peak_pss_mb")
        if tree is not None:
            mb = f"{tree:.0f} RSS sum / {pss:.0f} PSS sum (process tree; driver {mb})" if pss else f"{tree:.0f} (process tree; driver {mb})"
        lines.append(f"| streaming, every check | {r['stream_rows']:,} | {sec} | {mb} | - | - | - | - | - | target peak < 2048 MB |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
