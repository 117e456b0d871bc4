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

import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from datagate.cli.app import app, options
from datagate.errors import DatagateError, clear_breadcrumb, last_breadcrumb

# Command modules register themselves on import; the order here is the order in --help.
from datagate.cli import hash as _hash  # noqa: E402,F401  (registration side effect)
from datagate.cli import verify as _verify  # noqa: E402,F401  (registration side effect)
from datagate.cli import sign as _sign  # noqa: E402,F401  (registration side effect)
from datagate.cli import scan as _scan  # noqa: E402,F401  (registration side effect)
from datagate.cli import check as _check  # noqa: E402,F401  (registration side effect)
from datagate.cli import suggest as _suggest  # noqa: E402,F401  (registration side effect)
from datagate.cli import ingest as _ingest  # noqa: E402,F401  (registration side effect)
from datagate.cli import log as _log  # noqa: E402,F401  (registration side effect)
from datagate.cli import show as _show  # noqa: E402,F401  (registration side effect)
from datagate.cli import diff as _diff  # noqa: E402,F401  (registration side effect)
from datagate.cli import record as _record  # noqa: E402,F401  (registration side effect)
from datagate.cli import status as _status  # noqa: E402,F401  (registration side effect)
from datagate.cli import init as _init  # noqa: E402,F401  (registration side effect)
from datagate.cli import audit as _audit  # noqa: E402,F401  (registration side effect)
from datagate.cli import lineage as _lineage  # noqa: E402,F401  (registration side effect)
# -- command registrations: one import line per command module, keep this marker --

__all__ = ["Terminated", "app", "internal_error_line", "main"]

_GLOBAL_FLAGS = ("--verbose", "-v", "--quiet", "-q")


def _hoist_global_flags(argv: list[str]) -> list[str]:
    """Move global flags given after the command name to the front, so both orders work."""
    if "--" in argv:
        cut = argv.index("--")
        head, tail = argv[:cut], argv[cut:]
    else:
        head, tail = argv, []
    flags = [a for a in head if a in _GLOBAL_FLAGS]
    rest = [a for a in head if a not in _GLOBAL_FLAGS]
    return flags + rest + tail


def _command_name(args: list[str]) -> str | None:
    """Return the command ``args`` run (None for the group's own help or no command)."""
    for a in args:
        if a in ("-h", "--help"):
            return None
        if not a.startswith("-"):
            return a
    return None


def _command_target(args: list[str], name: str | None) -> str | None:
    """Return the first positional argument after the command ``name`` (its PATH or SOURCE)."""
    if name is None or name not in args:
        return None
    for a in args[args.index(name) + 1 :]:
        if not a.startswith("-"):
            return a
    return None


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived: unwinds the command (finally blocks and cleanup run); a
    BaseException, so neither click nor an ``except Exception`` swallows it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
        """The signal number (the exit code is 128 + it)."""


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated(signum)


@contextmanager
def _signals_unwind() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into :class:`Terminated` while the command runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[int, Callable[..., Any] | int | None] = {}
    for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is None:
            continue
        try:
            previous[sig] = signal.signal(sig, _raise_terminated)
        except (OSError, ValueError):  # pragma: no cover - platform without it
            continue
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


def internal_error_line(exc: BaseException, default_stage: str | None, default_file: str | None) -> str:
    """Return the one line shown for an unexpected exception: stage, file and message."""
    where = last_breadcrumb()
    stage, file = where if where is not None else (default_stage or "datagate", default_file)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    message = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return (
        f"datagate: internal error in {stage} on {file or default_file or '-'}: {message[:300]} "
        "(re-run with --verbose for the traceback)"
    )


_BUILT: dict[str, Any] = {}


def _click_command(name: str, chosen: list[Any]) -> Any:
    """Return the click group that runs only command ``name``, built once per process.

    typer builds click commands from the functions' signatures and annotations on every call
    (~30 ms); in-process callers (tests, the fuzz suite) run many commands.
    """
    import typer.main

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
    args = _hoist_global_flags(list(sys.argv[1:] if argv is None else argv))
    verbose = "--verbose" in args or "-v" in args
    clear_breadcrumb()
    # typer turns every registered command into a click command (signature and annotation
    # evaluation) on each call, ~25 ms for all twelve: only the one being run is built.
    # Help on the group and unknown commands (typer suggests the closest) see them all.
    registered = app.registered_commands
    name = _command_name(args)
    chosen = [c for c in registered if c.name is not None and c.name == name]
    try:
        # standalone_mode: click prints its own usage errors (exit 2) and turns typer.Exit
        # into SystemExit; only our own errors need translating here.
        with _signals_unwind():
            if chosen and name is not None:
                _click_command(name, chosen).main(args=args, prog_name="datagate", standalone_mode=True)
            else:
                app(args=args, prog_name="datagate", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        if code is None:
            return 0
        if isinstance(code, int):
            return code
        print(code, file=sys.stderr)
        return 2
    except DatagateError as exc:
        if verbose:
            traceback.print_exc(file=sys.stderr)
        print(f"datagate: error: {exc.diagnostics()}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:
        # A command whose install extra is missing says which one, in one line (exit 2).
        from datagate.extras import missing_extra_message

        hint = missing_extra_message(exc.name, name)
        if verbose:
            traceback.print_exc(file=sys.stderr)
        if hint is None:
            print(internal_error_line(exc, name, _command_target(args, name)), file=sys.stderr)
        else:
            print(f"datagate: error: {hint}", file=sys.stderr)
        return 2
    except Terminated as exc:
        print(f"datagate: terminated by signal {exc.signum}", file=sys.stderr)
        return 128 + exc.signum
    except KeyboardInterrupt:
        print("datagate: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001  the one boundary for the unexpected (issue 14)
        if verbose:
            traceback.print_exc(file=sys.stderr)
        print(internal_error_line(exc, name, _command_target(args, name)), file=sys.stderr)
        return 2
    finally:
        app.registered_commands = registered
        options.verbose = False
        options.quiet = False
    return 0
