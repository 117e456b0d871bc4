"""The typer application object and global options shared by every command module."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import typer

__all__ = ["GlobalOptions", "app", "options"]

app = typer.Typer(
    name="datagate",
    help=(
        "Dataset intake gate: hash and version a dataset, flag anything that can execute, "
        "check its quality, record lineage next to DVC, and gate CI with the exit code.\n\n"
        "Exit codes: 0 pass, 1 the gate failed, 2 usage or operational error."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)


@dataclass
class GlobalOptions:
    """Options that apply to every command."""

    verbose: bool = False
    """Show tracebacks and debug detail."""
    quiet: bool = False
    """Show no progress and only the verdict line."""


options = GlobalOptions()
"""The global options of the current invocation (set by the callback)."""


@app.callback()
def _callback(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show tracebacks and debug detail.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bars; print only the result.")
    ] = False,
) -> None:
    options.verbose = verbose
    options.quiet = quiet
