"""Vectorised 64-bit hashing of Arrow columns and rows, and MinHash signatures of text.

Everything here is numpy over Arrow buffers: no Python call per row. Hashes are deterministic
across runs, machines and batch boundaries (a row's hash depends only on its values), so per-shard
results merge and a stored profile's hashes can be compared with a later run's.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from datagate import _accel

__all__ = [
    "NULL_HASH",
    "to_numpy",
    "valid_mask",
    "column_hash",
    "distinct",
    "minhash_signatures",
    "mix64",
    "large_string_buffers",
    "row_hash",
    "stable_argsort",
    "text_for_shingles",
]

U64 = npt.NDArray[np.uint64]

NULL_HASH = np.uint64(0x9E3779B97F4A7C15)
"""The hash every null value gets (any fixed constant; chosen from splitmix64)."""

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_ROW_PRIME = np.uint64(0x100000001B3)
_ALL_ONES = np.uint64(0xFFFFFFFFFFFFFFFF)
_BIN_MULT = np.uint64(0xD6E8FEB86659FD93)
_VAL_MULT = np.uint64(0x9FB21C651E98DF25)


def valid_mask(arr: pa.Array) -> npt.NDArray[np.bool_]:
    """Return True where ``arr`` is not null (from its validity bitmap)."""
    n, off = len(arr), arr.offset
    if arr.null_count == 0:
        return np.ones(n, dtype=bool)
    if pa.types.is_null(arr.type):
        return np.zeros(n, dtype=bool)
    bits = np.frombuffer(arr.buffers()[0], dtype=np.uint8)
    return np.unpackbits(bits, bitorder="little")[off : off + n].astype(bool)


def to_numpy(arr: pa.Array | pa.ChunkedArray, *, nulls: Any = None) -> npt.NDArray[Any]:
    """Return a primitive Arrow array as numpy, read from its buffers.

    pyarrow's own ``to_numpy`` and ``fill_null`` (through ``pa.scalar``) import pandas, about a
    second per process; this reads the values buffer directly for booleans, integers and floats
    (and falls back otherwise). Null slots get ``nulls`` when given (their values are otherwise
    unspecified).
    """
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    t = arr.type
    n, off = len(arr), arr.offset
    if n and (arr.null_count == 0 or nulls is not None) and not pa.types.is_boolean(t):
        dtype = None
        if pa.types.is_floating(t) and t.bit_width in (32, 64):
            dtype = np.dtype(f"float{t.bit_width}")
        elif pa.types.is_signed_integer(t):
            dtype = np.dtype(f"int{t.bit_width}")
        elif pa.types.is_unsigned_integer(t):
            dtype = np.dtype(f"uint{t.bit_width}")
        if dtype is not None:
            out = np.frombuffer(arr.buffers()[1], dtype=dtype, count=off + n)[off:]
            if arr.null_count:
                out = out.copy()
                out[~valid_mask(arr)] = nulls
            return out
    if arr.null_count == 0 and n:
        buf = arr.buffers()[1]
        if pa.types.is_boolean(t):
            bits = np.frombuffer(buf, dtype=np.uint8)
            return np.unpackbits(bits, bitorder="little")[off : off + n].astype(bool)
        dtype = None
        if pa.types.is_floating(t) and t.bit_width in (32, 64):
            dtype = np.dtype(f"float{t.bit_width}")
        elif pa.types.is_signed_integer(t):
            dtype = np.dtype(f"int{t.bit_width}")
        elif pa.types.is_unsigned_integer(t):
            dtype = np.dtype(f"uint{t.bit_width}")
        if dtype is not None:
            return np.frombuffer(buf, dtype=dtype, count=off + n)[off:]
    if n == 0:
        return np.zeros(0, dtype=np.float64 if pa.types.is_floating(t) else np.int64)
    fallback: npt.NDArray[Any] = np.asarray(arr.to_numpy(zero_copy_only=False))
    return fallback


_RADIX_MIN = 1 << 12
"""Shorter arrays are sorted by numpy (the radix sort's fixed passes do not pay)."""


def stable_argsort(x: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
    """Return ``np.argsort(x, kind="stable")`` for a uint64 (or non-negative int64) array.

    Large arrays go to the C radix sort where it is built (``_words.c``: about twice numpy's
    merge sort on random 64-bit keys, more when the keys share high bytes, as a shuffle
    bucket's hashes and small cell codes do); the permutation is the same, stability included.
    """
    radix = _accel.argsort_u64
    if radix is None or len(x) < _RADIX_MIN or x.dtype.kind not in "ui" or x.dtype.itemsize != 8 or (x.dtype.kind == "i" and int(x.min()) < 0):
        return np.argsort(x, kind="stable")
    return np.frombuffer(radix(np.ascontiguousarray(x).view(np.uint64)), dtype=np.int64)


def distinct(x: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Return the distinct values of the integer array ``x``, ascending (``np.unique(x)``).

    One sort and a comparison: numpy 2.3+ answers a bare ``np.unique`` on integers through a hash
    table that is two orders of magnitude slower on millions of distinct values (3.5 s against
    0.03 s for 2M random uint64 with numpy 2.4).
    """
    s = np.sort(x)
    if len(s) < 2:
        return s
    return s[np.concatenate(([True], s[1:] != s[:-1]))]


def mix64(x: U64, *, inplace: bool = False) -> U64:
    """Return the splitmix64 finaliser of ``x`` (a bijective 64-bit mix), elementwise.

    With ``inplace`` the result overwrites ``x`` (which must be a uint64 array), saving memory.
    """
    z = x if inplace else x.astype(np.uint64, copy=True)
    t = np.empty_like(z)
    with np.errstate(over="ignore"):
        np.right_shift(z, np.uint64(30), out=t)
        np.bitwise_xor(z, t, out=z)
        np.multiply(z, _M1, out=z)
        np.right_shift(z, np.uint64(27), out=t)
        np.bitwise_xor(z, t, out=z)
        np.multiply(z, _M2, out=z)
        np.right_shift(z, np.uint64(31), out=t)
        np.bitwise_xor(z, t, out=z)
    return z


def _buffers(arr: pa.Array) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint8]]:
    """Return (offsets rebased to 0, data bytes padded with 8 zero bytes) of a binary-like array."""
    n = len(arr)
    large = pa.types.is_large_string(arr.type) or pa.types.is_large_binary(arr.type)
    bufs = arr.buffers()
    off_dtype = np.int64 if large else np.int32
    offsets = np.frombuffer(bufs[1], dtype=off_dtype, count=n + 1 + arr.offset)[arr.offset :].astype(np.int64)
    base = int(offsets[0])
    total = int(offsets[-1]) - base
    padded = np.zeros(total + 8, dtype=np.uint8)
    if total:
        padded[:total] = np.frombuffer(bufs[2], dtype=np.uint8, count=total, offset=base)
    return offsets - base, padded


def large_string_buffers(arr: pa.Array) -> tuple[npt.NDArray[np.int64], Any]:
    """Return a large_string array's own offsets (``len + 1`` int64, read in place, starting at
    its slice) and data buffer (``b""`` when it has none): what the C passes read."""
    if not pa.types.is_large_string(arr.type):
        raise TypeError(f"large_string expected, got {arr.type}")
    bufs = arr.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int64, count=len(arr) + 1, offset=arr.offset * 8)
    return offsets, bufs[2] if bufs[2] is not None else b""


def _windows(padded: npt.NDArray[np.uint8]) -> U64:
    """Return a zero-copy view: element ``p`` is the little-endian 8-byte word at byte ``p``."""
    return np.lib.stride_tricks.as_strided(
        padded, shape=(len(padded) - 7, 8), strides=(1, 1), writeable=False
    ).view(np.uint64)[:, 0]


_CHUNK_BYTES = 1 << 20
"""Rows are hashed in slices of about this many data bytes, so temporaries stay in cache."""


def _bytes_hash(arr: pa.Array) -> U64:
    """Hash each value of a (large_)string/binary array from its offsets and data buffers."""
    n = len(arr)
    if n == 0:
        return np.zeros(0, dtype=np.uint64)
    offsets, padded = _buffers(arr)
    windows = _windows(padded)
    lengths = offsets[1:] - offsets[:-1]
    out = mix64(lengths.astype(np.uint64) + _GOLDEN, inplace=True)
    row0 = 0
    while row0 < n:
        row1 = int(np.searchsorted(offsets, offsets[row0] + _CHUNK_BYTES, side="right")) - 1
        row1 = min(max(row1, row0 + 1), n)
        ln = lengths[row0:row1]
        nwords = (ln + 7) // 8
        total_words = int(nwords.sum())
        if total_words:
            word_start = np.zeros(row1 - row0, dtype=np.int64)
            np.cumsum(nwords[:-1], out=word_start[1:])
            g8 = np.arange(0, 8 * total_words, 8, dtype=np.int64)
            # byte position of each word, and the bytes of its value left from there (which
            # also tells words of one value apart, so the sum below is order-sensitive)
            pos = np.repeat(offsets[row0:row1] - 8 * word_start, nwords)
            pos += g8
            rem = np.repeat(ln + 8 * word_start, nwords)
            rem -= g8
            words = windows[pos]
            # keep only the value's own bytes of its last word
            shift = np.minimum(rem, 8)
            np.subtract(8, shift, out=shift)
            shift *= 8
            words &= _ALL_ONES >> shift.view(np.uint64)
            with np.errstate(over="ignore"):
                salt = rem.view(np.uint64)
                salt *= _GOLDEN
                words ^= salt
                # a cheap bijection per word (multiply, xor-shift); the sum is mixed fully below
                words *= _M2
                np.right_shift(words, np.uint64(29), out=salt)
                words ^= salt
            mixed = words
            has = nwords > 0
            sums = np.add.reduceat(mixed, word_start[has])
            seg = out[row0:row1]
            seg[has] = mix64(seg[has] ^ sums, inplace=True)
        row0 = row1
    return out


PARALLEL_MIN_ROWS = 16_384
"""Binary/string columns of at least this many rows are hashed in two threads (numpy releases
the GIL), which roughly halves the time on a free second core."""

_POOL: list[Any] = []


def _parallel_bytes_hash(arr: pa.Array) -> U64:
    n = len(arr)
    workers = min(2, os.cpu_count() or 1)
    if n < PARALLEL_MIN_ROWS or workers < 2:
        return _bytes_hash(arr)
    if not _POOL:
        from concurrent.futures import ThreadPoolExecutor

        _POOL.append(ThreadPoolExecutor(max_workers=workers, thread_name_prefix="datagate-hash"))
    half = n // 2
    parts = list(_POOL[0].map(_bytes_hash, (arr.slice(0, half), arr.slice(half))))
    return np.concatenate(parts)


def column_hash(arr: pa.Array | pa.ChunkedArray) -> U64:
    """Return a 64-bit hash per value of ``arr``; nulls hash to :data:`NULL_HASH`.

    Strings and binaries hash their bytes; integers, booleans, dates and times their integer
    value; floats their IEEE bits (with -0.0 folded into 0.0 and every NaN into one); other
    types (nested, decimal) their canonical text form.
    """
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    t = arr.type
    if pa.types.is_dictionary(t):
        arr = arr.dictionary_decode()
        t = arr.type
    if pa.types.is_string_view(t) or pa.types.is_binary_view(t):
        arr = arr.cast(pa.large_binary())
        t = arr.type
    if pa.types.is_null(t):
        return np.full(len(arr), NULL_HASH, dtype=np.uint64)
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t) or pa.types.is_large_binary(t):
        h = _parallel_bytes_hash(arr)
    elif pa.types.is_floating(t):
        v = to_numpy(arr.cast(pa.float64()), nulls=0.0).copy()
        v[v == 0.0] = 0.0
        v[np.isnan(v)] = np.nan
        h = mix64(v.view(np.uint64) ^ np.uint64(0x5555555555555555))
    elif pa.types.is_integer(t) or pa.types.is_boolean(t):
        v = to_numpy(arr.cast(pa.int64()), nulls=0)
        h = mix64(v.view(np.uint64))
    elif pa.types.is_temporal(t):
        as_int = arr.cast(pa.int32()).cast(pa.int64()) if pa.types.is_date32(t) else arr.cast(pa.int64())
        v = to_numpy(as_int, nulls=0)
        h = mix64(v.view(np.uint64) ^ np.uint64(0x3333333333333333))
    else:
        texts = pa.array([repr(x) for x in arr.to_pylist()], type=pa.large_string())
        h = _bytes_hash(texts)
    if arr.null_count:
        valid = valid_mask(arr)
        h = np.where(valid, h, NULL_HASH).astype(np.uint64)
    return h


def row_hash(batch: pa.RecordBatch | pa.Table, columns: Sequence[str], cache: dict[str, U64] | None = None) -> U64:
    """Return one 64-bit hash per row over ``columns`` (taken in sorted name order).

    ``cache`` is a dict the caller keeps for this one batch: column hashes are taken from it and
    added to it, so several row hashes of a batch (the duplicate key, the conflict features, the
    label sample's columns) hash a long text column once. Raises KeyError when a column is
    missing from ``batch``.
    """
    n = batch.num_rows
    h = np.full(n, np.uint64(0xCBF29CE484222325), dtype=np.uint64)
    for name in sorted(columns):
        ch = cache.get(name) if cache is not None else None
        if ch is None:
            col = batch.column(batch.schema.get_field_index(name)) if name in batch.schema.names else None
            if col is None:
                raise KeyError(name)
            ch = column_hash(col)
            if cache is not None:
                cache[name] = ch
        with np.errstate(over="ignore"):
            h = mix64(h * _ROW_PRIME + ch)
    return h


_WHITESPACE = np.array([9, 10, 11, 12, 13], dtype=np.uint8)


def _collapse_spaces(arr: pa.Array) -> pa.Array:
    """Map ASCII whitespace to spaces and collapse runs of spaces, on the raw buffers."""
    n = len(arr)
    offsets, padded = _buffers(arr)
    total = int(offsets[-1])
    data = padded[:total].copy()
    data[np.isin(data, _WHITESPACE)] = 32
    space = data == 32
    starts = np.zeros(total + 1, dtype=bool)
    starts[offsets[:-1]] = True
    drop = np.zeros(total, dtype=bool)
    if total > 1:
        drop[1:] = space[1:] & space[:-1] & ~starts[1:total]
    if not drop.any():
        return pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets.astype(np.int64)), pa.py_buffer(data))
    removed_before = np.zeros(total + 1, dtype=np.int64)
    np.cumsum(drop, out=removed_before[1:])
    new_offsets = offsets - removed_before[offsets]
    kept = data[~drop]
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(new_offsets.astype(np.int64)), pa.py_buffer(kept))


def text_for_shingles(batch: pa.RecordBatch | pa.Table, columns: Sequence[str]) -> pa.Array:
    """Return the normalised text of ``columns`` per row: lower-cased, whitespace collapsed,
    trimmed, columns joined by a single space; nulls become empty strings."""
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
    lowered = pc.utf8_lower(joined).cast(pa.large_string())
    out = pc.utf8_trim_whitespace(_collapse_spaces(lowered))
    if isinstance(out, pa.ChunkedArray):
        out = out.combine_chunks()
    return out


def minhash_signatures(
    texts: pa.Array, *, shingle: int, num_perm: int, chunk_bytes: int = 1 << 19
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.bool_]]:
    """Return one-permutation MinHash signatures (rows x ``num_perm`` uint32) of byte shingles.

    Each ``shingle``-byte window (``shingle`` <= 8) is hashed by two multiply-shift hashes; the
    first's top bits choose one of ``num_perm`` bins (a power of two) and each bin keeps the
    minimum of the second (one-permutation
    hashing, Li, Owen & Zhang 2012), empty bins borrow from the next non-empty bin to the right
    (rotation densification, Shrivastava & Li 2014). Two rows agree in a bin with probability
    close to the Jaccard similarity of their shingle sets. The second array says which rows had
    at least one shingle (shorter texts get no signature and are never candidates).
    """
    if not 1 <= shingle <= 8:
        raise ValueError("shingle must be between 1 and 8 bytes")
    bits = int(num_perm).bit_length() - 1
    if 1 << bits != num_perm:
        raise ValueError("num_perm must be a power of two")
    n = len(texts)
    empty = np.uint32(0xFFFFFFFF)
    sig = np.full((n, num_perm), empty, dtype=np.uint32)
    if n == 0:
        return sig, np.zeros(0, dtype=bool)
    offsets, padded = _buffers(texts)
    lengths = offsets[1:] - offsets[:-1]
    has = lengths >= shingle
    counts = np.maximum(lengths - (shingle - 1), 0)
    mask = np.uint64((1 << (8 * shingle)) - 1) if shingle < 8 else np.uint64(0xFFFFFFFFFFFFFFFF)
    flat = sig.reshape(-1)
    windows = _windows(padded)
    row0 = 0
    while row0 < n:
        # rows [row0, row1) hold about chunk_bytes bytes
        row1 = int(np.searchsorted(offsets, offsets[row0] + chunk_bytes, side="right")) - 1
        row1 = min(max(row1, row0 + 1), n)
        lo, hi = int(offsets[row0]), int(offsets[row1])
        if hi > lo:
            # a window starts at every byte but the last shingle-1 of each row
            valid = np.ones(hi - lo, dtype=bool)
            ends = offsets[row0 + 1 : row1 + 1] - lo
            starts_ = offsets[row0:row1] - lo
            for k in range(1, shingle):
                idx = ends - k
                valid[idx[idx >= starts_]] = False
            pos = np.flatnonzero(valid)
            pos += lo
            owner = np.repeat(np.arange(row0, row1, dtype=np.int64), counts[row0:row1])
            if len(pos):
                # two multiply-shift hashes of the window: top bits pick the bin, the other
                # hash's top 32 bits are the value (2-universal; one pass each)
                x = windows[pos]
                x &= mask
                with np.errstate(over="ignore"):
                    hb = x * _BIN_MULT
                    x *= _VAL_MULT
                bins = (hb >> np.uint64(64 - bits)).astype(np.int64) if bits else np.zeros(len(x), np.int64)
                vals = (x >> np.uint64(32)).astype(np.uint32)
                owner *= num_perm
                owner += bins
                np.minimum.at(flat, owner, vals)
        row0 = row1
    # rotation densification: an empty bin takes the next non-empty bin (to the right,
    # circularly) plus a per-step offset, propagated one step at a time
    active = np.flatnonzero(has & (sig == empty).any(axis=1))
    step = np.uint32(0x9E3779B1)
    with np.errstate(over="ignore"):
        for _ in range(num_perm):
            if len(active) == 0:
                break
            sub = sig[active]
            missing = sub == empty
            right = np.concatenate((sub[:, 1:], sub[:, :1]), axis=1)
            right_missing = np.concatenate((missing[:, 1:], missing[:, :1]), axis=1)
            take = missing & ~right_missing
            right += step
            np.copyto(sub, right, where=take)
            sig[active] = sub
            active = active[(missing & right_missing).any(axis=1)]
    return sig, has
