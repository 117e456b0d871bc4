"""Real DVC: .dir ids agree with `dvc add`, meta.datagate pointers survive it, and `dvc repro`
of a pipeline like the repo's runs the gate, stops on a failing gate, and re-runs on param change.

These run the real ``dvc`` CLI in temporary git+DVC repositories (no network: analytics and update
checks are off).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from datagate.cli import main
from datagate.inventory import hash_tree
from datagate.lineage.dvc import (
    PointerState,
    manifest_for_dvc_path,
    manifest_path_for_dvc_path,
    pointer_status,
)
from datagate.lineage.record import validate_record
from tests.integration._ingest_ready import HOSTILE_PICKLE, needs_stages
from tests.unit.lineage._helpers import make_tree

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DVC = shutil.which("dvc", path=str(BIN)) or shutil.which("dvc")

pytestmark = [
    pytest.mark.dvc,
    pytest.mark.skipif(DVC is None, reason="the dvc CLI is not installed next to this Python"),
]


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "DVC_NO_ANALYTICS": "1",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }


def _sh(cwd: Path, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(argv, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "project"
    root.mkdir()
    _sh(root, "git", "init", "-q")
    assert DVC is not None
    _sh(root, DVC, "init", "-q")
    _sh(root, DVC, "config", "core.analytics", "false")
    _sh(root, DVC, "config", "core.check_update", "false")
    yield root


@pytest.mark.slow
def test_dvc_dir_md5_matches_real_dvc_add(repo: Path) -> None:
    data = make_tree(
        repo / "data", extra={"nested/deeper/z.txt": "z\n", "a b/ü.txt": "odd name\n", "empty": ""}
    )
    os.chmod(data / "data" / "train.csv", 0o755)
    assert DVC is not None
    _sh(repo, DVC, "add", "-q", "data")
    out = yaml.safe_load((repo / "data.dvc").read_text())["outs"][0]
    manifest = hash_tree(data, dvc=True, use_cache=False)
    assert manifest.dvc_md5 == out["md5"]
    assert out["nfiles"] == len(manifest.files) and out["size"] == manifest.total_bytes


@needs_stages
@pytest.mark.slow
def test_record_pointer_survives_dvc_add_and_goes_stale(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert DVC is not None
    make_tree(repo / "data")
    _sh(repo, DVC, "add", "-q", "data")
    monkeypatch.chdir(repo)
    assert main(["-q", "record", "data", "--name", "reviews"]) == 0
    pointer = yaml.safe_load((repo / "data.dvc").read_text())["outs"][0]["meta"]["datagate"]
    out_md5 = yaml.safe_load((repo / "data.dvc").read_text())["outs"][0]["md5"]
    assert pointer["md5"] == out_md5
    validate_record(json.loads((repo / pointer["record"]).read_text()))
    assert [s.state for s in pointer_status(repo)] == [PointerState.CURRENT]
    capsys.readouterr()
    assert main(["status"]) == 0
    # the lead's `datagate verify` resolves a DVC-tracked path through these
    manifest = manifest_for_dvc_path(repo / "data")
    assert manifest is not None and manifest.root_digest == hash_tree(repo / "data").root_digest
    assert (
        manifest_path_for_dvc_path(repo / "data")
        == repo / ".datagate" / "manifests" / "reviews" / f"{manifest.root_digest[7:]}.jsonl"
    )
    capsys.readouterr()
    assert main(["verify", "data"]) == 0 and main(["verify", "data.dvc"]) == 0

    # new data, re-added by DVC: meta is kept but no longer describes the output
    (repo / "data" / "data" / "test.csv").write_text("text,label\nchanged,neg\n")
    capsys.readouterr()
    assert main(["verify", "data"]) == 1  # the workspace no longer matches what was vetted
    assert "data/test.csv" in capsys.readouterr().out
    _sh(repo, DVC, "add", "-q", "data")
    again = yaml.safe_load((repo / "data.dvc").read_text())["outs"][0]
    assert again["meta"]["datagate"] == pointer and again["md5"] != out_md5
    capsys.readouterr()
    assert main(["status"]) == 1
    assert "stale" in capsys.readouterr().out
    assert main(["-q", "record", "data", "--name", "reviews"]) == 0
    assert main(["status"]) == 0

    # the workspace moved on without `dvc add`: record refuses (it would describe other bytes)
    (repo / "data" / "data" / "test.csv").write_text("text,label\nuncommitted,pos\n")
    capsys.readouterr()
    assert main(["record", "data"]) == 2
    assert "does not match" in capsys.readouterr().err
    # a .dvc file that is not YAML: exit 2, file untouched
    (repo / "data.dvc").write_text("outs: [oops\n")
    assert main(["record", "data"]) == 2
    assert (repo / "data.dvc").read_text() == "outs: [oops\n"


def _pipeline_repo(repo: Path, source: str, name: str) -> None:
    shutil.copy(REPO / "dvc.yaml", repo / "dvc.yaml")
    (repo / "scripts").mkdir()
    shutil.copy(REPO / "scripts" / "label_counts.py", repo / "scripts" / "label_counts.py")
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["source"] = {"path": source, "name": name}
    (repo / "params.yaml").write_text(yaml.safe_dump(params))


@needs_stages
@pytest.mark.slow
def test_dvc_repro_gates_the_pipeline(repo: Path) -> None:
    assert DVC is not None
    make_tree(repo / "raw", rows=8)
    _pipeline_repo(repo, "raw", "reviews")

    first = _sh(repo, DVC, "repro", "consume")
    assert "Running stage 'intake'" in first.stdout and "Running stage 'consume'" in first.stdout
    record = json.loads((repo / "lineage" / "reviews.json").read_text())
    validate_record(record)
    assert (
        record["content"]["root_digest"]
        == hash_tree(repo / "data" / "vetted" / "reviews").root_digest
    )
    assert json.loads((repo / "metrics" / "intake.json").read_text())["passed"] == 1
    assert json.loads((repo / "metrics" / "labels.json").read_text()) == {
        "rows": 9,
        "label_neg": 4,
        "label_pos": 5,
    }
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    assert lock["stages"]["intake"]["params"]["params.yaml"]["source"] == {
        "name": "reviews",
        "path": "raw",
    }

    unchanged = _sh(repo, DVC, "repro", "consume")
    assert "Running stage 'intake'" not in unchanged.stdout

    # a source param change re-runs intake (and consume)
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["source"]["name"] = "reviews2"
    (repo / "params.yaml").write_text(yaml.safe_dump(params))
    rerun = _sh(repo, DVC, "repro", "consume")
    assert "Running stage 'intake'" in rerun.stdout
    assert (repo / "data" / "vetted" / "reviews2" / "data" / "train.csv").is_file()

    vetted = repo / "data" / "vetted" / "reviews2"
    good = hash_tree(vetted).root_digest
    labels_before = (repo / "metrics" / "labels.json").read_text()

    # a hostile file in the source: the gate fails, the stage fails, nothing downstream runs,
    # and the last vetted data stays in place (publish never ran)
    (repo / "raw" / "data" / "weights.pkl").write_bytes(HOSTILE_PICKLE)
    failed = _sh(repo, DVC, "repro", "consume", check=False)
    assert failed.returncode != 0
    assert "Running stage 'publish'" not in failed.stdout
    assert "Running stage 'consume'" not in failed.stdout
    assert "failed to reproduce 'intake'" in (failed.stdout + failed.stderr)
    assert json.loads((repo / "metrics" / "intake.json").read_text())["passed"] == 0
    assert hash_tree(vetted).root_digest == good
    assert (repo / "metrics" / "labels.json").read_text() == labels_before

    # back to the input vetted before: DVC's run-cache restores the gate's outputs, no re-run
    (repo / "raw" / "data" / "weights.pkl").unlink()
    restored = _sh(repo, DVC, "repro", "consume")
    assert "Running stage 'intake'" not in restored.stdout, restored.stdout
    assert "Stage 'intake' is cached - skipping run" in restored.stdout, restored.stdout
    assert hash_tree(vetted).root_digest == good
    assert json.loads((repo / "metrics" / "intake.json").read_text())["passed"] == 1


@needs_stages
@pytest.mark.slow
def test_repo_pipeline_runs_from_a_clean_copy(tmp_path: Path) -> None:
    """`dvc repro` of the repo's own dvc.yaml (sample generation, intake, consume)."""
    if not (REPO / "fixtures" / "gen" / "sample.py").exists():
        pytest.skip("fixtures/gen/sample.py (the bundled sample generator) is not present yet")
    assert DVC is not None
    root = tmp_path / "clone"
    root.mkdir()
    # what a clone holds: the committed DVC config (no `dvc init`), pipeline, params, scripts, generator
    for rel in (".dvc/config", ".dvc/.gitignore", ".dvcignore", "dvc.yaml", "params.yaml", "scripts", "fixtures"):
        src = REPO / rel
        if src.is_dir():
            shutil.copytree(src, root / rel, ignore=shutil.ignore_patterns("__pycache__", "build"))
        else:
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, root / rel)
    _sh(root, "git", "init", "-q")
    proc = _sh(root, DVC, "repro", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    validate_record(json.loads((root / "lineage" / "sample.json").read_text()))
    assert json.loads((root / "metrics" / "intake.json").read_text())["passed"] == 1
