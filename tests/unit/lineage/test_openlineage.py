"""OpenLineage RunEvents validate against the spec and carry the dataset facets."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from datagate.lineage.openlineage import EventEmitter, complete_event, fail_event, start_event
from tests.unit.lineage._helpers import RecordFor, load_validator, make_tree, results

VALIDATOR = load_validator("openlineage-runevent.schema.json")


def test_start_and_complete_validate(tmp_path: Path, record_for: RecordFor) -> None:
    tree = make_tree(tmp_path / "t")
    rec, _, manifest = record_for(tree)
    _, check, decision = results(manifest)
    run_id = str(uuid.uuid4())
    start = start_event(run_id=run_id, event_time="2026-01-01T00:00:00.000000Z", name="demo", source_uri=rec.data["source"]["uri"])
    done = complete_event(rec, run_id=run_id, event_time="2026-01-01T00:00:01.000000Z", check=check,
                          decision=decision, output_uri=(tmp_path / "out").as_uri())
    for ev in (start, done):
        VALIDATOR.validate(ev)
    assert (start["eventType"], done["eventType"]) == ("START", "COMPLETE")
    assert start["run"]["runId"] == done["run"]["runId"] == run_id
    inp = done["inputs"][0]
    assert inp["namespace"] == "file" and inp["name"] == str(tree.resolve())
    assert inp["facets"]["version"]["datasetVersion"] == manifest.root_digest
    assert inp["facets"]["schema"]["fields"] == [{"name": "label", "type": "string"}, {"name": "text", "type": "string"}]
    assert inp["facets"]["dataSource"]["uri"] == tree.resolve().as_uri()
    metrics = inp["inputFacets"]["dataQualityMetrics"]
    assert (metrics["rowCount"], metrics["fileCount"]) == (4, 2)
    assertions = {a["assertion"]: a["success"] for a in inp["inputFacets"]["dataQualityAssertions"]["assertions"]}
    assert assertions == {"scan.no_blocking_findings": True, "schema": True, "label_distribution": True,
                          "duplicates.cross_split": True}
    assert done["outputs"][0]["facets"]["version"]["datasetVersion"] == manifest.root_digest


def test_failed_gate_is_a_fail_event_with_error_message(tmp_path: Path, record_for: RecordFor) -> None:
    rec, _, manifest = record_for(make_tree(tmp_path / "t"), hostile=True)
    _, check, decision = results(manifest, hostile=True)
    ev = complete_event(rec, run_id=str(uuid.uuid4()), event_time="2026-01-01T00:00:01Z", check=check, decision=decision)
    VALIDATOR.validate(ev)
    assert ev["eventType"] == "FAIL"
    assert "gate failed" in ev["run"]["facets"]["errorMessage"]["message"]
    assertions = {a["assertion"]: a["success"] for a in ev["inputs"][0]["inputFacets"]["dataQualityAssertions"]["assertions"]}
    assert assertions["scan.no_blocking_findings"] is False and assertions["duplicates.cross_split"] is False


def test_operational_failure_event(tmp_path: Path) -> None:
    ev = fail_event(run_id=str(uuid.uuid4()), event_time="2026-01-01T00:00:01Z", name="d",
                    source_uri="hf://datasets/o/n", message="404 repo")
    VALIDATOR.validate(ev)
    assert ev["inputs"][0]["namespace"] == "hf" and ev["inputs"][0]["name"] == "datasets/o/n"


def test_schema_rejects_a_broken_event(tmp_path: Path) -> None:
    ev = start_event(run_id=str(uuid.uuid4()), event_time="2026-01-01T00:00:00Z", name="d", source_uri="file:///x")
    del ev["inputs"][0]["facets"]["dataSource"]["_producer"]
    assert list(VALIDATOR.iter_errors(ev)), "the vendored schema must catch a facet without _producer"
    ev2 = start_event(run_id="not-a-uuid", event_time="2026-01-01T00:00:00Z", name="d", source_uri="file:///x")
    assert list(VALIDATOR.iter_errors(ev2))


def test_emitter_appends_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "ol" / "events.jsonl"
    em = EventEmitter(path)
    for i in range(2):
        em.emit(start_event(run_id=str(uuid.uuid4()), event_time="2026-01-01T00:00:00Z", name=f"d{i}", source_uri="file:///x"))
    lines = path.read_text().splitlines()
    assert [json.loads(ln)["job"]["name"] for ln in lines] == ["ingest.d0", "ingest.d1"]
