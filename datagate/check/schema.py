"""``schema``: missing, added, renamed-looking and retyped columns (default fail).

Compared: each split with the baseline's same split (or the baseline's first split), each later
split with this dataset's first split, and the columns any ``--suite`` names. Types compare by
family (int, float, string, binary, bool, ...), so int32 vs int64 is not a change and an
all-null column matches any type. A missing and an added column of the same family are one
*renamed-looking* change when their names are similar (difflib ratio >= ``rename_similarity``,
default :data:`RENAME_SIMILARITY`) or when they are the only missing/added pair of that family.
``observed.count`` is the number of distinct changes; each is named in the message.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from datagate.check.interface import CheckSettings, fired, passed, settings_for
from datagate.check.profile import Profile, _family_of_name
from datagate.models import CheckResult, Severity

__all__ = ["DEFAULTS", "RENAME_SIMILARITY", "SchemaChange", "diff_columns", "evaluate", "settings"]

RENAME_SIMILARITY = 0.6
"""Name similarity (difflib ratio) from which a missing + added column pair looks renamed."""

DEFAULTS: Mapping[str, Any] = {"threshold": 0, "rename_similarity": RENAME_SIMILARITY}
"""``threshold``: changes tolerated (default 0); ``rename_similarity``: see above."""


def settings(policy: Any) -> CheckSettings:
    """Return the effective settings of ``schema`` (default severity high)."""
    return settings_for(policy, "schema", Severity.HIGH, DEFAULTS)


@dataclass(frozen=True)
class SchemaChange:
    """One column change."""

    kind: str
    """missing, added, renamed or retyped."""
    column: str
    """The column (for renamed: the new name)."""
    against: str
    """What it was compared with: ``baseline``, ``split train``, ``suite NAME``."""
    detail: str = ""
    """Old name for renamed; ``old -> new`` types for retyped."""

    def describe(self) -> str:
        """Return a short phrase naming the change."""
        if self.kind == "renamed":
            return f"{self.detail!r} renamed to {self.column!r}?"
        if self.kind == "retyped":
            return f"{self.column!r} retyped {self.detail}"
        return f"{self.column!r} {self.kind}"

    def to_dict(self) -> dict[str, str]:
        """Return a JSON-serialisable dict."""
        return {"kind": self.kind, "column": self.column, "against": self.against, "detail": self.detail}


def _fam(t: str | None) -> str | None:
    return None if t is None else _family_of_name(t)


def diff_columns(
    old: Mapping[str, str | None], new: Mapping[str, str | None], against: str, similarity: float
) -> list[SchemaChange]:
    """Return the changes from ``old`` to ``new`` (column -> type name, None when unknown)."""
    missing = [c for c in old if c not in new]
    added = [c for c in new if c not in old]
    changes: list[SchemaChange] = []
    for c in old:
        if c in new:
            a, b = _fam(old[c]), _fam(new[c])
            if a is not None and b is not None and a != b and "null" not in (a, b):
                changes.append(SchemaChange("retyped", c, against, f"{old[c]} -> {new[c]}"))
    used_added: set[str] = set()
    used_missing: set[str] = set()
    families = {_fam(old[m]) for m in missing} | {_fam(new[a]) for a in added}
    for fam in families:
        ms = [m for m in missing if _fam(old[m]) == fam]
        ads = [a for a in added if _fam(new[a]) == fam]
        if len(ms) == 1 and len(ads) == 1 and fam is not None:
            changes.append(SchemaChange("renamed", ads[0], against, ms[0]))
            used_missing.add(ms[0])
            used_added.add(ads[0])
            continue
        scored = sorted(
            ((difflib.SequenceMatcher(None, m.lower(), a.lower()).ratio(), m, a) for m in ms for a in ads),
            reverse=True,
        )
        for ratio, m, a in scored:
            if ratio < similarity or m in used_missing or a in used_added:
                continue
            changes.append(SchemaChange("renamed", a, against, m))
            used_missing.add(m)
            used_added.add(a)
    changes += [SchemaChange("missing", m, against) for m in missing if m not in used_missing]
    changes += [SchemaChange("added", a, against) for a in added if a not in used_added]
    order = {"missing": 0, "added": 1, "renamed": 2, "retyped": 3}
    return sorted(changes, key=lambda ch: (order[ch.kind], ch.column))


def evaluate(
    settings: CheckSettings,
    profile: Profile,
    baseline: Profile | None,
    suites: Sequence[tuple[str, Sequence[str]]] = (),
) -> CheckResult:
    """Return the ``schema`` result for ``profile`` against ``baseline``, its own first split and
    the columns each ``(suite name, columns)`` requires."""
    sim = settings.num("rename_similarity")
    current = {s: {c: st.type for c, st in sp.columns.items()} for s, sp in profile.splits.items()}
    changes: list[SchemaChange] = []
    if baseline is not None and baseline.splits:
        first_base = next(iter(baseline.splits.values()))
        for split, cols in current.items():
            ref_split = baseline.splits.get(split, first_base)
            ref: dict[str, str | None] = {c: st.type for c, st in ref_split.columns.items()}
            changes += diff_columns(ref, dict(cols), "baseline", sim)
    names = list(current)
    if names:
        first = current[names[0]]
        for split in names[1:]:
            for ch in diff_columns(dict(first), dict(current[split]), f"split {names[0]}", sim):
                changes.append(SchemaChange(ch.kind, ch.column, f"split {split} vs {names[0]}", ch.detail))
    all_cols = set().union(*[set(c) for c in current.values()]) if current else set()
    for suite, required in suites:
        for col in required:
            if col not in all_cols:
                changes.append(SchemaChange("missing", col, f"suite {suite}"))
    uniq: list[SchemaChange] = []
    seen: set[tuple[str, str, str]] = set()
    for ch in changes:
        key = (ch.kind, ch.column, ch.detail)
        if key not in seen:
            seen.add(key)
            uniq.append(ch)
    observed: dict[str, Any] = {
        "count": len(uniq),
        "changes": [c.to_dict() for c in uniq],
        "columns": {s: dict(c) for s, c in current.items()},
    }
    if len(uniq) <= settings.num("threshold"):
        against = ["its splits"] + (["the baseline"] if baseline is not None else []) + [f"suite {s}" for s, _ in suites]
        return passed(settings.id, f"schema consistent with {', '.join(against)}", observed)
    return fired(settings, "schema changed: " + "; ".join(f"{c.describe()} (vs {c.against})" for c in uniq), observed)
