"""OpenLineage RunEvents for an ingest: START, then COMPLETE (gate passed) or FAIL.

Events follow the OpenLineage 2-0-2 RunEvent spec. The input dataset carries the facets a
lineage server (Marquez, DataHub) reads: ``schema``, ``dataSource``, ``version`` (= the root
digest), and as input facets ``dataQualityMetrics`` and ``dataQualityAssertions`` (one assertion per
check, plus the scan). Events always go to the store's ``openlineage.jsonl``; they are also POSTed
to ``$OPENLINEAGE_URL`` + ``$OPENLINEAGE_ENDPOINT`` (default ``api/v1/lineage``) when configured,
with ``$OPENLINEAGE_API_KEY`` as a bearer token (never written anywhere).

Delivery never loses an event or the record: an event the endpoint does not take (down,
refusing, non-2xx) is appended to the store's spool (``openlineage-spool.jsonl``: the URL and the
event, no credentials) and reported as a warning; later events of the same run go to the spool
too, so the endpoint sees them in order. ``datagate lineage flush`` (:func:`flush_spool`) sends
the spooled events later, oldest first, and keeps what still cannot be sent.
"""

from __future__ import annotations

import contextlib
import json
import os
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datagate.errors import LineageError
from datagate.lineage.record import LineageRecord, jsonable
from datagate.models import CheckReport, CheckStatus, GateDecision

__all__ = [
    "RUN_EVENT_SCHEMA_URL",
    "EventEmitter",
    "complete_event",
    "FlushResult",
    "fail_event",
    "endpoint_from_env",
    "flush_spool",
    "pending_events",
    "post_event",
    "spool_event",
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
    spool: Path | None = None
    """Where events the endpoint did not take are kept for ``datagate lineage flush``; None:
    a failed POST raises instead."""
    lock: Any = None
    """A context-manager factory held while the spool is written (the store's lock)."""
    warnings: list[str] = field(default_factory=list)
    """One line per event that was spooled instead of sent (filled by :meth:`emit`)."""

    def emit(self, event: Mapping[str, Any]) -> None:
        """Write ``event`` to the file and POST it to the endpoint; with a ``spool``, an event
        the endpoint does not take is spooled and a warning recorded instead.

        Raises LineageError when the file cannot be written, or (without a spool) the POST fails.
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
        if self.url is None:
            return
        if self.spool is None:
            post_event(self.url, event)
            return
        if not self.warnings:
            # earlier runs' events for this endpoint go first; if they still cannot be sent,
            # this one queues behind them
            flush_spool(self.spool, lock=self.lock, url=self.url)
            if not any(u == self.url for u, _ in pending_events(self.spool)):
                try:
                    post_event(self.url, event)
                    return
                except LineageError as exc:
                    self.warnings.append(
                        f"{exc.message}; the event was spooled in {self.spool.name}: "
                        "run `datagate lineage flush` to send it later"
                    )
            else:
                self.warnings.append(
                    f"{self.url}: earlier OpenLineage events are still spooled in {self.spool.name}; "
                    "this run's events were queued behind them: run `datagate lineage flush`"
                )
        spool_event(self.spool, self.url, event, lock=self.lock)


def spool_event(spool: Path, url: str, event: Mapping[str, Any], *, lock: Any = None) -> None:
    """Append ``{"url", "event"}`` to the ``spool`` JSON Lines file (fsynced, under ``lock()``).

    Raises LineageError when the spool cannot be written.
    """
    line = (json.dumps({"url": url, "event": event}, sort_keys=True, separators=(",", ":")) + "\n").encode()
    with lock() if lock is not None else contextlib.nullcontext():
        try:
            fd = os.open(spool, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise LineageError(f"{spool}: cannot spool OpenLineage event ({exc.strerror})") from exc


def pending_events(spool: Path) -> list[tuple[str, dict[str, Any]]]:
    """Return the spooled ``(url, event)`` pairs, oldest first (none when there is no spool).

    Raises LineageError when the spool exists but cannot be read; a line that is not a spooled
    event is kept in place by :func:`flush_spool` and skipped here.
    """
    try:
        text = spool.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise LineageError(f"{spool}: cannot read the OpenLineage spool ({exc.strerror})") from exc
    out = []
    for line in text.splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict) and isinstance(item.get("url"), str) and isinstance(item.get("event"), dict):
            out.append((item["url"], item["event"]))
    return out


@dataclass(frozen=True)
class FlushResult:
    """What :func:`flush_spool` did."""

    sent: int
    """Events delivered and removed from the spool."""
    pending: int
    """Events still spooled."""
    errors: tuple[str, ...] = ()
    """One line per endpoint that still refused (its first error)."""


def flush_spool(spool: Path, *, lock: Any = None, url: str | None = None, timeout: float = 10.0) -> FlushResult:
    """Send the spooled events, oldest first, and keep only those that still fail.

    Per endpoint, sending stops at its first failure (later events stay queued behind it, in
    order). ``url`` limits the flush to one endpoint. The spool is rewritten atomically under
    ``lock()``. Raises LineageError when the spool cannot be read or rewritten.
    """
    with lock() if lock is not None else contextlib.nullcontext():
        try:
            lines = spool.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return FlushResult(0, 0)
        except OSError as exc:
            raise LineageError(f"{spool}: cannot read the OpenLineage spool ({exc.strerror})") from exc
        keep: list[str] = []
        failed: dict[str, str] = {}
        sent = 0
        for line in lines:
            try:
                item = json.loads(line)
                target, event = item["url"], item["event"]
            except (ValueError, KeyError, TypeError):
                if line.strip():
                    keep.append(line)
                continue
            if (url is not None and target != url) or target in failed:
                keep.append(line)
                continue
            try:
                post_event(target, event, timeout=timeout)
                sent += 1
            except LineageError as exc:
                failed[target] = exc.message
                keep.append(line)
        if sent:
            from datagate.lineage.store import atomic_write

            atomic_write(spool, "".join(k + "\n" for k in keep).encode("utf-8"))
        pending = sum(1 for k in keep if k.strip())
    return FlushResult(sent, pending, tuple(failed.values()))
