"""Walk a tree without following symlinks and yield what is there, in byte order of paths.

Regular files and symlinks become entries; directories are descended (never through a symlink);
anything else (FIFO, socket, device node) is an :class:`~datagate.errors.InventoryError`, as are
names that are not valid UTF-8 or contain a newline (they cannot be written into a manifest line
or a dirHash line unambiguously).
"""

from __future__ import annotations

import bisect
import itertools
import os
import stat
from collections.abc import Iterator
from operator import attrgetter, methodcaller
from pathlib import Path
from typing import Any

from datagate.errors import InventoryError
from datagate.inventory.native import native

__all__ = [
    "EXCLUDED_AT_ROOT",
    "check_name",
    "escape_name",
    "list_folder",
    "list_runs",
    "name_problem",
    "special_kind",
]

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


def escape_name(name: str) -> str:
    """Return ``name`` printable: bytes that are not UTF-8 as ``\\xNN``, control characters as
    ``\\xNN`` / ``\\uNNNN`` (never raw: a name must not be able to drive a terminal)."""
    text = os.fsencode(name).decode("utf-8", "backslashreplace")
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}") for c in text)


def name_problem(name: str) -> str | None:
    """Return why ``name`` cannot go into a manifest line (not UTF-8, a line break), or None."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid UTF-8"
    if "\n" in name or "\r" in name:
        return "contains a line break"
    return None


def check_name(name: str, where: str) -> None:
    """Raise InventoryError unless ``name`` is valid UTF-8 without line breaks."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        shown = os.fsencode(name).decode("utf-8", "backslashreplace")
        raise InventoryError(
            f"{escape_name(where)}: file name {shown!r} is not valid UTF-8",
            hint="rename it; manifests and dirHash lines are UTF-8",
        ) from None
    if "\n" in name or "\r" in name:
        raise InventoryError(
            f"{escape_name(where)}: file name {name!r} contains a line break",
            hint="rename it; a line break cannot appear in a manifest or dirHash line",
        )


_IS_DIR = methodcaller("is_dir", follow_symlinks=False)
_NAME = attrgetter("name")


def list_runs(root: Path, unlisted: list[tuple[str, str]] | None = None) -> Iterator[list[str]]:
    """Yield the relative paths of every non-directory under ``root``, in runs, in byte order.

    Concatenated, the runs list every path in the UTF-8 byte order of the full paths (a run is a
    stretch of one folder between two subfolders; runs keep the per-path cost of the listing
    down to a few list operations). Directories are descended, never through a symlink;
    tool-state folders at the root are skipped. Nothing is stat'ed beyond what the listing tells
    (the file type comes with the names on common file systems): whoever inventories a path
    lstat's it and rejects special files. Within a folder a subfolder ``d`` sorts as ``d/``, so
    ``a.txt`` < ``a/x`` (``.`` < ``/``) as in the full paths. Raises InventoryError for
    unreadable folders, and for bad names unless ``unlisted`` is given: then each file or folder
    whose name cannot be listed is left out (a folder with all it holds) and appended to it as
    ``(escaped relative path, problem)``, so one such name cannot stop a scan of the rest.
    """
    base = os.fspath(root)
    # A frame: [sorted keys, positions of the subfolder keys, next subfolder, next key, prefix, parts]
    # (keys are full relative paths; a subfolder's key is its path and a "/")
    stack: list[list[Any]] = [_frame(base, "", (), unlisted)]
    while stack:
        frame = stack[-1]
        keys, dirs, k, start, prefix, parts = frame
        if k < len(dirs):
            end = dirs[k]
            if end > start:
                yield keys[start:end]
            sub = keys[end]
            frame[2], frame[3] = k + 1, end + 1
            stack.append(_frame(os.path.join(base, sub[:-1]), sub, (*parts, sub[len(prefix) : -1]), unlisted))
        else:
            if start < len(keys):
                yield keys[start:] if start else keys
            stack.pop()


def _frame(
    directory: str, prefix: str, parts: tuple[str, ...], unlisted: list[tuple[str, str]] | None = None
) -> list[Any]:
    """List ``directory``: its sorted keys (a subfolder's ends in "/") and where the subfolders are."""
    try:
        files, dirs = _list_dir(directory, prefix)
    except FileNotFoundError:
        raise InventoryError(f"{directory}: directory vanished while walking") from None
    except PermissionError:
        raise InventoryError(f"{directory}: permission denied") from None
    except OSError as exc:
        raise InventoryError(f"{directory}: cannot list directory ({exc.strerror})") from exc
    # One check for the whole folder in the common case (printable ASCII names only).
    joined = "/".join(files) + "/" + "/".join(dirs)
    if not (joined.isascii() and joined.isprintable()):
        cut = len(prefix)
        if unlisted is None:
            for name in itertools.chain((f[cut:] for f in files), dirs):
                check_name(name, os.path.join(directory, name))
        else:
            bad_files = {f for f in files if name_problem(f[cut:]) is not None}
            bad_dirs = {d for d in dirs if name_problem(d) is not None}
            for f in sorted(bad_files, key=escape_name):
                unlisted.append((escape_name(f), str(name_problem(f[cut:]))))
            for d in sorted(bad_dirs, key=escape_name):
                unlisted.append((escape_name(prefix + d) + "/", f"{name_problem(d)} (a folder: nothing in it was listed)"))
            if bad_files:
                files = [f for f in files if f not in bad_files]
            if bad_dirs:
                dirs = [d for d in dirs if d not in bad_dirs]
    banned = {ex[-1] for ex in EXCLUDED_AT_ROOT if ex[:-1] == parts}
    if banned:
        dirs = [d for d in dirs if d not in banned]
        files = [f for f in files if f[len(prefix) :] not in banned]
    if not dirs:
        return [files, [], 0, 0, prefix, parts]
    dir_keys = sorted(prefix + d + "/" for d in dirs)
    keys = files + dir_keys
    keys.sort()  # two sorted runs: one merge
    return [keys, [bisect.bisect_left(keys, d) for d in dir_keys], 0, 0, prefix, parts]


def _scandir(directory: str, prefix: str) -> tuple[list[str], list[str]]:
    """Return (sorted ``prefix + name`` of the non-folders, folder names) of ``directory``.

    The Python twin of ``_native.list_dir``.
    """
    with os.scandir(directory) as it:
        entries = list(it)
    # The file type comes with the listing on common file systems (no stat); comprehensions
    # over C callables keep the per-entry cost low on folders of many files.
    dirs = [e.name for e in filter(_IS_DIR, entries)]
    names = [e.name for e in itertools.filterfalse(_IS_DIR, entries)] if dirs else list(map(_NAME, entries))
    names.sort()
    return ([prefix + n for n in names] if prefix else names), dirs


_list_dir = native.list_dir if native is not None else _scandir


def list_folder(directory: str) -> tuple[list[str], list[str]]:
    """Return (sorted names of the non-folders, folder names) of ``directory``, from the C
    accelerator where built (the same lists either way). Raises OSError when it cannot be read."""
    return _list_dir(directory, "")


def special_kind(mode: int) -> str:
    """Return what a non-regular, non-directory, non-symlink ``mode`` is, for messages."""
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode):
        return "character device"
    if stat.S_ISBLK(mode):
        return "block device"
    return "special file"
