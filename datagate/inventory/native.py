"""The optional C accelerator of the inventory (``_native.c``), or None where it is not built.

The inventory's results never depend on it: every function it offers has a Python twin that
gives the same answer (tests compare them). Set ``DATAGATE_PURE_PYTHON=1`` to run the Python
twins anyway.
"""

from __future__ import annotations

import os
import sys
from types import ModuleType

from datagate._accel import load_extension

__all__ = ["ABI", "native", "status"]

ABI = 2
"""The accelerator interface this code was written for (``DATAGATE_NATIVE_ABI`` in _native.c)."""


def _load() -> tuple[ModuleType | None, str]:
    pure = os.environ.get("DATAGATE_PURE_PYTHON", "") not in ("", "0")  # load_extension says so
    if not pure and sys.getfilesystemencoding() != "utf-8":
        # The accelerator reads paths as UTF-8, as os.fsencode does on a UTF-8 file system.
        return None, f"off (file system encoding is {sys.getfilesystemencoding()})"
    return load_extension("datagate.inventory._native", ABI)


native, status = _load()
"""The accelerator module (None: use the Python code paths) and a word on why, for --version."""
