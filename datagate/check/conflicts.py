"""``conflicting_labels``: rows with identical features but different labels (across all splits).

Features: the row-key columns (``--key``, else every non-id column) minus the label column. Each
row's feature hash, location and label code go to a bucketed spool; a group of rows sharing a
feature hash and carrying two or more distinct labels is a conflict. ``observed.count`` is the
number of such groups (distinct feature values), ``observed.rows`` lists their rows (capped),
``observed.conflicting_rows`` counts every row in them. Null labels are ignored. Default fail.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from datagate.check._hashing import row_hash, to_numpy, valid_mask
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

__all__ = ["DEFAULTS", "ConflictAccumulator", "evaluate", "settings"]

DEFAULTS: Mapping[str, Any] = {"threshold": 0}
"""``threshold``: conflicting groups tolerated before the check fires (default 0)."""


def settings(policy: Any) -> CheckSettings:
    """Return the effective settings of ``conflicting_labels`` (default severity high)."""
    return settings_for(policy, "conflicting_labels", Severity.HIGH, DEFAULTS)


class ConflictAccumulator:
    """Collects (feature hash, location, label code) per batch."""

    def __init__(self, feature_columns: Sequence[str], label_column: str, *, budget: int) -> None:
        self.feature_columns = tuple(feature_columns)
        self.label_column = label_column
        self.codes: dict[Any, int] = {}
        self.spool = BucketSpool(3, budget=budget)

    def add(self, batch: pa.RecordBatch, split_index: int, first_row: int) -> None:
        """Record the batch's rows that have a label."""
        labels = batch.column(batch.schema.get_field_index(self.label_column))
        valid = valid_mask(labels.combine_chunks() if isinstance(labels, pa.ChunkedArray) else labels)
        if not valid.any():
            return
        value_set = pc.unique(labels.drop_null())
        if isinstance(value_set, pa.ChunkedArray):
            value_set = value_set.combine_chunks()
        uniq = value_set.to_pylist()
        for v in uniq:
            key = repr(v)
            if key not in self.codes:
                self.codes[key] = len(self.codes)
        idx = to_numpy(pc.index_in(labels, value_set=value_set), nulls=-1).astype(np.int64)
        mapping = np.array([self.codes[repr(v)] for v in uniq], dtype=np.int64)
        codes = np.where(idx >= 0, mapping[np.maximum(idx, 0)], -1)
        h = row_hash(batch, self.feature_columns)
        rows = np.arange(first_row, first_row + batch.num_rows, dtype=np.int64)
        locs = loc_of(split_index, rows)
        self.spool.add(h[valid], locs[valid], codes[valid].astype(np.uint64))

    def analyse(self) -> tuple[int, int, npt.NDArray[np.uint64]]:
        """Return (conflicting groups, rows in them, first MAX_EVIDENCE locations)."""
        groups = 0
        rows = 0
        evidence: list[npt.NDArray[np.uint64]] = []
        for bucket in self.spool.buckets():
            h, loc, code = bucket[:, 0], bucket[:, 1], bucket[:, 2]
            order = hash_loc_order(h, loc)
            h, loc, code = h[order], loc[order], code[order]
            n = len(h)
            new_group = np.ones(n, dtype=bool)
            new_group[1:] = h[1:] != h[:-1]
            starts = np.flatnonzero(new_group)
            lo = np.minimum.reduceat(code, starts)
            hi = np.maximum.reduceat(code, starts)
            bad = lo != hi
            if not bad.any():
                continue
            groups += int(bad.sum())
            sizes = np.diff(np.append(starts, n))
            rows += int(sizes[bad].sum())
            member = np.repeat(bad, sizes)
            ev = np.sort(loc[member])[:MAX_EVIDENCE]
            evidence.append(ev)
        self.spool.close()
        ev_all = np.sort(np.concatenate(evidence))[:MAX_EVIDENCE] if evidence else np.zeros(0, np.uint64)
        return groups, rows, ev_all


def evaluate(
    settings: CheckSettings,
    acc: ConflictAccumulator | None,
    names: Sequence[str],
    label_column: str | None,
) -> CheckResult:
    """Return the ``conflicting_labels`` result."""
    if acc is None or label_column is None:
        return skipped(settings.id, "no label column (use --label)")
    groups, rows, ev = acc.analyse()
    observed: dict[str, Any] = {
        "count": groups,
        "conflicting_rows": rows,
        "features": list(acc.feature_columns),
        "label": label_column,
        "rows": [row_ref(names[int(x) >> LOC_SHIFT], int(x) & ((1 << LOC_SHIFT) - 1)) for x in ev],
    }
    if groups <= settings.num("threshold"):
        return passed(settings.id, f"no identical features carry different {label_column!r} labels", observed)
    return fired(
        settings,
        f"{groups} feature values ({rows} rows) carry more than one {label_column!r} label "
        f"(features: {', '.join(acc.feature_columns)})",
        observed,
    )
