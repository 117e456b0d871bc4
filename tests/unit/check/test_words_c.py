"""The C word cutter and hasher (``datagate/_words.c``) against the numpy path it stands in for."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datagate import _accel
from datagate.check import near_duplicates as nd
from datagate.check.duplicates import LOC_SHIFT

needs_c = pytest.mark.skipif(_accel.words is None, reason=f"check-stage accelerator {_accel.words_status}")


def test_accelerator_is_built_here() -> None:
    if os.environ.get("DATAGATE_PURE_PYTHON", "") not in ("", "0"):
        pytest.skip("DATAGATE_PURE_PYTHON is set")
    assert _accel.words_status == "on"


def _same(texts: list[str | None]) -> None:
    table = pa.table({"text": pa.array(texts, pa.string())})
    joined = nd._joined(table, ["text"])
    if not all(t is None or t.isascii() for t in texts):
        joined = nd.normalise(table, ["text"]).cast(pa.large_string())
    got, want = nd._words_c(joined), nd._words_numpy(joined)
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1]), texts


_WORD = st.text(alphabet="abcXYZ09_-.,!?' \t\n", min_size=0, max_size=40)


@needs_c
@settings(max_examples=1500, deadline=None)
@given(st.lists(st.one_of(st.none(), _WORD, st.text(max_size=30)), max_size=12))
def test_same_words_and_hashes_as_numpy(texts: list[str | None]) -> None:
    _same(texts)


@needs_c
def test_edges() -> None:
    _same([])
    _same(["", " ", "...", None, "a"])
    for n in (7, 8, 9, 15, 16, 17, 40, 300):
        _same(["x" * n, "ab " + "Q" * n + " cd", "y" * n + "," + "z" * (n + 1)])
    _same(["naïve Café — ÅNGSTRÖM straße ﬁne", "日本語 テキスト", "emoji \U0001f600 here"])


@needs_c
def test_sliced_and_chunked_columns() -> None:
    """Offsets of a sliced array start past zero; the C pass reads them where they are."""
    base = pa.array([f"row {i} " + "word" * (i % 7) + " end-of-line" for i in range(500)], pa.large_string())
    for sl in (base.slice(3, 200), base.slice(499, 1), base.slice(0, 0)):
        got, want = nd._words_c(sl), nd._words_numpy(sl)
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


@needs_c
def test_token_sets_and_signatures_do_not_depend_on_the_path(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    vocab = np.array(["alpha", "beta", "Gamma", "delta!", "x" * 20, "omega", "sigma,", "ŧheta"])
    texts = [" ".join(rng.choice(vocab, size=rng.integers(0, 30))) for _ in range(2000)]
    table = pa.table({"text": texts})
    fast = nd.token_sets(table, ["text"])
    monkeypatch.setattr(nd, "_words", None)
    monkeypatch.setattr(_accel, "word_sets", None)
    slow = nd.token_sets(table, ["text"])
    assert all(np.array_equal(a, b) for a, b in zip(fast, slow, strict=True))
    assert np.array_equal(nd.signatures(*fast), nd.signatures(*slow))


# backdoor_triggers' tokens: the C pass for ASCII rows against Arrow's regex split


def _same_tokens(texts: list[str | None], max_splits: int = 1024) -> None:
    from datagate.check import backdoor

    for col in (pa.array(texts, pa.string()), pa.array(texts, pa.large_string()).slice(min(1, len(texts)))):
        got = backdoor._tokens(col, max_splits)
        want = backdoor._regex_tokens(col, max_splits)
        assert got[0].equals(want[0]) and np.array_equal(got[1], want[1]), (texts, max_splits)


@needs_c
@settings(max_examples=1500, deadline=None)
@given(st.lists(st.one_of(st.none(), _WORD, st.text(max_size=30)), max_size=12), st.sampled_from([0, 1, 2, 3, 1024]))
def test_backdoor_tokens_are_the_regex_split(texts: list[str | None], max_splits: int) -> None:
    """Leading, trailing and repeated separators, the split limit (the rest of the cell one last
    token, separators and all), nulls and non-ASCII rows (left to the regex) mixed in any order."""
    _same_tokens(texts, max_splits)


@needs_c
def test_backdoor_tokens_edges() -> None:
    _same_tokens([])
    _same_tokens(["", " ", "...", None, "a", "A-B c!", " lead", "trail ", "MiXeD CaSe 42x"])
    _same_tokens(["w " * 2000, "x," * 1500 + "tail", "naïve Café", "a b"], 1024)
    _same_tokens(["naïve Café — ÅNGSTRÖM straße ﬁne", "plain ascii", "日本語 テキスト", None, "more ascii here"])


@needs_c
def test_backdoor_counts_do_not_depend_on_the_tokeniser(monkeypatch: pytest.MonkeyPatch) -> None:
    from datagate.check import backdoor

    rng = np.random.default_rng(5)
    vocab = np.array(["alpha", "Beta", "cf", "delta!", "x" * 20, "omega", "sigma,", "ŧheta", "42"])
    texts = [" ".join(rng.choice(vocab, size=rng.integers(0, 20))) for _ in range(3000)]
    batch = pa.record_batch({"text": texts, "label": rng.integers(0, 3, len(texts)).astype(str).tolist()})
    fast = backdoor.TriggerCounts(("text",), (), "label")
    fast.add(batch)
    monkeypatch.setattr(_accel, "ascii_tokens", None)
    monkeypatch.setattr(_accel, "text_cells", None)
    slow = backdoor.TriggerCounts(("text",), (), "label")
    slow.add(batch)
    order = [("key", "ascending"), ("kind", "ascending"), ("label", "ascending")]
    a, b = fast.table(), slow.table()
    assert a.num_rows > 100 and a.sort_by(order).equals(b.sort_by(order))


def _cells_both_ways(rows: list[list[int]], v: int, labels: list[int], n_labels: int, bigrams: bool) -> None:
    from datagate.check import backdoor

    par = np.array([r for r, codes in enumerate(rows) for _ in codes], np.int64)
    code = np.array([c for codes in rows for c in codes], np.int64)
    lab = np.array(labels, np.int64)
    assert _accel.text_cells is not None
    cells_b, pairs_b = _accel.text_cells(par, code, v, lab, n_labels, bigrams)
    pairs, cells = np.frombuffer(pairs_b, np.int64), np.frombuffer(cells_b, np.int64)
    want_pairs, want_cells = backdoor._text_cells(par, np.zeros(len(par), np.int64), code, v, lab, n_labels, 2 if bigrams else 1)
    # the C pass numbers bigrams by first appearance, numpy by value: compare the cells as
    # (feature key, label) multisets
    assert sorted(pairs.tolist()) == want_pairs.tolist()

    def named(cs: np.ndarray, ps: np.ndarray) -> list[tuple[int, int, int]]:
        f, lab_ = cs // n_labels, cs % n_labels
        return sorted((0, int(x), int(y)) if x < v else (1, int(ps[x - v]), int(y)) for x, y in zip(f, lab_, strict=True))

    assert named(cells, pairs) == named(want_cells, want_pairs)
    assert len(cells) == len(want_cells)


@needs_c
@settings(max_examples=500, deadline=None)
@given(st.integers(1, 6).flatmap(lambda v: st.tuples(
    st.just(v),
    st.lists(st.lists(st.integers(0, v - 1), max_size=12), max_size=15),
    st.integers(1, 4),
    st.booleans(),
)), st.data())
def test_text_cells_are_the_numpy_counts(args: tuple[int, list[list[int]], int, bool], data: st.DataObject) -> None:
    v, rows, n_labels, bigrams = args
    labels = data.draw(st.lists(st.integers(-1, n_labels - 1), min_size=len(rows), max_size=len(rows)))
    _cells_both_ways(rows, v, labels, n_labels, bigrams)


@needs_c
def test_text_cells_grow_their_pair_table_and_refuse_bad_input() -> None:
    rng = np.random.default_rng(3)
    v = 3000  # far more distinct pairs than the table's first 4,096 slots
    rows = [rng.integers(0, v, rng.integers(0, 30)).tolist() for _ in range(2000)]
    _cells_both_ways(rows, v, rng.integers(-1, 5, len(rows)).tolist(), 5, True)
    assert _accel.text_cells is not None
    one = np.zeros(1, np.int64)
    for rows_, codes, v_, labels, n_labels, match in [
        (np.array([1, 0], np.int64), np.zeros(2, np.int64), 1, np.zeros(2, np.int64), 1, "non-decreasing"),
        (one, np.array([5], np.int64), 2, one, 1, r"\[0, v\)"),
        (np.array([3], np.int64), one, 1, one, 1, "outside the labels"),
        (one, one, 1, np.array([4], np.int64), 2, ">= n_labels"),
        (one, np.zeros(2, np.int64), 1, one, 1, "one length"),
        (one, one, -1, one, 1, "v must be"),
        (one, one, 1, one, 0, "n_labels"),
    ]:
        with pytest.raises(ValueError, match=match):
            _accel.text_cells(rows_, codes, v_, labels, n_labels, True)


@needs_c
@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.integers(0, (1 << 47) - 1), min_size=0, max_size=40), max_size=30))
def test_band_keys_are_the_numpy_signature_bands(sets: list[list[int]]) -> None:
    """MinHash band keys by the C pass against numpy's signatures and bands, bit for bit (rows
    without words are never asked for)."""
    offsets = np.zeros(len(sets) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(set(s)) for s in sets])
    hashes = np.array([h for s in sets for h in sorted(set(s))], dtype=np.uint64)
    rows = np.flatnonzero(np.diff(offsets) > 0)
    got = nd._band_keys(offsets, hashes, rows)
    want = nd.band_keys(nd.signatures(offsets, hashes)[rows])
    assert got.shape == want.shape == (len(rows), nd.BANDS) and np.array_equal(got, want)


@needs_c
def test_band_keys_on_real_batches_and_bad_input() -> None:
    rng = np.random.default_rng(9)
    vocab = np.array([f"w{i}" for i in range(300)])
    table = pa.table({"text": [" ".join(rng.choice(vocab, size=rng.integers(0, 40))) for _ in range(5000)]})
    offsets, hashes = nd.token_sets(table, ["text"])
    rows = np.flatnonzero(np.diff(offsets) >= nd.MIN_TOKENS)
    assert np.array_equal(nd._band_keys(offsets, hashes, rows), nd.band_keys(nd.signatures(offsets, hashes)[rows]))
    assert _accel.band_keys is not None
    with pytest.raises(ValueError, match="no words|out of range"):
        _accel.band_keys(np.array([0, 0], np.int64), np.zeros(0, np.uint64), np.array([0], np.int64), nd._PERM_MULT, nd.BANDS)
    with pytest.raises(ValueError, match="out of range"):
        _accel.band_keys(offsets, hashes, np.array([len(offsets)], np.int64), nd._PERM_MULT, nd.BANDS)
    with pytest.raises(ValueError, match="multiple of bands"):
        _accel.band_keys(offsets, hashes, rows, nd._PERM_MULT[:7], nd.BANDS)


@needs_c
@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), _WORD, st.text(max_size=30)), max_size=12), st.integers(0, 400))
def test_word_sets_are_the_numpy_sort(texts: list[str | None], long_row: int) -> None:
    """Each row's sorted distinct word hashes, cut at MAX_TOKENS, by the C pass and by numpy's
    sort of (row, hash) pairs: repeated words, empty and null rows, a row past the cut."""
    rows = [*texts, " ".join(f"w{i % 300}" for i in range(long_row))]
    table = pa.table({"text": pa.array(rows, pa.string())})
    fast = nd.token_sets(table, ["text"])
    keep = _accel.word_sets
    try:
        _accel.word_sets = None
        slow = nd.token_sets(table, ["text"])
    finally:
        _accel.word_sets = keep
    assert np.array_equal(fast[0], slow[0]) and np.array_equal(fast[1], slow[1])
    assert np.diff(fast[0]).max() <= nd.MAX_TOKENS


@needs_c
def test_word_sets_refuse_bad_owners() -> None:
    assert _accel.word_sets is not None
    h = np.arange(4, dtype=np.uint64)
    for owner, rows in (([0, 1, 0, 1], 2), ([0, 0, 5, 5], 2), ([-1, 0, 0, 0], 1), ([0, 0, 0, 0], 0)):
        with pytest.raises(ValueError, match="non-decreasing"):
            _accel.word_sets(np.array(owner, np.int64), h, rows, 8)
    off, got = _accel.word_sets(np.array([0, 0, 2, 2], np.int64), np.array([5, 5, 9, 1], np.uint64), 3, 8)
    assert np.frombuffer(off, np.int64).tolist() == [0, 1, 1, 3] and np.frombuffer(got, np.uint64).tolist() == [5, 1, 9]


def _pairs_both_ways(table: np.ndarray, cap: int) -> None:
    """The C candidate pairs of a near-duplicate bucket against numpy's, bit for bit."""
    want = nd._pairs_numpy(table, cap)
    got = nd._pairs(table, cap)
    for g, w in zip(got[:4], want[:4], strict=True):
        assert g.dtype == np.uint64 and np.array_equal(g, w)
    assert got[4:] == want[4:]


_SPLIT = np.uint64(1 << LOC_SHIFT)


@needs_c
@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 40), st.lists(st.integers(0, 12), min_size=1, max_size=4, unique=True)), max_size=120),
    st.integers(0, 60),
    st.booleans(),
    st.booleans(),
)
def test_near_pairs_are_the_numpy_pairs(rows: list[tuple[int, int, list[int]]], cap: int, spread: bool, shuffled: bool) -> None:
    """Bucket rows ``(split, row, band keys)``: groups of every size across 1-4 splits, a row's
    several keys, caps from none to more than the pairs, rows out of location order (put in order
    first), small keys and spread-out ones."""
    seen = sorted({(s, r): keys for s, r, keys in rows}.items())
    table = np.array(
        [(k * 0x9E3779B97F4A7C15 % (1 << 64) if spread else k, s * int(_SPLIT) + r, (s * 1000 + r) * 7) for (s, r), keys in seen for k in keys],
        dtype=np.uint64,
    ).reshape(-1, 3)
    if shuffled:
        table = table[np.random.default_rng(cap).permutation(len(table))]
    _pairs_both_ways(table, cap)


@needs_c
def test_near_pairs_on_real_band_keys_and_bad_input() -> None:
    """A low-vocabulary batch's band keys (big groups: the cap and the skipped partner ranks), in
    the (band key, split location, item location) rows map_rows gives and the engine relocates."""
    rng = np.random.default_rng(5)
    vocab = np.array([f"w{i}" for i in range(40)])
    texts = [" ".join(rng.choice(vocab, size=rng.integers(3, 12))) for _ in range(3000)]
    table, _, _ = nd.map_rows(pa.record_batch({"text": texts}), ["text"], 0, 0)
    split = (table[:, 1] >= np.uint64(2000)).astype(np.uint64)
    rows = np.stack([table[:, 0], split * _SPLIT + table[:, 1], table[:, 1]], axis=1)
    rows = rows[np.argsort(rows[:, 1], kind="stable")]
    for cap in (0, 1, 50, nd.BUCKET_CANDIDATES, 10**6):
        _pairs_both_ways(rows, cap)
    lat, ear, _, _, total, capped = nd._pairs(rows, 50)
    assert capped and total > 100 and len(lat) == 50 and np.all(ear < lat)
    assert _accel.near_pairs is not None
    with pytest.raises(ValueError, match="non-decreasing"):
        _accel.near_pairs(rows[::-1].copy(), LOC_SHIFT, 10, 4)
    with pytest.raises(ValueError, match="three uint64"):
        _accel.near_pairs(np.zeros(4, np.uint64), LOC_SHIFT, 10, 4)
    for shift, cap, partners in ((64, 1, 4), (LOC_SHIFT, -1, 4), (LOC_SHIFT, 1, 9)):
        with pytest.raises(ValueError, match="loc_shift"):
            _accel.near_pairs(rows, shift, cap, partners)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.none(), _WORD, st.text(max_size=30), st.sampled_from(["Don’t “quote” me", "naïve CAFÉ", "ﬁne ½ Ⅻ"])), max_size=12))
def test_mixed_batches_normalise_only_their_non_ascii_rows(texts: list[str | None]) -> None:
    """A batch with some non-ASCII rows gives each row the words its whole-batch normalisation
    gave (ASCII rows byte by byte, the others through normalise)."""
    table = pa.table({"text": pa.array(texts, pa.string())})
    off, got = nd.token_sets(table, ["text"])
    owner, h = nd._words_numpy(nd.normalise(table, ["text"]).cast(pa.large_string()))
    for r in range(len(texts)):
        want = sorted(set(h[owner == r].tolist()))[: nd.MAX_TOKENS]
        assert got[off[r] : off[r + 1]].tolist() == want, texts[r]


@needs_c
def test_every_entry_point_refuses_a_non_buffer_after_acquiring_others() -> None:
    """A bad argument after good ones raises TypeError; the buffers already acquired are
    released on the same exit path (a leak or double release would crash or warn here)."""
    off = np.zeros(2, np.int64)
    calls: list[tuple[Any, tuple[Any, ...]]] = [
        (_accel.words, (off, b"", None)),
        (_accel.ascii_tokens, (off, None, 3)),
        (_accel.band_keys, (off, np.zeros(1, np.uint64), None, nd._PERM_MULT, nd.BANDS)),
        (_accel.word_sets, (np.zeros(1, np.int64), None, 1, 1)),
        (_accel.argsort_u64, (None,)),
        (_accel.near_pairs, (None, LOC_SHIFT, 1, 4)),
        (_accel.text_cells, (off, off, 1, None, 1, True)),
    ]
    for fn, args in calls:
        assert fn is not None
        for _ in range(3):
            with pytest.raises(TypeError, match="bytes-like"):
                fn(*args)
        with pytest.raises(TypeError, match=rf"takes {len(args)} arguments? \({len(args) + 1} given\)"):
            fn(*args, None)


_CLONE_CHECK = """
import importlib.util, sys
import numpy as np
spec = importlib.util.spec_from_file_location("datagate._words", sys.argv[1])
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
from datagate.check import near_duplicates as nd
rng = np.random.default_rng(11)
counts = rng.integers(0, 60, size=4000)
offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
hashes = rng.integers(0, 1 << 47, size=int(offsets[-1]), dtype=np.uint64)
rows = np.flatnonzero(counts > 0)
got = np.frombuffer(mod.band_keys(offsets, hashes, rows, nd._PERM_MULT, nd.BANDS), dtype=np.uint64).reshape(len(rows), nd.BANDS)
want = nd.band_keys(nd.signatures(offsets, hashes)[rows])
sys.exit(0 if np.array_equal(got, want) else 1)
"""


def _cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


@needs_c
@pytest.mark.slow
@pytest.mark.parametrize("flags", [(), ("-mavx2",), ("-mavx512f",)], ids=["baseline", "avx2", "avx512f"])
def test_band_keys_every_cpu_target_is_numpys(flags: tuple[str, ...], tmp_path: Path) -> None:
    """The installed module's band keys come from the target_clones variant this CPU picks; the
    others are built here one at a time (DATAGATE_NO_TARGET_CLONES, the target's -m flag) and
    checked against numpy bit for bit, so a runner without AVX-512 is not the first to try them."""
    cc = (sysconfig.get_config_var("CC") or "cc").split()
    if shutil.which(cc[0]) is None:
        pytest.skip(f"no C compiler ({cc[0]})")
    need = {"-mavx2": "avx2", "-mavx512f": "avx512f"}
    missing = [need[f] for f in flags if need.get(f) and need[f] not in _cpu_flags()]
    if missing:
        pytest.skip(f"this CPU lacks {', '.join(missing)}")
    source = Path(__file__).resolve().parents[3] / "datagate" / "_words.c"
    out = tmp_path / f"_words{sysconfig.get_config_var('EXT_SUFFIX')}"
    build = [*cc, "-shared", "-fPIC", "-O3", "-DDATAGATE_NO_TARGET_CLONES", *flags, f"-I{sysconfig.get_paths()['include']}", str(source), "-o", str(out)]
    made = subprocess.run(build, capture_output=True, text=True, timeout=300, check=False)
    assert made.returncode == 0, made.stderr
    ran = subprocess.run([sys.executable, "-c", _CLONE_CHECK, str(out)], capture_output=True, text=True, timeout=300, check=False)
    assert ran.returncode == 0, ran.stderr or "band keys differ from numpy's"
