"""The light core: ``hash``, ``verify`` and ``scan`` run with no extra installed.

Each run is a fresh interpreter whose import system refuses every module an extra installs
(pyarrow, pandas, numpy, Great Expectations, huggingface_hub, datasets, dvc, ray, ...), the same
as a venv with only ``pip install datagate-intake``. A command that needs an extra says which one,
in one line, and exits 2.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import tomllib

from datagate.extras import DISTRIBUTION, EXTRAS, extra_for_module, missing_extra_message

ROOT = Path(__file__).resolve().parents[2]

_BLOCKER = """
import sys, importlib.abc
BLOCKED = set(sys.argv[1].split(","))
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".", 1)[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, Block())
from datagate.cli import main
code = main(sys.argv[2:])
leaked = sorted(m for m in sys.modules if m.split(".", 1)[0] in BLOCKED)
assert not leaked, leaked
sys.exit(code)
"""


def _run_core(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _BLOCKER, ",".join(sorted(EXTRAS)), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "DATAGATE_CACHE_DIR": str(cwd / ".cache")},
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.csv").write_text("text,label\nhello,1\nworld,0\n")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        # GLOBAL os.system, then the call: built by hand, never loaded
        zf.writestr("inner/model.pkl", b"cos\nsystem\n(S'true'\ntR.")
    (data / "bundle.zip").write_bytes(buf.getvalue())
    return tmp_path


def test_hash_verify_scan_run_without_any_extra(tree: Path) -> None:
    hashed = _run_core(["hash", "data", "--output", "data.manifest.jsonl"], tree)
    assert hashed.returncode == 0, hashed.stderr
    verified = _run_core(["verify", "data", "--manifest", "data.manifest.jsonl"], tree)
    assert verified.returncode == 0, verified.stderr
    scanned = _run_core(["scan", "data", "--format", "json"], tree)
    assert scanned.returncode == 1, scanned.stderr  # the pickle inside the zip is found
    report = json.loads(scanned.stdout)
    assert any(f["path"] == "bundle.zip" and f["category"] == "pickle" for f in report["findings"])
    sarif = _run_core(["scan", "data", "--format", "sarif"], tree)
    assert json.loads(sarif.stdout)["runs"][0]["results"]


@pytest.mark.slow
def test_scan_of_every_generated_fixture_needs_no_extra(generated: Path, tmp_path: Path) -> None:
    """Every hostile and benign fixture family (pickles, containers, executables, formats ...)
    scans with the core alone: no scanner imports an extra's module on the way."""
    res = _run_core(["scan", str(generated), "--format", "json"], tmp_path)
    assert res.returncode == 1, res.stderr  # the hostile fixtures are found
    doc = json.loads(res.stdout)
    assert doc["summary"]["files"] > 100
    assert {f["category"] for f in doc["findings"]} >= {"pickle", "container", "executable"}


def test_help_runs_without_any_extra(tree: Path) -> None:
    for args in (["--help"], ["check", "--help"], ["ingest", "--help"]):
        res = _run_core(args, tree)
        assert res.returncode == 0, (args, res.stderr)


def test_check_without_the_check_extra_names_it_in_one_line(tree: Path) -> None:
    res = _run_core(["check", "data"], tree)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert "datagate check needs the [check] extra" in lines[0]
    assert f"pip install '{DISTRIBUTION}[check]'" in lines[0]


def test_every_extra_named_in_the_map_exists_in_pyproject() -> None:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert meta["name"] == DISTRIBUTION
    extras = meta["optional-dependencies"]
    for extra in set(EXTRAS.values()):
        assert extra in extras, extra
        assert f"{DISTRIBUTION}[" in extras["all"][0] and extra in extras["all"][0]
    core = " ".join(meta["dependencies"]).lower()
    for heavy in ("pyarrow", "pandas", "numpy", "great_expectations", "dvc", "datasets", "huggingface_hub"):
        assert heavy not in core, heavy


def test_extra_lookup() -> None:
    assert extra_for_module("great_expectations.core") == "check"
    assert extra_for_module("huggingface_hub") == "hub"
    assert extra_for_module("yaml") is None
    assert missing_extra_message("yaml", "scan") is None
    msg = missing_extra_message("huggingface_hub", "ingest")
    assert msg is not None and "[hub]" in msg and "\n" not in msg
