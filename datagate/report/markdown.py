"""GitHub-flavoured Markdown for pull-request comments and ``$GITHUB_STEP_SUMMARY``.

Layout: a verdict heading, the dataset's identity, a table of what blocks the gate, counts,
then the rest inside collapsible ``<details>`` blocks. Everything that comes from the dataset
(paths, member names, messages, columns) is escaped, so a file named ``[x](http://evil)`` or
``@someone`` renders as text: no links, no mentions, no broken tables. Tables are cut at
:data:`MAX_ROWS` rows, and shrink further until the summary fits in :data:`MAX_CHARS`
(GitHub rejects longer comments); what is cut is counted, never dropped silently.

>>> from datagate.models import GateDecision, ScanReport, Severity
>>> md = render_scan(ScanReport("data/", "sha256:" + "0" * 64, (), (), 1, 10), GateDecision(True, Severity.HIGH))
>>> md.splitlines()[0]
'## ✅ PASS: datagate scan of `data/`'
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextvars import ContextVar
from typing import Any

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
    human_bytes,
    ingest_identity,
    ingest_scan,
    ingest_target,
    plural,
    split_findings,
)

__all__ = [
    "MAX_CHARS",
    "MAX_ROWS",
    "md_code",
    "md_text",
    "render_check",
    "render_ingest",
    "render_scan",
    "render_verify",
]

MAX_ROWS = 100
"""Most rows per table; the rest are counted and left to ``--format json``."""
MAX_CHARS = 60_000
"""Largest output: GitHub rejects comments over 65,536 characters, so tables and observed
details shrink (``_BUDGETS``) until the whole summary fits."""

# (rows per table, characters of observed JSON per check); tried in order until the text fits.
_BUDGETS = ((MAX_ROWS, 4000), (30, 1500), (10, 400), (5, 0))
_rows: ContextVar[int] = ContextVar("_rows", default=MAX_ROWS)
_observed_chars: ContextVar[int] = ContextVar("_observed_chars", default=4000)

_PUNCT = re.compile(r"([\\`*_{}\[\]()<>#+!|~&$])")
# GitHub links @user and @org/team in text (not in code); a word joiner after "@" stops the
# mention from matching while the text still reads the same.
_MENTION_BREAK = "@\u2060"
_SEVERITIES_DESC = tuple(sorted(Severity, key=lambda s: s.rank, reverse=True))
_STATUS_ICON = {
    CheckStatus.PASS: "✅ pass",
    CheckStatus.WARN: "⚠️ warn",
    CheckStatus.FAIL: "❌ fail",
    CheckStatus.ERROR: "💥 error",
    CheckStatus.SKIPPED: "⏭️ skipped",
}
_SEVERITY_ICON = {
    Severity.CRITICAL: "🟥 critical",
    Severity.HIGH: "🟧 high",
    Severity.MEDIUM: "🟨 medium",
    Severity.LOW: "🟦 low",
    Severity.INFO: "⬜ info",
}


def md_text(text: object, *, limit: int = 300) -> str:
    """Return ``text`` as inert Markdown: one line, every Markdown/HTML metacharacter escaped."""
    return _PUNCT.sub(r"\\\1", clean(text, limit=limit)).replace("@", _MENTION_BREAK)


def md_code(text: object, *, limit: int = 300, table: bool = False) -> str:
    """Return ``text`` as an inline code span; with ``table`` its pipes are escaped for a cell."""
    s = clean(text, limit=limit)
    if table:
        s = s.replace("|", "\\|")
    runs = [len(m) for m in re.findall(r"`+", s)]
    fence = "`" * (max(runs, default=0) + 1)
    pad = " " if s.startswith("`") or s.endswith("`") or not s.strip() else ""
    return f"{fence}{pad}{s}{pad}{fence}"


def _fence_block(body: str, lang: str = "") -> str:
    runs = [len(m) for m in re.findall(r"`{3,}", body)]
    fence = "`" * max(3, max(runs, default=0) + 1)
    return f"{fence}{lang}\n{body}\n{fence}"


def _verdict(passed: bool, what: str, target: str) -> str:
    icon = "✅ PASS" if passed else "❌ FAIL"
    return f"## {icon}: datagate {what} of {md_code(target)}"


def _location(f: Finding | Any) -> str:
    if getattr(f, "member", None) is None:
        return md_code(f.path, table=True)
    return f"{md_code(f.path, table=True)} → {md_code(f.member, table=True)}"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], total: int) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    limit = _rows.get()
    n = 0
    for row in rows:
        if n >= limit:
            break
        lines.append("| " + " | ".join(row) + " |")
        n += 1
    if total > n:
        lines += ["", f"_… and {total - n} more; run with `--format json` for all._"]
    return lines


def _finding_rows(findings: Sequence[Finding]) -> list[list[str]]:
    return [
        [
            _SEVERITY_ICON[f.severity],
            md_code(f.rule, table=True),
            _location(f),
            md_text(f.message)
            + (f"<br>evidence: {md_text(evidence_summary(f.evidence))}" if f.evidence else "")
            + (f"<br>waived: {md_text(f.waived)}" if f.waived is not None else ""),
        ]
        for f in findings
    ]


def _details(summary: str, body: list[str]) -> list[str]:
    return ["", "<details>", f"<summary>{summary}</summary>", "", *body, "", "</details>"]


def _scan_sections(report: ScanReport, decision: GateDecision, *, level: str = "###") -> list[str]:
    blocking, active, waived = split_findings(report.findings, decision.blocking_findings)
    counts = report.counts()
    header = ["Severity", "Rule", "Location", "Message"]
    out = [
        "",
        f"{plural(report.files, 'file')}, {human_bytes(report.bytes)} · root {md_code(report.root_digest)}",
        "",
        "| " + " | ".join(s.value for s in _SEVERITIES_DESC) + " | waived | not inspected |",
        "|" + "---:|" * (len(_SEVERITIES_DESC) + 2),
        "| "
        + " | ".join(str(counts[s.value]) for s in _SEVERITIES_DESC)
        + f" | {len(waived)} | {len(report.skipped)} |",
    ]
    if blocking:
        out += ["", f"{level} Blocking findings ({len(blocking)})", ""]
        out += _table(header, _finding_rows(blocking[: _rows.get()]), len(blocking))
    if active:
        out += _details(
            f"Other findings, below the threshold ({len(active)})",
            _table(header, _finding_rows(active[: _rows.get()]), len(active)),
        )
    if waived:
        out += _details(
            f"Waived findings ({len(waived)})",
            _table(header, _finding_rows(waived[: _rows.get()]), len(waived)),
        )
    if report.skipped:
        rows = [[_location(s), md_text(s.reason)] for s in report.skipped[: _rows.get()]]
        out += _details(
            f"Not inspected ({len(report.skipped)})",
            _table(["Location", "Reason"], rows, len(report.skipped)),
        )
    return out


def _render_scan(report: ScanReport, decision: GateDecision) -> str:
    """Return the Markdown summary of a scan. Never raises for a well-formed report."""
    lines = [_verdict(decision.passed, "scan", report.target), "", _threshold_line(decision)]
    lines += _scan_sections(report, decision)
    return "\n".join(lines) + "\n"


def _threshold_line(decision: GateDecision) -> str:
    line = f"Gate: fail on **{decision.threshold.value}** and above."
    if decision.reasons:
        line += " " + "; ".join(md_text(r) for r in decision.reasons)
    return line


def _count(c: CheckResult) -> str:
    n = c.observed.get("count") if isinstance(c.observed, Mapping) else None
    return str(n) if isinstance(n, int) and not isinstance(n, bool) else ""


def _check_sections(
    report: CheckReport, decision: GateDecision, *, level: str = "###"
) -> list[str]:
    blocking_ids = {c.id for c in decision.blocking_checks}
    header = ["Status", "Check", "Severity", "Count", "Message"]

    def row(c: CheckResult) -> list[str]:
        return [
            _STATUS_ICON[c.status],
            md_code(c.id, table=True),
            c.severity.value,
            _count(c),
            md_text(c.message),
        ]

    order = {
        CheckStatus.FAIL: 0,
        CheckStatus.ERROR: 1,
        CheckStatus.WARN: 2,
        CheckStatus.SKIPPED: 3,
        CheckStatus.PASS: 4,
    }
    ranked = sorted(report.checks, key=lambda c: (c.id not in blocking_ids, order[c.status]))
    counts = {s: sum(1 for c in report.checks if c.status is s) for s in order}
    out = [
        "",
        " · ".join(f"{n} {s.value}" for s, n in counts.items())
        + (f" · label column {md_code(report.label_column)}" if report.label_column else "")
        + (
            f" ({md_text(report.label_source)})"
            if report.label_column and report.label_source
            else ""
        ),
    ]
    if report.splits:
        split_rows = []
        for name, info in report.splits.items():
            rows = info.get("rows") if isinstance(info, Mapping) else None
            files = info.get("files") if isinstance(info, Mapping) else None
            nfiles = len(files) if isinstance(files, (list, tuple)) else files
            split_rows.append(
                [
                    md_code(name, table=True),
                    "" if rows is None else str(rows),
                    "" if nfiles is None else str(nfiles),
                ]
            )
        out += ["", *_table(["Split", "Rows", "Files"], split_rows, len(split_rows))]
    blocking = [c for c in ranked if c.id in blocking_ids]
    if blocking:
        out += ["", f"{level} Blocking checks ({len(blocking)})", ""]
        out += _table(header, (row(c) for c in blocking), len(blocking))
    rest = [c for c in ranked if c.id not in blocking_ids]
    if rest:
        out += _details(
            f"All other checks ({len(rest)})", _table(header, (row(c) for c in rest), len(rest))
        )
    out += _poison_lists(report)
    evidence = [c for c in ranked if c.status is not CheckStatus.PASS and c.observed]
    budget = _observed_chars.get()
    for c in evidence[:20] if budget else ():
        body = json.dumps(c.observed, indent=2, sort_keys=True, default=str, ensure_ascii=False)
        if len(body) > budget:
            body = body[:budget] + "\n… (cut; run with --format json for all)"
        out += _details(
            f"Observed: <code>{html.escape(clean(c.id))}</code>", [_fence_block(body, "json")]
        )
    return out


def _poison_lists(report: CheckReport) -> list[str]:
    """Backdoor trigger candidates and label-error rates per class, when those checks ran."""
    by_id = {c.id: c for c in report.checks}
    out: list[str] = []
    bd = by_id.get("backdoor_triggers")
    cands = bd.observed.get("candidates") if bd is not None and isinstance(bd.observed, Mapping) else None
    if isinstance(cands, list) and cands:
        rows = [
            [
                md_code(c.get("token"), table=True),
                md_text(c.get("label")),
                str(c.get("count")),
                f"{float(c.get('share', 0)):.1%}",
                f"{float(c.get('rest_share', 0)):.1%}",
                f"{float(c.get('context_agreement', 0)):.0%}",
                "**flagged**" if c.get("flagged") else "",
            ]
            for c in cands
            if isinstance(c, Mapping)
        ]
        out += _details(
            f"Backdoor trigger candidates ({len(rows)})",
            _table(["Candidate", "Label", "Rows", "Label share", "Share elsewhere", "Context agrees", ""], rows, len(rows)),
        )
    le = by_id.get("label_errors")
    per = le.observed.get("per_class") if le is not None and isinstance(le.observed, Mapping) else None
    if isinstance(per, Mapping) and per:
        sample = le.observed.get("sample") if le is not None else None
        n = sample.get("rows") if isinstance(sample, Mapping) else None
        rows = [
            [md_text(k), str(v.get("rows")), str(v.get("flagged")), f"{float(v.get('rate', 0)):.1%}"]
            for k, v in per.items()
            if isinstance(v, Mapping)
        ]
        title = "Likely label errors per class" + (f" (sample of {n} rows)" if n is not None else "")
        out += _details(title, _table(["Class", "Rows judged", "Flagged", "Rate"], rows, len(rows)))
    return out


def _render_check(report: CheckReport, decision: GateDecision) -> str:
    """Return the Markdown summary of a check run. Never raises for a well-formed report."""
    lines = [_verdict(decision.passed, "check", report.dataset), "", _threshold_line(decision)]
    lines += _check_sections(report, decision)
    return "\n".join(lines) + "\n"


def _render_ingest(result: Any) -> str:
    """Return the Markdown summary of an ingest: verdict, identity table, scan and check sections.

    ``result`` is duck-typed on ``.manifest``, ``.scan``, ``.check``, ``.decision``, ``.record``.
    Never raises for a well-formed result.
    """
    decision: GateDecision = result.decision
    scan = ingest_scan(result)
    check: CheckReport | None = getattr(result, "check", None)
    facts = ingest_identity(result)
    target = ingest_target(facts, scan, check)
    lines = [_verdict(decision.passed, "ingest", target), "", _threshold_line(decision), ""]
    lines += _table(["", ""], ([md_text(k), md_code(v, table=True)] for k, v in facts), len(facts))
    lines += ["", "### Scan"]
    if scan is None:
        lines += ["", "_not run_"]
    else:
        sd = GateDecision(
            not decision.blocking_findings, decision.threshold, decision.blocking_findings
        )
        lines += _scan_sections(scan, sd, level="####")
    lines += ["", "### Checks"]
    if check is None:
        lines += ["", "_not run_"]
    else:
        cd = GateDecision(
            not decision.blocking_checks,
            decision.threshold,
            blocking_checks=decision.blocking_checks,
        )
        lines += _check_sections(check, cd, level="####")
    return "\n".join(lines) + "\n"


def _render_verify(result: Any) -> str:
    """Return the Markdown summary of ``datagate verify`` (duck-typed VerifyResult)."""
    diffs: Sequence[Any] = tuple(getattr(result, "differences", ()))
    target = str(getattr(result, "target", "?"))
    head = _verdict(not diffs, "verify", target)
    lines = [
        head,
        "",
        f"manifest {md_code(getattr(result, 'manifest_path', '?'))} · expected "
        f"{md_code(getattr(result, 'expected_digest', ''))} · actual {md_code(getattr(result, 'actual_digest', ''))}",
    ]
    if diffs:
        rows = [
            [
                md_text(getattr(d.change, "value", d.change)),
                md_code(d.path, table=True),
                md_code(d.expected if d.expected is not None else "-", table=True),
                md_code(d.actual if d.actual is not None else "-", table=True),
            ]
            for d in diffs
        ]
        lines += ["", *_table(["Change", "Path", "Expected", "Actual"], rows, len(rows))]
    return "\n".join(lines) + "\n"


def _fit(render: Callable[[], str]) -> str:
    """Return ``render()`` under the largest budget whose output fits in :data:`MAX_CHARS`."""
    out = ""
    for rows, chars in _BUDGETS:
        t1, t2 = _rows.set(rows), _observed_chars.set(chars)
        try:
            out = render()
        finally:
            _rows.reset(t1)
            _observed_chars.reset(t2)
        if len(out) <= MAX_CHARS:
            return out
    return out


def render_scan(report: ScanReport, decision: GateDecision) -> str:
    """Return the Markdown summary of a scan, at most :data:`MAX_CHARS` long where possible.

    Never raises for a well-formed report.
    """
    return _fit(lambda: _render_scan(report, decision))


def render_check(report: CheckReport, decision: GateDecision) -> str:
    """Return the Markdown summary of a check run. Never raises for a well-formed report."""
    return _fit(lambda: _render_check(report, decision))


def render_ingest(result: Any) -> str:
    """Return the Markdown summary of an ingest: verdict, identity table, scan and check sections.

    ``result`` is duck-typed on ``.manifest``, ``.scan``, ``.check``, ``.decision``, ``.record``.
    Never raises for a well-formed result.
    """
    return _fit(lambda: _render_ingest(result))


def render_verify(result: Any) -> str:
    """Return the Markdown summary of ``datagate verify`` (duck-typed VerifyResult)."""
    return _fit(lambda: _render_verify(result))
