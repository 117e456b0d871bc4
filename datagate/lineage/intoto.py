"""in-toto Statements (v1) about an ingested dataset version.

Two unsigned statements per ingest, with the same subject (the dataset, by its in-toto ``dirHash``,
and its manifest file, by ``sha256``):

* a provenance statement with an SLSA Provenance v1 predicate (``https://slsa.dev/provenance/v1``):
  which source and revision were acquired, under which policy, by which datagate run;
* a test-result statement (``https://in-toto.io/attestation/test-result/v0.1``) listing the
  checks that passed, warned (warn or skipped: not proven) and failed, plus the scan.

``ingest --sign-key KEY`` (or the policy's ``signing.key``) signs both as DSSE envelopes
(:mod:`datagate.lineage.attest`); otherwise sign them with any in-toto/DSSE tool.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from datagate.lineage.record import LineageRecord
from datagate.models import CheckReport, CheckStatus, GateDecision

__all__ = [
    "BUILD_TYPE",
    "SLSA_PROVENANCE_V1",
    "STATEMENT_V1",
    "TEST_RESULT_V01",
    "provenance_statement",
    "subjects",
    "checks_statement",
]

STATEMENT_V1 = "https://in-toto.io/Statement/v1"
"""The ``_type`` of an in-toto Statement v1."""
SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1"
"""The SLSA Provenance v1 predicate type."""
TEST_RESULT_V01 = "https://in-toto.io/attestation/test-result/v0.1"
"""The in-toto test-result predicate type."""
BUILD_TYPE = "https://datagate.dev/buildtypes/ingest/v1"
"""The SLSA ``buildType`` of a datagate ingest."""


def _hex(digest: str) -> str:
    return digest.split(":", 1)[1] if ":" in digest else digest


def subjects(record: LineageRecord) -> list[dict[str, Any]]:
    """Return the statement subjects: the dataset (``dirHash``) and its manifest (``sha256``)."""
    man = record.data["content"]["manifest"]
    return [
        {"name": record.name, "digest": {"dirHash": _hex(record.version)}},
        {"name": f"{record.name}/{man['path'].rsplit('/', 1)[-1]}", "digest": {"sha256": man["sha256"]}},
    ]


def provenance_statement(record: LineageRecord) -> dict[str, Any]:
    """Return the in-toto Statement v1 with an SLSA Provenance v1 predicate for ``record``."""
    import datagate

    data = record.data
    src: Mapping[str, Any] = data["source"]
    dep: dict[str, Any] = {"uri": src["uri"], "name": "source"}
    if src.get("resolved_revision"):
        dep["digest"] = {"gitCommit": src["resolved_revision"]}
    else:
        dep["digest"] = {"dirHash": _hex(record.version)}
    external: dict[str, Any] = {
        "source": src["uri"],
        "name": record.name,
    }
    if src.get("requested_revision"):
        external["revision"] = src["requested_revision"]
    internal: dict[str, Any] = {"recordDigest": record.digest}
    if data.get("run_digest"):
        internal["runDigest"] = data["run_digest"]
    if data["policy"]["sha256"]:
        internal["policySha256"] = data["policy"]["sha256"]
    if data["parents"]:
        internal["parents"] = data["parents"]
    run = data["run"]
    predicate = {
        "buildDefinition": {
            "buildType": BUILD_TYPE,
            "externalParameters": external,
            "internalParameters": internal,
            "resolvedDependencies": [dep]
            + [
                {"name": f"parent:{p['name']}", "digest": {"dirHash": _hex(p["root_digest"])}}
                for p in data["parents"]
            ],
        },
        "runDetails": {
            "builder": {"id": f"https://datagate.dev/datagate@{datagate.__version__}"},
            "metadata": {
                "invocationId": run["invocation_id"],
                "startedOn": run["started_at"],
                "finishedOn": run["finished_at"],
            },
        },
    }
    return {"_type": STATEMENT_V1, "subject": subjects(record), "predicateType": SLSA_PROVENANCE_V1, "predicate": predicate}


def checks_statement(
    record: LineageRecord, *, check: CheckReport | None, decision: GateDecision
) -> dict[str, Any]:
    """Return the in-toto Statement v1 with a test-result v0.1 predicate for the gate's checks.

    ``result`` is FAILED when the gate failed, WARNED when any check warned or was skipped, else
    PASSED. The scan counts as a test named ``scan``.
    """
    passed: list[str] = []
    warned: list[str] = []
    failed: list[str] = []
    (failed if decision.blocking_findings else passed).append("scan")
    if check is not None:
        for c in check.checks:
            if c.status is CheckStatus.PASS:
                passed.append(c.id)
            elif c.status in (CheckStatus.WARN, CheckStatus.SKIPPED):
                warned.append(c.id)
            else:
                failed.append(c.id)
    if not decision.passed:
        result = "FAILED"
    elif warned or failed:
        result = "WARNED"
    else:
        result = "PASSED"
    config: list[dict[str, Any]] = []
    if record.data["policy"]["sha256"]:
        config.append({"name": "policy", "digest": {"sha256": record.data["policy"]["sha256"]}})
    else:
        config.append({"name": "policy:default", "uri": "https://datagate.dev/policy/default"})
    predicate = {
        "result": result,
        "configuration": config,
        "passedTests": passed,
        "warnedTests": warned,
        "failedTests": failed,
    }
    return {"_type": STATEMENT_V1, "subject": subjects(record), "predicateType": TEST_RESULT_V01, "predicate": predicate}
