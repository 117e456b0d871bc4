"""SIGKILL an ingest at random points: the store stays readable, old state or complete new record."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from datagate.lineage.store import Store
from tests.integration._ingest_ready import needs_stages
from tests.unit.lineage._helpers import make_tree

CHILD = """
import sys
from datagate.pipeline import ingest
ingest(sys.argv[1], store=sys.argv[2], name="victim", use_cache=False)
"""


@needs_stages
@pytest.mark.slow
def test_sigkill_at_random_points_never_leaves_a_partial_record(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "src", rows=200)
    for i in range(
        150
    ):  # enough files that the kill lands in hashing, scanning, checking or writing
        (tree / "extra" / f"{i:03d}.txt").parent.mkdir(exist_ok=True)
        (tree / "extra" / f"{i:03d}.txt").write_text(f"file {i}\n" * 20)
    store_dir = tmp_path / "store"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}

    def run(kill_after: float | None) -> int:
        proc = subprocess.Popen([sys.executable, "-c", CHILD, str(tree), str(store_dir)], env=env)
        if kill_after is None:
            return proc.wait(timeout=120)
        time.sleep(kill_after)
        proc.send_signal(signal.SIGKILL)
        return proc.wait(timeout=30)

    started = time.perf_counter()
    assert run(None) == 0
    full = time.perf_counter() - started
    old = {r.version: r.digest for r in Store.open(store_dir).history("victim")}
    assert len(old) == 1

    rng = random.Random(20261121)
    landed = 0
    for round_ in range(3):
        (tree / "extra" / f"{round_:03d}.txt").write_text(f"changed in round {round_}\n")
        # start-up and imports take most of a run; bias the kills towards checking and recording
        code = run(rng.uniform(full * 0.4, full * 1.05))
        store = Store.open(store_dir)
        history = store.history("victim")  # every record present validates (schema + digest)
        for rec in history:
            store.manifest(rec)  # and its manifest is complete and matches
        versions = {r.version for r in history}
        assert set(old) <= versions
        new = versions - set(old)
        assert len(new) <= 1
        landed += bool(new)
        if code == 0:
            assert new, "a run that exited 0 must have landed its record"
        old = {r.version: r.digest for r in history}
        leftovers = [p for p in store_dir.rglob("*") if ".tmp-" in p.name]
        assert all(p.name.startswith(".") for p in leftovers)
    # finally a clean run lands and sweeps what killed writers left
    assert run(None) == 0
    assert not [p for p in (store_dir / "records").rglob("*") if ".tmp-" in p.name]


SAVER = """
import sys
from pathlib import Path
from tests.integration.test_kill_ingest import save_forever
save_forever(Path(sys.argv[1]), Path(sys.argv[2]))
"""


def save_forever(tree: Path, store_dir: Path) -> None:
    """Child process: store one new version after another until killed (only the store writes)."""
    import hashlib

    from datagate.acquire.interface import SourceInfo
    from datagate.inventory import hash_tree, manifest_lines
    from datagate.lineage.record import build_record
    from tests.unit.lineage._helpers import results, run_block

    store = Store.open(store_dir, create=True)
    n = 0
    while True:
        n += 1
        (tree / "counter.txt").write_text(f"{n}\n" * 5000)  # a new version, a biggish manifest line
        manifest = hash_tree(tree, dvc=True, use_cache=False)
        text = ("\n".join(manifest_lines(manifest)) + "\n").encode()
        scan, check, decision = results(manifest)
        rec = build_record(
            name="victim", source=SourceInfo("local", tree.as_uri()), manifest=manifest,
            manifest_path=store.manifest_relpath("victim", manifest.root_digest),
            manifest_sha256=hashlib.sha256(text).hexdigest(), scan=scan, findings=(), check=check,
            profile={"labels": {}}, decision=decision, run=run_block(n % 60),
        )
        store.save(rec, manifest_text=text, profile={"n": n}, attestations=[{"n": n}])


@pytest.mark.slow
def test_sigkill_during_store_writes(tmp_path: Path) -> None:
    """Kill a process that does nothing but write versions: most kills land mid-write."""
    tree = make_tree(tmp_path / "src")
    for i in range(300):
        (tree / "many" / f"{i:03d}.txt").parent.mkdir(exist_ok=True)
        (tree / "many" / f"{i:03d}.txt").write_text(f"{i}\n")
    store_dir = tmp_path / "store"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    rng = random.Random(7)
    Store.open(store_dir, create=True)
    records = store_dir / "records" / "victim"
    seen = 0
    for _ in range(3):
        proc = subprocess.Popen([sys.executable, "-c", SAVER, str(tree), str(store_dir)], env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(list(records.glob("*.json")) if records.is_dir() else []) <= seen:
            time.sleep(0.02)  # wait until this child is in its write loop
        time.sleep(rng.uniform(0.0, 0.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        store = Store.open(store_dir)
        history = store.history("victim")
        for rec in history:
            store.manifest(rec)
            assert store.profile(rec) is not None
        assert len(history) >= seen
        seen = len(history)
    assert seen >= 2, "the writer never landed a version; the test did not exercise the store"
