"""The source extension point: turn a user's SOURCE argument into a local tree to gate.

``datagate ingest SOURCE`` parses SOURCE into a :class:`Source` (``local.py`` for folders,
``hub.py`` for ``hf://datasets/OWNER/NAME[@REVISION]``), then calls :meth:`Source.acquire`, which
returns an :class:`Acquired`: where the bytes are on disk, what was requested and resolved, the
findings acquisition itself produced (hash mismatches against the Hub, trust-rule hits) and the
trust signals to record. Acquisition never executes anything it downloads.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datagate.models import Finding
from datagate.progress import NULL_PROGRESS, ProgressSink

__all__ = ["Acquired", "Source", "SourceInfo"]


@dataclass(frozen=True)
class SourceInfo:
    """Where the data came from; goes verbatim into the lineage record (no secrets, ever)."""

    kind: str
    """``local`` or ``hf``."""
    uri: str
    """Canonical URI: an absolute ``file://`` path or ``hf://datasets/OWNER/NAME``."""
    requested_revision: str | None = None
    """What the user asked for (branch, tag or commit), or None for local folders."""
    resolved_revision: str | None = None
    """The 40-hex commit the request resolved to, or None for local folders."""


@dataclass(frozen=True)
class Acquired:
    """The outcome of acquiring a source."""

    root: Path
    """Local directory holding exactly the acquired files."""
    source: SourceInfo
    """Provenance to record."""
    findings: tuple[Finding, ...] = ()
    """Findings from acquisition: integrity mismatches, trust-policy hits."""
    trust: Mapping[str, Any] = field(default_factory=dict)
    """Trust signals (publisher, ages, downloads, likes, license, gated, card) when known."""
    remote_files: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Per relative path, what the remote published (sha256/git blob id, size, security status)."""


class Source(ABC):
    """A place datasets come from."""

    @abstractmethod
    def describe(self) -> SourceInfo:
        """Return what this source is, before acquiring (no network for local sources)."""

    @abstractmethod
    def acquire(self, dest: Path | None, *, progress: ProgressSink = NULL_PROGRESS) -> Acquired:
        """Make the data available locally under ``dest`` (or in place when None) and return it.

        Raises :class:`~datagate.errors.AcquireError` when the source cannot be resolved or read.
        """
