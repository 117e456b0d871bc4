"""Skip marker for tests that need the scan and check stages (written concurrently)."""

from __future__ import annotations

import importlib

import pytest

__all__ = ["HOSTILE_PICKLE", "needs_stages"]


def _stages_ready() -> bool:
    scan = importlib.import_module("datagate.scan")
    check = importlib.import_module("datagate.check")
    return hasattr(scan, "scan") and hasattr(check, "run_checks")


needs_stages = pytest.mark.skipif(
    not _stages_ready(),
    reason="datagate.scan.scan or datagate.check.run_checks not present yet (issues 3 and 4)",
)
"""Apply to tests that run a full ingest."""

HOSTILE_PICKLE = b"cos\nsystem\n(S'echo DGPWNED-ingest'\ntR."
"""A protocol-0 pickle whose load would run os.system (never loaded by these tests)."""
