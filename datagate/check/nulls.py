"""``nulls``: null rate per column and split, and spikes (default warn).

A (split, column) is flagged when

* its null rate is at least ``spike_delta`` (default :data:`SPIKE_DELTA`) above, and at least
  ``spike_ratio`` (default :data:`SPIKE_RATIO`) times, the rate of the same column in the
  baseline's same split (or the baseline's first split) - a spike against the baseline;
* without a baseline, the same against the lowest rate of that column in the other splits - a
  spike between splits;
* or the column is entirely null in a split with rows (``threshold``, the absolute rate that is
  always flagged, default 1.0);
* without a baseline, also when its null rate is high in absolute terms (``high_rate``, default
  :data:`HIGH_RATE`) or far above the other columns' of the split (at least ``column_delta``,
  default :data:`COLUMN_DELTA`, above their median) - a single split with 35% of one column null
  warns, naming the column and the fraction.

``observed.rates`` has every rate; ``observed.count`` the number of flagged (split, column).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from datagate.check.interface import CheckSettings, fired, passed, settings_for
from datagate.check.profile import Profile
from datagate.models import CheckResult, Severity

__all__ = ["COLUMN_DELTA", "DEFAULTS", "HIGH_RATE", "SPIKE_DELTA", "SPIKE_RATIO", "evaluate", "settings"]

SPIKE_DELTA = 0.05
"""Absolute rise of the null rate that counts as a spike (with SPIKE_RATIO)."""
SPIKE_RATIO = 2.0
"""Relative rise of the null rate that counts as a spike (with SPIKE_DELTA)."""

HIGH_RATE = 0.2
"""Without a baseline, a null rate from which a column is flagged on its own."""
COLUMN_DELTA = 0.1
"""Without a baseline, how far above the median rate of the split's other columns is flagged."""

DEFAULTS: Mapping[str, Any] = {
    "threshold": 1.0,
    "spike_delta": SPIKE_DELTA,
    "spike_ratio": SPIKE_RATIO,
    "high_rate": HIGH_RATE,
    "column_delta": COLUMN_DELTA,
}
"""``threshold``: null rate always flagged; ``spike_delta``/``spike_ratio``: spikes;
``high_rate``/``column_delta``: rates flagged without a baseline (see above)."""


def settings(policy: Any) -> CheckSettings:
    """Return the effective settings of ``nulls`` (default severity medium)."""
    return settings_for(policy, "nulls", Severity.MEDIUM, DEFAULTS)


def evaluate(settings: CheckSettings, profile: Profile, baseline: Profile | None) -> CheckResult:
    """Return the ``nulls`` result."""
    delta = settings.num("spike_delta")
    ratio = settings.num("spike_ratio")
    absolute = settings.num("threshold")
    high = settings.num("high_rate")
    col_delta = settings.num("column_delta")
    rates = {
        s: {c: round(sp.null_rate(c), 6) for c in sp.columns} for s, sp in profile.splits.items() if sp.rows
    }
    flagged: list[dict[str, Any]] = []

    def spike(rate: float, ref: float) -> bool:
        return rate - ref >= delta and rate >= ratio * ref

    first_base = next(iter(baseline.splits.values())) if baseline is not None and baseline.splits else None
    for split, cols in rates.items():
        for col, rate in cols.items():
            reason = None
            ref_rate: float | None = None
            if rate >= absolute and rate > 0:
                reason = "null in every row" if rate >= 1.0 else f"null rate {rate:.1%}"
            elif baseline is not None and first_base is not None:
                base = baseline.splits.get(split, first_base)
                if col in base.columns and base.rows:
                    ref_rate = base.null_rate(col)
                    if spike(rate, ref_rate):
                        reason = f"null rate {rate:.1%} vs {ref_rate:.1%} in the baseline"
            else:
                others = [r[col] for s, r in rates.items() if s != split and col in r]
                if others:
                    ref_rate = min(others)
                    if spike(rate, ref_rate):
                        reason = f"null rate {rate:.1%} vs {ref_rate:.1%} in another split"
                if reason is None and rate > 0:
                    peers = sorted(r for c, r in cols.items() if c != col)
                    median = peers[len(peers) // 2] if peers else 0.0
                    if rate >= high:
                        ref_rate = None
                        reason = f"null rate {rate:.1%} (at or above {high:.0%})"
                    elif peers and rate - median >= col_delta:
                        ref_rate = median
                        reason = f"null rate {rate:.1%} vs {median:.1%} for the split's other columns"
            if reason is not None:
                flagged.append({"split": split, "column": col, "rate": rate, "reference": ref_rate, "reason": reason})
    observed: dict[str, Any] = {"count": len(flagged), "flagged": flagged, "rates": rates}
    if not flagged:
        return passed(settings.id, "no null spikes" + (" against the baseline" if baseline is not None else " between splits"), observed)
    return fired(settings, "null spikes: " + "; ".join(f"{f['split']}.{f['column']}: {f['reason']}" for f in flagged), observed)
