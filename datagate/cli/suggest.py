"""``datagate suggest``: write a starter Great Expectations suite from the observed data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from datagate.cli.app import app, options

__all__ = ["suggest_command"]


@app.command(
    "suggest",
    help=(
        "Profile a dataset and write a starter Great Expectations 1.x suite: its columns and "
        "types, not-null where no value is missing, value sets for low-cardinality columns and "
        "observed ranges. Review it, commit it under expectations/, run it with "
        "'datagate check --suite'.\n\nExit 0 on success, 2 on usage or operational errors."
    ),
    epilog="Example: datagate suggest data/ --output expectations/mydata.json",
)
def suggest_command(
    path: Annotated[Path, typer.Argument(help="Dataset folder or data file.", metavar="PATH", show_default=False)],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the suite to FILE (atomically) instead of stdout.")
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Suite name (default: the output file's stem, else the folder's name).")
    ] = None,
    label: Annotated[str | None, typer.Option("--label", help="Label column (recorded in the profile).")] = None,
) -> None:
    from datagate.check.suggest import suggest_suite, write_suite
    from datagate.cli.progress_bridge import progress_sink
    from datagate.report import write_output

    suite_name = name or (output.stem if output is not None else None)
    with progress_sink(options.quiet) as sink:
        suite = suggest_suite(path, name=suite_name, label=label, progress=sink)
    write_output(write_suite(suite), output)
    raise typer.Exit(0)
