"""datagate acquire stage: turn a SOURCE argument into local bytes to gate.

>>> from datagate.acquire import parse_source
>>> parse_source("data/raw").describe().kind
'local'

``hf://datasets/OWNER/NAME[@REVISION]`` goes to :class:`datagate.acquire.hub.HubSource` (imported
lazily, so the Hub client loads only when used); anything else is a local path.
"""

from __future__ import annotations

import re
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datagate import _lazy_attributes

if TYPE_CHECKING:
    from datagate.acquire.interface import Acquired, Source, SourceInfo
    from datagate.acquire.local import LocalSource

__all__ = ["Acquired", "LocalSource", "Source", "SourceInfo", "local_copy", "parse_source"]

# Imported on first use: ``datagate scan FOLDER`` resolves a local path without loading them.
_LAZY = {
    "Acquired": "datagate.acquire.interface",
    "Source": "datagate.acquire.interface",
    "SourceInfo": "datagate.acquire.interface",
    "LocalSource": "datagate.acquire.local",
}

__getattr__ = _lazy_attributes(__name__, _LAZY)


def parse_source(text: str, **hub_options: Any) -> Source:
    """Return the :class:`Source` named by ``text``.

    ``hf://...`` returns a ``HubSource`` built with ``HubSource.from_uri(text, **hub_options)``
    when that constructor exists, else ``HubSource(text, **hub_options)``; anything else a
    :class:`LocalSource`. Raises UsageError for an empty string or an unknown ``scheme://``;
    the Hub source raises its own errors for a malformed ``hf://`` URI.
    """
    from datagate.acquire.interface import Source
    from datagate.acquire.local import LocalSource
    from datagate.errors import UsageError

    if not text:
        raise UsageError("empty SOURCE", hint="give a folder or hf://datasets/OWNER/NAME[@REVISION]")
    if text.startswith("hf://"):
        hub = import_module("datagate.acquire.hub")
        cls = hub.HubSource
        factory = getattr(cls, "from_uri", None)
        source = factory(text, **hub_options) if callable(factory) else cls(text, **hub_options)
        if not isinstance(source, Source):
            raise TypeError("HubSource must implement datagate.acquire.interface.Source")
        return source
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", text) and not text.startswith("file://"):
        scheme = text.split("://", 1)[0]
        raise UsageError(f"{text}: unsupported source scheme {scheme!r}", hint="use a local path or hf://datasets/OWNER/NAME")
    if text.startswith("file://"):
        from urllib.parse import unquote, urlparse

        return LocalSource(unquote(urlparse(text).path))
    if hub_options:
        raise UsageError(f"{text}: Hub options ({', '.join(sorted(hub_options))}) apply only to hf:// sources")
    return LocalSource(text)


def local_copy(text: str, *, progress: Any = None) -> tuple[Path, Acquired | None]:
    """Return ``(local folder, acquisition)`` for what ``scan``/``check`` were pointed at.

    A local path is returned as it is (acquisition None). ``hf://datasets/OWNER/NAME[@REV]`` is
    resolved to its commit, downloaded into datagate's Hub cache (``$DATAGATE_HUB_DIR`` or
    ``~/.cache/datagate/hub``, per commit, so a second run downloads nothing) and every byte
    verified against the hashes the Hub publishes, exactly as ``ingest`` does; the acquisition's
    findings (integrity mismatches, missing files) are returned for the caller to report.

    Raises AcquireError (one line naming repo and revision) and UsageError as :func:`parse_source`
    and the Hub source do.
    """
    if not text.startswith("hf://"):
        return Path(text), None
    from datagate.progress import NULL_PROGRESS

    source = parse_source(text)
    acquired = source.acquire(None, progress=progress if progress is not None else NULL_PROGRESS)
    return acquired.root, acquired
