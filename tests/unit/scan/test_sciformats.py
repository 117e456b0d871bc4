"""Scientific and media formats are recognised by their bytes (issue 15, part 4).

Files are written by the real libraries (scipy.io, h5py, the wave module) and taken from the
numpy/scipy/scikit-learn wheels' own test data, never hand-typed byte strings alone.
"""

from __future__ import annotations

import io
import json
import struct
import wave
from pathlib import Path

import numpy as np
import pytest

from datagate.report.json import scan_to_dict
from datagate.scan import scan
from datagate.scan._sciformats import _masked_crc
from datagate.scan.interface import ContentKind as K
from datagate.scan.sniff import sniff_full
from fixtures.gen.formats import avro_file

scipy_io = pytest.importorskip("scipy.io")
h5py = pytest.importorskip("h5py")


def _savemat(fmt: str) -> bytes:
    buf = io.BytesIO()
    scipy_io.savemat(buf, {"x": np.arange(6.0).reshape(2, 3), "label": "abc"}, format=fmt)
    return buf.getvalue()


def _mat73(tmp_path: Path) -> bytes:
    """A MATLAB v7.3 file as MATLAB writes it: a 512-byte MAT header, then HDF5."""
    p = tmp_path / "v73.mat"
    with h5py.File(p, "w", userblock_size=512) as f:
        f["x"] = np.arange(4.0)
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5 schema 1.00 ."
    block = header.ljust(116, b" ") + bytes(8) + struct.pack("<H", 0x0200) + b"IM"
    data = bytearray(p.read_bytes())
    data[:128] = block
    return bytes(data)


def _netcdf(version: int) -> bytes:
    buf = io.BytesIO()
    f = scipy_io.netcdf_file(buf, "w", version=version)
    f.createDimension("t", 3)
    v = f.createVariable("temp", "f4", ("t",))
    v[:] = [1.0, 2.0, 3.0]
    f.flush()
    data = buf.getvalue()
    f.close()
    return data


def _netcdf4(tmp_path: Path) -> bytes:
    p = tmp_path / "nc4.nc"
    with h5py.File(p, "w") as f:
        f.attrs["_NCProperties"] = "version=2,netcdf=4.9.2,hdf5=1.14.3"
        f["temp"] = np.arange(3.0)
    return p.read_bytes()


def _wav() -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(bytes(1600))
    return buf.getvalue()


def _tfrecord(records: list[bytes]) -> bytes:
    out = bytearray()
    for r in records:
        length = struct.pack("<Q", len(r))
        out += (
            length + struct.pack("<I", _masked_crc(length)) + r + struct.pack("<I", _masked_crc(r))
        )
    return bytes(out)


def _avro() -> bytes:
    schema = json.dumps({"type": "record", "name": "r", "fields": [{"name": "a", "type": "int"}]})
    return avro_file({"avro.schema": schema.encode()})


def _fits() -> bytes:
    cards = [
        "SIMPLE  =                    T",
        "BITPIX  =                    8",
        "NAXIS   =                    0",
        "END",
    ]
    return "".join(c.ljust(80) for c in cards).ljust(2880).encode()


def _mp3_frames() -> bytes:
    # MPEG-1 layer III, 128 kbit/s, 44.1 kHz, no padding: 417-byte frames
    header = b"\xff\xfb\x90\x00"
    return (header + bytes(413)) * 3


@pytest.mark.parametrize(
    ("label", "make", "kind", "ctype"),
    [
        ("matlab-v4", lambda _t: _savemat("4"), K.MATLAB, "application/x-matlab-data"),
        ("matlab-v5", lambda _t: _savemat("5"), K.MATLAB, "application/x-matlab-data"),
        ("matlab-v7.3", _mat73, K.MATLAB, "application/x-matlab-data"),
        ("netcdf-classic", lambda _t: _netcdf(1), K.NETCDF, "application/x-netcdf"),
        ("netcdf-64bit", lambda _t: _netcdf(2), K.NETCDF, "application/x-netcdf"),
        ("netcdf-4", _netcdf4, K.NETCDF, "application/x-netcdf"),
        ("wav", lambda _t: _wav(), K.AUDIO, "audio/wav"),
        (
            "tfrecord",
            lambda _t: _tfrecord([b"abc", b"defgh"]),
            K.TFRECORD,
            "application/x-tfrecord",
        ),
        ("avro", lambda _t: _avro(), K.AVRO, "application/vnd.apache.avro"),
        ("fits", lambda _t: _fits(), K.FITS, "application/fits"),
        (
            "idl",
            lambda _t: b"SR\x00\x04\x00\x00\x00\x0a" + bytes(100),
            K.IDL_SAVE,
            "application/x-idl-save",
        ),
        ("orc", lambda _t: b"ORC" + bytes(40) + b"ORC\x17", K.ORC, "application/vnd.apache.orc"),
        (
            "mp3-id3",
            lambda _t: b"ID3\x04\x00\x00\x00\x00\x00\x10" + bytes(16) + _mp3_frames(),
            K.AUDIO,
            "audio/mpeg",
        ),
        ("mp3-frames", lambda _t: _mp3_frames(), K.AUDIO, "audio/mpeg"),
        (
            "ogg-vorbis",
            lambda _t: b"OggS\x00\x02" + bytes(22) + b"\x01vorbis" + bytes(40),
            K.AUDIO,
            "audio/ogg",
        ),
        ("flac", lambda _t: b"fLaC\x00\x00\x00\x22" + bytes(34), K.AUDIO, "audio/flac"),
    ],
)
def test_recognised_with_content_type(
    tmp_path: Path, label: str, make: object, kind: K, ctype: str
) -> None:
    data = make(tmp_path)  # type: ignore[operator]  # parametrised builders
    s = sniff_full(data)
    assert s.kind is kind, (label, s)
    assert s.content_type == ctype


def test_tfrecord_with_a_wrong_crc_is_not_a_tfrecord() -> None:
    data = bytearray(_tfrecord([b"abc"]))
    data[8] ^= 1
    assert sniff_full(bytes(data)).kind is not K.TFRECORD


def test_matlab_v4_that_does_not_tile_the_file_is_not_matlab() -> None:
    assert sniff_full(_savemat("4") + b"junk").kind is not K.MATLAB


def test_scan_reports_content_types_and_no_unrecognized(tmp_path: Path) -> None:
    d = tmp_path / "d"
    d.mkdir()
    (d / "a.mat").write_bytes(_savemat("5"))
    (d / "b.mat").write_bytes(_savemat("4"))
    (d / "c.nc").write_bytes(_netcdf(1))
    (d / "d.wav").write_bytes(_wav())
    (d / "e.tfrecord").write_bytes(_tfrecord([b"x" * 10]))
    report = scan(d)
    assert [f.rule for f in report.findings] == []
    doc = scan_to_dict(report)
    assert doc["summary"]["content_types"] == {
        "application/x-matlab-data": 2,
        "application/x-netcdf": 1,
        "application/x-tfrecord": 1,
        "audio/wav": 1,
    }


def _wheel_data(package: str, *parts: str) -> list[Path]:
    mod = pytest.importorskip(package)
    base = Path(mod.__file__).parent.joinpath(*parts)
    return sorted(p for p in base.rglob("*") if p.is_file())


@pytest.mark.parametrize(
    ("package", "parts", "suffix", "kinds"),
    [
        ("scipy", ("io", "matlab", "tests", "data"), ".mat", {K.MATLAB}),
        ("scipy", ("io", "tests", "data"), ".sav", {K.IDL_SAVE}),
        ("scipy", ("io", "tests", "data"), ".nc", {K.NETCDF}),
        ("scipy", ("io", "tests", "data"), ".wav", {K.AUDIO}),
    ],
)
def test_real_files_from_wheels(
    package: str, parts: tuple[str, ...], suffix: str, kinds: set[K]
) -> None:
    files = [p for p in _wheel_data(package, *parts) if p.suffix == suffix]
    assert files, f"no {suffix} files shipped in {package}"
    wrong = {p.name: sniff_full(p.read_bytes()).kind.value for p in files}
    wrong = {k: v for k, v in wrong.items() if K(v) not in kinds}
    # The wheels ship a few deliberately broken samples; every well-formed file is recognised.
    assert len(wrong) <= max(2, len(files) // 10), wrong


def test_real_idl_save_files_have_a_clean_record_chain() -> None:
    from datagate.scan.scientific import idl_records

    files = [p for p in _wheel_data("scipy", "io", "tests", "data") if p.suffix == ".sav"]
    assert len(files) >= 20
    for p in files:
        records, problem = idl_records(p.read_bytes())
        assert problem == "" and records[-1][1] == 6, p.name
        assert 12 not in {t for _off, t in records}, p.name
