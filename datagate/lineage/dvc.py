"""DVC integration: ``meta.datagate`` pointers in ``.dvc`` files, staleness, manifests by DVC path.

For ``dvc add`` users, ``datagate record PATH`` stores a lineage record and writes a small
pointer into the matching output of ``PATH.dvc``::

    outs:
    - md5: 3f5a...d1.dir
      size: 1234
      nfiles: 5
      hash: md5
      path: data
      meta:
        datagate:
          md5: 3f5a...d1.dir          # the DVC id the record describes
          version: sha256:9c1e...     # the dataset version id (dirHash)
          record: .datagate/records/data/9c1e....json
          record_digest: sha256:...

DVC keeps an output's ``meta`` across ``dvc add``/``dvc commit``, but never refreshes it, so after
the data changes the output's ``md5`` no longer equals ``meta.datagate.md5``: the pointer is
*stale* and :func:`pointer_status` says so. The YAML is edited with ruamel.yaml round-trip mode,
so DVC's own fields, their order and comments are kept.
"""

from __future__ import annotations

import enum
import io
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datagate.errors import LineageError
from datagate.lineage.record import LineageRecord
from datagate.lineage.store import Store, atomic_write
from datagate.models import Manifest

__all__ = [
    "DvcOutput",
    "PointerState",
    "PointerStatus",
    "dvc_output_for_path",
    "find_dvc_files",
    "manifest_for_dvc_path",
    "manifest_path_for_dvc_path",
    "pointer_status",
    "read_dvc_outputs",
    "write_pointer",
]

_SKIP_DIRS = {".git", ".dvc", ".datagate", "node_modules", ".venv", "__pycache__"}


def _yaml() -> Any:
    from ruamel.yaml import YAML

    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 4096
    y.indent(mapping=2, sequence=2, offset=0)
    return y


def _load(dvc_file: Path) -> Any:
    try:
        text = dvc_file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LineageError(f"{dvc_file}: no such .dvc file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LineageError(f"{dvc_file}: cannot read ({exc})") from exc
    from ruamel.yaml.error import YAMLError

    try:
        doc = _yaml().load(text)
    except YAMLError as exc:
        raise LineageError(f"{dvc_file}: not a valid .dvc file (not YAML)") from exc
    if not isinstance(doc, Mapping) or not isinstance(doc.get("outs"), list):
        raise LineageError(f"{dvc_file}: not a valid .dvc file (no 'outs' list)")
    return doc


@dataclass(frozen=True)
class DvcOutput:
    """One output of a ``.dvc`` file."""

    dvc_file: Path
    """The ``.dvc`` file."""
    path: Path
    """The tracked data path (the output's ``path`` resolved against the ``.dvc`` file's folder)."""
    md5: str | None
    """DVC's current id of the output (``<md5>.dir`` for a folder), or None if not committed."""
    index: int
    """Position in the ``outs`` list."""
    pointer: Mapping[str, Any] | None
    """The ``meta.datagate`` mapping, or None when there is no pointer."""


def read_dvc_outputs(dvc_file: Path) -> list[DvcOutput]:
    """Return the outputs of ``dvc_file``.

    Raises LineageError when the file is missing, not YAML, or has no ``outs`` list.
    """
    doc = _load(dvc_file)
    out: list[DvcOutput] = []
    for i, entry in enumerate(doc["outs"]):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("path"), str):
            raise LineageError(f"{dvc_file}: output {i} has no 'path'")
        meta = entry.get("meta")
        pointer = meta.get("datagate") if isinstance(meta, Mapping) else None
        md5 = entry.get("md5")
        out.append(
            DvcOutput(
                dvc_file=dvc_file,
                path=dvc_file.parent / str(entry["path"]),
                md5=str(md5) if md5 is not None else None,
                index=i,
                pointer=dict(pointer) if isinstance(pointer, Mapping) else None,
            )
        )
    return out


def dvc_output_for_path(path: Path) -> DvcOutput | None:
    """Return the ``.dvc`` output tracking ``path`` (a data path or its ``.dvc`` file), or None
    when no ``PATH.dvc`` exists. Raises LineageError when the ``.dvc`` file is unreadable."""
    path = Path(path)
    if path.suffix == ".dvc" and path.is_file():
        dvc_file = path
        data = path.with_suffix("")
    else:
        data = Path(str(path).rstrip("/"))
        dvc_file = Path(str(data) + ".dvc")
    if not dvc_file.is_file():
        return None
    want = os.path.normpath(os.path.abspath(data))
    for o in read_dvc_outputs(dvc_file):
        if os.path.normpath(os.path.abspath(o.path)) == want:
            return o
    outs = read_dvc_outputs(dvc_file)
    if len(outs) == 1 and dvc_file == path:
        return outs[0]
    raise LineageError(f"{dvc_file}: has no output for {data}")


def write_pointer(out: DvcOutput, *, md5: str, version: str, record: str, record_digest: str) -> None:
    """Set ``meta.datagate`` of ``out`` in its ``.dvc`` file, keeping every other field.

    Raises LineageError when the file changed underneath (output gone) or cannot be written; the
    file is replaced atomically, so it is never left half-written.
    """
    doc = _load(out.dvc_file)
    outs = doc["outs"]
    if out.index >= len(outs):
        raise LineageError(f"{out.dvc_file}: output {out.index} disappeared while recording")
    entry = outs[out.index]
    from ruamel.yaml.comments import CommentedMap

    meta = entry.get("meta")
    if not isinstance(meta, Mapping):
        meta = CommentedMap()
        entry["meta"] = meta
    pointer = CommentedMap()
    pointer["md5"] = md5
    pointer["version"] = version
    pointer["record"] = record
    pointer["record_digest"] = record_digest
    meta["datagate"] = pointer
    buf = io.StringIO()
    _yaml().dump(doc, buf)
    atomic_write(out.dvc_file, buf.getvalue().encode("utf-8"))


class PointerState(str, enum.Enum):
    """The state of one ``.dvc`` output with respect to datagate."""

    CURRENT = "current"
    """The pointer names the output's current DVC md5."""
    STALE = "stale"
    """The data changed since it was recorded (``md5`` differs from ``meta.datagate.md5``)."""
    MISSING_RECORD = "missing-record"
    """The pointer names a record file that does not exist."""
    UNRECORDED = "unrecorded"
    """The output has no datagate pointer."""


@dataclass(frozen=True)
class PointerStatus:
    """One output's pointer state."""

    output: DvcOutput
    """The ``.dvc`` output."""
    state: PointerState
    """current, stale, missing-record or unrecorded."""
    recorded_md5: str | None
    """The md5 the pointer names, or None."""

    @property
    def ok(self) -> bool:
        """Return True unless the pointer is stale or its record is missing."""
        return self.state in (PointerState.CURRENT, PointerState.UNRECORDED)


def find_dvc_files(root: Path) -> Iterator[Path]:
    """Yield the ``.dvc`` files under ``root`` (a folder, or one ``.dvc`` file), sorted,
    skipping ``.git``, ``.dvc``, ``.datagate`` and virtualenv folders."""
    root = Path(root)
    if root.is_file():
        yield root
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        for f in sorted(filenames):
            if f.endswith(".dvc"):
                yield Path(dirpath) / f


def pointer_status(root: Path) -> list[PointerStatus]:
    """Return the pointer state of every output of every ``.dvc`` file under ``root``.

    Raises LineageError for a ``.dvc`` file that is not valid YAML.
    """
    out: list[PointerStatus] = []
    for dvc_file in find_dvc_files(root):
        for o in read_dvc_outputs(dvc_file):
            if o.pointer is None:
                out.append(PointerStatus(o, PointerState.UNRECORDED, None))
                continue
            recorded = o.pointer.get("md5")
            rec_path = o.pointer.get("record")
            if recorded != o.md5:
                state = PointerState.STALE
            elif not isinstance(rec_path, str) or not (dvc_file.parent / rec_path).is_file():
                state = PointerState.MISSING_RECORD
            else:
                state = PointerState.CURRENT
            out.append(PointerStatus(o, state, str(recorded) if recorded is not None else None))
    return out


def manifest_path_for_dvc_path(path: Path) -> Path | None:
    """Return the stored manifest file of a DVC-tracked ``path``, checked against its record.

    The same lookup as :func:`manifest_for_dvc_path`, for callers that take a manifest file
    (``datagate.inventory.verify(path, manifest_file)``). Returns None when there is no ``.dvc``
    file or no pointer; raises LineageError as :func:`manifest_for_dvc_path` does.
    """
    found = _recorded(Path(path))
    if found is None:
        return None
    store, rec = found
    store.manifest(rec)  # checks presence, sha256 against the record, and format
    return store.root / str(rec.data["content"]["manifest"]["path"])


def manifest_for_dvc_path(path: Path) -> Manifest | None:
    """Return the recorded manifest of a DVC-tracked ``path`` (folder or file, or its ``.dvc``).

    Follows the output's ``meta.datagate`` pointer to the lineage record and loads the manifest
    it names from the same store. Returns None when ``path`` has no ``.dvc`` file or the output
    has no datagate pointer (``datagate record PATH`` creates one). Raises LineageError when the
    pointer is stale (the ``.dvc`` md5 changed since recording), or the record or manifest is
    missing, corrupt, or does not match.
    """
    found = _recorded(Path(path))
    if found is None:
        return None
    store, rec = found
    return store.manifest(rec)


def _recorded(path: Path) -> tuple[Store, LineageRecord] | None:
    out = dvc_output_for_path(path)
    if out is None or out.pointer is None:
        return None
    if out.pointer.get("md5") != out.md5:
        raise LineageError(
            f"{out.dvc_file}: datagate pointer is stale (records md5 {out.pointer.get('md5')}, "
            f"DVC now has {out.md5})",
            hint=f"run datagate record {out.path} to vet and record the current data",
        )
    rec_rel = out.pointer.get("record")
    if not isinstance(rec_rel, str):
        raise LineageError(f"{out.dvc_file}: meta.datagate has no 'record' path")
    rec_path = out.dvc_file.parent / rec_rel
    store_root = rec_path.parent.parent.parent  # <store>/records/<name>/<hex>.json
    store = Store.open(store_root)
    rec = store.read_record(rec_path)
    if rec.data["content"]["dvc_md5"] not in (out.md5, None) and not _single_file_match(rec, out):
        raise LineageError(f"{rec_path}: record describes DVC id {rec.data['content']['dvc_md5']}, not {out.md5}")
    if rec.version != out.pointer.get("version"):
        raise LineageError(f"{out.dvc_file}: meta.datagate.version does not match the record it names")
    return store, rec


def _single_file_match(rec: Any, out: DvcOutput) -> bool:
    return bool(out.md5) and "." not in str(out.md5)
