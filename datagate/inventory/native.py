"""The optional C accelerator of the inventory (``_native.c``), or None where it is not built.

The inventory's results never depend on it: every function it offers has a Python twin that
gives the same answer (tests compare them). Set ``DATAGATE_PURE_PYTHON=1`` to run the Python
twins anyway.
"""

from __future__ import annotations

import importlib
import os
import sys
from types import ModuleType

__all__ = ["ABI", "native", "status"]

ABI = 2
"""The accelerator interface this code was written for (``DATAGATE_NATIVE_ABI`` in _native.c)."""


def _load() -> tuple[ModuleType | None, str]:
    if os.environ.get("DATAGATE_PURE_PYTHON", "") not in ("", "0"):
        return None, "off (DATAGATE_PURE_PYTHON is set)"
    if sys.getfilesystemencoding() != "utf-8":
        # The accelerator reads paths as UTF-8, as os.fsencode does on a UTF-8 file system.
        return None, f"off (file system encoding is {sys.getfilesystemencoding()})"
    try:
        _native = importlib.import_module("datagate.inventory._native")
    except ModuleNotFoundError:
        return None, "not built (no C compiler or Python headers at install time?)"
    except ImportError as exc:
        return None, f"unusable ({exc}); reinstall datagate"
    if getattr(_native, "ABI", None) != ABI:
        return None, f"stale build (ABI {getattr(_native, 'ABI', None)}, want {ABI}); reinstall datagate"
    return _native, "on"


native, status = _load()
"""The accelerator module (None: use the Python code paths) and a word on why, for --version."""
