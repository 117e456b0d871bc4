"""``datagate status``: which ``.dvc`` outputs have datagate pointers that went stale."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from datagate.cli.app import app
from datagate.cli.helptext import STATUS_EPILOG, STATUS_HELP

__all__ = ["status_command"]


@app.command("status", help=STATUS_HELP, epilog=STATUS_EPILOG)
def status_command(
    path: Annotated[Path, typer.Argument(help="Folder to search for .dvc files, or one .dvc file.", metavar="PATH")] = Path("."),
    fmt: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
) -> None:
    from datagate.errors import UsageError
    from datagate.lineage.dvc import pointer_status
    from datagate.report import write_output

    if fmt not in ("text", "json"):
        raise UsageError(f"--format {fmt!r} is not available for status", hint="use text or json")
    if not path.exists():
        raise UsageError(f"{path}: no such file or directory")
    states = pointer_status(path)
    bad = [s for s in states if not s.ok]
    if fmt == "json":
        rows = [
            {"dvc_file": s.output.dvc_file.as_posix(), "path": s.output.path.as_posix(), "state": s.state.value,
             "dvc_md5": s.output.md5, "recorded_md5": s.recorded_md5}
            for s in states
        ]
        write_output(json.dumps({"outputs": rows, "stale": len(bad)}, sort_keys=True, indent=2) + "\n", None)
    else:
        lines = [f"{s.state.value:<15} {s.output.path.as_posix()}  ({s.output.dvc_file.as_posix()})" for s in states]
        if bad:
            lines.append(f"{len(bad)} stale: run `datagate record PATH` after `dvc add PATH`")
        elif not states:
            lines.append(f"no .dvc outputs under {path}")
        write_output("\n".join(lines) + "\n", None)
    raise typer.Exit(1 if bad else 0)
