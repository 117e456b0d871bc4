"""Lineage: deterministic records of what was vetted, a git-friendly store, DVC, OpenLineage, in-toto.

>>> from datagate.lineage import Store
>>> store = Store.open(".datagate")                    # doctest: +SKIP
>>> [r.version for r in store.history("reviews")]      # doctest: +SKIP
['sha256:...', 'sha256:...']

Modules: :mod:`~datagate.lineage.record` (the record and its JSON Schema),
:mod:`~datagate.lineage.store` (atomic, locked store), :mod:`~datagate.lineage.diff` (version
diffs), :mod:`~datagate.lineage.dvc` (``meta.datagate`` pointers, manifests by DVC path),
:mod:`~datagate.lineage.openlineage` (RunEvents), :mod:`~datagate.lineage.intoto` (statements),
:mod:`~datagate.lineage.cache` (scan/check results of unchanged inputs).
"""

from __future__ import annotations

from datagate.lineage.record import (
    RECORD_SCHEMA_ID,
    RECORD_SCHEMA_VERSION,
    LineageRecord,
    ParentRef,
    validate_record,
)
from datagate.lineage.store import Store

__all__ = [
    "RECORD_SCHEMA_ID",
    "RECORD_SCHEMA_VERSION",
    "LineageRecord",
    "ParentRef",
    "Store",
    "validate_record",
]
