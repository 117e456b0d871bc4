"""The policy file: gate threshold, waivers, per-check settings and trust rules.

Parsed in two steps (STYLE.md 6): YAML -> a lenient :class:`RawPolicy`, then
:meth:`Policy.from_raw`, which collects **every** problem and raises one
:class:`~datagate.errors.ConfigError` listing them all.

A minimal policy::

    version: 1
    fail_on: high            # info | low | medium | high | critical
    waivers:
      - path: raw/legacy_model.pkl
        sha256: 3f5a...      # the bytes that were reviewed; a changed file is no longer waived
        rule: pickle.*       # optional fnmatch pattern on rule ids (default: every rule)
        reason: reviewed by data-platform, only numpy reconstructors
    checks:
      duplicates.within_split: {severity: medium, threshold: 0.01}
      near_duplicates.cross_split: {enabled: false}
    trust:
      allowed_licenses: [mit, apache-2.0, cc-by-4.0]
      min_downloads: 100
      require_signature: true          # a *.sig / *.sigstore.json must verify against a signer
      signers:
        - public_key: keys/publisher.pub          # relative to this file
        - certificate_chain: [keys/ca.crt]
        - identity: data-team@example.com        # keyless Sigstore (needs the network)
          issuer: https://accounts.google.com
    signing:
      key: keys/datagate.pem           # ingest signs its records (like --sign-key)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

from datagate.errors import ConfigError
from datagate.models import Severity

__all__ = [
    "POLICY_FILE_NAMES",
    "STARTER_POLICY",
    "Policy",
    "RawPolicy",
    "Waiver",
    "discover_policy",
    "load_policy",
    "policy_schema",
    "schema_problems",
]

SCHEMA_RESOURCE = "schemas/policy.schema.json"
"""The JSON Schema every policy is validated against (shipped in the package, usable by editors)."""

_KNOWN_KEYS = {"version", "fail_on", "waivers", "checks", "trust", "scan", "signing"}
_SIGNING_KEYS = {"key", "password_env"}
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


_SCHEMA: dict[str, Any] = {}


def policy_schema() -> dict[str, Any]:
    """Return the policy JSON Schema (``datagate/schemas/policy.schema.json``), loaded once."""
    if not _SCHEMA:
        import json
        from importlib.resources import files

        _SCHEMA.update(json.loads(files("datagate").joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8")))
    return _SCHEMA


def _json_path(parts: Any) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _unexpected(err: Any) -> list[str]:
    """The keys an additionalProperties/unevaluatedProperties error rejects."""
    schema = err.schema
    patterns = list(schema.get("patternProperties", {}))
    allowed = set(schema.get("properties", {}))
    if err.validator == "unevaluatedProperties":
        allowed |= set(policy_schema()["$defs"]["check"]["properties"])
    return [k for k in err.instance if k not in allowed and not any(re.search(p, str(k)) for p in patterns)]


def _schema_message(err: Any) -> list[str]:
    """One line per problem of a jsonschema error, each starting with the policy path."""
    at = _json_path(err.absolute_path)
    prefix = f"{at}: " if at else ""
    if err.validator in ("additionalProperties", "unevaluatedProperties") and isinstance(err.instance, Mapping):
        known = list(err.schema.get("properties", {}))
        if err.validator == "unevaluatedProperties":
            known = [*policy_schema()["$defs"]["check"]["properties"], *known]
        known += [p.strip("^$").replace("\\.", ".").replace(".+", "<name>") for p in err.schema.get("patternProperties", {})]
        what = "unknown check id" if at == "checks" else "unknown key"
        return [f"{_json_path([*err.absolute_path, k])}: {what} (known: {', '.join(known)})" for k in _unexpected(err)]
    if err.validator == "pattern":
        pattern = str(err.validator_value)
        if "(?i:" in pattern:
            names = pattern.split("(?i:")[1].split(")")[0].replace("|", ", ")
            return [f"{prefix}{err.instance!r} is not one of {names}"]
        if "0-9a-fA-F]{64}" in pattern:
            return [f"{prefix}{err.instance!r} is not a SHA-256 (64 hex digits)"]
        if pattern == "\\S":
            return [f"{prefix}must not be empty"]
    if err.validator == "minLength":
        return [f"{prefix}must not be empty"]
    return [f"{prefix}{err.message}"]


def schema_problems(raw: Any) -> list[str]:
    """Return every way ``raw`` breaks the policy schema, one line each, ordered by path."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(policy_schema())
    errors = sorted(validator.iter_errors(raw), key=lambda e: (_json_path(e.absolute_path), e.message))
    out: list[str] = []
    for err in errors:
        for line in _schema_message(err):
            if line not in out:
                out.append(line)
    return out


class RawPolicy(TypedDict, total=False):
    """The policy file as YAML gives it, before validation."""

    version: int
    fail_on: str
    waivers: list[dict[str, Any]]
    checks: dict[str, dict[str, Any]]
    trust: dict[str, Any]
    scan: dict[str, Any]
    signing: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Waiver:
    """A reviewed finding: waived only while the file still has the reviewed SHA-256."""

    path: str
    """The outer file, relative to the dataset root."""
    sha256: str
    """The SHA-256 of the file as reviewed."""
    reason: str
    """Why it is acceptable; shown next to every waived finding."""
    rule: str = "*"
    """fnmatch pattern on rule ids this waiver covers."""


@dataclass(frozen=True)
class Policy:
    """A validated policy. ``Policy()`` is the default policy."""

    fail_on: Severity = Severity.HIGH
    """Findings and failed checks at or above this severity fail the gate."""
    waivers: tuple[Waiver, ...] = ()
    """Reviewed findings, pinned to file digests."""
    checks: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Per check id: overrides such as ``severity``, ``threshold``, ``enabled``."""
    trust: Mapping[str, Any] = field(default_factory=dict)
    """Trust rules for Hub sources (licenses, downloads, owners, look-alikes)."""
    scan: Mapping[str, Any] = field(default_factory=dict)
    """Scanner settings (``strict``, limits)."""
    source: str | None = None
    """The file this policy was read from, None for the defaults."""
    signing: Mapping[str, Any] = field(default_factory=dict)
    """How ingest signs its records: ``key`` (EC private key PEM, relative to the policy file)
    and optionally ``password_env`` (the environment variable holding the key's password)."""

    @classmethod
    def from_raw(cls, raw: Mapping[str, Any], *, source: str | None = None) -> Policy:
        """Validate ``raw``; raise ConfigError listing every problem found."""
        where = source or "policy"
        # The schema is the contract (unknown keys, types, ranges, in every section); the checks
        # below only turn a valid mapping into typed values and stay as a safety net.
        invalid = schema_problems(raw)
        if invalid:
            raise ConfigError(f"{where}: {len(invalid)} problem(s): {'; '.join(invalid)}")
        problems: list[str] = []
        for key in raw:
            if key not in _KNOWN_KEYS:
                problems.append(f"unknown key {key!r} (known: {', '.join(sorted(_KNOWN_KEYS))})")
        version = raw.get("version", 1)
        if version != 1:
            problems.append(f"version {version!r} is not supported (this datagate reads version 1)")
        fail_on = Severity.HIGH
        if "fail_on" in raw:
            try:
                fail_on = Severity.parse(str(raw["fail_on"]))
            except ValueError as exc:
                problems.append(f"fail_on: {exc}")
        waivers: list[Waiver] = []
        raw_waivers = raw.get("waivers") or []
        if not isinstance(raw_waivers, list):
            problems.append("waivers: must be a list")
            raw_waivers = []
        for i, w in enumerate(raw_waivers):
            if not isinstance(w, Mapping):
                problems.append(f"waivers[{i}]: must be a mapping with path, sha256, reason")
                continue
            missing = [k for k in ("path", "sha256", "reason") if not w.get(k)]
            if missing:
                problems.append(f"waivers[{i}]: missing {', '.join(missing)}")
                continue
            sha = str(w["sha256"]).lower().removeprefix("sha256:")
            if not _HEX64.match(sha):
                problems.append(f"waivers[{i}]: sha256 {w['sha256']!r} is not 64 hex digits")
                continue
            extra = set(w) - {"path", "sha256", "reason", "rule"}
            if extra:
                problems.append(f"waivers[{i}]: unknown keys {sorted(extra)}")
            waivers.append(Waiver(str(w["path"]), sha, str(w["reason"]), str(w.get("rule", "*"))))
        checks = raw.get("checks") or {}
        if not isinstance(checks, Mapping):
            problems.append("checks: must be a mapping of check id to settings")
            checks = {}
        for cid, settings in checks.items():
            if not isinstance(settings, Mapping):
                problems.append(f"checks.{cid}: must be a mapping")
                continue
            if "severity" in settings:
                try:
                    Severity.parse(str(settings["severity"]))
                except ValueError as exc:
                    problems.append(f"checks.{cid}.severity: {exc}")
            if "enabled" in settings and not isinstance(settings["enabled"], bool):
                problems.append(f"checks.{cid}.enabled: must be true or false")
            if "threshold" in settings and not isinstance(settings["threshold"], (int, float)):
                problems.append(f"checks.{cid}.threshold: must be a number")
        trust = raw.get("trust") or {}
        if not isinstance(trust, Mapping):
            problems.append("trust: must be a mapping")
            trust = {}
        scan = raw.get("scan") or {}
        if not isinstance(scan, Mapping):
            problems.append("scan: must be a mapping")
            scan = {}
        signing = raw.get("signing") or {}
        if not isinstance(signing, Mapping):
            problems.append("signing: must be a mapping with key (and password_env)")
            signing = {}
        for key in sorted(set(signing) - _SIGNING_KEYS):
            problems.append(f"signing.{key}: unknown key (known: {', '.join(sorted(_SIGNING_KEYS))})")
        for key in _SIGNING_KEYS & set(signing):
            if not isinstance(signing[key], str) or not signing[key].strip():
                problems.append(f"signing.{key}: must be a non-empty string")
        if problems:
            listed = "; ".join(problems)
            raise ConfigError(f"{where}: {len(problems)} problem(s): {listed}")
        return cls(fail_on, tuple(waivers), dict(checks), dict(trust), dict(scan), source, dict(signing))

    def check_settings(self, check_id: str) -> Mapping[str, Any]:
        """Return the overrides for ``check_id`` (empty when none)."""
        return self.checks.get(check_id, {})


POLICY_FILE_NAMES = ("datagate.yaml", "datagate.yml")
"""Policy files found in the current folder when no ``--policy`` is given (then
``pyproject.toml``'s ``[tool.datagate]`` table)."""


def discover_policy(folder: Path | str = ".") -> Policy | None:
    """Return the policy found in ``folder``: ``datagate.yaml`` (or ``.yml``), else the
    ``[tool.datagate]`` table of ``pyproject.toml``; None when there is neither.

    Raises ConfigError (naming the file) when the one found is invalid; a ``pyproject.toml``
    that is not TOML is an error only when it mentions ``[tool.datagate]``.
    """
    base = Path(folder)
    for name in POLICY_FILE_NAMES:
        if (base / name).is_file():
            return load_policy(base / name if str(folder) != "." else Path(name))
    pyproject = base / "pyproject.toml"
    if not pyproject.is_file():
        return None
    try:
        text = pyproject.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if "tool.datagate" not in text and "[tool]" not in text:
        return None
    try:
        import tomllib
    except ModuleNotFoundError:  # pragma: no cover - Python 3.10
        return None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        if "tool.datagate" in text:
            raise ConfigError(f"{pyproject}: not valid TOML ({exc})") from exc
        return None
    table = doc.get("tool", {}).get("datagate") if isinstance(doc.get("tool"), dict) else None
    if table is None:
        return None
    if not isinstance(table, Mapping):
        raise ConfigError(f"{pyproject}: [tool.datagate] must be a table")
    shown = "pyproject.toml" if str(folder) == "." else str(pyproject)
    return Policy.from_raw(table, source=f"{shown} [tool.datagate]")


def load_policy(path: Path | str | None) -> Policy:
    """Return the policy in the YAML file ``path``; when None, the one :func:`discover_policy`
    finds in the current folder (``./datagate.yaml``, then ``pyproject.toml``
    ``[tool.datagate]``), else the default policy. ``policy.source`` says which.

    Raises ConfigError naming the file for a missing or unreadable file, invalid YAML, or any
    invalid setting (all problems listed together).
    """
    if path is None:
        return discover_policy() or Policy()
    import yaml

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: policy file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read policy ({exc})") from exc
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{p}{at}: policy is not valid YAML") from exc
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{p}: policy must be a YAML mapping, not {type(raw).__name__}")
    return Policy.from_raw(raw, source=str(p))


STARTER_POLICY = """\
# datagate policy. Every key is optional; delete what you do not need.
version: 1

# Findings and failed checks at or above this severity fail the gate (exit 1).
# One of: info, low, medium, high, critical.
fail_on: high

# Reviewed findings. A waiver holds only while the file has the reviewed SHA-256
# (see `datagate hash`); when the file changes, the finding blocks again.
waivers: []
#  - path: raw/legacy_model.pkl
#    sha256: 0000000000000000000000000000000000000000000000000000000000000000
#    rule: "pickle.*"          # optional fnmatch pattern on rule ids
#    reason: "reviewed 2026-11-21: numpy reconstructors only"

# Per-check settings: severity (what a failure weighs), threshold, enabled.
checks: {}
#  duplicates.within_split: {severity: medium, threshold: 0.01}
#  near_duplicates.cross_split: {threshold: 0.9}
#  label_drift: {threshold: 0.1}
#  outliers: {enabled: false}

# Trust rules for Hub datasets (hf://datasets/OWNER/NAME).
trust: {}
#  allowed_licenses: [mit, apache-2.0, cc-by-4.0, cc-by-sa-4.0, cc0-1.0]
#  min_downloads: 100
#  blocked_owners: []
#  allowed_owners: []

# Scanner settings.
scan: {}
#  strict: true   # report unrecognised content and unaudited globals one level higher
"""
"""The commented starter policy ``datagate init`` writes."""
