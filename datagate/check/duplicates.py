"""Exact duplicates within a split and across splits (leakage), by 64-bit row-key hashes.

Row key: the ``--key`` columns, else every column except id-like ones (:data:`ID_COLUMN_NAMES`,
whose per-row unique values would hide every duplicate). Each row's key is hashed to 64 bits
(:func:`datagate.check._hashing.row_hash`); hashes and row locations go to a
shuffle partitioned by hash prefix (:mod:`datagate.engine`), and each bucket is analysed on its
own (:func:`analyse_bucket`, merged by :func:`merge_findings`), so memory stays bounded.

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

from datagate.check._hashing import stable_argsort
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
    "DuplicateFindings",
    "analyse_bucket",
    "cross_settings",
    "default_key",
    "evaluate_cross",
    "evaluate_within",
    "merge_findings",
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

    Two stable single-key sorts (by location, skipped when the locations already ascend, as the
    shuffle delivers them; then by hash): several times faster than ``lexsort``, and than an
    unstable sort whose tied runs are re-sorted by location when keys repeat a lot (band keys of
    low-vocabulary text).
    """
    if len(loc) > 1 and not bool(np.all(loc[1:] >= loc[:-1])):
        first = stable_argsort(loc)
        return first[stable_argsort(h[first])]
    return stable_argsort(h)


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
    within_locs: npt.NDArray[np.uint64] = field(default_factory=lambda: np.zeros(0, np.uint64))
    """Sorted locations of every repeating row (for near-duplicates to leave them out)."""
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


def analyse_bucket(bucket: npt.NDArray[np.uint64], baseline: RowHashSet | None = None, *, hash_cap: int = MAX_TRAIN_HASHES) -> DuplicateFindings:
    """Return the duplicate findings of one hash-prefix bucket of ``(row hash, location)`` rows.

    Locations are split locations (:func:`loc_of`); partial findings of different buckets merge
    with :func:`merge_findings` (in ascending bucket order, for the first split's hash sample).
    """
    out = DuplicateFindings()
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
        out.within_counts[int(s)] = int(c)
    for s, c in zip(*np.unique(split[cross], return_counts=True), strict=True):
        out.cross_counts[int(s)] = int(c)
    out.within_locs = np.sort(loc[within])
    out.within_rows = out.within_locs[:MAX_EVIDENCE]
    if cross.any():
        cl = loc[cross]
        pairs = np.stack([cl, loc[gstart][cross]], axis=1)
        keep = np.argsort(cl, kind="stable")
        out.cross_locs = cl[keep]
        out.cross_pairs = pairs[keep[:MAX_EVIDENCE]]
    distinct = h[new_group & (split == 0)]
    out.first_split_distinct = len(distinct)
    out.first_split_hashes = distinct[:hash_cap]
    if baseline is not None:
        eligible = (split > 0) & ~cross
        found, checkable = baseline.contains(h[eligible])
        out.baseline_candidates = int(eligible.sum())
        out.baseline_checked = int(checkable.sum())
        out.baseline_count = int(found.sum())
        out.baseline_rows = [int(x) for x in _smallest(loc[eligible][found], MAX_EVIDENCE)]
    return out


def merge_findings(a: DuplicateFindings, b: DuplicateFindings, *, hash_cap: int = MAX_TRAIN_HASHES) -> DuplicateFindings:
    """Return ``a`` and ``b`` merged (``b`` from a higher bucket than ``a``)."""
    out = DuplicateFindings()
    for attr in ("within_counts", "cross_counts"):
        merged = dict(getattr(a, attr))
        for k, v in getattr(b, attr).items():
            merged[k] = merged.get(k, 0) + v
        setattr(out, attr, dict(sorted(merged.items())))
    out.within_locs = np.sort(np.concatenate([a.within_locs, b.within_locs]))
    out.within_rows = out.within_locs[:MAX_EVIDENCE]
    out.cross_locs = np.sort(np.concatenate([a.cross_locs, b.cross_locs]))
    allp = np.concatenate([a.cross_pairs, b.cross_pairs])
    out.cross_pairs = allp[np.argsort(allp[:, 0], kind="stable")[:MAX_EVIDENCE]]
    out.first_split_hashes = np.concatenate([a.first_split_hashes, b.first_split_hashes])[:hash_cap]
    out.first_split_distinct = a.first_split_distinct + b.first_split_distinct
    out.baseline_count = a.baseline_count + b.baseline_count
    out.baseline_rows = sorted(a.baseline_rows + b.baseline_rows)[:MAX_EVIDENCE]
    out.baseline_checked = a.baseline_checked + b.baseline_checked
    out.baseline_candidates = a.baseline_candidates + b.baseline_candidates
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
