"""``datagate scan``: find everything in a dataset that can execute, and gate on it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from datagate.cli.app import app, options
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
) -> None:
    from datagate.cli.progress_bridge import progress_sink
    from datagate.config import load_policy
    from datagate.errors import UsageError
    from datagate.gate import decide
    from datagate.models import Severity
    from datagate.report import write_output
    from datagate.report.formats import ReportKind, render
    from datagate.scan import scan

    policy = load_policy(policy_file)
    if fail_on is not None:
        try:
            policy = replace(policy, fail_on=Severity.parse(fail_on))
        except ValueError as exc:
            raise UsageError(f"--fail-on: {exc}") from None
    from datagate.acquire import local_copy

    with progress_sink(options.quiet) as sink:
        root, acquired = local_copy(path, progress=sink)
        report = scan(root, policy=policy, strict=strict, progress=sink)
    if acquired is not None:
        # the Hub source as the user named it, and its integrity findings with the scan's
        report = replace(report, target=path, findings=(*acquired.findings, *report.findings))
    decision = decide(policy, findings=report.findings)
    write_output(render(fmt, ReportKind.SCAN, report, decision), output)
    raise typer.Exit(decision.exit_code)
