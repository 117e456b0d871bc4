"""Fixtures for lineage tests (helpers live in ``_helpers.py``, importable by other tests)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from datagate.acquire.interface import SourceInfo
from datagate.inventory import hash_tree, manifest_lines
from datagate.lineage.record import LineageRecord, build_record
from datagate.lineage.store import Store
from datagate.models import Manifest
from tests.unit.lineage._helpers import RecordFor, results, run_block


@pytest.fixture
def record_for(tmp_path: Path) -> RecordFor:
    """Return a builder: (tree, name, n, hostile, store) -> (record, manifest bytes, manifest)."""

    def build(
        tree: Path, name: str = "demo", n: int = 0, hostile: bool = False, store: Store | None = None,
        parents: tuple[Any, ...] = (),
    ) -> tuple[LineageRecord, bytes, Manifest]:
        manifest = hash_tree(tree, dvc=True)
        text = ("\n".join(manifest_lines(manifest)) + "\n").encode()
        scan, check, decision = results(manifest, hostile=hostile)
        rel = store.manifest_relpath(name, manifest.root_digest) if store else f"manifests/{name}/x.jsonl"
        rec = build_record(
            name=name, source=SourceInfo("local", tree.resolve().as_uri()), manifest=manifest,
            manifest_path=rel, manifest_sha256=hashlib.sha256(text).hexdigest(), scan=scan,
            findings=scan.findings, check=check, profile={"labels": {"train": {"neg": 2, "pos": 1}}},
            decision=decision, parents=parents, policy_sha256="0" * 64, run=run_block(n),
        )
        return rec, text, manifest

    return build
