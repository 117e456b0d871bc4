"""Shared helpers for the pickle analyser tests: build the fixtures once, unwrap compression."""

from __future__ import annotations

import gzip
import zlib
from functools import lru_cache
from pathlib import Path

from hypothesis import strategies as st

from datagate.models import Finding
from datagate.scan.interface import Blob, ContentKind, ScanContext
from datagate.scan.pickles import PICKLE_SCANNER
from fixtures.gen.common import Sample
from fixtures.gen.pickles import build

__all__ = ["EDITS", "built", "mutate", "payload_bytes", "scan_bytes", "scan_sample"]


@lru_cache(maxsize=4)
def built(root: Path) -> tuple[Sample, ...]:
    """Return the samples of ``fixtures.gen.pickles.build`` written under ``root`` (once)."""
    return tuple(build(root))


def payload_bytes(sample: Sample, root: Path) -> bytes:
    """Return the bytes the pickle scanner receives for ``sample``.

    Compression wrappers (B11) are the container scanner's job; here they are unwrapped the way
    the engine hands the decompressed member on.
    """
    data = sample.path(root).read_bytes()
    if data[:2] == b"\x1f\x8b":
        return gzip.decompress(data)
    if data[:1] == b"\x78":
        return zlib.decompress(data)
    return data


def scan_bytes(data: bytes, name: str = "x.pkl", ctx: ScanContext | None = None) -> list[Finding]:
    """Return the findings of the pickle scanner on ``data``."""
    kind = ContentKind.NUMPY if data[:6] == b"\x93NUMPY" else ContentKind.PICKLE
    blob = Blob(f"d/{name}", data, name=name, kind=kind)
    out = list(PICKLE_SCANNER.scan(blob, ctx or ScanContext()))
    assert all(isinstance(f, Finding) for f in out)
    return [f for f in out if isinstance(f, Finding)]


def scan_sample(sample: Sample, root: Path) -> list[Finding]:
    """Return the findings of the pickle scanner on a generated sample."""
    return scan_bytes(payload_bytes(sample, root), Path(sample.relpath).name)


EDITS = st.lists(
    st.tuples(st.sampled_from(["flip", "insert", "delete", "truncate"]),
              st.integers(0, 1 << 20), st.integers(0, 255)),
    min_size=1, max_size=6,
)  # fmt: skip
"""Byte-level edits for :func:`mutate`: (what, where, byte)."""


def mutate(data: bytes, edits: list[tuple[str, int, int]]) -> bytes:
    """Return ``data`` with ``edits`` applied: a byte flipped, inserted or deleted, or a cut."""
    buf = bytearray(data)
    for kind, where, value in edits:
        if not buf:
            break
        i = where % len(buf)
        if kind == "flip":
            buf[i] = value
        elif kind == "insert":
            buf[i:i] = bytes([value])
        elif kind == "delete":
            del buf[i]
        else:
            del buf[i:]
    return bytes(buf)
