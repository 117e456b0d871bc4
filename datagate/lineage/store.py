"""The lineage store: records, manifests, profiles and attestations in the user's project.

Layout under the store root (default ``.datagate/`` in the current directory)::

    store.json                            format tag and version
    .gitignore                            ignores the lock and cache/: the rest is meant for git
    lock                                  fcntl lock taken by every writer
    records/<name>/<hex>.json             lineage records (small, git-friendly)
    manifests/<name>/<hex>.jsonl          manifests as JSON Lines (``datagate hash`` format)
    profiles/<name>/<hex>.json            compact check profiles, the automatic baselines
    attestations/<name>/<hex>.intoto.jsonl  in-toto statements (provenance, test result)
    openlineage.jsonl                     OpenLineage RunEvents, one per line
    cache/results/<key>.json              scan/check results of unchanged inputs (not for git)

``<hex>`` is the version's root digest without its ``sha256:`` prefix. Every file is written to a
temporary file in the same directory, fsynced, renamed over the target and the directory fsynced,
all under an exclusive lock, with the record written last: a version exists exactly when its
record does, so a writer killed at any point leaves the previous state readable.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datagate.atomic import TMP_MARK as _TMP_MARK
from datagate.errors import DatagateError, LineageError, ManifestError
from datagate.lineage.record import LineageRecord, validate_dataset_name, validate_record
from datagate.models import Manifest

__all__ = [
    "DEFAULT_STORE_DIR",
    "STORE_FORMAT",
    "STORE_VERSION",
    "Store",
    "atomic_write",
    "default_store_path",
]

STORE_FORMAT = "datagate.store"
"""The ``format`` tag in ``store.json``."""
STORE_VERSION = 1
"""The store layout version this datagate writes and the newest it reads."""
DEFAULT_STORE_DIR = ".datagate"
"""The store directory used when none is given, relative to the current directory."""

_GITIGNORE = b"# datagate: records, manifests, profiles and attestations are meant for git\nlock\ncache/\n"
_HEX_RE = re.compile(r"^[0-9a-f]{64}$")


def default_store_path() -> Path:
    """Return the store directory used when none is given: ``$DATAGATE_STORE`` or ``./.datagate``."""
    env = os.environ.get("DATAGATE_STORE")
    return Path(env) if env else Path.cwd() / DEFAULT_STORE_DIR


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: temp file in the same dir, fsync, rename, dir fsync
    (:func:`datagate.atomic.atomic_write_bytes`; the parent folders are created first).

    Raises LineageError naming ``path`` when it cannot be written; the target is then untouched.
    """
    from datagate.atomic import atomic_write_bytes

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, data)
    except OSError as exc:
        raise LineageError(f"{path}: cannot write ({exc.strerror or exc})") from exc
    except DatagateError as exc:
        raise LineageError(exc.message) from exc


def _read_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LineageError(f"{path}: missing from the store") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LineageError(f"{path}: cannot read store file ({exc})") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise LineageError(
            f"{path}: corrupt store file (not JSON: {exc.msg} at line {exc.lineno})",
            hint="restore it from git or delete it",
        ) from None


def _hex(version: str) -> str:
    return version.split(":", 1)[1] if version.startswith("sha256:") else version


@dataclass(frozen=True)
class Store:
    """A lineage store rooted at ``root``. Open it with :meth:`Store.open`."""

    root: Path
    """The store directory."""

    @classmethod
    def open(cls, root: Path | str | None = None, *, create: bool = False) -> Store:
        """Return the store at ``root`` (default :func:`default_store_path`).

        With ``create`` a missing store is created. Raises LineageError when the store is
        missing (and not created), its ``store.json`` is corrupt or from a newer datagate, or the
        directory cannot be created.
        """
        path = Path(root) if root is not None else default_store_path()
        meta = path / "store.json"
        if meta.exists():
            store = cls(path)
            store._check_meta()
            return store
        if not create:
            raise LineageError(
                f"{path}: no datagate store here", hint="run datagate ingest first, or pass --store DIR"
            )
        if path.exists() and not path.is_dir():
            raise LineageError(f"{path}: store path exists and is not a directory")
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LineageError(f"{path}: cannot create store ({exc.strerror})") from exc
        store = cls(path)
        with store.lock():
            if not meta.exists():
                atomic_write(path / ".gitignore", _GITIGNORE)
                body = json.dumps({"format": STORE_FORMAT, "version": STORE_VERSION}, sort_keys=True)
                atomic_write(meta, (body + "\n").encode())
        store._check_meta()
        return store

    def _check_meta(self) -> None:
        meta_path = self.root / "store.json"
        meta = _read_json(meta_path)
        if not isinstance(meta, dict) or meta.get("format") != STORE_FORMAT:
            raise LineageError(f"{meta_path}: not a datagate store file")
        version = meta.get("version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise LineageError(f"{meta_path}: corrupt store file (no integer version)")
        if version > STORE_VERSION:
            raise LineageError(
                f"{meta_path}: store version {version} is newer than this datagate reads ({STORE_VERSION})",
                hint="upgrade datagate",
            )

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the store's exclusive writer lock (blocks until free)."""
        try:
            fd = os.open(self.root / "lock", os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        except OSError as exc:
            raise LineageError(f"{self.root / 'lock'}: cannot open lock file ({exc.strerror})") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    # -- paths -----------------------------------------------------------------------------

    def record_path(self, name: str, version: str) -> Path:
        """Return where the record of ``name`` at ``version`` lives."""
        return self.root / "records" / validate_dataset_name(name) / f"{_hex(version)}.json"

    def manifest_relpath(self, name: str, version: str) -> str:
        """Return the manifest's path relative to the store root (as written into records)."""
        return f"manifests/{validate_dataset_name(name)}/{_hex(version)}.jsonl"

    def profile_path(self, name: str, version: str) -> Path:
        """Return where the check profile of ``name`` at ``version`` lives."""
        return self.root / "profiles" / validate_dataset_name(name) / f"{_hex(version)}.json"

    def attestation_path(self, name: str, version: str) -> Path:
        """Return where the in-toto statements of ``name`` at ``version`` live."""
        return self.root / "attestations" / validate_dataset_name(name) / f"{_hex(version)}.intoto.jsonl"

    @property
    def events_path(self) -> Path:
        """Return the OpenLineage JSON Lines file."""
        return self.root / "openlineage.jsonl"

    @property
    def spool_path(self) -> Path:
        """Return the spool of OpenLineage events an endpoint did not take (``datagate lineage flush``)."""
        return self.root / "openlineage-spool.jsonl"

    # -- reading ---------------------------------------------------------------------------

    def names(self) -> list[str]:
        """Return the dataset names with at least one record, sorted."""
        base = self.root / "records"
        if not base.is_dir():
            return []
        return sorted(p.name for p in base.iterdir() if p.is_dir() and not p.name.startswith("."))

    def read_record(self, path: Path) -> LineageRecord:
        """Return the record stored at ``path``, validated.

        Raises LineageError when it is corrupt, invalid, from a newer datagate, or stored under
        the wrong name.
        """
        data = _read_json(path)
        validate_record(data, where=str(path))
        rec = LineageRecord(data)
        if rec.name != path.parent.name or _hex(rec.version) != path.stem:
            raise LineageError(f"{path}: record for {rec.name}@{rec.version} is stored under the wrong name")
        return rec

    def history(self, name: str) -> list[LineageRecord]:
        """Return every record of dataset ``name``, oldest run first (empty when none).

        Raises UsageError for an unsafe name and LineageError for any unreadable record.
        """
        base = self.root / "records" / validate_dataset_name(name)
        if not base.is_dir():
            return []
        recs = [
            self.read_record(p)
            for p in base.iterdir()
            if p.suffix == ".json" and not p.name.startswith(".") and _HEX_RE.match(p.stem)
        ]
        return sorted(recs, key=lambda r: (r.started_at, r.version))

    def records(self) -> list[LineageRecord]:
        """Return every record of every dataset, oldest run first."""
        out = [r for n in self.names() for r in self.history(n)]
        return sorted(out, key=lambda r: (r.started_at, r.name, r.version))

    def latest(
        self, name: str, *, passed_only: bool = False, exclude_version: str | None = None
    ) -> LineageRecord | None:
        """Return the most recently ingested record of ``name`` (optionally passed only and not
        ``exclude_version``), or None."""
        for rec in reversed(self.history(name)):
            if passed_only and not rec.passed:
                continue
            if exclude_version is not None and rec.version == exclude_version:
                continue
            return rec
        return None

    def resolve(self, ref: str) -> LineageRecord:
        """Return the record named by ``ref``: a root digest or unique prefix (``sha256:`` optional),
        optionally qualified as ``NAME@PREFIX``; a bare dataset name means its latest version.

        Raises LineageError when nothing or more than one version matches.
        """
        name: str | None = None
        prefix = ref.strip()
        if "@" in prefix:
            name, prefix = prefix.split("@", 1)
            validate_dataset_name(name)
        prefix = _hex(prefix.lower())
        pool = self.history(name) if name is not None else self.records()
        if name is None and ref in self.names():
            latest = self.latest(ref)
            if latest is not None:
                return latest
        if not prefix or not re.fullmatch(r"[0-9a-f]{1,64}", prefix):
            raise LineageError(f"{ref!r}: not a version (expected a root digest or a hex prefix of one)")
        hits: dict[tuple[str, str], LineageRecord] = {}
        for rec in pool:
            if _hex(rec.version).startswith(prefix):
                hits[(rec.name, rec.version)] = rec
        if not hits:
            raise LineageError(f"{ref!r}: no such version in the store at {self.root}")
        if len(hits) > 1:
            shown = ", ".join(f"{n}@{_hex(v)[:12]}" for n, v in sorted(hits))
            raise LineageError(f"{ref!r}: ambiguous version prefix (matches {shown})", hint="give more digits or NAME@PREFIX")
        return next(iter(hits.values()))

    def manifest(self, rec: LineageRecord) -> Manifest:
        """Return the manifest a record points to, after checking its sha256 against the record.

        Raises LineageError when it is missing, corrupt or does not match.
        """
        from datagate.inventory import read_manifest

        content = rec.data["content"]["manifest"]
        path = self.root / str(content["path"])
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            raise LineageError(f"{path}: manifest of {rec.name}@{rec.version} is missing from the store") from None
        except OSError as exc:
            raise LineageError(f"{path}: cannot read manifest ({exc.strerror})") from exc
        if hashlib.sha256(blob).hexdigest() != content["sha256"]:
            raise LineageError(f"{path}: manifest does not match the sha256 in its record", hint="restore it from git")
        try:
            return read_manifest(path)
        except ManifestError as exc:
            raise LineageError(exc.message, hint=exc.hint) from exc

    def profile(self, rec: LineageRecord) -> dict[str, Any] | None:
        """Return the stored check profile (JSON) of a record, or None when none was stored.

        Raises LineageError when it exists but is corrupt.
        """
        path = self.profile_path(rec.name, rec.version)
        if not path.exists():
            return None
        data = _read_json(path)
        if not isinstance(data, dict):
            raise LineageError(f"{path}: corrupt profile (not a JSON object)")
        return data

    # -- writing ---------------------------------------------------------------------------

    def _sweep_temps(self, *dirs: Path) -> None:
        """Remove temp files a killed writer left behind (only called under the lock)."""
        for d in dirs:
            if not d.is_dir():
                continue
            for p in d.iterdir():
                if p.name.startswith(".") and _TMP_MARK in p.name:
                    with contextlib.suppress(OSError):
                        p.unlink()

    def save(
        self,
        record: LineageRecord,
        *,
        manifest_text: bytes,
        profile: Mapping[str, Any] | None = None,
        attestations: Sequence[Mapping[str, Any]] = (),
    ) -> Path:
        """Write one version atomically under the lock; the record last. Return the record's path.

        Raises LineageError when the manifest bytes do not match the record or a write fails; in
        that case no new record exists.
        """
        name, version = record.name, record.version
        expect = record.data["content"]["manifest"]
        if expect["path"] != self.manifest_relpath(name, version):
            raise LineageError(f"record of {name}@{version} names manifest {expect['path']!r}, not this store's layout")
        if hashlib.sha256(manifest_text).hexdigest() != expect["sha256"]:
            raise LineageError(f"manifest bytes of {name}@{version} do not match the record's sha256")
        rec_path = self.record_path(name, version)
        with self.lock():
            self._check_meta()
            man_path = self.root / expect["path"]
            prof_path = self.profile_path(name, version)
            att_path = self.attestation_path(name, version)
            self._sweep_temps(rec_path.parent, man_path.parent, prof_path.parent, att_path.parent)
            atomic_write(man_path, manifest_text)
            if profile is not None:
                atomic_write(prof_path, (json.dumps(profile, sort_keys=True, allow_nan=False) + "\n").encode())
            if attestations:
                lines = "".join(json.dumps(a, sort_keys=True, separators=(",", ":")) + "\n" for a in attestations)
                atomic_write(att_path, lines.encode())
            atomic_write(rec_path, record.to_json().encode("utf-8"))
        return rec_path

    def append_event(self, event: Mapping[str, Any]) -> None:
        """Append one OpenLineage event as a JSON line under the lock (one write, fsynced).

        Raises LineageError when the events file cannot be written.
        """
        line = (json.dumps(event, sort_keys=True, separators=(",", ":")) + "\n").encode()
        with self.lock():
            try:
                fd = os.open(self.events_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
                try:
                    os.write(fd, line)
                    os.fsync(fd)
                finally:
                    os.close(fd)
            except OSError as exc:
                raise LineageError(f"{self.events_path}: cannot append event ({exc.strerror})") from exc
