"""Pick the progress sink for a command: rich bars on a terminal, silence otherwise."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from datagate.progress import NULL_PROGRESS, ProgressSink

__all__ = ["progress_sink"]


@contextmanager
def progress_sink(quiet: bool) -> Iterator[ProgressSink]:
    """Yield the progress sink for this invocation and close it afterwards."""
    try:
        interactive = sys.stderr.isatty()
    except (AttributeError, ValueError):
        interactive = False
    if quiet or not interactive:
        # Decided before importing rich (~40 ms) so pipes, CI logs and --quiet start faster.
        yield NULL_PROGRESS
        return
    try:
        from datagate.cli.progress import make_progress
    except ImportError:
        yield NULL_PROGRESS
        return
    sink = make_progress(quiet)
    try:
        yield sink
    finally:
        close = getattr(sink, "close", None)
        if callable(close):
            close()
