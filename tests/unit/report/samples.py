"""Report inputs shaped like real scan/check results, shared by the report tests.

Findings carry the rule ids, categories, members and evidence the scanners produce for the
hostile fixture families (pickle globals, zip members, ELF binaries, loader scripts); checks carry
the ids and observed shapes of DESIGN.md's check contract. :func:`real_scan` and
:func:`real_check` run the real stages on generated data when those stages are importable.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
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

DIGEST = "sha256:" + "3f5a9c" + "0" * 58

HOSTILE_NAME = (
    "raw/\x1b[2Jevil\nname [x](http://evil.example) @octocat <script>alert(1)</script>|.pkl"
)
"""A file name an attacker picks to break terminals, Markdown and HTML."""


def findings() -> tuple[Finding, ...]:
    """Return findings like the scanners emit for a mixed hostile tree."""
    return (
        Finding(
            "models/model.pt",
            "pickle.global.unsafe",
            "pickle",
            Severity.CRITICAL,
            "pickle calls posix.system: loading this file runs a shell command",
            member="archive/data.pkl",
            evidence={"globals": ["posix.system"], "opcode_offset": 57},
        ),
        Finding(
            "raw/archive.zip",
            "executable.elf",
            "executable",
            Severity.HIGH,
            "ELF executable inside an archive",
            member="inner.tar.gz/bin/helper",
            evidence={"magic": "7f454c46", "machine": "x86-64"},
        ),
        Finding(
            "loader.py",
            "script.python.process",
            "script",
            Severity.HIGH,
            "loading script starts a process (subprocess.run)",
            evidence={"calls": ["subprocess.run"], "line": 12},
            waived="reviewed: runs `git lfs pull` only (ticket DATA-12)",
        ),
        Finding(
            "data/frame.pkl",
            "pickle.global.allowed",
            "pickle",
            Severity.LOW,
            "pickle imports allowlisted globals only",
            evidence={
                "globals": ["pandas.core.frame.DataFrame", "numpy.core.multiarray._reconstruct"]
            },
        ),
        Finding(
            HOSTILE_NAME,
            "repo.extension_mismatch",
            "repo",
            Severity.MEDIUM,
            f"{HOSTILE_NAME} claims .pkl but is text",
        ),
    )


def skips() -> tuple[Skip, ...]:
    """Return skips like the container scanner emits."""
    return (
        Skip("raw/secret.7z", "encrypted 7z archive: members cannot be read", member=None),
        Skip("raw/archive.zip", "member over the size limit (600 MB > 512 MB)", member="big.bin"),
    )


def scan_report() -> ScanReport:
    """Return a scan report with mixed findings, a waived one and skips."""
    return ScanReport("data/", DIGEST, findings(), skips(), files=42, bytes=3_400_000)


def scan_decision(report: ScanReport, threshold: Severity = Severity.HIGH) -> GateDecision:
    """Return the decision the gate makes: unwaived findings at or above ``threshold`` block."""
    blocking = tuple(f for f in report.findings if f.waived is None and f.severity >= threshold)
    return GateDecision(not blocking, threshold, blocking_findings=blocking)


def checks() -> tuple[CheckResult, ...]:
    """Return check results in DESIGN.md's shape, with chart-worthy observations."""
    return (
        CheckResult("schema", CheckStatus.PASS, Severity.INFO, "schema matches the baseline"),
        CheckResult(
            "label_distribution",
            CheckStatus.WARN,
            Severity.MEDIUM,
            "class 'neutral' is 4% of train",
            {
                "count": 1,
                "per_split": {
                    "train": {"negative": 480, "positive": 480, "neutral": 40},
                    "test": {"negative": 110, "positive": 80, "neutral": 10},
                },
            },
        ),
        CheckResult(
            "label_drift",
            CheckStatus.FAIL,
            Severity.HIGH,
            "label distribution drifted from the baseline (JS distance 0.21 > 0.1)",
            {
                "baseline": {"negative": 500, "positive": 450, "neutral": 50},
                "current": {"negative": 590, "positive": 560, "neutral": 50},
                "chi2": 12.5,
                "p_value": 0.0019,
                "js_distance": 0.21,
            },
        ),
        CheckResult(
            "duplicates.cross_split",
            CheckStatus.FAIL,
            Severity.HIGH,
            "12 rows of test also occur in train (leakage)",
            {
                "count": 12,
                "pairs": [{"split": "test", "row": 3, "other_split": "train", "other_row": 17}],
            },
        ),
        CheckResult(
            "duplicates.within_split",
            CheckStatus.WARN,
            Severity.MEDIUM,
            "3 repeated rows in train",
            {"count": 3, "rows": [{"split": "train", "row": 9}]},
        ),
        CheckResult(
            "nulls",
            CheckStatus.WARN,
            Severity.LOW,
            "column 'score' is 7.5% null",
            {"count": 1, "rates": {"text": 0.0, "label": 0.0, "score": 0.075, "id": 0.0}},
        ),
        CheckResult(
            "outliers",
            CheckStatus.WARN,
            Severity.MEDIUM,
            "4 rows of 'score' are far from the median",
            {
                "count": 4,
                "columns": {
                    "score": {
                        "count": 4,
                        "low": -3.0,
                        "high": 3.0,
                        "histogram": {
                            "edges": [-6, -4, -2, 0, 2, 4, 6, 8],
                            "counts": [1, 20, 300, 320, 25, 2, 1],
                        },
                    }
                },
            },
        ),
        CheckResult(
            "near_duplicates.cross_split",
            CheckStatus.SKIPPED,
            Severity.INFO,
            "no --text column given",
        ),
        CheckResult(
            "gx.sample",
            CheckStatus.ERROR,
            Severity.HIGH,
            "suite expectations/sample.json: not a GX suite",
        ),
    )


def check_report() -> CheckReport:
    """Return a check report of a two-split labelled dataset."""
    return CheckReport(
        "data/",
        checks(),
        splits={
            "train": {"rows": 1000, "files": ["data/train-00000.parquet"]},
            "test": {"rows": 200, "files": ["data/test.csv"]},
        },
        label_column="label",
        label_source="ClassLabel",
    )


def check_decision(report: CheckReport, threshold: Severity = Severity.HIGH) -> GateDecision:
    """Return the gate's decision: failed or errored checks at or above ``threshold`` block."""
    blocking = tuple(
        c
        for c in report.checks
        if c.status in (CheckStatus.FAIL, CheckStatus.ERROR) and c.severity >= threshold
    )
    return GateDecision(not blocking, threshold, blocking_checks=blocking)


@dataclasses.dataclass(frozen=True)
class FakeRecord:
    """Stands in for datagate.lineage.record.LineageRecord's accessors (name, source)."""

    name: str
    source: dict[str, Any]
    root_digest: str


def real_record(scan: ScanReport, check: CheckReport, decision: GateDecision) -> Any:
    """Return a real LineageRecord when the lineage module is importable, else a stand-in."""
    try:
        from datagate.acquire.interface import SourceInfo
        from datagate.lineage.record import build_record
        from datagate.models import Manifest
    except ImportError:
        return FakeRecord(
            "reviews",
            {
                "kind": "hf",
                "uri": "hf://datasets/acme/reviews",
                "requested_revision": "main",
                "resolved_revision": "a" * 40,
            },
            DIGEST,
        )
    return build_record(
        name="reviews",
        source=SourceInfo("hf", "hf://datasets/acme/reviews", "main", "a" * 40),
        manifest=Manifest((), DIGEST),
        manifest_path="manifests/reviews.jsonl",
        manifest_sha256="0" * 64,
        scan=scan,
        findings=scan.findings,
        check=check,
        profile=None,
        decision=decision,
        run={"started_at": "2026-11-21T00:00:00Z"},
    )


@dataclasses.dataclass(frozen=True)
class Ingest:
    """The attributes the report renderers read from datagate.pipeline.IngestResult."""

    manifest: Any
    scan: ScanReport
    check: CheckReport
    decision: GateDecision
    record: Any
    record_path: Path


def ingest_result() -> Ingest:
    """Return an ingest result combining :func:`scan_report` and :func:`check_report`."""
    from datagate.models import Manifest

    scan, check = scan_report(), check_report()
    sd, cd = scan_decision(scan), check_decision(check)
    decision = GateDecision(
        sd.passed and cd.passed, Severity.HIGH, sd.blocking_findings, cd.blocking_checks
    )
    return Ingest(
        Manifest((), DIGEST),
        scan,
        check,
        decision,
        real_record(scan, check, decision),
        Path(".datagate/records/reviews/3f5a9c.json"),
    )


def labelled_dataset(root: Path, weights: tuple[float, float, float], seed: int) -> Path:
    """Write a two-split labelled parquet dataset with planted nulls and outliers; return it."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    data = root / "data"
    data.mkdir(parents=True)
    for split, n in (("train", 600), ("test", 150)):
        labels = rng.choice(["negative", "positive", "neutral"], size=n, p=weights)
        score = rng.normal(0, 1, size=n)
        score[:3] = [9.5, -8.0, 12.0]  # planted outliers
        mask = rng.random(n) < 0.08  # planted nulls
        table = pa.table(
            {
                "id": pa.array(np.arange(n) + (0 if split == "train" else 10_000)),
                "text": pa.array([f"review {split} {i}" for i in range(n)]),
                "score": pa.array(score, mask=mask),
                "label": pa.array(labels),
            }
        )
        pq.write_table(table, data / f"{split}-00000-of-00001.parquet")
    return root
