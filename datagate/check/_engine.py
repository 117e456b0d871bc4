"""The check stage's spine: map every shard to a mergeable partial, shuffle, reduce, evaluate.

Work items are shards (a data file) or row-group ranges of a large parquet file
(:data:`ITEM_ROWS` rows each). The :class:`~datagate.engine.interface.Engine` runs
:func:`map_item` on each; results come back in item order:

* **map** (per item, in a worker): column statistics and label counts (profile), numeric values
  (sampled on the driver, see below), outlier series, and the rows to shuffle - row-key hashes
  (``dup``: duplicates, leakage), feature hashes with label codes (``conf``: conflicting labels),
  MinHash band keys (``near``: near-duplicate candidates), (value, label) row counts of number
  columns (``bdv``: backdoor_triggers' exact values) - plus each row's word hashes as the item's
  side array (near-duplicate verification). Rows are named ``item << 40 | row-in-item``.
* **fold** (driver, item order): partials merge into per-split accumulators; the map's row counts
  give each item's first row in its split, so row identity becomes ``(split, row in file order)``
  here, and sample priorities (a hash of split and row) do not depend on how rows were cut into
  shards or batches. Label counts are a capped counter (:data:`MAX_LABEL_CLASSES`).
* **reduce** (one task per hash-prefix bucket, :func:`reduce_bucket`): item locations are turned
  into split locations, then exact duplicates / leakage, conflicts and near-duplicate candidates
  are found and verified in that bucket, and number values' label counts summed; bucket results
  merge on the driver.
* **evaluate**: each family's ``evaluate(settings, merged, ...)`` gives its CheckResult.

A map or reduce task that fails (an exception, a lost worker) is reported as a problem naming the
shard or bucket: every check it could affect becomes ``error`` (never a silent pass).

How a new check family plugs in (issues 13/17): write its statistic as a small picklable partial
with ``add(batch, split_index, row0)`` (``row0``: the batch's first row *within the work item*)
and an associative ``merge(other)``; then

1. create it in :func:`map_item` (``summary.extra[<name>]``) and call ``add`` per batch;
2. fold it in :func:`_fold` (``merged.extra[<name>]``), shifting any row numbers it keeps by the
   ``row_offset`` given there (the item's first row in its split);
3. if it needs all rows at once, return ``(hash, item location, ...)`` uint64 rows under a new
   shuffle name from :func:`map_item` and handle that name in :func:`reduce_bucket` (locations are
   already split locations there), merging bucket results in :func:`_merge_reduced`;
4. call its pure ``evaluate`` in :func:`run_checks` through ``add(...)`` and add its id to
   :data:`datagate.check.interface.CHECK_IDS`.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from datagate.check import (
    backdoor,
    conflicts,
    duplicates,
    label_errors,
    labels,
    near_duplicates,
    nulls,
    outliers,
    schema,
)
from datagate.check._hashing import mix64, row_hash, to_numpy
from datagate.check._spool import DEFAULT_BUDGET_BYTES
from datagate.check.duplicates import LOC_SHIFT, default_key, loc_of
from datagate.check.interface import mark_incomplete, skipped
from datagate.check.label_columns import label_absence, merge_class_labels
from datagate.check.load import (
    CsvOptions,
    DatasetLayout,
    Shard,
    ShardError,
    discover,
    iter_batches,
    parquet_row_groups,
    resolve_label,
    split_schema,
)
from datagate.check.profile import (
    MAX_TRAIN_HASHES,
    ColumnAccumulator,
    Profile,
    RowHashSet,
    SplitProfile,
    is_numeric,
    load_profile_file,
)
from datagate.engine.interface import (
    DEFAULT_BUCKETS,
    Engine,
    Failed,
    MapOutput,
    RowTable,
    SideStore,
)
from datagate.errors import CheckError, UsageError
from datagate.models import CheckReport, CheckResult
from datagate.progress import NULL_PROGRESS, ProgressSink

__all__ = ["ITEM_ROWS", "MAX_LABEL_CLASSES", "CheckOutcome", "WorkItem", "map_item", "profile_dataset", "reduce_bucket", "run_checks"]

MAX_LABEL_CLASSES = 10_000
"""A label column with more distinct values than this is not treated as class labels: label
checks and conflicting labels are skipped with that reason (and the profile stays compact)."""

ITEM_ROWS = 131_072
"""A parquet file with more rows than this is cut into work items of whole row groups of about
this many rows, so one large file still uses every core."""

REDUCE_ROWS = 1 << 21
"""Shuffled tuples (16-24 bytes each) per reduce bucket at most, as far as the estimate allows:
bounds a reduce task's memory however large the data."""

MAX_BUCKETS = 1 << 12
"""Most buckets a shuffle is cut into (about 5 * 10**8 rows with near-duplicates at REDUCE_ROWS)."""

CHECK_BATCH_ROWS = 16_384
"""Rows per record batch in a map task. Tokenising, shingling and counting a batch take a few KB
of temporary memory per row; at 16,384 rows a worker peaks about 150 MB lower than at the
readers' 65,536, at the same speed (measured on the 10M-row streaming table)."""

_NAN = float("nan")


@dataclass(frozen=True)
class CheckOutcome:
    """What :func:`run_checks` returns: the report and the dataset's compact profile."""

    report: CheckReport
    """Every check's result."""
    profile: Profile
    """The profile to store for this version (pass it as ``baseline`` next time)."""
    engine: Mapping[str, Any] = field(default_factory=dict)
    """The engine that ran the checks (name, workers), for the lineage record's run block."""


@dataclass
class _SplitState:
    name: str
    shards: list[Shard]
    schema: pa.Schema | None
    rows: int = 0
    columns: dict[str, ColumnAccumulator] = field(default_factory=dict)
    label_counts: Counter[str] | None = field(default_factory=Counter)
    file_rows: dict[str, int] = field(default_factory=dict)
    """Rows read per file, in file order (maps a split row to its file for SARIF locations)."""


@dataclass(frozen=True)
class WorkItem:
    """One map task: a shard, or a row-group range of one."""

    index: int
    """Position in item order (splits in canonical order, shards in file order)."""
    split_index: int
    """The split it belongs to."""
    shard: Shard
    """The file."""
    schema: pa.Schema
    """The split's schema (batches are cast to it)."""
    row_groups: tuple[int, int] | None = None
    """``(first, end)`` row groups of a parquet file, or None for the whole file."""
    rows: int | None = None
    """Its row count when the file's metadata says (parquet), else None."""

    @property
    def name(self) -> str:
        """Return the shard's path, with its row-group range when it has one."""
        if self.row_groups is None:
            return self.shard.relpath
        return f"{self.shard.relpath} (row groups {self.row_groups[0]}-{self.row_groups[1] - 1})"


@dataclass(frozen=True)
class _Plan:
    """What every map task needs (picklable)."""

    label: str | None
    key: tuple[str, ...]
    features: tuple[str, ...] | None
    text: tuple[str, ...]
    near: bool
    outlier_numeric: tuple[str, ...]
    outlier_text: tuple[str, ...]
    id_like: frozenset[str]
    batch_rows: int = CHECK_BATCH_ROWS
    backdoor: tuple[tuple[str, ...], tuple[str, ...], int, int] | None = None
    """backdoor_triggers pass 1: (text columns, value columns, ngrams, vocabulary cap)."""
    backdoor_shuffled: tuple[str, ...] = ()
    """backdoor_triggers: the value columns whose exact values go through the shuffle (``bdv``)."""
    label_sample: tuple[tuple[str, ...], int] | None = None
    """label_errors: (feature columns, sample size)."""


@dataclass
class ItemSummary:
    """A map task's partial (see the module docstring)."""

    rows: int = 0
    """Rows read."""
    problem: str | None = None
    """The shard's read error, if reading stopped early."""
    columns: dict[str, ColumnAccumulator] = field(default_factory=dict)
    """Per-column statistics (without the sample)."""
    samples: dict[str, npt.NDArray[np.float64]] = field(default_factory=dict)
    """Per sampled numeric column, its values in row order (NaN for nulls)."""
    label_counts: Counter[str] | None = field(default_factory=Counter)
    """Rows per label value; None once past MAX_LABEL_CLASSES."""
    series: dict[str, npt.NDArray[np.float64]] = field(default_factory=dict)
    """Outlier series values in row order."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Partials of further families, by name."""


@dataclass(frozen=True)
class _ReduceContext:
    split_of_item: npt.NDArray[np.int64]
    offset_of_item: npt.NDArray[np.int64]
    baseline: RowHashSet | None
    near_threshold: float


@dataclass
class _Reduced:
    dup: duplicates.DuplicateFindings | None = None
    conf: conflicts.ConflictFindings | None = None
    near: near_duplicates.NearFindings | None = None
    values: backdoor.ValueCounts | None = None

def _label_key(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _prepare(
    path: Path, label: str | None, keys: Sequence[str], encoding: str = "utf-8", csv: CsvOptions | None = None
) -> tuple[DatasetLayout, list[_SplitState], list[str], list[str]]:
    layout = discover(path, encoding=encoding, csv=csv)
    problems: list[str] = []
    states = []
    columns: list[str] = []
    for split in layout.splits:
        sch, errs = split_schema(split)
        bad = {e.relpath for e in errs}
        problems += [str(e) for e in errs]
        states.append(_SplitState(split.name, [s for s in split.shards if s.relpath not in bad], sch))
        if sch is not None:
            columns += [c for c in sch.names if c not in columns]
        if not split.shards:
            problems.append(f"split {split.name!r}: no data files")
    if not columns:
        raise CheckError(f"{path}: no readable data file ({'; '.join(problems) or 'nothing found'})")
    return layout, states, columns, problems


def _check_columns(option: str, wanted: Sequence[str], columns: Sequence[str], root: Path) -> None:
    for c in wanted:
        if c not in columns:
            raise UsageError(f"{option} {c!r} is not a column of {root}; available columns: {', '.join(columns)}")


def _auto_text(states: Sequence[_SplitState], columns: Sequence[str], label: str | None) -> tuple[str, ...]:
    for st in states:
        if st.schema is None or not st.shards:
            continue
        try:
            for batch in iter_batches(st.shards[0], schema=st.schema, batch_rows=2048):
                out = []
                for name in columns:
                    if name == label or name not in batch.schema.names:
                        continue
                    col = batch.column(batch.schema.get_field_index(name))
                    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
                        continue
                    lengths = pc.utf8_length(col.drop_null())
                    if len(lengths) and float(pc.mean(lengths).as_py() or 0) >= near_duplicates.AUTO_TEXT_MIN_CHARS:
                        out.append(name)
                return tuple(out)
        except ShardError:
            continue
    return ()


def _items(states: Sequence[_SplitState]) -> list[WorkItem]:
    """Return the work items: every shard, large parquet files cut by row groups."""
    items: list[WorkItem] = []
    for si, st in enumerate(states):
        if st.schema is None:
            continue
        for shard in st.shards:
            ranges: list[tuple[int, int] | None] = [None]
            groups = parquet_row_groups(shard)
            if groups is not None and sum(groups) > ITEM_ROWS and len(groups) > 1:
                ranges = []
                first, rows = 0, 0
                for g, count in enumerate(groups):
                    rows += count
                    if rows >= ITEM_ROWS:
                        ranges.append((first, g + 1))
                        first, rows = g + 1, 0
                if first < len(groups):
                    ranges.append((first, len(groups)))
            for rg in ranges:
                known = None if groups is None else sum(groups[rg[0] : rg[1]] if rg is not None else groups)
                items.append(WorkItem(len(items), si, shard, st.schema, rg, known))
    return items


def _buckets(items: Sequence[WorkItem], plan: _Plan) -> int:
    """Return the shuffle's bucket count: :data:`~datagate.engine.interface.DEFAULT_BUCKETS`, doubled while the estimated
    tuples per bucket of the largest shuffle exceed :data:`REDUCE_ROWS`.

    Rows come from parquet metadata (exact, so the same rows cut into other shards get the same
    count) or, for other formats, from the file size at 32 bytes a row (an over-estimate for
    typical rows; more buckets only cost more, smaller, reduce tasks). Results do not depend on
    the count, except which pairs a capped near-duplicate bucket verifies.
    """
    rows = sum(it.rows if it.rows is not None else _weight(it) // 32 for it in items)
    return _bucket_count(rows, near=bool(plan.near), value_columns=len(plan.backdoor_shuffled))


def _bucket_count(rows: int, *, near: bool, value_columns: int = 0) -> int:
    # the largest shuffle's tuples per row: 16 band keys, or one per backdoor value column
    per_row = max(near_duplicates.BANDS if near else 1, value_columns)
    buckets = DEFAULT_BUCKETS
    while rows * per_row > REDUCE_ROWS * buckets and buckets < MAX_BUCKETS:
        buckets *= 2
    return buckets


def _weight(item: WorkItem) -> int:
    try:
        size = item.shard.path.stat().st_size
    except OSError:
        return 0
    return size


def map_item(plan: _Plan, item: WorkItem) -> MapOutput:
    """Read one work item with datagate's readers and return its partial and shuffle rows."""
    sch = item.schema
    out = ItemSummary()
    out.columns = {
        c: ColumnAccumulator(c, sch.field(c).type, numeric=is_numeric(sch.field(c).type), sample=False) for c in sch.names
    }
    # the label is sampled too: a regression target's percentiles go into the profile
    sampled = [c for c in sch.names if is_numeric(sch.field(c).type) and c.lower() not in plan.id_like]
    samples: dict[str, list[npt.NDArray[np.float64]]] = {c: [] for c in sampled}
    series: dict[str, list[npt.NDArray[np.float64]]] = {}
    # shuffle rows, with the most each can hold when the item's row count is known (parquet): a
    # row gives one dup and conf row, BANDS band rows and a value row per shuffled column
    known = item.rows or 0
    dup, conf = RowTable(known), RowTable(known)
    near = RowTable(known * near_duplicates.BANDS)
    values = RowTable(known * len(plan.backdoor_shuffled))
    side_off: list[npt.NDArray[np.int64]] = []
    side_h: list[npt.NDArray[np.uint64]] = []
    counts: Counter[str] | None = Counter()
    key_ok = all(k in sch.names for k in plan.key)
    if plan.label is not None and plan.label in sch.names:
        if plan.backdoor is not None:
            bd_text, bd_values, ngrams, cap = plan.backdoor
            out.extra["backdoor"] = backdoor.TriggerCounts(bd_text, bd_values, plan.label, ngrams=ngrams, cap=cap, shuffled=plan.backdoor_shuffled)
        if plan.label_sample is not None:
            out.extra["label_sample"] = label_errors.LabelSample(plan.label_sample[0], plan.label, k=plan.label_sample[1])
    row0 = 0
    try:
        for batch in iter_batches(item.shard, schema=sch, row_groups=item.row_groups, batch_rows=plan.batch_rows):
            n = batch.num_rows
            if n == 0:
                continue
            cols = {c: batch.column(i) for i, c in enumerate(batch.schema.names)}
            for c, acc in out.columns.items():
                acc.add(cols[c], row0, 0)
            for c in sampled:
                samples[c].append(np.asarray(to_numpy(cols[c].cast(pa.float64()), nulls=_NAN), dtype=np.float64))
            if plan.label is not None and counts is not None and plan.label in cols:
                vc = pc.value_counts(cols[plan.label])
                for entry in vc.to_pylist():
                    counts[_label_key(entry["values"])] += int(entry["counts"])
                if len(counts) > MAX_LABEL_CLASSES:
                    counts = None  # a continuous or free-text column, not class labels
            hashes: dict[str, npt.NDArray[np.uint64]] = {}  # column hashes of this batch
            if key_ok and plan.key:
                h = row_hash(batch, plan.key, hashes)
                dup.add(np.stack([h, loc_of(item.index, np.arange(row0, row0 + n, dtype=np.int64))], axis=1))
            if plan.features is not None and plan.label is not None and counts is not None:
                conf.add(conflicts.shuffle_rows(batch, plan.features, plan.label, item.index, row0, hashes))
            for part in out.extra.values():
                _add_guarded(part, batch, row0, item.name, hashes)
            if plan.backdoor_shuffled and "backdoor" in out.extra:
                for part_rows in out.extra["backdoor"].take_value_rows():
                    values.add(part_rows)
            if plan.near:
                table, off, hs = near_duplicates.map_rows(batch, plan.text, item.index, row0)
                near.add(table)
                side_off.append(off)
                side_h.append(hs)
            for c in plan.outlier_numeric:
                series.setdefault(c, []).append(np.asarray(to_numpy(cols[c].cast(pa.float64()), nulls=_NAN), dtype=np.float64))
            for c in plan.outlier_text:
                col = cols[c]
                if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
                    col = col.cast(pa.large_string())
                lengths = to_numpy(pc.utf8_length(col).cast(pa.float64()), nulls=_NAN)
                series.setdefault(f"len({c})", []).append(np.log1p(np.asarray(lengths, dtype=np.float64)))
            row0 += n
    except ShardError as e:
        out.problem = str(e)
    out.rows = row0
    out.label_counts = counts
    out.samples = {c: np.concatenate(v) if v else np.zeros(0) for c, v in samples.items()}
    out.series = {c: np.concatenate(v) for c, v in series.items() if v}
    # the word sets' batches are released as they are copied into the side array (drain_concat)
    side = near_duplicates.pack_side(side_off, side_h) if plan.near else None
    shuffle: dict[str, npt.NDArray[np.uint64]] = {}
    for name, rows in (("dup", dup), ("conf", conf), ("near", near), ("bdv", values)):
        if len(rows) and (name != "conf" or counts is not None):
            shuffle[name] = rows.table()
    return MapOutput(out, shuffle, side)


def reduce_bucket(bucket: int, rows: Mapping[str, npt.NDArray[np.uint64]], ctx: _ReduceContext, side: SideStore) -> _Reduced:
    """Reduce one hash-prefix bucket: exact duplicates, conflicts, near-duplicate candidates."""
    del bucket  # results do not depend on which bucket this is

    def relocate(loc: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
        item = (loc >> np.uint64(LOC_SHIFT)).astype(np.int64)
        row = (loc & np.uint64((1 << LOC_SHIFT) - 1)).astype(np.int64)
        return loc_of(0, row + ctx.offset_of_item[item]) | (ctx.split_of_item[item].astype(np.uint64) << np.uint64(LOC_SHIFT))

    out = _Reduced()
    t = rows.get("dup")
    if t is not None:
        out.dup = duplicates.analyse_bucket(np.stack([t[:, 0], relocate(t[:, 1])], axis=1), ctx.baseline)
    t = rows.get("conf")
    if t is not None:
        out.conf = conflicts.analyse_bucket(np.stack([t[:, 0], relocate(t[:, 1]), t[:, 2]], axis=1))
    t = rows.get("near")
    if t is not None:
        out.near = near_duplicates.reduce_bucket(np.stack([t[:, 0], relocate(t[:, 1]), t[:, 1]], axis=1), side, ctx.near_threshold)
    t = rows.get("bdv")
    if t is not None:
        out.values = backdoor.reduce_values(t)
    return out


def _merge_reduced(a: _Reduced, b: _Reduced) -> _Reduced:
    """Merge bucket results (``b`` from a higher bucket)."""
    return _Reduced(
        b.dup if a.dup is None else a.dup if b.dup is None else duplicates.merge_findings(a.dup, b.dup),
        b.conf if a.conf is None else a.conf if b.conf is None else a.conf.merge(b.conf),
        b.near if a.near is None else a.near if b.near is None else a.near.merge(b.near),
        b.values if a.values is None else a.values if b.values is None else a.values.merge(b.values),
    )


@dataclass
class _Merged:
    """Everything the fold and reduce phases produced."""

    states: list[_SplitState]
    problems: list[str]
    reduce_problems: list[str]
    reduced: _Reduced
    outliers: outliers.OutlierAccumulator | None
    label_overflow: bool
    extra: dict[str, Any] = field(default_factory=dict)
    offsets: npt.NDArray[np.int64] | None = None
    """Each work item's first row in its split."""


def _fold(
    states: list[_SplitState],
    items: Sequence[WorkItem],
    summaries: Iterator[ItemSummary | Failed],
    acc_out: outliers.OutlierAccumulator | None,
    progress: ProgressSink,
    extra: dict[str, Any] | None = None,
) -> tuple[list[str], npt.NDArray[np.int64], bool]:
    """Fold the map partials into the split states in item order; return problems, item offsets
    and whether the label counts overflowed."""
    problems: list[str] = []
    offsets = np.zeros(len(items), dtype=np.int64)
    overflow = False
    task = None
    current = -1
    for item, summ in zip(items, summaries, strict=True):
        st = states[item.split_index]
        if item.split_index != current:
            if task is not None:
                task.close()
            task = progress.task(f"checking {st.name}", unit="rows")
            current = item.split_index
            fields = list(st.schema) if st.schema is not None else []
            st.columns = {f.name: ColumnAccumulator(f.name, f.type, numeric=is_numeric(f.type), sample=True) for f in fields}
        offsets[item.index] = st.rows
        if isinstance(summ, Failed):
            problems.append(str(summ))
            continue
        if summ.problem is not None:
            problems.append(summ.problem)
        for c, part in summ.columns.items():
            if c in st.columns:
                st.columns[c].merge(part)
        for c, vals in summ.samples.items():
            finite = np.flatnonzero(np.isfinite(vals))
            if len(finite) and c in st.columns:
                prio = mix64((finite + st.rows).astype(np.uint64) ^ np.uint64(item.split_index))
                st.columns[c]._keep(prio, vals[finite])
        if summ.label_counts is None or st.label_counts is None:
            overflow = True
        else:
            st.label_counts.update(summ.label_counts)
            if len(st.label_counts) > MAX_LABEL_CLASSES:
                overflow = True
        if acc_out is not None:
            for name, vals in summ.series.items():
                acc_out._add(name, item.split_index, st.rows, vals)
        if extra is not None:
            _fold_extra(extra, summ.extra, item.split_index, st.rows)
        st.rows += summ.rows
        st.file_rows[item.shard.relpath] = st.file_rows.get(item.shard.relpath, 0) + summ.rows
        if task is not None:
            task.advance(summ.rows)
    if task is not None:
        task.close()
    if overflow:
        for st in states:
            st.label_counts = Counter()
    for st in states:
        if st.schema is not None and st.rows == 0:
            problems.append(f"split {st.name!r} has no rows")
    return problems, offsets, overflow


def _fold_extra(extra: dict[str, Any], parts: Mapping[str, Any], split_index: int, row_offset: int) -> None:
    """Merge further families' partials (relocating item rows to split rows first)."""
    for name, part in parts.items():
        if hasattr(part, "relocate"):
            part.relocate(split_index, row_offset)
        extra[name] = part if name not in extra else extra[name].merge(part)


def _add_guarded(part: Any, batch: pa.RecordBatch, row0: int, name: str, hashes: dict[str, npt.NDArray[np.uint64]] | None = None) -> None:
    """``part.add`` with item-local rows (``_fold`` relocates them) and the batch's column-hash
    cache; a failure marks the partial (its check becomes ``error``) instead of failing the item
    for every other check."""
    if part.error is not None:
        return
    try:
        part.add(batch, 0, row0, hashes)
    except (pa.ArrowException, ValueError, TypeError, KeyError, IndexError, MemoryError) as e:
        part.error = f"{name}: {type(e).__name__}: {e}"


def map_trigger_rows(spec: backdoor.TriggerRows, item: WorkItem) -> backdoor.TriggerRows:
    """backdoor_triggers pass 2 over one work item: rows carrying a screened candidate.

    Returns a fresh partial (item-local rows); a read error propagates (the engine reports it).
    """
    out = backdoor.TriggerRows(spec.screened, spec.text_columns, spec.value_columns, spec.label_column, spec.ngrams)
    wanted = [c for c in (*spec.text_columns, *spec.value_columns, spec.label_column) if c in item.schema.names]
    row0 = 0
    for batch in iter_batches(item.shard, schema=item.schema, columns=wanted, row_groups=item.row_groups):
        _add_guarded(out, batch, row0, item.name)
        row0 += batch.num_rows
    return out


def _trigger_rows(
    engine: Engine, states: Sequence[_SplitState], spec: backdoor.TriggerRows, offsets: npt.NDArray[np.int64]
) -> tuple[backdoor.TriggerRows, list[str]]:
    """Run pass 2 of backdoor_triggers as an ordered map over the same work items as pass 1 and
    fold in item order (``offsets``: each item's first row in its split, from pass 1)."""
    items = _items(states)
    problems: list[str] = []
    merged = spec
    results = engine.map(functools.partial(map_trigger_rows, spec), items, names=[it.name for it in items], weights=[_weight(it) for it in items])
    for item, res in zip(items, results, strict=True):
        if isinstance(res, Failed):
            problems.append(str(res))
            continue
        res.relocate(item.split_index, int(offsets[item.index]))
        merged = merged.merge(res)
    return merged, problems


def _execute(
    engine: Engine,
    states: list[_SplitState],
    plan: _Plan,
    baseline: RowHashSet | None,
    near_threshold: float,
    acc_out: outliers.OutlierAccumulator | None,
    progress: ProgressSink,
) -> _Merged:
    """Run map, fold, reduce and bucket merge on ``engine``."""
    items = _items(states)
    job = engine.map_shuffle(
        functools.partial(map_item, plan),
        items,
        names=[it.name for it in items],
        buckets=_buckets(items, plan),
        weights=[_weight(it) for it in items],
    )
    extra: dict[str, Any] = {}
    try:
        problems, offsets, overflow = _fold(states, items, job.summaries(), acc_out, progress, extra)
        split_of = np.array([it.split_index for it in items], dtype=np.int64)
        ctx = _ReduceContext(split_of, offsets, baseline, near_threshold)
        reduced = _Reduced()
        reduce_problems: list[str] = []
        for res in job.reduce(reduce_bucket, ctx):
            if isinstance(res, Failed):
                reduce_problems.append(str(res))
                continue
            reduced = _merge_reduced(reduced, res)
    finally:
        job.close()
    return _Merged(states, problems, reduce_problems, reduced, acc_out, overflow, extra, offsets)


def _profile(layout: DatasetLayout, states: Sequence[_SplitState], label: str | None, key: tuple[str, ...], train_hashes: RowHashSet | None) -> Profile:
    splits = {}
    for st in states:
        if st.schema is None:
            continue  # nothing readable: reported as a problem, left out of the profile
        cols = {c: acc.stats() for c, acc in st.columns.items()}
        splits[st.name] = SplitProfile(st.rows, cols, dict(sorted((st.label_counts or {}).items())))
    names = layout.class_names.get(label) if label is not None else None
    return Profile(splits, label, names, key, train_hashes)


def _train_hashes(states: Sequence[_SplitState], key: tuple[str, ...], found: duplicates.DuplicateFindings) -> RowHashSet:
    first = states[0].name if states else "train"
    return RowHashSet.from_sorted(first, key, found.first_split_hashes[:MAX_TRAIN_HASHES], found.first_split_distinct)


def _label_kind(layout: DatasetLayout, states: Sequence[_SplitState], label: str | None, forced: str | None, overflow: bool) -> labels.LabelType | None:
    """Return the label's type once every split was read (None without a label)."""
    if label is None:
        return None
    arrow_type = next((st.schema.field(label).type for st in states if st.schema is not None and label in st.schema.names), None)
    if arrow_type is None:
        return None
    merged: Counter[str] = Counter()
    for st in states:
        merged.update(st.label_counts or {})
    return labels.infer_label_type(arrow_type, merged, class_names=layout.class_names.get(label), forced=forced, overflow=overflow)


def _typed_profile(states: Sequence[_SplitState], label: str | None, prof: Profile, kind: labels.LabelType | None) -> Profile:
    """Return ``prof`` with the label type; a regression target keeps percentiles, not counts."""
    if kind is None:
        return prof
    if not kind.regression:
        return replace(prof, label_type=kind.kind)
    splits = {}
    for st in states:
        if st.name not in prof.splits:
            continue
        acc = st.columns.get(label) if label is not None else None
        q = labels.quantiles(acc.sample_vals) if acc is not None else None
        splits[st.name] = replace(prof.splits[st.name], label_counts={}, label_quantiles=q)
    return replace(prof, splits=splits, label_type=kind.kind)


def _load_baseline(
    baseline: Path | Profile | Mapping[str, Any] | None, label: str | None, keys: Sequence[str], label_type: str | None = None
) -> Profile | None:
    if baseline is None or isinstance(baseline, Profile):
        return baseline
    if isinstance(baseline, Mapping):
        return Profile.from_dict(baseline)
    path = Path(baseline)
    if path.is_file() and path.name.lower().endswith(".json"):
        import json

        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError):
            data = None
        if isinstance(data, dict) and "splits" in data:
            return load_profile_file(path)
    return profile_dataset(path, label=label, keys=keys, label_type=label_type)


def _engine_or_default(engine: Engine | None) -> tuple[Engine, bool]:
    if engine is not None:
        return engine, False
    from datagate.engine.local import LocalEngine

    return LocalEngine(), True


def profile_dataset(
    path: Path,
    *,
    label: str | None = None,
    keys: Sequence[str] = (),
    progress: ProgressSink = NULL_PROGRESS,
    engine: Engine | None = None,
    label_type: str | None = None,
) -> Profile:
    """Return the profile of the dataset at ``path`` (one read pass, no checks).

    ``label`` is used when it is a column there (else the label is found as usual); ``keys`` must
    be columns there to give comparable row-key hashes (else the default key is used);
    ``label_type`` (class or regression) overrides the inferred label type.
    Raises CheckError when nothing there can be read.
    """
    layout, states, columns, _problems = _prepare(Path(path), None, ())
    lab, _src = resolve_label(layout, columns, label if label in columns else None)
    key = tuple(keys) if keys and all(k in columns for k in keys) else default_key(columns)
    plan = _Plan(lab, key, None, (), False, (), (), duplicates.ID_COLUMN_NAMES)
    eng, own = _engine_or_default(engine)
    try:
        merged = _execute(eng, states, plan, None, 1.0, None, progress)
    finally:
        if own:
            eng.close()
    found = merged.reduced.dup or duplicates.DuplicateFindings()
    prof = _profile(layout, states, lab, key, _train_hashes(states, key, found))
    return _typed_profile(states, lab, prof, _label_kind(layout, states, lab, label_type, merged.label_overflow))


def _suite_columns(suites: Sequence[Path]) -> tuple[list[tuple[str, list[str]]], list[CheckResult]]:
    from datagate.check import gx

    out = []
    errors = []
    for s in suites:
        try:
            suite = gx.read_suite(Path(s))
        except gx.SuiteError as e:
            errors.append(e.result)
            continue
        out.append((suite.name, suite.columns))
    return out, errors


def run_checks(
    path: Path | str,
    *,
    label: str | None = None,
    keys: Sequence[str] = (),
    text: Sequence[str] = (),
    baseline: Path | str | Profile | None = None,
    suites: Sequence[Path | str] = (),
    policy: Any = None,
    progress: ProgressSink = NULL_PROGRESS,
    encoding: str = "utf-8",
    no_label: bool = False,
    engine: Engine | None = None,
    csv: CsvOptions | None = None,
    label_type: str | None = None,
    batch_rows: int = CHECK_BATCH_ROWS,
) -> CheckOutcome:
    """Run every check on the dataset at ``path`` and return the report and profile.

    ``baseline`` is another dataset folder or a stored :class:`Profile`; ``suites`` are GX 1.x
    suite JSON files; ``policy`` is a :class:`datagate.config.Policy` (or None for defaults);
    ``encoding`` is the text encoding of CSV/TSV/JSON files (bytes that do not decode are a
    read error naming the line and byte offset); ``engine`` runs the map/shuffle/reduce work (default: a
    :class:`~datagate.engine.local.LocalEngine` on every core, closed afterwards); ``batch_rows``
    is the record-batch size (memory vs per-batch overhead; results do not depend on it).

    Raises UsageError when ``label``, ``keys`` or ``text`` name a column the dataset lacks
    (naming it and the available ones, or a bad ``csv`` option), ConfigError for a bad check override in the policy, and
    CheckError when the path holds nothing readable. ``no_label`` (``--no-label``) says the
    dataset has no label column: the label checks are skipped instead of warning that none was
    found (a UsageError together with ``label``). ``label_type`` (``--label-type``: class or
    regression; a UsageError otherwise) overrides the inferred label type. A bad shard, an empty
    split, a failed task or a bad suite is a check ``error`` result, not an exception.
    """
    path = Path(path)
    st_schema = schema.settings(policy)
    st_dist = labels.distribution_settings(policy)
    st_drift = labels.drift_settings(policy)
    st_within = duplicates.within_settings(policy)
    st_cross = duplicates.cross_settings(policy)
    st_near = near_duplicates.settings(policy)
    st_near_within = near_duplicates.within_settings(policy)
    st_out = outliers.settings(policy)
    st_nulls = nulls.settings(policy)
    st_conf = conflicts.settings(policy)
    st_bd = backdoor.settings(policy)
    st_le = label_errors.settings(policy)

    if no_label and label is not None:
        raise UsageError("--label and --no-label are alternatives; give one")
    if label_type is not None and label_type not in labels.LABEL_TYPES:
        raise UsageError(f"--label-type must be one of {', '.join(labels.LABEL_TYPES)}, not {label_type!r}")
    layout, states, columns, problems = _prepare(path, label, keys, encoding, csv)
    layout = replace(layout, class_names=merge_class_labels(layout.class_names, (s.schema for s in states)))
    lab, src = (None, None) if no_label else resolve_label(layout, columns, label)
    _check_columns("--key", keys, columns, path)
    _check_columns("--text", text, columns, path)
    key = tuple(keys) if keys else default_key(columns)
    base = _load_baseline(baseline if not isinstance(baseline, str) else Path(baseline), lab, keys, label_type)

    if text:
        text_cols, text_source = tuple(text), "--text"
    else:
        text_cols, text_source = _auto_text(states, columns, lab), "auto"
    numeric_cols = [
        c
        for c in columns
        # the label too: scored when it turns out to be a regression target, dropped otherwise
        if c.lower() not in duplicates.ID_COLUMN_NAMES
        and any(s.schema is not None and c in s.schema.names and is_numeric(s.schema.field(c).type) for s in states)
    ]
    # the accumulators need the columns in every split; a split missing one is a schema problem
    common = set(columns)
    for s in states:
        if s.schema is not None:
            common &= set(s.schema.names)
    numeric_cols = [c for c in numeric_cols if c in common]
    text_cols_ok = tuple(c for c in text_cols if c in common)
    key_ok = tuple(c for c in key if c in common)
    features = tuple(c for c in key_ok if c != lab)
    with_conflicts = lab is not None and bool(features) and lab in common and st_conf.enabled
    with_near = bool(text_cols_ok) and ((st_near.enabled and len(states) > 1) or st_near_within.enabled)
    plan = _Plan(
        lab,
        key_ok,
        features if with_conflicts else None,
        text_cols_ok,
        with_near,
        tuple(numeric_cols) if st_out.enabled else (),
        text_cols_ok if st_out.enabled else (),
        duplicates.ID_COLUMN_NAMES,
        batch_rows,
    )
    # poisoning signals (issue 17): every non-id column but the label is a feature
    has_label = lab is not None and lab in common
    poison_values = tuple(c for c in columns if c in common and c != lab and c not in text_cols_ok and c.lower() not in duplicates.ID_COLUMN_NAMES)
    bd_types: dict[str, pa.DataType] = {}
    if has_label and st_bd.enabled:
        bd_types = backdoor.shuffled_columns(poison_values, [s.schema for s in states if s.schema is not None])
        plan = replace(
            plan,
            backdoor=(text_cols_ok, poison_values, int(st_bd.num("ngrams")), int(st_bd.num("vocabulary_cap"))),
            backdoor_shuffled=tuple(bd_types),
        )
    if has_label and st_le.enabled:
        plan = replace(plan, label_sample=((*text_cols_ok, *poison_values), int(st_le.num("sample"))))
    acc_out = outliers.OutlierAccumulator(numeric_cols, text_cols_ok, budget=DEFAULT_BUDGET_BYTES // 4) if st_out.enabled else None
    bh = base.train_hashes if base is not None and base.train_hashes is not None and base.train_hashes.key_columns == key_ok else None
    near_threshold = min(st_near.num("threshold"), st_near_within.num("threshold"))
    eng, own = _engine_or_default(engine)
    try:
        merged = _execute(eng, states, plan, bh, near_threshold, acc_out, progress)
        bd_counts = merged.extra.get("backdoor") if not merged.label_overflow else None
        bd_screened: backdoor.Screened | None = None
        bd_rows: backdoor.TriggerRows | None = None
        bd_problems: list[str] = []
        if bd_counts is not None and bd_counts.error is None and len(bd_counts.label_totals) <= backdoor.MAX_CLASSES:
            bd_screened = backdoor.screen(st_bd, bd_counts, merged.reduced.values, bd_types)
            spec = backdoor.TriggerRows(bd_screened, bd_counts.text_columns, bd_counts.value_columns, bd_counts.label_column, bd_counts.ngrams)
            if bd_screened.keys and merged.offsets is not None:
                bd_rows, bd_problems = _trigger_rows(eng, states, spec, merged.offsets)
            else:
                bd_rows = spec
        engine_info = eng.describe()
    finally:
        if own:
            eng.close()
    problems += merged.problems
    shuffle_problems = problems + merged.reduce_problems
    names = [s.name for s in states]
    found = merged.reduced.dup or duplicates.DuplicateFindings()
    kind = _label_kind(layout, states, lab, label_type, merged.label_overflow)
    regression = kind.reason if kind is not None and kind.regression else None
    if acc_out is not None and lab is not None and regression is None:
        acc_out.drop(lab)
    prof = _typed_profile(states, lab, _profile(layout, states, lab, key_ok, _train_hashes(states, key_ok, found)), kind)

    suite_cols, suite_errors = _suite_columns([Path(s) for s in suites]) if suites else ([], [])
    results: list[CheckResult] = []

    reason = ""

    def add(settings_enabled: bool, check_id: str, make: Any, *, shuffled: bool = False) -> None:
        if not settings_enabled:
            why = reason if merged.label_overflow and check_id in ("label_distribution", "label_drift", "conflicting_labels") else "disabled by policy"
            results.append(skipped(check_id, why))
            return
        results.append(mark_incomplete(make(), shuffle_problems if shuffled else problems))

    if merged.label_overflow and regression is None:
        reason = f"label column {lab!r} has more than {MAX_LABEL_CLASSES} distinct values: not class labels"
        prof = Profile(prof.splits, None, None, prof.key_columns, prof.train_hashes)
        st_dist = replace(st_dist, enabled=False)
        st_drift = replace(st_drift, enabled=False)
        st_conf = replace(st_conf, enabled=False)
    near_found = merged.reduced.near if with_near else None
    if with_near and near_found is None:
        near_found = near_duplicates.NearFindings()
    add(st_schema.enabled, "schema", lambda: schema.evaluate(st_schema, prof, base, suite_cols))
    add(st_dist.enabled, "label_distribution", lambda: labels.evaluate_distribution(st_dist, prof, kind))
    add(st_drift.enabled, "label_drift", lambda: labels.evaluate_drift(st_drift, prof, base))
    add(st_within.enabled, "duplicates.within_split", lambda: duplicates.evaluate_within(st_within, found, names, key_ok), shuffled=True)
    add(st_cross.enabled, "duplicates.cross_split", lambda: duplicates.evaluate_cross(st_cross, found, names, key_ok, bh), shuffled=True)
    add(
        st_near.enabled,
        "near_duplicates.cross_split",
        lambda: near_duplicates.evaluate(st_near, near_found, names, found.cross_locs, text_cols_ok, text_source),
        shuffled=True,
    )
    add(
        st_near_within.enabled,
        "near_duplicates.within_split",
        lambda: near_duplicates.evaluate(st_near_within, near_found, names, found.within_locs, text_cols_ok, text_source, within=True),
        shuffled=True,
    )
    add(st_out.enabled, "outliers", lambda: outliers.evaluate(st_out, acc_out, names, outliers.baseline_ranges(base, st_out.num("threshold"))) if acc_out is not None else skipped("outliers", "disabled"))
    add(st_nulls.enabled, "nulls", lambda: nulls.evaluate(st_nulls, prof, base))
    conf_found = (merged.reduced.conf or conflicts.ConflictFindings()) if with_conflicts else None
    identified_by = conflicts.identifying(
        features,
        keys_given=bool(keys),
        text_columns=text_cols_ok,
        columns={c: [sp.columns[c] for sp in prof.splits.values() if c in sp.columns] for c in features},
    )
    labelled = sum(sp.rows - sp.columns[lab].nulls for sp in prof.splits.values() if lab is not None and lab in sp.columns)
    add(
        st_conf.enabled,
        "conflicting_labels",
        lambda: conflicts.evaluate(
            st_conf, conf_found, names, lab, features, identified_by=identified_by, regression=regression, labelled_rows=labelled
        ),
        shuffled=True,
    )
    class_names = layout.class_names.get(lab) if lab is not None else None
    if regression is not None:
        bd_counts = bd_screened = bd_rows = None
    poison_reason = f"regression target ({regression})" if regression is not None else reason
    bd_reason = poison_reason or (
        f"label column {lab!r} has more than {backdoor.MAX_CLASSES} distinct values" if bd_counts is not None and bd_screened is None else ""
    )
    results.append(
        skipped("backdoor_triggers", "disabled by policy")
        if not st_bd.enabled
        else mark_incomplete(
            backdoor.evaluate(
                st_bd, bd_counts if bd_screened is not None or (bd_counts is not None and bd_counts.error) else None,
                bd_screened, bd_rows, names, class_names=class_names, reason=bd_reason,
            ),
            # exact value counts come from the shuffle: a failed reduce task leaves them short
            (shuffle_problems if plan.backdoor_shuffled else problems) + bd_problems,
        )
    )
    le_sample = merged.extra.get("label_sample") if not merged.label_overflow and regression is None else None
    add(st_le.enabled, "label_errors", lambda: label_errors.evaluate(st_le, le_sample, names, text_cols_ok, class_names=class_names, reason=poison_reason))

    if suites:
        from datagate.check import gx

        results += suite_errors
        for suite_path in suites:
            if any(e.id == gx.result_id(Path(suite_path)) for e in suite_errors):
                continue
            results.append(gx.run_suite(Path(suite_path), layout, [(st.name, st.shards, st.schema) for st in states]))

    results = list(label_absence(results, lab, no_label=no_label))
    split_info = {
        st.name: {
            "files": [sh.relpath for sh in layout.splits[i].shards],
            "rows": st.rows,
            "file_rows": dict(st.file_rows),
            "columns": {f.name: str(f.type) for f in st.schema} if st.schema is not None else {},
            # how each CSV/TSV file was read (detected or given): the report shows it
            **({"csv": {sh.relpath: sh.dialect.describe() for sh in layout.splits[i].shards if sh.dialect is not None}}
               if any(sh.dialect is not None for sh in layout.splits[i].shards) else {}),
        }
        for i, st in enumerate(states)
    }
    report = CheckReport(
        dataset=str(path),
        checks=tuple(results),
        splits=split_info,
        label_column=lab,
        label_source=src,
    )
    return CheckOutcome(report, prof, engine_info)
