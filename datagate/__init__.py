"""datagate: a dataset intake gate.

>>> import datagate
>>> manifest = datagate.hash_tree("fixtures/build/sample")   # doctest: +SKIP
>>> manifest.root_digest                                      # doctest: +SKIP
'sha256:...'

Public API: :func:`hash_tree`, :func:`verify`, :func:`scan`, :func:`check`, :func:`ingest`,
``__version__``. Heavy modules (pyarrow, great_expectations, dvc, datasets) are imported lazily
by the functions that need them, so ``import datagate`` stays fast.

``datagate.scan`` and ``datagate.check`` are also the names of sub-packages: once one is
imported, Python binds ``datagate.scan`` to the module, so those modules are callable and run
their function (``datagate.scan(path)`` is ``datagate.scan.scan(path)`` either way).
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable, Mapping
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


class CallableModule(types.ModuleType):
    """A module that, called, runs its function of the same name (``datagate.scan(...)``)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call ``<module>.<last part of its name>`` with the arguments; return its result."""
        return getattr(self, self.__name__.rpartition(".")[2])(*args, **kwargs)


def _callable_module(name: str) -> None:
    """Make the (already imported) module ``name`` a :class:`CallableModule`."""
    sys.modules[name].__class__ = CallableModule


def _lazy_attributes(package: str, table: Mapping[str, str]) -> Callable[[str], Any]:
    """Return a module ``__getattr__`` for ``package`` that imports ``table[name]`` on first use
    of ``name`` and returns its attribute of that name (PEP 562)."""

    def getattr_(name: str) -> Any:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(import_module(module), name)

    return getattr_


__getattr__ = _lazy_attributes(__name__, _LAZY)


def __dir__() -> list[str]:
    return sorted(__all__)
