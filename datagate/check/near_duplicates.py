"""Text near-duplicates: ``near_duplicates.cross_split`` (fail) and ``near_duplicates.within_split`` (warn).

Text: the ``--text`` columns (else string columns whose mean length is at least
:data:`AUTO_TEXT_MIN_CHARS`), joined by a space, then normalised: Unicode NFKC, lower-cased,
punctuation and symbols replaced by spaces, whitespace collapsed. Shingles: the distinct words of
the normalised text (64-bit hashes). Word sets keep one changed word in a short text above the
threshold (7 of 9 distinct words shared: Jaccard 0.78), while unrelated sentences of real text
stay far below it (99th percentile 0.17 on Python's own documentation sentences; see
``benchmarks/bench_check.py``). Texts with fewer than :data:`MIN_TOKENS` distinct words are not
compared.

Map (per shard, vectorised numpy over Arrow buffers): each row gets a :data:`NUM_PERM`-value
MinHash signature of its word hashes (independent multiply-shift functions), cut into
:data:`BANDS` band keys that are
shuffled by hash prefix (:mod:`datagate.engine`); the row's distinct word hashes (the smallest
:data:`MAX_TOKENS` of them) are kept as the shard's side array.

Reduce (one task per bucket): rows sharing a band key are candidates. Each row is paired with at
most :data:`MAX_PARTNERS` of the earliest rows of its band group in earlier splits (cross) and in
its own split (within); a bucket verifies at most :data:`BUCKET_CANDIDATES` distinct pairs (the
first by location) - past that, ``observed.capped`` is true (degenerate low-entropy text, e.g.
templated rows, instead of minutes of work). Verification is vectorised: every candidate pair's
word-hash sets are sorted together and their intersection counted; the similarity is exact when
the two texts have at most MAX_TOKENS distinct words together, else the bottom-k estimate over
their MAX_TOKENS smallest word hashes.

Counts (``observed.count``): rows with at least one match at Jaccard >= ``threshold`` (default
:data:`SIMILARITY`) in an earlier split (cross) or at an earlier row of their split (within),
leaving out rows already counted as exact duplicates by ``duplicates.cross_split`` /
``duplicates.within_split``. ``observed.pairs`` gives each such row's best match as
``{"a": earlier row, "b": later row, "similarity": J}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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
from datagate.check.duplicates import LOC_SHIFT, hash_loc_order, loc_of
from datagate.check.interface import (
    MAX_EVIDENCE,
    CheckSettings,
    fired,
    passed,
    row_ref,
    settings_for,
    skipped,
)
from datagate.engine.interface import SideStore, drain_concat, take_rows
from datagate.models import CheckResult, Severity

__all__ = [
    "AUTO_TEXT_MIN_CHARS",
    "BANDS",
    "BUCKET_CANDIDATES",
    "DEFAULTS",
    "MAX_PARTNERS",
    "MAX_TOKENS",
    "MIN_TOKENS",
    "NUM_PERM",
    "SIMILARITY",
    "NearFindings",
    "WITHIN_DEFAULTS",
    "evaluate",
    "jaccard",
    "map_rows",
    "normalise",
    "reduce_bucket",
    "settings",
    "shingles",
    "within_settings",
    "words",
]

SIMILARITY = 0.7
"""Jaccard similarity of the word sets from which two texts are near-duplicates."""
NUM_PERM = 64
"""MinHash signature length (one-permutation bins, a power of two)."""
BANDS = 16
"""LSH bands (NUM_PERM / BANDS values per band)."""
MIN_TOKENS = 3
"""Texts with fewer distinct words than this are not compared."""
MAX_TOKENS = 256
"""Distinct word hashes kept per row for verification (exact up to this many in a pair)."""
MAX_PARTNERS = 4
"""Per band group, a row is paired with at most this many earliest rows (per kind)."""
BUCKET_CANDIDATES = 5_000
"""Distinct candidate pairs verified per reduce bucket at most; past it ``observed.capped``. The
bucket count grows with the data (a bucket holds about two million band keys at most), so the
total grows with it: the cap bounds the work per row, not per dataset."""
AUTO_TEXT_MIN_CHARS = 32.0
"""Without --text, string columns with at least this mean length are text columns."""

DEFAULTS: Mapping[str, Any] = {"threshold": SIMILARITY}
"""``threshold``: Jaccard similarity (default SIMILARITY)."""
WITHIN_DEFAULTS: Mapping[str, Any] = {"threshold": SIMILARITY}
"""``threshold``: Jaccard similarity (default SIMILARITY)."""

_EMPTY = np.uint32(0xFFFFFFFF)


def settings(policy: Any) -> CheckSettings:
    """Return the effective settings of ``near_duplicates.cross_split`` (default severity high)."""
    return settings_for(policy, "near_duplicates.cross_split", Severity.HIGH, DEFAULTS)


def within_settings(policy: Any) -> CheckSettings:
    """Return the effective settings of ``near_duplicates.within_split`` (default severity medium)."""
    return settings_for(policy, "near_duplicates.within_split", Severity.MEDIUM, WITHIN_DEFAULTS)


def _joined(batch: pa.RecordBatch | pa.Table, columns: Sequence[str]) -> pa.Array:
    parts = []
    for name in columns:
        col = batch.column(batch.schema.get_field_index(name))
        if isinstance(col, pa.ChunkedArray):
            col = col.combine_chunks()
        col = col.cast(pa.large_string())
        if col.null_count:
            # nulls become "" (pc.fill_null would build a scalar, which imports pandas)
            empty = pa.LargeStringArray.from_buffers(len(col), pa.py_buffer(np.zeros(len(col) + 1, np.int64)), pa.py_buffer(b""))
            col = pc.coalesce(col, empty)
        parts.append(col)
    joined = parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, " ")
    if isinstance(joined, pa.ChunkedArray):
        joined = joined.combine_chunks()
    return joined


def normalise(batch: pa.RecordBatch | pa.Table, columns: Sequence[str]) -> pa.Array:
    """Return the normalised text of ``columns`` per row (see the module docstring); nulls are "".

    (The reference implementation; :func:`token_sets` takes a faster byte-level path for ASCII.)
    """
    return _normalised(_joined(batch, columns))


def _normalised(joined: pa.Array) -> pa.Array:
    text = pc.utf8_normalize(joined, "NFKC")
    text = pc.utf8_lower(text)
    text = pc.replace_substring_regex(text, r"[\p{P}\p{S}\s]+", " ")
    out = pc.utf8_trim_whitespace(text)
    if isinstance(out, pa.ChunkedArray):
        out = out.combine_chunks()
    return out


# ASCII bytes -> lower-case letters and digits kept, everything else (punctuation, symbols,
# whitespace, controls) a word break; bytes >= 128 (UTF-8 after NFKC) are word characters
_ASCII_MAP = np.full(256, 32, dtype=np.uint8)
for _c in range(256):
    ch = chr(_c)
    if _c >= 128:
        _ASCII_MAP[_c] = _c
    elif ch.isalnum():
        _ASCII_MAP[_c] = ord(ch.lower())
del _c
_ASCII_TABLE = _ASCII_MAP.tobytes()

_words = _accel.words
"""The C word cutter and hasher, or None (not built, or DATAGATE_PURE_PYTHON set)."""


_LOW47 = np.uint64((1 << 47) - 1)
_K0 = np.uint64(0x9E3779B97F4A7C15)
_K1 = np.uint64(0xC2B2AE3D27D4EB4F)


def _token_hash(data: npt.NDArray[np.uint8], off: npt.NDArray[np.int64]) -> npt.NDArray[np.uint64]:
    """Return a 47-bit hash of each word ``data[off[i]:off[i+1]]`` (words are contiguous).

    Words of up to 16 bytes - nearly all - are hashed from their two 8-byte words read in place
    (a handful of vectorised operations); longer ones by :func:`column_hash`.
    """
    n = len(off) - 1
    if n == 0:
        return np.zeros(0, dtype=np.uint64)
    padded = np.zeros(len(data) + 16, dtype=np.uint8)
    padded[: len(data)] = data
    win = np.lib.stride_tricks.as_strided(padded, shape=(len(padded) - 7, 8), strides=(1, 1), writeable=False).view(np.uint64)[:, 0]
    start = off[:-1]
    length = off[1:] - start
    l0 = np.minimum(length, 8)
    l1 = np.clip(length - 8, 0, 8)
    ones = np.uint64(0xFFFFFFFFFFFFFFFF)
    with np.errstate(over="ignore"):
        m0 = np.where(l0 == 8, ones, (np.uint64(1) << (l0.astype(np.uint64) * np.uint64(8))) - np.uint64(1))
        m1 = np.where(l1 == 8, ones, (np.uint64(1) << (l1.astype(np.uint64) * np.uint64(8))) - np.uint64(1))
        w0 = win[start] & m0
        w1 = win[start + 8] & m1
        h = mix64(w0 ^ (length.astype(np.uint64) * _K0), inplace=True)
        h ^= w1 * _K1
        h = mix64(h, inplace=True)
    long_ = np.flatnonzero(length > 16)
    if len(long_):
        sub_off = np.zeros(len(long_) + 1, dtype=np.int64)
        np.cumsum(length[long_], out=sub_off[1:])
        idx = np.repeat(start[long_] - sub_off[:-1], length[long_]) + np.arange(sub_off[-1])
        words_ = pa.LargeStringArray.from_buffers(len(long_), pa.py_buffer(sub_off), pa.py_buffer(data[idx].tobytes()))
        h[long_] = column_hash(words_)
    return h & _LOW47


def _words_numpy(joined: pa.Array) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint64]]:
    """(row, 47-bit hash) of every word of the large_string array ``joined``, in order."""
    from datagate.check._hashing import _buffers

    offsets, padded = _buffers(joined)
    total = int(offsets[-1])
    data = _ASCII_MAP[padded[:total]]
    word = data != 32
    # a word starts at a word byte whose predecessor is a break or the row's first byte
    row_start = np.zeros(total, dtype=bool)
    row_start[offsets[:-1][offsets[:-1] < total]] = True
    prev_break = np.ones(total, dtype=bool)
    prev_break[1:] = ~word[:-1]
    starts = word & (prev_break | row_start)
    keep = data[word]
    # tokens become contiguous once the breaks are dropped
    tok_start = np.flatnonzero(starts)
    # (a uint8 -> int32 running sum: several times faster than numpy's default for booleans)
    new_pos = np.cumsum(word.view(np.uint8), dtype=np.int32 if total < 2**31 else np.int64) - 1
    tok_off = np.empty(len(tok_start) + 1, dtype=np.int64)
    tok_off[:-1] = new_pos[tok_start]
    tok_off[-1] = len(keep)
    owner = np.searchsorted(offsets, tok_start, side="right") - 1
    return owner.astype(np.int64, copy=False), _token_hash(keep, tok_off)


def _words_c(joined: pa.Array) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint64]]:
    """:func:`_words_numpy` by the C accelerator (``_words.c``), from the array's own buffers."""
    assert _words is not None
    offsets, data = large_string_buffers(joined)
    owner_b, hash_b, long_b, long_off_b, long_bytes = _words(offsets, data, _ASCII_TABLE)
    owner = np.frombuffer(owner_b, dtype=np.int64)
    h = np.frombuffer(hash_b, dtype=np.uint64)
    long_ = np.frombuffer(long_b, dtype=np.int64)
    if len(long_):
        words_ = pa.LargeStringArray.from_buffers(len(long_), pa.py_buffer(long_off_b), pa.py_buffer(long_bytes))
        h = h.copy()
        h[long_] = column_hash(words_) & _LOW47
    return owner, h


def token_sets(batch: pa.RecordBatch | pa.Table, columns: Sequence[str]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint64]]:
    """Return CSR ``(offsets, hashes)``: each row's sorted distinct word hashes (the smallest
    MAX_TOKENS of them), of the text :func:`normalise` gives.

    ASCII rows are normalised byte by byte (the same result: NFKC is the identity on ASCII);
    only the other rows go through :func:`normalise`, so a curly quote in one row costs that row
    alone. Words are then cut at spaces and hashed, by the C pass where it is built
    (:func:`_words_c`) else in numpy (:func:`_words_numpy`), bit for bit alike; words longer than
    16 bytes by :func:`datagate.check._hashing.column_hash`. Each row's set is sorted and cut by
    the C pass (``word_sets``) where it is built.
    """
    joined = _joined(batch, columns)
    ascii_rows = pc.string_is_ascii(joined)
    if not pc.all(ascii_rows).as_py():
        other = pc.invert(ascii_rows)
        joined = pc.replace_with_mask(joined, other, _normalised(joined.filter(other)).cast(pa.large_string()))
    n = len(joined)
    owner, h = _words_c(joined) if _words is not None else _words_numpy(joined)
    if _accel.word_sets is not None:
        off_b, set_b = _accel.word_sets(np.ascontiguousarray(owner, dtype=np.int64), np.ascontiguousarray(h, dtype=np.uint64), n, MAX_TOKENS)
        return np.frombuffer(off_b, dtype=np.int64), np.frombuffer(set_b, dtype=np.uint64)
    # distinct per row, sorted by hash: one sort of (row << 47 | 47-bit word hash)
    composite = (owner.astype(np.uint64) << np.uint64(47)) | h
    composite.sort()
    distinct = np.ones(len(composite), dtype=bool)
    distinct[1:] = composite[1:] != composite[:-1]
    composite = composite[distinct]
    owner = (composite >> np.uint64(47)).astype(np.int64)
    h = composite & _LOW47
    counts = np.bincount(owner, minlength=n)
    if len(counts) and counts.max() > MAX_TOKENS:
        firsts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        rank = np.arange(len(h)) - np.repeat(firsts, counts)
        small = rank < MAX_TOKENS
        owner, h = owner[small], h[small]
        counts = np.minimum(counts, MAX_TOKENS)
    out_off = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=out_off[1:])
    return out_off, h


_PERM_MULT = np.random.default_rng(0x5EED).integers(1, 2**63, size=NUM_PERM, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
"""Odd 64-bit multipliers of the NUM_PERM multiply-shift hash functions (fixed: signatures must
be comparable across runs, shards and machines)."""


def signatures(offsets: npt.NDArray[np.int64], hashes: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint32]:
    """Return MinHash signatures (rows x NUM_PERM uint32) of the CSR word hashes.

    Value ``i`` of a row is the minimum over its words of the multiply-shift hash
    ``(word * a_i) >> 32`` (2-universal; one multiply and one segmented minimum per function,
    vectorised over every word of the batch). Independent functions - not one-permutation bins -
    because short texts have few words: with 14 words in 64 bins, densified bins would copy one
    another and a band of 4 would hinge on one or two words (measured: 40x more candidates on
    low-vocabulary text). Rows without words keep 0xFFFFFFFF.
    """
    n = len(offsets) - 1
    sig = np.full((n, NUM_PERM), _EMPTY, dtype=np.uint32)
    counts = np.diff(offsets)
    rows = np.flatnonzero(counts > 0)
    if len(rows) == 0:
        return sig
    x = mix64(hashes)
    starts = offsets[rows]
    out = np.empty((len(rows), NUM_PERM), dtype=np.uint32)
    t = np.empty_like(x)
    with np.errstate(over="ignore"):
        for i in range(NUM_PERM):
            np.multiply(x, _PERM_MULT[i], out=t)
            np.right_shift(t, np.uint64(32), out=t)
            out[:, i] = np.minimum.reduceat(t, starts)
    sig[rows] = out
    return sig


def band_keys(sig: npt.NDArray[np.uint32]) -> npt.NDArray[np.uint64]:
    """Return (rows x BANDS) 64-bit band keys of the signatures."""
    r = NUM_PERM // BANDS
    keys = np.empty((len(sig), BANDS), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for b in range(BANDS):
            part = sig[:, b * r : (b + 1) * r].astype(np.uint64)
            h = np.full(len(sig), np.uint64(b + 1) * np.uint64(0x9E3779B97F4A7C15), dtype=np.uint64)
            for j in range(r):
                h = mix64(h ^ (part[:, j] + np.uint64(j << 32)))
            keys[:, b] = h
    return keys


def _band_keys(offsets: npt.NDArray[np.int64], hashes: npt.NDArray[np.uint64], rows: npt.NDArray[np.int64]) -> npt.NDArray[np.uint64]:
    """``band_keys(signatures(offsets, hashes)[rows])``, by the C pass where it is built (one row's
    words stay in cache for all NUM_PERM functions; bit for bit the same keys)."""
    if _accel.band_keys is None:
        return band_keys(signatures(offsets, hashes)[rows])
    raw = _accel.band_keys(
        np.ascontiguousarray(offsets, dtype=np.int64),
        np.ascontiguousarray(hashes, dtype=np.uint64),
        np.ascontiguousarray(rows, dtype=np.int64),
        _PERM_MULT,
        BANDS,
    )
    return np.frombuffer(raw, dtype=np.uint64).reshape(len(rows), BANDS)


def map_rows(
    batch: pa.RecordBatch, columns: Sequence[str], item: int, row0: int
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64], npt.NDArray[np.uint64]]:
    """Return the batch's shuffle rows ``(band key, item location)`` and its CSR word sets."""
    offsets, hashes = token_sets(batch, columns)
    counts = np.diff(offsets)
    rows = np.flatnonzero(counts >= MIN_TOKENS)
    if len(rows) == 0:
        return np.zeros((0, 2), dtype=np.uint64), offsets, hashes
    keys = _band_keys(offsets, hashes, rows)
    locs = loc_of(item, rows.astype(np.int64) + row0)
    table = np.stack([keys.reshape(-1), np.repeat(locs, BANDS)], axis=1)
    return table, offsets, hashes


def pack_side(offsets: list[npt.NDArray[np.int64]], hashes: list[npt.NDArray[np.uint64]]) -> npt.NDArray[np.uint64]:
    """Return one array holding a shard's CSR word sets (batches in order): ``[n, offsets..., hashes...]``.

    Both lists are emptied: each batch is freed as it is copied (:func:`drain_concat`).
    """
    counts = np.concatenate([np.diff(o) for o in offsets]) if offsets else np.zeros(0, np.int64)
    offsets.clear()
    n = len(counts)
    head = np.zeros(n + 2, dtype=np.uint64)
    head[0] = n
    np.cumsum(counts, out=head[2:])
    hashes.insert(0, head)
    return drain_concat(hashes)


def _gather(side: SideStore, itemlocs: npt.NDArray[np.uint64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint64]]:
    """Return CSR ``(offsets, hashes)`` of the word sets at ``itemlocs`` (in that order).

    Only the wanted rows' values are read from each item's side array (by position, in the
    local engine: one read of the row count and bounds, one of the hashes), so a reduce task's
    memory follows its candidates, not the data's size.
    """
    items = (itemlocs >> np.uint64(LOC_SHIFT)).astype(np.int64)
    rows = (itemlocs & np.uint64((1 << LOC_SHIFT) - 1)).astype(np.int64)
    starts = np.zeros(len(itemlocs), dtype=np.int64)
    lens = np.zeros(len(itemlocs), dtype=np.int64)
    for it in distinct(items).tolist():
        sel = np.flatnonzero(items == it)
        r = rows[sel]
        # the packed array is [n, offsets (n + 1), hashes]: n and each row's two offsets at once
        head = np.asarray(side.get(int(it))[np.concatenate(([0], 1 + r, 2 + r))], dtype=np.int64)
        n, lo, hi = int(head[0]), head[1 : 1 + len(r)], head[1 + len(r) :]
        starts[sel] = lo + n + 2
        lens[sel] = hi - lo
    out_off = np.zeros(len(itemlocs) + 1, dtype=np.int64)
    np.cumsum(lens, out=out_off[1:])
    total = int(out_off[-1])
    src = np.repeat(starts - out_off[:-1], lens) + np.arange(total)
    owner = np.repeat(items, lens)
    out = np.empty(total, dtype=np.uint64)
    order = np.argsort(owner, kind="stable")
    for chunk in np.split(order, np.flatnonzero(np.diff(owner[order])) + 1):
        if len(chunk):
            out[chunk] = side.get(int(owner[chunk[0]]))[src[chunk]]
    return out_off, out


def similarity(side: SideStore, a: npt.NDArray[np.uint64], b: npt.NDArray[np.uint64]) -> npt.NDArray[np.float64]:
    """Return the Jaccard similarity of the word sets of each pair ``(a[i], b[i])`` (item locations).

    Vectorised: both rows' hashes of every pair are tagged with the pair number and sorted
    together; a repeated (pair, hash) is in both sets. Only the MAX_TOKENS smallest distinct
    hashes of a pair's union count (bottom-k; exact when the union is smaller).
    """
    m = len(a)
    if m == 0:
        return np.zeros(0)
    off_a, ha = _gather(side, a)
    off_b, hb = _gather(side, b)
    la, lb = np.diff(off_a), np.diff(off_b)
    out: npt.NDArray[np.float64] = np.zeros(m, dtype=np.float64)
    # pairs are tagged in the top 17 bits above the 47-bit word hashes: one flat sort
    step = 1 << 17
    for lo in range(0, m, step):
        hi = min(m, lo + step)
        pa_ = np.repeat(np.arange(hi - lo, dtype=np.uint64), la[lo:hi])
        pb_ = np.repeat(np.arange(hi - lo, dtype=np.uint64), lb[lo:hi])
        key = np.concatenate([
            (pa_ << np.uint64(47)) | ha[off_a[lo] : off_a[hi]],
            (pb_ << np.uint64(47)) | hb[off_b[lo] : off_b[hi]],
        ])
        key.sort()
        same = np.zeros(len(key), dtype=bool)
        same[1:] = key[1:] == key[:-1]
        pair = (key >> np.uint64(47)).astype(np.int64)
        n = hi - lo
        sizes = la[lo:hi] + lb[lo:hi]
        if sizes.max(initial=0) <= MAX_TOKENS:
            inter = np.bincount(pair[same], minlength=n)
            union = sizes - inter
        else:
            new = ~same
            r = np.cumsum(new) - 1
            first = np.ones(len(key), dtype=bool)
            first[1:] = pair[1:] != pair[:-1]
            rank = r - np.maximum.accumulate(np.where(first, r, 0))
            kept = rank < MAX_TOKENS
            inter = np.bincount(pair[same & kept], minlength=n)
            union = np.bincount(pair[new & kept], minlength=n)
        out[lo:hi] = np.where(union > 0, inter / np.maximum(union, 1), 0.0)
    return out


def shingles(text: str, size: int = 5) -> set[bytes]:
    """Return the set of ``size``-byte windows of ``text``'s UTF-8 bytes (the reference for
    :func:`datagate.check._hashing.minhash_signatures`)."""
    raw = text.encode("utf-8")
    return {raw[i : i + size] for i in range(len(raw) - size + 1)}


def words(text: str) -> set[str]:
    """Return the distinct words of ``text`` after this module's normalisation (pure Python
    reference of :func:`normalise` + :func:`token_sets`, for tests and benchmarks)."""
    import re
    import unicodedata

    t = unicodedata.normalize("NFKC", text).lower()
    return set(re.sub(r"[^\w]+|_", " ", t).split())


def jaccard(a: set[Any], b: set[Any]) -> float:
    """Return |a & b| / |a | b| (0 when both are empty); the reference the vectorised code matches."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0


@dataclass
class NearFindings:
    """Verified matches of some buckets: per kind (cross, within), best match per later row."""

    cross: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 3)))
    """Rows ``(later location, earlier location, similarity)`` (locations as float64 bit-casts)."""
    within: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 3)))
    """The same within a split."""
    candidates: int = 0
    """Candidate pairs generated: a pair counts once per band key its rows share (so the figure
    does not depend on how band keys are cut into buckets)."""
    capped: bool = False
    """True when some bucket had more candidate pairs than BUCKET_CANDIDATES."""

    def merge(self, other: NearFindings) -> NearFindings:
        """Return both findings together, keeping the best match per later row."""
        return NearFindings(
            _best(np.concatenate([self.cross, other.cross])),
            _best(np.concatenate([self.within, other.within])),
            self.candidates + other.candidates,
            self.capped or other.capped,
        )


def _best(m: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Keep, per later location, the match with the highest similarity (then earliest partner)."""
    if len(m) == 0:
        return m
    later = np.ascontiguousarray(m[:, 0]).view(np.uint64)
    earlier = np.ascontiguousarray(m[:, 1]).view(np.uint64)
    order = np.lexsort((earlier, -m[:, 2], later))
    lat = later[order]
    keep = np.ones(len(m), dtype=bool)
    keep[1:] = lat[1:] != lat[:-1]
    result: npt.NDArray[np.float64] = m[order][keep]
    return result


def _pack(later: npt.NDArray[np.uint64], earlier: npt.NDArray[np.uint64], sim: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    out = np.empty((len(later), 3), dtype=np.float64)
    out[:, 0] = later.view(np.float64)
    out[:, 1] = earlier.view(np.float64)
    out[:, 2] = sim
    return out


def _first_pairs(
    allp: npt.NDArray[np.int64], loc: npt.NDArray[np.uint64], cap: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint64], npt.NDArray[np.uint64], bool]:
    """Return the first ``cap`` distinct candidate pairs by (later, earlier) location, their
    locations, and whether more distinct pairs were left out.

    Only the pairs whose later location is among the smallest are sorted (a partition picks
    them; widened until ``cap`` distinct pairs are in): on degenerate text a bucket makes
    millions of pairs, and sorting them all to keep 5,000 took most of the bucket's time.
    """
    lat_all = loc[allp[:, 0]]
    k = max(cap, 1)
    while True:
        if k < len(lat_all):
            cut = np.partition(lat_all, k - 1)[k - 1]
            sub = np.flatnonzero(lat_all <= cut)
            whole = len(sub) == len(lat_all)
        else:
            sub, whole = np.arange(len(lat_all)), True
        part = allp[sub]
        lat, ear = lat_all[sub], loc[part[:, 1]]
        o = np.lexsort((ear, lat))
        lat, ear, part = lat[o], ear[o], part[o]
        # distinct by location (a row may repeat a band key only once, so positions are unique)
        uniq = np.ones(len(lat), dtype=bool)
        uniq[1:] = (lat[1:] != lat[:-1]) | (ear[1:] != ear[:-1])
        part, lat, ear = part[uniq], lat[uniq], ear[uniq]
        if whole or len(part) >= cap:
            # pairs left out have a later location than every one kept: distinct from them
            return part[:cap], lat[:cap], ear[:cap], len(part) > cap or not whole
        k *= 2


def _pairs_numpy(
    table: npt.NDArray[np.uint64], cap: int
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64], npt.NDArray[np.uint64], npt.NDArray[np.uint64], int, bool]:
    """The candidate pairs of a bucket of ``(band key, split location, item location)`` rows in
    numpy (the reference of ``near_pairs``): their split and item locations (later, earlier),
    the pairs generated, and whether some were left out."""
    # one gather of whole rows (the engine's take_rows): three gathers from the strided columns
    # took twice as long
    table = take_rows(table, hash_loc_order(table[:, 0], table[:, 1]))
    key, loc, iloc = table[:, 0], table[:, 1], table[:, 2]
    n = len(key)
    split = (loc >> np.uint64(LOC_SHIFT)).astype(np.int64)
    idx = np.arange(n)
    new_group = np.ones(n, dtype=bool)
    new_group[1:] = key[1:] != key[:-1]
    gstart = np.maximum.accumulate(np.where(new_group, idx, 0))
    new_run = new_group.copy()
    new_run[1:] |= split[1:] != split[:-1]
    sstart = np.maximum.accumulate(np.where(new_run, idx, 0))
    pairs: list[npt.NDArray[np.int64]] = []
    total = 0
    early_cap = False
    for j in range(MAX_PARTNERS):
        if total > 2 * cap:
            # degenerate text (huge band groups): stop generating before sorting millions of pairs
            early_cap = True
            break
        # cross: the earliest rows of the group, from an earlier split
        p = gstart + j
        ok = (p < idx) & (p < sstart)
        pairs.append(np.stack([idx[ok], p[ok]], axis=1))
        # within: the earliest rows of the row's own split in the group
        p = sstart + j
        ok = p < idx
        pairs.append(np.stack([idx[ok], p[ok]], axis=1))
        total += len(pairs[-1]) + len(pairs[-2])
    allp, lat, ear, over = _first_pairs(np.concatenate(pairs), loc, cap)
    return lat, ear, iloc[allp[:, 0]], iloc[allp[:, 1]], total, early_cap or over


def _pairs(
    table: npt.NDArray[np.uint64], cap: int
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64], npt.NDArray[np.uint64], npt.NDArray[np.uint64], int, bool]:
    """:func:`_pairs_numpy` by the C pass where it is built: one walk over the rows in location
    order with a hash table of band keys, stopping at the cap (no sort or gather of the bucket)."""
    if _accel.near_pairs is None:
        return _pairs_numpy(table, cap)
    loc = table[:, 1]
    if len(loc) > 1 and not bool(np.all(loc[1:] >= loc[:-1])):
        # the shuffle delivers rows in location order; anything else is put in it (stably)
        table = take_rows(table, stable_argsort(loc))
    lat, ear, ilat, iear, total, capped = _accel.near_pairs(np.ascontiguousarray(table, dtype=np.uint64), LOC_SHIFT, cap, MAX_PARTNERS)
    return (
        np.frombuffer(lat, dtype=np.uint64),
        np.frombuffer(ear, dtype=np.uint64),
        np.frombuffer(ilat, dtype=np.uint64),
        np.frombuffer(iear, dtype=np.uint64),
        total,
        capped,
    )


def reduce_bucket(table: npt.NDArray[np.uint64], side: SideStore, threshold: float, *, cap: int | None = None) -> NearFindings:
    """Return the verified matches of one bucket of ``(band key, split location, item location)``
    (at most ``cap`` pairs verified, default :data:`BUCKET_CANDIDATES`)."""
    cap = BUCKET_CANDIDATES if cap is None else cap
    lat, ear, ilat, iear, total, capped = _pairs(table, cap)
    sim = similarity(side, ilat, iear)
    hit = sim >= threshold
    is_cross = (lat >> np.uint64(LOC_SHIFT)) != (ear >> np.uint64(LOC_SHIFT))
    cross = hit & is_cross
    within = hit & ~is_cross
    return NearFindings(
        _best(_pack(lat[cross], ear[cross], sim[cross])),
        _best(_pack(lat[within], ear[within], sim[within])),
        total,
        capped,
    )


def _exclude(m: npt.NDArray[np.float64], locs: npt.NDArray[np.uint64]) -> npt.NDArray[np.float64]:
    if len(m) == 0 or len(locs) == 0:
        return m
    later = np.ascontiguousarray(m[:, 0]).view(np.uint64)
    i = np.searchsorted(locs, later)
    i[i >= len(locs)] = len(locs) - 1
    result: npt.NDArray[np.float64] = m[locs[i] != later]
    return result


def evaluate(
    settings: CheckSettings,
    found: NearFindings | None,
    names: Sequence[str],
    exact: npt.NDArray[np.uint64],
    text_columns: Sequence[str],
    text_source: str,
    *,
    within: bool = False,
) -> CheckResult:
    """Return the ``near_duplicates.cross_split`` (or, with ``within``, ``.within_split``) result.

    ``found`` None means no text column; ``exact`` are the sorted locations the matching exact
    duplicate check already counted.
    """
    if not within and len(names) < 2:
        return passed(settings.id, "only one split: nothing to compare across", {"text_source": text_source})
    if found is None or not text_columns:
        return skipped(settings.id, "no text column (use --text)")
    threshold = settings.num("threshold")
    m = _exclude(found.within if within else found.cross, exact)
    m = m[m[:, 2] >= threshold] if len(m) else m
    later = np.ascontiguousarray(m[:, 0]).view(np.uint64) if len(m) else np.zeros(0, np.uint64)
    earlier = np.ascontiguousarray(m[:, 1]).view(np.uint64) if len(m) else np.zeros(0, np.uint64)

    def ref(loc: int) -> dict[str, Any]:
        return row_ref(names[loc >> LOC_SHIFT], loc & ((1 << LOC_SHIFT) - 1))

    per_split: dict[str, int] = {}
    for s, c in zip(*np.unique((later >> np.uint64(LOC_SHIFT)).astype(np.int64), return_counts=True), strict=True):
        per_split[names[int(s)]] = int(c)
    listed = np.argsort(later, kind="stable")[:MAX_EVIDENCE]
    where = "in an earlier row of their split" if within else "in an earlier split"
    observed: dict[str, Any] = {
        "count": int(len(m)),
        "per_split": per_split,
        "threshold": threshold,
        "text_columns": list(text_columns),
        "text_source": text_source,
        "candidates": found.candidates,
        "truncated": found.capped,
        "capped": found.capped,
        "pairs": [{"a": ref(int(earlier[i])), "b": ref(int(later[i])), "similarity": round(float(m[i, 2]), 4)} for i in listed],
    }
    note = " (candidate cap per bucket hit: low-entropy text; some pairs were not verified)" if found.capped else ""
    if len(m) == 0:
        return passed(settings.id, f"no near-duplicate texts {where} at Jaccard >= {threshold:g} ({', '.join(text_columns)}){note}", observed)
    detail = ", ".join(f"{s}: {c}" for s, c in per_split.items())
    return fired(
        settings,
        f"{len(m)} rows have a near-duplicate text {where} at Jaccard >= {threshold:g} ({detail}; columns {', '.join(text_columns)}){note}",
        observed,
    )
