"""``datagate ingest``: acquire, inventory, scan, check, record and gate a dataset."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from datagate.cli.app import app, options
from datagate.cli.check import LabelTypeChoice
from datagate.cli.engine_options import EngineChoice, EngineOption, RayAddressOption, open_engine
from datagate.cli.helptext import INGEST_EPILOG, INGEST_HELP

__all__ = ["ingest_command"]


def _format_option() -> Any:
    from datagate.report.formats import OutputFormat

    return OutputFormat


@app.command("ingest", help=INGEST_HELP, epilog=INGEST_EPILOG)
def ingest_command(
    source: Annotated[str, typer.Argument(help="Folder, file, or hf://datasets/OWNER/NAME[@REVISION].", metavar="SOURCE", show_default=False)],
    name: Annotated[str | None, typer.Option("--name", "-n", help="Dataset name in the store (default: from SOURCE).")] = None,
    dest: Annotated[Path | None, typer.Option("--dest", "-d", help="Deliver the vetted data here (must not exist or be empty).")] = None,
    label: Annotated[str | None, typer.Option("--label", help="Label column.")] = None,
    no_label: Annotated[bool, typer.Option("--no-label", help="The dataset has no label column: skip the label checks.")] = False,
    label_type: Annotated[
        LabelTypeChoice | None,
        typer.Option("--label-type", metavar="KIND", case_sensitive=False, help="class or regression: what the label is (default: inferred)."),
    ] = None,
    key: Annotated[list[str] | None, typer.Option("--key", help="Key column for duplicates/leakage (repeatable).")] = None,
    text: Annotated[list[str] | None, typer.Option("--text", help="Text column for near-duplicates (repeatable).")] = None,
    csv_delimiter: Annotated[str | None, typer.Option("--csv-delimiter", metavar="CHAR", help="CSV/TSV field delimiter (default: detected per file).")] = None,
    null_values: Annotated[str | None, typer.Option("--null-values", metavar="LIST", help="Comma-separated CSV/TSV null tokens (default: empty, NA, NULL, ...).")] = None,
    encoding: Annotated[str, typer.Option("--encoding", metavar="CODEC", help="Text encoding of CSV/TSV/JSON files (bytes that do not decode are a read error).")] = "utf-8",
    policy: Annotated[Path | None, typer.Option("--policy", "-p", help="Policy YAML (see datagate init).")] = None,
    store: Annotated[Path | None, typer.Option("--store", help="Lineage store directory (default: ./.datagate).")] = None,
    baseline: Annotated[
        str, typer.Option("--baseline", help="auto (previous passed version), none, a stored VERSION, or a PATH.")
    ] = "auto",
    parent: Annotated[list[str] | None, typer.Option("--parent", help="Stored version this was derived from (repeatable).")] = None,
    revision: Annotated[str | None, typer.Option("--revision", help="Hub revision (branch, tag or commit).")] = None,
    include: Annotated[list[str] | None, typer.Option("--include", help="Hub: only files matching GLOB (repeatable).")] = None,
    exclude: Annotated[list[str] | None, typer.Option("--exclude", help="Hub: skip files matching GLOB (repeatable).")] = None,
    parquet_export: Annotated[bool, typer.Option("--parquet-export", help="Hub: ingest refs/convert/parquet.")] = False,
    fmt: Annotated[str, typer.Option("--format", "-f", help="text, json, sarif, markdown or html.")] = "text",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report to FILE instead of stdout.")] = None,
    record_out: Annotated[Path | None, typer.Option("--record-out", help="Also write the lineage record to FILE (e.g. for git or DVC).")] = None,
    metrics_out: Annotated[Path | None, typer.Option("--metrics-out", help="Write flat quality metrics JSON to FILE (DVC metrics).")] = None,
    openlineage_url: Annotated[str | None, typer.Option("--openlineage-url", help="POST OpenLineage events here (default: $OPENLINEAGE_URL).")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Re-read every file; ignore the stat cache.")] = False,
    sign_key: Annotated[Path | None, typer.Option("--sign-key", help="Sign the record's in-toto statements (DSSE) with this EC private key (PEM).")] = None,
    record_host: Annotated[bool, typer.Option("--record-host", help="Also record the host name and absolute paths (default: paths relative to the project root).")] = False,
    engine: EngineOption = EngineChoice.local,
    ray_address: RayAddressOption = None,
) -> None:
    from datagate.acquire import parse_source
    from datagate.check.load import CsvOptions
    from datagate.cli.progress_bridge import progress_sink
    from datagate.errors import UsageError
    from datagate.pipeline import ingest, quality_metrics
    from datagate.report import write_output
    from datagate.report.formats import OutputFormat, ReportKind

    try:
        out_fmt = OutputFormat(fmt)
    except ValueError:
        allowed = ", ".join(f.value for f in OutputFormat.choices(ReportKind.INGEST))
        raise UsageError(f"--format {fmt!r} is not a format", hint=f"use one of: {allowed}") from None
    renderer = out_fmt.to_ingest_renderer()
    hub: dict[str, Any] = {}
    if revision is not None:
        hub["revision"] = revision
    if include:
        hub["include"] = tuple(include)
    if exclude:
        hub["exclude"] = tuple(exclude)
    if parquet_export:
        hub["parquet_export"] = True
    src = parse_source(source, **hub)
    base: str | None = None if baseline.lower() == "none" else baseline
    with open_engine(engine, ray_address) as eng, progress_sink(options.quiet) as sink:
        result = ingest(
            src, name=name, dest=dest, label=label, keys=tuple(key or ()), text=tuple(text or ()),
            no_label=no_label, label_type=label_type.value if label_type is not None else None, policy=policy, store=store, baseline=base, parents=tuple(parent or ()),
            use_cache=not no_cache, openlineage_url=openlineage_url, progress=sink, encoding=encoding,
            csv=CsvOptions.parse(csv_delimiter, null_values),
            sign_key=sign_key, record_host=record_host,
            engine=eng,
        )
    from datagate.lineage.store import atomic_write

    if record_out is not None:  # parents are created: DVC does not create an out's folder
        atomic_write(record_out, result.record.to_json().encode("utf-8"))
    if metrics_out is not None:
        atomic_write(metrics_out, (json.dumps(quality_metrics(result), sort_keys=True, indent=2) + "\n").encode())
    write_output(renderer(result), output)
    for warning in result.warnings:
        typer.echo(f"datagate: warning: {warning}", err=True)
    raise typer.Exit(result.exit_code)
