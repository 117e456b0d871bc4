"""The pickle fixtures are real, and scanning them never runs them.

* Each hostile sample's ``naive_load`` runs in a child Python and must print its marker (the
  payload really fires when loaded the careless way).
* Scanning every hostile sample in a child process under ``sys.addaudithook`` must raise no
  process-creation, ``os.system``, ``exec`` or ``pickle.find_class`` audit event (the hook cannot
  be removed, hence the child).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from fixtures.gen.common import Sample
from tests.unit.scan._pickle_helpers import built

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def fx(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, tuple[Sample, ...]]:
    root = tmp_path_factory.mktemp("pickles-fire")
    return root, built(root)


def _missing(sample: Sample) -> list[str]:
    out = []
    for mod in sample.needs:
        try:
            if importlib.util.find_spec(mod.split(".")[0]) is None:
                out.append(mod)
        except ModuleNotFoundError:
            out.append(mod)
    return out


def _fire(sample: Sample, root: Path, scratch: Path) -> tuple[str, bool, str]:
    code = f"PATH = {str(sample.path(root))!r}\n{sample.naive_load}\n"
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
            cwd=scratch,
        )
    except subprocess.TimeoutExpired:
        return sample.name, False, "timed out"
    assert sample.payload_marker is not None
    return sample.name, sample.payload_marker in proc.stdout, proc.stderr[-400:]


@pytest.mark.slow
def test_every_hostile_payload_fires_when_loaded_naively(
    fx: tuple[Path, tuple[Sample, ...]], tmp_path: Path
) -> None:
    root, samples = fx
    runnable = [s for s in samples if s.hostile and s.naive_load and not _missing(s)]
    assert len(runnable) >= 55
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda s: _fire(s, root, tmp_path), runnable))
    assert [(name, err) for name, ok, err in results if not ok] == []


def test_hostile_samples_declare_their_markers(fx: tuple[Path, tuple[Sample, ...]]) -> None:
    for s in fx[1]:
        if s.naive_load:
            assert s.hostile and s.payload_marker and s.payload_marker.startswith("DGPWNED-")
        if not s.hostile:
            assert s.naive_load is None


_AUDIT_CHILD = textwrap.dedent(
    """
    import gzip, json, sys, zlib, os
    from pathlib import Path
    from datagate.scan.interface import Blob, ContentKind, ScanContext
    from datagate.scan.pickles import PICKLE_SCANNER

    paths = [Path(p) for p in json.loads(sys.argv[1])]
    blobs = []
    for p in paths:
        data = p.read_bytes()
        if data[:2] == b"\\x1f\\x8b":
            data = gzip.decompress(data)
        elif data[:1] == b"\\x78":
            data = zlib.decompress(data)
        kind = ContentKind.NUMPY if data[:6] == b"\\x93NUMPY" else ContentKind.PICKLE
        blobs.append(Blob(p.name, data, name=p.name, kind=kind))
    # warm up: every lazy import happens before the hook is installed
    list(PICKLE_SCANNER.scan(blobs[0], ScanContext()))

    BAD = ("os.system", "subprocess.Popen", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
           "exec", "pickle.find_class", "ctypes.dlopen", "os.startfile", "pty.spawn")
    seen = []

    def hook(event, args):
        if event in BAD or event.startswith(("os.exec", "os.spawn", "os.posix_spawn")):
            seen.append(event)

    sys.addaudithook(hook)
    findings = 0
    for blob in blobs:
        findings += len(list(PICKLE_SCANNER.scan(blob, ScanContext())))
    during_scan = list(seen)
    os.system("true")  # canary: proves the hook sees what it is looking for
    print(json.dumps({"during_scan": during_scan, "canary": "os.system" in seen,
                      "findings": findings, "blobs": len(blobs)}))
    """
)


def test_scanning_hostile_samples_runs_nothing(fx: tuple[Path, tuple[Sample, ...]]) -> None:
    root, samples = fx
    paths = [str(s.path(root)) for s in samples if s.hostile]
    proc = subprocess.run(
        [sys.executable, "-c", _AUDIT_CHILD, json.dumps(paths)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "DGPWNED" not in proc.stdout
    assert result["during_scan"] == []
    assert result["canary"] is True
    assert result["blobs"] == len(paths)
    assert result["findings"] >= len(paths)
