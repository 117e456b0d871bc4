"""``datagate.ingest``: acquire -> inventory -> scan -> check -> record -> gate, no printing.

>>> import datagate
>>> result = datagate.ingest("fixtures/build/sample", name="sample")   # doctest: +SKIP
>>> result.decision.passed, result.record.version                       # doctest: +SKIP
(True, 'sha256:...')

With ``dest`` the source is first copied (or downloaded) into a staging directory beside
``dest``; everything is vetted there and the staging directory becomes ``dest`` only when the gate
passes, so a failing dataset never lands where a pipeline reads it. The record is stored either
way: a failed gate is a fact worth keeping.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import hashlib
import os
import re
import secrets
import shutil
import socket
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datagate.acquire.interface import Acquired, Source, SourceInfo
from datagate.errors import DatagateError, LineageError, UsageError, breadcrumb
from datagate.lineage.record import (
    LineageRecord,
    ParentRef,
    build_record,
    canonical_json,
    jsonable,
    validate_dataset_name,
)
from datagate.lineage.store import Store
from datagate.models import CheckReport, Finding, GateDecision, Manifest, ScanReport
from datagate.progress import NULL_PROGRESS, ProgressSink

if TYPE_CHECKING:
    from datagate.check.load import CsvOptions
    from datagate.config import Policy
    from datagate.engine.interface import Engine

__all__ = [
    "IngestResult",
    "RecordResult",
    "default_name",
    "ingest",
    "policy_digest",
    "quality_metrics",
    "record",
    "stored_baseline",
]


@dataclass(frozen=True)
class IngestResult:
    """What one ingest produced. The CLI renders it; nothing here prints."""

    manifest: Manifest
    """The inventory of the vetted bytes."""
    scan: ScanReport
    """The scan of the vetted bytes; its findings include acquisition findings, waivers marked."""
    check: CheckReport
    """The data-quality checks."""
    decision: GateDecision
    """Pass or fail, and why."""
    record: LineageRecord
    """The stored lineage record."""
    record_path: Path
    """Where the record was written in the store."""
    source: SourceInfo
    """Where the data came from."""
    root: Path
    """Where the vetted bytes are: ``dest`` when given and the gate passed, else the source."""
    findings: tuple[Finding, ...] = ()
    """Every finding (acquisition and scan) after policy waivers."""
    store: Path | None = None
    """The store directory."""
    baseline: str | None = None
    """The root digest of the stored version the checks compared against, or None."""
    delivered: bool = True
    """False when ``dest`` was given but the gate failed, so nothing was delivered there."""
    warnings: tuple[str, ...] = ()
    """Operational warnings that did not stop the run (e.g. OpenLineage events spooled)."""

    @property
    def passed(self) -> bool:
        """Return whether the gate passed."""
        return self.decision.passed

    @property
    def exit_code(self) -> int:
        """Return 0 when the gate passed, 1 when it failed."""
        return self.decision.exit_code


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def default_name(source: SourceInfo) -> str:
    """Return a store-safe dataset name derived from the source URI.

    ``file:///x/my data`` -> ``my-data``; ``hf://datasets/OWNER/NAME`` -> ``OWNER--NAME``.
    Raises UsageError when no safe name can be derived (pass ``name=``).
    """
    uri = source.uri
    if uri.startswith("hf://"):
        parts = [p for p in uri[len("hf://") :].split("@", 1)[0].split("/") if p]
        if parts and parts[0] == "datasets":
            parts = parts[1:]
        base = "--".join(parts)
    else:
        from urllib.parse import unquote, urlparse

        base = Path(unquote(urlparse(uri).path)).name
        if "." in base and not base.startswith("."):
            stem, _, ext = base.rpartition(".")
            base = stem if ext.isalnum() and len(ext) <= 8 and stem else base
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", base).strip("-._")[:128]
    if not cleaned:
        raise UsageError(f"{uri}: cannot derive a dataset name", hint="pass --name NAME")
    return validate_dataset_name(cleaned)


def policy_digest(policy: Policy) -> str:
    """Return the hex SHA-256 of the policy's settings (canonical JSON; not its file's bytes)."""
    # signing says how the record is signed, not what passes the gate
    fields = jsonable({k: v for k, v in dataclasses.asdict(policy).items() if k not in ("source", "signing")})
    return hashlib.sha256(canonical_json(fields).encode("utf-8")).hexdigest()


def _tool_versions() -> dict[str, str | None]:
    from importlib import metadata

    import datagate

    out: dict[str, str | None] = {"datagate": datagate.__version__}
    import platform

    out["python"] = platform.python_version()
    for dist in ("pyarrow", "dvc", "huggingface_hub", "great_expectations", "datasets"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def _profile_dict(profile: Any) -> dict[str, Any] | None:
    if profile is None:
        return None
    to_dict = getattr(profile, "to_dict", None)
    data = to_dict() if callable(to_dict) else profile
    out = jsonable(data)
    return out if isinstance(out, dict) else None


def _load_profile(data: Mapping[str, Any], where: str) -> Any:
    from datagate.check.profile import Profile

    try:
        return Profile.from_dict(dict(data))
    except DatagateError as exc:
        raise LineageError(f"{where}: corrupt stored profile ({exc.message})", hint="delete it or restore it from git") from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise LineageError(f"{where}: corrupt stored profile ({exc})") from exc


def _resolve_parents(store: Store, parents: Sequence[str]) -> list[ParentRef]:
    out = []
    for ref in parents:
        try:
            rec = store.resolve(ref)
        except LineageError as exc:
            raise LineageError(f"parent {ref!r}: {exc.message}", hint="ingest the parent first") from exc
        out.append(ParentRef(rec.name, rec.version, rec.digest))
    return out


@contextlib.contextmanager
def _staging(dest: Path | None) -> Iterator[Path | None]:
    """Yield a fresh staging directory beside ``dest`` (None when ``dest`` is None); removed after
    unless it was renamed into place."""
    if dest is None:
        yield None
        return
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise UsageError(
            f"{dest}: destination exists and is not empty",
            hint="remove it first (datagate never mixes a new version into old files)",
        )
    parent = dest.parent if str(dest.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{parent}: cannot create ({exc.strerror})") from exc
    prefix = f".{dest.name}.datagate-staging-"
    for old in parent.glob(prefix + "*"):  # left by a killed ingest: remove if its process is gone
        pid = old.name[len(prefix) :].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    stage = parent / f"{prefix}{os.getpid()}-{secrets.token_hex(4)}"
    try:
        yield stage
    finally:
        if stage.exists():
            shutil.rmtree(stage, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _deliver(stage: Path, dest: Path) -> None:
    try:
        if dest.exists():
            dest.rmdir()  # empty (checked before staging)
        os.replace(stage, dest)
    except OSError as exc:
        raise UsageError(f"{dest}: cannot move the vetted data into place ({exc.strerror})") from exc


def quality_metrics(result: IngestResult) -> dict[str, int | float]:
    """Return a flat mapping of numbers for DVC metrics (``dvc metrics show``).

    Keys: ``passed`` (1/0), ``files``, ``bytes``, ``findings_<severity>``, ``findings_waived``,
    ``skipped``, ``checks_<status>``, ``count_<check id>`` (``observed.count``, e.g.
    ``count_backdoor_triggers``, ``count_label_errors``), ``rows_<split>``, ``rows``.
    """
    rec = result.record.data
    out: dict[str, int | float] = {
        "passed": 1 if result.decision.passed else 0,
        "files": int(rec["content"]["files"]),
        "bytes": int(rec["content"]["bytes"]),
    }
    for sev, n in rec["scan"]["findings"].items():
        out[f"findings_{sev}"] = int(n)
    out["findings_waived"] = int(rec["scan"]["waived"])
    out["skipped"] = int(rec["scan"]["skipped"])
    for status in ("pass", "warn", "fail", "error", "skipped"):
        out[f"checks_{status}"] = sum(1 for s in rec["checks"]["status"].values() if s == status)
    for cid, n in sorted(rec["checks"].get("counts", {}).items()):
        out[f"count_{re.sub(r'[^A-Za-z0-9_]+', '_', cid)}"] = int(n)
    total = 0
    for split, info in sorted(rec["data"]["splits"].items()):
        rows = info.get("rows") if isinstance(info, dict) else None
        if isinstance(rows, int):
            out[f"rows_{re.sub(r'[^A-Za-z0-9_]+', '_', split)}"] = rows
            total += rows
    out["rows"] = total
    return out


def ingest(
    source: str | Path | Source,
    *,
    name: str | None = None,
    dest: Path | str | None = None,
    label: str | None = None,
    keys: Sequence[str] = (),
    text: Sequence[str] = (),
    policy: Policy | Path | str | None = None,
    store: Store | Path | str | None = None,
    baseline: str | Path | None = "auto",
    no_label: bool = False,
    parents: Sequence[str] = (),
    dvc: bool = True,
    use_cache: bool = True,
    openlineage_url: str | None = None,
    progress: ProgressSink = NULL_PROGRESS,
    encoding: str = "utf-8",
    csv: CsvOptions | None = None,
    sign_key: Path | str | None = None,
    record_host: bool = False,
    label_type: str | None = None,
    engine: Engine | None = None,
) -> IngestResult:
    """Run the whole gate on ``source`` and store its lineage record; return the typed result.

    ``source`` is a path, ``hf://datasets/OWNER/NAME[@REV]`` or a :class:`Source`. ``name``
    defaults to one derived from the source. ``baseline="auto"`` compares with the latest
    passed, different version of the same dataset in the store; None compares with nothing; a
    store version (digest prefix or ``NAME@PREFIX``) compares with that version's profile; any
    other path is passed to the check stage as is. ``parents`` are store versions this dataset
    was derived from. OpenLineage events go to the store's ``openlineage.jsonl`` and to
    ``openlineage_url`` (default ``$OPENLINEAGE_URL``) when set. ``engine`` runs the check
    stage's work (default: a local engine on every core); its name and worker count go in the
    record's ``run`` block.

    Records, statements and events name a local source by its path relative to the project root
    (the folder holding the store); the absolute path and the host name are recorded only with
    ``record_host``. ``sign_key`` (default: the policy's ``signing.key``) signs the in-toto
    statements as DSSE envelopes stored in the record. A signature shipped with the data
    (``*.sig``, ``*.sigstore.json``) is verified against the policy's ``trust.signers``.

    Raises UsageError (bad name, non-empty ``dest``), AcquireError, InventoryError, ScanError,
    CheckError, ConfigError and LineageError (corrupt or newer store, missing parent, event
    endpoint down); the gate failing is **not** an exception: see ``result.decision``.
    """
    from datagate.acquire import parse_source
    from datagate.config import Policy as _Policy
    from datagate.config import load_policy
    from datagate.lineage.intoto import checks_statement, provenance_statement
    from datagate.lineage.openlineage import (
        EventEmitter,
        complete_event,
        endpoint_from_env,
        fail_event,
        start_event,
    )

    t0 = time.perf_counter()
    started_at = _now()
    if name is not None:
        validate_dataset_name(name)
    src = source if isinstance(source, Source) else parse_source(os.fspath(source))
    info = src.describe()
    ds_name = name if name is not None else default_name(info)
    pol = policy if isinstance(policy, _Policy) else load_policy(policy)
    with_trust = getattr(src, "with_trust_policy", None)
    if callable(with_trust) and pol.trust:
        src = with_trust(pol.trust)  # the Hub source evaluates the policy's trust rules
    st = store if isinstance(store, Store) else Store.open(store, create=True)
    history = st.history(ds_name)  # fail fast on a corrupt store, before any work
    project_root = Path(os.path.abspath(st.root)).parent
    shown_info = _private_source(info, project_root, record_host)
    key = _signing_key(sign_key, pol)
    from datagate.acquire.signatures import parse_signers

    parse_signers(pol.trust, base=Path(pol.source).parent if pol.source else Path("."))  # fail fast
    parent_refs = _resolve_parents(st, parents)
    dest_path = Path(dest) if dest is not None else None

    run_id = str(uuid.uuid4())
    emitter = EventEmitter(
        st.events_path, openlineage_url or endpoint_from_env(), append=st.append_event,
        spool=st.spool_path, lock=st.lock,
    )
    emitter.emit(start_event(run_id=run_id, event_time=started_at, name=ds_name, source_uri=shown_info.uri))
    stages: dict[str, float] = {}
    try:
        with _staging(dest_path) as stage:
            breadcrumb("acquire", info.uri)
            t = time.perf_counter()
            acquired: Acquired = src.acquire(stage, progress=progress)
            stages["acquire"] = time.perf_counter() - t
            from datagate.acquire.signatures import evaluate_signatures

            policy_dir = Path(pol.source).parent if pol.source else Path(".")
            sig_findings, authenticity = evaluate_signatures(acquired.root, pol.trust, base=policy_dir)

            from datagate.inventory import hash_tree

            breadcrumb("hash", os.fspath(acquired.root))
            t = time.perf_counter()
            manifest = hash_tree(acquired.root, dvc=dvc, use_cache=use_cache, progress=progress)
            stages["hash"] = time.perf_counter() - t

            from datagate.inventory import manifest_lines
            from datagate.lineage import cache as results

            manifest_text = ("\n".join(manifest_lines(manifest)) + "\n").encode("utf-8")
            manifest_sha = hashlib.sha256(manifest_text).hexdigest()
            pol_digest = policy_digest(pol)

            breadcrumb("scan", os.fspath(acquired.root))
            t = time.perf_counter()
            scan_key = results.cache_key("scan", manifest_sha, policy=pol_digest)
            scan_report = _cached(use_cache, st, scan_key, results.scan_from_dict)
            if scan_report is None:
                from datagate.scan import scan as run_scan

                scan_report = run_scan(acquired.root, policy=pol, manifest=manifest, progress=progress)
                if use_cache:
                    # no paths in the cache: the target is replaced with the display name on load
                    results.save(st, scan_key, results.scan_to_dict(dataclasses.replace(scan_report, target=".")))
            stages["scan"] = time.perf_counter() - t

            from datagate.gate import apply_waivers, decide

            display = _display(source, info)
            findings = apply_waivers(
                tuple(acquired.findings) + tuple(sig_findings) + tuple(scan_report.findings), manifest, pol
            )
            findings = tuple(sorted(findings, key=lambda f: (f.path, f.member or "", f.rule)))
            # the report shows what the gate saw: acquisition findings too, waivers marked
            scan_report = dataclasses.replace(scan_report, target=display, findings=findings)

            breadcrumb("check", os.fspath(acquired.root))
            base_rec, base_arg = _pick_baseline(st, history, ds_name, baseline, manifest.root_digest)
            from datagate.check import run_checks

            t = time.perf_counter()
            profile_obj: Any = None
            engine_info: dict[str, Any] = {"name": engine.name if engine is not None else "local", "workers": 0}
            if _has_tabular(manifest):
                check_key = results.cache_key(
                    "check", manifest_sha, policy=pol_digest, label=label, keys=list(keys), text=list(text),
                    **({"encoding": encoding} if encoding != "utf-8" else {}),
                    **({"csv": dataclasses.asdict(csv)} if csv is not None else {}),
                    **({"label_type": label_type} if label_type is not None else {}),
                    no_label=no_label, baseline=base_rec.digest if base_rec is not None else None,
                )
                cacheable = use_cache and not isinstance(base_arg, Path)
                hit = _cached(cacheable, st, check_key, lambda d: (results.check_from_dict(d["report"]), d["profile"]))
                if hit is not None:
                    cached_report, profile_obj = hit
                    check_report: CheckReport = dataclasses.replace(cached_report, dataset=display)
                else:
                    outcome = run_checks(
                        acquired.root, label=label, keys=tuple(keys), text=tuple(text),
                        baseline=base_arg, policy=pol, progress=progress, encoding=encoding, no_label=no_label, csv=csv,
                        label_type=label_type,
                        engine=engine,
                    )
                    engine_info = dict(outcome.engine)
                    check_report = dataclasses.replace(outcome.report, dataset=display)
                    profile_obj = getattr(outcome, "profile", None)
                    if cacheable:
                        results.save(st, check_key, {"report": results.check_to_dict(dataclasses.replace(outcome.report, dataset=".")),
                                                     "profile": _profile_dict(profile_obj)})
            else:
                check_report = _no_data_report(display, label)
            stages["check"] = time.perf_counter() - t
            decision = decide(pol, findings=findings, checks=check_report.checks)

            breadcrumb("record", os.fspath(acquired.root))
            t = time.perf_counter()
            profile = _profile_dict(profile_obj)
            run_block: dict[str, Any] = {
                "invocation_id": run_id,
                "started_at": started_at,
                "finished_at": _now(),
                "duration_s": round(time.perf_counter() - t0, 6),
                "tools": _tool_versions(),
                "stages": {k: round(v, 6) for k, v in stages.items()},
                "engine": engine_info,
            }
            if record_host:
                run_block["host"] = socket.gethostname()
                if acquired.source.kind == "local":
                    run_block["source_path"] = acquired.source.uri
            if dest_path is not None:
                run_block["dest"] = _project_relpath(dest_path, project_root, record_host)
            if acquired.trust:
                run_block["trust"] = jsonable(dict(acquired.trust))
            if acquired.remote_files:
                # What the remote published per file (hashes, sizes, its own security-scan
                # verdict) at acquisition time; the verdicts can change later, so run block.
                run_block["remote_files"] = jsonable(
                    {k: dict(v) for k, v in sorted(acquired.remote_files.items())}
                )
            record = build_record(
                name=ds_name,
                source=_private_source(acquired.source, project_root, record_host),
                manifest=manifest,
                manifest_path=st.manifest_relpath(ds_name, manifest.root_digest),
                manifest_sha256=manifest_sha,
                scan=scan_report,
                findings=findings,
                check=check_report,
                profile=profile,
                decision=decision,
                parents=parent_refs,
                policy_sha256=pol_digest,
                baseline=base_rec.version if base_rec is not None else None,
                run=run_block,
                authenticity=authenticity,
            )
            statements = [
                provenance_statement(record),
                checks_statement(record, check=check_report, decision=decision),
            ]
            if key is not None:
                from datagate.lineage.attest import sign_record

                record = sign_record(record, statements, key)
            record_path = st.save(record, manifest_text=manifest_text, profile=profile, attestations=statements)
            delivered = True
            root = acquired.root
            if stage is not None and dest_path is not None:
                if decision.passed:
                    _deliver(stage, dest_path)
                    root = dest_path
                else:
                    delivered = False
                    local = getattr(src, "path", None)
                    root = Path(local) if isinstance(local, (str, Path)) else dest_path
            stages["record"] = time.perf_counter() - t
        output_uri = (
            _project_relpath(dest_path, project_root, record_host)
            if dest_path is not None and delivered else None
        )
        emitter.emit(
            complete_event(
                record, run_id=run_id, event_time=_now(), check=check_report,
                decision=decision, output_uri=output_uri,
            )
        )
    except BaseException as exc:
        # Any way out but COMPLETE closes the run with FAIL: operational errors, bugs, Ctrl-C
        # and SIGTERM (the CLI turns it into an exception), so no START is left open.
        message = exc.message if isinstance(exc, DatagateError) else f"{type(exc).__name__}: {exc}"[:500]
        with contextlib.suppress(Exception):
            emitter.emit(
                fail_event(run_id=run_id, event_time=_now(), name=ds_name, source_uri=shown_info.uri, message=message)
            )
        raise
    return IngestResult(
        manifest=manifest,
        scan=scan_report,
        check=check_report,
        decision=decision,
        record=record,
        record_path=record_path,
        source=acquired.source,
        root=root,
        findings=findings,
        store=st.root,
        baseline=base_rec.version if base_rec is not None else None,
        delivered=delivered,
        warnings=tuple(emitter.warnings),
    )


# The data files the check stage reads (datagate.check.load), by suffix, optionally compressed.
_TABULAR = (".parquet", ".pq", ".csv", ".tsv", ".jsonl", ".ndjson", ".json", ".arrow", ".feather", ".ipc")
_COMPRESSED = ("", ".gz", ".gzip", ".zst", ".zstd", ".bz2", ".xz")
_NOT_DATA = {"dataset_info.json", "state.json", "dataset_dict.json", "dataset_infos.json"}


def _has_tabular(manifest: Manifest) -> bool:
    """Return True when the tree holds a file the check stage can load as table data."""
    suffixes = tuple(t + c for t in _TABULAR for c in _COMPRESSED)
    for e in manifest.files:
        name = e.path.rsplit("/", 1)[-1].lower()
        if name not in _NOT_DATA and name.endswith(suffixes):
            return True
    return False


def _no_data_report(display: str, label: str | None) -> CheckReport:
    """Return the check report of a tree without table data: one skipped result saying so."""
    from datagate.models import CheckResult, CheckStatus, Severity

    if label is not None:
        raise UsageError(f"{display}: --label {label!r} given, but the dataset has no table data files")
    msg = "no table data files (parquet, csv, tsv, jsonl, json, arrow): quality checks not run"
    return CheckReport(display, (CheckResult("data", CheckStatus.SKIPPED, Severity.INFO, msg),))


def _cached(enabled: bool, store: Store, key: str, decode: Any) -> Any:
    """Return ``decode(entry)`` of a cached result, or None (disabled, absent or malformed)."""
    if not enabled:
        return None
    from datagate.lineage import cache as results

    data = results.load(store, key)
    if data is None:
        return None
    try:
        return decode(data)
    except (KeyError, TypeError, ValueError):
        return None


def _project_relpath(path: Path, project_root: Path, record_host: bool) -> str:
    """Return ``path`` as recorded: relative to the project root (POSIX), or its absolute
    ``file://`` URI with ``record_host``."""
    absolute = Path(os.path.abspath(path))
    if record_host:
        return absolute.as_uri()
    return Path(os.path.relpath(absolute, project_root)).as_posix()


def _private_source(info: SourceInfo, project_root: Path, record_host: bool) -> SourceInfo:
    """Return ``info`` with a local ``file://`` URI made relative to the project root (unless
    ``record_host``), so records committed to git name no home folder."""
    if record_host or info.kind != "local" or not info.uri.startswith("file://"):
        return info
    from urllib.parse import unquote, urlparse

    local = Path(unquote(urlparse(info.uri).path))
    return dataclasses.replace(info, uri=_project_relpath(local, project_root, False))


def _signing_key(sign_key: Path | str | None, pol: Policy) -> Any:
    """Return the :class:`~datagate.lineage.signing.PrivateKey` to sign records with, or None.

    ``sign_key`` wins; else the policy's ``signing.key`` (relative to the policy file), with the
    password from the environment variable ``signing.password_env`` names. Raises UsageError for a
    missing key file or an unset password variable.
    """
    from datagate.lineage.signing import PrivateKey

    password_env: str | None = None
    if sign_key is None:
        settings = getattr(pol, "signing", None) or {}
        if not settings.get("key"):
            return None
        base = Path(pol.source).parent if pol.source else Path(".")
        sign_key = base / str(settings["key"])
        password_env = settings.get("password_env")
    elif "DATAGATE_SIGN_KEY_PASSWORD" in os.environ:
        password_env = "DATAGATE_SIGN_KEY_PASSWORD"  # noqa: S105  (a variable name, not a password)
    path = Path(sign_key)
    if not path.is_file():
        raise UsageError(f"{path}: signing key file not found")
    password = None
    if password_env:
        password = os.environ.get(password_env)
        if password is None:
            raise UsageError(f"signing key password: environment variable {password_env} is not set")
    from datagate.lineage.signing import public_pem_of_private, signing_available

    if not signing_available():
        raise UsageError("signing records needs the model-signing library", hint="pip install 'datagate-intake[sign]'")
    public_pem_of_private(path, password)  # a wrong password or a non-key fails now, before any work
    return PrivateKey(path, password)


def _display(source: str | Path | Source, info: SourceInfo) -> str:
    """Return the source as the user named it (for report headers), not the staging path."""
    if isinstance(source, (str, Path)):
        return os.fspath(source)
    local = getattr(source, "path", None)
    return os.fspath(local) if isinstance(local, (str, Path)) else info.uri


def stored_baseline(
    name: str, *, store: Store | Path | str | None = None, exclude_version: str | None = None
) -> tuple[LineageRecord, Any] | None:
    """Return (record, Profile) of the latest passed version of ``name`` with a stored profile.

    For ``datagate check`` to compare with the previous version automatically, as ingest does.
    Returns None when there is no store, no such dataset, or no passed version with a profile
    (other than ``exclude_version``). Raises LineageError for a corrupt store or profile and
    UsageError for an unsafe name.
    """
    validate_dataset_name(name)
    if isinstance(store, Store):
        st = store
    else:
        root = Path(store) if store is not None else None
        from datagate.lineage.store import default_store_path

        if not ((root or default_store_path()) / "store.json").exists():
            return None
        st = Store.open(root)
    rec, profile = _pick_baseline(st, st.history(name), name, "auto", exclude_version or "")
    return (rec, profile) if rec is not None else None


def _pick_baseline(
    st: Store,
    history: Sequence[LineageRecord],
    name: str,
    baseline: str | Path | None,
    version: str,
) -> tuple[LineageRecord | None, Any]:
    """Return (stored record used as baseline or None, the ``baseline`` argument for checks)."""
    if baseline is None:
        return None, None
    if isinstance(baseline, str) and baseline == "auto":
        for rec in reversed(history):
            if rec.passed and rec.version != version:
                data = st.profile(rec)
                if data is None:
                    continue
                return rec, _load_profile(data, str(st.profile_path(rec.name, rec.version)))
        return None, None
    if isinstance(baseline, str) and not Path(baseline).exists():
        rec = st.resolve(baseline if "@" in baseline else f"{name}@{baseline}")
        data = st.profile(rec)
        if data is None:
            raise LineageError(f"baseline {baseline!r}: version {rec.version} has no stored profile")
        return rec, _load_profile(data, str(st.profile_path(rec.name, rec.version)))
    return None, Path(baseline)


@dataclass(frozen=True)
class RecordResult:
    """What ``datagate record PATH`` produced for a ``dvc add``-tracked path."""

    ingest: IngestResult
    """The ingest of the tracked data, in place."""
    dvc_file: Path
    """The ``.dvc`` file that received the ``meta.datagate`` pointer."""
    dvc_md5: str
    """The DVC id the record describes."""


def record(
    path: Path | str,
    *,
    name: str | None = None,
    label: str | None = None,
    keys: Sequence[str] = (),
    text: Sequence[str] = (),
    policy: Policy | Path | str | None = None,
    store: Store | Path | str | None = None,
    baseline: str | Path | None = "auto",
    openlineage_url: str | None = None,
    progress: ProgressSink = NULL_PROGRESS,
    sign_key: Path | str | None = None,
    record_host: bool = False,
) -> RecordResult:
    """Vet a ``dvc add``-tracked ``path`` in place, store its record, and point its ``.dvc`` at it.

    The workspace must hold exactly what the ``.dvc`` file names (same DVC md5), so the record
    describes the DVC version. The pointer is written whether the gate passed or not (the
    record says which). Raises LineageError when ``path`` is not DVC-tracked, the ``.dvc`` file
    is not YAML, the output is not committed or the workspace differs from it; plus everything
    :func:`ingest` raises.
    """
    from datagate.acquire.local import LocalSource
    from datagate.inventory import hash_tree
    from datagate.lineage.dvc import dvc_output_for_path, write_pointer

    out = dvc_output_for_path(Path(path))
    if out is None:
        raise LineageError(f"{path}: not tracked by DVC (no {Path(str(path).rstrip('/'))}.dvc)", hint="run dvc add first")
    if not out.md5:
        raise LineageError(f"{out.dvc_file}: output {out.path} has no md5 yet", hint="run dvc commit")
    if name is not None:
        validate_dataset_name(name)
    pre = hash_tree(out.path, dvc=True, progress=progress)
    is_dir = out.md5.endswith(".dir")
    current = pre.dvc_md5 if is_dir else (pre.files[0].md5 if len(pre.files) == 1 else None)
    if current != out.md5:
        hint = "run dvc add (to record the new data) or dvc checkout (to restore it)"
        if len(pre.files) != len(pre.entries):
            hint += "; note DVC follows symlinks, datagate records them"
        raise LineageError(
            f"{out.path}: workspace does not match {out.dvc_file} (DVC md5 {out.md5}, workspace {current})",
            hint=hint,
        )
    st = store if isinstance(store, Store) else Store.open(store, create=True)
    result = ingest(
        LocalSource(out.path), name=name, label=label, keys=keys, text=text, policy=policy,
        store=st, baseline=baseline, dvc=True, openlineage_url=openlineage_url, progress=progress,
        sign_key=sign_key, record_host=record_host,
    )
    rel = os.path.relpath(result.record_path, out.dvc_file.parent)
    write_pointer(
        out, md5=out.md5, version=result.record.version, record=Path(rel).as_posix(),
        record_digest=result.record.digest,
    )
    return RecordResult(ingest=result, dvc_file=out.dvc_file, dvc_md5=out.md5)
