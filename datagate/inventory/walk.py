"""Walk a tree without following symlinks and yield what is there, in byte order of paths.

Regular files and symlinks become entries; directories are descended (never through a symlink);
anything else (FIFO, socket, device node) is an :class:`~datagate.errors.InventoryError`, as are
names that are not valid UTF-8 or contain a newline (they cannot be written into a manifest line
or a dirHash line unambiguously).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from datagate.errors import InventoryError

__all__ = ["EXCLUDED_AT_ROOT", "WalkEntry", "walk"]

EXCLUDED_AT_ROOT: tuple[tuple[str, ...], ...] = (
    (".git",),
    (".dvc",),
    (".datagate",),
    (".cache", "huggingface"),
)
"""Paths (as parts, relative to the root) that are tool state, not dataset content.

Only excluded at the root, so a `.git` folder hidden deeper in a dataset is still hashed and
scanned: an attacker cannot hide content by naming a folder after tool state.
"""


@dataclass(frozen=True, slots=True)
class WalkEntry:
    """A regular file or symlink found by the walk, with its lstat result."""

    relpath: str
    """Path relative to the root, POSIX separators."""
    abspath: str
    """Absolute path on disk."""
    st: os.stat_result
    """The entry's lstat result at walk time."""

    @property
    def is_symlink(self) -> bool:
        """Return True for a symlink."""
        return stat.S_ISLNK(self.st.st_mode)


def _check_name(name: str, where: str) -> None:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        shown = os.fsencode(name).decode("utf-8", "backslashreplace")
        raise InventoryError(
            f"{where}: file name {shown!r} is not valid UTF-8",
            hint="rename it; manifests and dirHash lines are UTF-8",
        ) from None
    if "\n" in name or "\r" in name:
        raise InventoryError(
            f"{where}: file name {name!r} contains a line break",
            hint="rename it; a line break cannot appear in a manifest or dirHash line",
        )


def _is_excluded(parts: tuple[str, ...]) -> bool:
    return any(parts[: len(ex)] == ex for ex in EXCLUDED_AT_ROOT)


def walk(root: Path) -> Iterator[WalkEntry]:
    """Yield every regular file and symlink under ``root`` (a directory), depth first.

    Symlinks are yielded, never followed. Tool-state folders at the root are skipped.
    Raises InventoryError for unreadable directories, special files and bad names.
    """
    stack: list[tuple[str, tuple[str, ...]]] = [(os.fspath(root), ())]
    while stack:
        directory, parts = stack.pop()
        try:
            with os.scandir(directory) as it:
                items = list(it)
        except FileNotFoundError:
            raise InventoryError(f"{directory}: directory vanished while walking") from None
        except PermissionError:
            raise InventoryError(f"{directory}: permission denied") from None
        except OSError as exc:
            raise InventoryError(f"{directory}: cannot list directory ({exc.strerror})") from exc
        subdirs: list[tuple[str, tuple[str, ...]]] = []
        for item in items:
            child_parts = (*parts, item.name)
            _check_name(item.name, item.path)
            if _is_excluded(child_parts):
                continue
            try:
                st = item.stat(follow_symlinks=False)
            except FileNotFoundError:
                raise InventoryError(f"{item.path}: vanished while walking") from None
            except OSError as exc:
                raise InventoryError(f"{item.path}: cannot stat ({exc.strerror})") from exc
            mode = st.st_mode
            if stat.S_ISDIR(mode):
                subdirs.append((item.path, child_parts))
            elif stat.S_ISREG(mode) or stat.S_ISLNK(mode):
                yield WalkEntry("/".join(child_parts), item.path, st)
            else:
                kind = _special_kind(mode)
                raise InventoryError(
                    f"{item.path}: is a {kind}, not a regular file",
                    hint="datagate hashes regular files and records symlinks; remove or move it",
                )
        # Reverse so the stack pops subdirectories in name order (output order is fixed later).
        stack.extend(reversed(subdirs))


def _special_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode):
        return "character device"
    if stat.S_ISBLK(mode):
        return "block device"
    return "special file"
