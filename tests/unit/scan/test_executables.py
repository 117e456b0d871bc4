"""Tests for datagate.scan.executables: executables by content under any name (THREATS.md B17)."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datagate.models import Finding, Severity
from datagate.scan.executables import (
    EXECUTABLE_SCANNER,
    exec_bit_findings,
    has_data_extension,
    identify_executable,
)
from datagate.scan.interface import Blob, ContentKind, ScanContext, Scanner
from fixtures.gen.common import Sample
from fixtures.gen.executables import build, macho_fat_stub, macho_thin_stub, pe_stub

TRUE_BIN = Path(shutil.which("true") or "/bin/true")


def _scan(
    data: bytes, name: str, kind: ContentKind | None, mode: int | None = None
) -> list[Finding]:
    blob = Blob(f"d/{name}", data, name=name, kind=kind, mode=mode)
    out = list(EXECUTABLE_SCANNER.scan(blob, ScanContext()))
    assert all(isinstance(f, Finding) for f in out)
    return [f for f in out if isinstance(f, Finding)]


@pytest.fixture(scope="module")
def fx(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Sample]]:
    root = tmp_path_factory.mktemp("fx")
    return root, {s.name: s for s in build(root)}


def test_scanner_protocol() -> None:
    assert isinstance(EXECUTABLE_SCANNER, Scanner)
    assert EXECUTABLE_SCANNER.name == "executables"
    assert (
        ContentKind.ELF in EXECUTABLE_SCANNER.kinds and ContentKind.CSV in EXECUTABLE_SCANNER.kinds
    )


def test_elf_true_header_facts() -> None:
    info = identify_executable(TRUE_BIN.read_bytes())
    assert info is not None and info.format == "elf"
    assert info.evidence["class"] in ("ELF64", "ELF32")
    assert info.evidence["type"] in ("exec", "pie-executable")
    assert info.evidence["interpreter"].startswith("/")
    assert "machine" in info.evidence


def test_elf_shared_object_has_no_interpreter() -> None:
    import _ctypes  # an extension module: a shared object without PT_INTERP

    so = Path(_ctypes.__file__ or "")
    if so.suffix != ".so":
        pytest.skip(f"_ctypes is not a shared object here ({so})")
    info = identify_executable(so.read_bytes())
    assert info is not None and info.evidence["type"] == "shared-object"
    assert "interpreter" not in info.evidence


def test_elf_disguised_as_parquet_is_critical() -> None:
    [f] = _scan(TRUE_BIN.read_bytes(), "train-00000-of-00001.parquet", ContentKind.ELF)
    assert f.rule == "executable.disguised" and f.severity is Severity.CRITICAL
    assert f.evidence["format"] == "elf" and f.path == "d/train-00000-of-00001.parquet"


def test_elf_under_plain_name_is_high() -> None:
    [f] = _scan(TRUE_BIN.read_bytes(), "helper", ContentKind.ELF)
    assert (f.rule, f.severity) == ("executable.elf", Severity.HIGH)


def test_truncated_elf_still_reported() -> None:
    [f] = _scan(b"\x7fELF\x02\x01", "x.bin", ContentKind.ELF)
    assert f.evidence["truncated"] is True and f.severity is Severity.CRITICAL


def test_sniffing_gap_does_not_hide_elf() -> None:
    # the sniffer said BINARY (or anything else): the magic is re-checked
    [f] = _scan(TRUE_BIN.read_bytes(), "blob.dat", ContentKind.BINARY)
    assert f.rule == "executable.elf"


def test_pe_header_only_stub_b17() -> None:
    [f] = _scan(pe_stub(with_header=False), "weights.bin", ContentKind.PE)
    assert f.rule == "executable.disguised" and f.evidence["pe_header"] is False


def test_pe_with_header_dll_dotnet() -> None:
    [f] = _scan(pe_stub(with_header=True, dll=True, dotnet=True), "helper.dll", ContentKind.PE)
    assert f.rule == "executable.pe"
    ev = f.evidence
    assert (ev["type"], ev["machine"], ev["dotnet"], ev["optional_header"]) == (
        "dll",
        "amd64",
        True,
        "PE32+",
    )


def test_pe_exe_not_dotnet() -> None:
    info = identify_executable(pe_stub(with_header=True))
    assert info is not None and info.evidence["type"] == "exe" and info.evidence["dotnet"] is False


def test_text_starting_with_mz_is_not_an_executable() -> None:
    assert _scan(b"MZ,label\nfoo,1\n" * 20, "rows.csv", ContentKind.CSV) == []


@pytest.mark.parametrize(
    "magic", [b"\xfe\xed\xfa\xce", b"\xce\xfa\xed\xfe", b"\xfe\xed\xfa\xcf", b"\xcf\xfa\xed\xfe"]
)
def test_macho_thin_four_magics(magic: bytes) -> None:
    [f] = _scan(magic + bytes(60), "lib.bin", ContentKind.MACHO)
    assert f.evidence["format"] == "macho" and f.severity is Severity.CRITICAL


def test_macho_thin_stub_fields() -> None:
    info = identify_executable(macho_thin_stub())
    assert info is not None and (info.evidence["cpu"], info.evidence["type"]) == (
        "arm64",
        "execute",
    )


def test_macho_fat_arch_list() -> None:
    [f] = _scan(macho_fat_stub(), "image_0001.jpg", ContentKind.MACHO_FAT)
    assert f.evidence["archs"] == ["x86_64", "arm64"] and f.rule == "executable.disguised"


def test_java_class_is_not_fat() -> None:
    data = b"\xca\xfe\xba\xbe" + struct.pack(">HH", 0, 52) + bytes(32)
    [f] = _scan(data, "Main.class", ContentKind.JAVA_CLASS)
    assert f.rule == "executable.java_class" and f.evidence["version"] == "52.0"


def test_wasm_and_dex() -> None:
    [f] = _scan(b"\0asm\x01\0\0\0" + bytes(8), "m.wasm", ContentKind.WASM)
    assert f.rule == "executable.wasm" and f.evidence["version"] == 1
    [g] = _scan(b"dex\n035\0" + bytes(100), "classes.dex", ContentKind.BINARY)
    assert g.rule == "executable.dex"


def test_exec_bit_on_data() -> None:
    [f] = _scan(b"a,b\n1,2\n", "x.csv", ContentKind.CSV, mode=0o100755)
    assert (f.rule, f.severity, f.evidence["mode"]) == ("executable.mode_bit", Severity.LOW, "0755")
    assert _scan(b"a,b\n1,2\n", "x.csv", ContentKind.CSV, mode=0o644) == []
    [g] = _scan(b"\x01\x02\x03", "x.dat", ContentKind.BINARY, mode=0o744)
    assert g.severity is Severity.MEDIUM


def test_exec_bit_on_scripts_and_executables_is_not_a_data_anomaly() -> None:
    assert (
        exec_bit_findings(
            Blob("s.sh", b"#!/bin/sh\n", name="s.sh", kind=ContentKind.SHEBANG, mode=0o755)
        )
        == []
    )
    [f] = _scan(TRUE_BIN.read_bytes(), "tool", ContentKind.ELF, mode=0o755)
    assert f.rule == "executable.elf" and f.evidence["mode"] == "0755"
    assert exec_bit_findings(Blob("x", b"a", name="x", kind=ContentKind.TEXT, mode=None)) == []


def test_data_extension_helper() -> None:
    assert has_data_extension("train.parquet") and has_data_extension("a/b.CSV.gz")
    assert not has_data_extension("tool") and not has_data_extension("run.sh")


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(
        [
            b"\x7fELF",
            b"MZ",
            b"\xcf\xfa\xed\xfe",
            b"\xca\xfe\xba\xbe",
            b"\xca\xfe\xba\xbf",
            b"\0asm",
            b"",
        ]
    ),
    st.binary(max_size=600),
)
def test_fuzz_headers_never_raise(magic: bytes, rest: bytes) -> None:
    for kind in (ContentKind.ELF, ContentKind.BINARY, ContentKind.PE):
        _scan(magic + rest, "f.bin", kind, mode=0o755)


def test_fixture_samples_are_flagged(fx: tuple[Path, dict[str, Sample]]) -> None:
    root, samples = fx
    from datagate.scan.sniff import sniff

    for name in (
        "b17_elf_as_parquet",
        "b17_pe_stub_bin",
        "b17_pe_dotnet_dll",
        "b17_macho_thin_bin",
        "b17_macho_fat_jpg",
        "exec_bit_on_csv",
    ):
        s = samples[name]
        p = s.path(root)
        data = p.read_bytes()
        kind, _ = sniff(data)
        fs = _scan(data, p.name, kind, mode=p.stat().st_mode & 0o7777)
        assert fs, name
        worst = max((f.severity for f in fs), key=lambda x: x.rank)
        assert worst >= Severity.parse(s.min_severity), name
        assert s.rule_prefix is None or any(f.rule.startswith(s.rule_prefix) for f in fs), name


def test_end_to_end_through_engine(fx: tuple[Path, dict[str, Sample]]) -> None:
    """Every sample of fixtures/gen/executables through ``datagate.scan.scan``."""
    try:
        from datagate.scan import scan
    except ImportError:
        pytest.skip("datagate.scan.scan (the engine) does not exist yet")
    root, samples = fx
    report = scan(root)
    by_path: dict[str, list[Finding]] = {}
    for f in report.findings:
        by_path.setdefault(f.path, []).append(f)
    problems = []
    for s in samples.values():
        fs = by_path.get(s.relpath, [])
        worst = max((f.severity for f in fs), key=lambda x: x.rank, default=None)
        if s.hostile:
            if worst is None or worst < Severity.parse(s.min_severity):
                problems.append(f"{s.name}: missed ({[(f.rule, f.severity.value) for f in fs]})")
            elif s.rule_prefix and not any(f.rule.startswith(s.rule_prefix) for f in fs):
                problems.append(f"{s.name}: no {s.rule_prefix} finding")
        elif worst is not None and worst > Severity.parse(s.min_severity):
            problems.append(f"{s.name}: false alarm {[(f.rule, f.severity.value) for f in fs]}")
    assert not problems, problems


def test_pyc_by_content() -> None:
    import importlib.util
    import json

    cached = importlib.util.cache_from_source(json.__file__)
    data = Path(cached).read_bytes() if Path(cached).exists() else b""
    if not data:
        pytest.skip(f"no cached bytecode at {cached}")
    [f] = _scan(data, "labels.txt", ContentKind.BINARY)
    assert f.rule == "executable.disguised" and f.evidence["format"] == "pyc"
    [g] = _scan(data, "mod.pyc", ContentKind.BINARY)
    assert g.rule == "executable.pyc" and g.severity is Severity.HIGH
    assert _scan(b"ab\r\n" + bytes(40), "x.bin", ContentKind.BINARY) == []


def test_msi_by_clsid() -> None:
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1000)
    clsid = bytes.fromhex("84100c0000000000c000000000000046")
    [f] = _scan(ole + clsid + bytes(64), "setup.msi", ContentKind.OFFICE)
    assert f.rule == "executable.msi"
    assert _scan(ole + bytes(64), "plain.doc", ContentKind.OFFICE) == []


def test_packages_and_ar_archives() -> None:
    deb = b"!<arch>\n" + b"debian-binary   1342943816  0     0     100644  4         `\n2.0\n"
    [f] = _scan(deb, "data.bin", ContentKind.BINARY)
    assert f.evidence["format"] == "deb" and f.rule == "executable.disguised"
    [g] = _scan(b"\xed\xab\xee\xdb" + bytes(92), "tool.rpm", ContentKind.BINARY)
    assert g.rule == "executable.package"
    [h] = _scan(
        b"!<arch>\n" + b"foo.o/          0           0     0     644     4         `\n",
        "libx.a",
        ContentKind.BINARY,
    )
    assert h.rule == "executable.ar"
