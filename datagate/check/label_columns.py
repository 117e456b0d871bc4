"""Which column is the label, and what the label checks say when there is none.

>>> "species" in LABEL_NAMES and "y" in LABEL_NAMES
True
>>> [r.status.value for r in label_absence((skipped("label_drift", "no label column"),), None, no_label=False)]
['warn']

Label resolution, in order: ``--label``; a ClassLabel feature (the dataset's metadata, the card, or
the ``huggingface`` feature metadata that ``datasets`` writes into parquet and Arrow schemas);
else the first column whose lower-cased name is in :data:`LABEL_NAMES`. When none is found and
the user named none, the label checks (``label_distribution``, ``label_drift``,
``conflicting_labels``) are ``warn`` with "no label column: pass --label or --no-label", so a
dataset whose label went unrecognised never passes silently; ``--no-label`` makes them an
explicit ``skipped``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from datagate.check.interface import skipped
from datagate.models import CheckResult, CheckStatus, Severity

__all__ = [
    "LABEL_CHECK_IDS",
    "LABEL_NAMES",
    "NO_LABEL_MESSAGE",
    "class_labels_from_metadata",
    "label_absence",
]

LABEL_NAMES = (
    "label",
    "labels",
    "target",
    "class",
    "category",
    "species",
    "y",
    "outcome",
    "sentiment",
    "class_label",
    "gold_label",
    "emotion",
    "intent",
    "stance",
    "diagnosis",
)
"""Column names tried, in order, when neither ``--label`` nor a ClassLabel feature names one."""

LABEL_CHECK_IDS = ("label_distribution", "label_drift", "conflicting_labels")
"""The checks that need a label column."""

NO_LABEL_MESSAGE = "no label column: pass --label or --no-label"
"""What the label checks say when no label column was named or recognised."""


def class_labels_from_metadata(metadata: Mapping[bytes, bytes] | None) -> dict[str, tuple[str, ...]]:
    """Return ``column -> class names`` from the ``huggingface`` schema metadata ``datasets``
    writes into parquet/Arrow files (``{"info": {"features": {...ClassLabel...}}}``).

    Malformed metadata yields ``{}``; never raises.
    """
    if not metadata:
        return {}
    raw = metadata.get(b"huggingface")
    if raw is None:
        return {}
    try:
        doc: Any = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return {}
    features = doc.get("info", {}).get("features") if isinstance(doc, dict) and isinstance(doc.get("info"), dict) else None
    out: dict[str, tuple[str, ...]] = {}
    if isinstance(features, dict):
        for name, spec in features.items():
            if isinstance(spec, dict) and spec.get("_type") == "ClassLabel" and isinstance(spec.get("names"), list):
                out[str(name)] = tuple(str(x) for x in spec["names"])
    return out


def merge_class_labels(known: Mapping[str, tuple[str, ...]], schemas: Iterable[Any]) -> dict[str, tuple[str, ...]]:
    """Return ``known`` plus the ClassLabel features found in the Arrow ``schemas``' metadata
    (``known`` wins on a clash). Never raises."""
    out: dict[str, tuple[str, ...]] = {}
    for sch in schemas:
        if sch is not None:
            for k, v in class_labels_from_metadata(getattr(sch, "metadata", None)).items():
                out.setdefault(k, v)
    out.update(known)
    return out


def label_absence(results: Sequence[CheckResult], label_column: str | None, *, no_label: bool) -> tuple[CheckResult, ...]:
    """Return ``results`` with the label checks rewritten when there is no label column.

    ``no_label`` (``--no-label``): they are ``skipped`` with that reason. Otherwise, with no label
    column, a label check that was skipped for want of one is ``warn`` (severity medium) with
    :data:`NO_LABEL_MESSAGE`. Checks disabled by the policy stay skipped; a found label leaves
    everything unchanged.
    """
    if label_column is not None:
        return tuple(results)
    out = []
    for r in results:
        if r.id in LABEL_CHECK_IDS and r.status is CheckStatus.SKIPPED and "disabled" not in r.message:
            if no_label:
                r = skipped(r.id, "--no-label: the dataset has no label column")
            else:
                r = replace(r, status=CheckStatus.WARN, severity=Severity.MEDIUM, message=NO_LABEL_MESSAGE,
                            observed={"label_column": None})
        out.append(r)
    return tuple(out)
