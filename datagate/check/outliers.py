"""``outliers``: per-column outliers on a scale that fits the column, with a reason per value.

Series checked: every integer or float column except id-like columns (and except the label,
unless it is a regression target), and the length (in characters, as ``log1p``) of every text
column (``len(<column>)``).

Each series keeps a mergeable summary while the data streams by: a bottom-k sample of
:data:`SAMPLE_SIZE` values whose priorities are a hash of (split, row), so the sample is the same
whatever the shard and batch cuts (exact up to that many rows); and the values themselves, spooled
per split segment in row order for the scoring pass. :meth:`OutlierAccumulator.merge` combines
partials. From the merged sample, per series (see :func:`fit`):

* **sentinel codes** (``-999``, ``9999``, ``-99999``...: ±9, ±99... repeated nines) that lie
  outside the range of the column's other values are impossible values: each fails;
* **negative values in a column that is otherwise never negative** (at most ``max_share`` of the
  values, or never in the baseline) fail;
* **values orders of magnitude off**: separated from the column's main cluster by a gap of at
  least ``orders`` decades (a grams/kilograms or cents/units slip) fail;
* the **tail** is scored on a scale chosen for the column: a column with few distinct values
  (``discrete_max``) is not tail-scored at all (its values are codes or counts); a zero-inflated
  column (a quarter or more zeros, or a median absolute deviation of 0) is scored on its non-zero
  part; a skewed positive column on a log scale (whichever of raw and log is less skewed by
  Kelly's quantile skewness). A value beyond ``threshold`` robust deviations (median/MAD) on that
  scale warns, beyond ``fail_mads`` fails; but when more than ``max_share`` of the column lies
  beyond ``threshold``, that is the column's natural shape (a heavy tail), not outliers, and the
  tail is left quiet (reported as ``heavy_tail``).

With a baseline, values inside the baseline's range for the column (its min..max, clipped to its
median +- ``threshold`` robust deviations so that the baseline's own outliers do not excuse new
ones: :func:`baseline_ranges`) are never tail outliers, and a column whose baseline minimum is
non-negative counts every negative value as impossible.

``observed.count`` counts outlying values (a row with two outlying columns counts twice);
``observed.rows`` lists the most severe ones with their ``reason``; ``observed.reasons`` counts
values per reason; ``observed.series`` has each series' method, centre, scale and count.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from datagate.check._hashing import mix64, to_numpy
from datagate.check._spool import SeqSpool
from datagate.check.interface import (
    MAX_EVIDENCE,
    CheckSettings,
    fired,
    passed,
    row_ref,
    settings_for,
    skipped,
)
from datagate.check.profile import SAMPLE_SIZE
from datagate.models import CheckResult, Severity

_NAN = float("nan")  # a Python float: a numpy scalar here makes pyarrow import pandas

__all__ = [
    "DEFAULTS",
    "FAIL_MADS",
    "REASONS",
    "WARN_MADS",
    "OutlierAccumulator",
    "baseline_ranges",
    "SeriesFit",
    "evaluate",
    "fit",
    "is_sentinel",
    "settings",
]

WARN_MADS = 6.0
"""Robust deviations (on the column's scale) beyond which a value is an outlier (warn)."""
FAIL_MADS = 30.0
"""Robust deviations beyond which an outlier fails."""
MAX_SHARE = 0.01
"""A larger share of values beyond ``threshold`` is a heavy tail, not outliers; also the largest
share of negative values a "never negative" column may have."""
ORDERS = 2.0
"""Decades (factor 10**ORDERS) between a value and the column's main cluster: units slip."""
DISCRETE_MAX = 20
"""Columns with at most this many distinct values (in the sample) are codes: no tail scoring."""
ZERO_SHARE = 0.25
"""From this share of zeros on, a column is zero-inflated: its non-zero part is scored."""
_MAD_TO_SD = 1.4826
_IQR_TO_SD = 1.0 / 1.349
_MEANAD_TO_SD = 1.2533

DEFAULTS: Mapping[str, Any] = {
    "threshold": WARN_MADS,
    "fail_mads": FAIL_MADS,
    "max_share": MAX_SHARE,
    "orders": ORDERS,
    "discrete_max": DISCRETE_MAX,
}
"""``threshold``: warn beyond this many robust deviations; ``fail_mads``: fail beyond this;
``max_share``: heavy-tail and never-negative share; ``orders``: decades of a units slip;
``discrete_max``: distinct values below which a column is not tail-scored."""

REASONS = {
    "sentinel": "a sentinel code outside the column's range",
    "negative": "negative in a column that is otherwise never negative",
    "orders": "orders of magnitude away from the rest of the column",
    "far": "far beyond the column's spread",
    "tail": "beyond the column's spread",
}
"""Why a value is an outlier, most severe first; all but ``tail`` fail."""
_FAILING = ("sentinel", "negative", "orders", "far")


def settings(policy: Any) -> CheckSettings:
    """Return the effective settings of ``outliers`` (default severity medium, high for the
    failing reasons)."""
    return settings_for(policy, "outliers", Severity.MEDIUM, DEFAULTS)


def is_sentinel(values: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    """Return which values are repeated-nines codes with at least two digits: ±99, ±999, ...
    (and -9)."""
    a = np.abs(values)
    with np.errstate(invalid="ignore", divide="ignore"):
        digits = np.log10(a + 1.0)
        nines = (a >= 99) & (a < 1e12) & (np.abs(digits - np.round(digits)) < 1e-9)
    out: npt.NDArray[np.bool_] = nines | (values == -9.0)
    return out


_EMPTY_U = np.zeros(0, np.uint64)
_EMPTY_F = np.zeros(0, np.float64)


class OutlierAccumulator:
    """Mergeable partial of the ``outliers`` check: a sample per series and spooled values.

    ``add`` may be called with the batches of any shards in any order; :meth:`merge` folds another
    partial (of other rows) in. The result does not depend on how the rows were cut.
    """

    def __init__(self, numeric: Sequence[str], text: Sequence[str], *, budget: int) -> None:
        self.numeric = tuple(numeric)
        self.text = tuple(text)
        self.budget = budget
        self.segments: dict[tuple[int, str, int], SeqSpool] = {}
        """(split index, series, first row) -> values of consecutive rows from that row on."""
        self._next: dict[tuple[int, str], tuple[int, int]] = {}
        self.samples: dict[str, tuple[npt.NDArray[np.uint64], npt.NDArray[np.float64]]] = {}

    @property
    def series(self) -> list[str]:
        """Return the names of the series scored."""
        return [*self.numeric, *(f"len({t})" for t in self.text)]

    def _spool_for(self, split_index: int, name: str, first_row: int, n: int) -> SeqSpool:
        head = self._next.get((split_index, name))
        if head is not None and head[1] == first_row:
            spool = self.segments[(split_index, name, head[0])]
            self._next[(split_index, name)] = (head[0], first_row + n)
            return spool
        spool = self.segments[(split_index, name, first_row)] = SeqSpool(np.float64, budget=self.budget)
        self._next[(split_index, name)] = (first_row, first_row + n)
        return spool

    def _keep(self, name: str, prio: npt.NDArray[np.uint64], vals: npt.NDArray[np.float64]) -> None:
        old_p, old_v = self.samples.get(name, (_EMPTY_U, _EMPTY_F))
        if len(old_p) >= SAMPLE_SIZE:
            # only values with a smaller priority than the current k-th can enter the sample
            keep = prio < old_p.max()
            prio, vals = prio[keep], vals[keep]
            if len(prio) == 0:
                return
        p = np.concatenate([old_p, prio])
        v = np.concatenate([old_v, vals])
        if len(p) > SAMPLE_SIZE:
            keep = np.argpartition(p, SAMPLE_SIZE - 1)[:SAMPLE_SIZE]
            p, v = p[keep], v[keep]
        self.samples[name] = (p, v)

    def _add(self, name: str, split_index: int, first_row: int, vals: npt.NDArray[np.float64]) -> None:
        self._spool_for(split_index, name, first_row, len(vals)).add(vals)
        finite = np.flatnonzero(np.isfinite(vals))
        if len(finite) == 0:
            return
        rows = (finite + first_row).astype(np.uint64) | (np.uint64(split_index) << np.uint64(40))
        self._keep(name, mix64(rows ^ np.uint64(0xA5A5A5A5)), vals[finite])

    def add(self, batch: pa.RecordBatch, split_index: int, first_row: int) -> None:
        """Record the batch's numeric values and text lengths (its first row is ``first_row``)."""
        for name in self.numeric:
            col = batch.column(batch.schema.get_field_index(name))
            vals = to_numpy(col.cast(pa.float64()), nulls=_NAN)
            self._add(name, split_index, first_row, np.asarray(vals, dtype=np.float64))
        for name in self.text:
            col = batch.column(batch.schema.get_field_index(name))
            if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
                col = col.cast(pa.large_string())
            lengths = to_numpy(pc.utf8_length(col).cast(pa.float64()), nulls=_NAN)
            self._add(f"len({name})", split_index, first_row, np.log1p(np.asarray(lengths, dtype=np.float64)))

    def merge(self, other: OutlierAccumulator) -> OutlierAccumulator:
        """Fold ``other`` (a partial over other rows, same series) into this one; return self."""
        for key, spool in other.segments.items():
            if key in self.segments:  # pragma: no cover - the same rows twice is a caller bug
                raise ValueError(f"outliers: rows {key} were added twice")
            self.segments[key] = spool
        other.segments = {}
        for name, (p, v) in other.samples.items():
            self._keep(name, p, v)
        return self

    def drop(self, name: str) -> None:
        """Stop scoring numeric series ``name`` (a label that turned out to be a class label)."""
        if name not in self.numeric:
            return
        self.numeric = tuple(n for n in self.numeric if n != name)
        self.samples.pop(name, None)
        for key in [k for k in self.segments if k[1] == name]:
            self.segments.pop(key).close()

    def close(self) -> None:
        """Delete the spools."""
        for spool in self.segments.values():
            spool.close()
        self.segments = {}


HISTOGRAM_BINS = 24
"""Bins of the per-series distribution reported in ``observed.series[...].histogram``."""


@dataclass(frozen=True)
class SeriesFit:
    """How one series is scored (from its merged sample); see the module docstring."""

    method: str
    """``raw``, ``log``, ``nonzero-raw``, ``nonzero-log``, ``discrete`` or ``constant``."""
    median: float = 0.0
    """Centre on the chosen scale."""
    scale: float = 0.0
    """Robust standard deviation on the chosen scale (0: no tail scoring)."""
    heavy_tail: bool = False
    """More than ``max_share`` of the sample lies beyond ``threshold``: tail left quiet."""
    nonneg: bool = False
    """The column is (otherwise) never negative."""
    base_nonneg: bool = False
    """The baseline's minimum is non-negative: every negative value is impossible."""
    raw_median: float = 0.0
    """Median of the main cluster in value units."""
    raw_scale: float = 0.0
    """Robust standard deviation of the main cluster in value units (for negative values: in a
    never-negative column without a baseline, one is impossible beyond ``threshold`` of these)."""
    main_lo: float = -math.inf
    """Smallest value of the main cluster (values far below it are orders off)."""
    main_hi: float = math.inf
    """Largest value of the main cluster."""
    sentinel_lo: float = -math.inf
    """Sentinel codes below this are outside the column's range."""
    sentinel_hi: float = math.inf
    """Sentinel codes above this are outside the column's range."""
    zero_share: float = 0.0
    """Share of zeros in the sample."""
    distinct: int = 0
    """Distinct values in the sample."""

    def transform(self, v: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Return ``v`` on the scoring scale (NaN where the scale does not apply)."""
        if self.method.endswith("log"):
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(v > 0, np.log(np.where(v > 0, v, 1.0)), np.nan)
        return v


def _kelly(v: npt.NDArray[np.float64]) -> float:
    q10, q50, q90 = np.quantile(v, [0.1, 0.5, 0.9])
    return float((q90 + q10 - 2 * q50) / (q90 - q10)) if q90 > q10 else 0.0


def _robust(v: npt.NDArray[np.float64]) -> tuple[float, float]:
    med = float(np.median(v))
    dev = np.abs(v - med)
    mad = float(np.median(dev)) * _MAD_TO_SD
    if mad > 0:
        return med, mad
    q25, q75 = np.quantile(v, [0.25, 0.75])
    iqr = float(q75 - q25) * _IQR_TO_SD
    if iqr > 0:
        return med, iqr
    return med, float(dev.mean()) * _MEANAD_TO_SD


def _main_cluster(v: npt.NDArray[np.float64], orders: float) -> tuple[float, float]:
    """Return (lo, hi) of the cluster around the median of the majority sign, where clusters
    are separated by gaps of ``orders`` decades in ``|v|``; (-inf, inf) when not applicable."""
    nz = v[v != 0]
    if len(nz) < 3:
        return -math.inf, math.inf
    sign = 1.0 if float(np.median(nz)) > 0 else -1.0
    side = np.sort(np.abs(nz[np.sign(nz) == sign]))
    logs = np.log10(side)
    gaps = np.flatnonzero(np.diff(logs) >= orders)
    mid = len(side) // 2
    lo_i = int(gaps[gaps < mid].max()) + 1 if np.any(gaps < mid) else 0
    hi_i = int(gaps[gaps >= mid].min()) if np.any(gaps >= mid) else len(side) - 1
    lo, hi = float(side[lo_i]), float(side[hi_i])
    if sign > 0:
        return (lo if lo_i > 0 else -math.inf), (hi if hi_i < len(side) - 1 else math.inf)
    return (-hi if hi_i < len(side) - 1 else -math.inf), (-lo if lo_i > 0 else math.inf)


def fit(settings: CheckSettings, sample: npt.NDArray[np.float64], *, text: bool = False, base_min: float | None = None) -> SeriesFit:
    """Return how a series with this (merged) ``sample`` is scored."""
    v = sample[np.isfinite(sample)]
    if len(v) == 0:
        return SeriesFit("constant")
    threshold, max_share, orders = settings.num("threshold"), settings.num("max_share"), settings.num("orders")
    distinct = len(np.unique(v))
    if text:
        med, scale = _robust(v)
        method = "raw" if scale > 0 else "constant"
        z = np.abs(v - med) / scale if scale > 0 else np.zeros(len(v))
        return SeriesFit(method, med, scale, bool(np.mean(z > threshold) > max_share), distinct=distinct)
    sent = is_sentinel(v)
    rest = v[~sent] if (~sent).any() else v
    lo_q, hi_q = (float(x) for x in np.quantile(rest, [0.005, 0.995]))
    spread = max(hi_q - lo_q, 1e-12)
    sentinel_lo, sentinel_hi = lo_q - spread, hi_q + spread
    neg_share = float(np.mean(rest < 0))
    base_nonneg = base_min is not None and base_min >= 0
    nonneg = base_nonneg or (neg_share <= max_share and float(np.quantile(rest, 0.75)) > 0)
    main_lo, main_hi = _main_cluster(rest, orders)
    zero_share = float(np.mean(rest == 0))
    common: dict[str, Any] = {
        "nonneg": nonneg,
        "base_nonneg": base_nonneg,
        "main_lo": main_lo,
        "main_hi": main_hi,
        "sentinel_lo": sentinel_lo,
        "sentinel_hi": sentinel_hi,
        "zero_share": round(zero_share, 4),
        "distinct": distinct,
    }
    in_main = (rest >= main_lo) & (rest <= main_hi)
    body = rest[in_main & (rest >= 0)] if nonneg else rest[in_main]
    if len(body) >= 1:
        common["raw_median"], common["raw_scale"] = _robust(body)
    if distinct <= settings.num("discrete_max") or len(body) < 3:
        return SeriesFit("discrete", **common)
    prefix = ""
    med0 = common["raw_median"]
    if zero_share >= ZERO_SHARE or (med0 == 0 and float(np.median(np.abs(body - med0))) == 0):
        body = body[body != 0]
        prefix = "nonzero-"
        if len(np.unique(body)) <= settings.num("discrete_max") or len(body) < 3:
            return SeriesFit("discrete", **common)
    method = prefix + "raw"
    positive = body[body > 0]
    if body.min() >= 0 and len(positive) >= 3:
        # a skewed non-negative column is scored on a log scale (its zeros are not scored)
        logs = np.log(positive)
        if abs(_kelly(logs)) < abs(_kelly(body)):
            body, method = logs, prefix + "log"
    med, scale = _robust(body)
    if scale <= 0:
        return SeriesFit("constant", **common)
    heavy = float(np.mean(np.abs(body - med) / scale > threshold)) > max_share
    return SeriesFit(method, med, scale, heavy, **common)


def _classify(
    f: SeriesFit,
    vals: npt.NDArray[np.float64],
    settings: CheckSettings,
    text: bool,
    base: tuple[float, float] | None,
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.float64]]:
    """Return per value its reason index (-1: none; else into REASONS order) and score."""
    reasons = np.full(len(vals), -1, dtype=np.int8)
    score = np.zeros(len(vals), dtype=np.float64)
    finite = np.isfinite(vals)
    order = list(REASONS)
    if f.scale > 0:
        t = f.transform(vals)
        with np.errstate(invalid="ignore"):
            z = np.abs(t - f.median) / f.scale
        z[~np.isfinite(z)] = 0.0
        if f.method.startswith("nonzero-"):
            z[vals == 0] = 0.0
        if f.method.endswith("log"):
            # on a log scale only the upper tail is scored: values near zero spread out there
            # naturally; a value far too small is caught as orders of magnitude off
            z[t < f.median] = 0.0
        score = z
        if not f.heavy_tail:
            tail = z > settings.num("threshold")
            if base is not None:
                tail &= (vals < base[0]) | (vals > base[1])
            reasons[tail] = order.index("tail")
            reasons[tail & (z > settings.num("fail_mads"))] = order.index("far")
    if text:
        return reasons, score
    off = finite & ((vals < f.main_lo) | (vals > f.main_hi)) & (vals != 0)
    if f.nonneg:
        off &= vals >= 0
    reasons[off] = order.index("orders")
    if f.nonneg:
        neg = finite & (vals < 0)
        if not f.base_nonneg and f.method != "discrete":
            # without a baseline a rare negative must also lie outside the column's spread
            neg &= (f.raw_median - vals) > settings.num("threshold") * f.raw_scale
        reasons[neg] = order.index("negative")
    sent = finite & is_sentinel(vals) & ((vals < f.sentinel_lo) | (vals > f.sentinel_hi))
    reasons[sent] = order.index("sentinel")
    return reasons, score


def baseline_ranges(profile: Any, threshold: float = WARN_MADS) -> dict[str, tuple[float, float]]:
    """Return ``{column: (lo, hi)}``: the range of values a baseline :class:`Profile` already had
    that were not themselves far out there (None: ``{}``).

    Per split, the baseline's [min, max] clipped to its median +- ``threshold`` robust deviations
    (1.4826 MAD; unclipped when the MAD is 0), so an outlier the baseline already carried does
    not hide the same outlier now; the splits' ranges are then joined.
    """
    out: dict[str, tuple[float, float]] = {}
    if profile is None:
        return out
    for sp in profile.splits.values():
        for name, st in sp.columns.items():
            if st.min is None or st.max is None:
                continue
            lo, hi = float(st.min), float(st.max)
            if st.median is not None and st.mad:
                reach = threshold * _MAD_TO_SD * float(st.mad)
                lo, hi = max(lo, float(st.median) - reach), min(hi, float(st.median) + reach)
            old = out.get(name, (lo, hi))
            out[name] = (min(old[0], lo), max(old[1], hi))
    return out


def evaluate(
    settings: CheckSettings,
    acc: OutlierAccumulator,
    names: Sequence[str],
    baseline: Mapping[str, tuple[float, float]] | None = None,
) -> CheckResult:
    """Score every spooled value and return the ``outliers`` result.

    ``baseline`` maps a column to its (min, max) in the baseline version, when there is one.
    """
    if not acc.series:
        acc.close()
        return skipped(settings.id, "no numeric or text column to score")
    baseline = baseline or {}
    order = list(REASONS)
    per_series: dict[str, Any] = {}
    constant: list[str] = []
    reason_counts: dict[str, int] = {}
    # evidence: (severity rank, -score, split, row, series, value, reason)
    evidence: list[tuple[int, float, int, int, str, float, str]] = []
    total = 0
    worst = 0.0
    failing = False
    for series in acc.series:
        is_len = series.startswith("len(")
        p_v = acc.samples.get(series)
        base = baseline.get(series)
        f = fit(settings, p_v[1] if p_v is not None else _EMPTY_F, text=is_len, base_min=base[0] if base else None)
        if f.method == "constant":
            constant.append(series)
        n_out = 0
        # the distribution for reports: HISTOGRAM_BINS bins over the merged sample's range, every
        # spooled value counted (values beyond the range land in the end bins)
        sample = p_v[1] if p_v is not None else _EMPTY_F
        sample = sample[np.isfinite(sample)]
        edges = (
            np.linspace(float(sample.min()), float(sample.max()), HISTOGRAM_BINS + 1)
            if len(sample) and float(sample.max()) > float(sample.min())
            else None
        )
        hist_counts = np.zeros(HISTOGRAM_BINS, dtype=np.int64)
        for (split_index, name, first), spool in sorted(acc.segments.items()):
            if name != series:
                continue
            for start, chunk in spool.chunks():
                vals = np.asarray(chunk, dtype=np.float64)
                if edges is not None:
                    finite = vals[np.isfinite(vals)]
                    hist_counts += np.histogram(np.clip(finite, edges[0], edges[-1]), bins=edges)[0]
                reasons, score = _classify(f, vals, settings, is_len, base)
                hit = np.flatnonzero(reasons >= 0)
                if len(hit) == 0:
                    continue
                n_out += len(hit)
                worst = max(worst, float(score[hit].max()))
                for r in np.unique(reasons[hit]):
                    key = order[int(r)]
                    reason_counts[key] = reason_counts.get(key, 0) + int(np.sum(reasons[hit] == r))
                    failing = failing or key in _FAILING
                rank = reasons[hit].astype(np.float64) * 1e6 - np.minimum(score[hit], 1e5)
                top = hit[np.argsort(rank, kind="stable")[:MAX_EVIDENCE]]
                for i in top:
                    v = float(vals[i])
                    evidence.append(
                        (int(reasons[i]), -float(score[i]), split_index, first + start + int(i), series, float(np.expm1(v)) if is_len else v, order[int(reasons[i])])
                    )
        total += n_out
        entry: dict[str, Any] = {
            "count": n_out,
            "method": "log1p(characters)" if is_len and f.method == "raw" else f.method,
            "median": float(np.expm1(f.median)) if is_len else (float(np.exp(f.median)) if f.method.endswith("log") else f.median),
            "scale": f.scale,
            "scale_note": "log1p(characters)" if is_len else ("natural log" if f.method.endswith("log") else "value units"),
        }
        if edges is not None:
            unit = np.expm1 if is_len else (lambda x: x)
            entry["histogram"] = {"edges": [round(float(unit(e)), 6) for e in edges], "counts": [int(c) for c in hist_counts]}
            if f.scale > 0 and f.method in ("raw", "log", "nonzero-raw", "nonzero-log"):
                # the warn fences on the series' own scale, in value units
                t = settings.num("threshold")
                lo, hi = f.median - t * f.scale, f.median + t * f.scale
                back = np.expm1 if is_len else (np.exp if f.method.endswith("log") else (lambda x: x))
                entry["low"], entry["high"] = round(float(back(lo)), 6), round(float(back(hi)), 6)
                entry["threshold"] = t
        if f.heavy_tail:
            entry["heavy_tail"] = True
        if f.zero_share:
            entry["zero_share"] = f.zero_share
        per_series[series] = entry
    acc.close()
    evidence.sort()
    rows = [
        {**row_ref(names[s], r), "column": col, "value": val, "score": round(-negz, 2), "reason": why}
        for _rank, negz, s, r, col, val, why in evidence[:MAX_EVIDENCE]
    ]
    observed: dict[str, Any] = {
        "count": total,
        "reasons": reason_counts,
        "series": per_series,
        "constant": constant,
        "rows": rows,
        "max_score": round(worst, 2),
    }
    if baseline:
        observed["baseline_ranges"] = sorted(baseline)
    warn = settings.num("threshold")
    if total == 0:
        return passed(settings.id, f"no outlying value in {len(per_series)} series (tails scored beyond {warn:g} robust deviations on each column's scale)", observed)
    detail = ", ".join(f"{s}: {v['count']}" for s, v in per_series.items() if v["count"])
    why = ", ".join(f"{n} {REASONS[k]}" for k, n in sorted(reason_counts.items(), key=lambda kv: order.index(kv[0])))
    msg = f"{total} outlying values ({detail}): {why}"
    if failing:
        return fired(settings, msg, observed, severity=max(settings.severity, Severity.HIGH))
    return fired(settings, msg, observed)
