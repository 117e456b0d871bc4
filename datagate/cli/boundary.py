"""The CLI's one error boundary, without typer: exit codes and one-line messages.

:func:`guarded` runs a command and turns what escapes it into an exit code: a
:class:`~datagate.errors.DatagateError` into ``datagate: error: ...`` and 2, any other exception
into ``datagate: internal error in <stage> on <file>: <message> (re-run with --verbose ...)``
and 2, SIGTERM/SIGHUP into 128 + the signal number (after the command unwound), Ctrl-C into
130. Both the typer application (:func:`datagate.cli.main`) and the typer-free ``scan`` path of
the console script (:mod:`datagate.cli.fast`) go through it, so their messages are the same.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from datagate.errors import DatagateError, last_breadcrumb

__all__ = ["GLOBAL_FLAGS", "Terminated", "command_name", "command_target", "guarded", "hoist_global_flags", "internal_error_line", "signals_unwind"]


GLOBAL_FLAGS = ("--verbose", "-v", "--quiet", "-q")


def hoist_global_flags(argv: list[str]) -> list[str]:
    """Move global flags given after the command name to the front, so both orders work."""
    if "--" in argv:
        cut = argv.index("--")
        head, tail = argv[:cut], argv[cut:]
    else:
        head, tail = argv, []
    flags = [a for a in head if a in GLOBAL_FLAGS]
    rest = [a for a in head if a not in GLOBAL_FLAGS]
    return flags + rest + tail


def command_name(args: list[str]) -> str | None:
    """Return the command ``args`` run (None for the group's own help or no command)."""
    for a in args:
        if a in ("-h", "--help"):
            return None
        if not a.startswith("-"):
            return a
    return None


def command_target(args: list[str], name: str | None) -> str | None:
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
def signals_unwind() -> Iterator[None]:
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


def guarded(run: Callable[[], int | None], *, name: str | None, args: list[str], verbose: bool) -> int:
    """Run ``run`` (a command) and return its exit code; never raises (see the module doc).

    ``run`` returns the exit code, or raises ``SystemExit`` (click's usage errors and
    ``typer.Exit`` arrive that way).
    """
    try:
        with signals_unwind():
            code = run()
    except SystemExit as exc:
        if exc.code is None:
            return 0
        if isinstance(exc.code, int):
            return exc.code
        print(exc.code, file=sys.stderr)
        return 2
    except DatagateError as exc:
        if verbose:
            import traceback

            traceback.print_exc(file=sys.stderr)
        print(f"datagate: error: {exc.diagnostics()}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:
        # A command whose install extra is missing says which one, in one line (exit 2).
        from datagate.extras import missing_extra_message

        hint = missing_extra_message(exc.name, name)
        if verbose:
            import traceback

            traceback.print_exc(file=sys.stderr)
        if hint is None:
            print(internal_error_line(exc, name, command_target(args, name)), file=sys.stderr)
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
            import traceback

            traceback.print_exc(file=sys.stderr)
        print(internal_error_line(exc, name, command_target(args, name)), file=sys.stderr)
        return 2
    return 0 if code is None else code
