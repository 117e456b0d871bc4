"""datagate's command line: parses, calls the library, renders, maps exit codes.

Each command lives in its own module and registers itself on :data:`datagate.cli.app.app`.
:func:`main` is the console-script entry point and the one place that turns a
:class:`~datagate.errors.DatagateError` into a one-line message and exit code 2. It is also the
one boundary for the unexpected: any other exception becomes exit 2 and the line
``internal error in <stage> on <file>: <message> (re-run with --verbose for the traceback)``,
and SIGTERM/SIGHUP unwind the command like Ctrl-C does (temporary files removed, an ingest's
lineage run closed with FAIL) before exiting with 128 + the signal number.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from datagate.cli.boundary import Terminated, command_name as _command_name, guarded, hoist_global_flags as _hoist_global_flags, internal_error_line
from datagate.errors import clear_breadcrumb

if TYPE_CHECKING:
    from typer import Typer

    from datagate.cli.app import GlobalOptions


def _register() -> tuple[Typer, GlobalOptions]:
    """Import the typer application and every command module, once; return (app, options).

    Importing :mod:`datagate.cli` stays cheap (no typer) so that the console script's typer-free
    paths (:mod:`datagate.cli.fast`) can use the package's light modules.
    """
    from datagate.cli.app import app, options

    # Command modules register themselves on import; the order here is the order in --help.
    from datagate.cli import hash as _hash  # noqa: F401  (registration side effect)
    from datagate.cli import verify as _verify  # noqa: F401  (registration side effect)
    from datagate.cli import sign as _sign  # noqa: F401  (registration side effect)
    from datagate.cli import scan as _scan  # noqa: F401  (registration side effect)
    from datagate.cli import check as _check  # noqa: F401  (registration side effect)
    from datagate.cli import suggest as _suggest  # noqa: F401  (registration side effect)
    from datagate.cli import ingest as _ingest  # noqa: F401  (registration side effect)
    from datagate.cli import log as _log  # noqa: F401  (registration side effect)
    from datagate.cli import show as _show  # noqa: F401  (registration side effect)
    from datagate.cli import diff as _diff  # noqa: F401  (registration side effect)
    from datagate.cli import record as _record  # noqa: F401  (registration side effect)
    from datagate.cli import status as _status  # noqa: F401  (registration side effect)
    from datagate.cli import init as _init  # noqa: F401  (registration side effect)
    from datagate.cli import audit as _audit  # noqa: F401  (registration side effect)
    from datagate.cli import lineage as _lineage  # noqa: F401  (registration side effect)
    # -- command registrations: one import line per command module, keep this marker --
    globals()["app"] = app  # the package attribute ``app`` is the Typer object, not the module
    return app, options


def typer_app() -> Typer:
    """Return the typer application with every command registered (loaded on first use)."""
    return _register()[0]


def __getattr__(name: str) -> Any:
    """``datagate.cli.app``: the typer application (loaded on first use)."""
    if name == "app":
        return _register()[0]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Terminated", "app", "internal_error_line", "main", "typer_app"]

_BUILT: dict[str, Any] = {}


def _click_command(name: str, chosen: list[Any]) -> Any:
    """Return the click group that runs only command ``name``, built once per process.

    typer builds click commands from the functions' signatures and annotations on every call
    (~30 ms); in-process callers (tests, the fuzz suite) run many commands.
    """
    import typer.main

    app = _register()[0]
    built = _BUILT.get(name)
    if built is None:
        registered = app.registered_commands
        try:
            app.registered_commands = chosen
            built = typer.main.get_command(app)
        finally:
            app.registered_commands = registered
        _BUILT[name] = built
    return built


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default ``sys.argv[1:]``) and return the exit code.

    Exit codes: 0 pass, 1 gate failed, 2 usage or operational error (including any unexpected
    exception, reported in one line), 128 + N when killed by SIGTERM/SIGHUP, 130 on Ctrl-C.
    Never raises; prints one line on stderr instead (with a traceback under ``--verbose``).
    """
    app, options = _register()
    args = _hoist_global_flags(list(sys.argv[1:] if argv is None else argv))
    verbose = "--verbose" in args or "-v" in args
    clear_breadcrumb()
    # typer turns every registered command into a click command (signature and annotation
    # evaluation) on each call, ~25 ms for all twelve: only the one being run is built.
    # Help on the group and unknown commands (typer suggests the closest) see them all.
    registered = app.registered_commands
    name = _command_name(args)
    chosen = [c for c in registered if c.name is not None and c.name == name]

    def run() -> int:
        # standalone_mode: click prints its own usage errors (exit 2) and turns typer.Exit
        # into SystemExit; only our own errors need translating (by guarded).
        if chosen and name is not None:
            _click_command(name, chosen).main(args=args, prog_name="datagate", standalone_mode=True)
        else:
            app(args=args, prog_name="datagate", standalone_mode=True)
        return 0

    try:
        return guarded(run, name=name, args=args, verbose=verbose)
    finally:
        app.registered_commands = registered
        options.verbose = False
        options.quiet = False
