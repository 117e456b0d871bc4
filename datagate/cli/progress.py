"""Progress bars for long steps (hashing, scanning, checking, downloading) on a terminal.

:func:`make_progress` returns a :class:`~datagate.progress.ProgressSink`: rich progress bars with
file and byte counts on stderr when stderr is a terminal, and the silent
:data:`~datagate.progress.NULL_PROGRESS` when it is not (CI logs, pipes, files) or under
``--quiet``. Stdout is never touched, so ``--format json`` output stays clean.

Updates from the library are cheap: counts accumulate locally and reach rich at most
:data:`REFRESH_SECONDS` apart, so a walk over 100k small files is not slowed by drawing.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from datagate.progress import NULL_PROGRESS, ProgressSink, ProgressTask

__all__ = ["REFRESH_SECONDS", "RichProgress", "make_progress"]

REFRESH_SECONDS = 0.1
"""Shortest interval between two pushes of a task's counts to the display."""


_UNITS = ("B", "kB", "MB", "GB", "TB")


def _unit_of(n: float) -> tuple[float, str]:
    """Return (divisor, unit) for showing ``n`` bytes with decimal units."""
    div = 1.0
    for unit in _UNITS:
        if n < 1000 * div or unit == _UNITS[-1]:
            return div, unit
        div *= 1000
    return div, _UNITS[-1]  # pragma: no cover


def _size(n: float) -> str:
    div, unit = _unit_of(n)
    return f"{n:.0f} B" if unit == "B" else f"{n / div:.1f} {unit}"


def _size_pair(done: float, total: float) -> str:
    """Return ``"12.3/40.0 MB"``: both numbers in the total's unit."""
    div, unit = _unit_of(total)
    if unit == "B":
        return f"{done:.0f}/{total:.0f} B"
    return f"{done / div:.1f}/{total / div:.1f} {unit}"


class _CountsColumn(ProgressColumn):
    """``1,234/5,000 files · 12.3/40.0 MB · 85.0 MB/s``, from the task's fields."""

    def render(self, task: Task) -> Text:
        """Return the counts text of ``task``."""
        items = int(task.fields.get("items", 0))
        items_total = task.fields.get("items_total")
        nbytes = int(task.fields.get("nbytes", 0))
        bytes_total = task.fields.get("bytes_total")
        unit = str(task.fields.get("unit", "files"))
        parts = [
            f"{items:,}/{items_total:,} {unit}" if items_total is not None else f"{items:,} {unit}"
        ]
        if nbytes or bytes_total:
            parts.append(_size_pair(nbytes, bytes_total) if bytes_total else _size(nbytes))
            elapsed = task.elapsed or 0.0
            if elapsed > 0.2 and not task.finished:
                parts.append(f"{_size(nbytes / elapsed)}/s")
        return Text(" · ".join(parts), style="progress.download")


class _RichTask:
    """One step's handle: counts locally, pushes to rich at most every REFRESH_SECONDS."""

    def __init__(self, owner: RichProgress, task_id: TaskID, by_bytes: bool) -> None:
        self._owner = owner
        self._id = task_id
        self._by_bytes = by_bytes
        self._items = 0
        self._nbytes = 0
        self._last = 0.0
        self._lock = threading.Lock()
        self._closed = False

    def advance(self, items: int = 1, nbytes: int = 0) -> None:
        """Record ``items`` more items and ``nbytes`` more bytes done."""
        with self._lock:
            self._items += items
            self._nbytes += nbytes
            now = time.monotonic()
            if now - self._last < REFRESH_SECONDS:
                return
            self._last = now
            self._push()

    def _push(self) -> None:
        completed = self._nbytes if self._by_bytes else self._items
        self._owner._progress.update(
            self._id, completed=completed, items=self._items, nbytes=self._nbytes
        )

    def close(self) -> None:
        """Show the final counts and mark the step finished (idempotent)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._push()
            task = self._owner._progress.tasks[self._owner._index(self._id)]
            if task.total is None:
                self._owner._progress.update(
                    self._id, total=max(task.completed, 1), completed=max(task.completed, 1)
                )
            else:
                self._owner._progress.update(self._id, completed=task.total)
        self._owner._closed_one()


class RichProgress:
    """A :class:`~datagate.progress.ProgressSink` drawing rich bars on a terminal stream."""

    def __init__(self, stream: TextIO) -> None:
        self._console = Console(file=stream, stderr=stream is sys.stderr)
        self._progress = Progress(
            SpinnerColumn(finished_text="[green]✓"),
            TextColumn("{task.description}"),
            BarColumn(bar_width=20),
            _CountsColumn(),
            TimeElapsedColumn(),
            console=self._console,
            transient=False,
            refresh_per_second=10,
        )
        self._open = 0
        self._lock = threading.Lock()

    def _index(self, task_id: TaskID) -> int:
        return next(i for i, t in enumerate(self._progress.tasks) if t.id == task_id)

    def task(
        self, description: str, *, total: int | None = None, total_bytes: int | None = None, unit: str = "files"
    ) -> ProgressTask:
        """Start a bar for one step and return its handle.

        The bar tracks bytes when ``total_bytes`` is known, else items; with neither it pulses.
        """
        by_bytes = total_bytes is not None
        with self._lock:
            if self._open == 0:
                self._progress.start()
            self._open += 1
            task_id = self._progress.add_task(
                description,
                total=total_bytes if by_bytes else total,
                items=0,
                nbytes=0,
                items_total=total,
                bytes_total=total_bytes,
                unit=unit,
            )
        return _RichTask(self, task_id, by_bytes)

    def close(self) -> None:
        """Stop drawing, even if some step was never closed (e.g. after an error). Idempotent."""
        with self._lock:
            self._open = 0
            self._progress.stop()

    def _closed_one(self) -> None:
        with self._lock:
            self._open -= 1
            if self._open <= 0:
                self._open = 0
                self._progress.stop()


def make_progress(quiet: bool, *, stream: TextIO | None = None) -> ProgressSink:
    """Return rich progress bars on ``stream`` (default stderr) when it is a terminal.

    Returns :data:`~datagate.progress.NULL_PROGRESS` under ``quiet`` or when the stream is not
    a terminal (pipes, files, CI logs), so nothing is drawn where nobody watches.
    """
    out = sys.stderr if stream is None else stream
    if quiet:
        return NULL_PROGRESS
    try:
        interactive = out.isatty()
    except (AttributeError, ValueError):  # closed or file-like without isatty
        interactive = False
    if not interactive:
        return NULL_PROGRESS
    return RichProgress(out)
