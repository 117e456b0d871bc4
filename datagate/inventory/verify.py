"""Re-hash a tree (bypassing the stat cache) and compare it with a recorded manifest."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

from datagate.inventory.manifest import build_manifest, read_manifest
from datagate.models import EntryKind, FileEntry, Manifest
from datagate.progress import NULL_PROGRESS, ProgressSink

__all__ = ["Change", "Difference", "VerifyResult", "compare", "verify"]


class Change(enum.Enum):
    """How one path differs from the manifest."""

    ADDED = "added"
    REMOVED = "removed"
    CONTENT = "content"
    MODE = "mode"
    TARGET = "target"
    KIND = "kind"


@dataclass(frozen=True, slots=True)
class Difference:
    """One difference between the manifest and the tree."""

    path: str
    """Relative path."""
    change: Change
    """What changed."""
    expected: str | None
    """The recorded value (digest, mode, target or kind), None for added paths."""
    actual: str | None
    """The value found now, None for removed paths."""


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of verifying a tree against a manifest."""

    target: str
    """The tree as the user named it."""
    manifest_path: str
    """The manifest file compared against."""
    expected_digest: str
    """The manifest's root digest."""
    actual_digest: str
    """The tree's root digest now."""
    differences: tuple[Difference, ...]
    """Every difference, sorted by path then change."""

    @property
    def matches(self) -> bool:
        """Return True when nothing differs."""
        return not self.differences


def _describe(e: FileEntry) -> str:
    return e.kind.value


def compare(expected: Manifest, actual: Manifest) -> tuple[Difference, ...]:
    """Return every difference between two manifests, sorted by path then kind of change."""
    exp, act = expected.by_path(), actual.by_path()
    diffs: list[Difference] = []
    for path in exp.keys() - act.keys():
        e = exp[path]
        diffs.append(Difference(path, Change.REMOVED, e.sha256 or e.target, None))
    for path in act.keys() - exp.keys():
        a = act[path]
        diffs.append(Difference(path, Change.ADDED, None, a.sha256 or a.target))
    for path in exp.keys() & act.keys():
        e, a = exp[path], act[path]
        if e.kind is not a.kind:
            diffs.append(Difference(path, Change.KIND, _describe(e), _describe(a)))
            continue
        if e.kind is EntryKind.FILE:
            if e.sha256 != a.sha256 or e.size != a.size:
                diffs.append(Difference(path, Change.CONTENT, e.sha256, a.sha256))
            if e.mode != a.mode:
                diffs.append(Difference(path, Change.MODE, f"{e.mode:04o}", f"{a.mode:04o}"))
        elif e.target != a.target:
            diffs.append(Difference(path, Change.TARGET, e.target, a.target))
    order = list(Change)
    diffs.sort(key=lambda d: (d.path.encode("utf-8"), order.index(d.change)))
    return tuple(diffs)


def verify(
    path: Path | str, manifest: Path | str, *, progress: ProgressSink = NULL_PROGRESS
) -> VerifyResult:
    """Re-hash ``path`` without the stat cache and compare it with the manifest file.

    Raises ManifestError for a bad manifest and InventoryError for an unreadable tree.
    """
    recorded = read_manifest(Path(manifest))
    need_md5 = any(e.md5 for e in recorded.entries)
    current, _ = build_manifest(Path(path), dvc=need_md5, use_cache=False, progress=progress)
    return VerifyResult(
        str(path), str(manifest), recorded.root_digest, current.root_digest, compare(recorded, current)
    )
