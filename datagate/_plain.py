"""Loading datagate's optional C accelerators, and the pickle scanner's plain-data check.

Each accelerator is an optional extension (setup.py): where it was not built, is stale or is
turned off (``DATAGATE_PURE_PYTHON=1``), datagate takes its Python code paths, with the same
results. :func:`load_extension` imports one and says in a few words why it is not in use.

:data:`plain_data` (``_pickleplain.c``) answers True only for a well-formed pickle stream that
builds plain data (no global, call, DUP, buffer or container memo re-use) and ends on its last
byte: one for which the scanner's full walk (:func:`datagate.scan.pickles.analyse`) reports
nothing, so the scanner can skip the walk. False is never a verdict: the walk runs and decides.
Tests compare the two on real, hostile and mutated pickles.

Cheap to import (no pickle machinery), so ``datagate --version`` can report :data:`status`.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from types import ModuleType
from typing import Any

__all__ = ["ABI", "load_extension", "plain_data", "status"]

ABI = 1
"""The interface this code was written for (``DATAGATE_PICKLEPLAIN_ABI`` in _pickleplain.c)."""


def load_extension(name: str, abi: int) -> tuple[ModuleType | None, str]:
    """Import the accelerator ``name`` if it is built for interface ``abi``; return it (None:
    use the Python code paths) and ``"on"`` or why not."""
    if os.environ.get("DATAGATE_PURE_PYTHON", "") not in ("", "0"):
        return None, "off (DATAGATE_PURE_PYTHON is set)"
    try:
        mod = importlib.import_module(name)
    except ModuleNotFoundError:
        return None, "not built (no C compiler or Python headers at install time?)"
    except ImportError as exc:
        return None, f"unusable ({exc}); reinstall datagate"
    if getattr(mod, "ABI", None) != abi:
        return None, f"stale build (ABI {getattr(mod, 'ABI', None)}, want {abi}); reinstall datagate"
    return mod, "on"


def _load() -> tuple[Callable[[Any, int], bool] | None, str]:
    mod, why = load_extension("datagate._pickleplain", ABI)
    return (mod.plain_data if mod is not None else None), why


plain_data, status = _load()
"""``plain_data(data, max_ops) -> bool`` (None: not available) and a word on why, for --version."""
