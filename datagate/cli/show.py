"""``datagate show VERSION``: one stored lineage record."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from datagate.cli.app import app
from datagate.cli.helptext import SHOW_EPILOG, SHOW_HELP

__all__ = ["show_command"]


@app.command("show", help=SHOW_HELP, epilog=SHOW_EPILOG)
def show_command(
    version: Annotated[str, typer.Argument(help="Version id, prefix, NAME@PREFIX or NAME.", metavar="VERSION", show_default=False)],
    store: Annotated[Path | None, typer.Option("--store", help="Lineage store directory (default: ./.datagate).")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="text or json (the record itself).")] = "text",
) -> None:
    from datagate.errors import UsageError
    from datagate.lineage.store import Store
    from datagate.report import write_output

    if fmt not in ("text", "json"):
        raise UsageError(f"--format {fmt!r} is not available for show", hint="use text or json")
    st = Store.open(store)
    rec = st.resolve(version)
    if fmt == "json":
        write_output(rec.to_json(), None)
        return
    d = rec.data
    src = d["source"]
    lines = [
        f"dataset      {rec.name}",
        f"version      {rec.version}",
        f"record       {rec.digest}",
        f"gate         {'PASS' if rec.passed else 'FAIL'} (fail on {d['gate']['threshold']})",
        f"source       {src['uri']} ({src['kind']})",
    ]
    if src.get("resolved_revision"):
        lines.append(f"revision     {src['resolved_revision']} (requested {src.get('requested_revision')})")
    lines += [
        f"content      {d['content']['files']} files, {d['content']['bytes']} bytes",
        f"manifest     {d['content']['manifest']['path']}",
    ]
    if d["content"]["dvc_md5"]:
        lines.append(f"dvc md5      {d['content']['dvc_md5']}")
    counts = ", ".join(f"{k} {v}" for k, v in d["scan"]["findings"].items() if v)
    lines.append(f"findings     {counts or 'none'} ({d['scan']['waived']} waived, {d['scan']['skipped']} skipped)")
    if d["checks"]["status"]:
        lines.append("checks       " + ", ".join(f"{k}={v}" for k, v in sorted(d["checks"]["status"].items())))
    for split, info in sorted(d["data"]["splits"].items()):
        lines.append(f"split        {split}: {info.get('rows')} rows")
    if d["baseline"]:
        lines.append(f"baseline     {d['baseline']}")
    for p in d["parents"]:
        lines.append(f"parent       {p['name']}@{p['root_digest']}")
    run = d["run"]
    host = f" on {run['host']}" if run.get("host") else ""
    lines.append(f"run          {run['started_at']}{host} (invocation {run['invocation_id']})")
    covered = "record and run digests verified" if d.get("run_digest") else "record digest verified; run block not covered (older record)"
    lines.append(f"integrity    {covered}")
    sig = d.get("signatures")
    lines.append(f"signed       {'by key ' + sig['key'] + ' (signatures verify)' if sig else 'no'}")
    write_output("\n".join(lines) + "\n", None)
