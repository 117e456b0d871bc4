"""``datagate audit``: re-verify lineage records, their signatures and the bytes they describe.

>>> from datagate.lineage.audit import audit_store
>>> report = audit_store(".datagate")                     # doctest: +SKIP
>>> [(r.dataset, r.status) for r in report.rows]          # doctest: +SKIP
[('reviews', 'verified')]

For each record (every record in a store, the ``NAME@VERSION`` refs given, or every ``.dvc``
output with a datagate pointer in a DVC repo) the audit checks, without trusting anything the
record says about itself:

* the record's integrity: schema, ``record_digest``, ``run_digest``, and its DSSE signatures
  (against ``trusted_keys`` when given);
* the manifest in the store against the record;
* the bytes: the local folder (the delivered ``dest``, else the source), the DVC workspace or
  cache, or the pinned Hub commit (``remote=True``), against the manifest.

Each row's ``status`` is ``broken`` (something was edited or changed: the audit fails),
``unverified`` (something could not be checked; the reason is listed) or ``verified``.
"""

from __future__ import annotations

import enum
import hashlib
import json
import os
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datagate.errors import DatagateError, LineageError

__all__ = ["AuditReport", "AuditRow", "AuditStatus", "audit_dvc", "audit_store"]


class AuditStatus(str, enum.Enum):
    """The outcome of auditing one record."""

    VERIFIED = "verified"
    UNVERIFIED = "unverified"
    BROKEN = "broken"


@dataclass(frozen=True)
class AuditRow:
    """One audited dataset version."""

    dataset: str
    """The dataset name (or the record file when it could not be read)."""
    version: str | None
    """The version id (root digest), None when the record is unreadable."""
    record: str
    """The record file audited."""
    source: str | None = None
    """The source URI as recorded."""
    revision: str | None = None
    """The pinned commit (Hub sources), else None."""
    signer: str | None = None
    """The fingerprint of the key that signed the record, None when unsigned."""
    trusted: bool | None = None
    """Whether the signer is one of the trusted keys (None when no trusted keys were given)."""
    publisher: str | None = None
    """The data publisher's verified signer (the record's ``authenticity``), when any."""
    gate: str | None = None
    """``pass`` or ``fail``: the gate's decision at intake."""
    data: str | None = None
    """Where the bytes were checked (folder, DVC cache, hf:// commit), None when not checked."""
    problems: tuple[str, ...] = ()
    """What is broken (edited record, bad signature, changed files), each naming the file."""
    unverified: tuple[str, ...] = ()
    """What could not be checked, with the reason."""

    @property
    def status(self) -> AuditStatus:
        """Return broken, unverified or verified."""
        if self.problems:
            return AuditStatus.BROKEN
        return AuditStatus.UNVERIFIED if self.unverified else AuditStatus.VERIFIED

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form of the row."""
        return {
            "dataset": self.dataset, "version": self.version, "record": self.record,
            "source": self.source, "revision": self.revision, "signer": self.signer,
            "trusted": self.trusted, "publisher": self.publisher, "gate": self.gate,
            "data": self.data, "status": self.status.value, "problems": list(self.problems),
            "unverified": list(self.unverified),
        }


@dataclass(frozen=True)
class AuditReport:
    """Every audited row, plus what was audited."""

    target: str
    """The store or DVC repo audited."""
    rows: tuple[AuditRow, ...] = field(default_factory=tuple)
    """One row per dataset version."""

    def exit_code(self, *, strict: bool = False) -> int:
        """Return 1 when any row is broken (or, with ``strict``, unverified), else 0."""
        bad = {AuditStatus.BROKEN} | ({AuditStatus.UNVERIFIED} if strict else set())
        return 1 if any(r.status in bad for r in self.rows) else 0

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form: target, counts by status, rows."""
        counts = {s.value: sum(1 for r in self.rows if r.status is s) for s in AuditStatus}
        return {"target": self.target, "summary": counts, "rows": [r.to_dict() for r in self.rows]}


# -- record integrity -----------------------------------------------------------------------------


def _integrity(data: Any, where: str, trusted_keys: Collection[str] | None) -> tuple[list[str], list[str]]:
    """Return (problems, unverified) of a record's own integrity and signatures."""
    import jsonschema

    from datagate.lineage.attest import signature_problems
    from datagate.lineage.record import record_digest, record_schema, run_digest

    if not isinstance(data, dict):
        return [f"{where}: not a lineage record (not a JSON object)"], []
    errors = list(jsonschema.Draft202012Validator(record_schema()).iter_errors(data))
    if errors:
        first = errors[0]
        loc = "/".join(str(p) for p in first.absolute_path) or "(top)"
        return [f"{where}: not a valid lineage record at {loc}: {first.message}"], []
    problems: list[str] = []
    unverified: list[str] = []
    if data["record_digest"] != record_digest(data):
        problems.append(f"{where}: record edited (record_digest does not match its content)")
    if "run_digest" not in data:
        unverified.append(f"{where}: run block not covered by a digest (written by an older datagate)")
    elif data["run_digest"] != run_digest(data):
        problems.append(f"{where}: run block edited (run_digest does not match)")
    if "signatures" in data:
        try:
            problems.extend(f"{where}: {p}" for p in signature_problems(data, trusted_keys=trusted_keys))
        except DatagateError as exc:
            unverified.append(f"{where}: signature not checked ({exc.message})")
    elif trusted_keys is not None:
        problems.append(f"{where}: record is not signed (a trusted key was required)")
    else:
        unverified.append(f"{where}: record is not signed (who made it cannot be proven)")
    return problems, unverified


def _read(path: Path) -> tuple[Any, str | None]:
    try:
        return json.loads(path.read_text(encoding="utf-8")), None
    except FileNotFoundError:
        return None, f"{path}: record file is missing"
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"{path}: cannot read record ({exc})"
    except json.JSONDecodeError as exc:
        return None, f"{path}: record is not JSON ({exc.msg} at line {exc.lineno})"


# -- data -----------------------------------------------------------------------------------------


def _describe_diffs(where: str, diffs: Sequence[Any]) -> list[str]:
    out = []
    for d in diffs[:20]:
        out.append(f"{where}/{d.path}: {d.change.value} since intake")
    if len(diffs) > 20:
        out.append(f"{where}: {len(diffs) - 20} more differences")
    return out


def _check_folder(folder: Path, manifest_file: Path, shown: str) -> list[str]:
    from datagate.inventory import verify

    result = verify(folder, manifest_file)
    return _describe_diffs(shown, result.differences)


def _local_candidates(data: dict[str, Any], project_root: Path) -> list[Path]:
    from urllib.parse import unquote, urlparse

    out: list[Path] = []
    dest = data.get("run", {}).get("dest")
    if isinstance(dest, str) and data.get("gate", {}).get("passed"):
        out.append(Path(unquote(urlparse(dest).path)) if dest.startswith("file://") else project_root / dest)
    src = data.get("source", {})
    if src.get("kind") == "local":
        uri = str(src.get("uri", ""))
        out.append(Path(unquote(urlparse(uri).path)) if uri.startswith("file://") else project_root / uri)
    if src.get("kind") == "hf" and src.get("resolved_revision"):
        from datagate.acquire.hub import _default_dest

        repo = str(src.get("uri", "")).removeprefix("hf://datasets/")
        if repo.count("/") == 1:
            out.append(_default_dest(repo, str(src["resolved_revision"])))
    return out


def _check_remote(data: dict[str, Any], manifest: Any) -> tuple[list[str], str]:
    """Compare the pinned Hub commit's listing with the manifest and the recorded remote hashes."""
    from datagate.acquire.hub import remote_listing

    src = data["source"]
    repo = str(src["uri"]).removeprefix("hf://datasets/")
    commit = str(src["resolved_revision"])
    where = f"hf://datasets/{repo}@{commit}"
    listing = {f.path: f for f in remote_listing(repo, commit)}
    recorded = data.get("run", {}).get("remote_files") or {}
    problems: list[str] = []
    for entry in manifest.files:
        hub = listing.get(entry.path)
        if hub is None:
            problems.append(f"{where}/{entry.path}: no longer at the pinned commit")
            continue
        if hub.sha256 is not None and hub.sha256 != entry.sha256:
            problems.append(f"{where}/{entry.path}: the Hub's sha256 differs from the bytes vetted")
        rec = recorded.get(entry.path) or {}
        if rec.get("git_blob_id") and rec["git_blob_id"] != hub.blob_id:
            problems.append(f"{where}/{entry.path}: git blob id differs from the one recorded at intake")
        if hub.size != entry.size:
            problems.append(f"{where}/{entry.path}: size {hub.size} differs from {entry.size} vetted")
    return problems, where


def _dvc_cache_file(repo: Path, md5: str) -> Path | None:
    for p in (repo / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:], repo / ".dvc" / "cache" / md5[:2] / md5[2:]):
        if p.is_file():
            return p
    return None


def _check_dvc_cache(repo: Path, manifest: Any) -> tuple[list[str], list[str]]:
    problems: list[str] = []
    unverified: list[str] = []
    for entry in manifest.files:
        if not entry.md5:
            unverified.append(f"{entry.path}: manifest has no DVC md5 to find it in the cache")
            continue
        cached = _dvc_cache_file(repo, entry.md5)
        if cached is None:
            unverified.append(f"{entry.path}: not in the DVC cache ({entry.md5})")
            continue
        h = hashlib.sha256()
        with cached.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        if h.hexdigest() != entry.sha256:
            problems.append(f"{cached}: DVC cache object of {entry.path} changed since intake")
    return problems, unverified


# -- one record -----------------------------------------------------------------------------------


def _audit_record(
    path: Path,
    store_root: Path,
    *,
    trusted_keys: Collection[str] | None,
    remote: bool,
    dvc_data: tuple[Path, Path] | None = None,
    check_data: bool = True,
) -> AuditRow:
    """Audit the record at ``path`` of the store at ``store_root``. ``dvc_data`` is
    (workspace path, repo root) when auditing a DVC output."""
    from datagate.lineage.record import LineageRecord
    from datagate.lineage.store import Store

    shown = _shown(path)
    data, err = _read(path)
    if err is not None:
        return AuditRow(path.parent.name or shown, None, shown, problems=(err,))
    problems, unverified = _integrity(data, shown, trusted_keys)
    if not isinstance(data, dict) or "content" not in data:
        return AuditRow(path.parent.name, None, shown, problems=tuple(problems))
    rec = LineageRecord(data)
    auth = data.get("authenticity") or {}
    publisher = next(
        (json.dumps(s.get("signer"), sort_keys=True) for s in auth.get("signatures", []) if s.get("verified")), None
    )
    src = data.get("source", {})
    sig = data.get("signatures") or {}
    row: dict[str, Any] = {
        "dataset": rec.name, "version": rec.version, "record": shown, "source": src.get("uri"),
        "revision": src.get("resolved_revision"), "signer": sig.get("key"),
        "trusted": (sig.get("key") in trusted_keys) if trusted_keys is not None and sig else None,
        "publisher": publisher, "gate": "pass" if data.get("gate", {}).get("passed") else "fail",
    }
    store = Store(store_root)
    try:
        manifest = store.manifest(rec)
    except DatagateError as exc:
        problems.append(exc.message)
        return AuditRow(**row, problems=tuple(problems), unverified=tuple(unverified))
    manifest_file = store_root / str(data["content"]["manifest"]["path"])
    checked: str | None = None
    try:
        if not check_data:
            pass
        elif dvc_data is not None:
            workspace, repo = dvc_data
            if workspace.exists():
                problems += _check_folder(workspace, manifest_file, _shown(workspace))
                checked = _shown(workspace)
            else:
                p, u = _check_dvc_cache(repo, manifest)
                problems += p
                unverified += u
                checked = f"DVC cache of {_shown(workspace)}"
        elif remote and src.get("kind") == "hf" and src.get("resolved_revision"):
            p, checked = _check_remote(data, manifest)
            problems += p
        else:
            for folder in _local_candidates(data, store_root.resolve().parent):
                if folder.is_dir() or folder.is_file():
                    problems += _check_folder(folder, manifest_file, _shown(folder))
                    checked = _shown(folder)
                    break
            else:
                hint = " (pass --remote to check the pinned Hub commit)" if src.get("kind") == "hf" else ""
                unverified.append(f"data of {rec.name}@{rec.version[:19]} is not on disk{hint}")
    except DatagateError as exc:
        unverified.append(f"data not checked: {exc.message}")
    return AuditRow(**row, data=checked, problems=tuple(problems), unverified=tuple(unverified))


def _shown(path: Path) -> str:
    """Return ``path`` relative to the working directory when it is under it (privacy, brevity)."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") else Path(rel).as_posix()


def audit_store(
    store: Path | str | None = None,
    refs: Iterable[str] = (),
    *,
    trusted_keys: Collection[str] | None = None,
    remote: bool = False,
    check_data: bool = True,
) -> AuditReport:
    """Audit every record of the store (or the ``NAME@VERSION`` / ``NAME`` refs); return the report.

    ``check_data=False`` checks the records and manifests only (``datagate log`` on a store with an
    edited record).

    Record files are read leniently so that one edited record is a broken row, not an error.
    Raises LineageError when there is no store, or a ref matches no record file.
    """
    from datagate.lineage.store import Store, default_store_path

    root = Path(store) if store is not None else default_store_path()
    Store.open(root)  # a store must be there (checks store.json)
    paths: list[Path] = []
    refs = list(refs)
    if refs:
        for ref in refs:
            paths.extend(_ref_paths(root, ref))
    else:
        base = root / "records"
        if base.is_dir():
            paths = sorted(p for p in base.glob("*/*.json") if not p.name.startswith("."))
    rows = [_audit_record(p, root, trusted_keys=trusted_keys, remote=remote, check_data=check_data) for p in paths]
    return AuditReport(_shown(root), tuple(rows))


def _ref_paths(root: Path, ref: str) -> list[Path]:
    from datagate.lineage.record import validate_dataset_name

    name, _, version = ref.partition("@")
    validate_dataset_name(name)
    folder = root / "records" / name
    hexpart = version.lower().removeprefix("sha256:")
    hits = sorted(p for p in folder.glob("*.json") if p.stem.startswith(hexpart)) if folder.is_dir() else []
    if not hits:
        raise LineageError(f"{ref!r}: no such record in the store at {root}")
    return hits


def audit_dvc(
    repo: Path | str, *, trusted_keys: Collection[str] | None = None, remote: bool = False
) -> AuditReport:
    """Audit every ``.dvc`` output under ``repo`` that carries a datagate pointer.

    The pointer must still name the output's DVC md5 and a record whose digest it names; the data
    is checked in the workspace, or in the DVC cache (``.dvc/cache``) when the workspace copy is
    absent. Raises LineageError for a ``.dvc`` file that is not valid YAML.
    """
    from datagate.lineage.dvc import find_dvc_files, read_dvc_outputs

    root = Path(repo)
    rows: list[AuditRow] = []
    for dvc_file in find_dvc_files(root):
        for out in read_dvc_outputs(dvc_file):
            if out.pointer is None:
                continue
            rec_rel = out.pointer.get("record")
            if not isinstance(rec_rel, str):
                rows.append(AuditRow(out.path.name, None, _shown(dvc_file), problems=(f"{dvc_file}: pointer names no record",)))
                continue
            rec_path = (dvc_file.parent / rec_rel).resolve()
            store_root = rec_path.parent.parent.parent
            row = _audit_record(rec_path, store_root, trusted_keys=trusted_keys, remote=remote,
                                dvc_data=(out.path, root))
            extra: list[str] = []
            if out.pointer.get("md5") != out.md5:
                extra.append(f"{_shown(dvc_file)}: data changed since it was recorded (DVC md5 {out.md5}, recorded {out.pointer.get('md5')})")
            if row.version is not None and out.pointer.get("version") != row.version:
                extra.append(f"{_shown(dvc_file)}: pointer names version {out.pointer.get('version')}, record is {row.version}")
            data, _ = _read(rec_path)
            if isinstance(data, dict) and out.pointer.get("record_digest") != data.get("record_digest"):
                extra.append(f"{_shown(dvc_file)}: pointer names record_digest {out.pointer.get('record_digest')}, record has {data.get('record_digest')}")
            if extra:
                row = AuditRow(**{**_fields(row), "problems": row.problems + tuple(extra)})
            rows.append(row)
    return AuditReport(_shown(root), tuple(rows))


def _fields(row: AuditRow) -> dict[str, Any]:
    import dataclasses

    return {f.name: getattr(row, f.name) for f in dataclasses.fields(row)}
