"""Content sniffing: the kind comes from the bytes, never the name; polyglots are both things."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import pickle
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import lz4.frame
import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from datagate.scan.interface import ContentKind as K
from datagate.scan.sniff import HEAD_BYTES, npy_header, npy_is_numeric, sniff, sniff_full
from fixtures.gen.containers import _png, payload_pickle


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for k, v in members.items():
            zf.writestr(k, v)
    return buf.getvalue()


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=True)
    return buf.getvalue()


def _tar(fmt: int = tarfile.USTAR_FORMAT) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        info = tarfile.TarInfo("x.txt")
        info.size = 2
        tf.addfile(info, io.BytesIO(b"hi"))
    return buf.getvalue()


def _v7_tar() -> bytes:
    """A tar whose first header has no ustar magic but a valid checksum."""
    data = bytearray(_tar())
    data[257:265] = bytes(8)
    data[148:156] = b"        "
    chk = sum(data[:512])
    data[148:156] = b"%06o\x00 " % chk
    return bytes(data)


def _table() -> pa.Table:
    return pa.table({"text": ["a", "b"], "label": [0, 1]})


def _parquet() -> bytes:
    buf = io.BytesIO()
    pq.write_table(_table(), buf)
    return buf.getvalue()


def _arrow(stream: bool) -> bytes:
    buf = io.BytesIO()
    t = _table()
    with (ipc.new_stream if stream else ipc.new_file)(buf, t.schema) as w:
        w.write(t)
    return buf.getvalue()


def _safetensors() -> bytes:
    header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header + bytes(8)


TORCH_LEGACY = (
    b"\x80\x02\x8a\x0a" + (0x1950A86A20F9469CFC6C).to_bytes(10, "little") + b".\x80\x02M\xe9\x03."
)

CASES: list[tuple[str, Callable[[], bytes], K]] = [
    ("empty", lambda: b"", K.EMPTY),
    ("pickle-p0", lambda: pickle.dumps([1, {"a": 2}], protocol=0), K.PICKLE),
    ("pickle-p1", lambda: pickle.dumps([1, {"a": 2}], protocol=1), K.PICKLE),
    ("pickle-p2", lambda: pickle.dumps([1], protocol=2), K.PICKLE),
    ("pickle-p4", lambda: pickle.dumps({"a": 1}, protocol=4), K.PICKLE),
    ("pickle-p5", lambda: pickle.dumps(b"x" * 10, protocol=5), K.PICKLE),
    ("pickle-p0-global", lambda: b"cposix\nsystem\n(S'echo x'\ntR.", K.PICKLE),
    ("pickle-p0-broken", lambda: b"cposix\nsystem\n(S'echo x'\ntR\xff\xfe", K.PICKLE),
    ("torch-legacy", lambda: TORCH_LEGACY, K.TORCH_LEGACY),
    ("zip", lambda: _zip({"a.csv": b"a,b\n"}), K.ZIP),
    (
        "torch-zip",
        lambda: _zip({"archive/data.pkl": b"\x80\x02N.", "archive/version": b"3"}),
        K.TORCH_ZIP,
    ),
    ("empty-zip", lambda: _zip({}), K.ZIP),
    ("spanned-zip", lambda: b"PK\x07\x08" + _zip({"a": b"b"}), K.ZIP),
    (
        "ooxml",
        lambda: _zip({"[Content_Types].xml": b"<x/>", "word/document.xml": b"<x/>"}),
        K.OFFICE,
    ),
    ("tar-ustar", _tar, K.TAR),
    ("tar-gnu", lambda: _tar(tarfile.GNU_FORMAT), K.TAR),
    ("tar-v7", _v7_tar, K.TAR),
    ("7z", lambda: b"7z\xbc\xaf\x27\x1c\x00\x04" + bytes(30), K.SEVENZ),
    ("rar", lambda: b"Rar!\x1a\x07\x01\x00" + bytes(30), K.RAR),
    ("gzip", lambda: gzip.compress(b"hello"), K.GZIP),
    ("bzip2", lambda: bz2.compress(b"hello"), K.BZIP2),
    ("xz", lambda: lzma.compress(b"hello"), K.XZ),
    ("lzma-alone", lambda: lzma.compress(b"hello", format=lzma.FORMAT_ALONE), K.LZMA),
    ("zstd", lambda: zstandard.ZstdCompressor().compress(b"hello"), K.ZSTD),
    ("lz4", lambda: lz4.frame.compress(b"hello"), K.LZ4),
    ("zlib", lambda: zlib.compress(b"hello world"), K.ZLIB),
    ("zlib-best", lambda: zlib.compress(b"hello world", 9), K.ZLIB),
    ("elf", lambda: Path("/bin/true").read_bytes(), K.ELF),
    ("pe-stub", lambda: b"MZ" + bytes(100), K.PE),
    (
        "pe-header",
        lambda: b"MZ" + bytes(58) + struct.pack("<I", 64) + b"PE\x00\x00" + bytes(40),
        K.PE,
    ),
    ("macho-64le", lambda: b"\xcf\xfa\xed\xfe" + bytes(60), K.MACHO),
    ("macho-32be", lambda: b"\xfe\xed\xfa\xce" + bytes(60), K.MACHO),
    ("macho-32le", lambda: b"\xce\xfa\xed\xfe" + bytes(60), K.MACHO),
    ("macho-64be", lambda: b"\xfe\xed\xfa\xcf" + bytes(60), K.MACHO),
    ("macho-fat", lambda: b"\xca\xfe\xba\xbe\x00\x00\x00\x02" + bytes(60), K.MACHO_FAT),
    ("java-class", lambda: b"\xca\xfe\xba\xbe\x00\x00\x00\x34" + bytes(60), K.JAVA_CLASS),
    ("wasm", lambda: b"\x00asm\x01\x00\x00\x00", K.WASM),
    ("shebang", lambda: b"#!/bin/sh\necho hi\n", K.SHEBANG),
    ("python", lambda: b"import os\n\ndef f():\n    return os.getcwd()\n", K.PYTHON),
    ("batch", lambda: b"@echo off\r\necho hi\r\n", K.BATCH),
    (
        "powershell",
        lambda: b"$wc = New-Object Net.WebClient\nInvoke-Expression $wc\n",
        K.POWERSHELL,
    ),
    (
        "notebook",
        lambda: json.dumps(
            {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
        ).encode(),
        K.NOTEBOOK,
    ),
    (
        "lfs",
        lambda: (
            b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"a" * 64 + b"\nsize 123\n"
        ),
        K.LFS_POINTER,
    ),
    ("parquet", _parquet, K.PARQUET),
    ("arrow-file", lambda: _arrow(False), K.ARROW),
    ("arrow-stream", lambda: _arrow(True), K.ARROW_STREAM),
    ("hdf5", lambda: b"\x89HDF\r\n\x1a\n" + bytes(100), K.HDF5),
    ("safetensors", _safetensors, K.SAFETENSORS),
    ("gguf", lambda: b"GGUF\x03\x00\x00\x00" + bytes(40), K.GGUF),
    ("npy", lambda: _npy(np.arange(4)), K.NUMPY),
    (
        "html",
        lambda: b"<!DOCTYPE html>\n<html><body><script>alert(1)</script></body></html>",
        K.HTML,
    ),
    ("svg", lambda: b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>', K.SVG),
    ("pdf", lambda: b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n", K.PDF),
    ("png", lambda: _png(4, 4, 0), K.IMAGE),
    ("jpeg", lambda: b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(50), K.IMAGE),
    ("wav", lambda: b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(40), K.AUDIO),
    ("ole2", lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500), K.OFFICE),
    ("json", lambda: b'{"a": [1, 2, 3], "b": null}', K.JSON),
    ("json-array", lambda: b"[1, 2, 3]\n", K.JSON),
    ("jsonl", lambda: b'{"a": 1}\n{"a": 2}\n{"a": 3}\n', K.JSONL),
    ("csv", lambda: b'text,label\nhello,1\n"a, b",0\n', K.CSV),
    ("tsv", lambda: b"a\tb\n1\t2\n", K.CSV),
    ("yaml", lambda: b"name: demo\nsplits:\n  - train\n  - test\n", K.YAML),
    ("text", lambda: b"The quick brown fox.\nJumps over the lazy dog.\n", K.TEXT),
    ("words", lambda: b"cat\ndog\nsheep\nfish\n", K.TEXT),
    ("csv-starting-mz", lambda: b"MZ Corp,1\nAcme,2\n", K.CSV),
    ("random", lambda: bytes((i * 7919 + 13) % 251 for i in range(4096)), K.BINARY),
]


@pytest.mark.parametrize(("label", "make", "kind"), CASES, ids=[c[0] for c in CASES])
def test_sniff_kind(label: str, make: Callable[[], bytes], kind: K) -> None:
    data = make()
    got, detail = sniff(data)
    assert got is kind, f"{label}: {got} ({detail})"
    assert isinstance(detail, str) and detail
    # memoryviews (what the engine passes for mapped files) sniff the same
    assert sniff(memoryview(data))[0] is kind


def test_pickle_then_zip_polyglot_is_both() -> None:
    data = payload_pickle("poly") + _zip(
        {"archive/data.pkl": b"\x80\x02N.", "archive/version": b"3"}
    )
    s = sniff_full(data)
    assert s.kind is K.PICKLE
    assert s.also & {K.ZIP, K.TORCH_ZIP}


def test_unknown_prefix_then_zip_is_a_zip() -> None:
    s = sniff_full(bytes(range(200, 256)) * 3 + _zip({"a.txt": b"x"}))
    assert s.kind is K.ZIP
    assert "prepended" in s.detail


def test_pe_self_extractor_is_pe_and_zip() -> None:
    s = sniff_full(b"MZ" + bytes(200) + _zip({"a.txt": b"x"}))
    assert s.kind is K.PE and K.ZIP in s.also


def test_plain_data_has_no_secondary_kinds() -> None:
    for data in (_parquet(), b"a,b\n1,2\n", _png(2, 2, 1)):
        assert sniff_full(data).also == frozenset()


def test_large_file_is_judged_by_head_and_tail_only() -> None:
    # a zip archive at the end is seen in the tail; the same archive followed by more than the
    # tail window of zeros is not: nothing between head and tail is read
    archive = _zip({"a.txt": b"x"})
    assert K.ZIP in sniff_full(b"MZ" + bytes(64 << 20) + archive).also
    assert sniff_full(b"MZ" + bytes(1 << 20) + archive + bytes(64 << 20)).also == frozenset()
    body = b"PAR1" + bytes(64 << 20) + b"PAR1"
    assert sniff(body)[0] is K.PARQUET


def test_large_text_head_only() -> None:
    # binary bytes past the head would make a whole-file read call this binary
    csv = b"a,b,c\n" + b"1,2,3\n" * (HEAD_BYTES // 6 + 1000)
    assert len(csv) > HEAD_BYTES
    assert sniff(csv + bytes(range(256)) * 4096)[0] is K.CSV


def test_npy_header_and_numeric_check() -> None:
    num = _npy(np.zeros((3, 2), dtype=np.float32))
    obj = _npy(np.array([{"a": 1}, None], dtype=object))
    rec = _npy(np.zeros(2, dtype=[("x", "<f4"), ("y", "O")]))
    assert npy_header(num) is not None and npy_header(num)["shape"] == (3, 2)  # type: ignore[index]
    assert npy_is_numeric(num)
    assert not npy_is_numeric(obj)
    assert not npy_is_numeric(rec)
    assert npy_header(b"\x93NUMPY\x01\x00\x10\x00__import__('os')") is None


def test_truncated_parquet_is_not_trusted() -> None:
    assert sniff(_parquet()[:-8])[0] is K.BINARY


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=4096))
def test_sniff_never_raises_on_random_bytes(data: bytes) -> None:
    s = sniff_full(data)
    assert isinstance(s.kind, K)


@settings(max_examples=100, deadline=None)
@given(
    prefix=st.sampled_from(
        [b"\x80\x04", b"PK\x03\x04", b"{", b"#!", b"(", b"c", b"\x93NUMPY", b"\x1f\x8b"]
    ),
    body=st.binary(max_size=2048),
)
def test_sniff_never_raises_behind_magic(prefix: bytes, body: bytes) -> None:
    assert isinstance(sniff(prefix + body)[0], K)


def test_random_bytes_that_libmagic_calls_a_com_executable_are_not_pe() -> None:
    """libmagic guesses "DOS executable (COM)" from a leading jump opcode; that is no signature."""
    import os as _os

    from datagate.scan.interface import ContentKind

    for first in (b"\xe9", b"\xeb", b"\xb8"):
        data = first + _os.urandom(2047)
        kind, _ = sniff(data)
        assert kind is not ContentKind.PE, (first, kind)
    assert sniff(b"MZ" + b"\0" * 62)[0] is ContentKind.PE
