"""``near_duplicates.cross_split``: text near-duplicates between splits, by MinHash LSH (fail).

Text: the ``--text`` columns (else string columns whose mean length is at least
:data:`AUTO_TEXT_MIN_CHARS`), joined, lower-cased, whitespace collapsed. Shingles: every
:data:`SHINGLE`-byte window. Each row gets a :data:`NUM_PERM`-value one-permutation MinHash
signature (vectorised numpy, :func:`datagate.check._hashing.minhash_signatures`), cut into
:data:`BANDS` bands; rows sharing a band key are candidates (LSH). A candidate pair between a row
of a later split and a row of an earlier split is then verified by the *exact* Jaccard similarity
of the two shingle sets (the texts of candidate rows only are read again), so a reported pair's
``similarity`` is exact and false positives are impossible; recall is the LSH's (for 64 values
in 16 bands of 4, a pair at Jaccard 0.7 becomes a candidate with probability 0.988, at 0.8 with
0.9997).

``observed.count``: rows of later splits with at least one earlier-split row at Jaccard >=
``threshold`` (default :data:`SIMILARITY`), leaving out rows already counted as exact leakage by
``duplicates.cross_split``; ``observed.pairs`` gives each such row's best match as
``{"a": earlier row, "b": later row, "similarity": J}``. Texts shorter than SHINGLE bytes are not
compared. Band keys are spooled by hash prefix (to disk past a budget): bounded memory.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from datagate.check._hashing import minhash_signatures, mix64, text_for_shingles
from datagate.check._spool import BucketSpool
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
from datagate.models import CheckResult, Severity

__all__ = [
    "AUTO_TEXT_MIN_CHARS",
    "BANDS",
    "DEFAULTS",
    "NUM_PERM",
    "SHINGLE",
    "SIMILARITY",
    "NearDuplicateAccumulator",
    "evaluate",
    "jaccard",
    "settings",
    "shingles",
]

SIMILARITY = 0.7
"""Exact Jaccard similarity of shingle sets from which two texts are near-duplicates."""
SHINGLE = 5
"""Shingle size in bytes of normalised text."""
NUM_PERM = 64
"""MinHash signature length (one-permutation bins, a power of two)."""
BANDS = 16
"""LSH bands (NUM_PERM / BANDS values per band)."""
MAX_PARTNERS = 4
"""Per band bucket, a later-split row is paired with at most this many earliest rows."""
MAX_CANDIDATES = 2_000_000
"""Candidate pairs verified at most; beyond, the result says it is truncated."""
AUTO_TEXT_MIN_CHARS = 32.0
"""Without --text, string columns with at least this mean length are text columns."""

DEFAULTS: Mapping[str, Any] = {"threshold": SIMILARITY}
"""``threshold``: Jaccard similarity (default SIMILARITY)."""


def settings(policy: Any) -> CheckSettings:
    """Return the effective settings of ``near_duplicates.cross_split`` (default severity high)."""
    return settings_for(policy, "near_duplicates.cross_split", Severity.HIGH, DEFAULTS)


def shingles(text: str, size: int = SHINGLE) -> set[bytes]:
    """Return the set of ``size``-byte windows of ``text``'s UTF-8 bytes (already normalised)."""
    raw = text.encode("utf-8")
    return {raw[i : i + size] for i in range(len(raw) - size + 1)}


def jaccard(a: set[bytes], b: set[bytes]) -> float:
    """Return |a & b| / |a | b| (0 when both are empty)."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0


class NearDuplicateAccumulator:
    """Computes MinHash band keys per batch and spools ``(band key, location)``."""

    def __init__(self, text_columns: Sequence[str], *, budget: int, num_perm: int = NUM_PERM, bands: int = BANDS) -> None:
        if num_perm % bands:
            raise ValueError("num_perm must be a multiple of bands")
        self.text_columns = tuple(text_columns)
        self.num_perm = num_perm
        self.bands = bands
        # 16 band keys per row: 256 buckets keep one bucket small even for 50M rows
        self.spool = BucketSpool(2, bits=8, budget=budget)
        self.rows = 0

    def band_keys(self, texts: pa.Array) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.bool_]]:
        """Return (rows x bands) band keys of normalised ``texts`` and the rows that have them."""
        sig, has = minhash_signatures(texts, shingle=SHINGLE, num_perm=self.num_perm)
        r = self.num_perm // self.bands
        keys = np.empty((len(sig), self.bands), dtype=np.uint64)
        with np.errstate(over="ignore"):
            for b in range(self.bands):
                part = sig[:, b * r : (b + 1) * r].astype(np.uint64)
                h = np.full(len(sig), np.uint64(b + 1) * np.uint64(0x9E3779B97F4A7C15), dtype=np.uint64)
                for j in range(r):
                    h = mix64(h ^ (part[:, j] + np.uint64(j << 32)))
                keys[:, b] = h
        return keys, has

    def add(self, batch: pa.RecordBatch, split_index: int, first_row: int) -> None:
        """Record the band keys of the batch's rows."""
        texts = text_for_shingles(batch, self.text_columns)
        keys, has = self.band_keys(texts)
        rows = np.flatnonzero(has)
        if len(rows) == 0:
            return
        locs = loc_of(split_index, rows.astype(np.int64) + first_row)
        self.rows += len(rows)
        self.spool.add(keys[rows].reshape(-1), np.repeat(locs, self.bands))

    def candidates(self) -> tuple[npt.NDArray[np.uint64], bool]:
        """Return distinct candidate pairs ``(later location, earlier location)`` and whether
        they were truncated at MAX_CANDIDATES."""
        found: list[npt.NDArray[np.uint64]] = []
        total = 0
        truncated = False
        for bucket in self.spool.buckets():
            h, loc = bucket[:, 0], bucket[:, 1]
            order = hash_loc_order(h, loc)
            h, loc = h[order], loc[order]
            split = loc >> np.uint64(LOC_SHIFT)
            n = len(h)
            new_group = np.ones(n, dtype=bool)
            new_group[1:] = h[1:] != h[:-1]
            gstart = np.maximum.accumulate(np.where(new_group, np.arange(n), 0))
            later = np.flatnonzero(split > split[gstart])
            if len(later) == 0:
                continue
            for j in range(MAX_PARTNERS):
                p = gstart[later] + j
                ok = p < later
                p_ok = p[ok]
                e_ok = later[ok]
                ok2 = split[p_ok] < split[e_ok]
                if ok2.any():
                    pairs = np.stack([loc[e_ok[ok2]], loc[p_ok[ok2]]], axis=1)
                    found.append(pairs)
                    total += len(pairs)
            if total > 4 * MAX_CANDIDATES:
                found = [np.unique(np.concatenate(found), axis=0)]
                total = len(found[0])
                if total > MAX_CANDIDATES:
                    truncated = True
                    break
        self.spool.close()
        if not found:
            return np.zeros((0, 2), dtype=np.uint64), truncated
        pairs = np.unique(np.concatenate(found), axis=0)
        if len(pairs) > MAX_CANDIDATES:
            pairs = pairs[:MAX_CANDIDATES]
            truncated = True
        return pairs, truncated


def evaluate(
    settings: CheckSettings,
    acc: NearDuplicateAccumulator | None,
    names: Sequence[str],
    fetch: Callable[[npt.NDArray[np.uint64]], Mapping[int, str]],
    exact_leaks: npt.NDArray[np.uint64],
    text_source: str,
) -> CheckResult:
    """Verify the candidates by exact Jaccard and return the result.

    ``fetch(locations)`` returns the normalised text of each location; ``exact_leaks`` are the
    sorted locations ``duplicates.cross_split`` already counted.
    """
    if len(names) < 2:
        if acc is not None:
            acc.spool.close()
        return passed(settings.id, "only one split: nothing to compare across", {"text_source": text_source})
    if acc is None or not acc.text_columns:
        return skipped(settings.id, "no text column (use --text)")
    text_cols = list(acc.text_columns)
    threshold = settings.num("threshold")
    pairs, truncated = acc.candidates()
    if len(pairs) and len(exact_leaks):
        idx = np.searchsorted(exact_leaks, pairs[:, 0])
        idx[idx >= len(exact_leaks)] = len(exact_leaks) - 1
        pairs = pairs[exact_leaks[idx] != pairs[:, 0]]
    texts = fetch(np.unique(pairs.reshape(-1))) if len(pairs) else {}
    cache: dict[int, set[bytes]] = {}

    def sh(loc: int) -> set[bytes]:
        got = cache.get(loc)
        if got is None:
            got = cache[loc] = shingles(texts.get(loc, ""))
        return got

    best: dict[int, tuple[float, int]] = {}
    for later, earlier in pairs.tolist():
        j = jaccard(sh(later), sh(earlier))
        if j >= threshold:
            cur = best.get(later)
            if cur is None or j > cur[0] or (j == cur[0] and earlier < cur[1]):
                best[later] = (j, earlier)

    def ref(loc: int) -> dict[str, Any]:
        return row_ref(names[loc >> LOC_SHIFT], loc & ((1 << LOC_SHIFT) - 1))

    per_split: dict[str, int] = {}
    for later in best:
        s = names[later >> LOC_SHIFT]
        per_split[s] = per_split.get(s, 0) + 1
    listed = sorted(best)[:MAX_EVIDENCE]
    observed: dict[str, Any] = {
        "count": len(best),
        "per_split": per_split,
        "threshold": threshold,
        "text_columns": text_cols,
        "text_source": text_source,
        "candidates": int(len(pairs)),
        "truncated": truncated,
        "pairs": [{"a": ref(best[b][1]), "b": ref(b), "similarity": round(best[b][0], 4)} for b in listed],
    }
    if not best:
        note = " (candidate list truncated)" if truncated else ""
        return passed(settings.id, f"no near-duplicate texts across splits at Jaccard >= {threshold:g} ({', '.join(text_cols)}){note}", observed)
    detail = ", ".join(f"{s}: {c}" for s, c in per_split.items())
    return fired(
        settings,
        f"{len(best)} rows have a near-duplicate text in an earlier split at Jaccard >= {threshold:g} ({detail}; columns {', '.join(text_cols)})",
        observed,
    )
