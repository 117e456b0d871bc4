"""Check engine v2 (issue 12): shard/batch independence, work-item failures, nulls without a
baseline, near-duplicates on edited real text, the profile version."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datagate.check import run_checks
from datagate.check.load import iter_batches
from datagate.check.near_duplicates import jaccard, words
from datagate.check.profile import Profile
from datagate.engine.local import LocalEngine
from datagate.errors import CheckError
from datagate.models import CheckStatus


def _checks(outcome: Any) -> str:
    return json.dumps([(c.id, c.status.value, c.severity.value, c.message, c.observed) for c in outcome.report.checks], sort_keys=True, default=str)


def _read_split(folder: Path, split: str) -> pa.Table:
    files = sorted(folder.glob(f"data/{split}-*.parquet"))
    assert files, f"no {split} files in {folder}"
    return pa.concat_tables(pq.read_table(f) for f in files)


def _write_cut(table: pa.Table, dest: Path, split: str, shards: int, fmt: str) -> None:
    n = table.num_rows
    cuts = np.linspace(0, n, shards + 1).astype(int)
    for i in range(shards):
        part = table.slice(int(cuts[i]), int(cuts[i + 1] - cuts[i]))
        name = dest / "data" / f"{split}-{i:05d}-of-{shards:05d}"
        if fmt == "parquet":
            pq.write_table(part, f"{name}.parquet", row_group_size=max(1, part.num_rows // 2 or 1))
        else:
            with open(f"{name}.jsonl", "w", encoding="utf-8") as fh:
                for row in part.to_pylist():
                    fh.write(json.dumps(row) + "\n")


@pytest.fixture(scope="module")
def planted(quality: dict[str, Path]) -> tuple[dict[str, pa.Table], Path, str]:
    """The 'duplicates' case (exact duplicates, leakage, near-duplicates, conflicts) as tables,
    and its report from the files as generated."""
    root = quality["duplicates"]
    tables = {s: _read_split(root, s) for s in ("train", "validation", "test") if list(root.glob(f"data/{s}-*"))}
    return tables, root, _checks(run_checks(root, text=("text",)))


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(shards=st.sampled_from([1, 3, 17]), batch=st.sampled_from([7, 64, 65_536]), fmt=st.sampled_from(["parquet", "jsonl"]))
def test_reports_do_not_depend_on_shards_or_batches(
    planted: tuple[dict[str, pa.Table], Path, str], tmp_path_factory: pytest.TempPathFactory, shards: int, batch: int, fmt: str
) -> None:
    tables, root, expected = planted
    dest = tmp_path_factory.mktemp("cut")
    (dest / "data").mkdir()
    for meta in root.iterdir():  # the dataset card (class names) comes along
        if meta.is_file():
            (dest / meta.name).write_bytes(meta.read_bytes())
    for split, table in tables.items():
        _write_cut(table, dest, split, shards, fmt)
    got = run_checks(dest, text=("text",), batch_rows=batch)
    if fmt == "parquet":
        assert _checks(got) == expected
    else:
        # JSON Lines types columns by inference: compare everything but the schema check's types
        assert [(c.id, c.observed.get("count")) for c in got.report.checks if c.id != "schema"] == [
            (c[0], c[4].get("count")) for c in json.loads(expected) if c[0] != "schema"
        ]


def test_process_pool_gives_the_in_process_report(quality: dict[str, Path]) -> None:
    root = quality["duplicates"]
    with LocalEngine(2, min_parallel_bytes=0) as engine:
        pooled = run_checks(root, text=("text",), engine=engine)
        assert engine.used_processes
    assert _checks(pooled) == _checks(run_checks(root, text=("text",)))
    assert pooled.engine == {"name": "local", "workers": 2, "cores": 2}


def test_reports_do_not_depend_on_the_bucket_count_or_spilling(planted: tuple[dict[str, pa.Table], Path, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from datagate.check import _engine

    _, root, expected = planted
    # as if the data were huge: 512 buckets, every spool spilled to files the workers read
    monkeypatch.setattr(_engine, "REDUCE_ROWS", 1)
    monkeypatch.setattr(_engine, "MAX_BUCKETS", 512)
    seen: list[int] = []
    real = _engine._buckets

    def counted(items: Any, plan: Any) -> int:
        seen.append(real(items, plan))
        return seen[-1]

    monkeypatch.setattr(_engine, "_buckets", counted)
    with LocalEngine(2, min_parallel_bytes=0) as engine:  # workers write their rows to files
        pooled = run_checks(root, text=("text",), engine=engine)
    with LocalEngine(1, budget=1) as engine:  # in-process: spools spilled to bucket files
        spilled = run_checks(root, text=("text",), engine=engine)
    assert seen == [512, 512]
    assert _checks(pooled) == expected
    assert _checks(spilled) == expected


def test_bucket_count_grows_with_the_rows() -> None:
    from datagate.check import _engine
    from datagate.check.near_duplicates import BANDS
    from datagate.engine.interface import DEFAULT_BUCKETS

    base = DEFAULT_BUCKETS
    per = _engine.REDUCE_ROWS * base
    rows_at = [per // BANDS, per // BANDS + 1, 8 * per // BANDS, 10**12]
    got = [_engine._bucket_count(r, near=True) for r in rows_at]
    assert got == [base, 2 * base, 8 * base, _engine.MAX_BUCKETS]
    assert _engine._bucket_count(per, near=False) == base


def test_large_parquet_file_is_cut_by_row_groups(tmp_path: Path, quality: dict[str, Path]) -> None:
    from datagate.check import _engine

    root = quality["duplicates"]
    train = _read_split(root, "train")
    # 40 copies of train with a running id: > ITEM_ROWS is too big for a unit test, so lower it
    big = pa.concat_tables([train] * 40)
    (tmp_path / "data").mkdir()
    pq.write_table(big, tmp_path / "data" / "train-00000-of-00001.parquet", row_group_size=train.num_rows)
    pq.write_table(_read_split(root, "test"), tmp_path / "data" / "test-00000-of-00001.parquet")
    whole = run_checks(tmp_path, text=("text",))
    old = _engine.ITEM_ROWS
    _engine.ITEM_ROWS = 3 * train.num_rows
    try:
        states = [_engine._SplitState("train", [], None)]
        del states
        cut = run_checks(tmp_path, text=("text",))
    finally:
        _engine.ITEM_ROWS = old
    assert _checks(cut) == _checks(whole)


def test_single_split_with_a_third_of_a_column_null_warns(tmp_path: Path, quality: dict[str, Path]) -> None:
    table = _read_split(quality["duplicates"], "train")
    n = table.num_rows
    col = "feature_a" if "feature_a" in table.column_names else table.column_names[1]
    values = table.column(col).to_pylist()
    null_every = [i for i in range(n) if (i * 7) % 20 < 7]  # 35% of rows, spread out
    for i in null_every:
        values[i] = None
    table = table.set_column(table.column_names.index(col), col, pa.array(values, type=table.schema.field(col).type))
    (tmp_path / "data").mkdir()
    pq.write_table(table, tmp_path / "data" / "train-00000-of-00001.parquet")
    res = next(c for c in run_checks(tmp_path).report.checks if c.id == "nulls")
    assert res.status is CheckStatus.WARN
    assert col in res.message and f"{len(null_every) / n:.1%}" in res.message
    assert res.observed["flagged"][0]["column"] == col


def test_nulls_absolute_threshold_is_a_policy_knob(tmp_path: Path, quality: dict[str, Path]) -> None:
    from datagate.config import Policy

    table = _read_split(quality["duplicates"], "train")
    col = table.column_names[-1]
    values = [None if i % 4 == 0 else v for i, v in enumerate(table.column(col).to_pylist())]
    table = table.set_column(table.num_columns - 1, col, pa.array(values, type=table.schema.field(col).type))
    (tmp_path / "data").mkdir()
    pq.write_table(table, tmp_path / "data" / "train-00000-of-00001.parquet")
    quiet = Policy.from_raw({"checks": {"nulls": {"high_rate": 0.5, "column_delta": 0.5}}}) if hasattr(Policy, "from_raw") else None
    if quiet is None:
        pytest.skip("Policy.from_raw not available")
    assert next(c for c in run_checks(tmp_path).report.checks if c.id == "nulls").status is CheckStatus.WARN
    assert next(c for c in run_checks(tmp_path, policy=quiet).report.checks if c.id == "nulls").status is CheckStatus.PASS


def _sentences(n: int) -> list[str]:
    from pydoc_data.topics import topics

    out = set()
    for text in topics.values():
        for s in re.split(r"(?<=[.!?])\s+", " ".join(text.split())):
            if 40 <= len(s) <= 200 and len(s.split()) >= 6 and not any(ch in s for ch in "{}[]=<>"):
                out.add(s)
    found = sorted(out)
    np.random.default_rng(12).shuffle(found)
    return found[:n]


def _edit(s: str, k: int) -> str:
    w = s.split()
    if k == 0:
        return s.upper()
    if k == 1:
        return s.replace(" ", "  ")
    if k == 2:
        i = max(range(len(w)), key=lambda j: len(w[j]))
        w[i] = w[i][::-1]
        return " ".join(w)
    if k == 3:
        return " ".join("the" if x == "a" else x for x in w) if "a" in w else " ".join([*w[:-1], "the", w[-1]])
    return s + "!!"


def test_near_duplicates_catch_edited_copies_of_real_text(tmp_path: Path) -> None:
    texts = _sentences(600)
    train, test = texts[:400], texts[400:]
    edited = [_edit(s, i % 5) for i, s in enumerate(train[:200])]
    (tmp_path / "data").mkdir()
    pq.write_table(pa.table({"text": train}), tmp_path / "data" / "train-00000-of-00001.parquet")
    pq.write_table(pa.table({"text": test + edited}), tmp_path / "data" / "test-00000-of-00001.parquet")
    res = next(c for c in run_checks(tmp_path, text=("text",)).report.checks if c.id == "near_duplicates.cross_split")
    assert res.status is CheckStatus.FAIL
    # the reference: word-set Jaccard in pure Python over the same pairs
    expected = sum(jaccard(words(a), words(b)) >= 0.7 for a, b in zip(train[:200], edited, strict=True))
    assert expected >= 0.95 * 200
    assert res.observed["count"] >= expected - 2
    later = test + edited
    for p in res.observed["pairs"]:
        # every reported similarity is the exact word-set Jaccard of the two texts
        ref = jaccard(words(train[p["a"]["row"]]), words(later[p["b"]["row"]]))
        assert p["similarity"] == pytest.approx(ref, abs=1e-4) and ref >= 0.7
    assert not res.observed["capped"]


def test_near_duplicates_within_a_split(tmp_path: Path) -> None:
    texts = _sentences(200)
    rows = texts + [_edit(s, 2) for s in texts[:30]]
    (tmp_path / "data").mkdir()
    pq.write_table(pa.table({"text": rows}), tmp_path / "data" / "train-00000-of-00001.parquet")
    out = run_checks(tmp_path, text=("text",))
    res = next(c for c in out.report.checks if c.id == "near_duplicates.within_split")
    assert res.status is CheckStatus.WARN
    assert res.observed["count"] >= 28
    assert all(p["b"]["row"] >= 200 and p["a"]["row"] < 30 for p in res.observed["pairs"])
    cross = next(c for c in out.report.checks if c.id == "near_duplicates.cross_split")
    assert cross.status is CheckStatus.PASS


def test_degenerate_text_reports_the_cap(tmp_path: Path) -> None:
    from datagate.check import near_duplicates

    vocab = ["alpha", "beta", "gamma", "delta"]
    rng = np.random.default_rng(3)
    rows = [" ".join(rng.choice(vocab, size=6)) for _ in range(3000)]
    (tmp_path / "data").mkdir()
    pq.write_table(pa.table({"text": rows}), tmp_path / "data" / "train-00000-of-00001.parquet")
    old = near_duplicates.BUCKET_CANDIDATES
    near_duplicates.BUCKET_CANDIDATES = 50
    try:
        res = next(c for c in run_checks(tmp_path, text=("text",)).report.checks if c.id == "near_duplicates.within_split")
    finally:
        near_duplicates.BUCKET_CANDIDATES = old
    assert res.observed["capped"] is True
    assert "cap" in res.message


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40)), max_size=300), st.integers(1, 60))
def test_the_first_candidate_pairs_are_those_a_full_sort_keeps(pairs: list[tuple[int, int]], cap: int) -> None:
    """The bucket keeps its first ``cap`` distinct pairs by (later, earlier) location, and says
    whether any were left out, as sorting every pair would (repeated pairs and tied locations
    included)."""
    from datagate.check.near_duplicates import _first_pairs

    rng = np.random.default_rng(len(pairs))
    loc = rng.integers(0, 30, 41).astype(np.uint64) * np.uint64(7)  # a row may sit at two positions
    allp = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    got, lat, ear, over = _first_pairs(allp, loc, cap)
    want = sorted({(int(loc[a]), int(loc[b])) for a, b in pairs})
    assert list(zip(lat.tolist(), ear.tolist(), strict=True)) == want[:cap]
    assert over == (len(want) > cap)
    assert np.array_equal(loc[got[:, 0]], lat) and np.array_equal(loc[got[:, 1]], ear)


def test_old_profile_version_says_how_to_recreate_it(tmp_path: Path, quality: dict[str, Path]) -> None:
    prof = run_checks(quality["duplicates"]).profile.to_dict()
    prof.pop("version")
    path = tmp_path / "old.json"
    path.write_text(json.dumps(prof), encoding="utf-8")
    with pytest.raises(CheckError) as info:
        run_checks(quality["duplicates"], baseline=path)
    assert "version" in info.value.message and str(path) in info.value.message
    assert info.value.hint is not None and "--save-profile" in info.value.hint
    assert Profile.from_dict(run_checks(quality["duplicates"]).profile.to_dict()).version == 1


def test_batches_are_read_with_datagates_readers(quality: dict[str, Path]) -> None:
    # a row-group range reads exactly those rows
    f = sorted(quality["duplicates"].glob("data/train-*.parquet"))[0]
    from datagate.check.load import discover

    shard = discover(f).splits[0].shards[0]
    md = pq.read_metadata(f)
    rows = sum(b.num_rows for b in iter_batches(shard, row_groups=(0, md.num_row_groups)))
    assert rows == md.num_rows
