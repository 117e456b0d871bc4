"""``datagate verify``: re-hash a tree and compare it with a recorded manifest."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from datagate.cli.app import app, options

__all__ = ["VerifyFormat", "verify_command"]


class VerifyFormat(str, enum.Enum):
    """Output formats of ``datagate verify``."""

    text = "text"
    json = "json"


@app.command(
    "verify",
    help=(
        "Re-hash a tree (bypassing the stat cache) and report every file added, removed or "
        "changed, and every mode or symlink-target change, against a manifest. Exit 1 on any "
        "difference."
    ),
    epilog="Example: datagate verify data/ --manifest data.manifest.jsonl",
)
def verify_command(
    path: Annotated[Path, typer.Argument(help="Folder or file to verify.", metavar="PATH", show_default=False)],
    manifest: Annotated[
        Path,
        typer.Option("--manifest", "-m", help="Manifest written by `datagate hash --format json`."),
    ],
    fmt: Annotated[
        VerifyFormat, typer.Option("--format", "-f", help="text or json.")
    ] = VerifyFormat.text,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to FILE instead of stdout.")
    ] = None,
) -> None:
    from datagate.cli.progress_bridge import progress_sink
    from datagate.inventory import verify
    from datagate.report import write_output
    from datagate.report.inventory import verify_json, verify_text

    with progress_sink(options.quiet) as sink:
        result = verify(path, manifest, progress=sink)
    write_output(verify_json(result) if fmt is VerifyFormat.json else verify_text(result), output)
    raise typer.Exit(0 if result.matches else 1)
