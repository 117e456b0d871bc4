"""Plain-text summaries a person reads first: one PASS/FAIL line, then what blocks, then counts.

Every renderer returns a ``str`` with no colour codes and no rich markup, so the text is the same
in a log, a file or a pipe; the CLI may colour the first word when stdout is a terminal. Names
that come from the dataset (file and member names, column names, messages quoting them) pass
through :func:`clean`, so a hostile file name cannot move the cursor or fake a line of output.

>>> from datagate.models import GateDecision, ScanReport, Severity
>>> report = ScanReport("data/", "sha256:" + "0" * 64, (), (), files=3, bytes=2048)
>>> print(render_scan(report, GateDecision(True, Severity.HIGH)).splitlines()[0])
PASS  scan data/: no blocking findings (fail on high and above)
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from datagate.models import (
    CheckReport,
    CheckResult,
    CheckStatus,
    Finding,
    GateDecision,
    ScanReport,
    Severity,
    Skip,
)

__all__ = [
    "clean",
    "evidence_summary",
    "finding_key",
    "split_findings",
    "human_bytes",
    "ingest_identity",
    "ingest_scan",
    "ingest_target",
    "location",
    "plural",
    "render_check",
    "render_ingest",
    "render_scan",
    "render_verify",
    "scan_verdict",
    "check_verdict",
]

MAX_LISTED = 50
"""Most findings, checks or skips listed per section; the rest are counted (JSON has them all)."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")

_SEVERITIES_DESC = tuple(sorted(Severity, key=lambda s: s.rank, reverse=True))


def clean(text: object, *, limit: int = 300) -> str:
    """Return ``text`` as one printable line: control and bidi characters escaped, long text cut.

    Dataset names are attacker-controlled; escaping stops terminal escape sequences, embedded
    newlines and right-to-left overrides from disguising the output. Never raises.
    """
    s = _CONTROL.sub(
        lambda m: (
            f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}"
        ),
        str(text),
    )
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    return s


def plural(n: int, word: str, many: str | None = None) -> str:
    """Return ``"1 file"`` / ``"3 files"`` style counts."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def human_bytes(n: int) -> str:
    """Return a byte count as ``"812 B"``, ``"3.4 MB"`` (decimal units, one decimal)."""
    size = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(size) < 1000 or unit == "TB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} B"  # pragma: no cover - loop always returns


def location(path: str, member: str | None) -> str:
    """Return where a finding or skip is: ``path`` or ``path :: member/chain`` (cleaned)."""
    return clean(path) if member is None else f"{clean(path)} :: {clean(member)}"


def evidence_summary(evidence: Mapping[str, Any], *, limit: int = 160) -> str:
    """Return a one-line ``key=value, ...`` digest of a finding's evidence (cleaned, cut)."""
    parts: list[str] = []
    for key in sorted(evidence):
        value = evidence[key]
        if isinstance(value, str):
            shown = value
        elif isinstance(value, (list, tuple)):
            shown = ", ".join(str(v) for v in list(value)[:8]) + (" ..." if len(value) > 8 else "")
            shown = f"[{shown}]"
        else:
            try:
                shown = json.dumps(value, sort_keys=True, default=str)
            except (TypeError, ValueError):
                shown = repr(value)
        parts.append(f"{key}={shown}")
    return clean("; ".join(parts), limit=limit)


def _threshold(decision: GateDecision) -> str:
    policy = getattr(decision, "policy", None)
    where = f"; policy {clean(policy)}" if policy else ""
    return f"fail on {decision.threshold.value} and above{where}"


def scan_verdict(report: ScanReport, decision: GateDecision) -> str:
    """Return the one PASS/FAIL line for a scan (no trailing newline)."""
    target = clean(report.target)
    if decision.passed:
        return f"PASS  scan {target}: no blocking findings ({_threshold(decision)})"
    n = len(decision.blocking_findings)
    if n:
        what = plural(n, "blocking finding")
    else:
        what = "; ".join(clean(r) for r in decision.reasons) or "the gate failed"
    return f"FAIL  scan {target}: {what} ({_threshold(decision)})"


def check_verdict(report: CheckReport, decision: GateDecision) -> str:
    """Return the one PASS/FAIL line for a check run (no trailing newline)."""
    target = clean(report.dataset)
    if decision.passed:
        return f"PASS  check {target}: no blocking checks ({_threshold(decision)})"
    n = len(decision.blocking_checks)
    if n:
        what = plural(n, "blocking check")
    else:
        what = "; ".join(clean(r) for r in decision.reasons) or "the gate failed"
    return f"FAIL  check {target}: {what} ({_threshold(decision)})"


def _finding_lines(findings: Sequence[Finding], *, indent: str = "  ") -> list[str]:
    lines: list[str] = []
    for f in findings[:MAX_LISTED]:
        tag = f.severity.value.upper()
        lines.append(f"{indent}{tag:<8}  {f.rule}  {location(f.path, f.member)}")
        lines.append(f"{indent}{'':<8}  {clean(f.message)}")
        if f.evidence:
            lines.append(f"{indent}{'':<8}  evidence: {evidence_summary(f.evidence)}")
        if f.waived is not None:
            lines.append(f"{indent}{'':<8}  waived: {clean(f.waived)}")
    if len(findings) > MAX_LISTED:
        lines.append(
            f"{indent}... and {len(findings) - MAX_LISTED} more (use --format json for all)"
        )
    return lines


def _skip_lines(skips: Sequence[Skip], *, indent: str = "  ") -> list[str]:
    lines = [f"{indent}{location(s.path, s.member)}: {clean(s.reason)}" for s in skips[:MAX_LISTED]]
    if len(skips) > MAX_LISTED:
        lines.append(f"{indent}... and {len(skips) - MAX_LISTED} more (use --format json for all)")
    return lines


def _count_line(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{counts.get(s.value, 0)} {s.value}" for s in _SEVERITIES_DESC)


def finding_key(f: Finding) -> tuple[str, str, str, str, str, str]:
    """Return a hashable identity of a finding (Finding itself is unhashable: its evidence is a dict)."""
    return (f.path, f.member or "", f.rule, f.severity.value, f.message, f.waived or "")


def split_findings(
    findings: Iterable[Finding], blocking: Iterable[Finding]
) -> tuple[list[Finding], list[Finding], list[Finding]]:
    """Return (blocking, other unwaived, waived) findings, each sorted worst first. Linear time."""
    block = _sorted_findings(blocking)
    keys = {finding_key(f) for f in block}
    rest = _sorted_findings(f for f in findings if finding_key(f) not in keys)
    return block, [f for f in rest if f.waived is None], [f for f in rest if f.waived is not None]


def _sorted_findings(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (-f.severity.rank, f.path, f.member or "", f.rule))


def _scan_body(report: ScanReport, decision: GateDecision) -> list[str]:
    blocking, active, waived = split_findings(report.findings, decision.blocking_findings)
    lines: list[str] = []
    if blocking:
        lines += ["", f"Blocking findings ({len(blocking)}):", *_finding_lines(blocking)]
    if active:
        lines += [
            "",
            f"Other findings, below the threshold ({len(active)}):",
            *_finding_lines(active),
        ]
    if waived:
        lines += ["", f"Waived findings ({len(waived)}):", *_finding_lines(waived)]
    if report.skipped:
        lines += ["", f"Not inspected ({len(report.skipped)}):", *_skip_lines(report.skipped)]
    lines += [
        "",
        f"Scanned {plural(report.files, 'file')}, {human_bytes(report.bytes)}; "
        f"root {report.root_digest}",
        f"Findings: {_count_line(report.counts())}"
        + (f" ({len(waived)} waived)" if waived else ""),
    ]
    if report.findings:
        rules: dict[str, int] = {}
        for f in report.findings:
            rules[f.rule] = rules.get(f.rule, 0) + 1
        top = sorted(rules, key=lambda r: (-rules[r], r))
        more = f", {len(top) - 6} more" if len(top) > 6 else ""
        lines.append("By rule: " + ", ".join(f"{r} {rules[r]}" for r in top[:6]) + more)
    if report.skipped:
        lines.append(f"Skipped: {len(report.skipped)}")
    return lines


def render_scan(report: ScanReport, decision: GateDecision) -> str:
    """Return the text summary of a scan: verdict line, blocking findings, others, skips, counts.

    Never raises for any well-formed report.
    """
    return "\n".join([scan_verdict(report, decision), *_scan_body(report, decision)]) + "\n"


_STATUS_ORDER = (
    CheckStatus.FAIL,
    CheckStatus.ERROR,
    CheckStatus.WARN,
    CheckStatus.SKIPPED,
    CheckStatus.PASS,
)


def _check_line(c: CheckResult, indent: str = "  ") -> str:
    count = c.observed.get("count") if isinstance(c.observed, Mapping) else None
    suffix = f"  (count {count})" if isinstance(count, int) and not isinstance(count, bool) else ""
    return (
        f"{indent}{c.status.value.upper():<7}  {c.severity.value:<8}  {clean(c.id)}: "
        f"{clean(c.message)}{suffix}"
    )


def _check_body(report: CheckReport, decision: GateDecision) -> list[str]:
    blocking = list(decision.blocking_checks)
    blocking_ids = {c.id for c in blocking}
    rest = [c for c in report.checks if c.id not in blocking_ids]
    lines: list[str] = []
    if blocking:
        lines += ["", f"Blocking checks ({len(blocking)}):", *(_check_line(c) for c in blocking)]
    for status, title in (
        (CheckStatus.FAIL, "Failed, below the threshold"),
        (CheckStatus.ERROR, "Could not run"),
        (CheckStatus.WARN, "Warnings"),
        (CheckStatus.SKIPPED, "Skipped"),
    ):
        group = [c for c in rest if c.status is status]
        if group:
            lines += ["", f"{title} ({len(group)}):", *(_check_line(c) for c in group)]
    passed = [c for c in rest if c.status is CheckStatus.PASS]
    if passed:
        lines += ["", f"Passed ({len(passed)}): " + ", ".join(clean(c.id) for c in passed)]
    counts = {s: 0 for s in _STATUS_ORDER}
    for c in report.checks:
        counts[c.status] += 1
    lines += ["", "Checks: " + ", ".join(f"{counts[s]} {s.value}" for s in _STATUS_ORDER)]
    facts = []
    if report.splits:
        parts = []
        for name, info in report.splits.items():
            rows = info.get("rows") if isinstance(info, Mapping) else None
            parts.append(f"{clean(name)} {rows} rows" if isinstance(rows, int) else clean(name))
        facts.append("splits: " + ", ".join(parts))
        for info in report.splits.values():
            dialects = info.get("csv") if isinstance(info, Mapping) else None
            for rel, d in (dialects or {}).items() if isinstance(dialects, Mapping) else ():
                facts.append(f"csv {clean(str(rel))}: {_dialect_text(d)}")
    if report.label_column is not None:
        src = f" (from {clean(report.label_source)})" if report.label_source else ""
        facts.append(f"label column: {clean(report.label_column)}{src}")
    elif report.checks:
        facts.append("label column: none found")
    lines += facts
    return lines


def _dialect_text(d: Any) -> str:
    """Return e.g. ``delimiter ';' (detected), quote '"', header (detected), default nulls``."""
    if not isinstance(d, Mapping):
        return clean(str(d))
    detected = set(d.get("detected") or ())
    delim = "tab" if d.get("delimiter") == "\t" else repr(d.get("delimiter"))
    parts = [f"delimiter {delim}" + (" (detected)" if "delimiter" in detected else "")]
    parts.append(f"quote {d.get('quotechar')!r}")
    parts.append(("header" if d.get("header") else "no header") + (" (detected)" if "header" in detected else ""))
    nulls = d.get("null_values")
    parts.append("default nulls" if nulls == "default" else f"nulls {', '.join(map(repr, nulls or []))}")
    return clean(", ".join(parts))


def render_check(report: CheckReport, decision: GateDecision) -> str:
    """Return the text summary of a check run: verdict, blocking checks, the rest, counts.

    Never raises for any well-formed report.
    """
    return "\n".join([check_verdict(report, decision), *_check_body(report, decision)]) + "\n"


def _get(obj: object, *names: str) -> Any:
    """Return the first attribute (or mapping key) of ``obj`` among ``names`` that is not None."""
    for name in names:
        value = obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)
        if value is not None:
            return value
    return None


def ingest_identity(result: object) -> list[tuple[str, str]]:
    """Return ``(label, value)`` pairs naming an ingested dataset: name, source, revision, digest.

    Reads what the result and its lineage record carry (duck-typed); absent facts are left out.
    """
    record = getattr(result, "record", None)
    manifest = getattr(result, "manifest", None)
    source = _get(record, "source") if record is not None else None
    facts: list[tuple[str, str]] = []
    name = _get(record, "name", "dataset") if record is not None else None
    if name is None:
        name = _get(result, "name", "dataset")
    if name is not None:
        facts.append(("dataset", clean(name)))
    uri = _get(source, "uri", "url") if source is not None else None
    kind = _get(source, "kind", "type") if source is not None else None
    if uri is None and record is not None:
        uri = _get(record, "source_uri", "uri")
    if uri is not None:
        facts.append(("source", clean(f"{uri}" + (f" ({kind})" if kind else ""))))
    resolved = _get(source, "resolved_revision", "revision") if source is not None else None
    requested = _get(source, "requested_revision") if source is not None else None
    if resolved is None and record is not None:
        resolved = _get(record, "resolved_revision", "revision")
    if resolved is not None:
        rev = clean(resolved)
        if requested is not None and str(requested) != str(resolved):
            rev += f" (requested {clean(requested)})"
        facts.append(("revision", rev))
    digest = _get(manifest, "root_digest") if manifest is not None else None
    if digest is None and record is not None:
        digest = _get(record, "root_digest")
    if digest is not None:
        facts.append(("root digest", clean(digest)))
    if manifest is not None and hasattr(manifest, "files"):
        facts.append(
            (
                "content",
                f"{plural(len(manifest.files), 'file')}, {human_bytes(manifest.total_bytes)}",
            )
        )
    dvc = _get(manifest, "dvc_md5") if manifest is not None else None
    if dvc is not None:
        facts.append(("dvc id", clean(dvc)))
    baseline = _get(result, "baseline")
    if isinstance(baseline, str):
        facts.append(("baseline", clean(baseline)))
    data = _get(record, "data") if record is not None else None
    run = data.get("run") if isinstance(data, Mapping) else None
    trust = run.get("trust") if isinstance(run, Mapping) else None
    if isinstance(trust, Mapping) and trust:
        facts.append(("hub trust", hub_trust_text(trust)))
    where = _get(result, "record_path", "path") or (
        _get(record, "path") if record is not None else None
    )
    if where is not None:
        facts.append(("record", clean(where)))
    return facts


def hub_trust_text(trust: Mapping[str, Any]) -> str:
    """Return the Hub trust signals on one line: publisher, ages, downloads, likes, licence,
    gating and card (absent signals are left out). Never raises."""
    def day(key: str) -> str | None:
        v = trust.get(key)
        return str(v)[:10] if v else None

    parts = []
    who = trust.get("author") or trust.get("owner")
    if who:
        kind = trust.get("author_type")
        since = day("account_created_at")
        extra = ", ".join(x for x in (str(kind) if kind else None, f"account since {since}" if since else None) if x)
        parts.append(f"publisher {who}" + (f" ({extra})" if extra else ""))
    if day("repo_created_at"):
        parts.append(f"repo created {day('repo_created_at')}")
    if day("last_modified"):
        parts.append(f"last modified {day('last_modified')}")
    if isinstance(trust.get("downloads"), int):
        total = trust.get("downloads_all_time")
        parts.append(f"{trust['downloads']:,} downloads" + (f" ({total:,} all time)" if isinstance(total, int) else ""))
    if isinstance(trust.get("likes"), int):
        parts.append(plural(trust["likes"], "like"))
    licenses = trust.get("licenses")
    parts.append("license " + (", ".join(map(str, licenses)) if licenses else "none declared"))
    gated = trust.get("gated")
    parts.append(f"gated {gated}" if gated not in (None, False) else "not gated")
    if trust.get("private"):
        parts.append("private")
    parts.append("card present" if trust.get("card_present") else "no dataset card")
    return clean("; ".join(parts), limit=600)


def ingest_scan(result: object) -> ScanReport | None:
    """Return the ingest's scan report carrying every finding of the ingest.

    An IngestResult's ``findings`` (acquisition and scan findings, after waivers) replace the scan
    report's own when present, so a Hub integrity mismatch is shown with the scan findings.
    """
    scan: ScanReport | None = getattr(result, "scan", None)
    findings = getattr(result, "findings", None)
    if scan is not None and findings:
        return dataclasses.replace(scan, findings=tuple(findings))
    return scan


def ingest_target(
    facts: Sequence[tuple[str, str]], scan: ScanReport | None, check: CheckReport | None
) -> str:
    """Return the name an ingest is shown under (cleaned): the dataset name from ``facts``
    (:func:`ingest_identity`), else what was scanned, else what was checked. Never raises."""
    name = next((v for k, v in facts if k == "dataset"), None)
    if name:
        return name
    if scan is not None:
        return clean(scan.target)
    return clean(check.dataset) if check is not None else "dataset"


def render_ingest(result: Any) -> str:
    """Return the text summary of an ingest: verdict, identity, blocking findings and checks, counts.

    ``result`` is the pipeline's IngestResult (duck-typed on ``.manifest``, ``.scan``, ``.check``,
    ``.decision``, ``.record``); a missing scan or check is shown as not run. Never raises for
    a well-formed result.
    """
    decision: GateDecision = result.decision
    scan = ingest_scan(result)
    check: CheckReport | None = getattr(result, "check", None)
    facts = ingest_identity(result)
    target = ingest_target(facts, scan, check)
    nf, nc = len(decision.blocking_findings), len(decision.blocking_checks)
    if decision.passed:
        head = f"PASS  ingest {target}: nothing blocking ({_threshold(decision)})"
    else:
        parts = []
        if nf:
            parts.append(plural(nf, "blocking finding"))
        if nc:
            parts.append(plural(nc, "blocking check"))
        what = ", ".join(parts) or (
            "; ".join(clean(r) for r in decision.reasons) or "the gate failed"
        )
        head = f"FAIL  ingest {target}: {what} ({_threshold(decision)})"
    lines = [head, ""]
    width = max((len(k) for k, _ in facts), default=0)
    lines += [f"  {k + ':':<{width + 1}} {v}" for k, v in facts]
    if scan is not None:
        scan_decision = GateDecision(
            not decision.blocking_findings, decision.threshold, decision.blocking_findings
        )
        lines += [
            "",
            "== scan ==",
            scan_verdict(scan, scan_decision),
            *_scan_body(scan, scan_decision),
        ]
    else:
        lines += ["", "== scan ==", "not run"]
    if check is not None:
        check_decision = GateDecision(
            not decision.blocking_checks,
            decision.threshold,
            blocking_checks=decision.blocking_checks,
        )
        lines += [
            "",
            "== check ==",
            check_verdict(check, check_decision),
            *_check_body(check, check_decision),
        ]
    else:
        lines += ["", "== check ==", "not run"]
    if decision.reasons:
        lines += ["", "Reasons:", *(f"  {clean(r)}" for r in decision.reasons)]
    return "\n".join(lines) + "\n"


def render_verify(result: object) -> str:
    """Return the text summary of ``datagate verify``: OK/FAIL line, each difference, counts.

    ``result`` is :class:`datagate.inventory.verify.VerifyResult` (duck-typed: ``target``,
    ``manifest_path``, ``expected_digest``, ``actual_digest``, ``differences`` of items with
    ``path``, ``change``, ``expected``, ``actual``). Never raises for a well-formed result.
    """
    target = clean(getattr(result, "target", "?"))
    manifest = clean(getattr(result, "manifest_path", "?"))
    diffs: Sequence[Any] = tuple(getattr(result, "differences", ()))
    expected = clean(getattr(result, "expected_digest", ""))
    actual = clean(getattr(result, "actual_digest", ""))
    if not diffs:
        lines = [f"PASS  verify {target}: matches {manifest}", "", f"root {actual}"]
        return "\n".join(lines) + "\n"
    lines = [f"FAIL  verify {target}: {plural(len(diffs), 'difference')} from {manifest}", ""]
    counts: dict[str, int] = {}
    for d in diffs[: MAX_LISTED * 4]:
        change = getattr(getattr(d, "change", None), "value", getattr(d, "change", "?"))
        counts_key = str(change)
        was, now = getattr(d, "expected", None), getattr(d, "actual", None)
        detail = ""
        if counts_key in ("content", "mode", "target", "kind"):
            detail = f"  {clean(_short(was))} -> {clean(_short(now))}"
        lines.append(f"  {counts_key.upper():<8} {clean(getattr(d, 'path', '?'))}{detail}")
    if len(diffs) > MAX_LISTED * 4:
        lines.append(f"  ... and {len(diffs) - MAX_LISTED * 4} more (use --format json for all)")
    for d in diffs:
        change = getattr(getattr(d, "change", None), "value", getattr(d, "change", "?"))
        counts[str(change)] = counts.get(str(change), 0) + 1
    lines += [
        "",
        "Differences: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())),
        f"root expected {expected}",
        f"root actual   {actual}",
    ]
    return "\n".join(lines) + "\n"


def _short(value: object) -> str:
    """Return a digest shortened to 12 hex characters; other values unchanged."""
    if value is None:
        return "-"
    s = str(value)
    if re.fullmatch(r"(sha256:)?[0-9a-f]{64}", s):
        return s[:19] + "…" if s.startswith("sha256:") else s[:12] + "…"
    return s
