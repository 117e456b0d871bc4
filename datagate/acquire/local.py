"""Local folders (or single files) as a source: gated in place, or copied into ``dest`` first.

Copying never follows symlinks (they are recreated as symlinks), keeps permission bits (so an
executable bit is still seen by the scanner) and refuses special files (FIFOs, devices, sockets),
which could block or lie about their content.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from datagate.acquire.interface import Acquired, Source, SourceInfo
from datagate.errors import AcquireError
from datagate.progress import NULL_PROGRESS, ProgressSink, ProgressTask

__all__ = ["LocalSource"]

_TOOL_STATE = (".git", ".dvc", ".datagate")


class LocalSource(Source):
    """A folder or file on the local file system."""

    def __init__(self, path: Path | str) -> None:
        """Remember ``path``; nothing is read until :meth:`acquire`."""
        self.path = Path(path)
        """The folder or file as the user named it."""

    def __repr__(self) -> str:
        return f"LocalSource({str(self.path)!r})"

    def describe(self) -> SourceInfo:
        """Return ``kind="local"`` and the absolute ``file://`` URI of the path (not resolved
        through symlinks, so the URI names what the user gave)."""
        absolute = Path(os.path.abspath(self.path))
        return SourceInfo(kind="local", uri=absolute.as_uri())

    def acquire(self, dest: Path | None, *, progress: ProgressSink = NULL_PROGRESS) -> Acquired:
        """Return the path in place (``dest`` None) or a fresh copy of it under ``dest``.

        ``dest`` must not exist yet or be an empty directory. Raises AcquireError when the path
        is missing or a symlink, ``dest`` is not empty or lies inside the source, or a file
        cannot be copied.
        """
        src = self.path
        try:
            st = os.lstat(src)
        except FileNotFoundError:
            raise AcquireError(f"{src}: no such file or directory") from None
        except OSError as exc:
            raise AcquireError(f"{src}: cannot stat ({exc.strerror})") from exc
        if stat.S_ISLNK(st.st_mode):
            raise AcquireError(f"{src}: is a symlink; datagate does not follow symlinks", hint="name the real path")
        if not (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)):
            raise AcquireError(f"{src}: is not a regular file or directory")
        info = self.describe()
        if dest is None:
            return Acquired(root=src, source=info)
        dest = Path(dest)
        src_abs, dest_abs = Path(os.path.abspath(src)), Path(os.path.abspath(dest))
        if dest_abs == src_abs or src_abs in dest_abs.parents:
            raise AcquireError(f"{dest}: destination lies inside the source {src}")
        if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
            raise AcquireError(f"{dest}: destination exists and is not an empty directory")
        try:
            dest.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise AcquireError(f"{dest}: cannot create ({exc.strerror})") from exc
        task = progress.task("copying")
        try:
            if stat.S_ISREG(st.st_mode):
                _copy_file(src, dest / src.name)
                task.advance(1, st.st_size)
            else:
                _copy_tree(src, dest, task)
        finally:
            task.close()
        return Acquired(root=dest, source=info)


def _copy_file(src: Path, dst: Path) -> None:
    try:
        import shutil

        shutil.copy2(src, dst, follow_symlinks=False)
    except OSError as exc:
        raise AcquireError(f"{src}: cannot copy to {dst} ({exc.strerror or exc})") from exc


def _copy_tree(src: Path, dest: Path, task: ProgressTask) -> None:
    advance = task.advance
    for dirpath, dirnames, filenames in os.walk(src, followlinks=False):
        rel = os.path.relpath(dirpath, src)
        out_dir = dest if rel == "." else dest / rel
        if rel == ".":
            dirnames[:] = [d for d in dirnames if d not in _TOOL_STATE]
        names = sorted(dirnames + filenames)
        for name in names:
            s = Path(dirpath) / name
            d = out_dir / name
            try:
                lst = os.lstat(s)
            except OSError as exc:
                raise AcquireError(f"{s}: cannot stat ({exc.strerror})") from exc
            mode = lst.st_mode
            if stat.S_ISLNK(mode):
                try:
                    os.symlink(os.readlink(s), d)
                except OSError as exc:
                    raise AcquireError(f"{s}: cannot copy symlink ({exc.strerror})") from exc
                if name in dirnames:
                    dirnames.remove(name)  # os.walk would not descend anyway; be explicit
            elif stat.S_ISDIR(mode):
                try:
                    d.mkdir()
                except OSError as exc:
                    raise AcquireError(f"{d}: cannot create ({exc.strerror})") from exc
            elif stat.S_ISREG(mode):
                _copy_file(s, d)
                advance(1, lst.st_size)
            else:
                raise AcquireError(f"{s}: is a special file (FIFO, socket or device); refusing to copy it")
