"""Renderings of a ``datagate audit`` report: text, JSON, Markdown and HTML.

Depends only on plain data: ``report`` is :meth:`datagate.lineage.audit.AuditReport.to_dict`.
One row per dataset version: version id, source and commit, record signer, publisher signer,
the gate's decision at intake, status, and what is broken or could not be verified, with why.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["audit_html", "audit_json", "audit_markdown", "audit_text"]


def _short(version: str | None) -> str:
    return (version or "-").removeprefix("sha256:")[:12]


def _src(row: Mapping[str, Any]) -> str:
    src = str(row.get("source") or "-")
    return f"{src}@{str(row['revision'])[:12]}" if row.get("revision") else src


def _signer(row: Mapping[str, Any]) -> str:
    key = row.get("signer")
    if not key:
        return "unsigned"
    mark = {True: " (trusted)", False: " (NOT trusted)", None: ""}[row.get("trusted")]
    return f"{str(key)[:19]}{mark}"


def _summary(report: Mapping[str, Any]) -> str:
    s = report["summary"]
    return f"{s['verified']} verified, {s['unverified']} unverified, {s['broken']} broken"


def audit_text(report: Mapping[str, Any]) -> str:
    """Return the human report: one block per dataset, then the totals."""
    lines = [f"audit of {report['target']}: {_summary(report)}"]
    for row in report["rows"]:
        lines.append(
            f"{row['status'].upper():<10} {row['dataset']}@{_short(row['version'])}  gate {row['gate'] or '-'}"
            f"  source {_src(row)}  record signer {_signer(row)}"
            + (f"  publisher {row['publisher']}" if row.get("publisher") else "")
        )
        for p in row["problems"]:
            lines.append(f"  broken      {p}")
        for u in row["unverified"]:
            lines.append(f"  unverified  {u}")
    return "\n".join(lines) + "\n"


def audit_json(report: Mapping[str, Any]) -> str:
    """Return the report as indented JSON."""
    return json.dumps(report, sort_keys=True, indent=2) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def audit_markdown(report: Mapping[str, Any]) -> str:
    """Return a Markdown table, one row per dataset version."""
    out = [f"# datagate audit: {_md(str(report['target']))}", "", _summary(report), "",
           "| status | dataset | version | source | record signer | gate at intake | not verified / broken |",
           "|---|---|---|---|---|---|---|"]
    for row in report["rows"]:
        notes = "<br>".join(_md(x) for x in [*row["problems"], *row["unverified"]]) or "-"
        out.append(
            f"| {row['status']} | {_md(row['dataset'])} | `{_short(row['version'])}` | {_md(_src(row))} | "
            f"{_md(_signer(row))} | {row['gate'] or '-'} | {notes} |"
        )
    return "\n".join(out) + "\n"


def audit_html(report: Mapping[str, Any]) -> str:
    """Return a self-contained HTML page with the same table (no scripts, escaped text)."""
    e = html.escape
    rows = []
    for row in report["rows"]:
        notes = "".join(f"<li class=broken>{e(p)}</li>" for p in row["problems"])
        notes += "".join(f"<li>{e(u)}</li>" for u in row["unverified"])
        rows.append(
            f"<tr class={e(row['status'])}><td>{e(row['status'])}</td><td>{e(row['dataset'])}</td>"
            f"<td><code>{e(_short(row['version']))}</code></td><td>{e(_src(row))}</td>"
            f"<td>{e(_signer(row))}</td><td>{e(row['gate'] or '-')}</td><td><ul>{notes}</ul></td></tr>"
        )
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>datagate audit: {e(str(report['target']))}</title><style>"
        "body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:.3em .6em;vertical-align:top;text-align:left}"
        "tr.broken td:first-child{background:#fdd}tr.unverified td:first-child{background:#ffd}"
        "tr.verified td:first-child{background:#dfd}li.broken{color:#a00}ul{margin:0;padding-left:1.2em}"
        "</style></head><body>"
        f"<h1>datagate audit: {e(str(report['target']))}</h1><p>{e(_summary(report))}</p>"
        "<table><thead><tr><th>status</th><th>dataset</th><th>version</th><th>source</th>"
        "<th>record signer</th><th>gate at intake</th><th>not verified / broken</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></body></html>\n"
    )
