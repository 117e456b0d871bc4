"""Write files so a reader never sees half of one: temp file in the same folder, fsync, rename.

The temporary file is ``.<name>.tmp-<pid>-<random>`` next to the target. It is removed on every
way out of the write: success (renamed), an exception, Ctrl-C, and SIGTERM/SIGHUP (the CLI turns
them into an exception that unwinds through here). Only SIGKILL or a power cut can leave one
behind, so each write first removes the leftovers *of its own target* whose writer process is
gone (and, for files named by older datagate versions, ``.<name>.*.tmp`` older than an hour).
Outputs get ``0o666`` minus the umask, like any file the user's shell creates.

A target that is a stream rather than a file (``--output /dev/null``, a named pipe, a socket,
anything under ``/dev`` or ``/proc`` such as ``/dev/stdout``) is written straight through:
renaming a temp file over it would replace the device node or link itself.
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from datagate.errors import DatagateError

__all__ = [
    "TMP_MARK",
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_writer",
    "is_stream_target",
    "new_file_mode",
    "sweep_stale_temps",
    "temp_name",
]

TMP_MARK = ".tmp-"
"""What every datagate temp file name holds after ``.<target name>``."""

_LEGACY_AGE_S = 3600
"""Temp files of the older ``.<name>.XXXXXXXX.tmp`` pattern carry no pid; older than this they are
stale (no write takes an hour between creating its temp file and renaming it)."""


def new_file_mode() -> int:
    """Return the mode a new file gets under the current umask (``0o666 & ~umask``)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # no way to read it without setting it elsewhere
    os.umask(mask)
    return 0o666 & ~mask


def temp_name(path: Path) -> Path:
    """Return a fresh temp file path for writing ``path``: ``.<name>.tmp-<pid>-<random>``."""
    return path.parent / f".{path.name}{TMP_MARK}{os.getpid()}-{os.urandom(4).hex()}"


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # someone else's process (or a number we cannot ask about): leave it
    return True


def sweep_stale_temps(path: Path) -> list[Path]:
    """Remove temp files left by killed writers of ``path``; return what was removed.

    Only names of datagate's own patterns for this target are touched: ``.<name>.tmp-<pid>-*``
    whose process no longer exists, and ``.<name>.*.tmp`` (older versions) older than an hour.
    """
    folder = path.parent if str(path.parent) else Path(".")
    prefix = f".{path.name}."
    removed: list[Path] = []
    try:
        with os.scandir(folder) as it:
            names = [e.name for e in it if e.name.startswith(prefix)]
    except OSError:
        return removed
    now = time.time()
    for name in names:
        rest = name[len(prefix) - 1 :]
        stale = False
        if rest.startswith(TMP_MARK):
            pid_text = rest[len(TMP_MARK) :].split("-", 1)[0]
            stale = pid_text.isdigit() and not _alive(int(pid_text))
        elif rest.endswith(".tmp") and rest.count(".") == 2:
            with contextlib.suppress(OSError):
                stale = now - os.lstat(folder / name).st_mtime > _LEGACY_AGE_S
        if stale:
            with contextlib.suppress(OSError):
                os.unlink(folder / name)
                removed.append(folder / name)
    return removed


def atomic_write_bytes(path: Path, data: bytes, *, fsync_dir: bool = True) -> None:
    """Replace ``path`` with ``data`` atomically; on any failure nothing is left behind.

    Raises DatagateError naming the path when the folder is missing or not writable.
    """
    with atomic_writer(path, fsync_dir=fsync_dir) as fh:
        fh.write(data)


def is_stream_target(path: Path) -> bool:
    """Return True when ``path`` exists and is a stream to write into, not a file to replace:
    a device, named pipe or socket (following links), or anything under ``/dev`` or ``/proc``
    (``/dev/stdout`` of a redirected shell leads to a regular file)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        return True
    return stat.S_ISREG(mode) and os.path.abspath(path).startswith(("/dev/", "/proc/"))


@contextmanager
def atomic_writer(path: Path, *, fsync_dir: bool = True) -> Iterator[BinaryIO]:
    """Yield a binary file that replaces ``path`` when the block ends without an exception.

    The data goes to a temporary file in the same folder, which is fsync'ed and renamed over
    ``path``; if the block raises (or is interrupted), the temporary file is removed and ``path``
    is untouched. The new file's mode honours the umask. Raises DatagateError naming the path
    when the folder is missing or not writable. A stream target (:func:`is_stream_target`) is
    written straight through instead: what a stream has received cannot be taken back.
    """
    path = Path(path)
    if is_stream_target(path):
        try:
            fh = open(path, "wb")  # noqa: SIM115 - closed below, after the block
        except OSError as exc:
            raise DatagateError(f"{path}: cannot write ({exc.strerror})") from exc
        try:
            with fh:
                yield fh
        except OSError as exc:
            raise DatagateError(f"{path}: cannot write ({exc.strerror})") from exc
        return
    folder = path.parent if str(path.parent) else Path(".")
    sweep_stale_temps(path)
    tmp = temp_name(path)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
    except FileNotFoundError:
        raise DatagateError(f"{path}: folder {folder} does not exist") from None
    except OSError as exc:
        raise DatagateError(f"{path}: cannot write ({exc.strerror})") from exc
    try:
        os.fchmod(fd, new_file_mode())
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
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
