"""Helpers for lineage tests: a small real tree, stage results as models, schema validators."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema

from datagate.lineage.record import LineageRecord
from datagate.models import (
    CheckReport,
    CheckResult,
    CheckStatus,
    Finding,
    GateDecision,
    Manifest,
    ScanReport,
    Severity,
    Skip,
)

SCHEMAS = Path(__file__).parent / "schemas"

RecordFor = Callable[..., tuple[LineageRecord, bytes, Manifest]]
"""The type of the ``record_for`` fixture."""


def load_validator(name: str) -> jsonschema.Draft202012Validator:
    """Return a validator (with format checks) for a schema file under ``schemas/``."""
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def make_tree(root: Path, rows: int = 3, extra: dict[str, str] | None = None) -> Path:
    """Write a tiny two-split CSV dataset under ``root`` and return it."""
    (root / "data").mkdir(parents=True, exist_ok=True)
    train = "text,label\n" + "".join(f"row {i},{'pos' if i % 2 else 'neg'}\n" for i in range(rows))
    (root / "data" / "train.csv").write_text(train)
    (root / "data" / "test.csv").write_text("text,label\nheld out,pos\n")
    for rel, content in (extra or {}).items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(content)
    return root


def results(manifest: Manifest, *, hostile: bool = False) -> tuple[ScanReport, CheckReport, GateDecision]:
    """Return stage results shaped as the scan and check stages return them."""
    findings: tuple[Finding, ...] = ()
    if hostile:
        findings = (Finding("data/evil.pkl", "pickle.global.unsafe", "pickle", Severity.CRITICAL, "os.system"),)
    scan = ScanReport(
        "t", manifest.root_digest, findings, (Skip("data/big.bin", "over size limit"),),
        len(manifest.files), manifest.total_bytes,
    )
    checks = (
        CheckResult("schema", CheckStatus.PASS, Severity.HIGH, "ok"),
        CheckResult("label_distribution", CheckStatus.WARN, Severity.LOW, "imbalanced",
                    {"counts": {"train": {"neg": 2, "pos": 1}, "test": {"pos": 1}}}),
        CheckResult("duplicates.cross_split", CheckStatus.FAIL if hostile else CheckStatus.PASS, Severity.HIGH, "x"),
    )
    check = CheckReport(
        "t", checks,
        {"train": {"rows": 3, "files": ["data/train.csv"], "schema": {"label": "string", "text": "string"}},
         "test": {"rows": 1, "files": ["data/test.csv"], "schema": {"label": "string", "text": "string"}}},
        "label", "name",
    )
    blocking = findings
    decision = GateDecision(not hostile, Severity.HIGH, blocking, tuple(c for c in checks if c.status is CheckStatus.FAIL))
    return scan, check, decision


def run_block(n: int = 0) -> dict[str, Any]:
    """Return a run block; ``n`` varies the run-specific facts."""
    return {
        "invocation_id": f"inv-{n}",
        "started_at": f"2026-01-01T00:00:{n:02d}.000000Z",
        "finished_at": f"2026-01-01T00:00:{n:02d}.500000Z",
        "duration_s": 0.5,
        "host": f"host{n}",
        "tools": {"datagate": "0.1.0", "python": "3.11"},
    }
