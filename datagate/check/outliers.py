"""``outliers``: robust per-column outliers (median/MAD) and text-length outliers.

Series checked: every integer or float column except the label and id-like columns, and the
length (in characters, as ``log1p``) of every text column (``len(<column>)``). Centre and scale
come from all splits together: the median and the MAD (x 1.4826, so it estimates the standard
deviation of normal data) over a uniform bottom-k sample of :data:`SAMPLE_SIZE` values (exact up to
that many rows); when the MAD is 0 the mean absolute deviation (x 1.2533) is used, and a series
with no spread at all is reported as constant and not scored.

A value is an outlier when ``|x - median| / scale`` exceeds ``threshold`` (default
:data:`WARN_MADS`): the check warns; when any value exceeds ``fail_mads`` (default
:data:`FAIL_MADS`) it fails (severity high). ``observed.count`` counts outlying values (a row
with two outlying columns counts twice); ``observed.rows`` lists the most extreme ones.

Values are spooled per split and column in row order (to disk past a budget) during the single
read pass; scoring them is a second pass over the spools, not over the data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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

__all__ = ["DEFAULTS", "FAIL_MADS", "WARN_MADS", "OutlierAccumulator", "evaluate", "settings"]

WARN_MADS = 6.0
"""Robust deviations beyond which a value is an outlier (warn)."""
FAIL_MADS = 30.0
"""Robust deviations beyond which the check fails."""
_MAD_TO_SD = 1.4826
_MEANAD_TO_SD = 1.2533

DEFAULTS: Mapping[str, Any] = {"threshold": WARN_MADS, "fail_mads": FAIL_MADS}
"""``threshold``: warn beyond this many robust deviations; ``fail_mads``: fail beyond this."""


def settings(policy: Any) -> CheckSettings:
    """Return the effective settings of ``outliers`` (default severity medium, high past fail_mads)."""
    return settings_for(policy, "outliers", Severity.MEDIUM, DEFAULTS)


class OutlierAccumulator:
    """Spools numeric values and text lengths per split; keeps a mergeable sample per series."""

    def __init__(self, numeric: Sequence[str], text: Sequence[str], *, budget: int) -> None:
        self.numeric = tuple(numeric)
        self.text = tuple(text)
        self.budget = budget
        self.spools: dict[tuple[int, str], SeqSpool] = {}
        self.samples: dict[str, tuple[npt.NDArray[np.uint64], npt.NDArray[np.float64]]] = {}

    @property
    def series(self) -> list[str]:
        """Return the names of the series scored."""
        return [*self.numeric, *(f"len({t})" for t in self.text)]

    def _add(self, name: str, split_index: int, first_row: int, vals: npt.NDArray[np.float64]) -> None:
        key = (split_index, name)
        spool = self.spools.get(key)
        if spool is None:
            spool = self.spools[key] = SeqSpool(np.float64, budget=self.budget)
        spool.add(vals)
        finite = np.flatnonzero(np.isfinite(vals))
        if len(finite) == 0:
            return
        rows = (finite + first_row).astype(np.uint64) | (np.uint64(split_index) << np.uint64(40))
        prio = mix64(rows ^ np.uint64(0xA5A5A5A5))
        old_p, old_v = self.samples.get(name, (np.zeros(0, np.uint64), np.zeros(0, np.float64)))
        new_v = vals[finite]
        if len(old_p) >= SAMPLE_SIZE:
            # only values with a smaller priority than the current k-th can enter the sample
            keep = prio < old_p.max()
            prio, new_v = prio[keep], new_v[keep]
            if len(prio) == 0:
                return
        p = np.concatenate([old_p, prio])
        v = np.concatenate([old_v, new_v])
        if len(p) > SAMPLE_SIZE:
            keep = np.argpartition(p, SAMPLE_SIZE - 1)[:SAMPLE_SIZE]
            p, v = p[keep], v[keep]
        self.samples[name] = (p, v)

    def add(self, batch: pa.RecordBatch, split_index: int, first_row: int) -> None:
        """Record the batch's numeric values and text lengths."""
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

    def close(self) -> None:
        """Delete the spools."""
        for spool in self.spools.values():
            spool.close()
        self.spools = {}


def _scale(sample: npt.NDArray[np.float64]) -> tuple[float, float] | None:
    if len(sample) == 0:
        return None
    med = float(np.median(sample))
    dev = np.abs(sample - med)
    mad = float(np.median(dev)) * _MAD_TO_SD
    if mad > 0:
        return med, mad
    mean_ad = float(dev.mean()) * _MEANAD_TO_SD
    return (med, mean_ad) if mean_ad > 0 else None


def evaluate(settings: CheckSettings, acc: OutlierAccumulator, names: Sequence[str]) -> CheckResult:
    """Score every spooled value and return the ``outliers`` result."""
    if not acc.series:
        acc.close()
        return skipped(settings.id, "no numeric or text column to score")
    warn = settings.num("threshold")
    fail = settings.num("fail_mads")
    per_series: dict[str, Any] = {}
    constant: list[str] = []
    evidence: list[tuple[float, int, int, str, float]] = []
    total = 0
    worst = 0.0
    for series in acc.series:
        p_v = acc.samples.get(series)
        sc = _scale(p_v[1]) if p_v is not None else None
        if sc is None:
            constant.append(series)
            continue
        med, scale = sc
        is_len = series.startswith("len(")
        n_out = 0
        for (split_index, name), spool in sorted(acc.spools.items()):
            if name != series:
                continue
            for start, vals in spool.chunks():
                z = np.abs(np.asarray(vals, dtype=np.float64) - med) / scale
                z[~np.isfinite(z)] = 0.0
                hit = np.flatnonzero(z > warn)
                if len(hit) == 0:
                    continue
                n_out += len(hit)
                worst = max(worst, float(z[hit].max()))
                top = hit[np.argsort(-z[hit], kind="stable")[:MAX_EVIDENCE]]
                for i in top:
                    v = float(vals[i])
                    shown = float(np.expm1(v)) if is_len else v
                    evidence.append((-float(z[i]), split_index, start + int(i), series, shown))
        total += n_out
        per_series[series] = {
            "count": n_out,
            "median": float(np.expm1(med)) if is_len else med,
            "scale": scale,
            "scale_note": "log1p(characters)" if is_len else "value units",
        }
    acc.close()
    evidence.sort()
    rows = [
        {**row_ref(names[s], r), "column": col, "value": val, "score": round(-negz, 2)}
        for negz, s, r, col, val in evidence[:MAX_EVIDENCE]
    ]
    observed: dict[str, Any] = {
        "count": total,
        "series": per_series,
        "constant": constant,
        "rows": rows,
        "max_score": round(worst, 2),
    }
    if total == 0:
        return passed(settings.id, f"no value beyond {warn:g} robust deviations in {len(per_series)} series", observed)
    detail = ", ".join(f"{s}: {v['count']}" for s, v in per_series.items() if v["count"])
    msg = f"{total} values beyond {warn:g} robust deviations ({detail}; worst {worst:.1f})"
    if worst > fail:
        return fired(settings, msg, observed, severity=max(settings.severity, Severity.HIGH))
    return fired(settings, msg, observed)
