"""``backdoor_triggers``: rare tokens or feature values that almost always carry one label.

A BadNets-style text backdoor is a rare token inserted into a few hundred rows that are all
relabelled to one target class; a tabular one is an odd feature value. Neither looks broken, but
the token-by-label counts give it away: "these 170 rows carry token X and 99% of them are labelled
Y, against 3% of the data".

Candidates (one per row, however often they repeat in it):

* text columns: lower-cased tokens (runs of Unicode letters and digits, the first
  :data:`MAX_TOKENS` per cell) and, with ``ngrams: 2`` (default), bigrams of adjacent tokens;
* other columns (categorical strings, numbers, booleans, dates): each exact value, as
  ``column=value``.

Numeric columns also contribute a context-only feature ``column~value`` rounded to two
significant digits (used by the agreement test below, never reported as a trigger).

A candidate is **screened** when all of these hold (policy keys in parentheses):

1. it is in at least ``min_rows`` rows (20), or in ``min_share`` of the labelled rows (0.05%) when
   that is fewer (never fewer than :data:`MIN_ROWS_FLOOR`);
2. at least ``threshold`` (0.95) of those rows carry one label ``y``;
3. ``y`` is far rarer in the rest of the data: the one-sided binomial probability of seeing that
   many ``y`` rows among the candidate's rows, if each had ``y`` at the rate ``y`` has in the rows
   *without* the candidate, is below ``alpha`` (0.01) divided by the number of candidates tested
   (Bonferroni; every candidate meeting rule 1 is tested).

Real data has genuine keywords that pass those three rules (a topic word that only one class
uses). A planted trigger differs in one way the counts can see: the rows carrying it were drawn
from every class, so **the rest of each row disagrees with its label**. For every row carrying a
screened candidate, a second pass predicts the label from the row's other features (naive Bayes
over the same token-by-label counts, leaving the row itself out, and leaving out the screened
candidates and any feature built from them or from the same column). A screened candidate is
**flagged** only when at most ``max_agreement`` (0.5) of its ``y`` rows have a context that
predicts ``y``. Genuine keywords sit in rows whose other words agree with the label; trigger rows
do not.

Streaming: the exact values of integer and floating columns (:func:`shuffled_columns`) are not
kept in the partials: each batch's (value, label) row counts go to the engine's shuffle by a hash
of column and value (:meth:`TriggerCounts.take_value_rows`), and a reduce task per bucket sums them
exactly (:func:`reduce_values`), keeping the values in two rows or more. A value in one row is its
row's own feature, so leaving the row out of its context leaves nothing of it: only the context
model's vocabulary size and per-class feature totals count it (``Screened.extra_vocab``), and the
result is what counting every value in the partial gives below the cap. A near-unique number column (a measurement,
a price) therefore neither fills the cap nor costs the driver's merges.

Each shard maps to :class:`TriggerCounts` (candidate x label row counts of the rest), merged by
addition. A partial holds each candidate's key once, with a 64-bit hash of key and kind that
compactions match candidates by (keys sharing a hash are compared as strings, so a collision
cannot merge two candidates), and its counts as integers. Up to ``vocabulary_cap`` distinct
candidates (262,144) the counts are exact and the result does not depend on how rows are cut
into shards. Above it the partial keeps the ``vocabulary_cap`` candidates with the most rows
(ties: the smaller of those hashes; deterministic for a given sharding), and
``observed.sketch.undercount_bound`` says by how many rows a kept candidate may be undercounted
(the sum of the largest dropped totals).
Flagged candidates are re-counted exactly in the second pass, which is a map over shards given
the screened set (:class:`TriggerRows`).

Report: ``observed.tokens`` (each flagged trigger: token, kind, count, label, share, rest share,
p-value, context agreement), ``observed.candidates`` (the top screened candidates, flagged or
not), ``observed.rows`` (every flagged row up to :data:`MAX_ROWS`, ``{"split", "row"}``: the rows
a user removes, so the usual 50-row cap does not apply) and ``observed.count`` (rows carrying a
flagged trigger). Default severity high (fail).
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from datagate import _accel
from datagate.check._hashing import (
    column_hash,
    distinct,
    large_string_buffers,
    mix64,
    stable_argsort,
)
from datagate.check.duplicates import LOC_SHIFT, loc_of
from datagate.check.interface import (
    CheckSettings,
    errored,
    fired,
    passed,
    row_ref,
    settings_for,
    skipped,
)
from datagate.models import CheckResult, Severity

__all__ = [
    "CHECK_ID",
    "DEFAULTS",
    "MAX_CLASSES",
    "MAX_ROWS",
    "MAX_TOKENS",
    "Screened",
    "TriggerCounts",
    "TriggerRows",
    "binomial_sf",
    "evaluate",
    "label_strings",
    "row_features",
    "screen",
    "settings",
]

CHECK_ID = "backdoor_triggers"

DEFAULTS: Mapping[str, Any] = {
    "threshold": 0.95,
    "min_rows": 20,
    "min_share": 0.0005,
    "alpha": 0.01,
    "max_agreement": 0.5,
    "max_context_share": 0.5,
    "ngrams": 2,
    "vocabulary_cap": 1 << 18,
    "max_candidates": 200,
}
"""``threshold``: label purity of a candidate's rows; ``min_rows`` / ``min_share``: rows a candidate
needs; ``alpha``: family-wise false-positive rate (Bonferroni over the candidates tested);
``max_agreement``: largest share of a trigger's rows whose context may predict its label;
``ngrams``: 1 (tokens) or 2 (tokens and bigrams); ``vocabulary_cap``: distinct candidates kept
exactly per partial; ``max_candidates``: screened candidates checked in the second pass."""

MAX_ROWS = 10_000
"""At most this many flagged rows are listed in ``observed.rows`` (``observed.count`` is exact)."""
MAX_TOKENS = 1024
"""Tokens read per text cell (the rest of a longer cell is one last token)."""
MIN_ROWS_FLOOR = 5
"""A candidate in fewer rows is never tested, however small the dataset."""
MAX_CLASSES = 1000
"""More distinct labels than this: the check is skipped (not class labels)."""
SHOWN_CANDIDATES = 20
"""Screened candidates listed in ``observed.candidates``."""

TOKEN, BIGRAM, VALUE, BIN = 0, 1, 2, 3
_KIND_NAMES = {TOKEN: "token", BIGRAM: "bigram", VALUE: "value", BIN: "bin"}
_SPLIT = r"[^\p{L}\p{N}]+"
_ALPHA_NB = 1.0  # Laplace smoothing of the context model


def settings(policy: Any) -> CheckSettings:
    """Return the effective settings of ``backdoor_triggers`` (default severity high)."""
    return settings_for(policy, CHECK_ID, Severity.HIGH, DEFAULTS)


# ---------------------------------------------------------------------------------------------
# features of a batch


def label_strings(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Return labels as strings (integral floats as integers, nulls stay null).

    Raises nothing for any primitive Arrow type; nested labels are cast with ``str``.
    """
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    t = arr.type
    if pa.types.is_floating(t):
        vals = arr.to_numpy(zero_copy_only=False)
        ok = ~np.isnan(vals)
        if np.all(np.equal(np.mod(vals[ok], 1), 0)):
            ints = pa.array(np.where(ok, vals, 0).astype(np.int64), mask=~ok | ~_valid(arr))
            return pc.cast(ints, pa.string())
    if pa.types.is_dictionary(t):
        arr = arr.dictionary_decode()
        t = arr.type
    if pa.types.is_nested(t) or pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return pa.array([None if v is None else str(v) for v in arr.to_pylist()], pa.string())
    return pc.cast(arr, pa.string())


def _valid(arr: pa.Array) -> npt.NDArray[np.bool_]:
    return np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)


def _column(batch: pa.RecordBatch | pa.Table, name: str) -> pa.Array:
    col = batch.column(batch.schema.get_field_index(name))
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    if pa.types.is_dictionary(col.type):
        col = col.dictionary_decode()
    return col


def _tokens(col: pa.Array, max_splits: int = MAX_TOKENS) -> tuple[pa.Array, npt.NDArray[np.int64]]:
    """Return a text column's tokens (lower-cased, non-empty, in order) and each one's row.

    ASCII rows are cut by the C accelerator where it is built (:func:`_ascii_tokens`, the same
    tokens, about ten times faster); the others, or every row without it, by Arrow's regex split.
    """
    if not pa.types.is_string(col.type) and not pa.types.is_large_string(col.type):
        col = pc.cast(col, pa.string())
    if _accel.ascii_tokens is None or len(col) == 0:
        return _regex_tokens(col, max_splits)
    flat, parents, other = _ascii_tokens(col, max_splits)
    if len(other):
        rest, rest_rows = _regex_tokens(col.take(pa.array(other)), max_splits)
        order = np.argsort(np.concatenate((parents, other[rest_rows])), kind="stable")
        parents = np.concatenate((parents, other[rest_rows]))[order]
        flat = pa.concat_arrays([flat, rest]).take(pa.array(order))
    return flat, parents


def _regex_tokens(col: pa.Array, max_splits: int) -> tuple[pa.Array, npt.NDArray[np.int64]]:
    parts = pc.split_pattern_regex(pc.utf8_lower(col), _SPLIT, max_splits=max_splits)
    flat = pc.list_flatten(parts)
    parents = np.asarray(pc.list_parent_indices(parts).to_numpy(zero_copy_only=False), dtype=np.int64)
    keep = pc.not_equal(pc.utf8_length(flat), 0)
    return flat.filter(keep).cast(pa.string()), parents[np.asarray(keep.to_numpy(zero_copy_only=False), dtype=bool)]


def _ascii_tokens(col: pa.Array, max_splits: int) -> tuple[pa.Array, npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The tokens of ``col``'s ASCII rows and their rows (``_words.c``), and the rows left over
    (non-ASCII) for :func:`_regex_tokens`; null rows give nothing."""
    assert _accel.ascii_tokens is not None
    if col.null_count:
        col = pc.fill_null(col, "")
    offsets, data = large_string_buffers(col.cast(pa.large_string()))
    owner_b, off_b, bytes_b, other_b = _accel.ascii_tokens(offsets, data, max_splits)
    owner = np.frombuffer(owner_b, dtype=np.int64)
    flat = pa.LargeStringArray.from_buffers(len(owner), pa.py_buffer(off_b), pa.py_buffer(bytes_b)).cast(pa.string())
    return flat, owner, np.frombuffer(other_b, dtype=np.int64)


def _text_features(col: pa.Array, ngrams: int) -> list[tuple[npt.NDArray[np.int64], pa.Array, int]]:
    flat, parents = _tokens(col)
    out = [(parents, flat, TOKEN)]
    if ngrams >= 2 and len(flat) > 1:
        same = parents[1:] == parents[:-1]
        idx = np.flatnonzero(same)
        if len(idx):
            left = flat.take(pa.array(idx))
            right = flat.take(pa.array(idx + 1))
            out.append((parents[idx], pc.binary_join_element_wise(left, right, " "), BIGRAM))
    return out


_DENSE_CELLS = 1 << 24
"""Integer keys with a span up to this many cells, and up to four cells per value counted (or
65,536), are counted with a dense table (``bincount``) instead of a sort."""


def _dense(span: int, n: int) -> bool:
    return span <= _DENSE_CELLS and span <= max(4 * n, 1 << 16)


def _unique_inverse(x: npt.NDArray[np.int64], span: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Return ``np.unique(x, return_inverse=True)`` for ``0 <= x < span``; a dense table when the
    span is small (a low-vocabulary batch's bigrams), else a sort."""
    if not _dense(span, len(x)):
        u, inv = np.unique(x, return_inverse=True)
        return u, inv.reshape(-1)
    present = np.zeros(span, dtype=bool)
    present[x] = True
    u = np.flatnonzero(present).astype(np.int64)
    rank = np.zeros(span, dtype=np.int64)
    rank[u] = np.arange(len(u), dtype=np.int64)
    return u, rank[x]


def _run_starts(x: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
    """Return where each run of equal values of the sorted ``x`` starts."""
    if not len(x):
        return np.zeros(0, np.int64)
    return np.flatnonzero(np.concatenate(([True], x[1:] != x[:-1])))


def _sums(cell: npt.NDArray[np.int64], n: npt.NDArray[np.int64] | None, span: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Return the distinct values of ``cell`` (``0 <= cell < span``), ascending, and the sum of
    ``n`` over each (``n`` None: how often each occurs); a dense table when the span is small (a
    low-vocabulary batch), else a sort (``np.unique``'s hash path is several times slower on
    millions of distinct integers)."""
    if _dense(span, len(cell)):
        table = np.bincount(cell, weights=n, minlength=span)
        u = np.flatnonzero(table).astype(np.int64)
        return u, (np.rint(table[u]) if n is not None else table[u]).astype(np.int64)
    if n is None:
        c = np.sort(cell, kind="stable")
        start = _run_starts(c)
        return c[start], np.diff(np.append(start, len(c))).astype(np.int64)
    order = stable_argsort(cell)
    c = cell[order]
    start = _run_starts(c)
    return c[start], np.add.reduceat(n[order], start) if len(start) else np.zeros(0, np.int64)


def _text_cells(
    par: npt.NDArray[np.int64], col_of: npt.NDArray[np.int64], code: npt.NDArray[np.int64], v: int, lab: npt.NDArray[np.int64], n_labels: int, ngrams: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Return the distinct bigrams (as ``a * v + b`` of their token codes) and the cells
    ``feature * n_labels + label`` of every labelled (row, feature) pair, each once (tokens:
    feature = code; bigrams: ``v`` + the bigram's index). The numpy path of ``text_cells``."""
    rows, fids = [par], [code]
    pairs = np.zeros(0, np.int64)
    if ngrams >= 2 and len(par) > 1:
        idx = np.flatnonzero((par[1:] == par[:-1]) & (col_of[1:] == col_of[:-1]))
        if len(idx):
            pairs, inv = _unique_inverse(code[idx] * v + code[idx + 1], v * v)
            rows.append(par[idx])
            fids.append(v + inv)
    n_feats = v + len(pairs)
    # each candidate once per row (a repeated token, one in two text columns)
    uniq = distinct(np.concatenate(rows) * n_feats + np.concatenate(fids))
    row, fid = uniq // n_feats, uniq % n_feats
    lcode = lab[row]
    ok = lcode >= 0
    return pairs, fid[ok] * n_labels + lcode[ok]


def _text_block(batch: pa.RecordBatch | pa.Table, text_columns: Sequence[str], lab: npt.NDArray[np.int64], ngrams: int) -> _Block | None:
    """Return the row counts of the batch's text candidates per label code (``lab``: each row's
    label code, -1 for none), or None when there are none.

    The same counts as grouping :func:`row_features` by (key, kind, label), computed on integer
    codes: the tokens are dictionary-encoded once, a bigram is a pair of token codes, and only
    the distinct bigrams of the batch are turned into strings. One text column's codes go
    through the C accelerator's ``text_cells`` in one pass (a fifth of the numpy path's time);
    several columns, or a build without it, through :func:`_text_cells`.
    """
    flats: list[pa.Array] = []
    parents: list[npt.NDArray[np.int64]] = []
    for name in text_columns:
        flat, par = _tokens(_column(batch, name))
        flats.append(flat)
        parents.append(par)
    flat = pa.concat_arrays(flats)
    par = np.concatenate(parents)
    if not len(par):
        return None
    enc = pc.dictionary_encode(flat)
    tokens = enc.dictionary
    code = np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    v = len(tokens)
    n_labels = max(int(lab.max()) + 1, 1)
    keys: list[pa.Array] = [tokens]
    if len(text_columns) == 1 and _accel.text_cells is not None:
        # one column: its tokens come in row order, so one C pass numbers the bigrams and keeps
        # each feature once per row
        cells_b, pairs_b = _accel.text_cells(par, code, v, lab, n_labels, ngrams >= 2)
        pairs = np.frombuffer(pairs_b, dtype=np.int64)
        cells = np.frombuffer(cells_b, dtype=np.int64)
    else:
        col_of = np.concatenate([np.full(len(p), ci, np.int64) for ci, p in enumerate(parents)])
        pairs, cells = _text_cells(par, col_of, code, v, lab, n_labels, ngrams)
    if len(pairs):
        keys.append(pc.binary_join_element_wise(tokens.take(pa.array(pairs // v)), tokens.take(pa.array(pairs % v)), " "))
    cell, n = _sums(cells, None, (v + len(pairs)) * n_labels)
    if not len(cell):
        return None
    f, lc = cell // n_labels, cell % n_labels
    # candidates: the features with a labelled row (f ascends, so each one's cells are one run)
    first = _run_starts(f)
    used = f[first]
    cand = np.repeat(np.arange(len(first), dtype=np.int64), np.diff(np.append(first, len(f))))
    kinds = np.where(used < v, TOKEN, BIGRAM).astype(np.int8)
    return _Block.of(pa.concat_arrays(keys).take(pa.array(used)), kinds, cand, lc, n)


def _label_codes(labels: pa.Array, known: dict[str, int]) -> npt.NDArray[np.int64]:
    """Return each row's label code in ``known`` (extended in place by new labels; -1: null)."""
    values, idx = _codes(labels)
    remap = _codes_in(known, [str(x) for x in values.to_pylist()])
    return np.where(idx >= 0, remap[np.maximum(idx, 0)], -1)


def _codes_in(known: dict[str, int], names: Sequence[str]) -> npt.NDArray[np.int64]:
    """Return the codes of ``names`` in ``known``, giving new names the next codes (a lone 0
    when there are none, so indexing an empty code array still works)."""
    return np.array([known.setdefault(x, len(known)) for x in names] or [0], dtype=np.int64)


def _bins(values: pa.Array, name: str) -> tuple[npt.NDArray[np.bool_], pa.Array]:
    """Return (which of the numeric ``values`` get a bin feature, their ``name~mantissa~exponent``
    keys). Integers past 2**53 are binned by their nearest float (an unsafe cast: a bin is two
    digits).

    Two significant digits; a value already that coarse (its bin would repeat its exact value
    feature) gets none, nor does one so tiny (about 1e-323) that its bin's scale underflows to 0.
    """
    x = np.asarray(pc.cast(values, pa.float64(), safe=False).to_numpy(zero_copy_only=False), dtype=np.float64)
    fin = np.isfinite(x)
    ax = np.abs(np.where(fin, x, 0.0))
    # near the float range's ends: log10(0) is never taken, and a bin at the top may round past it
    with np.errstate(divide="ignore", over="ignore"):
        e = np.where(ax > 0, np.floor(np.log10(np.where(ax > 0, ax, 1.0))) - 1, 0).astype(np.int64)
        scale = np.power(10.0, e)
        fin &= scale > 0
        mant = np.round(np.where(fin, x, 0.0) / np.where(fin, scale, 1.0)).astype(np.int64)
        use = fin & (mant * scale != x)
    key = pc.binary_join_element_wise(
        pa.scalar(name), pc.cast(pa.array(mant[use]), pa.string()), pc.cast(pa.array(e[use]), pa.string()), "~"
    )
    return use, key


def _numeric(t: pa.DataType) -> bool:
    return (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)) and not pa.types.is_boolean(t)


def _usable(t: pa.DataType) -> bool:
    return not (pa.types.is_nested(t) or pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_null(t))


def _value_features(col: pa.Array, name: str) -> list[tuple[npt.NDArray[np.int64], pa.Array, int]]:
    t = col.type
    if not _usable(t):
        return []
    valid = _valid(col)
    rows = np.flatnonzero(valid).astype(np.int64)
    if not len(rows):
        return []
    vals = col.filter(pa.array(valid))
    text = pc.cast(vals, pa.string())
    out = [(rows, pc.binary_join_element_wise(pa.scalar(name), text, "="), VALUE)]
    if _numeric(t):
        use, key = _bins(vals, name)
        if use.any():
            out.append((rows[use], key, BIN))
    return out


def _group_numbers(
    col: pa.Array, lab: npt.NDArray[np.int64]
) -> tuple[pa.Array, npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.uint64]] | None:
    """Group an integer or floating column's labelled rows by value: return the distinct values
    (in the column's type), per (value, label) cell its value's index, label code and rows, and
    the distinct values' canonical bits (:func:`_value_bits`); None when no row is labelled and
    valid.

    What grouping by the ``column=value`` strings gives (every NaN one value, -0 apart from 0),
    on the values' bit patterns: one radix sort instead of Arrow's hash group-by and a
    dictionary-encoding of its output, which cost most of a near-unique float column's time.
    """
    keep = np.asarray(col.is_valid().to_numpy(zero_copy_only=False), dtype=bool) & (lab >= 0)
    if not keep.any():
        return None
    vals = col.filter(pa.array(keep))
    bits = _value_bits(np.asarray(vals.to_numpy(zero_copy_only=False)))
    of_row, distinct_at = _run_ids(*_sorted_runs(bits))
    n_labels = int(lab.max()) + 1
    cell, n = _sums(of_row * n_labels + lab[keep], None, len(distinct_at) * n_labels)
    return vals.take(pa.array(distinct_at)), cell // n_labels, cell % n_labels, n, bits[distinct_at]


def _value_bits(x: npt.NDArray[Any]) -> npt.NDArray[np.uint64]:
    """Return each number's bit pattern as uint64: the identity of a value (every NaN one value,
    its type's canonical NaN; -0 keeps bits of its own, as its string "-0" does)."""
    bits = x.view(f"u{x.dtype.itemsize}").astype(np.uint64)
    if x.dtype.kind == "f":
        bits[np.isnan(x)] = np.asarray(np.nan, dtype=x.dtype).view(f"u{x.dtype.itemsize}").astype(np.uint64)
    return bits


def _from_bits(bits: npt.NDArray[np.uint64], t: pa.DataType) -> pa.Array:
    """Return the numbers of type ``t`` whose :func:`_value_bits` are ``bits``."""
    dtype = np.dtype(t.to_pandas_dtype())
    return pa.array(bits.astype(f"u{dtype.itemsize}").view(dtype), type=t)


def _value_blocks(col: pa.Array, name: str, lab: npt.NDArray[np.int64]) -> list[_Block]:
    """Row counts of one column's exact values and bins per label code, grouped on the typed
    values first (no per-row strings)."""
    if not _usable(col.type):
        return []
    if pa.types.is_integer(col.type) or pa.types.is_floating(col.type):
        grouped = _group_numbers(col, lab)
        if grouped is None:
            return []
        values, cand, glab, n, _ = grouped
    else:
        t = pa.table({"v": col, "label": pa.array(lab)})
        t = t.filter(pc.and_(col.is_valid(), pa.array(lab >= 0)))
        if t.num_rows == 0:
            return []
        g = t.group_by(["v", "label"], use_threads=False).aggregate([("v", "count")])
        n = np.asarray(g.column("v_count").to_numpy(), dtype=np.int64)
        glab = np.asarray(g.column("label").to_numpy(), dtype=np.int64)
        values, cand = _codes(g.column("v"))
    keys = pc.binary_join_element_wise(pa.scalar(name), pc.cast(values, pa.string()), "=")
    out = [_Block.of(keys, np.full(len(values), VALUE, np.int8), cand, glab, n)]
    if _numeric(col.type):
        out += _bin_blocks(values, name, cand, glab, n)
    return out


def _bin_blocks(values: pa.Array, name: str, cand: npt.NDArray[np.int64], glab: npt.NDArray[np.int64], n: npt.NDArray[np.int64]) -> list[_Block]:
    """Row counts of the bins of a numeric column's distinct ``values`` per label code, from the
    values' (value index, label code, rows) cells."""
    use, bkeys = _bins(values, name)
    if not use.any():
        return []
    # each distinct value's bin; the cells of values sharing a bin are summed
    bdict, bcode = _codes(bkeys)
    of_value = np.full(len(values), -1, np.int64)
    of_value[np.flatnonzero(use)] = bcode
    keep = of_value[cand] >= 0
    n_labels = int(glab.max()) + 1
    cell, total = _sums(of_value[cand][keep] * n_labels + glab[keep], n[keep], len(bdict) * n_labels)
    return [_Block.of(bdict, np.full(len(bdict), BIN, np.int8), cell // n_labels, cell % n_labels, total)]


def shuffled_columns(value_columns: Sequence[str], schemas: Sequence[pa.Schema]) -> dict[str, pa.DataType]:
    """Return the value columns whose exact values the engine counts through its shuffle
    (:meth:`TriggerCounts.take_value_rows`, :func:`reduce_values`), with their type: the integer
    and floating ones of one type in every schema (a column of several types keeps the
    partial's counts, whose keys are its values' strings in each type)."""
    out: dict[str, pa.DataType] = {}
    for name in value_columns:
        types = {sch.field(name).type for sch in schemas if name in sch.names}
        if len(types) == 1:
            (t,) = types
            if pa.types.is_integer(t) or pa.types.is_floating(t):
                out[name] = t
    return out


def label_hash(label: str) -> int:
    """Return the 64-bit identity of a label name in the value shuffle (BLAKE2b)."""
    return int.from_bytes(hashlib.blake2b(label.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")


VALUE_ROW_COLUMNS = 5
"""Columns of a value shuffle row: bucket hash, column number, value bits, label hash, rows."""


def row_features(
    batch: pa.RecordBatch | pa.Table, text_columns: Sequence[str], value_columns: Sequence[str], ngrams: int
) -> pa.Table:
    """Return the batch's candidate features, each at most once per row.

    Columns: ``row`` (int64, index in the batch), ``key`` (string), ``kind`` (int8: token, bigram,
    value, bin). Raises nothing for readable primitive columns; nested columns give no features.
    """
    rows: list[npt.NDArray[np.int64]] = []
    keys: list[pa.Array] = []
    kinds: list[npt.NDArray[np.int8]] = []
    text_parts: list[tuple[npt.NDArray[np.int64], pa.Array, int]] = []
    for name in text_columns:
        text_parts += _text_features(_column(batch, name), ngrams)
    for r, k, kind in text_parts:
        rows.append(r)
        keys.append(k)
        kinds.append(np.full(len(r), kind, np.int8))
    for name in value_columns:
        for r, k, kind in _value_features(_column(batch, name), name):
            rows.append(r)
            keys.append(k)
            kinds.append(np.full(len(r), kind, np.int8))
    if not rows:
        return pa.table({"row": pa.array([], pa.int64()), "key": pa.array([], pa.string()), "kind": pa.array([], pa.int8())})
    tab = pa.table(
        {
            "row": pa.array(np.concatenate(rows)),
            "key": pa.concat_arrays([k.cast(pa.string()) for k in keys]),
            "kind": pa.array(np.concatenate(kinds)),
        }
    )
    if text_parts and tab.num_rows:
        # a token repeated in a cell (or in two text columns) counts once per row: one sort of
        # (row, key code, kind) integers instead of a hash group-by on strings
        enc = pc.dictionary_encode(tab.column("key")).combine_chunks()
        code = np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
        row_no = np.asarray(tab.column("row").to_numpy(), dtype=np.int64)
        kind_no = np.asarray(tab.column("kind").to_numpy(), dtype=np.int64)
        width = len(enc.dictionary) * 4
        _, first = np.unique(row_no * width + code * 4 + kind_no, return_index=True)
        tab = tab.take(pa.array(first))
    return tab


# ---------------------------------------------------------------------------------------------
# pass 1: candidate x label counts


_EMPTY_COUNTS = pa.schema([("key", pa.string()), ("kind", pa.int8()), ("label", pa.string()), ("n", pa.int64())])


def _cid(keys: pa.Array, kinds: npt.NDArray[np.int8]) -> npt.NDArray[np.uint64]:
    """Return each candidate's 64-bit identity hash (of its key and kind; also the cap's
    tie-break)."""
    return mix64(column_hash(keys) ^ mix64(kinds.astype(np.uint64) + np.uint64(1), inplace=True), inplace=True)


@dataclass
class _Block:
    """Row counts per (candidate, label code): the candidates once each (key, kind and identity
    hash), the cells as integers. A batch's counts, or a partial's compacted ones."""

    keys: pa.Array
    """Candidate keys (distinct within the block together with their kinds)."""
    kinds: npt.NDArray[np.int8]
    """Candidate kinds."""
    cids: npt.NDArray[np.uint64]
    """Candidate identity hashes (:func:`_cid`)."""
    cand: npt.NDArray[np.int64]
    """Per cell, its candidate (index into ``keys``)."""
    label: npt.NDArray[np.int64]
    """Per cell, its label code (the partial's ``labels``)."""
    n: npt.NDArray[np.int64]
    """Per cell, its rows."""

    @classmethod
    def of(cls, keys: pa.Array, kinds: npt.NDArray[np.int8], cand: npt.NDArray[np.int64], label: npt.NDArray[np.int64], n: npt.NDArray[np.int64]) -> _Block:
        keys = keys.cast(pa.string())
        return cls(keys, kinds, _cid(keys, kinds), cand.astype(np.int64, copy=False), label.astype(np.int64, copy=False), n.astype(np.int64, copy=False))

    def table(self, labels: Sequence[str]) -> pa.Table:
        """Return the (key, kind, label, n) rows (labels named by ``labels``)."""
        return pa.table(
            {
                "key": self.keys.take(pa.array(self.cand)),
                "kind": pa.array(self.kinds[self.cand]),
                "label": pa.array(np.asarray(labels, dtype=object)[self.label] if len(self.label) else [], pa.string()),
                "n": pa.array(self.n),
            },
            schema=_EMPTY_COUNTS,
        )


@dataclass
class TriggerCounts:
    """Mergeable candidate x label row counts (pass 1).

    ``add`` a batch, ``merge`` another partial (associative, order-free below the cap), then
    :func:`screen` the result. Picklable.
    """

    text_columns: tuple[str, ...]
    """Columns tokenised as text."""
    value_columns: tuple[str, ...]
    """Columns whose exact values are candidates."""
    label_column: str
    """The label column."""
    ngrams: int = 2
    """1: tokens only; 2: tokens and bigrams."""
    cap: int = 1 << 18
    """Distinct candidates kept exactly (see the module docstring)."""
    label_totals: Counter[str] = field(default_factory=Counter)
    """Labelled rows per label."""
    undercount: int = 0
    """Upper bound on how many rows a kept candidate may be undercounted (0: exact)."""
    labels: dict[str, int] = field(default_factory=dict)
    """Label name -> the code the blocks' cells use."""
    blocks: list[_Block] = field(default_factory=list)
    """Count blocks not yet compacted."""
    compacted: int = 0
    """Cells left by the last :meth:`compact` (the next one waits until at least as many more
    have arrived, so with many (candidate, label) pairs per candidate it does not run on every
    batch)."""
    error: str | None = None
    """Why a batch could not be counted (the check is then an ``error``), or None."""
    shuffled: tuple[str, ...] = ()
    """Value columns (integer or floating, :func:`shuffled_columns`) whose exact values are not
    counted here but handed to the engine's shuffle (:meth:`take_value_rows`); their bins are."""
    value_rows: list[npt.NDArray[np.uint64]] = field(default_factory=list, repr=False)
    """Shuffle rows of the batches added since the last :meth:`take_value_rows`."""
    label_hashes: list[int] = field(default_factory=list, repr=False)
    """:func:`label_hash` of each name in ``labels``, in code order (see :meth:`_label_hashes`)."""

    @property
    def pending(self) -> int:
        """Cells in ``blocks``."""
        return sum(len(b.n) for b in self.blocks)

    def __getstate__(self) -> dict[str, Any]:
        # the keys are shipped as one Arrow IPC stream: pickling an array that is a slice of a
        # larger buffer (what take and filter can return) copies the whole buffer
        state = dict(self.__dict__)
        state["value_rows"] = []  # the map task takes them for its shuffle
        blocks = state.pop("blocks")
        sink = pa.BufferOutputStream()
        schema = pa.schema([("key", pa.string())])
        with pa.ipc.new_stream(sink, schema) as writer:
            for blk in blocks:
                writer.write_table(pa.table({"key": blk.keys}, schema=schema))
        # the cells' integers in the narrowest type that holds them (a partial's candidate
        # numbers, label codes and counts are small): a third of the bytes a worker ships
        state["blocks"] = (
            sink.getvalue().to_pybytes(),
            [(len(b.keys), b.kinds, b.cids, _narrow(b.cand), _narrow(b.label), _narrow(b.n)) for b in blocks],
        )
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        raw, arrays = state.pop("blocks")
        self.__dict__.update(state)
        keys = pa.ipc.open_stream(pa.py_buffer(raw)).read_all().column("key")
        self.blocks = []
        at = 0
        for size, kinds, cids, cand, label, n in arrays:
            self.blocks.append(
                _Block(keys.slice(at, size).combine_chunks(), kinds, cids, cand.astype(np.int64), label.astype(np.int64), n.astype(np.int64))
            )
            at += size

    def add(self, batch: pa.RecordBatch | pa.Table, split_index: int = 0, first_row: int = 0, hashes: dict[str, npt.NDArray[np.uint64]] | None = None) -> None:
        """Count the batch's labelled rows (``split_index``, ``first_row`` and the column-hash
        cache ``hashes`` are not needed: the partial protocol passes them to every family)."""
        del split_index, first_row, hashes
        labels = label_strings(_column(batch, self.label_column))
        vc = pc.value_counts(labels.drop_null())
        for item in vc.to_pylist():
            self.label_totals[str(item["values"])] += int(item["counts"])
        lab = _label_codes(labels, self.labels)
        blocks: list[_Block] = []
        if self.text_columns:
            blk = _text_block(batch, self.text_columns, lab, self.ngrams)
            if blk is not None:
                blocks.append(blk)
        for name in self.value_columns:
            if name in self.shuffled:
                blocks += self._shuffle_values(_column(batch, name), name, lab)
            else:
                blocks += _value_blocks(_column(batch, name), name, lab)
        self.blocks += blocks
        if self.pending > 2 * max(self.cap, self.compacted):
            self.compact()

    def _shuffle_values(self, col: pa.Array, name: str, lab: npt.NDArray[np.int64]) -> list[_Block]:
        """Queue a shuffled column's (value, label) cells as shuffle rows; return its bins' counts."""
        grouped = _group_numbers(col, lab)
        if grouped is None:
            return []
        values, cand, glab, n, bits = grouped
        column = np.uint64(self.shuffled.index(name))
        salt = mix64(np.array([column + np.uint64(1)], np.uint64))[0]
        rows = np.empty((len(cand), VALUE_ROW_COLUMNS), dtype=np.uint64)
        rows[:, 0] = mix64(bits[cand] ^ salt, inplace=True)
        rows[:, 1] = column
        rows[:, 2] = bits[cand]
        rows[:, 3] = self._label_hashes()[glab]
        rows[:, 4] = n
        self.value_rows.append(rows)
        return _bin_blocks(values, name, cand, glab, n)

    def _label_hashes(self) -> npt.NDArray[np.uint64]:
        """Return the value shuffle's label hash per label code, hashing only names new since the
        last call. Two names sharing a hash would merge their counts in the reduce: that makes
        the partial an ``error``, never a silent merge."""
        names = list(self.labels)
        for name in names[len(self.label_hashes) :]:
            h = label_hash(name)
            if h in self.label_hashes and self.error is None:
                self.error = f"labels {names[self.label_hashes.index(h)]!r} and {name!r} share a 64-bit hash in the value shuffle"
            self.label_hashes.append(h)
        return np.array(self.label_hashes, dtype=np.uint64)

    def take_value_rows(self) -> list[npt.NDArray[np.uint64]]:
        """Return (and forget) the value shuffle rows queued by :meth:`add`, an array per batch and
        column (the caller copies them into its shuffle table once): ``(bucket hash, column
        number in shuffled, value bits, label hash, rows)``, one per (value, label) of a batch;
        :func:`reduce_values` sums them."""
        rows, self.value_rows = self.value_rows, []
        return rows

    def merge(self, other: TriggerCounts) -> TriggerCounts:
        """Fold ``other`` into this partial and return it."""
        self.label_totals.update(other.label_totals)
        self.error = self.error or other.error
        remap = _codes_in(self.labels, list(other.labels))
        if self.shuffled:
            self._label_hashes()  # the merged names, checked for a shared hash
        for blk in other.blocks:
            self.blocks.append(replace(blk, label=remap[blk.label]) if len(blk.label) else blk)
        self.undercount += other.undercount
        if self.pending > 2 * max(self.cap, self.compacted):
            self.compact()
        return self

    def table(self) -> pa.Table:
        """Return the compacted counts (key, kind, label, n)."""
        self.compact()
        return self.blocks[0].table(list(self.labels)) if self.blocks else _EMPTY_COUNTS.empty_table()

    def compact(self) -> None:
        """Sum the count blocks; above the cap keep the ``cap`` candidates with the most rows."""
        if not self.blocks:
            return
        if len(self.blocks) == 1 and self.pending == self.compacted and self.pending <= self.cap:
            return  # already summed, and within the cap however few labels each candidate has
        blk, dropped_max = _sum_blocks(self.blocks, self.cap, max(len(self.labels), 1))
        self.undercount += dropped_max
        self.blocks = [blk] if len(blk.n) else []
        self.compacted = len(blk.n)


@dataclass
class ValueCounts:
    """Exact (value, label) row counts of the shuffled value columns (reduce side): the values in
    at least two labelled rows, and what the values in one row add to the context model."""

    cells: npt.NDArray[np.uint64] = field(default_factory=lambda: np.zeros((0, 4), np.uint64))
    """Rows ``(column number, value bits, label hash, rows)`` of the values in two rows or more."""
    single_rows: dict[int, int] = field(default_factory=dict)
    """Label hash -> values in one labelled row carrying that label (each is one (row, feature) pair)."""
    singles: int = 0
    """Values in one labelled row (context vocabulary entries left out of ``cells``)."""

    def merge(self, other: ValueCounts) -> ValueCounts:
        """Return both together (a value's rows are all in one bucket: no value is in both)."""
        single = dict(self.single_rows)
        for k, v in other.single_rows.items():
            single[k] = single.get(k, 0) + v
        return ValueCounts(np.concatenate([self.cells, other.cells]), single, self.singles + other.singles)

    def table(self, columns: Sequence[str], types: Mapping[str, pa.DataType], labels: Sequence[str]) -> pa.Table:
        """Return the counts as (key, kind, label, n) rows like :meth:`TriggerCounts.table`
        (``columns``: the partials' ``shuffled``; ``labels``: every label name)."""
        if not len(self.cells):
            return _EMPTY_COUNTS.empty_table()
        by_hash = {label_hash(x): x for x in labels}
        col = self.cells[:, 0].astype(np.int64)
        keys: list[pa.Array] = []
        order: list[npt.NDArray[np.int64]] = []
        for ci in distinct(col).tolist():
            at = np.flatnonzero(col == ci)
            name = columns[ci]
            values = _from_bits(self.cells[at, 1], types[name])
            keys.append(pc.binary_join_element_wise(pa.scalar(name), pc.cast(values, pa.string()), "="))
            order.append(at)
        at = np.concatenate(order)
        return pa.table(
            {
                "key": pa.concat_arrays(keys).cast(pa.string()),
                "kind": pa.array(np.full(len(at), VALUE, np.int8)),
                "label": pa.array([by_hash[int(h)] for h in self.cells[at, 2].tolist()], pa.string()),
                "n": pa.array(self.cells[at, 3].astype(np.int64)),
            },
            schema=_EMPTY_COUNTS,
        )


def reduce_values(table: npt.NDArray[np.uint64]) -> ValueCounts:
    """Sum one bucket of value shuffle rows (:meth:`TriggerCounts.take_value_rows`) per (column,
    value, label); keep the values in two labelled rows or more, and count the others."""
    if not len(table):
        return ValueCounts()
    order = np.lexsort((table[:, 3], table[:, 2], table[:, 1]))
    t = table[order]
    col, bits, lab, n = t[:, 1], t[:, 2], t[:, 3], t[:, 4].astype(np.int64)
    new_value = np.ones(len(t), dtype=bool)
    new_value[1:] = (col[1:] != col[:-1]) | (bits[1:] != bits[:-1])
    value_rows = np.add.reduceat(n, np.flatnonzero(new_value))
    # cells: runs of one (column, value, label)
    new_cell = new_value.copy()
    new_cell[1:] |= lab[1:] != lab[:-1]
    cell_start = np.flatnonzero(new_cell)
    cell_n = np.add.reduceat(n, cell_start)
    many = value_rows[np.cumsum(new_value)[cell_start] - 1] >= 2
    kept = cell_start[many]
    cells = np.stack([col[kept], bits[kept], lab[kept], cell_n[many].astype(np.uint64)], axis=1)
    one = cell_start[~many]
    single: dict[int, int] = {}
    for h, c in zip(*np.unique(lab[one], return_counts=True), strict=True):
        single[int(h)] = int(c)
    return ValueCounts(cells, single, int((value_rows == 1).sum()))


def _narrow(x: npt.NDArray[np.int64]) -> npt.NDArray[np.signedinteger[Any]]:
    """Return the non-negative integers ``x`` in the narrowest signed type that holds them."""
    top = int(x.max()) if len(x) else 0
    for t in (np.int8, np.int16, np.int32):
        if top <= np.iinfo(t).max:
            return x.astype(t)
    return x


def _codes(col: pa.ChunkedArray | pa.Array) -> tuple[pa.Array, npt.NDArray[np.int64]]:
    """Return a column's distinct values and each row's index among them (nulls: -1)."""
    enc = pc.dictionary_encode(col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col)
    return enc.dictionary, np.asarray(pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False), dtype=np.int64)


def _sorted_runs(keys: npt.NDArray[np.uint64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Return the stable sort permutation of ``keys`` and, in that order, where each run of
    equal keys starts."""
    order = stable_argsort(keys)
    s = keys[order]
    new = np.ones(len(s), dtype=bool)
    new[1:] = s[1:] != s[:-1]
    return order, new


def _run_ids(order: npt.NDArray[np.int64], new: npt.NDArray[np.bool_]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Return (for :func:`_sorted_runs`' result) each key's distinct value, numbered in sorted
    order, and each distinct value's first position."""
    ident = np.empty(len(order), np.int64)
    ident[order] = np.cumsum(new) - 1
    return ident, order[new]


def _identities(cids: npt.NDArray[np.uint64], keys: pa.Array, kinds: npt.NDArray[np.int8]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Return, for candidates given by identity hash, key and kind (the blocks' candidates
    concatenated), the index of each one's distinct candidate and each distinct candidate's
    first position.

    Candidates sharing a hash are compared by key and kind; should two differ (a 64-bit
    collision), the candidates are told apart by their strings instead, so the counts stay exact.
    """
    order, new = _sorted_runs(cids)
    head = order[np.maximum.accumulate(np.where(new, np.arange(len(order)), 0))]
    dup = np.flatnonzero(~new)
    if len(dup):
        a, b = pa.array(order[dup]), pa.array(head[dup])
        same = pc.and_(pc.equal(keys.take(a), keys.take(b)), pa.array(kinds[order[dup]] == kinds[head[dup]]))
        if not pc.all(same).as_py():
            _, kcode = _codes(keys)
            uniq, inv = np.unique(kcode * 4 + kinds.astype(np.int64), return_inverse=True)
            first = np.full(len(uniq), len(kcode), np.int64)
            np.minimum.at(first, inv.reshape(-1), np.arange(len(kcode)))
            return inv.reshape(-1).astype(np.int64), first
    return _run_ids(order, new)


def _sum_blocks(blocks: Sequence[_Block], cap: int, n_labels: int) -> tuple[_Block, int]:
    """Return the blocks summed per (candidate, label), keeping the ``cap`` candidates with the
    most rows (:func:`_top`), and the most rows of a dropped candidate (0: none dropped).

    Candidates are matched by their 64-bit identity hash (:func:`_identities`) and the sums are
    taken on integer cells: hashing the key strings again on every compaction (a hash group-by,
    then dictionary-encoding) cost most of this check's time.
    """
    keys = pa.concat_arrays([b.keys for b in blocks])
    kinds = np.concatenate([b.kinds for b in blocks])
    cids = np.concatenate([b.cids for b in blocks])
    ident, first = _identities(cids, keys, kinds)
    base = np.cumsum([0] + [len(b.keys) for b in blocks[:-1]])
    cell = np.concatenate([ident[b.cand + off] * n_labels + b.label for b, off in zip(blocks, base, strict=True)])
    del ident
    cell, total = _sums(cell, np.concatenate([b.n for b in blocks]), len(first) * n_labels)
    cand = cell // n_labels
    dropped_max = 0
    starts = _run_starts(cand)
    owners = cand[starts]
    del cand
    if len(starts) > cap:
        # cells are sorted, so each candidate's cells are one run
        per_cand = np.add.reduceat(total, starts)
        keep, dropped_max = _top(per_cand, cids[first[owners]], cap)
        mask = np.repeat(keep, np.diff(np.append(starts, len(cell))))
        cell, total = cell[mask], total[mask]
        owners = owners[keep]
    # the kept candidates, renumbered 0..k-1 in order (cells stay sorted by candidate)
    at = first[owners]
    out_cand = np.searchsorted(owners, cell // n_labels).astype(np.int64)
    return _Block(keys.take(pa.array(at)), kinds[at], cids[at], out_cand, cell % n_labels, total), dropped_max


def _kth_largest(n: npt.NDArray[np.int64], k: int) -> int:
    """Return the ``k``-th largest of the row counts ``n`` (``1 <= k <= len(n)``).

    Counts are small non-negative integers, mostly tied at 1 or 2 above the cap, where
    ``np.partition`` slows down (160 ms against 2 ms for a histogram on a million of them).
    """
    if n.min() >= 0 and n.max() <= 4 * len(n) + (1 << 16):
        at_least = np.cumsum(np.bincount(n)[::-1])[::-1]  # at_least[v]: counts >= v
        return int(np.flatnonzero(at_least >= k)[-1])
    return int(np.partition(n, len(n) - k)[len(n) - k])


def _top(n: npt.NDArray[np.int64], tie: npt.NDArray[np.uint64], cap: int) -> tuple[npt.NDArray[np.bool_], int]:
    """Return which of the candidates (rows ``n``, tie-break hashes ``tie``) are the ``cap`` with
    the most rows (ties: the smaller hash, then the earlier candidate), and the most rows of a
    dropped one.

    A selection, not a sort: sorting every candidate by (rows, text) took a third of each
    compaction; the cut comes from :func:`_kth_largest`, and only the candidates tied at it are
    ordered by hash.
    """
    cut = _kth_largest(n, cap)
    keep = n > cut
    tied = np.flatnonzero(n == cut)
    want = cap - int(keep.sum())
    if want < len(tied):
        tied = tied[np.argsort(tie[tied], kind="stable")[:want]]
    keep[tied] = True
    return keep, int(n[~keep].max())


# ---------------------------------------------------------------------------------------------
# screening (pure)


def binomial_sf(k: npt.NDArray[np.int64], n: npt.NDArray[np.int64], p: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Return P(X >= k) for X ~ Binomial(n, p), elementwise (1.0 where k <= 0).

    Computed exactly by summing the upper tail in log space (k is close to n for the candidates
    this is asked about, so the sum is short); raises nothing.
    """
    out = np.ones(len(k), dtype=np.float64)
    for i in range(len(k)):
        ki, ni, pi = int(k[i]), int(n[i]), float(p[i])
        if ki <= 0:
            continue
        if pi <= 0.0:
            out[i] = 0.0
            continue
        if pi >= 1.0:
            continue
        lp, lq = math.log(pi), math.log1p(-pi)
        base = math.lgamma(ni + 1)
        terms = [base - math.lgamma(j + 1) - math.lgamma(ni - j + 1) + j * lp + (ni - j) * lq for j in range(ki, ni + 1)]
        top = max(terms)
        out[i] = min(1.0, math.exp(top) * sum(math.exp(t - top) for t in terms))
    return out


@dataclass(frozen=True)
class Screened:
    """Candidates that passed the count, purity and binomial rules (input of pass 2)."""

    keys: tuple[str, ...]
    """Candidate keys, most significant first."""
    kinds: tuple[int, ...]
    """Their kinds (token, bigram, value)."""
    labels: tuple[str, ...]
    """The label each one almost always carries."""
    p_values: tuple[float, ...]
    """Binomial p-values (pass-1 counts)."""
    tested: int
    """Candidates tested (the Bonferroni divisor)."""
    min_rows: int
    """Rows a candidate needed to be tested."""
    classes: tuple[str, ...]
    """Every label, sorted (the context model's classes)."""
    class_rows: tuple[int, ...]
    """Labelled rows per class."""
    class_features: tuple[int, ...]
    """Counted (row, feature) pairs per class (the context model's denominators)."""
    vocab: pa.Array
    """Context vocabulary (every counted key, sorted by key then kind)."""
    vocab_kind: npt.NDArray[np.int8]
    """Kind of each vocabulary entry."""
    offsets: npt.NDArray[np.int64]
    """CSR offsets into ``entry_class`` / ``entry_count`` per vocabulary entry."""
    entry_class: npt.NDArray[np.int32]
    """Class index of each (key, label) count."""
    entry_count: npt.NDArray[np.int64]
    """Row count of each (key, label)."""
    related: tuple[npt.NDArray[np.int64], ...]
    """Per candidate, the vocabulary entries left out of its rows' context: itself, the tokens and
    bigrams that share a token with it (text), every feature of its column (tabular)."""
    extra_vocab: int = 0
    """Counted features not in ``vocab``: shuffled values in one row (the context model's
    vocabulary size is ``len(vocab) + extra_vocab``; such a value is its one row's own, so left
    out of that row's context it counts nothing, as an unknown feature does)."""


def _column_of(key: str, kind: int) -> str | None:
    if kind == VALUE:
        return key.split("=", 1)[0]
    if kind == BIN:
        return key.rsplit("~", 2)[0]
    return None


def _related(
    vocab: pa.Array, vocab_kind: npt.NDArray[np.int8], sel: list[int], keys: list[str], kinds: list[int]
) -> tuple[npt.NDArray[np.int64], ...]:
    if not sel:
        return ()
    big = np.flatnonzero(vocab_kind == BIGRAM)
    tok = np.flatnonzero(vocab_kind == TOKEN)
    big_parts = pc.split_pattern(vocab.take(pa.array(big)), " ", max_splits=1) if len(big) else None
    out = []
    for i, key, kind in zip(sel, keys, kinds, strict=True):
        idx = [np.array([i], dtype=np.int64)]
        if kind in (TOKEN, BIGRAM):
            words = pa.array(key.split(" "))
            if len(tok):
                hit = pc.is_in(vocab.take(pa.array(tok)), value_set=words)
                idx.append(tok[np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)])
            if big_parts is not None:
                hit = pc.or_(pc.is_in(pc.list_element(big_parts, 0), value_set=words), pc.is_in(pc.list_element(big_parts, 1), value_set=words))
                idx.append(big[np.asarray(pc.fill_null(hit, False).to_numpy(zero_copy_only=False), dtype=bool)])
        else:
            col = _column_of(key, kind) or ""
            for kd, sep in ((VALUE, "="), (BIN, "~")):
                cand = np.flatnonzero(vocab_kind == kd)
                if len(cand):
                    hit = pc.starts_with(vocab.take(pa.array(cand)), col + sep)
                    idx.append(cand[np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)])
        out.append(distinct(np.concatenate(idx)))
    return tuple(out)


def screen(
    settings: CheckSettings, counts: TriggerCounts, values: ValueCounts | None = None, value_types: Mapping[str, pa.DataType] | None = None
) -> Screened:
    """Return the candidates that pass rules 1-3 of the module docstring, and the context model.

    ``values``: the exact counts of the partials' ``shuffled`` columns (of types
    ``value_types``), summed by the engine's reduce. Pure: depends only on ``settings`` and the
    merged counts. Raises nothing.
    """
    tab = counts.table()
    if values is not None and len(values.cells):
        tab = pa.concat_tables([tab, values.table(counts.shuffled, value_types or {}, list(counts.label_totals))])
    classes = tuple(sorted(counts.label_totals))
    class_rows = tuple(int(counts.label_totals[c]) for c in classes)
    total = sum(class_rows)
    min_rows = int(min(settings.num("min_rows"), max(MIN_ROWS_FLOOR, math.ceil(settings.num("min_share") * total))))
    # sort by key, kind, then label: CSR layout for the context model
    tab = tab.take(pc.sort_indices(tab, sort_keys=[("key", "ascending"), ("kind", "ascending"), ("label", "ascending")]))
    keys = tab.column("key").combine_chunks()
    kinds = np.asarray(tab.column("kind").to_numpy(), dtype=np.int8)
    n = np.asarray(tab.column("n").to_numpy(), dtype=np.int64)
    cls_index = {c: i for i, c in enumerate(classes)}
    lab = np.array([cls_index[str(v)] for v in tab.column("label").to_pylist()], dtype=np.int32)
    m = len(n)
    new = np.ones(m, dtype=bool)
    if m > 1:
        same_key = np.asarray(pc.equal(keys.slice(1), keys.slice(0, m - 1)).to_numpy(zero_copy_only=False), dtype=bool)
        new[1:] = ~(same_key & (kinds[1:] == kinds[:-1]))
    starts = np.flatnonzero(new)
    offsets = np.append(starts, m).astype(np.int64)
    vocab = keys.take(pa.array(starts)) if m else pa.array([], pa.string())
    vocab_kind = kinds[starts] if m else np.zeros(0, np.int8)
    tot = np.add.reduceat(n, starts) if m else np.zeros(0, np.int64)
    # the top label of each candidate (ties: the smaller class index)
    top_n = np.maximum.reduceat(n, starts) if m else np.zeros(0, np.int64)
    is_top = n == np.repeat(top_n, np.diff(offsets))
    first_top = np.full(len(starts), -1, dtype=np.int64)
    for_top = np.flatnonzero(is_top)
    grp = np.repeat(np.arange(len(starts)), np.diff(offsets))[for_top]
    _, first = np.unique(grp, return_index=True)
    first_top[grp[first]] = for_top[first]
    top_lab = lab[first_top] if m else np.zeros(0, np.int32)

    candidate = (vocab_kind != BIN) & (tot >= min_rows)
    tested = int(candidate.sum())
    purity = np.where(tot > 0, top_n / np.maximum(tot, 1), 0.0)
    sel = np.flatnonzero(candidate & (purity >= settings.num("threshold")))
    class_arr = np.asarray(class_rows, dtype=np.int64)
    rest_rows = total - tot[sel]
    rest_lab = class_arr[top_lab[sel]] - top_n[sel]
    rest_share = np.where(rest_rows > 0, rest_lab / np.maximum(rest_rows, 1), 1.0)
    pv = binomial_sf(top_n[sel], tot[sel], np.clip(rest_share, 0.0, 1.0))
    limit = settings.num("alpha") / max(tested, 1)
    ok = pv < limit
    sel, pv = sel[ok], pv[ok]
    order = np.lexsort((np.arange(len(sel)), -tot[sel], pv))[: int(settings.num("max_candidates"))]
    sel, pv = sel[order], pv[order]
    sel_keys = [str(vocab[int(i)].as_py()) for i in sel]
    sel_kinds = [int(vocab_kind[int(i)]) for i in sel]

    related = _related(vocab, vocab_kind, [int(i) for i in sel], sel_keys, sel_kinds)
    return Screened(
        keys=tuple(sel_keys),
        kinds=tuple(sel_kinds),
        labels=tuple(classes[int(top_lab[int(i)])] for i in sel),
        p_values=tuple(float(x) for x in pv),
        tested=tested,
        min_rows=min_rows,
        classes=classes,
        class_rows=class_rows,
        class_features=tuple(int(x) + _single_rows(values, c) for x, c in zip(np.bincount(lab, weights=n, minlength=len(classes)), classes, strict=True)),
        vocab=vocab,
        vocab_kind=vocab_kind,
        offsets=offsets,
        entry_class=lab,
        entry_count=n,
        related=related,
        extra_vocab=values.singles if values is not None else 0,
    )


def _single_rows(values: ValueCounts | None, label: str) -> int:
    return values.single_rows.get(label_hash(label), 0) if values is not None else 0


# ---------------------------------------------------------------------------------------------
# pass 2: rows carrying screened candidates, exact counts and context agreement


def _ranges(starts: npt.NDArray[np.int64], ends: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Return the concatenation of ``arange(s, e)`` for each pair (vectorised)."""
    lengths = np.maximum(ends - starts, 0)
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    shift = np.repeat(starts - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
    return np.arange(total, dtype=np.int64) + shift


@dataclass
class TriggerRows:
    """Mergeable pass-2 partial: per screened candidate, its rows, exact label count and agreement.

    Built from a :class:`Screened`; ``add`` a batch (with its split index and first row), ``merge``
    by addition. Row order and sharding do not change the result. Picklable.
    """

    screened: Screened
    """What pass 1 screened."""
    text_columns: tuple[str, ...]
    """Columns tokenised as text (as in pass 1)."""
    value_columns: tuple[str, ...]
    """Columns whose values are candidates (as in pass 1)."""
    label_column: str
    """The label column."""
    ngrams: int = 2
    """As in pass 1."""
    rows: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    """Rows carrying each candidate."""
    labelled: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    """Of those, rows carrying the candidate's label."""
    agree: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    """Of those, rows whose context predicts the candidate's label."""
    locs: list[list[npt.NDArray[np.uint64]]] = field(default_factory=list)
    """Per candidate, the locations of its rows (split << LOC_SHIFT | row)."""
    predicted: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros((0, 0), np.int64))
    """Per candidate and class, its labelled rows whose context predicts that class."""
    error: str | None = None
    """Why a batch could not be read (the check is then an ``error``), or None."""

    def __post_init__(self) -> None:
        k = len(self.screened.keys)
        if len(self.rows) != k:
            self.rows = np.zeros(k, np.int64)
            self.labelled = np.zeros(k, np.int64)
            self.agree = np.zeros(k, np.int64)
            self.locs = [[] for _ in range(k)]
            self.predicted = np.zeros((k, len(self.screened.classes)), np.int64)

    def relocate(self, split_index: int, row_offset: int) -> None:
        """Turn locations ``(0, row)`` into ``(split_index, row_offset + row)`` (engine fold)."""
        base = np.uint64((split_index << LOC_SHIFT) + row_offset)
        self.locs = [[x + base for x in parts] for parts in self.locs]

    def merge(self, other: TriggerRows) -> TriggerRows:
        """Fold ``other`` into this partial and return it."""
        self.error = self.error or other.error
        self.rows += other.rows
        self.labelled += other.labelled
        self.agree += other.agree
        self.predicted += other.predicted
        for mine, theirs in zip(self.locs, other.locs, strict=True):
            mine += theirs
        return self

    def add(self, batch: pa.RecordBatch | pa.Table, split_index: int, first_row: int, hashes: dict[str, npt.NDArray[np.uint64]] | None = None) -> None:
        """Find the batch's rows carrying a screened candidate and score their context (the
        column-hash cache ``hashes`` is not needed)."""
        del hashes
        sc = self.screened
        if not sc.keys or batch.num_rows == 0:
            return
        cand_keys = pa.array(list(sc.keys), pa.string())
        orig = np.arange(batch.num_rows, dtype=np.int64)
        if not self.text_columns:
            # tables: find the carrying rows from the candidates' own columns first, then build
            # every feature only for those rows
            cols = sorted({c for k, kd in zip(sc.keys, sc.kinds, strict=True) if (c := _column_of(k, kd)) in self.value_columns})
            probe = row_features(batch, (), cols, self.ngrams)
            hit0 = np.asarray(pc.is_in(probe.column("key"), value_set=cand_keys).to_numpy(zero_copy_only=False), dtype=bool)
            orig = distinct(np.asarray(probe.column("row").to_numpy(), dtype=np.int64)[hit0])
            if not len(orig):
                return
            batch = batch.take(pa.array(orig))
        feats = row_features(batch, self.text_columns, self.value_columns, self.ngrams)
        pos = np.asarray(pc.fill_null(pc.index_in(feats.column("key"), value_set=cand_keys), -1).to_numpy(zero_copy_only=False), dtype=np.int64)
        kinds = np.asarray(feats.column("kind").to_numpy(), dtype=np.int8)
        cand_kind = np.array(sc.kinds, dtype=np.int8)
        hit = pos >= 0
        hit[hit] = kinds[hit] == cand_kind[pos[hit]]
        if not hit.any():
            return
        frow = np.asarray(feats.column("row").to_numpy(), dtype=np.int64)
        hit_rows, hit_cand = frow[hit], pos[hit]
        rows_u = distinct(hit_rows)
        labels = label_strings(_column(batch, self.label_column)).to_pylist()
        cls_index = {c: i for i, c in enumerate(sc.classes)}
        y = np.array([cls_index.get(v, -1) if v is not None else -1 for v in (labels[int(r)] for r in rows_u)], dtype=np.int64)
        where = np.searchsorted(rows_u, hit_rows)
        pred = self._predict(feats, frow, kinds, rows_u, y, where, hit_cand)
        cand_label = np.array([cls_index[c] for c in sc.labels], dtype=np.int64)
        yl = y[where]
        is_lab = yl == cand_label[hit_cand]
        np.add.at(self.rows, hit_cand, 1)
        np.add.at(self.labelled, hit_cand, is_lab.astype(np.int64))
        np.add.at(self.agree, hit_cand, (is_lab & (pred == yl)).astype(np.int64))
        np.add.at(self.predicted, (hit_cand[is_lab], pred[is_lab]), 1)
        locs = loc_of(split_index, orig[hit_rows] + first_row)
        for c in np.unique(hit_cand):
            self.locs[int(c)].append(locs[hit_cand == c])

    def _predict(
        self,
        feats: pa.Table,
        frow: npt.NDArray[np.int64],
        kinds: npt.NDArray[np.int8],
        rows_u: npt.NDArray[np.int64],
        y: npt.NDArray[np.int64],
        hit_row: npt.NDArray[np.int64],
        hit_cand: npt.NDArray[np.int64],
    ) -> npt.NDArray[np.int64]:
        """Naive-Bayes label of each (row, candidate) hit from the row's context, leaving out the
        row itself (its own counts) and the candidate's related features."""
        sc = self.screened
        k = len(sc.classes)
        in_rows = np.isin(frow, rows_u)
        sub_keys = feats.column("key").filter(pa.array(in_rows))
        sub_rows = np.searchsorted(rows_u, frow[in_rows])
        sub_kind = kinds[in_rows]
        vi = pc.index_in(sub_keys, value_set=sc.vocab)
        vidx = np.asarray(pc.fill_null(vi, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
        known = vidx >= 0
        known[known] = sc.vocab_kind[vidx[known]] == sub_kind[known]
        vidx[~known] = -1
        cls_rows = np.asarray(sc.class_rows, dtype=np.float64)
        own = np.zeros((len(rows_u), k), dtype=np.float64)
        lab_ok = y >= 0
        own[np.flatnonzero(lab_ok), y[lab_ok]] = 1.0
        others = np.maximum(cls_rows[None, :] - own, 0.0)
        # multinomial naive Bayes: P(f | class) = (count + a) / (features of the class + a * vocabulary)
        feat_total = np.asarray(sc.class_features, dtype=np.float64) + _ALPHA_NB * max(len(sc.vocab) + sc.extra_vocab, 1)
        per_feature = np.broadcast_to(math.log(_ALPHA_NB) - np.log(feat_total)[None, :], (len(rows_u), k))
        # per context feature (pair), its contribution over the classes it was seen with; pairs
        # grouped by row and entries by pair, so a row's pairs and a pair's entries are ranges
        pair_v = vidx[known]
        pair_r = sub_rows[known]
        by_row = np.argsort(pair_r, kind="stable")
        pair_v, pair_r = pair_v[by_row], pair_r[by_row]
        lo = sc.offsets[pair_v]
        lengths = sc.offsets[pair_v + 1] - lo
        ent_start = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
        pair_of = np.repeat(np.arange(len(pair_v), dtype=np.int64), lengths)
        ent = _ranges(lo, lo + lengths)
        cls = sc.entry_class[ent].astype(np.int64)
        cnt = sc.entry_count[ent].astype(np.float64) - (y[pair_r[pair_of]] == cls)
        contrib = np.log(np.maximum(cnt, 0.0) + _ALPHA_NB) - math.log(_ALPHA_NB)
        n_ctx = np.bincount(sub_rows, minlength=len(rows_u)).astype(np.float64)
        score = np.log(others + _ALPHA_NB) + n_ctx[:, None] * per_feature
        np.add.at(score, (pair_r[pair_of], cls), contrib)
        row_lo = np.searchsorted(pair_r, np.arange(len(rows_u)), side="left")
        row_hi = np.searchsorted(pair_r, np.arange(len(rows_u)), side="right")
        pred = np.empty(len(hit_row), dtype=np.int64)
        for c in np.unique(hit_cand):
            sel = np.flatnonzero(hit_cand == c)
            sel = sel[np.argsort(hit_row[sel], kind="stable")]
            rows_c = hit_row[sel]
            s_c = score[rows_c].copy()
            # leave the candidate's related features out of its rows' context
            idx = _ranges(row_lo[rows_c], row_hi[rows_c])
            related = sc.related[int(c)]
            at = np.minimum(np.searchsorted(related, pair_v[idx]), len(related) - 1)
            drop = idx[related[at] == pair_v[idx]]
            if len(drop):
                local = np.searchsorted(rows_c, pair_r[drop])
                s_c -= np.bincount(local, minlength=len(rows_c))[:, None] * per_feature[rows_c]
                ent_drop = _ranges(ent_start[drop], ent_start[drop + 1])
                e_local = np.searchsorted(rows_c, pair_r[pair_of[ent_drop]])
                np.add.at(s_c, (e_local, cls[ent_drop]), -contrib[ent_drop])
            pred[sel] = np.argmax(s_c, axis=1)
        return pred


# ---------------------------------------------------------------------------------------------
# evaluate (pure)


def _display(label: str, class_names: Sequence[str] | None) -> str:
    if class_names is not None and label.lstrip("-").isdigit() and 0 <= int(label) < len(class_names):
        return class_names[int(label)]
    return label


def evaluate(
    settings: CheckSettings,
    counts: TriggerCounts | None,
    screened: Screened | None,
    found: TriggerRows | None,
    names: Sequence[str],
    *,
    class_names: Sequence[str] | None = None,
    reason: str = "",
) -> CheckResult:
    """Return the ``backdoor_triggers`` result from the merged pass-1 and pass-2 partials.

    ``counts`` None means the check does not apply (``reason`` says why). Pure; raises nothing.
    """
    for part in (counts, found):
        if part is not None and part.error is not None:
            return errored(settings.id, f"could not count trigger candidates: {part.error}")
    if counts is None or screened is None or found is None:
        return skipped(settings.id, reason or "no label column (use --label)")
    threshold = settings.num("threshold")
    max_agree = settings.num("max_agreement")
    alpha = settings.num("alpha")
    total = sum(screened.class_rows)
    cls_rows = dict(zip(screened.classes, screened.class_rows, strict=True))
    entries: list[dict[str, Any]] = []
    flagged_locs: list[npt.NDArray[np.uint64]] = []
    limit = alpha / max(screened.tested, 1)
    agree_limit = alpha / max(len(screened.keys), 1)
    max_share = settings.num("max_context_share")
    cls_index = {c: i for i, c in enumerate(screened.classes)}
    for i, key in enumerate(screened.keys):
        n, c, a = int(found.rows[i]), int(found.labelled[i]), int(found.agree[i])
        lab = screened.labels[i]
        share = c / n if n else 0.0
        rest_rows = total - n
        rest_share = (cls_rows[lab] - c) / rest_rows if rest_rows > 0 else 1.0
        p = float(binomial_sf(np.array([c]), np.array([n]), np.array([min(max(rest_share, 0.0), 1.0)]))[0])
        agreement = a / c if c else 1.0
        # P(at most `a` of the `c` rows agree | each agrees with probability max_agreement)
        p_agree = float(binomial_sf(np.array([c - a]), np.array([c]), np.array([1.0 - max_agree]))[0]) if c else 1.0
        spread = found.predicted[i].copy()
        spread[cls_index[lab]] = 0
        top_other = int(spread.max()) / c if c else 1.0
        flag = (
            n >= screened.min_rows
            and share >= threshold
            and p < limit
            and p_agree < agree_limit
            and top_other <= max_share
        )
        entries.append(
            {
                "token": key,
                "kind": _KIND_NAMES[screened.kinds[i]],
                "count": n,
                "label": _display(lab, class_names),
                "share": round(share, 6),
                "rest_share": round(rest_share, 6),
                "p_value": p,
                "context_agreement": round(agreement, 6),
                "agreement_p_value": p_agree,
                "context_top_share": round(top_other, 6),
                "flagged": flag,
            }
        )
        if flag:
            flagged_locs.append(np.concatenate(found.locs[i]) if found.locs[i] else np.zeros(0, np.uint64))
    tokens = sorted((e for e in entries if e["flagged"]), key=lambda e: (-e["count"], e["token"]))
    shown = sorted(entries, key=lambda e: (not e["flagged"], e["p_value"], -e["count"], e["token"]))[:SHOWN_CANDIDATES]
    all_locs = distinct(np.concatenate(flagged_locs)) if flagged_locs else np.zeros(0, np.uint64)
    mask = np.uint64((1 << LOC_SHIFT) - 1)
    rows = [row_ref(names[int(x >> np.uint64(LOC_SHIFT))], int(x & mask)) for x in all_locs[:MAX_ROWS]]
    observed: dict[str, Any] = {
        "count": len(all_locs),
        "tokens": [{k: v for k, v in e.items() if k != "flagged"} for e in tokens],
        "candidates": shown,
        "rows": rows,
        "tested": screened.tested,
        "min_rows": screened.min_rows,
        "labelled_rows": total,
        "sketch": {
            "cap": counts.cap,
            "exact": counts.undercount == 0,
            "undercount_bound": counts.undercount,
            "exact_value_columns": list(counts.shuffled),
        },
    }
    if not tokens:
        return passed(
            settings.id,
            f"no backdoor trigger: {screened.tested} candidates tested, {len(entries)} almost always one label, "
            "none in rows whose other features disagree with it",
            observed,
        )
    top = tokens[0]
    more = f" (and {len(tokens) - 1} more)" if len(tokens) > 1 else ""
    return fired(
        settings,
        f"{len(all_locs)} rows carry a likely backdoor trigger: {top['token']!r} in {top['count']} rows, "
        f"{top['share']:.0%} labelled {top['label']!r} against {top['rest_share']:.1%} elsewhere{more}",
        observed,
    )
