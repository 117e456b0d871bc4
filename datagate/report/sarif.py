"""SARIF 2.1.0 output of a scan, for code-scanning UIs (GitHub, Azure DevOps, VS Code viewers).

One run; ``tool.driver.rules`` holds one rule per rule id seen, with help text for its hazard
family; each finding is a result whose level follows its severity (critical/high -> ``error``,
medium -> ``warning``, low/info -> ``note``). The outer file is the physical location (its URI
relative to the scanned root, base id ``SCANROOT``); a member inside a container is a logical
location and is repeated in the result's properties. ``partialFingerprints`` depend only on the
rule, path, member and evidence, so the same finding keeps its identity across runs. Waived findings
carry an accepted external suppression with the waiver's reason. Skipped entries become tool
execution notifications, so nothing that was not inspected disappears.

>>> import json
>>> from datagate.models import ScanReport
>>> doc = json.loads(render_sarif(ScanReport("data/", "sha256:" + "0" * 64, (), (), 0, 0)))
>>> doc["version"], doc["runs"][0]["tool"]["driver"]["name"]
('2.1.0', 'datagate')
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from datagate.models import CheckReport, CheckResult, CheckStatus, Finding, ScanReport, Severity

__all__ = [
    "CHECK_RULE_PREFIX",
    "INDENT_MAX_RESULTS",
    "SARIF_SCHEMA",
    "SARIF_VERSION",
    "check_results",
    "level_for",
    "render_check_sarif",
    "render_sarif",
    "sarif_dict",
]

SARIF_VERSION = "2.1.0"
"""The SARIF version emitted."""
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
"""The ``$schema`` URI written into every log."""

_FINGERPRINT_KEY = "datagateFinding/v1"
INDENT_MAX_RESULTS = 5_000
"""Logs with more results than this are written compact (no indentation)."""

_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}

# GitHub code scanning ranks security alerts by this property (0.0-10.0):
# >= 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low.
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "2.0",
    Severity.INFO: "0.0",
}

_FAMILY_HELP: Mapping[str, tuple[str, str]] = {
    "pickle": (
        "A pickle stream can run code when it is loaded.",
        "Pickle-based files (raw pickles, PyTorch checkpoints, joblib dumps, numpy object arrays) "
        "import and call the globals named in their opcode stream when unpickled. datagate "
        "simulated the unpickler without loading the file; the evidence lists the globals it "
        # Advice text for the reader, not a call: datagate never loads the files it reports.
        "would import and call. Do not load the file with pickle, torch.load(weights_only=False), "
        "joblib.load or numpy.load(allow_pickle=True). Ask the publisher for a data-only format "
        "(parquet, Arrow, safetensors, numeric .npy) or review the globals and waive the file at "
        "its SHA-256 in the policy file.",
    ),
    "container": (
        "An archive or compressed stream hides or abuses its members.",
        "Archives are read without extracting them. This rule fires on path abuse (.., absolute "
        "paths, links that escape, devices), decompression bombs, malformed or ambiguous headers "
        "that loaders read differently from scanners, and members that could not be inspected. "
        "Do not extract the archive with a tool that trusts its paths; ask for a clean archive or "
        "review the members listed in the evidence.",
    ),
    "executable": (
        "A native executable or a file with the execute bit sits in the dataset.",
        "Executables (ELF, PE, Mach-O) are recognised by their bytes under any name. A dataset "
        "has no reason to ship one; remove it, or review it and waive it at its SHA-256.",
    ),
    "script": (
        "A script in the dataset can run code when it is loaded or installed.",
        "Shell, batch, PowerShell and Python files (including Hub loading scripts and setup.py) "
        "are parsed, never run. The evidence names the process, network, exec/eval, dynamic "
        "import or obfuscation constructs found. Load the data without the script "
        "(no trust_remote_code) or review the script and waive it at its SHA-256.",
    ),
    "notebook": (
        "A notebook carries code cells, shell escapes or script-bearing outputs.",
        "Notebook code runs when the notebook is executed and some outputs (HTML, JavaScript) "
        "run when it is rendered. Review the cells named in the evidence before opening it in "
        "a trusted environment.",
    ),
    "repo": (
        "The repository layout breaks trust: escaping symlinks, LFS pointers or disguised files.",
        "Symlinks pointing outside the root, Git LFS pointer files where content should be, and "
        "files whose content does not match their data extension are reported here. Fetch the "
        "real content or remove the entry.",
    ),
    "integrity": (
        "A file could not be parsed or inspected, so it cannot be vouched for.",
        "datagate fails closed: a malformed, truncated or over-limit file is a finding rather "
        "than a silent pass. Re-download the file or raise the limit in the policy if the "
        "file is known good.",
    ),
    "trust": (
        "A trust signal about the dataset's source failed.",
        "The source, revision or publisher did not meet the trust rules of the policy file.",
    ),
}

_DEFAULT_HELP = (
    "A hazard was found in the dataset.",
    "Review the finding's evidence; if the file is safe, waive it at its SHA-256 in the policy file.",
)

_WAIVER_HINT = (
    "To accept a reviewed file, add a waiver to the policy file naming its path, its sha256 and "
    "the reason; a changed file is no longer waived."
)


def level_for(severity: Severity) -> str:
    """Return the SARIF ``level`` for ``severity``: error, warning or note."""
    return _LEVEL[severity]


def _family(finding: Finding) -> str:
    return finding.category or finding.rule.split(".", 1)[0]


def _rule_name(rule: str) -> str:
    """Return a PascalCase name for a dotted rule id (SARIF recommends an identifier-like name)."""
    parts = [
        p for chunk in rule.replace("-", ".").replace("_", ".").split(".") for p in [chunk] if p
    ]
    return "".join(p[:1].upper() + p[1:] for p in parts) or "Finding"


def _rule(rule: str, findings: list[Finding]) -> dict[str, Any]:
    first = findings[0]
    family = _family(first)
    short, full = _FAMILY_HELP.get(family, _DEFAULT_HELP)
    worst = max(f.severity for f in findings)
    help_text = f"{full}\n\n{_WAIVER_HINT}"
    help_md = f"**{rule}** ({family})\n\n{full}\n\nExample: {first.message}\n\n{_WAIVER_HINT}"
    return {
        "id": rule,
        "name": _rule_name(rule),
        "shortDescription": {"text": f"{rule}: {short}"},
        "fullDescription": {"text": full},
        "help": {"text": help_text, "markdown": help_md},
        "defaultConfiguration": {"level": level_for(worst)},
        "properties": {
            "category": family,
            "tags": sorted({"security", "datagate", family}),
            "precision": "high",
            "security-severity": _SECURITY_SEVERITY[worst],
        },
    }


def _uri(path: str) -> str:
    return quote(path, safe="/")


def _identity(finding: Finding) -> tuple[str, str]:
    """Return (identity key, evidence JSON): what a finding's fingerprint is derived from."""
    evidence = json.dumps(finding.evidence, sort_keys=True, default=str, separators=(",", ":"))
    key = "\0".join([finding.rule, finding.path, finding.member or "", evidence])
    return key, evidence


def _fingerprint(key: str, ordinal: int) -> str:
    data = f"{key}\0{ordinal}".encode("utf-8", "surrogateescape")
    return hashlib.sha256(data).hexdigest()


def _result(finding: Finding, rule_index: int, fingerprint: str, evidence: str) -> dict[str, Any]:
    text = finding.message
    if finding.member is not None:
        text = f"{text} (in {finding.path} :: {finding.member})"
    location: dict[str, Any] = {
        "physicalLocation": {
            "artifactLocation": {"uri": _uri(finding.path), "uriBaseId": "SCANROOT"},
        }
    }
    if finding.member is not None:
        location["logicalLocations"] = [
            {
                "name": finding.member.rstrip("/").rsplit("/", 1)[-1],
                "fullyQualifiedName": f"{finding.path}/{finding.member}",
                "kind": "member",
            }
        ]
    properties: dict[str, Any] = {
        "category": finding.category,
        "severity": finding.severity.value,
        "member": finding.member,
        "evidence": json.loads(evidence),
    }
    out: dict[str, Any] = {
        "ruleId": finding.rule,
        "ruleIndex": rule_index,
        "level": level_for(finding.severity),
        "message": {"text": text},
        "locations": [location],
        "partialFingerprints": {_FINGERPRINT_KEY: fingerprint},
        "properties": properties,
    }
    if finding.waived is not None:
        out["suppressions"] = [
            {"kind": "external", "status": "accepted", "justification": finding.waived}
        ]
    return out


def sarif_dict(report: ScanReport, *, version: str | None = None) -> dict[str, Any]:
    """Return the SARIF 2.1.0 log of ``report`` as a JSON-ready dict (one run).

    ``version`` is datagate's version (default: the installed package's). Never raises for a
    well-formed report.
    """
    if version is None:
        import datagate

        version = datagate.__version__
    by_rule: dict[str, list[Finding]] = {}
    for f in report.findings:
        by_rule.setdefault(f.rule, []).append(f)
    rule_ids = sorted(by_rule)
    index = {r: i for i, r in enumerate(rule_ids)}
    seen: dict[str, int] = {}
    results = []
    for f in report.findings:
        key, evidence = _identity(f)
        ordinal = seen.get(key, 0)
        seen[key] = ordinal + 1
        results.append(_result(f, index[f.rule], _fingerprint(key, ordinal), evidence))
    notifications = [
        {
            "level": "warning",
            "message": {
                "text": f"not inspected: {s.path}"
                + (f" :: {s.member}" if s.member else "")
                + f": {s.reason}"
            },
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": _uri(s.path), "uriBaseId": "SCANROOT"}
                    }
                }
            ],
            "descriptor": {"id": "datagate.skipped"},
            "properties": {"member": s.member, "reason": s.reason},
        }
        for s in report.skipped
    ]
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "datagate",
                        "version": version,
                        "semanticVersion": version,
                        "rules": [_rule(r, by_rule[r]) for r in rule_ids],
                    }
                },
                "originalUriBaseIds": {
                    "SCANROOT": {"description": {"text": f"The scanned root: {report.target}"}}
                },
                "invocations": [
                    {
                        "executionSuccessful": True,
                        "toolExecutionNotifications": notifications,
                    }
                ],
                "results": results,
                "properties": {
                    "target": report.target,
                    "rootDigest": report.root_digest,
                    "files": report.files,
                    "bytes": report.bytes,
                    "counts": report.counts(),
                    "skipped": len(report.skipped),
                },
            }
        ],
    }


def render_sarif(report: ScanReport) -> str:
    """Return the SARIF 2.1.0 JSON text of ``report`` (sorted keys, trailing newline).

    Indented for reading up to :data:`INDENT_MAX_RESULTS` results, compact beyond (a huge log
    is for machines, and indentation would double its size). Never raises for a well-formed
    report.
    """
    indent = 2 if len(report.findings) <= INDENT_MAX_RESULTS else None
    return json.dumps(sarif_dict(report), indent=indent, sort_keys=True, ensure_ascii=False) + "\n"


# -- data-quality checks ------------------------------------------------------------------

CHECK_RULE_PREFIX = "check."
"""Check results are SARIF rules ``check.<check id>`` (e.g. ``check.duplicates.cross_split``), so
they never collide with scan rule ids in one log."""

_CHECK_HELP: Mapping[str, str] = {
    "schema": "The columns or their types differ between splits or from the baseline version.",
    "label_distribution": "A class is rare, missing or unseen in some split (class imbalance), "
    "or no label column was found.",
    "label_drift": "The label distribution moved against the baseline version.",
    "duplicates.within_split": "Rows repeat within a split; they over-weight those examples.",
    "duplicates.cross_split": "Rows of a later split (validation, test) also occur in an earlier "
    "one: train/test leakage inflates evaluation scores.",
    "near_duplicates.cross_split": "Texts of a later split nearly repeat texts of an earlier one "
    "(MinHash similarity): near-duplicate leakage.",
    "outliers": "Values far outside the column's distribution (robust z-score / IQR).",
    "nulls": "A column's null rate spikes in some split or against the baseline.",
    "conflicting_labels": "Identical features carry different labels.",
    "backdoor_triggers": "A rare token or feature value almost always carries one label while the "
    "rest of its rows points elsewhere: a likely planted backdoor trigger (data poisoning).",
    "label_errors": "Rows whose label disagrees with out-of-fold model predictions (confident "
    "learning): likely mislabelled.",
}

_ROW_FORMATS = (".csv", ".tsv", ".jsonl", ".ndjson")


def _check_level(result: CheckResult) -> str:
    if result.status in (CheckStatus.FAIL, CheckStatus.ERROR):
        return "error"
    return "warning" if result.severity >= Severity.MEDIUM else "note"


def _split_files(report: CheckReport, split: str) -> list[tuple[str, int | None]]:
    """Return ``[(file, rows or None)]`` of ``split`` in file order."""
    info = report.splits.get(split)
    if not isinstance(info, Mapping):
        return []
    raw = info.get("file_rows")
    counts: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    files = [str(f) for f in info.get("files") or []]
    return [(f, int(counts[f]) if f in counts else None) for f in files]


def _locate_row(report: CheckReport, split: str, row: int) -> tuple[str, int] | None:
    """Return ``(file, 0-based row in that file)`` for a split row, or None when unknown."""
    files = _split_files(report, split)
    if len(files) == 1:
        return files[0][0], row
    start = 0
    for f, n in files:
        if n is None:
            return None
        if row < start + n:
            return f, row - start
        start += n
    return None


def _row_refs(observed: Mapping[str, Any]) -> list[tuple[str, int]]:
    refs: list[tuple[str, int]] = []

    def add(ref: Any) -> None:
        if isinstance(ref, Mapping) and isinstance(ref.get("split"), str) and isinstance(ref.get("row"), int):
            refs.append((ref["split"], ref["row"]))

    for ref in observed.get("rows") or ():
        add(ref)
    for pair in observed.get("pairs") or ():
        if isinstance(pair, Mapping):
            add(pair.get("a"))
            add(pair.get("b"))
    return refs


def _row_locations(report: CheckReport, observed: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One location per file holding evidence rows, with the row range (0-based, file order)."""
    by_file: dict[str, list[int]] = {}
    split_of: dict[str, str] = {}
    for split, row in _row_refs(observed):
        where = _locate_row(report, split, row)
        if where is None:
            continue
        by_file.setdefault(where[0], []).append(where[1])
        split_of[where[0]] = split
    out = []
    for f in sorted(by_file):
        rows = sorted(set(by_file[f]))
        loc: dict[str, Any] = {
            "physicalLocation": {"artifactLocation": {"uri": _uri(f), "uriBaseId": "SCANROOT"}},
            "logicalLocations": [
                {
                    "name": f"rows {rows[0]}-{rows[-1]}",
                    "fullyQualifiedName": f"{split_of[f]}/{f}[{rows[0]}:{rows[-1] + 1}]",
                    "kind": "element",
                }
            ],
            "properties": {"split": split_of[f], "firstRow": rows[0], "lastRow": rows[-1], "rows": rows[:50]},
        }
        if f.lower().endswith(_ROW_FORMATS):
            # line-oriented files: a row's line assumes one row per line and a CSV header line
            header = 1 if f.lower().endswith((".csv", ".tsv")) else 0
            loc["physicalLocation"]["region"] = {"startLine": rows[0] + 1 + header, "endLine": rows[-1] + 1 + header}
        out.append(loc)
    return out


def _file_locations(report: CheckReport, observed: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The files of the splits the result names (all splits when it names none)."""
    named = [s for s in report.splits if any(isinstance(v, Mapping) and s in v for v in observed.values())]
    files = [f for s in (named or list(report.splits)) for f, _ in _split_files(report, s)]
    return [
        {"physicalLocation": {"artifactLocation": {"uri": _uri(f), "uriBaseId": "SCANROOT"}}}
        for f in files[:10]
    ]


def _check_rule(check_id: str, results: list[CheckResult]) -> dict[str, Any]:
    full = _CHECK_HELP.get(check_id.split(".")[0] if check_id.startswith("gx.") else check_id)
    if full is None:
        full = (
            f"Great Expectations suite {check_id[3:]!r} has failing expectations."
            if check_id.startswith("gx.")
            else "A data-quality check found a problem."
        )
    worst = max(r.severity for r in results)
    rid = CHECK_RULE_PREFIX + check_id
    return {
        "id": rid,
        "name": _rule_name(rid),
        "shortDescription": {"text": f"{check_id}: {full.split(':')[0].rstrip('.')}."},
        "fullDescription": {"text": full},
        "help": {
            "text": f"{full}\n\nThresholds and severities are set per check id in the policy file (checks:).",
            "markdown": f"**{check_id}** (data quality)\n\n{full}\n\nExample: {results[0].message}",
        },
        "defaultConfiguration": {"level": _check_level(results[0])},
        "properties": {
            "category": "quality",
            "tags": sorted({"data-quality", "datagate"}),
            "precision": "medium",
            "security-severity": _SECURITY_SEVERITY[worst],
        },
    }


def check_results(report: CheckReport) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Return ``(rules, results)`` for the failed, errored and warned checks of ``report``.

    Each result names its check rule (``check.<id>``), carries the check's status, severity,
    counts and evidence in its properties, and is located at the files holding the evidence rows
    (with the row range) or, without row evidence, at the files of the splits it concerns.
    Passed and skipped checks are left out. Never raises for a well-formed report.
    """
    flagged = [c for c in report.checks if c.status in (CheckStatus.FAIL, CheckStatus.ERROR, CheckStatus.WARN)]
    by_id: dict[str, list[CheckResult]] = {}
    for c in flagged:
        by_id.setdefault(c.id, []).append(c)
    rules = [_check_rule(cid, rs) for cid, rs in sorted(by_id.items())]
    index = {CHECK_RULE_PREFIX + cid: i for i, (cid, _) in enumerate(sorted(by_id.items()))}
    results = []
    for c in flagged:
        observed = c.observed if isinstance(c.observed, Mapping) else {}
        locations = _row_locations(report, observed) or _file_locations(report, observed)
        rid = CHECK_RULE_PREFIX + c.id
        key = "\0".join([rid, json.dumps([loc["physicalLocation"]["artifactLocation"]["uri"] for loc in locations])])
        results.append(
            {
                "ruleId": rid,
                "ruleIndex": index[rid],
                "level": _check_level(c),
                "message": {"text": f"{c.id} {c.status.value}: {c.message}"},
                "locations": locations,
                "partialFingerprints": {_FINGERPRINT_KEY: _fingerprint(key, 0)},
                "properties": {
                    "status": c.status.value,
                    "severity": c.severity.value,
                    "count": observed.get("count"),
                    "observed": json.loads(json.dumps(observed, default=str)),
                },
            }
        )
    return rules, results


def _merge_checks(doc: dict[str, Any], report: CheckReport) -> dict[str, Any]:
    run = doc["runs"][0]
    rules, results = check_results(report)
    offset = len(run["tool"]["driver"]["rules"])
    for r in results:
        r["ruleIndex"] += offset
    run["tool"]["driver"]["rules"] += rules
    run["results"] += results
    run["properties"]["checks"] = {
        s.value: sum(1 for c in report.checks if c.status is s) for s in CheckStatus
    }
    return doc


def render_check_sarif(report: CheckReport, scan: ScanReport | None = None) -> str:
    """Return one SARIF 2.1.0 log with ``scan``'s findings (when given) and the failed, errored
    and warned checks of ``report`` as results. Never raises for well-formed reports."""
    base = scan if scan is not None else ScanReport(report.dataset, "", (), (), 0, 0)
    doc = _merge_checks(sarif_dict(base), report)
    if scan is None:
        run = doc["runs"][0]
        for k in ("rootDigest", "files", "bytes", "counts", "skipped"):
            run["properties"].pop(k, None)
    indent = 2 if len(doc["runs"][0]["results"]) <= INDENT_MAX_RESULTS else None
    return json.dumps(doc, indent=indent, sort_keys=True, ensure_ascii=False) + "\n"
