"""Compare two stored versions: files added/removed/changed, schema and label-count deltas."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from datagate.lineage.record import LineageRecord
from datagate.lineage.store import Store

__all__ = ["VersionDiff", "diff_versions"]


@dataclass(frozen=True)
class VersionDiff:
    """The differences between an old and a new version (JSON-ready via :meth:`to_dict`)."""

    old: LineageRecord
    """The first version given."""
    new: LineageRecord
    """The second version given."""
    added: tuple[str, ...]
    """Paths only in the new version."""
    removed: tuple[str, ...]
    """Paths only in the old version."""
    changed: tuple[str, ...]
    """Paths in both whose content, mode, kind or symlink target differ."""
    schema: Mapping[str, Mapping[str, Any]]
    """Per split: ``added``/``removed`` columns and ``retyped`` {column: [old, new]}; splits
    present on one side only appear as ``{"split": "added"|"removed"}``."""
    labels: Mapping[str, Mapping[str, list[int]]]
    """Per split, per label whose count changed: ``[old, new]``."""

    @property
    def same_content(self) -> bool:
        """Return True when both versions hold the same bytes."""
        return self.old.version == self.new.version

    def to_dict(self) -> dict[str, Any]:
        """Return the diff as plain JSON types."""
        return {
            "old": {"name": self.old.name, "version": self.old.version, "record_digest": self.old.digest},
            "new": {"name": self.new.name, "version": self.new.version, "record_digest": self.new.digest},
            "files": {"added": list(self.added), "removed": list(self.removed), "changed": list(self.changed)},
            "schema": {k: dict(v) for k, v in self.schema.items()},
            "labels": {k: dict(v) for k, v in self.labels.items()},
        }


def _columns(schema: Any) -> dict[str, str]:
    if isinstance(schema, Mapping):
        fields = schema.get("fields")
        if isinstance(fields, list):
            schema = fields
        else:
            return {str(k): str(v) for k, v in schema.items()}
    out: dict[str, str] = {}
    if isinstance(schema, list):
        for col in schema:
            if isinstance(col, Mapping) and "name" in col:
                out[str(col["name"])] = str(col.get("type", ""))
            elif isinstance(col, (list, tuple)) and len(col) == 2:
                out[str(col[0])] = str(col[1])
    return out


def _schema_delta(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for split in sorted(set(old) | set(new)):
        if split not in old:
            out[split] = {"split": "added"}
            continue
        if split not in new:
            out[split] = {"split": "removed"}
            continue
        a = _columns(old[split].get("schema") if isinstance(old[split], Mapping) else None)
        b = _columns(new[split].get("schema") if isinstance(new[split], Mapping) else None)
        delta: dict[str, Any] = {}
        if set(b) - set(a):
            delta["added"] = sorted(set(b) - set(a))
        if set(a) - set(b):
            delta["removed"] = sorted(set(a) - set(b))
        retyped = {c: [a[c], b[c]] for c in sorted(set(a) & set(b)) if a[c] != b[c]}
        if retyped:
            delta["retyped"] = retyped
        if delta:
            out[split] = delta
    return out


def _label_delta(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, dict[str, list[int]]]:
    out: dict[str, dict[str, list[int]]] = {}
    for split in sorted(set(old) | set(new)):
        a = old.get(split) or {}
        b = new.get(split) or {}
        delta = {
            str(lbl): [int(a.get(lbl, 0)), int(b.get(lbl, 0))]
            for lbl in sorted(set(a) | set(b))
            if int(a.get(lbl, 0)) != int(b.get(lbl, 0))
        }
        if delta:
            out[split] = delta
    return out


def diff_versions(store: Store, old_ref: str, new_ref: str) -> VersionDiff:
    """Return the differences from version ``old_ref`` to ``new_ref`` (refs as :meth:`Store.resolve`).

    Raises LineageError when a version is unknown or ambiguous, or its manifest is missing or
    does not match its record.
    """
    from datagate.inventory import compare

    old, new = store.resolve(old_ref), store.resolve(new_ref)
    diffs = compare(store.manifest(old), store.manifest(new))
    added, removed, changed = [], [], []
    for d in diffs:
        kind = getattr(d.change, "value", str(d.change))
        if kind == "added":
            added.append(d.path)
        elif kind == "removed":
            removed.append(d.path)
        else:
            changed.append(d.path)
    return VersionDiff(
        old=old,
        new=new,
        added=tuple(sorted(set(added))),
        removed=tuple(sorted(set(removed))),
        changed=tuple(sorted(set(changed))),
        schema=_schema_delta(old.data["data"]["splits"], new.data["data"]["splits"]),
        labels=_label_delta(old.data["data"]["labels"], new.data["data"]["labels"]),
    )
