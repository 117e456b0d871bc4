"""OpenLineage RunEvents for an ingest: START, then COMPLETE (gate passed) or FAIL.

Events follow the OpenLineage 2-0-2 RunEvent spec. The input dataset carries the facets a
lineage server (Marquez, DataHub) reads: ``schema``, ``dataSource``, ``version`` (= the root
digest), and as input facets ``dataQualityMetrics`` and ``dataQualityAssertions`` (one assertion per
check, plus the scan). Events always go to the store's ``openlineage.jsonl``; they are also POSTed
to ``$OPENLINEAGE_URL`` + ``$OPENLINEAGE_ENDPOINT`` (default ``api/v1/lineage``) when configured,
with ``$OPENLINEAGE_API_KEY`` as a bearer token (never written anywhere).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datagate.errors import LineageError
from datagate.lineage.record import LineageRecord, jsonable
from datagate.models import CheckReport, CheckStatus, GateDecision

__all__ = [
    "RUN_EVENT_SCHEMA_URL",
    "EventEmitter",
    "complete_event",
    "fail_event",
    "endpoint_from_env",
    "post_event",
    "start_event",
]

RUN_EVENT_SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
"""The ``schemaURL`` of every event."""

_FACET_URLS = {
    "schema": "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet",
    "dataSource": "https://openlineage.io/spec/facets/1-0-1/DatasourceDatasetFacet.json#/$defs/DatasourceDatasetFacet",
    "version": "https://openlineage.io/spec/facets/1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet",
    "dataQualityMetrics": "https://openlineage.io/spec/facets/1-0-2/DataQualityMetricsInputDatasetFacet.json#/$defs/DataQualityMetricsInputDatasetFacet",
    "dataQualityAssertions": "https://openlineage.io/spec/facets/1-0-1/DataQualityAssertionsDatasetFacet.json#/$defs/DataQualityAssertionsDatasetFacet",
    "errorMessage": "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet",
    "datagate": "https://datagate.dev/schemas/openlineage/DatagateRunFacet-1.json#/$defs/DatagateRunFacet",
}


def _producer() -> str:
    import datagate

    return f"https://datagate.dev/datagate/{datagate.__version__}"


def _facet(kind: str, **fields: Any) -> dict[str, Any]:
    return {"_producer": _producer(), "_schemaURL": _FACET_URLS[kind], **fields}


def _job_namespace() -> str:
    return os.environ.get("OPENLINEAGE_NAMESPACE") or "datagate"


def _dataset_id(uri: str) -> tuple[str, str]:
    """Return (namespace, name) per OpenLineage naming: ``file`` + path, or the URI's scheme."""
    if uri.startswith("file://"):
        from urllib.parse import unquote, urlparse

        return "file", unquote(urlparse(uri).path)
    if uri.startswith("hf://"):
        return "hf", uri[len("hf://") :]
    if "://" not in uri:  # a path relative to the project root (records keep no absolute paths)
        return "file", uri
    scheme, _, rest = uri.partition("://")
    return (scheme or "datagate"), (rest or uri)


def _event(
    event_type: str, *, run_id: str, event_time: str, job: str,
    inputs: Sequence[Mapping[str, Any]] = (), outputs: Sequence[Mapping[str, Any]] = (),
    run_facets: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "eventType": event_type,
        "eventTime": event_time,
        "producer": _producer(),
        "schemaURL": RUN_EVENT_SCHEMA_URL,
        "run": {"runId": run_id, "facets": dict(run_facets or {})},
        "job": {"namespace": _job_namespace(), "name": job, "facets": {}},
        "inputs": list(inputs),
        "outputs": list(outputs),
    }


def start_event(*, run_id: str, event_time: str, name: str, source_uri: str) -> dict[str, Any]:
    """Return the START RunEvent of ingesting ``name`` from ``source_uri``."""
    ns, ds = _dataset_id(source_uri)
    inp = {"namespace": ns, "name": ds, "facets": {"dataSource": _facet("dataSource", name=ns, uri=source_uri)}}
    return _event("START", run_id=run_id, event_time=event_time, job=f"ingest.{name}", inputs=[inp])


def _schema_fields(check: CheckReport | None) -> list[dict[str, Any]]:
    if check is None:
        return []
    for info in check.splits.values():
        info_d = jsonable(info)
        schema = info_d.get("schema", info_d.get("columns")) if isinstance(info_d, dict) else None
        if isinstance(schema, dict):
            if isinstance(schema.get("fields"), list):
                schema = schema["fields"]
            else:
                return [{"name": str(k), "type": str(v)} for k, v in schema.items()]
        if isinstance(schema, list):
            out = []
            for col in schema:
                if isinstance(col, dict) and "name" in col:
                    out.append({"name": str(col["name"]), "type": str(col.get("type", ""))})
                elif isinstance(col, (list, tuple)) and len(col) == 2:
                    out.append({"name": str(col[0]), "type": str(col[1])})
            return out
    return []


def _assertions(record: LineageRecord, check: CheckReport | None, decision: GateDecision) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{"assertion": "scan.no_blocking_findings", "success": not decision.blocking_findings}]
    if check is not None:
        for c in check.checks:
            if c.status is CheckStatus.SKIPPED:
                continue
            out.append({"assertion": c.id, "success": c.status in (CheckStatus.PASS, CheckStatus.WARN)})
    return out


def complete_event(
    record: LineageRecord, *, run_id: str, event_time: str, check: CheckReport | None,
    decision: GateDecision, output_uri: str | None = None,
) -> dict[str, Any]:
    """Return the COMPLETE (gate passed) or FAIL (gate failed) RunEvent for a stored record."""
    data = record.data
    uri = str(data["source"]["uri"])
    ns, ds = _dataset_id(uri)
    rows = sum(int(s.get("rows") or 0) for s in data["data"]["splits"].values() if isinstance(s, dict))
    facets: dict[str, Any] = {
        "dataSource": _facet("dataSource", name=ns, uri=uri),
        "version": _facet("version", datasetVersion=record.version),
    }
    fields = _schema_fields(check)
    if fields:
        facets["schema"] = _facet("schema", fields=fields)
    input_facets = {
        "dataQualityMetrics": _facet(
            "dataQualityMetrics", rowCount=rows, bytes=int(data["content"]["bytes"]),
            fileCount=int(data["content"]["files"]), columnMetrics={},
        ),
        "dataQualityAssertions": _facet("dataQualityAssertions", assertions=_assertions(record, check, decision)),
    }
    inputs = [{"namespace": ns, "name": ds, "facets": facets, "inputFacets": input_facets}]
    outputs: list[dict[str, Any]] = []
    if output_uri is not None:
        ons, ods = _dataset_id(output_uri)
        out_facets = {k: v for k, v in facets.items() if k != "dataSource"}
        out_facets["dataSource"] = _facet("dataSource", name=ons, uri=output_uri)
        outputs.append({"namespace": ons, "name": ods, "facets": out_facets, "outputFacets": {}})
    run_facets: dict[str, Any] = {
        "datagate": _facet(
            "datagate", recordDigest=record.digest, rootDigest=record.version, passed=decision.passed,
        )
    }
    if not decision.passed:
        reasons = "; ".join(decision.reasons) or "the gate failed"
        run_facets["errorMessage"] = _facet("errorMessage", message=f"datagate gate failed: {reasons}", programmingLanguage="python")
    return _event(
        "COMPLETE" if decision.passed else "FAIL", run_id=run_id, event_time=event_time,
        job=f"ingest.{record.name}", inputs=inputs, outputs=outputs, run_facets=run_facets,
    )


def fail_event(*, run_id: str, event_time: str, name: str, source_uri: str, message: str) -> dict[str, Any]:
    """Return the FAIL RunEvent of an ingest that stopped on an operational error."""
    ev = start_event(run_id=run_id, event_time=event_time, name=name, source_uri=source_uri)
    ev["eventType"] = "FAIL"
    ev["run"]["facets"]["errorMessage"] = _facet("errorMessage", message=message, programmingLanguage="python")
    return ev


def endpoint_from_env() -> str | None:
    """Return the HTTP endpoint events are POSTed to, from ``$OPENLINEAGE_URL``, or None."""
    base = os.environ.get("OPENLINEAGE_URL")
    if not base:
        return None
    path = os.environ.get("OPENLINEAGE_ENDPOINT", "api/v1/lineage")
    return base.rstrip("/") + "/" + path.lstrip("/")


def post_event(url: str, event: Mapping[str, Any], *, timeout: float = 10.0) -> None:
    """POST one event as JSON to ``url``.

    Raises LineageError naming the endpoint when it cannot be reached or answers non-2xx.
    """
    if not url.startswith(("http://", "https://")):
        raise LineageError(f"{url}: OpenLineage endpoint must be an http(s) URL")
    body = json.dumps(event, sort_keys=True).encode("utf-8")
    req = urllib.request.Request(  # noqa: S310 (scheme checked above)
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    key = os.environ.get("OPENLINEAGE_API_KEY")
    if key:
        req.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (scheme checked above)
            status = int(resp.status)
    except urllib.error.HTTPError as exc:
        raise LineageError(f"{url}: OpenLineage endpoint answered HTTP {exc.code}") from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise LineageError(f"{url}: cannot send OpenLineage event ({reason})") from exc
    if not 200 <= status < 300:
        raise LineageError(f"{url}: OpenLineage endpoint answered HTTP {status}")


@dataclass(frozen=True)
class EventEmitter:
    """Sends events to a JSON Lines file (always) and an HTTP endpoint (when set)."""

    path: Path | None
    """The JSON Lines file (the store's ``openlineage.jsonl``), or None to skip the file."""
    url: str | None = None
    """The HTTP endpoint, or None."""
    append: Any = None
    """A callable ``append(event)`` used instead of plain appending (the store's locked append)."""

    def emit(self, event: Mapping[str, Any]) -> None:
        """Write ``event`` to the file and POST it to the endpoint.

        Raises LineageError when either fails.
        """
        if self.append is not None:
            self.append(event)
        elif self.path is not None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps(event, sort_keys=True, separators=(",", ":")) + "\n")
            except OSError as exc:
                raise LineageError(f"{self.path}: cannot write OpenLineage event ({exc.strerror})") from exc
        if self.url is not None:
            post_event(self.url, event)
