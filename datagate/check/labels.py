"""``label_distribution`` (imbalance, unseen and empty classes) and ``label_drift`` (vs baseline).

Both read the per-split label counts of the profile (mergeable counters, one pass).

``label_distribution`` (default warn) counts problems, each once:

* a split whose largest class has more than ``max_imbalance`` (default :data:`MAX_IMBALANCE`)
  times the rows of its smallest non-empty class;
* an *unseen* class: a label in a later split that the first split (train) never has, or a value
  outside the declared ClassLabel ids;
* an *empty* class: a declared ClassLabel class no split has, or a class with no row in a split
  where at least ``min_expected`` (default :data:`MIN_EXPECTED`) rows were expected from the
  first split's class shares (so small test sets missing a rare class are not flagged).

Labels ``null`` and, for ClassLabel columns, ``-1`` (the Hub's "no label") are unlabeled rows and
are reported, not counted as a class.

``label_drift`` (default fail) compares each split's label distribution with the same split of
the baseline: a chi-square test of homogeneity (p-value) and the Jensen-Shannon distance (base 2,
in [0, 1]); both are reported, and the check fires when the distance exceeds ``threshold``
(default :data:`JS_THRESHOLD`) and the p-value is below ``alpha`` (default :data:`ALPHA`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from datagate.check.interface import CheckSettings, fired, passed, settings_for, skipped
from datagate.check.profile import Profile
from datagate.models import CheckResult, Severity

__all__ = [
    "ALPHA",
    "DISTRIBUTION_DEFAULTS",
    "DRIFT_DEFAULTS",
    "JS_THRESHOLD",
    "MAX_IMBALANCE",
    "MIN_EXPECTED",
    "chi2_sf",
    "chi_square",
    "distribution_settings",
    "drift_settings",
    "evaluate_distribution",
    "evaluate_drift",
    "js_distance",
]

MAX_IMBALANCE = 10.0
"""Largest-to-smallest class ratio above which a split is imbalanced."""
MIN_EXPECTED = 5.0
"""A class missing from a split is empty only when at least this many rows were expected."""
JS_THRESHOLD = 0.1
"""Jensen-Shannon distance (base 2) above which label drift fires."""
ALPHA = 0.01
"""Significance level of the chi-square test for label drift."""

DISTRIBUTION_DEFAULTS: Mapping[str, Any] = {"threshold": MAX_IMBALANCE, "min_expected": MIN_EXPECTED}
"""``threshold``: the imbalance ratio; ``min_expected``: see :data:`MIN_EXPECTED`."""
DRIFT_DEFAULTS: Mapping[str, Any] = {"threshold": JS_THRESHOLD, "alpha": ALPHA}
"""``threshold``: Jensen-Shannon distance; ``alpha``: chi-square significance level."""

_UNLABELED = ("null",)


def distribution_settings(policy: Any) -> CheckSettings:
    """Return the effective settings of ``label_distribution`` (default severity medium)."""
    return settings_for(policy, "label_distribution", Severity.MEDIUM, DISTRIBUTION_DEFAULTS)


def drift_settings(policy: Any) -> CheckSettings:
    """Return the effective settings of ``label_drift`` (default severity high)."""
    return settings_for(policy, "label_drift", Severity.HIGH, DRIFT_DEFAULTS)


def _gammaincc(a: float, x: float) -> float:
    """Regularised upper incomplete gamma Q(a, x) (Numerical Recipes 6.2)."""
    if x <= 0:
        return 1.0
    gln = math.lgamma(a)
    if x < a + 1:
        ap, total, delta = a, 1.0 / a, 1.0 / a
        for _ in range(10_000):
            ap += 1
            delta *= x / ap
            total += delta
            if abs(delta) < abs(total) * 1e-15:
                break
        return max(0.0, 1.0 - total * math.exp(-x + a * math.log(x) - gln))
    b = x + 1 - a
    c = 1e300
    d = 1 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = 1e-300 if abs(d) < 1e-300 else d
        c = b + an / c
        c = 1e-300 if abs(c) < 1e-300 else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-15:
            break
    return min(1.0, math.exp(-x + a * math.log(x) - gln) * h)


def chi2_sf(stat: float, df: int) -> float:
    """Return P(X >= stat) for a chi-square variable with ``df`` degrees of freedom."""
    if df <= 0:
        return 1.0
    return _gammaincc(df / 2.0, stat / 2.0)


def chi_square(a: Mapping[str, int], b: Mapping[str, int]) -> tuple[float, int, float]:
    """Return (statistic, degrees of freedom, p-value) of the 2 x k homogeneity test."""
    classes = sorted(set(a) | set(b))
    na, nb = sum(a.values()), sum(b.values())
    n = na + nb
    if na == 0 or nb == 0 or len(classes) < 2:
        return 0.0, 0, 1.0
    stat = 0.0
    used = 0
    for c in classes:
        col = a.get(c, 0) + b.get(c, 0)
        if col == 0:
            continue
        used += 1
        for obs, tot in ((a.get(c, 0), na), (b.get(c, 0), nb)):
            exp = tot * col / n
            stat += (obs - exp) ** 2 / exp
    df = used - 1
    return stat, df, chi2_sf(stat, df)


def js_distance(a: Mapping[str, int], b: Mapping[str, int]) -> float:
    """Return the Jensen-Shannon distance (base 2, 0..1) between two count distributions."""
    na, nb = sum(a.values()), sum(b.values())
    if na == 0 or nb == 0:
        return 0.0
    div = 0.0
    for c in set(a) | set(b):
        p, q = a.get(c, 0) / na, b.get(c, 0) / nb
        m = (p + q) / 2
        if p > 0:
            div += 0.5 * p * math.log2(p / m)
        if q > 0:
            div += 0.5 * q * math.log2(q / m)
    return math.sqrt(max(div, 0.0))


def _labeled(counts: Mapping[str, int], class_names: Sequence[str] | None) -> tuple[dict[str, int], int]:
    out: dict[str, int] = {}
    unlabeled = 0
    for k, v in counts.items():
        if k in _UNLABELED or (class_names is not None and k == "-1"):
            unlabeled += v
        else:
            out[k] = v
    return out, unlabeled


def _name(k: str, class_names: Sequence[str] | None) -> str:
    if class_names is not None and k.lstrip("-").isdigit() and 0 <= int(k) < len(class_names):
        return class_names[int(k)]
    return k


def evaluate_distribution(settings: CheckSettings, profile: Profile) -> CheckResult:
    """Return the ``label_distribution`` result from the profile's label counts."""
    label = profile.label_column
    if label is None:
        return skipped(settings.id, "no label column (use --label)")
    names = profile.class_names
    splits = [(n, *_labeled(sp.label_counts, names)) for n, sp in profile.splits.items()]
    ratio_limit = settings.num("threshold")
    min_expected = settings.num("min_expected")
    imbalanced: dict[str, float] = {}
    unseen: dict[str, list[str]] = {}
    empty: dict[str, list[str]] = {}
    declared = [str(i) for i in range(len(names))] if names is not None else None
    first_counts = splits[0][1] if splits else {}
    first_total = sum(first_counts.values())
    for i, (split, counts, _unl) in enumerate(splits):
        present = {k: v for k, v in counts.items() if v > 0}
        if len(present) >= 2:
            ratio = max(present.values()) / min(present.values())
            if ratio > ratio_limit:
                imbalanced[split] = round(ratio, 3)
        bad = []
        if declared is not None:
            bad = [k for k in present if k not in declared]
        if i > 0:
            bad += [k for k in present if k not in first_counts and k not in bad]
        if bad:
            unseen[split] = sorted(_name(k, names) for k in bad)
        total = sum(present.values())
        missing = []
        universe = declared if declared is not None else list(first_counts)
        for k in universe:
            if present.get(k, 0) > 0:
                continue
            never = all(c.get(k, 0) == 0 for _, c, _ in splits)
            share = first_counts.get(k, 0) / first_total if first_total else 0.0
            if (declared is not None and never) or share * total >= min_expected:
                missing.append(_name(k, names))
        if missing:
            empty[split] = sorted(missing)
    count = len(imbalanced) + sum(len(v) for v in unseen.values()) + sum(len(v) for v in empty.values())
    observed: dict[str, Any] = {
        "count": count,
        "label": label,
        "counts": {
            n: {_name(k, names): v for k, v in sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))} for n, c, _ in splits
        },
        "unlabeled": {n: u for n, _, u in splits if u},
        "imbalance": imbalanced,
        "unseen": unseen,
        "empty": empty,
    }
    if count == 0:
        return passed(settings.id, f"label {label!r}: classes balanced within {ratio_limit:g}x, none unseen or empty", observed)
    parts = []
    if imbalanced:
        parts.append("imbalanced " + ", ".join(f"{s} ({r:g}x)" for s, r in imbalanced.items()))
    if unseen:
        parts.append("unseen " + "; ".join(f"{s}: {', '.join(v)}" for s, v in unseen.items()))
    if empty:
        parts.append("empty " + "; ".join(f"{s}: {', '.join(v)}" for s, v in empty.items()))
    return fired(settings, f"label {label!r}: " + "; ".join(parts), observed)


def evaluate_drift(settings: CheckSettings, profile: Profile, baseline: Profile | None) -> CheckResult:
    """Return the ``label_drift`` result against ``baseline`` (skipped without one)."""
    label = profile.label_column
    if label is None:
        return skipped(settings.id, "no label column (use --label)")
    if baseline is None:
        return skipped(settings.id, "no baseline to compare with (use --baseline)")
    if baseline.label_column != label:
        return skipped(settings.id, f"baseline's label column is {baseline.label_column!r}, not {label!r}")
    per_split: dict[str, Any] = {}
    drifted = []
    alpha = settings.num("alpha")
    limit = settings.num("threshold")
    for split, sp in profile.splits.items():
        base = baseline.splits.get(split)
        if base is None:
            continue
        cur, _ = _labeled(sp.label_counts, profile.class_names)
        old, _ = _labeled(base.label_counts, baseline.class_names)
        if not cur or not old:
            continue
        stat, df, p = chi_square(old, cur)
        jsd = js_distance(old, cur)
        per_split[split] = {"chi2": round(stat, 6), "df": df, "p_value": p, "js_distance": round(jsd, 6)}
        if jsd > limit and p < alpha:
            drifted.append(split)
    observed: dict[str, Any] = {"count": len(drifted), "label": label, "splits": per_split, "drifted": drifted}
    if not per_split:
        return skipped(settings.id, "no split with labels in both this dataset and the baseline", observed)
    if not drifted:
        return passed(settings.id, f"label {label!r} distribution within JS distance {limit:g} of the baseline", observed)
    detail = ", ".join(
        f"{s} (JS {per_split[s]['js_distance']:.3f}, chi2 p={per_split[s]['p_value']:.2g})" for s in drifted
    )
    return fired(settings, f"label {label!r} drifted from the baseline: {detail}", observed)
