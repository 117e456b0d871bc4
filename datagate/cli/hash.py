"""``datagate hash``: inventory a tree and print or write its manifest and version id."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from datagate.cli.app import app, options
from datagate.cli.engine_options import EngineChoice, EngineOption, RayAddressOption, map_engine
from datagate.cli.helptext import HASH_EPILOG, HASH_HELP

__all__ = ["HashFormat", "hash_command"]


class HashFormat(str, enum.Enum):
    """Output formats of ``datagate hash``."""

    text = "text"
    json = "json"


@app.command("hash", help=HASH_HELP, epilog=HASH_EPILOG)
def hash_command(
    path: Annotated[Path, typer.Argument(help="Folder or file to hash.", metavar="PATH", show_default=False)],
    fmt: Annotated[
        HashFormat | None,
        typer.Option(
            "--format", "-f", help="text (sha256sum-style) or json (manifest JSON Lines). "
            "Default: text on stdout, json with --output."
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to FILE (atomically) instead of stdout.")
    ] = None,
    dvc: Annotated[
        bool, typer.Option("--dvc", help="Also compute DVC's MD5s and .dir id.")
    ] = False,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Re-read every file; ignore the stat cache.")
    ] = False,
    engine: EngineOption = EngineChoice.local,
    ray_address: RayAddressOption = None,
) -> None:
    from datagate.cli.progress_bridge import progress_sink
    from datagate.inventory import write_manifest
    from datagate.report import output_stream

    chosen = fmt or (HashFormat.json if output else HashFormat.text)
    with map_engine(engine, ray_address) as eng, output_stream(output) as out, progress_sink(options.quiet) as sink:
        summary = write_manifest(
            path, out, fmt=chosen.value, dvc=dvc, use_cache=not no_cache, progress=sink, engine=eng
        )
    if output is not None and not options.quiet:
        typer.echo(
            f"{summary.root_digest}  {summary.files} files, {summary.nbytes} bytes -> {output}",
            err=True,
        )
