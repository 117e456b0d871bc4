"""A tiny progress protocol the library reports to; the CLI plugs in a rich-backed sink.

Library functions take ``progress: ProgressSink = NULL_PROGRESS`` and never print. Rendering
(rich bars on a terminal, nothing otherwise) lives with the CLI.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["NULL_PROGRESS", "NullProgress", "ProgressSink", "ProgressTask"]


class ProgressTask(Protocol):
    """One long step (hashing, scanning, checking, downloading)."""

    def advance(self, items: int = 1, nbytes: int = 0) -> None:
        """Record that ``items`` more items and ``nbytes`` more bytes are done."""
        ...

    def close(self) -> None:
        """Mark the step finished."""
        ...


class ProgressSink(Protocol):
    """Something that shows progress to a person."""

    def task(
        self, description: str, *, total: int | None = None, total_bytes: int | None = None, unit: str = "files"
    ) -> ProgressTask:
        """Start a step with optional known totals and return its handle; ``unit`` names what
        ``total`` and ``advance(items)`` count (``files``, ``rows``)."""
        ...


class _NullTask:
    def advance(self, items: int = 1, nbytes: int = 0) -> None:
        return None

    def close(self) -> None:
        return None


class NullProgress:
    """A sink that shows nothing (tests, libraries, non-terminal output)."""

    def task(
        self, description: str, *, total: int | None = None, total_bytes: int | None = None, unit: str = "files"
    ) -> ProgressTask:
        """Return a task handle that ignores every update."""
        return _NullTask()


NULL_PROGRESS: ProgressSink = NullProgress()
"""The default sink: silent."""
