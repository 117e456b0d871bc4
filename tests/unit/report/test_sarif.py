"""SARIF content: levels, rules with help, locations with member chains, fingerprints, waivers."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from datagate.models import Finding, ScanReport, Severity
from datagate.report.sarif import level_for, render_sarif
from tests.unit.report import samples


def _run(report: ScanReport) -> dict[str, Any]:
    doc = json.loads(render_sarif(report))
    assert doc["version"] == "2.1.0"
    assert len(doc["runs"]) == 1
    run: dict[str, Any] = doc["runs"][0]
    return run


def test_levels_follow_severity() -> None:
    assert [level_for(s) for s in Severity] == ["note", "note", "warning", "error", "error"]
    run = _run(samples.scan_report())
    by_rule = {r["ruleId"]: r["level"] for r in run["results"]}
    assert by_rule == {
        "pickle.global.unsafe": "error",
        "executable.elf": "error",
        "script.python.process": "error",
        "pickle.global.allowed": "note",
        "repo.extension_mismatch": "warning",
    }


def test_one_rule_per_rule_id_with_help_and_valid_rule_index() -> None:
    report = samples.scan_report()
    dup = dataclasses.replace(report.findings[0], path="models/other.pt")
    report = dataclasses.replace(report, findings=(*report.findings, dup))
    run = _run(report)
    rules = run["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert ids == sorted(set(f.rule for f in report.findings))
    for rule in rules:
        assert rule["help"]["text"] and rule["help"]["markdown"]
        assert rule["shortDescription"]["text"].startswith(rule["id"])
    assert (
        "torch.load" in next(r for r in rules if r["id"] == "pickle.global.unsafe")["help"]["text"]
    )
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    assert (
        next(r for r in rules if r["id"] == "pickle.global.unsafe")["properties"][
            "security-severity"
        ]
        == "9.5"
    )


def test_location_uri_is_the_outer_path_and_member_is_a_logical_location() -> None:
    run = _run(samples.scan_report())
    elf = next(r for r in run["results"] if r["ruleId"] == "executable.elf")
    loc = elf["locations"][0]
    assert loc["physicalLocation"]["artifactLocation"] == {
        "uri": "raw/archive.zip",
        "uriBaseId": "SCANROOT",
    }
    assert (
        loc["logicalLocations"][0]["fullyQualifiedName"]
        == "raw/archive.zip/inner.tar.gz/bin/helper"
    )
    assert loc["logicalLocations"][0]["name"] == "helper"
    assert elf["properties"]["member"] == "inner.tar.gz/bin/helper"
    assert "inner.tar.gz/bin/helper" in elf["message"]["text"]
    hostile = next(r for r in run["results"] if r["ruleId"] == "repo.extension_mismatch")
    uri = hostile["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert " " not in uri and "\n" not in uri and "%0A" in uri


def test_fingerprints_are_stable_across_runs_and_distinct() -> None:
    first = _run(samples.scan_report())
    # A later run: same bytes, findings found in another order, a new unrelated finding.
    extra = Finding("new.sh", "script.shell", "script", Severity.HIGH, "shell script")
    report = samples.scan_report()
    later = dataclasses.replace(report, findings=(extra, *reversed(report.findings)))
    second = _run(later)

    def prints(run: dict[str, Any]) -> dict[tuple[str, str], str]:
        return {
            (r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]): r[
                "partialFingerprints"
            ]["datagateFinding/v1"]
            for r in run["results"]
        }

    a, b = prints(first), prints(second)
    assert all(b[k] == v for k, v in a.items())
    assert len(set(b.values())) == len(b)
    # Two identical findings in one file (e.g. two same-looking pickles inside) stay distinct.
    twice = dataclasses.replace(report, findings=(report.findings[0], report.findings[0]))
    fps = [r["partialFingerprints"]["datagateFinding/v1"] for r in _run(twice)["results"]]
    assert len(set(fps)) == 2


def test_waived_findings_are_accepted_suppressions() -> None:
    run = _run(samples.scan_report())
    waived = [r for r in run["results"] if "suppressions" in r]
    assert [r["ruleId"] for r in waived] == ["script.python.process"]
    assert waived[0]["suppressions"] == [
        {
            "kind": "external",
            "status": "accepted",
            "justification": "reviewed: runs `git lfs pull` only (ticket DATA-12)",
        }
    ]


def test_skips_are_reported_as_notifications() -> None:
    run = _run(samples.scan_report())
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert [n["message"]["text"] for n in notes] == [
        "not inspected: raw/secret.7z: encrypted 7z archive: members cannot be read",
        "not inspected: raw/archive.zip :: big.bin: member over the size limit (600 MB > 512 MB)",
    ]
    assert run["properties"]["rootDigest"] == samples.DIGEST
