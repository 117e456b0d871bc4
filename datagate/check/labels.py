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

* a *skewed* class between splits (training/serving skew, as in TFDV): a class whose share in
  a later split differs from its share in the first split by more than ``skew_threshold``
  (default :data:`SKEW_THRESHOLD`, the L-infinity distance TFDV uses) while the chi-square test
  of homogeneity between the two splits has p below ``skew_alpha`` (default :data:`ALPHA`; 1
  compares shares only); the class is named with both shares, and each split's total variation
  distance and chi-square p-value are in ``observed.skew_tests``.

Labels ``null`` and, for ClassLabel columns, ``-1`` (the Hub's "no label") are unlabeled rows and
are reported, not counted as a class.

Label types (:func:`infer_label_type`): a label is a class label or a regression target, by
``--label-type``, else a ClassLabel feature (class), else its type (strings and booleans:
class; floats with non-integer values: regression), else its distinct values (integers with
more than :data:`MAX_CODE_CLASSES` distinct values that are not the class ids ``0..k-1`` or
``1..k``: regression). For a regression target the
class checks (imbalance, unseen and empty classes, conflicting labels) are skipped with that
reason; ``label_distribution`` carries a per-split distribution summary (quantiles) instead and
warns only when a later split's target distribution differs from the first split's (two-sample
KS distance above ``skew_threshold`` with p below ``skew_alpha``, on the percentiles), and
``label_drift`` compares each split with the baseline by a two-sample Kolmogorov-Smirnov test on
the stored percentiles (fires when D exceeds ``ks_threshold``, default :data:`KS_THRESHOLD`, and
p is below ``alpha``); its outliers are scored by ``outliers`` like any numeric column.

``label_drift`` (default fail) compares each split's label distribution with the same split of
the baseline: a chi-square test of homogeneity (p-value) and the Jensen-Shannon distance (base 2,
in [0, 1]); both are reported, and the check fires when the distance exceeds ``threshold``
(default :data:`JS_THRESHOLD`) and the p-value is below ``alpha`` (default :data:`ALPHA`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from datagate.check.interface import CheckSettings, fired, passed, settings_for, skipped
from datagate.check.profile import Profile
from datagate.models import CheckResult, Severity

__all__ = [
    "ALPHA",
    "KS_THRESHOLD",
    "LABEL_TYPES",
    "MAX_CODE_CLASSES",
    "SKEW_THRESHOLD",
    "LabelType",
    "infer_label_type",
    "ks_from_quantiles",
    "ks_pvalue",
    "quantiles",
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

SKEW_THRESHOLD = 0.1
"""A class whose share differs between the first and a later split by more than this is skewed."""
KS_THRESHOLD = 0.1
"""Kolmogorov-Smirnov distance above which a regression target drifted from the baseline."""
MAX_CODE_CLASSES = 20
"""Integer labels with more distinct values than this may be a regression target (see
:func:`infer_label_type`)."""
LABEL_TYPES = ("class", "regression")
"""The values of ``--label-type``."""
QUANTILES = 101
"""Percentiles of a regression target stored per split in the profile (0..100)."""

DISTRIBUTION_DEFAULTS: Mapping[str, Any] = {
    "threshold": MAX_IMBALANCE,
    "min_expected": MIN_EXPECTED,
    "skew_threshold": SKEW_THRESHOLD,
    "skew_alpha": ALPHA,
}
"""``threshold``: the imbalance ratio; ``min_expected``: see :data:`MIN_EXPECTED`;
``skew_threshold``: share difference of a class between splits; ``skew_alpha``: chi-square
significance the difference must also reach (1: shares only)."""
DRIFT_DEFAULTS: Mapping[str, Any] = {"threshold": JS_THRESHOLD, "alpha": ALPHA, "ks_threshold": KS_THRESHOLD}
"""``threshold``: Jensen-Shannon distance; ``alpha``: significance level (chi-square, and KS for
regression targets); ``ks_threshold``: KS distance for regression targets."""

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


@dataclass(frozen=True)
class LabelType:
    """Whether a label column is a class label or a regression target, and why."""

    kind: str
    """``class`` or ``regression``."""
    reason: str
    """What decided it (``--label-type``, ClassLabel, the type, the distinct values)."""

    @property
    def regression(self) -> bool:
        """Return True for a regression target."""
        return self.kind == "regression"


def infer_label_type(
    arrow_type: Any,
    counts: Mapping[str, int],
    *,
    class_names: Sequence[str] | None = None,
    forced: str | None = None,
    overflow: bool = False,
) -> LabelType:
    """Return the :class:`LabelType` of a label column (see the module docstring).

    ``arrow_type`` is its pyarrow type; ``counts`` its label counts over every split (as the
    profile keeps them: text keys, ``null`` for missing); ``overflow`` says there were too many
    distinct values to count. Raises ValueError when ``forced`` is not in :data:`LABEL_TYPES`.
    """
    import pyarrow as pa

    if forced is not None:
        if forced not in LABEL_TYPES:
            raise ValueError(f"label type must be one of {', '.join(LABEL_TYPES)}, not {forced!r}")
        return LabelType(forced, "--label-type")
    if class_names is not None:
        return LabelType("class", "ClassLabel feature")
    t = arrow_type.value_type if pa.types.is_dictionary(arrow_type) else arrow_type
    if not (pa.types.is_integer(t) or pa.types.is_floating(t)):
        return LabelType("class", f"{t} values")
    if overflow:
        return LabelType("regression", "too many distinct values for classes")
    values = {k: v for k, v in counts.items() if k not in _UNLABELED}
    keys = list(values)
    try:
        ints = [int(k) for k in keys]
    except ValueError:
        return LabelType("regression", "non-integer numeric values")
    n = sum(values.values())
    k = len(ints)
    if k > MAX_CODE_CLASSES and not (min(ints) in (0, 1) and max(ints) - min(ints) + 1 == k):
        # class ids are 0..k-1 (or 1..k); many other integers are a measurement or a count
        return LabelType("regression", f"{k} distinct integers in {n} rows, not the class ids 0..{k - 1}")
    return LabelType("class", f"{k} distinct integer values" if pa.types.is_integer(t) else f"{k} distinct whole numbers")


def quantiles(values: Any) -> tuple[float, ...] | None:
    """Return the :data:`QUANTILES` percentiles (0..100) of the finite ``values`` (None if none)."""
    import numpy as np

    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return None
    return tuple(float(x) for x in np.quantile(v, np.linspace(0.0, 1.0, QUANTILES)))


def ks_from_quantiles(a: Any, b: Any) -> float:
    """Return the Kolmogorov-Smirnov distance between two distributions given by equally spaced
    quantiles (resolution 1/len)."""
    import numpy as np

    qa, qb = np.sort(np.asarray(a, dtype=np.float64)), np.sort(np.asarray(b, dtype=np.float64))
    pts = np.union1d(qa, qb)
    fa = np.searchsorted(qa, pts, side="right") / len(qa)
    fb = np.searchsorted(qb, pts, side="right") / len(qb)
    return float(np.max(np.abs(fa - fb))) if len(pts) else 0.0


def ks_pvalue(d: float, n: int, m: int) -> float:
    """Return the asymptotic two-sample KS p-value of distance ``d`` between samples of ``n``
    and ``m`` values (Kolmogorov's series, Stephens' small-sample correction)."""
    if n <= 0 or m <= 0 or d <= 0:
        return 1.0
    ne = n * m / (n + m)
    lam = (math.sqrt(ne) + 0.12 + 0.11 / math.sqrt(ne)) * d
    total = 0.0
    for k in range(1, 101):
        term = 2 * (-1) ** (k - 1) * math.exp(-2 * k * k * lam * lam)
        total += term
        if abs(term) < 1e-12:
            break
    return min(1.0, max(0.0, total))


def _summary(q: Sequence[float], rows: int) -> dict[str, Any]:
    return {
        "rows": rows,
        "min": q[0],
        "p05": q[5],
        "p25": q[25],
        "median": q[50],
        "p75": q[75],
        "p95": q[95],
        "max": q[100],
    }


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


def _regression_rows(profile: Profile, split: str) -> int:
    sp = profile.splits[split]
    label = profile.label_column
    nulls = sp.columns[label].nulls if label is not None and label in sp.columns else 0
    return sp.rows - nulls


def _regression_skew(settings: CheckSettings, profile: Profile, observed: dict[str, Any]) -> dict[str, Any]:
    """Compare each later split's target distribution with the first split's (two-sample KS on
    the stored percentiles); fill ``observed["skew_tests"]``, return the skewed splits' tests."""
    items = [(n, sp.label_quantiles) for n, sp in profile.splits.items() if sp.label_quantiles is not None]
    tests: dict[str, Any] = {}
    skewed: dict[str, Any] = {}
    if len(items) < 2:
        return skewed
    first, fq = items[0]
    n_first = _regression_rows(profile, first)
    for split, q in items[1:]:
        assert fq is not None and q is not None
        d = ks_from_quantiles(fq, q)
        p = ks_pvalue(d, n_first, _regression_rows(profile, split))
        tests[split] = {"vs": first, "ks": round(d, 6), "p_value": p, "median_first": fq[50], "median": q[50]}
        if d > settings.num("skew_threshold") and (p < settings.num("skew_alpha") or settings.num("skew_alpha") >= 1):
            skewed[split] = tests[split]
    observed["skew_tests"] = tests
    return skewed


def evaluate_distribution(settings: CheckSettings, profile: Profile, kind: LabelType | None = None) -> CheckResult:
    """Return the ``label_distribution`` result from the profile's label counts.

    For a regression target (``kind``, else ``profile.label_type``) the class checks are skipped
    with the reason, and ``observed.summary`` holds each split's distribution.
    """
    label = profile.label_column
    if label is None:
        return skipped(settings.id, "no label column (use --label)")
    if (kind is not None and kind.regression) or (kind is None and profile.label_type == "regression"):
        why = kind.reason if kind is not None else "profile"
        summary = {
            n: _summary(sp.label_quantiles, _regression_rows(profile, n))
            for n, sp in profile.splits.items()
            if sp.label_quantiles is not None
        }
        reg: dict[str, Any] = {"label": label, "label_type": "regression", "label_type_reason": why, "summary": summary}
        reg_skew = _regression_skew(settings, profile, reg)
        if reg_skew:
            reg["count"] = len(reg_skew)
            detail = "; ".join(
                f"{s} (KS {t['ks']:.3f}, p={t['p_value']:.2g}; median {t['median_first']:g} in {t['vs']} vs {t['median']:g} in {s})"
                for s, t in reg_skew.items()
            )
            return fired(settings, f"regression target {label!r} skewed between splits: {detail}", reg)
        return skipped(
            settings.id,
            f"label {label!r} is a regression target ({why}): class balance, unseen and empty classes do not apply",
            reg,
        )
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
    skew_limit = settings.num("skew_threshold")
    skew_alpha = settings.num("skew_alpha")
    skewed: dict[str, list[dict[str, Any]]] = {}
    skew_tests: dict[str, Any] = {}
    first_name = splits[0][0] if splits else ""
    first_present = {k: v for k, v in first_counts.items() if v > 0}
    for split, counts, _unl in splits[1:]:
        later = {k: v for k, v in counts.items() if v > 0 and k in first_present}
        n_later = sum(later.values())
        if not first_total or not n_later:
            continue
        _stat, _df, p_value = chi_square(first_present, later)
        shares = {k: (first_present.get(k, 0) / first_total, later.get(k, 0) / n_later) for k in first_present}
        tv = 0.5 * sum(abs(a - b) for a, b in shares.values())
        skew_tests[split] = {"vs": first_name, "total_variation": round(tv, 6), "chi2_p_value": p_value}
        if p_value >= skew_alpha and skew_alpha < 1:
            continue
        flagged_elsewhere = set(empty.get(split, ()))
        for k, (a, b) in sorted(shares.items(), key=lambda kv: (-abs(kv[1][0] - kv[1][1]), kv[0])):
            if abs(a - b) > skew_limit and _name(k, names) not in flagged_elsewhere:
                skewed.setdefault(split, []).append({"class": _name(k, names), first_name: round(a, 4), split: round(b, 4)})
    count = (
        len(imbalanced)
        + sum(len(v) for v in unseen.values())
        + sum(len(v) for v in empty.values())
        + sum(len(v) for v in skewed.values())
    )
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
        "skew": skewed,
        "skew_tests": skew_tests,
    }
    if count == 0:
        return passed(settings.id, f"label {label!r}: classes balanced within {ratio_limit:g}x, none unseen, empty or skewed between splits", observed)
    parts = []
    if imbalanced:
        parts.append("imbalanced " + ", ".join(f"{s} ({r:g}x)" for s, r in imbalanced.items()))
    if unseen:
        parts.append("unseen " + "; ".join(f"{s}: {', '.join(v)}" for s, v in unseen.items()))
    if empty:
        parts.append("empty " + "; ".join(f"{s}: {', '.join(v)}" for s, v in empty.items()))
    if skewed:
        parts.append(
            "skewed between splits "
            + "; ".join(
                ", ".join(f"{e['class']} {e[first_name]:.1%} in {first_name} vs {e[s]:.1%} in {s}" for e in v) for s, v in skewed.items()
            )
        )
    return fired(settings, f"label {label!r}: " + "; ".join(parts), observed)


def _regression_drift(settings: CheckSettings, profile: Profile, baseline: Profile) -> CheckResult:
    label = profile.label_column
    per_split: dict[str, Any] = {}
    drifted = []
    alpha = settings.num("alpha")
    limit = settings.num("ks_threshold")
    for split, sp in profile.splits.items():
        base = baseline.splits.get(split)
        if base is None or sp.label_quantiles is None or base.label_quantiles is None:
            continue
        d = ks_from_quantiles(base.label_quantiles, sp.label_quantiles)
        n, m = _regression_rows(profile, split), _regression_rows(baseline, split)
        p = ks_pvalue(d, n, m)
        per_split[split] = {"ks": round(d, 6), "p_value": p, "rows": n, "baseline_rows": m, "median": sp.label_quantiles[50], "baseline_median": base.label_quantiles[50]}
        if d > limit and p < alpha:
            drifted.append(split)
    observed: dict[str, Any] = {"count": len(drifted), "label": label, "label_type": "regression", "test": "kolmogorov-smirnov", "splits": per_split, "drifted": drifted}
    if not per_split:
        return skipped(settings.id, f"regression target {label!r}: the baseline has no distribution of it for any split (an older profile, or a class label there)", observed)
    if not drifted:
        return passed(settings.id, f"regression target {label!r} within KS distance {limit:g} of the baseline", observed)
    detail = ", ".join(
        f"{s} (KS {per_split[s]['ks']:.3f}, p={per_split[s]['p_value']:.2g}; median {per_split[s]['baseline_median']:g} -> {per_split[s]['median']:g})" for s in drifted
    )
    return fired(settings, f"regression target {label!r} drifted from the baseline: {detail}", observed)


def evaluate_drift(settings: CheckSettings, profile: Profile, baseline: Profile | None) -> CheckResult:
    """Return the ``label_drift`` result against ``baseline`` (skipped without one)."""
    label = profile.label_column
    if label is None:
        return skipped(settings.id, "no label column (use --label)")
    if baseline is None:
        return skipped(settings.id, "no baseline to compare with (use --baseline)")
    if baseline.label_column != label:
        return skipped(settings.id, f"baseline's label column is {baseline.label_column!r}, not {label!r}")
    if profile.label_type == "regression":
        return _regression_drift(settings, profile, baseline)
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
