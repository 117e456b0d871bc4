"""The one exception hierarchy datagate raises.

Every error a user can cause (bad path, bad manifest, bad policy, unreachable hub) is a
:class:`DatagateError` carrying a one-line, user-facing message that names the file or value at
fault, and an optional hint. The CLI catches ``DatagateError`` in exactly one place
(:func:`datagate.cli.main`) and exits 2; anything else is a bug and shows a traceback.

Third-party exceptions are translated at the edge with ``raise ... from e``, so callers never
need to catch ``OSError``, ``pyarrow``, ``great_expectations``, ``dvc`` or ``huggingface_hub``
errors.
"""

from __future__ import annotations

import threading

__all__ = [
    "AcquireError",
    "CheckError",
    "ConfigError",
    "DatagateError",
    "InventoryError",
    "LineageError",
    "ManifestError",
    "ReportError",
    "ScanError",
    "UsageError",
    "breadcrumb",
    "last_breadcrumb",
]

_WHERE: dict[str, tuple[str, str | None]] = {}
_WHERE_LOCK = threading.Lock()


def breadcrumb(stage: str, file: str | None = None) -> None:
    """Record that ``stage`` is now working on ``file`` (a path relative to its root, or None).

    The CLI names the last breadcrumb when an unexpected exception escapes a command
    (``internal error in <stage> on <file>``); stages call this as they start a file. Cheap, and
    safe from any thread (the last writer wins, which is the file being worked on).
    """
    with _WHERE_LOCK:
        _WHERE["last"] = (stage, file)


def last_breadcrumb() -> tuple[str, str | None] | None:
    """Return the last ``(stage, file)`` recorded by :func:`breadcrumb`, or None."""
    with _WHERE_LOCK:
        return _WHERE.get("last")


def clear_breadcrumb() -> None:
    """Forget the last breadcrumb (the CLI calls this as each command starts)."""
    with _WHERE_LOCK:
        _WHERE.pop("last", None)


class DatagateError(Exception):
    """Base class of every error datagate raises on purpose.

    ``message`` is one line naming the file or value at fault; ``hint`` optionally says what to do.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        """One line that names what went wrong and where."""
        self.hint = hint
        """What the user can do about it, or None."""

    def diagnostics(self) -> str:
        """Return the message (and hint, if any) as it should be shown to a person."""
        if self.hint:
            return f"{self.message}\nhint: {self.hint}"
        return self.message


class UsageError(DatagateError):
    """The command line or API call was given something it cannot use."""


class ConfigError(DatagateError):
    """A policy or config file is unreadable or invalid (all problems are listed at once)."""


class InventoryError(DatagateError):
    """The tree could not be walked or hashed (missing path, unreadable file, odd file type)."""


class ManifestError(DatagateError):
    """A manifest file is missing, corrupt, or not a datagate manifest."""


class ScanError(DatagateError):
    """The scan stage could not run at all (a single bad file is a finding, not this)."""


class CheckError(DatagateError):
    """The check stage could not run at all (a single bad shard is a check error, not this)."""


class AcquireError(DatagateError):
    """A source could not be resolved or downloaded."""


class LineageError(DatagateError):
    """A lineage record, store, DVC file or event sink could not be read or written."""


class ReportError(DatagateError):
    """A report could not be rendered or written."""
