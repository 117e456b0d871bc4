"""Shared, frozen result types passed between datagate's stages.

Every stage takes the previous stage's typed result and returns its own. Nothing is dropped
silently: what could not be read or was not inspected is a :class:`Skip` with a reason.

>>> Severity.parse("high") >= Severity.MEDIUM
True
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NewType

__all__ = [
    "CheckReport",
    "CheckResult",
    "CheckStatus",
    "EntryKind",
    "FileEntry",
    "Finding",
    "GateDecision",
    "Manifest",
    "RuleId",
    "ScanReport",
    "Severity",
    "Skip",
]

RuleId = NewType("RuleId", str)
"""A stable, dotted rule identifier such as ``pickle.global.unsafe`` or ``executable.elf``."""


class Severity(enum.Enum):
    """How bad a finding or failed check is. Ordered: info < low < medium < high < critical."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """Return the position of this severity in the order, 0 for info."""
        return _SEVERITY_ORDER.index(self)

    @classmethod
    def parse(cls, text: str) -> Severity:
        """Return the severity named ``text`` (case-insensitive).

        Raises ValueError naming the accepted values when ``text`` is not one of them.
        """
        try:
            return cls(text.strip().lower())
        except ValueError:
            allowed = ", ".join(s.value for s in _SEVERITY_ORDER)
            raise ValueError(f"unknown severity {text!r} (expected one of: {allowed})") from None

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank <= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank > other.rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank >= other.rank


_SEVERITY_ORDER = (Severity.INFO, Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL)


class EntryKind(enum.Enum):
    """What a manifest entry is. Symlinks are recorded with their target and never read through."""

    FILE = "file"
    SYMLINK = "symlink"


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One entry of a manifest: a regular file or a symlink, by its path relative to the root."""

    path: str
    """Path relative to the root, POSIX separators, valid UTF-8."""
    kind: EntryKind
    """Regular file or symlink."""
    size: int
    """Size in bytes (for a symlink, the length of its target string)."""
    mode: int
    """Permission bits (``st_mode & 0o7777``)."""
    sha256: str | None
    """Lower-case hex SHA-256 of the content; None for a symlink."""
    md5: str | None = None
    """Lower-case hex MD5, only computed to match DVC ids (``--dvc``)."""
    target: str | None = None
    """The symlink's target as stored in the link; None for a regular file."""

    @property
    def executable(self) -> bool:
        """Return True when any execute bit is set on a regular file."""
        return self.kind is EntryKind.FILE and bool(self.mode & 0o111)


@dataclass(frozen=True, slots=True)
class Manifest:
    """The inventory of a tree: its entries sorted by path bytes and its version id."""

    entries: tuple[FileEntry, ...]
    """Every regular file and symlink, sorted by the UTF-8 bytes of their paths."""
    root_digest: str
    """``sha256:<hex>``: the in-toto dirHash over the regular files (see DESIGN.md)."""
    dvc_md5: str | None = None
    """DVC's ``<md5>.dir`` id of the tree when computed with ``--dvc``, else None."""
    unlisted: tuple[tuple[str, str], ...] = ()
    """Names left out because they cannot be manifest lines (not UTF-8, a line break), as
    ``(escaped relative path, problem)``; only when the inventory was asked to skip them (scan)."""

    @property
    def files(self) -> tuple[FileEntry, ...]:
        """Return the regular-file entries."""
        return tuple(e for e in self.entries if e.kind is EntryKind.FILE)

    @property
    def total_bytes(self) -> int:
        """Return the total size of the regular files."""
        return sum(e.size for e in self.entries if e.kind is EntryKind.FILE)

    def by_path(self) -> dict[str, FileEntry]:
        """Return a mapping of relative path to entry."""
        return {e.path: e for e in self.entries}


@dataclass(frozen=True)
class Finding:
    """Something in the dataset that can execute, hides content, or breaks trust."""

    path: str
    """The outer file, relative to the scanned root, POSIX separators."""
    rule: str
    """Stable dotted rule id, e.g. ``pickle.global.unsafe``; its first part is the family."""
    category: str
    """Hazard family: pickle, container, executable, script, notebook, repo, integrity, trust."""
    severity: Severity
    """How bad it is."""
    message: str
    """One sentence a person can act on."""
    member: str | None = None
    """For content inside a container, the chain of member names joined by ``/``; else None."""
    evidence: Mapping[str, Any] = field(default_factory=dict)
    """JSON-serialisable facts backing the finding (globals seen, offsets, magic, ...)."""
    waived: str | None = None
    """The waiver's reason when a policy waiver covers this finding; else None."""


@dataclass(frozen=True, slots=True)
class Skip:
    """Something that was not inspected, with the reason. Skips are always reported."""

    path: str
    """The outer file, relative to the scanned root."""
    reason: str
    """Why it was not inspected."""
    member: str | None = None
    """The member chain inside a container, if the skip is about a member."""


@dataclass(frozen=True)
class ScanReport:
    """The result of scanning a tree or a single file."""

    target: str
    """What was scanned, as the user named it."""
    root_digest: str
    """The manifest's dirHash of what was scanned."""
    findings: tuple[Finding, ...]
    """Every finding, waived or not, sorted by path, member, rule."""
    skipped: tuple[Skip, ...]
    """Everything that was not inspected, with reasons."""
    files: int
    """Number of regular files scanned."""
    bytes: int
    """Total bytes of the regular files scanned."""
    content_types: Mapping[str, int] = field(default_factory=dict)
    """Regular files per sniffed content type (MIME-style, e.g. ``application/x-matlab-data``)."""

    def counts(self) -> dict[str, int]:
        """Return the number of unwaived findings per severity name, every severity present."""
        out = {s.value: 0 for s in _SEVERITY_ORDER}
        for f in self.findings:
            if f.waived is None:
                out[f.severity.value] += 1
        return out


class CheckStatus(enum.Enum):
    """Outcome of one check."""

    PASS = "pass"  # noqa: S105 - a check status, not a password
    WARN = "warn"
    FAIL = "fail"
    ERROR = "error"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class CheckResult:
    """One data-quality check's outcome; ``id`` is stable (``schema``, ``gx.<suite>`` ...)."""

    id: str
    """Stable check id, see DESIGN.md."""
    status: CheckStatus
    """pass, warn, fail, error or skipped."""
    severity: Severity
    """The severity this result carries into the gate (fail: the check's severity)."""
    message: str
    """One sentence naming the columns, splits or files concerned."""
    observed: Mapping[str, Any] = field(default_factory=dict)
    """Counts (``count``), row evidence (``rows``, ``pairs``) and statistics; JSON-serialisable."""


@dataclass(frozen=True)
class CheckReport:
    """The result of checking a dataset."""

    dataset: str
    """What was checked, as the user named it."""
    checks: tuple[CheckResult, ...]
    """One entry per check, in run order."""
    splits: Mapping[str, Any] = field(default_factory=dict)
    """Per split: files, rows, schema; JSON-serialisable."""
    label_column: str | None = None
    """The label column used, or None when there is none."""
    label_source: str | None = None
    """How the label column was chosen: ``--label``, ``ClassLabel``, ``name``."""


@dataclass(frozen=True)
class GateDecision:
    """Pass or fail, with the findings and checks that decided it."""

    passed: bool
    """True when nothing blocking remains."""
    threshold: Severity
    """Findings and failed checks at or above this severity block."""
    blocking_findings: tuple[Finding, ...] = ()
    """Unwaived findings at or above the threshold."""
    blocking_checks: tuple[CheckResult, ...] = ()
    """Failed or errored checks at or above the threshold."""
    reasons: tuple[str, ...] = ()
    """Human-readable reasons (policy rules that fired)."""
    policy: str | None = None
    """Where the policy came from (``datagate.yaml``, ``pyproject.toml [tool.datagate]``, a
    ``--policy`` path), or None for the built-in defaults."""

    @property
    def exit_code(self) -> int:
        """Return 0 when passed, 1 when the gate failed."""
        return 0 if self.passed else 1
