"""``datagate record PATH``: vet a ``dvc add``-tracked path and point its ``.dvc`` at the record."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from datagate.cli.app import app, options
from datagate.cli.helptext import RECORD_EPILOG, RECORD_HELP

__all__ = ["record_command"]


@app.command("record", help=RECORD_HELP, epilog=RECORD_EPILOG)
def record_command(
    path: Annotated[Path, typer.Argument(help="The DVC-tracked folder or file (or its .dvc file).", metavar="PATH", show_default=False)],
    name: Annotated[str | None, typer.Option("--name", "-n", help="Dataset name (default: from PATH).")] = None,
    label: Annotated[str | None, typer.Option("--label", help="Label column.")] = None,
    key: Annotated[list[str] | None, typer.Option("--key", help="Key column (repeatable).")] = None,
    text: Annotated[list[str] | None, typer.Option("--text", help="Text column (repeatable).")] = None,
    policy: Annotated[Path | None, typer.Option("--policy", "-p", help="Policy YAML.")] = None,
    store: Annotated[Path | None, typer.Option("--store", help="Lineage store directory (default: ./.datagate).")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="text, json, sarif, markdown or html.")] = "text",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report to FILE.")] = None,
    sign_key: Annotated[Path | None, typer.Option("--sign-key", help="Sign the record's in-toto statements with this EC private key (PEM).")] = None,
    record_host: Annotated[bool, typer.Option("--record-host", help="Also record the host name and absolute paths.")] = False,
) -> None:
    from datagate.cli.progress_bridge import progress_sink
    from datagate.errors import UsageError
    from datagate.pipeline import record
    from datagate.report import write_output
    from datagate.report.formats import OutputFormat

    try:
        renderer = OutputFormat(fmt).to_ingest_renderer()
    except ValueError:
        raise UsageError(f"--format {fmt!r} is not a format") from None
    with progress_sink(options.quiet) as sink:
        res = record(
            path, name=name, label=label, keys=tuple(key or ()), text=tuple(text or ()),
            policy=policy, store=store, progress=sink, sign_key=sign_key, record_host=record_host,
        )
    write_output(renderer(res.ingest), output)
    for warning in res.ingest.warnings:
        typer.echo(f"datagate: warning: {warning}", err=True)
    if not options.quiet:
        typer.echo(f"pointer: {res.dvc_file} meta.datagate -> {res.ingest.record_path} (md5 {res.dvc_md5})", err=True)
    raise typer.Exit(res.ingest.exit_code)
