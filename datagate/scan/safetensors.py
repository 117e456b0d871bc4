"""safetensors: the header is checked against the file, never trusted.

A safetensors file is an 8-byte little-endian header length, a JSON header mapping tensor names
to ``{"dtype", "shape", "data_offsets"}`` (plus an optional ``__metadata__`` of strings), then
the tensor bytes. The format holds no code, but a loader trusts the header: a length or offsets
past the end of the file, sizes that disagree with the shapes, or bytes no tensor owns (where a
second payload can hide) are how a malformed file attacks or smuggles. :data:`SAFETENSORS_SCANNER`
reports

* ``safetensors.header_past_eof`` (high): the header length runs past the end of the file;
* ``safetensors.malformed`` (high): the header is not a UTF-8 JSON object of valid entries;
* ``safetensors.offsets_past_eof`` (high): a tensor's bytes run past the end of the file;
* ``safetensors.inconsistent`` (high): a tensor's offsets do not span dtype size x shape bytes;
* ``safetensors.absurd_size`` (high): header over safetensors' own 100 MB limit, shapes of more
  than 2**50 elements or 64 dimensions;
* ``safetensors.layout`` (medium): tensors overlap, or leave gaps or trailing bytes; the bytes
  no tensor owns are handed on as child blobs, so a pickle or archive hidden there is scanned;
* ``safetensors.metadata_size`` (medium): ``__metadata__`` over 1 MiB or not string-to-string;
* pickles and marshalled code in ``__metadata__`` values, as for other formats.

>>> import json, struct
>>> from datagate.scan.interface import Blob, ContentKind, ScanContext
>>> hdr = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
>>> ok = struct.pack("<Q", len(hdr)) + hdr + bytes(8)
>>> list(SAFETENSORS_SCANNER.scan(Blob("m.safetensors", ok, kind=ContentKind.SAFETENSORS), ScanContext()))
[]
>>> bad = struct.pack("<Q", len(hdr)) + hdr + bytes(4)
>>> [f.rule for f in SAFETENSORS_SCANNER.scan(Blob("m.safetensors", bad, kind=ContentKind.SAFETENSORS), ScanContext())]
['safetensors.offsets_past_eof']
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from typing import Any

from datagate.models import Finding, Severity
from datagate.scan._payloads import embedded_payloads
from datagate.scan.interface import Blob, ContentKind, ScanContext, ScanItem
from datagate.scan.registry import FAMILY_KINDS, ScannerName

__all__ = ["DTYPE_BITS", "SAFETENSORS_SCANNER", "SafetensorsScanner"]

DTYPE_BITS: dict[str, int] = {
    "BOOL": 8, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8, "I16": 16, "U16": 16,
    "F16": 16, "BF16": 16, "I32": 32, "U32": 32, "F32": 32, "I64": 64, "U64": 64, "F64": 64,
    "C64": 64, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6,
}  # fmt: skip
"""Bits per element of every dtype the safetensors format defines."""

MAX_HEADER = 100_000_000
"""safetensors' own header limit (``MAX_HEADER_SIZE`` in the reference implementation)."""
MAX_METADATA = 1 << 20
MAX_ELEMENTS = 1 << 50
MAX_DIMS = 64
_MAX_EVIDENCE = 10


def _f(blob: Blob, rule: str, sev: Severity, message: str, **evidence: Any) -> Finding:
    return Finding(blob.path, rule, "safetensors", sev, message, blob.member, evidence)


class SafetensorsScanner:
    """Scanner for safetensors files (see the module docstring)."""

    name = "safetensors"
    kinds: frozenset[ContentKind] = FAMILY_KINDS[ScannerName.SAFETENSORS]

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterator[ScanItem]:
        """Yield findings (and child blobs for unowned bytes and metadata pickles)."""
        n = blob.size
        if n < 8:
            yield _f(
                blob,
                "safetensors.malformed",
                Severity.HIGH,
                "shorter than the 8-byte header length",
            )
            return
        hlen = int(struct.unpack_from("<Q", bytes(blob.data[:8]))[0])
        if hlen > n - 8:
            yield _f(
                blob,
                "safetensors.header_past_eof",
                Severity.HIGH,
                f"the header claims {hlen} bytes but only {n - 8} follow; a loader reads past the "
                "end of the file",
                header_length=hlen,
                file_size=n,
            )
            return
        if hlen > MAX_HEADER:
            yield _f(
                blob,
                "safetensors.absurd_size",
                Severity.HIGH,
                f"header of {hlen} bytes exceeds safetensors' limit of {MAX_HEADER}",
                header_length=hlen,
            )
            return
        try:
            header = json.loads(bytes(blob.data[8 : 8 + hlen]).decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            yield _f(
                blob, "safetensors.malformed", Severity.HIGH, f"the header is not JSON ({exc})"
            )
            return
        if not isinstance(header, dict):
            yield _f(
                blob, "safetensors.malformed", Severity.HIGH, "the header is not a JSON object"
            )
            return
        data_len = n - 8 - hlen
        meta = header.pop("__metadata__", None)
        if meta is not None:
            yield from self._metadata(blob, meta)
        problems: dict[str, list[dict[str, Any]]] = {}
        spans: list[tuple[int, int, str]] = []
        for name, entry in header.items():
            rule, why, span = self._tensor(name, entry, data_len)
            if rule:
                problems.setdefault(rule, []).append({"tensor": name[:200], "problem": why})
            if span is not None:
                spans.append(span)
        messages = {
            "safetensors.malformed": "tensor entries are not valid safetensors entries",
            "safetensors.offsets_past_eof": "tensor bytes run past the end of the file",
            "safetensors.inconsistent": "tensor offsets do not match dtype size x shape",
            "safetensors.absurd_size": "tensor shapes are absurdly large",
        }
        for rule, items in problems.items():
            yield _f(
                blob,
                rule,
                Severity.HIGH,
                f"{len(items)} {messages[rule]}",
                count=len(items),
                tensors=items[:_MAX_EVIDENCE],
            )
        yield from self._layout(blob, spans, data_len, 8 + hlen)

    @staticmethod
    def _tensor(
        name: str, entry: Any, data_len: int
    ) -> tuple[str, str, tuple[int, int, str] | None]:
        """Return (rule or "", problem, byte span) for one header entry."""
        if not isinstance(entry, dict):
            return "safetensors.malformed", "entry is not an object", None
        dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
            or not 0 <= offsets[0] <= offsets[1]
        ):
            return (
                "safetensors.malformed",
                "data_offsets is not [begin, end] with begin <= end",
                None,
            )
        begin, end = offsets
        span = (begin, min(end, data_len), name)
        if end > data_len:
            return "safetensors.offsets_past_eof", f"ends at {end}, data is {data_len} bytes", span
        if dtype not in DTYPE_BITS:
            return "safetensors.malformed", f"unknown dtype {str(dtype)[:40]!r}", span
        if not isinstance(shape, list) or not all(
            isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
        ):
            return "safetensors.malformed", "shape is not a list of non-negative integers", span
        if len(shape) > MAX_DIMS:
            return "safetensors.absurd_size", f"{len(shape)} dimensions", span
        elements = 1
        for d in shape:
            elements *= d
            if elements > MAX_ELEMENTS:
                return "safetensors.absurd_size", f"shape {shape[:8]} has over 2**50 elements", span
        size = (elements * DTYPE_BITS[dtype] + 7) // 8
        if size != end - begin:
            return (
                "safetensors.inconsistent",
                f"{dtype} {shape} needs {size} bytes, offsets span {end - begin}",
                span,
            )
        return "", "", span

    def _metadata(self, blob: Blob, meta: Any) -> Iterator[ScanItem]:
        raw = json.dumps(meta)
        if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
            yield _f(
                blob,
                "safetensors.metadata_size",
                Severity.MEDIUM,
                "__metadata__ is not a string-to-string mapping (safetensors loaders reject it)",
            )
        elif len(raw) > MAX_METADATA:
            yield _f(
                blob,
                "safetensors.metadata_size",
                Severity.MEDIUM,
                f"__metadata__ is {len(raw)} bytes (over {MAX_METADATA})",
                bytes=len(raw),
            )
        if isinstance(meta, dict):
            for k, v in list(meta.items())[:10_000]:
                if isinstance(v, str):
                    yield from embedded_payloads(blob, f"__metadata__[{str(k)[:100]}]", v)

    @staticmethod
    def _layout(
        blob: Blob, spans: list[tuple[int, int, str]], data_len: int, base: int
    ) -> Iterator[ScanItem]:
        spans.sort()
        pos = 0
        overlaps: list[str] = []
        holes: list[tuple[int, int]] = []
        for begin, end, name in spans:
            if begin < pos:
                if begin != end:
                    overlaps.append(name[:200])
            elif begin > pos:
                holes.append((pos, begin))
            pos = max(pos, end)
        if pos < data_len:
            holes.append((pos, data_len))
        if not overlaps and not holes:
            return
        unowned = sum(e - b for b, e in holes)
        yield _f(
            blob,
            "safetensors.layout",
            Severity.MEDIUM,
            f"tensor data does not tile the file: {len(overlaps)} overlapping tensor(s), "
            f"{unowned} byte(s) no tensor owns",
            overlapping=overlaps[:_MAX_EVIDENCE],
            unowned=[[base + b, base + e] for b, e in holes[:_MAX_EVIDENCE]],
        )
        for b, e in holes[:_MAX_EVIDENCE]:
            if e - b >= 2:
                yield blob.child(
                    f"unowned bytes {base + b}-{base + e}", blob.data[base + b : base + e]
                )


SAFETENSORS_SCANNER = SafetensorsScanner()
"""The module-level scanner instance the registry uses."""
