"""Row hashing and MinHash: deterministic, batch-independent, and faithful to Jaccard."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datagate.check._hashing import (
    NULL_HASH,
    column_hash,
    minhash_signatures,
    row_hash,
    text_for_shingles,
)
from datagate.check.near_duplicates import jaccard, shingles


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=40)), min_size=1, max_size=40), st.integers(0, 39))
def test_string_hash_depends_only_on_the_value(values: list[str | None], cut: int) -> None:
    arr = pa.array(values, type=pa.string())
    whole = column_hash(arr)
    cut = min(cut, len(values))
    parts = np.concatenate([column_hash(arr.slice(0, cut)), column_hash(arr.slice(cut))])
    assert np.array_equal(whole, parts)
    large = column_hash(pa.array(values, type=pa.large_string()))
    assert np.array_equal(whole, large)
    by_value: dict[str | None, int] = {}
    for v, h in zip(values, whole.tolist(), strict=True):
        assert by_value.setdefault(v, h) == h
    if None in by_value:
        assert by_value[None] == int(NULL_HASH)
    non_null = {v: h for v, h in by_value.items() if v is not None}
    assert len(set(non_null.values())) == len(non_null)


def test_padding_bytes_do_not_collide() -> None:
    h = column_hash(pa.array(["a", "a\x00", "ab", "", "abcdefgh", "abcdefgh\x00"]))
    assert len(set(h.tolist())) == 6


def test_numbers_and_nulls() -> None:
    h = column_hash(pa.array([0.0, -0.0, float("nan"), None, 1.0]))
    assert h[0] == h[1] and h[3] == NULL_HASH and h[2] != h[3]
    assert column_hash(pa.array([1, 2, 1], pa.int32()))[0] == column_hash(pa.array([1], pa.int64()))[0]
    nested = column_hash(pa.array([[1, 2], [1, 2], [3]]))
    assert nested[0] == nested[1] != nested[2]


def test_row_hash_is_column_order_free() -> None:
    a = pa.table({"x": [1, 2], "y": ["p", "q"]})
    b = pa.table({"y": ["p", "q"], "x": [1, 2]})
    assert np.array_equal(row_hash(a, ["x", "y"]), row_hash(b, ["y", "x"]))
    assert row_hash(a, ["x"])[0] != row_hash(a, ["x", "y"])[0]


def test_row_hash_cache_gives_the_uncached_hashes_for_every_subset() -> None:
    """One batch's column-hash cache shared by row hashes over overlapping column sets (the map
    phase's duplicate key, conflict features and label sample) changes none of them, and each
    column is hashed into it once."""
    rng = np.random.default_rng(5)
    batch = pa.record_batch({"text": [f"t{i % 7}" for i in range(500)], "x": rng.normal(size=500), "label": rng.integers(0, 3, 500)})
    cache: dict[str, np.ndarray] = {}
    for cols in (["text", "x", "label"], ["x", "text"], ["label", "text", "x"], ["x"]):
        assert np.array_equal(row_hash(batch, cols, cache), row_hash(batch, cols))
    assert sorted(cache) == ["label", "text", "x"]
    assert np.array_equal(cache["text"], column_hash(batch.column(0)))
    with pytest.raises(KeyError):
        row_hash(batch, ["missing"], cache)


def test_minhash_agreement_tracks_jaccard() -> None:
    rng = np.random.default_rng(3)
    vocab = ["".join(rng.choice(list("abcdefghijklmnop"), size=rng.integers(3, 9))) for _ in range(400)]
    base = [" ".join(rng.choice(vocab, size=18)) for _ in range(200)]
    edited = []
    for t in base:
        words = t.split()
        words[int(rng.integers(len(words)))] = "zzzzzz"
        edited.append(" ".join(words))
    texts = text_for_shingles(pa.table({"t": base + edited}), ["t"])
    sig, has = minhash_signatures(texts, shingle=5, num_perm=64)
    assert has.all()
    est = (sig[:200] == sig[200:]).mean(axis=1)
    true = np.array([jaccard(shingles(a.lower()), shingles(b.lower())) for a, b in zip(base, edited, strict=True)])
    assert abs(float(est.mean() - true.mean())) < 0.03
    unrelated = (sig[:100] == sig[100:200]).mean(axis=1)
    assert float(unrelated.mean()) < 0.1


def test_short_texts_get_no_signature() -> None:
    texts = text_for_shingles(pa.table({"t": ["abc", None, "long enough text"]}), ["t"])
    _, has = minhash_signatures(texts, shingle=5, num_perm=64)
    assert has.tolist() == [False, False, True]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 50)), max_size=60))
def test_hash_loc_order_matches_lexsort(pairs: list[tuple[int, int]]) -> None:
    from datagate.check.duplicates import hash_loc_order

    h = np.array([p[0] for p in pairs], dtype=np.uint64)
    loc = np.array([p[1] for p in pairs], dtype=np.uint64)
    for locs in (loc, np.sort(loc)):  # the shuffle's usual ascending locations, and any order
        order = hash_loc_order(h, locs)
        ref = np.lexsort((locs, h))
        assert np.array_equal(h[order], h[ref]) and np.array_equal(locs[order], locs[ref])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, (1 << 64) - 1), max_size=40), st.integers(0, 64), st.integers(4096, 9000))
def test_stable_argsort_is_numpys(values: list[int], shift: int, extra: int) -> None:
    """The radix sort (arrays past its threshold) gives numpy's stable permutation: random and
    repeated keys, keys sharing their high bytes, signed non-negative and negative int64."""
    from datagate.check._hashing import stable_argsort

    rng = np.random.default_rng(extra)
    base = np.array(values, dtype=np.uint64) >> np.uint64(shift) if shift < 64 else np.zeros(len(values), np.uint64)
    keys = np.concatenate([base, rng.choice(base, extra) if len(base) else rng.integers(0, 1 << 63, extra, dtype=np.uint64)]).astype(np.uint64)
    for x in (keys, (keys >> np.uint64(1)).astype(np.int64), (keys >> np.uint64(1)).astype(np.int64) - (1 << 61)):
        got = stable_argsort(x)
        assert np.array_equal(got, np.argsort(x, kind="stable"))
