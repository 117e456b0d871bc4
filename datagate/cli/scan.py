"""``datagate scan``: find everything in a dataset that can execute, and gate on it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from datagate.cli.app import app, options
from datagate.cli.engine_options import EngineChoice, EngineOption, RayAddressOption
from datagate.cli.helptext import SCAN_EPILOG, SCAN_HELP
from datagate.report.formats import OutputFormat

__all__ = ["scan_command"]


@app.command("scan", help=SCAN_HELP, epilog=SCAN_EPILOG)
def scan_command(
    path: Annotated[
        str,
        typer.Argument(
            help="Folder or file to scan, or hf://datasets/OWNER/NAME[@REVISION] (pinned, "
            "downloaded to datagate's Hub cache and verified, as ingest does).",
            metavar="PATH",
            show_default=False,
        ),
    ],
    fmt: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Output format.", case_sensitive=False)
    ] = OutputFormat.TEXT,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Write the report to FILE (atomically) instead of stdout."
        ),
    ] = None,
    fail_on: Annotated[
        str | None,
        typer.Option(
            "--fail-on",
            metavar="SEVERITY",
            help="Fail on findings at or above: info, low, medium, high, critical "
            "(default: the policy's fail_on, else high).",
        ),
    ] = None,
    policy_file: Annotated[
        Path | None,
        typer.Option("--policy", "-p", help="Policy YAML: fail_on, waivers, scan settings."),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict", help="Grade unknown content and unlisted pickle globals one step higher."
        ),
    ] = False,
    engine: EngineOption = EngineChoice.local,
    ray_address: RayAddressOption = None,
) -> None:
    from datagate.cli.fast import ScanArgs, run_scan

    # the same body as the console script's typer-free path (datagate.cli.fast)
    args = ScanArgs(path, fmt, output, fail_on, policy_file, strict, quiet=options.quiet, verbose=options.verbose)
    code = run_scan(args, engine=engine, ray_address=ray_address)
    raise typer.Exit(code)
