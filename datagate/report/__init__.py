"""Report: render results for people and machines. Depends only on models.

One module per output format (text, json, sarif, markdown, html); :func:`write_output` sends a
rendered report to stdout or atomically to a file.
"""

from __future__ import annotations

import sys
from pathlib import Path

from datagate.atomic import atomic_write_text
from datagate.errors import ReportError

__all__ = ["write_output"]


def write_output(text: str, output: Path | None) -> None:
    """Print ``text`` to stdout, or write it to ``output`` atomically (temp file + rename).

    Raises ReportError naming the file when it cannot be written; nothing partial is left.
    """
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        atomic_write_text(Path(output), text)
    except Exception as exc:  # noqa: BLE001 - re-raised as the stage's error type
        from datagate.errors import DatagateError

        if isinstance(exc, DatagateError):
            raise ReportError(exc.message) from exc
        raise
