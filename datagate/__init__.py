"""datagate: a dataset intake gate.

>>> import datagate
>>> manifest = datagate.hash_tree("fixtures/build/sample")   # doctest: +SKIP
>>> manifest.root_digest                                      # doctest: +SKIP
'sha256:...'

Public API: :func:`hash_tree`, :func:`verify`, :func:`scan`, :func:`check`, :func:`ingest`,
``__version__``. Heavy modules (pyarrow, great_expectations, dvc, datasets) are imported lazily
by the functions that need them, so ``import datagate`` stays fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "check", "hash_tree", "ingest", "scan", "verify"]

_LAZY = {
    "hash_tree": "datagate.inventory",
    "verify": "datagate.inventory",
    "scan": "datagate.scan",
    "check": "datagate.check",
    "ingest": "datagate.pipeline",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'datagate' has no attribute {name!r}")
    return getattr(import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)
