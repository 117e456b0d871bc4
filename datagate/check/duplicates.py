"""Exact duplicates within a split and across splits (leakage), by 64-bit row-key hashes.

Row key: the ``--key`` columns, else every column except id-like ones (:data:`ID_COLUMN_NAMES`,
whose per-row unique values would hide every duplicate). Each row's key is hashed to 64 bits
(:func:`datagate.check._hashing.row_hash`); hashes and row locations go to a
:class:`~datagate.check._spool.BucketSpool` partitioned by hash prefix, and each bucket is
analysed on its own, so memory stays bounded.

Counting (DESIGN.md, exact):

* ``duplicates.within_split``: within a split, the rows that repeat an earlier row of that split
  (a row occurring 3 times counts 2) - default warn;
* ``duplicates.cross_split``: the rows of a later split (validation, then test) whose key also
  occurs in an earlier split (train first) - leakage, default fail. With a baseline profile the
  rows of any split other than the first whose key occurs in the baseline's train split, and that
  were not already counted, are added (``observed.baseline``).

A 64-bit collision between two different keys has probability ~n^2/2^65 (1e-7 at 2M rows).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from datagate.check._hashing import row_hash
from datagate.check._spool import BucketSpool
from datagate.check.interface import (
    MAX_EVIDENCE,
    CheckSettings,
    fired,
    passed,
    row_ref,
    settings_for,
)
from datagate.check.profile import MAX_TRAIN_HASHES, RowHashSet
from datagate.models import CheckResult, Severity

__all__ = [
    "CROSS_DEFAULTS",
    "ID_COLUMN_NAMES",
    "LOC_SHIFT",
    "WITHIN_DEFAULTS",
    "DuplicateAccumulator",
    "DuplicateFindings",
    "cross_settings",
    "default_key",
    "evaluate_cross",
    "evaluate_within",
    "within_settings",
]

ID_COLUMN_NAMES = frozenset({"id", "idx", "index", "uuid", "guid", "row_id", "example_id", "__index_level_0__", "_id"})
"""Column names left out of the default row key (per-row identifiers)."""

LOC_SHIFT = 40
"""A row location is ``split_index << LOC_SHIFT | row`` (up to 2**40 rows per split)."""

WITHIN_DEFAULTS: Mapping[str, Any] = {"threshold": 0}
"""``threshold``: duplicate rows tolerated per split before the check warns (default 0)."""

CROSS_DEFAULTS: Mapping[str, Any] = {"threshold": 0}
"""``threshold``: leaked rows tolerated in total before the check fails (default 0)."""


def within_settings(policy: Any) -> CheckSettings:
    """Return the effective settings of ``duplicates.within_split`` (default severity medium)."""
    return settings_for(policy, "duplicates.within_split", Severity.MEDIUM, WITHIN_DEFAULTS)


def cross_settings(policy: Any) -> CheckSettings:
    """Return the effective settings of ``duplicates.cross_split`` (default severity high)."""
    return settings_for(policy, "duplicates.cross_split", Severity.HIGH, CROSS_DEFAULTS)


def default_key(columns: Sequence[str]) -> tuple[str, ...]:
    """Return the default row key: every column but id-like ones (all columns if none remain)."""
    key = tuple(c for c in columns if c.lower() not in ID_COLUMN_NAMES)
    return key or tuple(columns)


def loc_of(split_index: int, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.uint64]:
    """Return the packed locations of ``rows`` of split number ``split_index``."""
    return (np.uint64(split_index) << np.uint64(LOC_SHIFT)) | rows.astype(np.uint64)


def unpack(loc: npt.NDArray[np.uint64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Return (split index, row) arrays of packed locations."""
    return (loc >> np.uint64(LOC_SHIFT)).astype(np.int64), (loc & np.uint64((1 << LOC_SHIFT) - 1)).astype(np.int64)


def hash_loc_order(h: npt.NDArray[np.uint64], loc: npt.NDArray[np.uint64]) -> npt.NDArray[np.intp]:
    """Return the permutation sorting by hash, ties by location (as ``np.lexsort((loc, h))``).

    An unstable sort on the hash alone is several times faster than a two-key sort; ties are
    repeated keys, rare in practice, and only those positions are re-ordered by location.
    """
    order = np.argsort(h)
    hs = h[order]
    tie = np.zeros(len(hs), dtype=bool)
    tie[1:] = hs[1:] == hs[:-1]
    if tie.any():
        tie[:-1] |= tie[1:].copy()
        idx = np.flatnonzero(tie)
        sub = np.lexsort((loc[order[idx]], hs[idx]))
        order[idx] = order[idx][sub]
    return order


def _smallest(a: npt.NDArray[np.uint64], k: int) -> npt.NDArray[np.uint64]:
    if len(a) <= k:
        return np.sort(a)
    return np.sort(np.partition(a, k - 1)[:k])


@dataclass
class DuplicateFindings:
    """Merged result of the duplicate analysis."""

    within_counts: dict[int, int] = field(default_factory=dict)
    """Split index -> rows repeating an earlier row of that split."""
    within_rows: npt.NDArray[np.uint64] = field(default_factory=lambda: np.zeros(0, np.uint64))
    """Locations of the first MAX_EVIDENCE repeating rows (by location)."""
    cross_counts: dict[int, int] = field(default_factory=dict)
    """Split index -> rows whose key occurs in an earlier split."""
    cross_pairs: npt.NDArray[np.uint64] = field(default_factory=lambda: np.zeros((0, 2), np.uint64))
    """(later location, earliest location) of the first MAX_EVIDENCE leaked rows."""
    cross_locs: npt.NDArray[np.uint64] = field(default_factory=lambda: np.zeros(0, np.uint64))
    """Sorted locations of every leaked row (for near-duplicates to leave them out)."""
    first_split_hashes: npt.NDArray[np.uint64] = field(default_factory=lambda: np.zeros(0, np.uint64))
    """Sorted distinct row-key hashes of the first split, the smallest ``hash_cap`` of them."""
    first_split_distinct: int = 0
    """Number of distinct row-key hashes of the first split."""
    baseline_count: int = 0
    """Rows found in the baseline's train split and not already counted."""
    baseline_rows: list[int] = field(default_factory=list)
    """Locations of the first MAX_EVIDENCE of those."""
    baseline_checked: int = 0
    """Rows that could be checked against the (possibly capped) baseline hash set."""
    baseline_candidates: int = 0
    """Rows eligible for the baseline comparison."""


class DuplicateAccumulator:
    """Collects row-key hashes per batch; :meth:`analyse` merges them bucket by bucket."""

    def __init__(self, key_columns: Sequence[str], *, budget: int, keep_first_split: bool = True, hash_cap: int = MAX_TRAIN_HASHES) -> None:
        self.key_columns = tuple(key_columns)
        self.spool = BucketSpool(2, budget=budget)
        self.keep_first_split = keep_first_split
        self.hash_cap = hash_cap

    def add(self, batch: pa.RecordBatch, split_index: int, first_row: int) -> npt.NDArray[np.uint64]:
        """Hash the batch's rows, record them, and return the hashes."""
        h = row_hash(batch, self.key_columns)
        rows = np.arange(first_row, first_row + batch.num_rows, dtype=np.int64)
        self.spool.add(h, loc_of(split_index, rows))
        return h

    def analyse(self, baseline: RowHashSet | None = None) -> DuplicateFindings:
        """Return within- and cross-split duplicates (and baseline leakage) over every bucket."""
        out = DuplicateFindings()
        within_rows: list[npt.NDArray[np.uint64]] = []
        cross_pairs: list[npt.NDArray[np.uint64]] = []
        cross_all: list[npt.NDArray[np.uint64]] = []
        first_hashes: list[npt.NDArray[np.uint64]] = []
        base_rows: list[npt.NDArray[np.uint64]] = []
        for bucket in self.spool.buckets():
            order = hash_loc_order(bucket[:, 0], bucket[:, 1])
            h, loc = bucket[order, 0], bucket[order, 1]
            split = (loc >> np.uint64(LOC_SHIFT)).astype(np.int64)
            n = len(h)
            new_group = np.ones(n, dtype=bool)
            new_group[1:] = h[1:] != h[:-1]
            gstart = np.maximum.accumulate(np.where(new_group, np.arange(n), 0))
            first_split = split[gstart]
            within = np.zeros(n, dtype=bool)
            within[1:] = (~new_group[1:]) & (split[1:] == split[:-1])
            cross = split > first_split
            for s, c in zip(*np.unique(split[within], return_counts=True), strict=True):
                out.within_counts[int(s)] = out.within_counts.get(int(s), 0) + int(c)
            for s, c in zip(*np.unique(split[cross], return_counts=True), strict=True):
                out.cross_counts[int(s)] = out.cross_counts.get(int(s), 0) + int(c)
            within_rows.append(_smallest(loc[within], MAX_EVIDENCE))
            if cross.any():
                cl = loc[cross]
                cross_all.append(cl)
                pairs = np.stack([cl, loc[gstart][cross]], axis=1)
                keep = np.argsort(cl, kind="stable")[:MAX_EVIDENCE]
                cross_pairs.append(pairs[keep])
            if self.keep_first_split:
                # buckets come in ascending hash-prefix order and are sorted inside, so the
                # concatenation is sorted: keep the smallest hash_cap distinct ones
                distinct = h[new_group & (split == 0)]
                out.first_split_distinct += len(distinct)
                room = self.hash_cap - sum(len(a) for a in first_hashes)
                if room > 0:
                    first_hashes.append(distinct[:room])
            if baseline is not None:
                eligible = (split > 0) & ~cross
                cand_h = h[eligible]
                found, checkable = baseline.contains(cand_h)
                out.baseline_candidates += int(eligible.sum())
                out.baseline_checked += int(checkable.sum())
                out.baseline_count += int(found.sum())
                base_rows.append(_smallest(loc[eligible][found], MAX_EVIDENCE))
        if within_rows:
            out.within_rows = _smallest(np.concatenate(within_rows), MAX_EVIDENCE)
        if cross_pairs:
            allp = np.concatenate(cross_pairs)
            out.cross_pairs = allp[np.argsort(allp[:, 0], kind="stable")[:MAX_EVIDENCE]]
        if cross_all:
            out.cross_locs = np.sort(np.concatenate(cross_all))
        if first_hashes:
            out.first_split_hashes = np.concatenate(first_hashes)
        if base_rows:
            out.baseline_rows = [int(x) for x in _smallest(np.concatenate(base_rows), MAX_EVIDENCE)]
        self.spool.close()
        return out


def _ref(loc: int, names: Sequence[str]) -> dict[str, Any]:
    return row_ref(names[loc >> LOC_SHIFT], loc & ((1 << LOC_SHIFT) - 1))


def evaluate_within(settings: CheckSettings, found: DuplicateFindings, names: Sequence[str], key: Sequence[str]) -> CheckResult:
    """Return the ``duplicates.within_split`` result."""
    per_split = {names[s]: c for s, c in sorted(found.within_counts.items())}
    total = sum(per_split.values())
    observed: dict[str, Any] = {
        "count": total,
        "per_split": {n: per_split.get(n, 0) for n in names},
        "key": list(key),
        "rows": [_ref(int(x), names) for x in found.within_rows],
    }
    limit = settings.num("threshold")
    if total == 0 or all(c <= limit for c in per_split.values()):
        return passed(settings.id, f"no split has more than {int(limit)} duplicate rows (key: {', '.join(key)})", observed)
    detail = ", ".join(f"{n}: {c}" for n, c in per_split.items() if c)
    return fired(settings, f"{total} rows repeat an earlier row of their split ({detail}; key: {', '.join(key)})", observed)


def evaluate_cross(
    settings: CheckSettings,
    found: DuplicateFindings,
    names: Sequence[str],
    key: Sequence[str],
    baseline: RowHashSet | None,
) -> CheckResult:
    """Return the ``duplicates.cross_split`` result (leakage between splits and vs baseline)."""
    per_split = {names[s]: c for s, c in sorted(found.cross_counts.items())}
    total = sum(per_split.values())
    observed: dict[str, Any] = {
        "count": total + found.baseline_count,
        "per_split": {n: per_split.get(n, 0) for n in names[1:]},
        "key": list(key),
        "rows": [_ref(int(a), names) for a, _ in found.cross_pairs],
        "pairs": [{"a": _ref(int(b), names), "b": _ref(int(a), names), "similarity": 1.0} for a, b in found.cross_pairs],
    }
    notes = []
    if baseline is not None:
        observed["baseline"] = {
            "count": found.baseline_count,
            "split": baseline.split,
            "rows": [_ref(x, names) for x in found.baseline_rows],
            "checked": found.baseline_checked,
            "candidates": found.baseline_candidates,
            "coverage": baseline.coverage,
        }
        if baseline.coverage < 1.0:
            notes.append(f"baseline hash set capped: {found.baseline_checked} of {found.baseline_candidates} rows checkable")
    if len(names) < 2 and baseline is None:
        return passed(settings.id, "only one split and no baseline: nothing to leak between", observed)
    count = observed["count"]
    suffix = f" ({'; '.join(notes)})" if notes else ""
    if count <= settings.num("threshold"):
        return passed(settings.id, f"no row of a later split repeats an earlier split's row (key: {', '.join(key)}){suffix}", observed)
    parts = []
    if total:
        parts.append(", ".join(f"{c} {n} rows" for n, c in per_split.items() if c) + " also occur in an earlier split")
    if found.baseline_count:
        parts.append(f"{found.baseline_count} rows occur in the baseline's {baseline.split if baseline else 'train'} split")
    return fired(settings, f"leakage: {'; '.join(parts)} (key: {', '.join(key)}){suffix}", observed)
