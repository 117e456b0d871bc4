"""A compact, JSON-serialisable profile of one dataset version, and its per-shard accumulator.

The lineage stage stores a :class:`Profile` per version (``to_dict()``) and passes the previous
version's back as ``baseline`` (``from_dict()``), so later versions are compared without reading
the old data: schema per split, row counts, label counts, null counts per column, numeric
columns' range and robust statistics, low-cardinality value sets, and a set of 64-bit row-key
hashes of the first split (train) for leakage of new rows against earlier training rows.

Row-key hashes: the sorted distinct hashes, base64 of little-endian uint64. Above
:data:`MAX_TRAIN_HASHES` only the smallest :data:`MAX_TRAIN_HASHES` hashes are kept (a bottom-k
sample by hash value, uniform over rows); ``cutoff`` is then the largest kept hash and a later
row can be checked exactly only when its hash is at or below ``cutoff`` (``coverage`` says which
fraction of hash space that is), so leakage against a large train split is estimated, never
silently claimed complete.

>>> p = Profile.from_dict(Profile(splits={}).to_dict())
>>> p.version
1
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from datagate.check._hashing import distinct, mix64, to_numpy
from datagate.check.load import type_family
from datagate.errors import CheckError

_NAN = float("nan")  # a Python float: a numpy scalar here makes pyarrow import pandas

__all__ = [
    "MAX_DISTINCT_VALUES",
    "MAX_TRAIN_HASHES",
    "SAMPLE_SIZE",
    "ColumnAccumulator",
    "ColumnStats",
    "Profile",
    "RowHashSet",
    "SplitProfile",
    "load_profile_file",
]

PROFILE_VERSION = 1
MAX_DISTINCT_VALUES = 50
"""A column's distinct values are kept (for value sets) while there are at most this many."""
MAX_VALUE_CHARS = 200
"""Distinct string values longer than this make a column count as free text (no value set)."""
SAMPLE_SIZE = 65_536
"""Numeric values kept per column (uniform bottom-k sample by row) for median and MAD."""
MAX_TRAIN_HASHES = 250_000
"""Row-key hashes of the train split kept in a profile (2 MB); see the module docstring."""


@dataclass(frozen=True)
class ColumnStats:
    """Statistics of one column of one split."""

    type: str
    """Arrow type name."""
    nulls: int
    """Number of null values."""
    min: float | None = None
    """Smallest value (numeric columns)."""
    max: float | None = None
    """Largest value (numeric columns)."""
    median: float | None = None
    """Median (numeric columns but id-like ones and the label; exact up to SAMPLE_SIZE rows, else
    from a uniform sample)."""
    mad: float | None = None
    """Median absolute deviation from the median (same sample)."""
    values: tuple[Any, ...] | None = None
    """Distinct non-null values, sorted, when there are at most MAX_DISTINCT_VALUES; else None."""

    @property
    def family(self) -> str:
        """Return the coarse type (int, float, string, ...) used to compare schemas."""
        return _family_of_name(self.type)


def _family_of_name(name: str) -> str:
    if name.startswith(("int", "uint")):
        return "int"
    if name in ("float", "double", "halffloat", "float16", "float32", "float64"):
        return "float"
    if name in ("string", "large_string", "string_view", "utf8", "large_utf8"):
        return "string"
    if name in ("binary", "large_binary", "binary_view"):
        return "binary"
    if name.startswith("dictionary<values="):
        return _family_of_name(name[len("dictionary<values=") :].split(",", 1)[0])
    return name


@dataclass(frozen=True)
class SplitProfile:
    """Profile of one split."""

    rows: int
    """Number of rows read."""
    columns: Mapping[str, ColumnStats]
    """Per column, in schema order."""
    label_counts: Mapping[str, int] = field(default_factory=dict)
    """Rows per label value (as text; ``null`` for missing labels)."""
    label_quantiles: tuple[float, ...] | None = None
    """For a regression target: its 0, 1, ..., 100th percentiles in this split (else None)."""

    def null_rate(self, column: str) -> float:
        """Return the fraction of null values of ``column`` (0 for an empty split)."""
        return self.columns[column].nulls / self.rows if self.rows else 0.0


@dataclass(frozen=True, eq=False)
class RowHashSet:
    """Sorted distinct 64-bit row-key hashes of one split (capped; see the module docstring)."""

    split: str
    """The split they come from (the first split, normally train)."""
    key_columns: tuple[str, ...]
    """The columns the row key was computed over."""
    hashes: npt.NDArray[np.uint64]
    """Sorted distinct hashes (all of them, or the smallest MAX_TRAIN_HASHES)."""
    total: int
    """Number of distinct hashes seen."""
    cutoff: int | None = None
    """When capped, the largest kept hash; a hash above it cannot be checked."""

    @property
    def coverage(self) -> float:
        """Return the fraction of hash space checked exactly (1.0 when not capped)."""
        return 1.0 if self.cutoff is None else (self.cutoff + 1) / 2.0**64

    def contains(self, hashes: npt.NDArray[np.uint64]) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
        """Return ``(found, checkable)`` masks for ``hashes``."""
        checkable = np.ones(len(hashes), dtype=bool) if self.cutoff is None else hashes <= np.uint64(self.cutoff)
        if len(self.hashes) == 0:
            return np.zeros(len(hashes), dtype=bool), checkable
        idx = np.searchsorted(self.hashes, hashes)
        idx[idx >= len(self.hashes)] = len(self.hashes) - 1
        return (self.hashes[idx] == hashes) & checkable, checkable

    @classmethod
    def build(cls, split: str, key_columns: tuple[str, ...], hashes: npt.NDArray[np.uint64], cap: int = MAX_TRAIN_HASHES) -> RowHashSet:
        """Return the set of ``hashes`` (any order, repeats allowed), capped at ``cap``."""
        uniq = distinct(hashes)
        if len(uniq) <= cap:
            return cls(split, key_columns, uniq, len(uniq))
        kept = uniq[:cap]
        return cls(split, key_columns, kept, len(uniq), int(kept[-1]))

    @classmethod
    def from_sorted(cls, split: str, key_columns: tuple[str, ...], smallest: npt.NDArray[np.uint64], total: int) -> RowHashSet:
        """Return the set from the sorted smallest distinct hashes and the distinct total."""
        if len(smallest) >= total:
            return cls(split, key_columns, smallest, total)
        return cls(split, key_columns, smallest, total, int(smallest[-1]) if len(smallest) else 0)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict."""
        return {
            "split": self.split,
            "key_columns": list(self.key_columns),
            "encoding": "base64-uint64-le-sorted",
            "count": int(len(self.hashes)),
            "total": self.total,
            "cutoff": None if self.cutoff is None else str(self.cutoff),
            "data": base64.b64encode(self.hashes.astype("<u8").tobytes()).decode("ascii"),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RowHashSet:
        """Return the set stored by :meth:`to_dict`; raises CheckError when malformed."""
        try:
            raw = base64.b64decode(str(data["data"]), validate=True)
            hashes = np.frombuffer(raw, dtype="<u8").astype(np.uint64)
            if len(hashes) != int(data["count"]):
                raise ValueError("count does not match data")
            cutoff = data.get("cutoff")
            return cls(
                str(data["split"]),
                tuple(str(c) for c in data["key_columns"]),
                np.sort(hashes),
                int(data["total"]),
                None if cutoff is None else int(cutoff),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise CheckError(f"baseline profile: malformed row hashes ({e})") from e


@dataclass(frozen=True)
class Profile:
    """A compact profile of a dataset version (see the module docstring)."""

    splits: Mapping[str, SplitProfile]
    """Per split, in canonical order."""
    label_column: str | None = None
    """The label column used, if any."""
    class_names: tuple[str, ...] | None = None
    """ClassLabel names of the label column, if declared."""
    key_columns: tuple[str, ...] = ()
    """Columns of the row key used for duplicates and leakage."""
    train_hashes: RowHashSet | None = None
    """Row-key hashes of the first split, for leakage of later rows against it."""
    label_type: str | None = None
    """``class`` or ``regression`` (see :func:`datagate.check.labels.infer_label_type`)."""
    version: int = PROFILE_VERSION
    """Profile format version."""

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict (stable key order)."""
        return {
            "version": self.version,
            "label_column": self.label_column,
            "class_names": list(self.class_names) if self.class_names is not None else None,
            "key_columns": list(self.key_columns),
            "splits": {
                name: {
                    "rows": sp.rows,
                    "columns": {
                        c: {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars_of(st).items()}
                        for c, st in sp.columns.items()
                    },
                    "label_counts": dict(sp.label_counts),
                    **({"label_quantiles": list(sp.label_quantiles)} if sp.label_quantiles is not None else {}),
                }
                for name, sp in self.splits.items()
            },
            "train_hashes": self.train_hashes.to_dict() if self.train_hashes is not None else None,
            **({"label_type": self.label_type} if self.label_type is not None else {}),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Profile:
        """Return the profile stored by :meth:`to_dict`.

        Raises CheckError when ``data`` is not a profile of a version this code reads.
        """
        try:
            raw_version = data.get("version")
            version = int(raw_version) if isinstance(raw_version, (int, str)) and str(raw_version).isdigit() else 0
            if version != PROFILE_VERSION:
                raise CheckError(
                    f"baseline profile: format version {raw_version if raw_version is not None else 'missing'}; "
                    f"this datagate reads version {PROFILE_VERSION}",
                    hint="re-create it from the baseline data: datagate check BASELINE_DATA --save-profile FILE "
                    "(or pass the baseline data folder itself as --baseline)",
                )
            splits = {}
            for name, sp in dict(data["splits"]).items():
                cols = {}
                for c, st in dict(sp["columns"]).items():
                    vals = st.get("values")
                    cols[str(c)] = ColumnStats(
                        type=str(st["type"]),
                        nulls=int(st["nulls"]),
                        min=st.get("min"),
                        max=st.get("max"),
                        median=st.get("median"),
                        mad=st.get("mad"),
                        values=tuple(vals) if vals is not None else None,
                    )
                lq = sp.get("label_quantiles")
                splits[str(name)] = SplitProfile(
                    int(sp["rows"]),
                    cols,
                    {str(k): int(v) for k, v in dict(sp.get("label_counts", {})).items()},
                    tuple(float(x) for x in lq) if lq is not None else None,
                )
            th = data.get("train_hashes")
            names = data.get("class_names")
            return cls(
                splits=splits,
                label_column=data.get("label_column"),
                class_names=tuple(str(x) for x in names) if names is not None else None,
                key_columns=tuple(str(c) for c in data.get("key_columns", [])),
                train_hashes=RowHashSet.from_dict(th) if th is not None else None,
                label_type=str(data["label_type"]) if data.get("label_type") is not None else None,
                version=version,
            )
        except CheckError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise CheckError(f"baseline profile: not a datagate profile ({e})") from e


def vars_of(st: ColumnStats) -> dict[str, Any]:
    """Return a ColumnStats as a plain dict."""
    return {
        "type": st.type,
        "nulls": st.nulls,
        "min": st.min,
        "max": st.max,
        "median": st.median,
        "mad": st.mad,
        "values": st.values,
    }


def _jsonable(v: Any) -> Any:
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        return v if np.isfinite(v) else str(v)
    return str(v)


def robust_center(values: npt.NDArray[np.float64]) -> tuple[float, float] | None:
    """Return (median, MAD) of the finite ``values``, or None when there are none."""
    v = values[np.isfinite(values)]
    if len(v) == 0:
        return None
    med = float(np.median(v))
    return med, float(np.median(np.abs(v - med)))


class ColumnAccumulator:
    """Per-column partial statistics of one split; :meth:`merge` combines shards."""

    def __init__(self, name: str, type_: pa.DataType, *, numeric: bool, sample: bool = True) -> None:
        self.name = name
        self.type = type_
        self.numeric = numeric
        self.sample = sample
        self.nulls = 0
        self.min: float | None = None
        self.max: float | None = None
        self.values: set[Any] | None = set()
        self.sample_prio = np.zeros(0, dtype=np.uint64)
        self.sample_vals = np.zeros(0, dtype=np.float64)

    def add(self, col: pa.Array, first_row: int, salt: int) -> None:
        """Add a batch's column whose first row has index ``first_row`` in the split."""
        self.nulls += col.null_count
        if self.values is not None and len(col) > col.null_count:
            try:
                uniq = pc.unique(col.drop_null() if hasattr(col, "drop_null") else col)
            except pa.ArrowException:
                self.values = None
                uniq = None
            if uniq is not None:
                if len(uniq) > MAX_DISTINCT_VALUES:
                    self.values = None
                else:
                    found: set[Any] = set(self.values or ())
                    free_text = False
                    for v in uniq.to_pylist():
                        if v is None:
                            continue
                        if isinstance(v, (bytes, dict, list)) or (isinstance(v, str) and len(v) > MAX_VALUE_CHARS):
                            free_text = True
                            break
                        found.add(_jsonable(v))
                    self.values = None if free_text or len(found) > MAX_DISTINCT_VALUES else found
        if self.numeric:
            vals = to_numpy(col.cast(pa.float64()), nulls=_NAN)
            finite = np.isfinite(vals)
            if finite.any():
                fv = vals[finite]
                lo, hi = float(fv.min()), float(fv.max())
                self.min = lo if self.min is None else min(self.min, lo)
                self.max = hi if self.max is None else max(self.max, hi)
                if self.sample:
                    rows = (np.flatnonzero(finite) + first_row).astype(np.uint64)
                    prio = mix64(rows ^ np.uint64(salt))
                    self._keep(prio, fv)

    def _keep(self, prio: npt.NDArray[np.uint64], vals: npt.NDArray[np.float64]) -> None:
        if len(self.sample_prio) >= SAMPLE_SIZE:
            # only values with a smaller priority than the current k-th can enter the sample
            keep = prio < self.sample_prio.max()
            prio, vals = prio[keep], vals[keep]
            if len(prio) == 0:
                return
        p = np.concatenate([self.sample_prio, prio])
        v = np.concatenate([self.sample_vals, vals])
        if len(p) > SAMPLE_SIZE:
            idx = np.argpartition(p, SAMPLE_SIZE - 1)[:SAMPLE_SIZE]
            p, v = p[idx], v[idx]
        self.sample_prio, self.sample_vals = p, v

    def merge(self, other: ColumnAccumulator) -> None:
        """Fold another shard's partial statistics of the same column into this one."""
        self.nulls += other.nulls
        for attr, fn in (("min", min), ("max", max)):
            a, b = getattr(self, attr), getattr(other, attr)
            setattr(self, attr, b if a is None else a if b is None else fn(a, b))
        if self.values is None or other.values is None:
            self.values = None
        else:
            self.values |= other.values
            if len(self.values) > MAX_DISTINCT_VALUES:
                self.values = None
        self._keep(other.sample_prio, other.sample_vals)

    def stats(self) -> ColumnStats:
        """Return the column's statistics."""
        med = mad = None
        if self.numeric and len(self.sample_vals):
            rc = robust_center(self.sample_vals)
            if rc is not None:
                med, mad = rc
        values = None
        if self.values is not None:
            values = tuple(sorted(self.values, key=lambda x: (str(type(x)), x)))
        return ColumnStats(str(self.type), self.nulls, self.min, self.max, med, mad, values)


def is_numeric(t: pa.DataType) -> bool:
    """Return True for integer and floating-point columns (not booleans)."""
    return type_family(t) in ("int", "float")


def load_profile_file(path: Path) -> Profile:
    """Return the profile saved as JSON at ``path`` (``datagate check --save-profile``).

    Raises CheckError naming the file when it cannot be read or is not a profile.
    """
    import json

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError) as e:
        raise CheckError(f"{path}: cannot read baseline profile ({e})") from e
    if not isinstance(data, dict):
        raise CheckError(f"{path}: not a datagate profile")
    try:
        return Profile.from_dict(data)
    except CheckError as e:
        raise CheckError(f"{path}: {e.message}", hint=e.hint) from e
