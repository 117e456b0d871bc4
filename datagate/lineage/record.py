"""The lineage record: which bytes, from where, at which revision, vetted how, derived from what.

A record is a JSON object in two parts:

* the **deterministic part** (every key except ``run`` and ``record_digest``): the same bytes from
  the same source under the same policy give byte-identical JSON; and
* the ``run`` block: facts of one run (times, tool versions, invocation id, the remote's
  per-file hashes and trust signals observed at run time; the host name and absolute paths only
  with ``record_host``).

``record_digest`` is ``sha256:`` over the canonical JSON (sorted keys, ``(",", ":")`` separators,
UTF-8) of the deterministic part; ``run_digest`` the same over the ``run`` block, so an edit
anywhere is detected. A record made with a signing key also carries ``signatures``: DSSE
envelopes (Sigstore bundles) over its in-toto provenance and test-result statements, which name
both digests, so a forged record whose digests were recomputed fails its signature
(:mod:`datagate.lineage.attest`). The record's JSON Schema ships as
``datagate/lineage/schemas/record.schema.json`` (draft 2020-12).

>>> canonical_json({"b": 1, "a": [1, 2]})
'{"a":[1,2],"b":1}'
"""

from __future__ import annotations

import enum
import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from datagate.errors import LineageError, UsageError
from datagate.models import CheckReport, Finding, GateDecision, Manifest, ScanReport

if TYPE_CHECKING:
    from datagate.acquire.interface import SourceInfo

__all__ = [
    "RECORD_SCHEMA_ID",
    "RECORD_SCHEMA_VERSION",
    "LineageRecord",
    "ParentRef",
    "build_record",
    "canonical_json",
    "deterministic_part",
    "jsonable",
    "record_digest",
    "record_schema",
    "run_digest",
    "validate_dataset_name",
    "validate_record",
]

RECORD_SCHEMA_ID = "https://datagate.dev/schemas/lineage-record/v1.json"
"""The ``schema`` value of every record this version writes (also the JSON Schema's ``$id``)."""

RECORD_SCHEMA_VERSION = 1
"""The record format version this datagate writes and the newest it reads."""

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_RUN_KEYS = ("run", "record_digest", "run_digest", "signatures")


def validate_dataset_name(name: str) -> str:
    """Return ``name`` when it is a safe dataset name, else raise UsageError.

    Names become file names in the store, so they may hold only letters, digits, ``.``, ``_`` and
    ``-``, must start with a letter or digit, be at most 128 characters and not be ``.``/``..``.
    """
    if not _NAME_RE.match(name) or name in (".", ".."):
        raise UsageError(
            f"dataset name {name!r} is not allowed",
            hint="use letters, digits, '.', '_' and '-' only (no '/', spaces or leading '.'), "
            "at most 128 characters; pass --name",
        )
    return name


def jsonable(obj: Any) -> Any:
    """Return ``obj`` converted to plain JSON types (dict/list/str/int/float/bool/None).

    Enums become their values, tuples and sets lists (sets sorted), paths strings, mapping keys
    strings; non-finite floats become None so the canonical JSON stays valid.
    """
    if obj is None or isinstance(obj, (bool, str, int)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, enum.Enum):
        return jsonable(obj.value)
    if isinstance(obj, PurePath):
        return obj.as_posix()
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (set, frozenset)):
        return sorted((jsonable(v) for v in obj), key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalars
        return jsonable(obj.item())
    if hasattr(obj, "tolist") and callable(obj.tolist):  # numpy arrays
        return jsonable(obj.tolist())
    return str(obj)


def canonical_json(obj: Any) -> str:
    """Return the canonical JSON text of ``obj``: sorted keys, ``(",", ":")``, UTF-8, no NaN."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def deterministic_part(data: Mapping[str, Any]) -> dict[str, Any]:
    """Return the record without its ``run`` block, digests and signatures."""
    return {k: v for k, v in data.items() if k not in _RUN_KEYS}


def record_digest(data: Mapping[str, Any]) -> str:
    """Return ``sha256:<hex>`` over the canonical JSON of the record's deterministic part."""
    blob = canonical_json(deterministic_part(data)).encode("utf-8")
    return "sha256:" + hashlib.sha256(blob).hexdigest()


def run_digest(data: Mapping[str, Any]) -> str:
    """Return ``sha256:<hex>`` over the canonical JSON of the record's ``run`` block."""
    blob = canonical_json(data.get("run")).encode("utf-8")
    return "sha256:" + hashlib.sha256(blob).hexdigest()


@lru_cache(maxsize=1)
def record_schema() -> dict[str, Any]:
    """Return the record's JSON Schema (draft 2020-12) shipped in the package."""
    text = resources.files("datagate.lineage").joinpath("schemas/record.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def validate_record(data: Any, *, where: str = "record") -> None:
    """Check ``data`` against the record schema and its digest; return None when valid.

    Raises LineageError naming ``where`` when the record is from a newer datagate, does not match
    the schema, or its ``record_digest`` does not match its content (edited or truncated).
    """
    if not isinstance(data, dict):
        raise LineageError(f"{where}: not a datagate lineage record (not a JSON object)")
    version = data.get("schema_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > RECORD_SCHEMA_VERSION:
        raise LineageError(
            f"{where}: record schema version {version} is newer than this datagate reads "
            f"({RECORD_SCHEMA_VERSION})",
            hint="upgrade datagate",
        )
    import jsonschema

    validator = jsonschema.Draft202012Validator(record_schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        loc = "/".join(str(p) for p in first.absolute_path) or "(top)"
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        raise LineageError(f"{where}: not a valid lineage record at {loc}: {first.message}{more}")
    if data["record_digest"] != record_digest(data):
        raise LineageError(
            f"{where}: record_digest does not match the record's content",
            hint="the record was edited or truncated; re-run datagate ingest",
        )
    if "run_digest" in data and data["run_digest"] != run_digest(data):
        raise LineageError(
            f"{where}: run_digest does not match the record's run block",
            hint="the run block (remote hashes, trust signals, times) was edited; re-run datagate ingest",
        )
    if "signatures" in data:
        from datagate.lineage.attest import signature_problems

        problems = signature_problems(data)
        if problems:
            raise LineageError(f"{where}: {problems[0]}", hint="the record was edited after it was signed")


@dataclass(frozen=True)
class ParentRef:
    """A dataset version this one was derived from."""

    name: str
    """The parent dataset's name."""
    root_digest: str
    """The parent's version id (``sha256:<hex>``)."""
    record_digest: str
    """The parent record's digest."""

    def to_dict(self) -> dict[str, str]:
        """Return the JSON form stored in a record's ``parents`` list."""
        return {"name": self.name, "root_digest": self.root_digest, "record_digest": self.record_digest}


@dataclass(frozen=True)
class LineageRecord:
    """A lineage record as stored: its JSON ``data`` plus convenient accessors."""

    data: Mapping[str, Any]
    """The record's JSON object (deterministic part, ``record_digest`` and ``run``)."""

    @property
    def name(self) -> str:
        """Return the dataset name."""
        return str(self.data["dataset"]["name"])

    @property
    def version(self) -> str:
        """Return the dataset version id (the root digest, ``sha256:<hex>``)."""
        return str(self.data["content"]["root_digest"])

    @property
    def root_digest(self) -> str:
        """Return the dataset version id (same as :attr:`version`)."""
        return self.version

    @property
    def source(self) -> Mapping[str, Any]:
        """Return the record's ``source`` block (kind, uri, requested/resolved revision)."""
        src: Mapping[str, Any] = self.data["source"]
        return src

    @property
    def digest(self) -> str:
        """Return the record digest."""
        return str(self.data["record_digest"])

    @property
    def passed(self) -> bool:
        """Return whether the gate passed for this version."""
        return bool(self.data["gate"]["passed"])

    @property
    def started_at(self) -> str:
        """Return the run's start time (ISO 8601, UTC)."""
        return str(self.data["run"]["started_at"])

    def to_json(self) -> str:
        """Return the stored text: sorted keys, two-space indent, trailing newline."""
        return json.dumps(self.data, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"

    def deterministic_json(self) -> str:
        """Return the canonical JSON of the deterministic part (what the digest covers)."""
        return canonical_json(deterministic_part(self.data))


def _scan_summary(scan: ScanReport | None, findings: Sequence[Finding]) -> dict[str, Any]:
    counts = {s: 0 for s in ("info", "low", "medium", "high", "critical")}
    waived = 0
    rules: set[str] = set()
    for f in findings:
        rules.add(f.rule)
        if f.waived is not None:
            waived += 1
        else:
            counts[f.severity.value] += 1
    return {
        "ran": scan is not None,
        "findings": counts,
        "waived": waived,
        "rules": sorted(rules),
        "skipped": len(scan.skipped) if scan is not None else 0,
        "files": scan.files if scan is not None else 0,
    }


def _check_summary(check: CheckReport | None) -> dict[str, Any]:
    if check is None:
        return {"ran": False, "status": {}, "label_column": None, "label_source": None}
    counts = {}
    for c in check.checks:
        n = c.observed.get("count") if isinstance(c.observed, Mapping) else None
        if isinstance(n, int) and not isinstance(n, bool):
            counts[c.id] = n
    return {
        "ran": True,
        "status": {c.id: c.status.value for c in check.checks},
        "label_column": check.label_column,
        "label_source": check.label_source,
        # observed.count per check (e.g. rows carrying a backdoor trigger, likely label errors)
        "counts": counts,
    }


def _split_schemas(check: CheckReport | None) -> dict[str, Any]:
    if check is None:
        return {}
    out: dict[str, Any] = {}
    for split, info in check.splits.items():
        info_d = jsonable(info)
        if isinstance(info_d, dict):
            entry = {k: info_d[k] for k in ("rows", "files") if k in info_d}
            schema = info_d.get("schema", info_d.get("columns"))
            if schema is not None:
                entry["schema"] = schema
            out[str(split)] = entry
        else:
            out[str(split)] = {}
    return out


def _label_counts(check: CheckReport | None, profile: Mapping[str, Any] | None) -> dict[str, Any]:
    """Per split, label -> count, from the profile or the label_distribution check's evidence."""
    candidates: list[Any] = []
    if profile is not None:
        splits = profile.get("splits")
        if isinstance(splits, Mapping) and any(
            isinstance(sp, Mapping) and sp.get("label_counts") for sp in splits.values()
        ):
            candidates.append(
                {name: sp.get("label_counts") or {} for name, sp in splits.items() if isinstance(sp, Mapping)}
            )
        for key in ("labels", "label_counts"):
            if key in profile:
                candidates.append(profile[key])
    if check is not None:
        for c in check.checks:
            if c.id == "label_distribution":
                for key in ("counts", "label_counts", "per_split"):
                    if key in c.observed:
                        candidates.append(c.observed[key])
    for cand in candidates:
        d = jsonable(cand)
        if isinstance(d, dict) and all(isinstance(v, dict) for v in d.values()):
            return {
                str(split): {str(k): int(v) for k, v in counts.items() if isinstance(v, (int, float))}
                for split, counts in d.items()
            }
    return {}


def build_record(
    *,
    name: str,
    source: SourceInfo,
    manifest: Manifest,
    manifest_path: str,
    manifest_sha256: str,
    scan: ScanReport | None,
    findings: Sequence[Finding],
    check: CheckReport | None,
    profile: Mapping[str, Any] | None,
    decision: GateDecision,
    parents: Sequence[ParentRef] = (),
    policy_sha256: str | None = None,
    baseline: str | None = None,
    run: Mapping[str, Any],
    authenticity: Mapping[str, Any] | None = None,
) -> LineageRecord:
    """Return the lineage record of one ingest, with its digest computed.

    ``findings`` are all findings (acquisition and scan) after waivers; ``profile`` is the check
    profile's ``to_dict()`` or None; ``baseline`` the root digest compared against, if any;
    ``run`` the run block; ``authenticity`` what the data's own signatures proved (signer, files).
    Raises
    UsageError for an unsafe ``name``.
    """
    validate_dataset_name(name)
    data: dict[str, Any] = {
        "schema": RECORD_SCHEMA_ID,
        "schema_version": RECORD_SCHEMA_VERSION,
        "dataset": {"name": name},
        "source": {
            "kind": source.kind,
            "uri": source.uri,
            "requested_revision": source.requested_revision,
            "resolved_revision": source.resolved_revision,
        },
        "content": {
            "root_digest": manifest.root_digest,
            "files": len(manifest.files),
            "bytes": manifest.total_bytes,
            "symlinks": len(manifest.entries) - len(manifest.files),
            "manifest": {"path": manifest_path, "sha256": manifest_sha256},
            "dvc_md5": manifest.dvc_md5,
        },
        "scan": _scan_summary(scan, findings),
        "checks": _check_summary(check),
        "gate": {
            "passed": decision.passed,
            "threshold": decision.threshold.value,
            "blocking_findings": len(decision.blocking_findings),
            "blocking_checks": len(decision.blocking_checks),
            "reasons": list(decision.reasons),
        },
        "data": {"splits": _split_schemas(check), "labels": _label_counts(check, profile)},
        "baseline": baseline,
        "parents": [p.to_dict() for p in sorted(parents, key=lambda p: (p.name, p.root_digest))],
        "policy": {"sha256": policy_sha256},
    }
    if authenticity is not None:  # signatures shipped with the data, checked against the policy
        data["authenticity"] = dict(authenticity)
    data = jsonable(data)
    data["record_digest"] = record_digest(data)
    data["run"] = jsonable(dict(run))
    data["run_digest"] = run_digest(data)
    return LineageRecord(data)
