"""Publish a vetted folder: replace ``DEST`` with a copy of ``SRC`` in one rename.

    python -m datagate.lineage.publish data/staging/reviews data/vetted/reviews

The last step of datagate's DVC pipeline. The ``intake`` stage vets the source into a staging
folder (its output, which DVC removes before each run); this ``publish`` stage, which runs only
when ``intake`` passed, copies it to the folder downstream stages read. A failing gate stops the
pipeline before ``publish``, so the last vetted data stays in place, and both stages stay
cacheable: going back to an input vetted before restores both from DVC's run-cache.

The copy goes to a temporary sibling first and is renamed over ``DEST`` (the old folder is moved
aside, then removed), so ``DEST`` is always either the old or the new complete folder.
Symlinks are copied as links, never followed.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

__all__ = ["main", "publish"]


def publish(src: Path, dest: Path) -> None:
    """Replace ``dest`` with a copy of the folder ``src``.

    Raises FileNotFoundError when ``src`` is not a folder, OSError when copying fails (``dest``
    is then left as it was).
    """
    if not src.is_dir():
        raise FileNotFoundError(f"{src}: not a folder")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.publish-", dir=dest.parent))
    try:
        staged = tmp / "new"
        shutil.copytree(src, staged, symlinks=True)
        old = tmp / "old"
        if os.path.lexists(dest):
            os.replace(dest, old)
        os.replace(staged, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """Run ``publish(SRC, DEST)`` from the command line; exit 0 on success, 2 on an error."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m datagate.lineage.publish SRC DEST", file=sys.stderr)
        return 2
    try:
        publish(Path(args[0]), Path(args[1]))
    except OSError as exc:
        print(f"datagate publish: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
