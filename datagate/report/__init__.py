"""Report: render results for people and machines. Depends only on models.

One module per output format (text, json, sarif, markdown, html); :func:`write_output` sends a
rendered report to stdout or atomically to a file.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from datagate.atomic import atomic_write_text, atomic_writer
from datagate.errors import DatagateError, ReportError

__all__ = ["output_stream", "write_output"]


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
    except DatagateError as exc:
        raise ReportError(exc.message) from exc


@contextmanager
def output_stream(output: Path | None) -> Iterator[BinaryIO]:
    """Yield a binary stream to stdout, or to ``output`` written atomically (temp file + rename).

    A file is only replaced when the block succeeds; if it raises, nothing is left behind.
    Raises ReportError naming the file when it cannot be written.
    """
    if output is None:
        sys.stdout.flush()
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    try:
        writer = atomic_writer(Path(output))
        fh = writer.__enter__()
    except DatagateError as exc:
        raise ReportError(exc.message) from exc
    try:
        yield fh
    except BaseException:
        if not writer.__exit__(*sys.exc_info()):
            raise
    else:
        try:
            writer.__exit__(None, None, None)
        except DatagateError as exc:
            raise ReportError(exc.message) from exc
