"""``datagate log NAME``: the versions of a dataset in the store, newest first."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from datagate.cli.app import app
from datagate.cli.helptext import LOG_EPILOG, LOG_HELP

__all__ = ["log_command"]


@app.command("log", help=LOG_HELP, epilog=LOG_EPILOG)
def log_command(
    name: Annotated[str, typer.Argument(help="Dataset name.", metavar="NAME", show_default=False)],
    store: Annotated[Path | None, typer.Option("--store", help="Lineage store directory (default: ./.datagate).")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
) -> None:
    from datagate.errors import LineageError, UsageError
    from datagate.lineage.record import validate_dataset_name
    from datagate.lineage.store import Store
    from datagate.report import write_output

    if fmt not in ("text", "json"):
        raise UsageError(f"--format {fmt!r} is not available for log", hint="use text or json")
    validate_dataset_name(name)
    st = Store.open(store)
    try:
        history = list(reversed(st.history(name)))
    except LineageError as exc:
        # An edited record: list every version's integrity (record files read leniently), exit 1.
        from datagate.lineage.audit import audit_store
        from datagate.report.audit import audit_json, audit_text

        report = audit_store(st.root, [name], check_data=False).to_dict()
        write_output(audit_json(report) if fmt == "json" else audit_text(report), None)
        typer.echo(f"datagate: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    if not history:
        raise LineageError(f"{name}: no versions in the store at {st.root}", hint=f"known datasets: {', '.join(st.names()) or 'none'}")
    if fmt == "json":
        rows = [
            {
                "version": r.version, "record_digest": r.digest, "passed": r.passed,
                "started_at": r.started_at, "files": r.data["content"]["files"], "bytes": r.data["content"]["bytes"],
                "source": r.data["source"], "baseline": r.data["baseline"],
            }
            for r in history
        ]
        write_output(json.dumps({"dataset": name, "versions": rows}, sort_keys=True, indent=2) + "\n", None)
        return
    lines = []
    for r in history:
        verdict = "PASS" if r.passed else "FAIL"
        rev = r.data["source"].get("resolved_revision")
        extra = f"  rev {rev[:12]}" if rev else ""
        lines.append(
            f"{r.version.split(':', 1)[1][:12]}  {verdict}  {r.started_at}  "
            f"{r.data['content']['files']} files, {r.data['content']['bytes']} bytes{extra}"
        )
    write_output("\n".join(lines) + "\n", None)
