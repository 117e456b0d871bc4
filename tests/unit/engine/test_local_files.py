"""The local engine's file-backed shuffle pieces: positional side reads and bucket slices."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from datagate.engine.interface import MapOutput, RowTable, drain_concat, partition, take_rows
from datagate.engine.local import _BucketSlices, _FileArray, _map_to_files


def test_file_array_reads_the_positions_numpy_would(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    values = rng.integers(0, 2**63, size=100_000, dtype=np.uint64)
    values.tofile(tmp_path / "side.u64")
    arr = _FileArray(str(tmp_path / "side.u64"))
    idx = np.concatenate([rng.integers(0, len(values), 5_000), np.arange(40, 90), [0, len(values) - 1, 40]])
    assert len(arr) == len(values)
    assert np.array_equal(arr[idx], values[idx])
    assert arr[17] == values[17]
    sparse = rng.integers(0, len(values), 20)  # one run per ~5,000 values: positional reads
    assert np.array_equal(arr[sparse], values[sparse])
    assert len(arr[np.zeros(0, np.int64)]) == 0
    with pytest.raises(IndexError):
        arr[np.array([len(values)])]


def _task(table: np.ndarray) -> MapOutput:
    return MapOutput("summary", {"rows": table}, np.arange(5, dtype=np.uint64))


def test_map_task_files_give_each_bucket_its_rows(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    tables = [np.stack([rng.integers(0, 2**64, size=n, dtype=np.uint64), np.arange(n, dtype=np.uint64) + 1000 * i], axis=1) for i, n in enumerate([0, 1, 900, 50])]
    buckets = 16
    refs: list[Any] = []
    for i, t in enumerate(tables):
        out: Any = _map_to_files(_task, buckets, str(tmp_path), i, t)
        assert out.summary == "summary"
        assert np.array_equal(np.fromfile(out.side, dtype=np.uint64), np.arange(5))
        refs.append(out.shuffle.get("rows"))
    assert refs[0] is None  # no rows, no file
    for b in range(buckets):
        slices = []
        for r in refs[1:]:
            first, n = r.span(b)
            if n:
                slices.append((r.path, r.ncols, first, n))
        want = np.concatenate([partition(t, buckets)[b] for t in tables[1:]])
        if not slices:
            assert len(want) == 0
            continue
        assert np.array_equal(_BucketSlices(tuple(slices)).load(), want)


@pytest.mark.parametrize("cols", [1, 2, 3])
def test_take_rows_is_row_indexing(cols: int) -> None:
    rng = np.random.default_rng(cols)
    table = rng.integers(0, 2**64 - 1, size=(1000, cols), dtype=np.uint64, endpoint=True)
    order = rng.permutation(1000)[:700]
    assert np.array_equal(take_rows(table, order), table[order])
    strided = table[::2]  # not contiguous: copied first, same rows
    assert np.array_equal(take_rows(strided, order[:300] // 2), strided[order[:300] // 2])
    assert take_rows(table, order[:0]).shape == (0, cols)


def test_drain_concat_joins_in_order_and_empties_the_list() -> None:
    rng = np.random.default_rng(11)
    parts = [rng.integers(0, 2**64 - 1, size=(n, 3), dtype=np.uint64, endpoint=True) for n in (5, 0, 17, 1)]
    want = np.concatenate(parts)
    work = list(parts)
    got = drain_concat(work)
    assert work == []
    assert got.dtype == np.uint64 and np.array_equal(got, want)
    flat = [np.arange(4, dtype=np.uint64), np.arange(3, dtype=np.uint64)]
    assert np.array_equal(drain_concat(list(flat)), np.concatenate(flat))


@pytest.mark.parametrize("capacity", [None, 0, 10, 40, 41, 1000])
def test_row_table_gives_the_rows_added_whatever_its_capacity(capacity: int | None) -> None:
    rng = np.random.default_rng(5)
    batches = [rng.integers(0, 2**64 - 1, size=(n, 2), dtype=np.uint64, endpoint=True) for n in (7, 0, 13, 20, 1)]
    rows = RowTable(capacity)
    for b in batches:
        rows.add(b)
    assert len(rows) == 41
    got = rows.table()
    assert np.array_equal(got, np.concatenate(batches))
    if capacity is not None and capacity >= 41:
        assert got.base is not None  # filled in place: a view of the one table allocated


def test_row_table_refuses_rows_it_would_have_to_cast() -> None:
    rows = RowTable(10)
    rows.add(np.zeros((2, 2), dtype=np.uint64))
    with pytest.raises(TypeError):
        rows.add(np.zeros((2, 2), dtype=np.float64))
    with pytest.raises(TypeError):
        rows.add(np.zeros(4, dtype=np.uint64))
    assert len(rows) == 2
