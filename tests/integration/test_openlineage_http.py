"""OpenLineage events POSTed to a local HTTP endpoint that captures them (no network)."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from datagate.errors import LineageError
from datagate.lineage.openlineage import EventEmitter, endpoint_from_env, start_event
from tests.integration._ingest_ready import needs_stages
from tests.unit.lineage._helpers import load_validator, make_tree


class _Capture:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.headers: list[dict[str, str]] = []
        self.status = 201


@pytest.fixture
def lineage_server() -> Iterator[tuple[str, _Capture]]:
    cap = _Capture()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server API)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            cap.paths.append(self.path)
            cap.headers.append(dict(self.headers))
            cap.events.append(json.loads(body))
            self.send_response(cap.status)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", cap
    finally:
        server.shutdown()
        server.server_close()


def test_env_configures_the_endpoint(
    lineage_server: tuple[str, _Capture], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url, cap = lineage_server
    monkeypatch.setenv("OPENLINEAGE_URL", url + "/")
    monkeypatch.setenv("OPENLINEAGE_API_KEY", "sekret-token")
    endpoint = endpoint_from_env()
    assert endpoint == url + "/api/v1/lineage"
    em = EventEmitter(tmp_path / "events.jsonl", endpoint)
    ev = start_event(
        run_id=str(uuid.uuid4()),
        event_time="2026-01-01T00:00:00Z",
        name="d",
        source_uri="file:///x",
    )
    em.emit(ev)
    assert cap.events == [ev] and cap.paths == ["/api/v1/lineage"]
    assert cap.headers[0]["Authorization"] == "Bearer sekret-token"
    assert "sekret" not in (tmp_path / "events.jsonl").read_text()


def test_endpoint_errors_are_lineage_errors(
    lineage_server: tuple[str, _Capture], tmp_path: Path
) -> None:
    url, cap = lineage_server
    cap.status = 500
    ev = start_event(
        run_id=str(uuid.uuid4()),
        event_time="2026-01-01T00:00:00Z",
        name="d",
        source_uri="file:///x",
    )
    with pytest.raises(LineageError, match="HTTP 500"):
        EventEmitter(None, url + "/api/v1/lineage").emit(ev)
    with pytest.raises(LineageError, match="cannot send"):
        EventEmitter(None, "http://127.0.0.1:9/api/v1/lineage").emit(ev)


@needs_stages
def done_name(events: list[dict[str, object]]) -> object:
    """Return the input dataset name of the last event."""
    inputs = events[-1]["inputs"]
    assert isinstance(inputs, list)
    return inputs[0]["name"]


def test_ingest_posts_start_and_complete(
    lineage_server: tuple[str, _Capture], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datagate.pipeline import ingest

    url, cap = lineage_server
    import socket

    monkeypatch.setattr(socket, "gethostname", lambda: "dg-host-ol-3vz")
    tree = make_tree(tmp_path / "reviews")
    res = ingest(tree, store=tmp_path / "s", label="label", openlineage_url=url + "/api/v1/lineage")
    # privacy (issue 16): the events name the source relative to the project, no host name
    posted = json.dumps(cap.events)
    assert str(tmp_path) not in posted and "dg-host-ol-3vz" not in posted
    assert done_name(cap.events) == "reviews"
    validator = load_validator("openlineage-runevent.schema.json")
    assert [e["eventType"] for e in cap.events] == ["START", "COMPLETE"]
    for e in cap.events:
        validator.validate(e)
    done = cap.events[1]
    facets = done["inputs"][0]["facets"]
    assert facets["version"]["datasetVersion"] == res.record.version
    assert {f["name"] for f in facets["schema"]["fields"]} == {"text", "label"}
    assertions = done["inputs"][0]["inputFacets"]["dataQualityAssertions"]["assertions"]
    assert {a["assertion"] for a in assertions} >= {"scan.no_blocking_findings"}
    stored = [
        json.loads(x) for x in (tmp_path / "s" / "openlineage.jsonl").read_text().splitlines()
    ]
    assert stored == cap.events


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_dead_endpoint_spools_events_and_keeps_the_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A dead endpoint: the ingest still stores its record, warns, and spools START/COMPLETE in
    order; `datagate lineage flush` delivers them once the endpoint is up."""
    from http.server import HTTPServer

    from datagate.cli import main

    port = _free_port()  # nothing listens here yet
    url = f"http://127.0.0.1:{port}/api/v1/lineage"
    tree = make_tree(tmp_path / "reviews")
    store = tmp_path / "s"
    code = main(["-q", "ingest", str(tree), "--store", str(store), "--label", "label", "--openlineage-url", url])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "datagate: warning:" in err and "datagate lineage flush" in err
    assert list((store / "records").rglob("*.json")), "the record was not stored"
    spooled = [json.loads(x) for x in (store / "openlineage-spool.jsonl").read_text().splitlines()]
    assert [s["event"]["eventType"] for s in spooled] == ["START", "COMPLETE"]
    assert {s["url"] for s in spooled} == {url}
    stored = [json.loads(x) for x in (store / "openlineage.jsonl").read_text().splitlines()]
    assert [s["event"] for s in spooled] == stored

    # still down: flush keeps everything and exits 2
    assert main(["lineage", "flush", "--store", str(store)]) == 2
    assert "2 still spooled" in capsys.readouterr().out

    cap = _Capture()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server API)
            cap.events.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
            return None

    server = HTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        assert main(["lineage", "pending", "--store", str(store)]) == 0
        assert "2 event(s) spooled" in capsys.readouterr().out
        assert main(["lineage", "flush", "--store", str(store)]) == 0
        assert "sent 2 event(s); 0 still spooled" in capsys.readouterr().out
    finally:
        server.shutdown()
        server.server_close()
    assert [e["eventType"] for e in cap.events] == ["START", "COMPLETE"]
    assert cap.events == stored
    assert (store / "openlineage-spool.jsonl").read_text() == ""
