"""``datagate lineage flush|pending``: deliver or list the spooled OpenLineage events."""

from __future__ import annotations

import enum
import json
from pathlib import Path
from typing import Annotated

import typer

from datagate.cli.app import app
from datagate.cli.helptext import LINEAGE_EPILOG, LINEAGE_HELP

__all__ = ["lineage_command"]


class LineageAction(str, enum.Enum):
    """What ``datagate lineage`` does."""

    FLUSH = "flush"
    PENDING = "pending"


@app.command("lineage", help=LINEAGE_HELP, epilog=LINEAGE_EPILOG)
def lineage_command(
    action: Annotated[LineageAction, typer.Argument(help="flush: send the spooled events; pending: list them.", metavar="ACTION")],
    store: Annotated[Path | None, typer.Option("--store", help="Lineage store directory (default: ./.datagate).")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
) -> None:
    from datagate.errors import UsageError
    from datagate.lineage.openlineage import flush_spool, pending_events
    from datagate.lineage.store import Store
    from datagate.report import write_output

    if fmt not in ("text", "json"):
        raise UsageError(f"--format {fmt!r} is not available for lineage", hint="use text or json")
    st = Store.open(store, create=False)
    if action is LineageAction.PENDING:
        events = pending_events(st.spool_path)
        if fmt == "json":
            doc = {"pending": [{"url": u, "eventType": e.get("eventType"), "runId": (e.get("run") or {}).get("runId")} for u, e in events]}
            write_output(json.dumps(doc, sort_keys=True, indent=2) + "\n", None)
        else:
            lines = [f"{e.get('eventType', '?'):<9} {(e.get('run') or {}).get('runId', '?')}  -> {u}" for u, e in events]
            lines.append(f"{len(events)} event(s) spooled in {st.spool_path}")
            write_output("\n".join(lines) + "\n", None)
        raise typer.Exit(0)
    res = flush_spool(st.spool_path, lock=st.lock)
    if fmt == "json":
        write_output(json.dumps({"sent": res.sent, "pending": res.pending, "errors": list(res.errors)}, sort_keys=True, indent=2) + "\n", None)
    else:
        lines = [f"sent {res.sent} event(s); {res.pending} still spooled", *(f"  {e}" for e in res.errors)]
        write_output("\n".join(lines) + "\n", None)
    # exit 2: something could not be delivered (an operational problem, not a gate verdict)
    raise typer.Exit(2 if res.pending else 0)
