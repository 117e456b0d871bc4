"""``conflicting_labels``: rows with identical features but different labels (across all splits).

Features: the row-key columns (``--key``, else every non-id column) minus the label column. Each
row's feature hash, location and label code (a hash of the value, the same in every shard) are
shuffled by hash prefix (:mod:`datagate.engine`); a group of rows sharing a
feature hash and carrying two or more distinct labels is a conflict. ``observed.count`` is the
number of such groups (distinct feature values), ``observed.rows`` lists their rows (capped),
``observed.conflicting_rows`` counts every row in them. Null labels are ignored.

Severity follows what the features can tell apart (:func:`identifying`). Where they identify a
row (``--key`` columns given, a text feature, or a feature with more than
:data:`~datagate.check.profile.MAX_DISTINCT_VALUES` distinct values) identical features with two
labels are a labelling error: default fail. Where every feature has few distinct values (survey
codes, small counts), different people share a feature row and different outcomes are normal:
the check warns with the rate (``observed.rate``: conflicting rows / labelled rows) and the
counts. A regression target is not a class label: the check is skipped with that reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from datagate.check._hashing import column_hash, row_hash, to_numpy, valid_mask
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

__all__ = ["DEFAULTS", "ConflictFindings", "analyse_bucket", "evaluate", "identifying", "label_codes", "settings", "shuffle_rows"]

DEFAULTS: Mapping[str, Any] = {"threshold": 0}
"""``threshold``: conflicting groups tolerated before the check fires (default 0)."""


def settings(policy: Any) -> CheckSettings:
    """Return the effective settings of ``conflicting_labels`` (default severity high)."""
    return settings_for(policy, "conflicting_labels", Severity.HIGH, DEFAULTS)


def label_codes(labels: pa.Array | pa.ChunkedArray) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.bool_]]:
    """Return a 64-bit code per label value (the hash of its ``repr``: the same in every shard and
    batch) and the mask of non-null labels."""
    if isinstance(labels, pa.ChunkedArray):
        labels = labels.combine_chunks()
    valid = valid_mask(labels)
    codes = np.zeros(len(labels), dtype=np.uint64)
    if not valid.any():
        return codes, valid
    value_set = pc.unique(labels.drop_null())
    uniq = value_set.to_pylist()
    text = pa.array([repr(v) for v in uniq], type=pa.large_string())
    mapping = column_hash(text)
    idx = to_numpy(pc.index_in(labels, value_set=value_set), nulls=-1).astype(np.int64)
    codes = np.where(idx >= 0, mapping[np.maximum(idx, 0)], np.uint64(0)).astype(np.uint64)
    return codes, valid


def shuffle_rows(
    batch: pa.RecordBatch, feature_columns: Sequence[str], label_column: str, item: int, row0: int, hashes: dict[str, npt.NDArray[np.uint64]] | None = None
) -> npt.NDArray[np.uint64]:
    """Return ``(feature hash, location, label code)`` rows of the batch's labelled rows
    (``hashes``: the batch's column-hash cache, see :func:`~datagate.check._hashing.row_hash`)."""
    codes, valid = label_codes(batch.column(batch.schema.get_field_index(label_column)))
    if not valid.any():
        return np.zeros((0, 3), dtype=np.uint64)
    h = row_hash(batch, feature_columns, hashes)
    locs = loc_of(item, np.arange(row0, row0 + batch.num_rows, dtype=np.int64))
    return np.stack([h[valid], locs[valid], codes[valid]], axis=1)


@dataclass
class ConflictFindings:
    """Conflicting groups found in some buckets (merge with :meth:`merge`)."""

    groups: int = 0
    """Feature values carrying two or more labels."""
    rows: int = 0
    """Rows in those groups."""
    evidence: npt.NDArray[np.uint64] = field(default_factory=lambda: np.zeros(0, np.uint64))
    """The first MAX_EVIDENCE of their locations."""

    def merge(self, other: ConflictFindings) -> ConflictFindings:
        """Return both buckets' findings together."""
        ev = np.sort(np.concatenate([self.evidence, other.evidence]))[:MAX_EVIDENCE]
        return ConflictFindings(self.groups + other.groups, self.rows + other.rows, ev)


def analyse_bucket(bucket: npt.NDArray[np.uint64]) -> ConflictFindings:
    """Return the conflicts of one bucket of ``(feature hash, split location, label code)`` rows."""
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
        return ConflictFindings()
    sizes = np.diff(np.append(starts, n))
    member = np.repeat(bad, sizes)
    return ConflictFindings(int(bad.sum()), int(sizes[bad].sum()), np.sort(loc[member])[:MAX_EVIDENCE])


def identifying(
    features: Sequence[str],
    *,
    keys_given: bool,
    text_columns: Sequence[str] = (),
    columns: Mapping[str, Any] | None = None,
) -> str | None:
    """Return why ``features`` identify a row (None when they do not; see the module docstring).

    ``columns`` maps a column to its per-split :class:`~datagate.check.profile.ColumnStats`
    (any one whose ``values`` is None has more than MAX_DISTINCT_VALUES distinct values).
    """
    if keys_given:
        return "key columns given (--key)"
    for c in features:
        if c in text_columns:
            return f"text feature {c!r}"
    for c in features:
        stats = (columns or {}).get(c)
        if stats is not None and any(getattr(st, "values", ()) is None for st in stats):
            return f"high-cardinality feature {c!r}"
    return None


def evaluate(
    settings: CheckSettings,
    found: ConflictFindings | None,
    names: Sequence[str],
    label_column: str | None,
    feature_columns: Sequence[str] = (),
    *,
    identified_by: str | None = "",
    regression: str | None = None,
    labelled_rows: int = 0,
) -> CheckResult:
    """Return the ``conflicting_labels`` result (``found`` None: no label column).

    ``identified_by`` is :func:`identifying`'s answer (the default ``""`` keeps the check's own
    severity); ``regression`` is the reason the label is a regression target (the check is then
    skipped); ``labelled_rows`` (rows with a label) gives ``observed.rate``.
    """
    if regression is not None and label_column is not None:
        return skipped(settings.id, f"label {label_column!r} is a regression target ({regression}): conflicting class labels do not apply")
    if found is None or label_column is None:
        return skipped(settings.id, "no label column (use --label)")
    groups, rows, ev = found.groups, found.rows, found.evidence
    observed: dict[str, Any] = {
        "count": groups,
        "conflicting_rows": rows,
        "features": list(feature_columns),
        "label": label_column,
        "rows": [row_ref(names[int(x) >> LOC_SHIFT], int(x) & ((1 << LOC_SHIFT) - 1)) for x in ev],
        "labelled_rows": labelled_rows,
        "rate": round(rows / labelled_rows, 6) if labelled_rows else 0.0,
        "identifying": identified_by,
    }
    if groups <= settings.num("threshold"):
        return passed(settings.id, f"no identical features carry different {label_column!r} labels", observed)
    msg = (
        f"{groups} feature values ({rows} rows) carry more than one {label_column!r} label "
        f"(features: {', '.join(feature_columns)})"
    )
    if identified_by is None:
        # low-cardinality features do not identify a row: shared features with different
        # outcomes are expected there, so the rate is reported as a warning, never a gate failure
        return fired(
            settings,
            f"{msg}; {observed['rate']:.1%} of labelled rows, but the features have few distinct values and do not identify a row",
            observed,
            severity=min(settings.severity, Severity.MEDIUM),
        )
    return fired(settings, msg + (f"; features identify rows: {identified_by}" if identified_by else ""), observed)
