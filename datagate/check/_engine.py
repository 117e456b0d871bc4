"""The check stage's single streaming pass: read every split once, feed every accumulator.

Per record batch: column statistics and label counts (profile), row-key hashes (duplicates,
leakage), feature hashes + label codes (conflicting labels), MinHash band keys (near-duplicates),
numeric values and text lengths (outliers). Then each family merges its partials and evaluates.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from datagate.check import conflicts, duplicates, labels, near_duplicates, nulls, outliers, schema
from datagate.check._hashing import text_for_shingles
from datagate.check._spool import DEFAULT_BUDGET_BYTES
from datagate.check.duplicates import LOC_SHIFT, default_key
from datagate.check.interface import mark_incomplete, skipped
from datagate.check.label_columns import label_absence, merge_class_labels
from datagate.check.load import (
    DatasetLayout,
    Shard,
    ShardError,
    discover,
    iter_batches,
    resolve_label,
    split_schema,
)
from datagate.check.profile import (
    ColumnAccumulator,
    Profile,
    RowHashSet,
    SplitProfile,
    is_numeric,
    load_profile_file,
)
from datagate.errors import CheckError, UsageError
from datagate.models import CheckReport, CheckResult
from datagate.progress import NULL_PROGRESS, ProgressSink

__all__ = ["MAX_LABEL_CLASSES", "CheckOutcome", "profile_dataset", "run_checks"]

MAX_LABEL_CLASSES = 10_000
"""A label column with more distinct values than this is not treated as class labels: label
checks and conflicting labels are skipped with that reason (and the profile stays compact)."""


@dataclass(frozen=True)
class CheckOutcome:
    """What :func:`run_checks` returns: the report and the dataset's compact profile."""

    report: CheckReport
    """Every check's result."""
    profile: Profile
    """The profile to store for this version (pass it as ``baseline`` next time)."""


@dataclass
class _SplitState:
    name: str
    shards: list[Shard]
    schema: pa.Schema | None
    rows: int = 0
    columns: dict[str, ColumnAccumulator] = field(default_factory=dict)
    label_counts: Counter[str] = field(default_factory=Counter)


@dataclass
class _Pass:
    layout: DatasetLayout
    splits: list[_SplitState]
    columns: list[str]
    label: str | None
    label_source: str | None
    key: tuple[str, ...]
    problems: list[str]
    dups: duplicates.DuplicateAccumulator
    conflicts: conflicts.ConflictAccumulator | None = None
    near: near_duplicates.NearDuplicateAccumulator | None = None
    outliers: outliers.OutlierAccumulator | None = None
    text_columns: tuple[str, ...] = ()
    text_source: str = ""
    label_overflow: bool = False


def _label_key(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _prepare(
    path: Path, label: str | None, keys: Sequence[str], encoding: str = "utf-8"
) -> tuple[DatasetLayout, list[_SplitState], list[str], list[str]]:
    layout = discover(path, encoding=encoding)
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


def _stream(p: _Pass, progress: ProgressSink) -> None:
    for si, st in enumerate(p.splits):
        if st.schema is None:
            continue
        numeric = {c for c in st.schema.names if is_numeric(st.schema.field(c).type)}
        st.columns = {
            c: ColumnAccumulator(
                c,
                st.schema.field(c).type,
                numeric=c in numeric,
                sample=c != p.label and c.lower() not in duplicates.ID_COLUMN_NAMES,
            )
            for c in st.schema.names
        }
        task = progress.task(f"checking {st.name}")
        row = 0
        for shard in st.shards:
            try:
                for batch in iter_batches(shard, schema=st.schema):
                    n = batch.num_rows
                    if n == 0:
                        continue
                    for c, acc in st.columns.items():
                        acc.add(batch.column(batch.schema.get_field_index(c)), row, si)
                    if p.label is not None and not p.label_overflow and p.label in batch.schema.names:
                        vc = pc.value_counts(batch.column(batch.schema.get_field_index(p.label)))
                        for item in vc.to_pylist():
                            st.label_counts[_label_key(item["values"])] += int(item["counts"])
                        if len(st.label_counts) > MAX_LABEL_CLASSES:
                            # a continuous or free-text column, not class labels: stop counting
                            p.label_overflow = True
                            p.conflicts = None
                            for other in p.splits:
                                other.label_counts.clear()
                    p.dups.add(batch, si, row)
                    if p.conflicts is not None:
                        p.conflicts.add(batch, si, row)
                    if p.near is not None:
                        p.near.add(batch, si, row)
                    if p.outliers is not None:
                        p.outliers.add(batch, si, row)
                    row += n
                    task.advance(n)
            except ShardError as e:
                p.problems.append(str(e))
        task.close()
        st.rows = row
        if row == 0:
            p.problems.append(f"split {st.name!r} has no rows")


def _fetch_texts(p: _Pass, locs: npt.NDArray[np.uint64]) -> dict[int, str]:
    out: dict[int, str] = {}
    if len(locs) == 0:
        return out
    locs = np.sort(locs)
    split_of = (locs >> np.uint64(LOC_SHIFT)).astype(np.int64)
    for si in np.unique(split_of):
        st = p.splits[int(si)]
        want = (locs[split_of == si] & np.uint64((1 << LOC_SHIFT) - 1)).astype(np.int64)
        row = 0
        for shard in st.shards:
            try:
                for batch in iter_batches(shard, schema=st.schema, columns=list(p.text_columns)):
                    n = batch.num_rows
                    lo, hi = np.searchsorted(want, [row, row + n])
                    if hi > lo:
                        idx = want[lo:hi] - row
                        sub = batch.take(pa.Array.from_buffers(pa.int64(), len(idx), [None, pa.py_buffer(np.ascontiguousarray(idx, dtype=np.int64))]))
                        texts = text_for_shingles(sub, p.text_columns).to_pylist()
                        for r, t in zip(want[lo:hi].tolist(), texts, strict=True):
                            out[(int(si) << LOC_SHIFT) | r] = t or ""
                    row += n
            except ShardError:
                continue
    return out


def _profile(p: _Pass, train_hashes: RowHashSet | None) -> Profile:
    splits = {}
    for st in p.splits:
        if st.schema is None:
            continue  # nothing readable: reported as a problem, left out of the profile
        cols = {c: acc.stats() for c, acc in st.columns.items()}
        splits[st.name] = SplitProfile(st.rows, cols, dict(sorted(st.label_counts.items())))
    names = p.layout.class_names.get(p.label) if p.label is not None else None
    return Profile(splits, p.label, names, p.key, train_hashes)


def _load_baseline(baseline: Path | Profile | Mapping[str, Any] | None, label: str | None, keys: Sequence[str]) -> Profile | None:
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
        if isinstance(data, dict) and "splits" in data and "version" in data:
            return load_profile_file(path)
    return profile_dataset(path, label=label, keys=keys)


def profile_dataset(path: Path, *, label: str | None = None, keys: Sequence[str] = (), progress: ProgressSink = NULL_PROGRESS) -> Profile:
    """Return the profile of the dataset at ``path`` (one read pass, no checks).

    ``label`` is used when it is a column there (else the label is found as usual); ``keys`` must
    be columns there to give comparable row-key hashes (else the default key is used).
    Raises CheckError when nothing there can be read.
    """
    layout, states, columns, problems = _prepare(Path(path), None, ())
    lab, src = resolve_label(layout, columns, label if label in columns else None)
    key = tuple(keys) if keys and all(k in columns for k in keys) else default_key(columns)
    p = _Pass(layout, states, columns, lab, src, key, problems, duplicates.DuplicateAccumulator(key, budget=DEFAULT_BUDGET_BYTES))
    _stream(p, progress)
    found = p.dups.analyse(None)
    first = states[0].name if states else "train"
    return _profile(p, RowHashSet.from_sorted(first, key, found.first_split_hashes, found.first_split_distinct))


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
) -> CheckOutcome:
    """Run every check on the dataset at ``path`` and return the report and profile.

    ``baseline`` is another dataset folder or a stored :class:`Profile`; ``suites`` are GX 1.x
    suite JSON files; ``policy`` is a :class:`datagate.config.Policy` (or None for defaults);
    ``encoding`` is the text encoding of CSV/TSV/JSON files (bytes that do not decode are a
    read error naming the line and byte offset).

    Raises UsageError when ``label``, ``keys`` or ``text`` name a column the dataset lacks
    (naming it and the available ones), ConfigError for a bad check override in the policy, and
    CheckError when the path holds nothing readable. ``no_label`` (``--no-label``) says the
    dataset has no label column: the label checks are skipped instead of warning that none was
    found (a UsageError together with ``label``). A bad shard, an empty split or a bad suite
    is a check ``error`` result, not an exception.
    """
    path = Path(path)
    st_schema = schema.settings(policy)
    st_dist = labels.distribution_settings(policy)
    st_drift = labels.drift_settings(policy)
    st_within = duplicates.within_settings(policy)
    st_cross = duplicates.cross_settings(policy)
    st_near = near_duplicates.settings(policy)
    st_out = outliers.settings(policy)
    st_nulls = nulls.settings(policy)
    st_conf = conflicts.settings(policy)

    if no_label and label is not None:
        raise UsageError("--label and --no-label are alternatives; give one")
    layout, states, columns, problems = _prepare(path, label, keys, encoding)
    layout = replace(layout, class_names=merge_class_labels(layout.class_names, (s.schema for s in states)))
    lab, src = (None, None) if no_label else resolve_label(layout, columns, label)
    _check_columns("--key", keys, columns, path)
    _check_columns("--text", text, columns, path)
    key = tuple(keys) if keys else default_key(columns)
    base = _load_baseline(baseline if not isinstance(baseline, str) else Path(baseline), lab, keys)

    if text:
        text_cols, text_source = tuple(text), "--text"
    else:
        text_cols, text_source = _auto_text(states, columns, lab), "auto"
    numeric_cols = [
        c
        for c in columns
        if c != lab
        and c.lower() not in duplicates.ID_COLUMN_NAMES
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
    budget = DEFAULT_BUDGET_BYTES
    p = _Pass(
        layout,
        states,
        columns,
        lab,
        src,
        key_ok,
        problems,
        duplicates.DuplicateAccumulator(key_ok, budget=budget),
        text_columns=text_cols_ok,
        text_source=text_source,
    )
    features = tuple(c for c in key_ok if c != lab)
    if lab is not None and features and lab in common and st_conf.enabled:
        p.conflicts = conflicts.ConflictAccumulator(features, lab, budget=budget)
    if text_cols_ok and st_near.enabled and len(states) > 1:
        p.near = near_duplicates.NearDuplicateAccumulator(text_cols_ok, budget=budget)
    if st_out.enabled:
        p.outliers = outliers.OutlierAccumulator(numeric_cols, text_cols_ok, budget=budget)

    _stream(p, progress)
    names = [s.name for s in states]
    found = p.dups.analyse(base.train_hashes if base is not None and base.train_hashes is not None and base.train_hashes.key_columns == key_ok else None)
    train_hashes = RowHashSet.from_sorted(names[0], key_ok, found.first_split_hashes, found.first_split_distinct)
    prof = _profile(p, train_hashes)

    suite_cols, suite_errors = _suite_columns([Path(s) for s in suites]) if suites else ([], [])
    results: list[CheckResult] = []

    reason = ""

    def add(settings_enabled: bool, check_id: str, make: Any) -> None:
        if not settings_enabled:
            why = reason if p.label_overflow and check_id in ("label_distribution", "label_drift", "conflicting_labels") else "disabled by policy"
            results.append(skipped(check_id, why))
            return
        results.append(mark_incomplete(make(), p.problems))

    if p.label_overflow:
        reason = f"label column {lab!r} has more than {MAX_LABEL_CLASSES} distinct values: not class labels"
        prof = Profile(prof.splits, None, None, prof.key_columns, prof.train_hashes)
        st_dist = replace(st_dist, enabled=False)
        st_drift = replace(st_drift, enabled=False)
        st_conf = replace(st_conf, enabled=False)
    add(st_schema.enabled, "schema", lambda: schema.evaluate(st_schema, prof, base, suite_cols))
    add(st_dist.enabled, "label_distribution", lambda: labels.evaluate_distribution(st_dist, prof))
    add(st_drift.enabled, "label_drift", lambda: labels.evaluate_drift(st_drift, prof, base))
    add(st_within.enabled, "duplicates.within_split", lambda: duplicates.evaluate_within(st_within, found, names, key_ok))
    bh = base.train_hashes if base is not None and base.train_hashes is not None and base.train_hashes.key_columns == key_ok else None
    add(st_cross.enabled, "duplicates.cross_split", lambda: duplicates.evaluate_cross(st_cross, found, names, key_ok, bh))
    add(
        st_near.enabled,
        "near_duplicates.cross_split",
        lambda: near_duplicates.evaluate(st_near, p.near, names, lambda locs: _fetch_texts(p, locs), found.cross_locs, text_source),
    )
    add(st_out.enabled, "outliers", lambda: outliers.evaluate(st_out, p.outliers, names, outliers.baseline_ranges(base)) if p.outliers is not None else skipped("outliers", "disabled"))
    add(st_nulls.enabled, "nulls", lambda: nulls.evaluate(st_nulls, prof, base))
    add(st_conf.enabled, "conflicting_labels", lambda: conflicts.evaluate(st_conf, p.conflicts, names, lab))

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
            "columns": {f.name: str(f.type) for f in st.schema} if st.schema is not None else {},
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
    return CheckOutcome(report, prof)
