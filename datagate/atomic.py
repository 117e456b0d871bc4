"""Write files so a reader never sees half of one: temp file in the same folder, fsync, rename."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from datagate.errors import DatagateError

__all__ = ["atomic_write_bytes", "atomic_write_text", "atomic_writer"]


def atomic_write_bytes(path: Path, data: bytes, *, fsync_dir: bool = True) -> None:
    """Replace ``path`` with ``data`` atomically; on any failure nothing is left behind.

    Raises DatagateError naming the path when the folder is missing or not writable.
    """
    with atomic_writer(path, fsync_dir=fsync_dir) as fh:
        fh.write(data)


@contextmanager
def atomic_writer(path: Path, *, fsync_dir: bool = True) -> Iterator[BinaryIO]:
    """Yield a binary file that replaces ``path`` when the block ends without an exception.

    The data goes to a temporary file in the same folder, which is fsync'ed and renamed over
    ``path``; if the block raises, the temporary file is removed and ``path`` is untouched.
    Raises DatagateError naming the path when the folder is missing or not writable.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except FileNotFoundError:
        raise DatagateError(f"{path}: folder {folder} does not exist") from None
    except OSError as exc:
        raise DatagateError(f"{path}: cannot write ({exc.strerror})") from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise DatagateError(f"{path}: cannot write ({exc.strerror})") from exc
        raise
    if fsync_dir:
        try:
            dfd = os.open(folder, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(dfd)
        except OSError:
            pass
        finally:
            os.close(dfd)


def atomic_write_text(path: Path, text: str, *, fsync_dir: bool = True) -> None:
    """Replace ``path`` with UTF-8 ``text`` atomically (see :func:`atomic_write_bytes`)."""
    atomic_write_bytes(path, text.encode("utf-8"), fsync_dir=fsync_dir)
