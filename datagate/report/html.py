"""One self-contained HTML page per result: verdict, identity, charts, findings and checks.

The page needs no network to view: CSS is inline, charts are inline SVG drawn here in Python,
and a Content-Security-Policy forbids every external fetch and every script. Charts:

* findings by severity, by hazard family and by rule (scan);
* label distribution per split (``label_distribution``: ``observed.counts[split][label]``);
* label drift against the baseline: baseline vs current proportions when ``label_drift`` carries
  both distributions, else the Jensen-Shannon distance per split (``observed.splits``) with the
  chi-square statistics beneath;
* null rate per column and split (``nulls``: ``observed.rates[split][column]``);
* poisoning (issue 17): the top ``backdoor_triggers`` candidates with their label share and the
  label's share elsewhere (flagged ones in red), and the ``label_errors`` rate per class;
* outliers: a histogram per column (``observed.series[col].histogram`` with ``edges``/``counts``
  when the check bins the whole column, else the values of the flagged rows in
  ``observed.rows`` with the column's median marked) and the outlier count per column.

Each chart is a ``<figure class="chart" data-chart="NAME">`` holding an ``<svg>`` whose bars are
``<rect class="bar">`` with explicit sizes, so they render without any script. A chart whose
data is absent is replaced by a one-line note saying why, never silently dropped. Every string
from the dataset is HTML-escaped.

>>> from datagate.models import GateDecision, ScanReport, Severity
>>> page = render_html_scan(ScanReport("data/", "sha256:" + "0" * 64, (), (), 1, 9), GateDecision(True, Severity.HIGH))
>>> page.startswith("<!DOCTYPE html>") and "PASS" in page
True
"""

from __future__ import annotations

import dataclasses
import html
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard

from datagate.models import (
    CheckReport,
    CheckResult,
    CheckStatus,
    Finding,
    GateDecision,
    ScanReport,
    Severity,
)
from datagate.report.text import (
    clean,
    evidence_summary,
    finding_key,
    human_bytes,
    ingest_identity,
    ingest_scan,
    ingest_target,
    plural,
    split_findings,
)

__all__ = [
    "Histogram",
    "bar_chart",
    "histogram_chart",
    "render_html_check",
    "render_html_ingest",
    "render_html_scan",
]

_SEVERITIES_DESC = tuple(sorted(Severity, key=lambda s: s.rank, reverse=True))
_PALETTE = ("#3b6ea8", "#e08a2c", "#4f9a6a", "#b8475a", "#7d5ba6", "#8a7a4a", "#3f9aa8", "#a85d3b")
_SEV_COLOUR = {
    Severity.CRITICAL: "#8e1b2c",
    Severity.HIGH: "#c9412f",
    Severity.MEDIUM: "#d99a1e",
    Severity.LOW: "#3b6ea8",
    Severity.INFO: "#7a8591",
}
MAX_CATEGORIES = 40
"""Most categories (labels, columns) drawn in one chart; the rest are counted under it."""
MAX_TABLE_ROWS = 2000
"""Most rows in one findings table; the rest are counted (JSON has them all)."""


def _e(text: object, limit: int = 400) -> str:
    return html.escape(clean(text, limit=limit), quote=True)


def _num(value: float) -> str:
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    if abs(value) < 0.001:
        return f"{value:.2g}"
    if abs(value) < 1:
        return f"{value:.3f}"
    return f"{value:,.2f}"


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


# --------------------------------------------------------------------------- charts


def bar_chart(
    name: str,
    title: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    fmt: Callable[[float], str] = _num,
    vmax: float | None = None,
    colours: Sequence[str] | None = None,
    category_colours: Sequence[str] | None = None,
    note: str = "",
) -> str:
    """Return a ``<figure class="chart">`` with a horizontal grouped bar chart as inline SVG.

    ``series`` is ``(legend name, one value per category)``; values must be finite and >= 0
    (others are drawn as 0). ``vmax`` fixes the scale (e.g. 1.0 for rates). Never raises.
    """
    cats = list(categories)[:MAX_CATEGORIES]
    hidden = max(0, len(categories) - len(cats))
    clean_series = [
        (
            label,
            [
                v if isinstance(v, (int, float)) and math.isfinite(v) and v > 0 else 0.0
                for v in vals
            ][: len(cats)],
        )
        for label, vals in series
    ]
    top = max((max(vals, default=0.0) for _, vals in clean_series), default=0.0)
    scale_max = vmax if vmax is not None and vmax > 0 else (top or 1.0)
    label_w = min(220, max((len(clean(c, limit=30)) for c in cats), default=4) * 7 + 14)
    width = 680
    value_w = 70
    area = width - label_w - value_w
    bar_h = 16 if len(clean_series) == 1 else 12
    gap = 8
    legend_h = 22 if len(clean_series) > 1 else 0
    group_h = bar_h * len(clean_series) + gap
    height = legend_h + group_h * len(cats) + 10
    colours = colours or _PALETTE
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-label="{_e(title)}">'
    ]
    if legend_h:
        x = label_w
        for i, (label, _) in enumerate(clean_series):
            colour = colours[i % len(colours)]
            parts.append(
                f'<rect class="legend" x="{x}" y="5" width="12" height="12" fill="{colour}"/>'
            )
            parts.append(f'<text x="{x + 16}" y="15" class="lg">{_e(label, 40)}</text>')
            x += 30 + 7 * len(clean(label, limit=40))
    for i, cat in enumerate(cats):
        y0 = legend_h + i * group_h
        mid = y0 + (bar_h * len(clean_series)) / 2 + 4
        parts.append(
            f'<text x="{label_w - 6}" y="{mid:.1f}" class="cat" text-anchor="end">{_e(cat, 30)}</text>'
        )
        for j, (label, vals) in enumerate(clean_series):
            v = vals[i] if i < len(vals) else 0.0
            w = 0.0 if v <= 0 else max(1.5, min(area, area * v / scale_max))
            y = y0 + j * bar_h
            colour = colours[j % len(colours)]
            if (
                category_colours is not None
                and len(clean_series) == 1
                and i < len(category_colours)
            ):
                colour = category_colours[i]
            tip = f"{clean(cat, limit=60)} · {clean(label, limit=40)}: {fmt(v)}"
            parts.append(
                f'<rect class="bar" x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h - 2}" '
                f'fill="{colour}"><title>{html.escape(tip)}</title></rect>'
            )
            parts.append(
                f'<text x="{label_w + w + 4:.1f}" y="{y + bar_h - 4}" class="val">{_e(fmt(v))}</text>'
            )
    parts.append(
        f'<line x1="{label_w}" y1="{legend_h}" x2="{label_w}" y2="{height - 6}" class="axis"/>'
    )
    parts.append("</svg>")
    extra = f"<p class='note'>… and {hidden} more not drawn</p>" if hidden else ""
    caption = f"<figcaption>{_e(title)}</figcaption>"
    note_html = f"<p class='note'>{_e(note, 600)}</p>" if note else ""
    return f'<figure class="chart" data-chart="{_e(name)}">{caption}{"".join(parts)}{extra}{note_html}</figure>'


@dataclass(frozen=True)
class Histogram:
    """Binned values of one column: ``len(edges) == len(counts) + 1``."""

    column: str
    """The column (and split) the values come from."""
    edges: tuple[float, ...]
    """Bin edges, ascending."""
    counts: tuple[int, ...]
    """Rows per bin."""
    outliers: int | None = None
    """Rows flagged as outliers, when known."""
    low: float | None = None
    """Lower fence: values below are outliers, when known."""
    high: float | None = None
    """Upper fence: values above are outliers, when known."""
    marker: float | None = None
    """A reference value drawn as a vertical line (the column's median), when known."""
    flagged_only: bool = False
    """True when the bins count only the rows flagged as outliers (not the whole column)."""
    flagged: tuple[float, ...] = ()
    """Values of the flagged rows listed in the evidence, drawn as ticks under the axis."""
    threshold: float | None = None
    """The check's threshold (robust deviations) the fences ``low``/``high`` stand for."""


def histogram_chart(name: str, hist: Histogram) -> str:
    """Return a ``<figure class="chart">`` with a vertical-bar histogram as inline SVG.

    Bins outside the fences (when known) are drawn in the alarm colour. Never raises.
    """
    width, height, pad_l, pad_b, pad_t = 320, 170, 42, 26, 8
    counts = list(hist.counts)
    edges = list(hist.edges)
    n = len(counts)
    top = max(counts, default=0) or 1
    area_w, area_h = width - pad_l - 8, height - pad_b - pad_t
    bw = area_w / max(n, 1)
    log = top > 50 * max(1, sorted(counts)[len(counts) // 2] if counts else 1)

    def h_of(c: int) -> float:
        if c <= 0:
            return 0.0
        if log:
            return max(1.5, area_h * math.log10(c + 1) / math.log10(top + 1))
        return max(1.5, area_h * c / top)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-label="histogram of {_e(hist.column)}">'
    ]
    for i, c in enumerate(counts):
        lo, hi = (edges[i], edges[i + 1]) if i + 1 < len(edges) else (float(i), float(i + 1))
        outside = (
            hist.flagged_only
            or (hist.low is not None and hi <= hist.low)
            or (hist.high is not None and lo >= hist.high)
        )
        colour = "#c9412f" if outside else "#3b6ea8"
        h = h_of(c)
        x = pad_l + i * bw
        y = pad_t + area_h - h
        tip = f"[{_num(lo)}, {_num(hi)}): {c:,} rows"
        parts.append(
            f'<rect class="bar" x="{x + 0.5:.1f}" y="{y:.1f}" width="{max(bw - 1, 1):.1f}" height="{h:.1f}" '
            f'fill="{colour}"><title>{html.escape(tip)}</title></rect>'
        )
    base = pad_t + area_h
    parts.append(f'<line x1="{pad_l}" y1="{base}" x2="{width - 8}" y2="{base}" class="axis"/>')
    def x_of(v: float) -> float:
        # bins are drawn equally wide: place v inside its bin (edges need not be evenly spaced)
        if v <= edges[0]:
            return float(pad_l)
        if v >= edges[-1]:
            return float(pad_l + area_w)
        for i in range(len(edges) - 1):
            if edges[i] <= v <= edges[i + 1]:
                frac = (v - edges[i]) / (edges[i + 1] - edges[i]) if edges[i + 1] > edges[i] else 0.0
                return pad_l + bw * (i + frac)
        return float(pad_l)

    if len(edges) >= 2 and edges[-1] > edges[0]:
        for which, fence in (("lower threshold", hist.low), ("upper threshold", hist.high)):
            if fence is None or not edges[0] <= fence <= edges[-1]:
                continue
            fx = x_of(fence)
            parts.append(
                f'<line class="fence" x1="{fx:.1f}" y1="{pad_t}" x2="{fx:.1f}" y2="{base}" stroke="#c9412f" '
                f'stroke-dasharray="5,3"><title>{html.escape(which)} {html.escape(_num(fence))}</title></line>'
            )
        for v in hist.flagged[:200]:
            tx = x_of(v)
            parts.append(
                f'<path class="flagged" d="M{tx:.1f},{base + 1} l-3,6 h6 z" fill="#c9412f">'
                f"<title>flagged value {html.escape(_num(v))}</title></path>"
            )
    if hist.marker is not None and len(edges) >= 2 and edges[-1] > edges[0]:
        mx = x_of(hist.marker)
        parts.append(
            f'<line class="marker" x1="{mx:.1f}" y1="{pad_t}" x2="{mx:.1f}" y2="{base}" stroke="#1d2430" '
            f'stroke-dasharray="3,3"><title>median {html.escape(_num(hist.marker))}</title></line>'
        )
        parts.append(f'<text x="{mx + 3:.1f}" y="{pad_t + 10}" class="val">median</text>')
    if edges:
        parts.append(f'<text x="{pad_l}" y="{base + 16}" class="val">{_e(_num(edges[0]))}</text>')
        parts.append(
            f'<text x="{width - 8}" y="{base + 16}" class="val" text-anchor="end">{_e(_num(edges[-1]))}</text>'
        )
    parts.append(
        f'<text x="{pad_l - 4}" y="{pad_t + 10}" class="val" text-anchor="end">{top:,}</text>'
    )
    if log:
        parts.append(
            f'<text x="{pad_l - 4}" y="{pad_t + 22}" class="val" text-anchor="end">log</text>'
        )
    parts.append("</svg>")
    sub = f" · {plural(hist.outliers, 'outlier')}" if hist.outliers is not None else ""
    if not hist.flagged_only and (hist.low is not None or hist.high is not None):
        fences = " / ".join(_num(v) for v in (hist.low, hist.high) if v is not None)
        rule = f"{_num(hist.threshold)} robust deviations: " if hist.threshold is not None else ""
        sub += f" · threshold {rule}{fences} (dashed) · flagged values ▲"
    if hist.flagged_only:
        listed = sum(hist.counts)
        shown = (
            f"{listed:,} listed " if hist.outliers is not None and listed < hist.outliers else ""
        )
        sub += f" (values of the {shown}flagged rows)"
    return (
        f'<figure class="chart hist" data-chart="{_e(name)}"><figcaption>{_e(hist.column)}{_e(sub)}'
        f"</figcaption>{''.join(parts)}</figure>"
    )


# --------------------------------------------------------------------------- data extraction


def _is_num(v: object) -> TypeGuard[int | float]:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _number_map(obj: object) -> dict[str, float] | None:
    """Return ``obj`` as {name: number} when it is a non-empty mapping of names to numbers."""
    if isinstance(obj, Mapping) and obj and all(_is_num(v) for v in obj.values()):
        return {str(k): float(v) for k, v in obj.items()}
    return None


def _nested_number_map(
    obj: object, inner: Sequence[str] = ()
) -> dict[str, dict[str, float]] | None:
    """Return ``obj`` as {outer: {name: number}}; inner mappings may hide under ``inner`` keys."""
    if not isinstance(obj, Mapping) or not obj:
        return None
    out: dict[str, dict[str, float]] = {}
    for key, value in obj.items():
        m = _number_map(value)
        if m is None and isinstance(value, Mapping):
            for k in inner:
                m = _number_map(value.get(k))
                if m is not None:
                    break
        if m is None:
            return None
        out[str(key)] = m
    return out


def _checks_by_id(report: CheckReport) -> dict[str, CheckResult]:
    return {c.id: c for c in report.checks}


_COUNT_KEYS = ("counts", "label_counts", "labels", "distribution", "classes")


def label_counts_per_split(report: CheckReport) -> dict[str, dict[str, float]]:
    """Return {split: {label: rows}} from the ``label_distribution`` check or the split facts.

    Empty when neither carries counts.
    """
    check = _checks_by_id(report).get("label_distribution")
    obs: Mapping[str, Any] = check.observed if check is not None else {}
    for key in ("per_split", "splits", "split_counts", *_COUNT_KEYS):
        found = _nested_number_map(obs.get(key), _COUNT_KEYS)
        if found:
            return found
    for key in _COUNT_KEYS:
        flat = _number_map(obs.get(key))
        if flat:
            return {"all": flat}
    from_splits: dict[str, dict[str, float]] = {}
    for split, info in report.splits.items():
        if isinstance(info, Mapping):
            for key in _COUNT_KEYS:
                m = _number_map(info.get(key))
                if m:
                    from_splits[str(split)] = m
                    break
    return from_splits


def label_drift(
    report: CheckReport,
) -> tuple[dict[str, float], dict[str, float], dict[str, float]] | None:
    """Return (baseline proportions, current proportions, statistics) from ``label_drift``.

    None when the check did not run or carries no distributions.
    """
    check = _checks_by_id(report).get("label_drift")
    if check is None:
        return None
    obs = check.observed
    pairs = (
        ("baseline", "current"),
        ("baseline_counts", "current_counts"),
        ("baseline", "observed"),
        ("expected", "observed"),
        ("reference", "current"),
        ("baseline_distribution", "current_distribution"),
    )
    for b_key, c_key in pairs:
        base = _number_map(obs.get(b_key))
        cur = _number_map(obs.get(c_key))
        if base is None and isinstance(obs.get(b_key), Mapping):
            base = _first_number_map(obs[b_key])
        if cur is None and isinstance(obs.get(c_key), Mapping):
            cur = _first_number_map(obs[c_key])
        if base and cur:
            stats = {k: float(v) for k, v in obs.items() if _is_num(v) and k != "count"}
            return _normalise(base), _normalise(cur), stats
    nested = _nested_number_map(obs.get("baseline_counts") or obs.get("baseline"), _COUNT_KEYS)
    if nested:
        current = label_counts_per_split(report)
        base_all: dict[str, float] = {}
        cur_all: dict[str, float] = {}
        for split, counts in nested.items():
            for lab, n in counts.items():
                base_all[lab] = base_all.get(lab, 0.0) + n
            for lab, n in current.get(split, {}).items():
                cur_all[lab] = cur_all.get(lab, 0.0) + n
        if base_all and cur_all:
            return _normalise(base_all), _normalise(cur_all), {}
    return None


def drift_statistics(report: CheckReport) -> dict[str, dict[str, float]]:
    """Return {split: {statistic: value}} from ``label_drift`` (``observed.splits``).

    Empty when the check did not run or reports no per-split statistics.
    """
    check = _checks_by_id(report).get("label_drift")
    if check is None:
        return {}
    splits = check.observed.get("splits")
    if not isinstance(splits, Mapping):
        return {}
    out: dict[str, dict[str, float]] = {}
    for split, stats in splits.items():
        if isinstance(stats, Mapping):
            nums = {str(k): float(v) for k, v in stats.items() if _is_num(v)}
            if nums:
                out[str(split)] = nums
    return out


def _first_number_map(obj: Mapping[str, Any]) -> dict[str, float] | None:
    for key in _COUNT_KEYS:
        m = _number_map(obj.get(key))
        if m:
            return m
    return None


def _normalise(counts: Mapping[str, float]) -> dict[str, float]:
    total = sum(v for v in counts.values() if v > 0)
    if total <= 0:
        return dict(counts)
    if 0.99 <= total <= 1.01:
        return dict(counts)
    return {k: v / total for k, v in counts.items()}


def null_rates(report: CheckReport) -> dict[str, dict[str, float]]:
    """Return {series: {column: null rate}} from the ``nulls`` check (series: split or baseline).

    Empty when the check did not run or carries no rates.
    """
    check = _checks_by_id(report).get("nulls")
    if check is None:
        return {}
    obs = check.observed
    inner = ("rates", "null_rates", "rate", "columns")
    for key in ("rates", "null_rates", "per_column", "columns"):
        value = obs.get(key)
        flat = _number_map(value)
        if flat:
            out = {"current": flat}
            base = _number_map(obs.get("baseline_rates")) or _number_map(obs.get("baseline"))
            if base:
                out["baseline"] = base
            return out
        if isinstance(value, Mapping):
            # {column: {"rate": x, ...}}
            rates = {
                str(col): float(info["rate"])
                for col, info in value.items()
                if isinstance(info, Mapping) and _is_num(info.get("rate"))
            }
            if rates:
                return {"current": rates}
            nested = _nested_number_map(value, inner)
            if nested:
                return nested
    for key in ("per_split", "splits"):
        nested = _nested_number_map(obs.get(key), inner)
        if nested:
            return nested
    return {}


def outlier_data(report: CheckReport) -> tuple[list[Histogram], dict[str, float]]:
    """Return (histograms, outlier count per column) from the ``outliers`` check.

    Histograms come from ``observed.columns[col].histogram`` (``edges``/``counts``) or
    ``observed.histograms[col]``; counts from per-column ``count``. Both empty when absent.
    """
    check = _checks_by_id(report).get("outliers")
    if check is None:
        return [], {}
    obs = check.observed
    hists: list[Histogram] = []
    counts: dict[str, float] = {}
    columns = obs.get("columns") or obs.get("per_column") or obs.get("series")
    flagged: dict[str, list[float]] = {}
    rows = obs.get("rows")
    if isinstance(rows, Sequence) and not isinstance(rows, (str, bytes)):
        for row in rows:
            if (
                isinstance(row, Mapping)
                and _is_num(row.get("value"))
                and isinstance(row.get("column"), str)
            ):
                flagged.setdefault(row["column"], []).append(float(row["value"]))
    if isinstance(columns, Mapping):
        for col, info in columns.items():
            if _is_num(info):
                counts[str(col)] = float(info)
                continue
            if not isinstance(info, Mapping):
                continue
            n = info.get("count")
            if _is_num(n):
                counts[str(col)] = float(n)
            h = _histogram(str(col), info.get("histogram") or info.get("hist"), info)
            if h is not None:
                median = info.get("median")
                thr = info.get("threshold")
                h = dataclasses.replace(
                    h,
                    flagged=tuple(flagged.get(str(col), ())),
                    marker=float(median) if _is_num(median) else None,
                    threshold=float(thr) if _is_num(thr) else None,
                )
            if h is None and flagged.get(str(col)):
                h = _flagged_histogram(str(col), flagged[str(col)], info)
            if h is not None:
                hists.append(h)
    raw = obs.get("histograms")
    if isinstance(raw, Mapping):
        for col, info in raw.items():
            h = _histogram(str(col), info, info if isinstance(info, Mapping) else {})
            if h is not None and all(x.column != h.column for x in hists):
                hists.append(h)
    return hists, counts


def _flagged_histogram(column: str, values: Sequence[float], info: Mapping[str, Any]) -> Histogram:
    """Return a histogram of the flagged rows' values, with the column's median as the marker."""
    lo, hi = min(values), max(values)
    median = info.get("median")
    if _is_num(median):
        lo, hi = min(lo, float(median)), max(hi, float(median))
    if hi <= lo:
        hi = lo + 1.0
    nbins = 12
    width = (hi - lo) / nbins
    counts = [0] * nbins
    for v in values:
        counts[min(nbins - 1, int((v - lo) / width))] += 1
    n = info.get("count")
    return Histogram(
        column,
        tuple(lo + i * width for i in range(nbins + 1)),
        tuple(counts),
        int(n) if _is_num(n) else len(values),
        marker=float(median) if _is_num(median) else None,
        flagged_only=True,
    )


def _histogram(column: str, data: object, info: Mapping[str, Any]) -> Histogram | None:
    if not isinstance(data, Mapping):
        return None
    edges, counts = data.get("edges") or data.get("bins"), data.get("counts")
    if not isinstance(edges, Sequence) or not isinstance(counts, Sequence) or not counts:
        return None
    if not all(_is_num(x) for x in edges) or not all(_is_num(x) for x in counts):
        return None
    if len(edges) != len(counts) + 1:
        return None
    n = info.get("count")
    low = info.get("low", info.get("lower"))
    high = info.get("high", info.get("upper"))
    return Histogram(
        column,
        tuple(float(x) for x in edges),
        tuple(int(x) for x in counts),
        int(n) if _is_num(n) else None,
        float(low) if _is_num(low) else None,
        float(high) if _is_num(high) else None,
    )


# --------------------------------------------------------------------------- page parts

_CSS = """
:root{--fg:#1d2430;--muted:#5b6573;--line:#d9dee5;--bg:#fff;--soft:#f5f7fa;--pass:#1f7a45;--fail:#b3261e}
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);
background:var(--bg);margin:0;padding:24px 32px;max-width:1200px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}.muted,.note{color:var(--muted)}.note{font-size:12px;margin:4px 0}
.verdict{display:inline-block;padding:4px 12px;border-radius:6px;color:#fff;font-weight:700;letter-spacing:.04em;margin-right:10px}
.verdict.pass{background:var(--pass)}.verdict.fail{background:var(--fail)}
table{border-collapse:collapse;width:100%;margin:6px 0 10px;font-size:13px}
th,td{border-bottom:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top}
th{background:var(--soft);font-weight:600}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
table.kv{width:auto}table.kv th{background:none;color:var(--muted);font-weight:500;padding-right:18px}
td.rule code{white-space:nowrap}td.loc{min-width:220px}code{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--soft);padding:1px 4px;border-radius:3px;word-break:break-all}
.sev{display:inline-block;min-width:62px;text-align:center;border-radius:4px;color:#fff;font-size:11px;font-weight:700;padding:1px 6px;text-transform:uppercase}
.sev.critical{background:#8e1b2c}.sev.high{background:#c9412f}.sev.medium{background:#d99a1e}.sev.low{background:#3b6ea8}.sev.info{background:#7a8591}
.st{font-weight:700;text-transform:uppercase;font-size:11px}.st.pass{color:var(--pass)}.st.fail,.st.error{color:var(--fail)}.st.warn{color:#a86b00}.st.skipped{color:var(--muted)}
tr.blocking td{background:#fdf0ef}tr.waived td{color:var(--muted)}
.cards{display:flex;gap:10px;flex-wrap:wrap;margin:10px 0}.card{border:1px solid var(--line);border-radius:8px;padding:8px 14px;min-width:92px}
.card b{display:block;font-size:20px}.card span{color:var(--muted);font-size:12px}
.charts{display:flex;flex-wrap:wrap;gap:18px}figure.chart{margin:0;border:1px solid var(--line);border-radius:8px;padding:8px 10px;background:#fff}
figure.chart figcaption{font-weight:600;margin-bottom:4px}figure.hist{display:inline-block}
svg text{font:11px system-ui,sans-serif;fill:#2b3340}svg text.lg{font-size:12px}svg .axis{stroke:#9aa3ae;stroke-width:1}
details{margin:4px 0}summary{cursor:pointer;color:var(--muted)}pre{background:var(--soft);padding:8px;overflow:auto;max-height:320px;font-size:12px}
footer{margin-top:36px;color:var(--muted);font-size:12px}
"""


def _page(title: str, passed: bool, heading: str, body: Iterable[str]) -> str:
    import datagate

    verdict = "PASS" if passed else "FAIL"
    csp = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'none'; base-uri 'none'; form-action 'none'"
    return "".join(
        [
            "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>",
            f"<meta http-equiv='Content-Security-Policy' content=\"{csp}\">",
            "<meta name='viewport' content='width=device-width, initial-scale=1'>",
            f"<title>{verdict} · {_e(title)} · datagate</title><style>{_CSS}</style></head><body>",
            f"<header><h1><span class='verdict {verdict.lower()}' id='verdict'>{verdict}</span>{heading}</h1></header>",
            *body,
            f"<footer>datagate {html.escape(datagate.__version__)} · this file is self-contained and "
            "loads nothing from the network</footer></body></html>\n",
        ]
    )


def _kv(rows: Iterable[tuple[str, str]]) -> str:
    cells = "".join(f"<tr><th>{_e(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return f"<table class='kv'>{cells}</table>"


def _code(text: object) -> str:
    return f"<code>{_e(text)}</code>"


def _sev(s: Severity) -> str:
    return f"<span class='sev {s.value}'>{s.value}</span>"


def _location(path: str, member: str | None) -> str:
    return _code(path) if member is None else f"{_code(path)} → {_code(member)}"


def _finding_table(findings: Sequence[Finding], blocking: Sequence[Finding]) -> str:
    if not findings:
        return "<p class='muted'>No findings.</p>"
    rows = []
    blocking_keys = {finding_key(f) for f in blocking}
    ranked = sorted(
        findings,
        key=lambda f: (
            finding_key(f) not in blocking_keys,
            -f.severity.rank,
            f.path,
            f.member or "",
            f.rule,
        ),
    )
    for f in ranked[:MAX_TABLE_ROWS]:
        cls = (
            "blocking"
            if finding_key(f) in blocking_keys
            else ("waived" if f.waived is not None else "")
        )
        waived = (
            f"<br><span class='muted'>waived: {_e(f.waived)}</span>" if f.waived is not None else ""
        )
        evidence = (
            f"<details><summary>evidence</summary><pre>{_e(json.dumps(f.evidence, indent=2, sort_keys=True, default=str), 20000)}</pre></details>"
            if f.evidence
            else ""
        )
        rows.append(
            f"<tr class='{cls}'><td>{_sev(f.severity)}</td><td class='rule'>{_code(f.rule)}</td>"
            f"<td class='loc'>{_location(f.path, f.member)}</td><td>{_e(f.message)}{waived}"
            f"{'<br><span class=muted>' + _e(evidence_summary(f.evidence)) + '</span>' if f.evidence else ''}{evidence}</td></tr>"
        )
    more = (
        f"<p class='note'>… and {len(findings) - MAX_TABLE_ROWS} more (use --format json for all)</p>"
        if len(findings) > MAX_TABLE_ROWS
        else ""
    )
    return (
        "<table class='findings'><thead><tr><th>Severity</th><th>Rule</th><th>Location</th>"
        f"<th>Message</th></tr></thead><tbody>{''.join(rows)}</tbody></table>{more}"
    )


def _cards(items: Iterable[tuple[str, str]]) -> str:
    return (
        "<div class='cards'>"
        + "".join(f"<div class='card'><b>{v}</b><span>{_e(k)}</span></div>" for k, v in items)
        + "</div>"
    )


def _scan_section(report: ScanReport, decision: GateDecision, *, h: str = "h2") -> list[str]:
    counts = report.counts()
    waived = sum(1 for f in report.findings if f.waived is not None)
    out = [
        _cards(
            [(s.value, f"{counts[s.value]:,}") for s in _SEVERITIES_DESC]
            + [
                ("waived", f"{waived:,}"),
                ("not inspected", f"{len(report.skipped):,}"),
                ("files", f"{report.files:,}"),
                ("bytes", _e(human_bytes(report.bytes))),
            ]
        )
    ]
    charts = []
    if any(counts.values()):
        charts.append(
            bar_chart(
                "findings_by_severity",
                "Findings by severity (unwaived)",
                [s.value for s in _SEVERITIES_DESC],
                [("findings", [float(counts[s.value]) for s in _SEVERITIES_DESC])],
                category_colours=[_SEV_COLOUR[s] for s in _SEVERITIES_DESC],
            )
        )
    if report.findings:
        fam: dict[str, int] = {}
        rules: dict[str, int] = {}
        for f in report.findings:
            fam[f.category] = fam.get(f.category, 0) + 1
            rules[f.rule] = rules.get(f.rule, 0) + 1
        names = sorted(fam, key=lambda k: (-fam[k], k))
        charts.append(
            bar_chart(
                "findings_by_family",
                "Findings by hazard family",
                names,
                [("findings", [float(fam[n]) for n in names])],
            )
        )
        top = sorted(rules, key=lambda k: (-rules[k], k))[:15]
        charts.append(
            bar_chart(
                "findings_by_rule",
                "Most frequent rules",
                top,
                [("findings", [float(rules[r]) for r in top])],
                note=f"{len(rules) - len(top)} more rules not shown"
                if len(rules) > len(top)
                else "",
            )
        )
    # blocking items first: the charts come after every table
    chart_block = [f"<div class='charts'>{''.join(charts)}</div>"] if charts else []
    blocking, active, waived_list = split_findings(report.findings, decision.blocking_findings)
    if blocking:
        out.append(f"<{h}>Blocking findings ({len(blocking)})</{h}>")
        out.append(_finding_table(blocking, blocking))
    others = active + waived_list
    if others:
        title = "Other findings" if blocking else "Findings"
        out.append(
            f"<{h}>{title} ({len(others)}: {len(active)} below the threshold, {len(waived_list)} waived)</{h}>"
        )
        out.append(_finding_table(others, ()))
    elif not blocking:
        out.append(f"<{h}>Findings</{h}>")
        out.append(_finding_table((), ()))
    if report.skipped:
        rows = "".join(
            f"<tr><td>{_location(s.path, s.member)}</td><td>{_e(s.reason)}</td></tr>"
            for s in report.skipped[:MAX_TABLE_ROWS]
        )
        out.append(
            f"<{h}>Not inspected ({len(report.skipped)})</{h}><table><thead><tr><th>Location</th>"
            f"<th>Reason</th></tr></thead><tbody>{rows}</tbody></table>"
        )
    return out + chart_block


def _check_charts(report: CheckReport) -> tuple[list[str], list[str]]:
    """Return (chart figures, notes on charts that could not be drawn)."""
    charts: list[str] = []
    notes: list[str] = []
    by_id = _checks_by_id(report)
    per_split = label_counts_per_split(report)
    if per_split:
        labels = sorted({lab for counts in per_split.values() for lab in counts}, key=_label_key)
        series = [
            (split, [counts.get(lab, 0.0) for lab in labels]) for split, counts in per_split.items()
        ]
        charts.append(
            bar_chart("label_distribution", "Label distribution per split (rows)", labels, series)
        )
    else:
        notes.append(
            "Label distribution: no label column found."
            if report.label_column is None
            else "Label distribution: the check reported no per-label counts."
        )
    drift = label_drift(report)
    if drift is not None:
        base, cur, stats = drift
        labels = sorted(set(base) | set(cur), key=_label_key)
        stat_txt = ", ".join(f"{k} = {_num(v)}" for k, v in sorted(stats.items()))
        status = by_id["label_drift"].status.value
        charts.append(
            bar_chart(
                "label_drift",
                f"Label drift against the baseline ({status})",
                labels,
                [
                    ("baseline", [base.get(lab, 0.0) for lab in labels]),
                    ("current", [cur.get(lab, 0.0) for lab in labels]),
                ],
                fmt=_pct,
                note=stat_txt,
            )
        )
    elif drift_statistics(report):
        per_split_stats = drift_statistics(report)
        splits = list(per_split_stats)
        status = by_id["label_drift"].status.value
        details = "; ".join(
            f"{clean(sp)}: "
            + ", ".join(f"{k} = {_num(v)}" for k, v in sorted(st.items()) if k != "js_distance")
            for sp, st in per_split_stats.items()
        )
        charts.append(
            bar_chart(
                "label_drift",
                f"Label drift against the baseline: Jensen-Shannon distance per split ({status})",
                splits,
                [("JS distance", [per_split_stats[sp].get("js_distance", 0.0) for sp in splits])],
                fmt=lambda v: f"{v:.3f}",
                vmax=1.0,
                colours=("#b8475a",) if status == "fail" else None,
                note=details,
            )
        )
    elif "label_drift" in by_id:
        notes.append(f"Label drift: {clean(by_id['label_drift'].message)}")
    else:
        notes.append("Label drift: no baseline to compare with.")
    rates = null_rates(report)
    if rates and any(v > 0 for m in rates.values() for v in m.values()):
        cols = sorted(
            {c for m in rates.values() for c in m},
            key=lambda c: (-max(m.get(c, 0.0) for m in rates.values()), c),
        )
        charts.append(
            bar_chart(
                "null_rates",
                "Null rate per column",
                cols,
                [(name, [m.get(c, 0.0) for c in cols]) for name, m in rates.items()],
                fmt=_pct,
                vmax=1.0,
            )
        )
    elif rates:
        ncols = len({c for m in rates.values() for c in m})
        notes.append(f"Null rates: no nulls in any of the {plural(ncols, 'column')}.")
    elif "nulls" in by_id:
        notes.append(f"Null rates: {clean(by_id['nulls'].message)}")
    hists, counts = outlier_data(report)
    hists = [h for h in hists if any(c > 0 for c in h.counts)]
    charts.extend(histogram_chart(f"outliers:{h.column}", h) for h in hists[:12])
    if any(v > 0 for v in counts.values()):
        cols = sorted(counts, key=lambda c: (-counts[c], c))
        charts.append(
            bar_chart(
                "outliers",
                "Outliers per column (rows)",
                cols,
                [("outliers", [counts[c] for c in cols])],
            )
        )
    elif counts:
        notes.append(f"Outliers: none in the {plural(len(counts), 'numeric column')} checked.")
    elif "outliers" in by_id:
        notes.append(f"Outliers: {clean(by_id['outliers'].message)}")
    _poison_charts(by_id, charts, notes)
    return charts, notes


def trigger_candidates(by_id: Mapping[str, CheckResult]) -> list[dict[str, Any]]:
    """Return ``backdoor_triggers``' top candidates (token, label, share, rest_share, flagged)."""
    check = by_id.get("backdoor_triggers")
    cands = check.observed.get("candidates") if check is not None else None
    out = []
    for c in cands if isinstance(cands, list) else []:
        if isinstance(c, Mapping) and _is_num(c.get("share")) and _is_num(c.get("rest_share")):
            out.append(dict(c))
    return out


def label_error_rates(by_id: Mapping[str, CheckResult]) -> dict[str, float]:
    """Return ``label_errors``' flagged share per class ({class: rate}), or {}."""
    check = by_id.get("label_errors")
    per = check.observed.get("per_class") if check is not None else None
    if not isinstance(per, Mapping):
        return {}
    return {str(k): float(v["rate"]) for k, v in per.items() if isinstance(v, Mapping) and _is_num(v.get("rate"))}


def _poison_charts(by_id: Mapping[str, CheckResult], charts: list[str], notes: list[str]) -> None:
    """Trigger candidates with their label share; label-error rate per class (issue 17)."""
    cands = trigger_candidates(by_id)[:MAX_CATEGORIES]
    if cands:
        cats = [f"{c.get('token')} → {c.get('label')}" + (" (flagged)" if c.get("flagged") else "") for c in cands]
        flagged = [str(c.get("token")) for c in cands if c.get("flagged")]
        charts.append(
            bar_chart(
                "backdoor_triggers",
                "Trigger candidates: share of their rows with the top label, and that label's share elsewhere",
                cats,
                [("label share", [float(c["share"]) for c in cands]), ("share elsewhere", [float(c["rest_share"]) for c in cands])],
                fmt=_pct,
                vmax=1.0,
                category_colours=["#b8475a" if c.get("flagged") else "#4a7ab8" for c in cands],
                note=("flagged: " + ", ".join(flagged)) if flagged else "no candidate's rows disagree with its label",
            )
        )
    elif "backdoor_triggers" in by_id:
        notes.append(f"Backdoor triggers: {clean(by_id['backdoor_triggers'].message)}")
    rates = label_error_rates(by_id)
    if rates:
        classes = sorted(rates, key=_label_key)
        charts.append(
            bar_chart(
                "label_errors",
                "Likely label errors: flagged share per class",
                classes,
                [("flagged", [rates[k] for k in classes])],
                fmt=_pct,
            )
        )
    elif "label_errors" in by_id:
        notes.append(f"Label errors: {clean(by_id['label_errors'].message)}")


def _label_key(label: str) -> tuple[int, float, str]:
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)


def _check_section(report: CheckReport, decision: GateDecision, *, h: str = "h2") -> list[str]:
    blocking_ids = {c.id for c in decision.blocking_checks}
    counts = {s: sum(1 for c in report.checks if c.status is s) for s in CheckStatus}
    out = [_cards([(s.value, f"{n:,}") for s, n in counts.items()])]
    facts: list[tuple[str, str]] = []
    if report.label_column:
        src = (
            f" <span class='muted'>({_e(report.label_source)})</span>"
            if report.label_source
            else ""
        )
        facts.append(("label column", _code(report.label_column) + src))
    for split, info in report.splits.items():
        if isinstance(info, Mapping):
            rows = info.get("rows")
            files = info.get("files")
            nfiles = len(files) if isinstance(files, (list, tuple)) else files
            bits = []
            if _is_num(rows):
                bits.append(plural(int(rows), "row"))
            if _is_num(nfiles):
                bits.append(plural(int(nfiles), "file"))
            facts.append((f"split {clean(split)}", _e(", ".join(bits)) or "—"))
    if facts:
        out.append(_kv(facts))
    order = {
        CheckStatus.FAIL: 0,
        CheckStatus.ERROR: 1,
        CheckStatus.WARN: 2,
        CheckStatus.SKIPPED: 3,
        CheckStatus.PASS: 4,
    }
    rows = []
    for c in sorted(report.checks, key=lambda c: (c.id not in blocking_ids, order[c.status])):
        cls = "blocking" if c.id in blocking_ids else ""
        n = c.observed.get("count")
        observed = (
            f"<details><summary>observed</summary><pre>{_e(json.dumps(c.observed, indent=2, sort_keys=True, default=str), 20000)}</pre></details>"
            if c.observed
            else ""
        )
        rows.append(
            f"<tr class='{cls}'><td><span class='st {c.status.value}'>{c.status.value}</span></td>"
            f"<td>{_code(c.id)}</td><td>{_sev(c.severity)}</td>"
            f"<td class='num'>{_e(_num(n)) if _is_num(n) else ''}</td><td>{_e(c.message)}{observed}</td></tr>"
        )
    out.append(
        f"<{h}>Check results ({len(report.checks)})</{h}><table class='checks'><thead><tr><th>Status</th><th>Check</th>"
        f"<th>Severity</th><th class='num'>Count</th><th>Message</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    # charts after the results table: a dozen outlier charts never hide a blocking check
    charts, notes = _check_charts(report)
    out.append(f"<{h}>Charts</{h}>")
    if charts:
        out.append(f"<div class='charts'>{''.join(charts)}</div>")
    out.extend(f"<p class='note'>{_e(n, 600)}</p>" for n in notes)
    return out


def _blocking_summary(decision: GateDecision) -> str:
    """Return the list of what blocks the gate, shown first on every page ('' when it passed)."""
    if decision.passed:
        return ""
    items = [
        f"<li>{_sev(c.severity)} check {_code(c.id)} <span class='st {c.status.value}'>{c.status.value}</span>: {_e(c.message)}</li>"
        for c in decision.blocking_checks[:50]
    ] + [
        f"<li>{_sev(f.severity)} {_code(f.rule)} in {_location(f.path, f.member)}</li>"
        for f in decision.blocking_findings[:50]
    ]
    if not items:
        items = [f"<li>{_e(r)}</li>" for r in decision.reasons]
    n = len(decision.blocking_checks) + len(decision.blocking_findings)
    return f"<section class='blocking-summary'><h2>Blocking ({n})</h2><ul>{''.join(items)}</ul></section>"


def _gate_line(decision: GateDecision) -> str:
    reasons = "".join(f"<li>{_e(r)}</li>" for r in decision.reasons)
    return (
        f"<p>Gate: fail on <b>{decision.threshold.value}</b> and above · exit code {decision.exit_code}</p>"
        + (f"<ul>{reasons}</ul>" if reasons else "")
    )


def render_html_scan(report: ScanReport, decision: GateDecision) -> str:
    """Return a self-contained HTML page for a scan. Never raises for a well-formed report."""
    body = [
        _kv(
            [
                ("target", _code(report.target)),
                ("root digest", _code(report.root_digest)),
                ("content", _e(f"{plural(report.files, 'file')}, {human_bytes(report.bytes)}")),
            ]
        ),
        _gate_line(decision),
        _blocking_summary(decision),
        *_scan_section(report, decision),
    ]
    return _page(
        f"scan {report.target}", decision.passed, f"datagate scan {_code(report.target)}", body
    )


def render_html_check(report: CheckReport, decision: GateDecision) -> str:
    """Return a self-contained HTML page for a check run. Never raises for a well-formed report."""
    body = [
        _kv([("dataset", _code(report.dataset))]),
        _gate_line(decision),
        _blocking_summary(decision),
        *_check_section(report, decision),
    ]
    return _page(
        f"check {report.dataset}", decision.passed, f"datagate check {_code(report.dataset)}", body
    )


def render_html_ingest(result: Any) -> str:
    """Return a self-contained HTML page for an ingest: identity, gate, scan and check sections.

    ``result`` is duck-typed on ``.manifest``, ``.scan``, ``.check``, ``.decision``, ``.record``.
    Never raises for a well-formed result.
    """
    decision: GateDecision = result.decision
    scan = ingest_scan(result)
    check: CheckReport | None = getattr(result, "check", None)
    facts = ingest_identity(result)
    target = ingest_target(facts, scan, check)
    body = [
        _kv(
            (
                k,
                _code(v)
                if k in ("root digest", "revision", "dvc id", "record", "source")
                else _e(v),
            )
            for k, v in facts
        ),
        _gate_line(decision),
        _blocking_summary(decision),
    ]
    body.append("<h2>Scan</h2>")
    if scan is None:
        body.append("<p class='muted'>not run</p>")
    else:
        sd = GateDecision(
            not decision.blocking_findings, decision.threshold, decision.blocking_findings
        )
        body += _scan_section(scan, sd, h="h3")
    body.append("<h2>Checks</h2>")
    if check is None:
        body.append("<p class='muted'>not run</p>")
    else:
        cd = GateDecision(
            not decision.blocking_checks,
            decision.threshold,
            blocking_checks=decision.blocking_checks,
        )
        body += _check_section(check, cd, h="h3")
    return _page(f"ingest {target}", decision.passed, f"datagate ingest {_code(target)}", body)
