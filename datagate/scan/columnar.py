"""Arrow, Feather and Parquet metadata: extension types, pickles and code in the schema.

Columnar files carry free-form key-value metadata on the schema and on every field, and some
readers act on it: pyarrow < 14.0.1 unpickled the ``ARROW:extension:metadata`` of fields whose
``ARROW:extension:name`` is ``arrow.py_extension_type`` (CVE-2023-47248); other libraries
register extension types whose deserialisers run on read; pandas and Hugging Face ``datasets``
rebuild objects from the ``pandas`` and ``huggingface`` JSON. :data:`COLUMNAR_SCANNER` reads that
metadata **itself** — the Arrow IPC flatbuffers (file footer *and* the stream's schema message)
and the Parquet Thrift footer (including the ``ARROW:schema`` it embeds) — without pyarrow, so
no extension type can be deserialised and nothing is unpickled. It reports

* ``columnar.py_extension_type`` (critical): a field declares ``arrow.py_extension_type``;
* ``columnar.extension_type`` (low; high for types known to pickle their data): any other
  extension type outside the canonical ``arrow.*`` set and the JSON-serialised types of
  pandas and ``datasets``;
* ``columnar.hf_feature_type`` (medium): a Hugging Face feature ``_type`` ``datasets`` does not
  define;
* ``columnar.external_column`` (medium): a Parquet column chunk stored in another file;
* ``columnar.malformed`` (medium): a footer or schema that does not parse (fail closed: the
  metadata was not inspected);
* pickles anywhere in the metadata (raw, latin-1 or base64, also inside JSON values) are handed
  to the pickle scanner as child blobs (``<schema|field>[<key>]`` members), and marshalled
  bytecode is ``payload.marshal`` (high).

``save_to_disk`` folders are Arrow IPC streams plus JSON, so they are covered file by file.

>>> import pyarrow as pa, pyarrow.ipc as ipc
>>> from datagate.scan.interface import Blob, ContentKind, ScanContext
>>> meta = {b"ARROW:extension:name": b"arrow.py_extension_type",
...         b"ARROW:extension:metadata": b"\\x80\\x04N."}
>>> schema = pa.schema([pa.field("x", pa.int8(), metadata=meta)])
>>> sink = pa.BufferOutputStream()
>>> with ipc.new_file(sink, schema) as w:
...     w.write_table(schema.empty_table())
>>> blob = Blob("t.arrow", bytes(sink.getvalue()), name="t.arrow", kind=ContentKind.ARROW)
>>> sorted(getattr(i, "rule", "child:" + str(getattr(i, "member", "")))
...        for i in COLUMNAR_SCANNER.scan(blob, ScanContext()))
['child:field x[ARROW:extension:metadata]', 'columnar.py_extension_type']
"""

from __future__ import annotations

import base64
import binascii
import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from datagate.models import Finding, Severity
from datagate.scan._payloads import embedded_payloads
from datagate.scan.interface import Blob, ContentKind, ScanContext, ScanItem
from datagate.scan.registry import FAMILY_KINDS, ScannerName

__all__ = [
    "MetadataError",
    "avro_metadata",
    "COLUMNAR_SCANNER",
    "ColumnarScanner",
    "KeyValue",
    "arrow_schema_metadata",
    "parquet_metadata",
]

_MAX_FIELDS = 100_000
_MAX_DEPTH = 64
_MAX_FOOTER = 256 * 1024 * 1024

CANONICAL_EXTENSIONS = frozenset(
    {"arrow.fixed_shape_tensor", "arrow.variable_shape_tensor", "arrow.json", "arrow.uuid",
     "arrow.opaque", "arrow.bool8", "arrow.parquet.variant", "arrow.geoarrow.wkb",
     "geoarrow.wkb", "geoarrow.wkt", "geoarrow.point", "geoarrow.linestring", "geoarrow.polygon",
     "geoarrow.multipoint", "geoarrow.multilinestring", "geoarrow.multipolygon", "geoarrow.box",
     "pandas.period", "pandas.interval",
     "datasets.features.features.Array2DExtensionType",
     "datasets.features.features.Array3DExtensionType",
     "datasets.features.features.Array4DExtensionType",
     "datasets.features.features.Array5DExtensionType"}
)  # fmt: skip
"""Extension types whose metadata is JSON or plain text and whose deserialisers build no code."""

PICKLING_EXTENSIONS = frozenset({"ray.data.arrow_pickled_object", "ray.data.arrow_tensor"})
"""Extension types whose owners pickle data or metadata (loading them unpickles)."""

HF_FEATURE_TYPES = frozenset(
    {"Value", "ClassLabel", "Translation", "TranslationVariableLanguages", "Sequence", "List",
     "LargeList", "Array2D", "Array3D", "Array4D", "Array5D", "Audio", "Image", "Video", "Pdf",
     "Nifti"}
)  # fmt: skip
"""``_type`` values the ``datasets`` library defines (``datasets.features.features._FEATURE_TYPES``)."""


class _Malformed(Exception):
    """The bytes do not parse as the format claims."""


class MetadataError(ValueError):
    """Metadata that does not (fully) parse; ``partial`` holds what was read before the break,
    which the scanner still judges (a broken footer must not hide a readable pickle)."""

    def __init__(self, message: str, partial: list[KeyValue] | None = None) -> None:
        super().__init__(message)
        self.partial = partial or []


@dataclass(frozen=True)
class KeyValue:
    """One metadata entry and where it sits (``schema``, ``field a.b``, ``parquet``, ...)."""

    where: str
    """The schema, field path or footer the entry belongs to."""
    key: str
    """The metadata key."""
    value: bytes
    """The raw value."""


@dataclass
class _Meta:
    """What one file's metadata holds."""

    entries: list[KeyValue] = field(default_factory=list)
    """Every key-value pair found."""
    external: list[str] = field(default_factory=list)
    """Parquet column chunks that live in other files (their ``file_path``)."""


# ============================================================================ flatbuffers


class _FB:
    """Bounds-checked reads of a flatbuffer (only what the Arrow schema needs)."""

    def __init__(self, buf: bytes) -> None:
        self.buf = buf

    def _u(self, fmt: str, pos: int) -> int:
        size = struct.calcsize(fmt)
        if pos < 0 or pos + size > len(self.buf):
            raise _Malformed(f"flatbuffer read at {pos} past {len(self.buf)} bytes")
        return int(struct.unpack_from(fmt, self.buf, pos)[0])

    def root(self) -> int:
        return self._u("<I", 0)

    def _field(self, table: int, index: int) -> int:
        vtable = table - self._u("<i", table)
        vsize = self._u("<H", vtable)
        slot = 4 + 2 * index
        if slot + 2 > vsize:
            return 0
        return self._u("<H", vtable + slot)

    def scalar(self, table: int, index: int, fmt: str, default: int = 0) -> int:
        off = self._field(table, index)
        return self._u(fmt, table + off) if off else default

    def ref(self, table: int, index: int) -> int | None:
        off = self._field(table, index)
        if not off:
            return None
        pos = table + off
        return pos + self._u("<I", pos)

    def string(self, table: int, index: int) -> bytes | None:
        pos = self.ref(table, index)
        if pos is None:
            return None
        n = self._u("<I", pos)
        if pos + 4 + n > len(self.buf):
            raise _Malformed("flatbuffer string past the end")
        return self.buf[pos + 4 : pos + 4 + n]

    def tables(self, table: int, index: int) -> list[int]:
        pos = self.ref(table, index)
        if pos is None:
            return []
        n = self._u("<I", pos)
        if n > _MAX_FIELDS or pos + 4 + 4 * n > len(self.buf):
            raise _Malformed(f"flatbuffer vector of {n} entries")
        return [pos + 4 + 4 * i + self._u("<I", pos + 4 + 4 * i) for i in range(n)]


def _kv(fb: _FB, table: int, index: int, where: str, out: list[KeyValue]) -> None:
    for kv in fb.tables(table, index):
        key = fb.string(kv, 0) or b""
        out.append(KeyValue(where, key.decode("utf-8", "replace"), fb.string(kv, 1) or b""))


def _schema(fb: _FB, schema: int, where: str, out: list[KeyValue]) -> None:
    """Collect the schema's and every (nested) field's metadata; Schema: fields=1, metadata=2."""
    _kv(fb, schema, 2, where, out)
    stack = [(f, "") for f in reversed(fb.tables(schema, 1))]
    seen = 0
    while stack:
        f, parent = stack.pop()
        seen += 1
        if seen > _MAX_FIELDS or parent.count(".") > _MAX_DEPTH:
            raise _Malformed("schema nests too many fields")
        name = (fb.string(f, 0) or b"").decode("utf-8", "replace")
        path = f"{parent}.{name}" if parent else name
        _kv(fb, f, 6, f"field {path}", out)  # Field: children=5, custom_metadata=6
        stack.extend((c, path) for c in reversed(fb.tables(f, 5)))


def _message_schema(buf: bytes, where: str, out: list[KeyValue]) -> None:
    """Parse one flatbuffer ``Message``; collect metadata when it is a Schema (header_type 1)."""
    fb = _FB(buf)
    msg = fb.root()
    if fb.scalar(msg, 1, "<B") != 1:
        raise _Malformed("the first IPC message is not a schema")
    header = fb.ref(msg, 2)
    if header is None:
        raise _Malformed("schema message without a header")
    _schema(fb, header, where, out)
    _kv(fb, msg, 4, f"{where} message", out)


def _read_message(data: bytes | memoryview, pos: int) -> bytes:
    """Return the flatbuffer of the encapsulated IPC message at ``pos`` (with or without the
    0xFFFFFFFF continuation marker)."""
    head = bytes(data[pos : pos + 8])
    if len(head) < 4:
        raise _Malformed("no IPC message")
    length = struct.unpack_from("<I", head, 0)[0]
    start = pos + 4
    if length == 0xFFFFFFFF:
        if len(head) < 8:
            raise _Malformed("truncated IPC message")
        length = struct.unpack_from("<I", head, 4)[0]
        start = pos + 8
    if length == 0 or start + length > len(data):
        raise _Malformed(f"IPC message of {length} bytes past the end of the data")
    return bytes(data[start : start + length])


def arrow_schema_metadata(data: bytes | memoryview, *, stream: bool) -> list[KeyValue]:
    """Return every metadata entry of an Arrow IPC file (footer and first message) or stream.

    Raises MetadataError (with the entries read before the break) when the bytes do not parse
    as Arrow IPC.
    """
    out: list[KeyValue] = []
    problems: list[str] = []
    if stream:
        try:
            _message_schema(_read_message(data, 0), "schema", out)
        except _Malformed as exc:
            raise MetadataError(str(exc), out) from exc
        return out
    try:
        _arrow_footer(data, out)
    except _Malformed as exc:
        problems.append(f"footer: {exc}")
    try:
        # a reader that streams the file sees the first message's schema, not the footer's
        _message_schema(_read_message(data, 8), "stream schema", out)
    except _Malformed as exc:
        problems.append(f"first message: {exc}")
    if problems:
        raise MetadataError("; ".join(problems), out)
    return out


def _arrow_footer(data: bytes | memoryview, out: list[KeyValue]) -> None:
    n = len(data)
    if n < 18 or bytes(data[:6]) != b"ARROW1" or bytes(data[n - 6 :]) != b"ARROW1":
        raise _Malformed("Arrow file without both ARROW1 magics")
    flen = struct.unpack_from("<i", bytes(data[n - 10 : n - 6]))[0]
    if flen <= 0 or flen > n - 18:
        raise _Malformed(f"Arrow footer length {flen} does not fit the file")
    fb = _FB(bytes(data[n - 10 - flen : n - 10]))
    footer = fb.root()
    schema = fb.ref(footer, 1)
    if schema is not None:
        _schema(fb, schema, "schema", out)
    _kv(fb, footer, 4, "footer", out)


# ============================================================================ Thrift (compact)


class _Thrift:
    """A bounded reader of the Thrift compact protocol (Parquet's footer encoding)."""

    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        self.pos = 0
        self.budget = 5_000_000

    def _byte(self) -> int:
        if self.pos >= len(self.buf):
            raise _Malformed("Thrift data ends early")
        b = self.buf[self.pos]
        self.pos += 1
        return b

    def varint(self) -> int:
        shift = result = 0
        while True:
            b = self._byte()
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7
            if shift > 70:
                raise _Malformed("Thrift varint too long")

    def zigzag(self) -> int:
        v = self.varint()
        return (v >> 1) ^ -(v & 1)

    def binary(self) -> bytes:
        n = self.varint()
        if n > len(self.buf) - self.pos:
            raise _Malformed("Thrift string past the end")
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out

    def value(self, ttype: int, depth: int) -> Any:
        self.budget -= 1
        if self.budget < 0 or depth > _MAX_DEPTH:
            raise _Malformed("Thrift footer too large or too deep")
        if ttype in (1, 2):
            return ttype == 1
        if ttype == 3:
            return self._byte()
        if ttype in (4, 5, 6):
            return self.zigzag()
        if ttype == 7:
            self.pos += 8
            if self.pos > len(self.buf):
                raise _Malformed("Thrift double past the end")
            return None
        if ttype == 8:
            return self.binary()
        if ttype in (9, 10):
            head = self._byte()
            size, etype = head >> 4, head & 0x0F
            if size == 15:
                size = self.varint()
            if size > len(self.buf) - self.pos + 1:
                raise _Malformed("Thrift list longer than the data")
            if etype in (1, 2):
                return [self._byte() == 1 for _ in range(size)]
            return [self.value(etype, depth + 1) for _ in range(size)]
        if ttype == 11:
            size = self.varint()
            if size == 0:
                return {}
            kinds = self._byte()
            if size > len(self.buf) - self.pos:
                raise _Malformed("Thrift map longer than the data")
            return {
                self.value(kinds >> 4, depth + 1): self.value(kinds & 0x0F, depth + 1)
                for _ in range(size)
            }
        if ttype == 12:
            return self.struct(depth + 1)
        raise _Malformed(f"Thrift type {ttype}")

    def struct(self, depth: int = 0) -> dict[int, Any]:
        out: dict[int, Any] = {}
        last = 0
        while True:
            head = self._byte()
            if head == 0:
                return out
            delta, ttype = head >> 4, head & 0x0F
            fid = last + delta if delta else self.zigzag()
            last = fid
            out[fid] = self.value(ttype, depth)


def _parquet_kv(items: Any, where: str, out: list[KeyValue]) -> None:
    if not isinstance(items, list):
        return
    for kv in items:
        if isinstance(kv, dict) and isinstance(kv.get(1), bytes):
            value = kv.get(2)
            out.append(
                KeyValue(
                    where,
                    kv[1].decode("utf-8", "replace"),
                    value if isinstance(value, bytes) else b"",
                )
            )


def parquet_metadata(data: bytes | memoryview) -> _Meta:
    """Return the key-value metadata of a Parquet footer (file and column chunks) and the
    embedded ``ARROW:schema``'s. Raises MetadataError (with what was read) when the footer
    does not parse."""
    n = len(data)
    meta = _Meta()
    try:
        if n < 12 or bytes(data[n - 4 :]) != b"PAR1":
            raise _Malformed("no PAR1 footer magic")
        flen = struct.unpack_from("<I", bytes(data[n - 8 : n - 4]))[0]
        if flen == 0 or flen > n - 12 or flen > _MAX_FOOTER:
            raise _Malformed(f"footer length {flen} does not fit the file")
        fmd = _Thrift(bytes(data[n - 8 - flen : n - 8])).struct()
        _parquet_kv(fmd.get(5), "parquet", meta.entries)
        for rg_i, rg in enumerate(_list(fmd.get(4))):
            if not isinstance(rg, dict):
                continue
            for col_i, chunk in enumerate(_list(rg.get(1))):
                if not isinstance(chunk, dict):
                    continue
                path = chunk.get(1)
                if isinstance(path, bytes) and path:
                    meta.external.append(path.decode("utf-8", "replace"))
                md = chunk.get(3)
                if isinstance(md, dict):
                    _parquet_kv(md.get(8), f"row group {rg_i} column {col_i}", meta.entries)
        for kv in list(meta.entries):
            if kv.key == "ARROW:schema":
                raw = _unbase64(kv.value)
                if raw is None:
                    raise _Malformed("ARROW:schema is not base64")
                _message_schema(_read_message(raw, 0), "ARROW:schema", meta.entries)
    except _Malformed as exc:
        raise MetadataError(str(exc), meta.entries) from exc
    return meta


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _unbase64(value: bytes) -> bytes | None:
    try:
        return base64.b64decode(value + b"=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


# ============================================================================ Avro


def _avro_long(buf: bytes, pos: int) -> tuple[int, int]:
    from datagate.scan._protobuf import PbError, read_varint

    try:
        raw, pos = read_varint(buf, pos)
    except PbError as exc:
        raise _Malformed(f"Avro header: {exc}") from exc
    return (raw >> 1) ^ -(raw & 1), pos


def avro_metadata(data: bytes | memoryview) -> list[KeyValue]:
    """Return the header metadata map of an Avro object container file (``avro.schema``,
    ``avro.codec`` and any user keys). Raises ValueError when the header does not parse."""
    buf = bytes(data[: 64 << 20])
    out: list[KeyValue] = []
    try:
        if buf[:4] != b"Obj\x01":
            raise _Malformed("no Avro magic")
        pos = 4
        while True:
            count, pos = _avro_long(buf, pos)
            if count == 0:
                break
            if count < 0:
                count = -count
                _size, pos = _avro_long(buf, pos)
            if count > _MAX_FIELDS:
                raise _Malformed(f"Avro metadata map of {count} entries")
            for _ in range(count):
                parts: list[bytes] = []
                for _k in range(2):
                    n, pos = _avro_long(buf, pos)
                    if n < 0 or pos + n > len(buf):
                        raise _Malformed("Avro metadata entry past the end")
                    parts.append(buf[pos : pos + n])
                    pos += n
                out.append(KeyValue("avro", parts[0].decode("utf-8", "replace"), parts[1]))
        if pos + 16 > len(buf):
            raise _Malformed("Avro header without its sync marker")
    except _Malformed as exc:
        raise MetadataError(str(exc), out) from exc
    return out


# ============================================================================ the scanner


def _finding(blob: Blob, rule: str, sev: Severity, message: str, **evidence: Any) -> Finding:
    return Finding(
        path=blob.path,
        member=blob.member,
        rule=rule,
        category="columnar",
        severity=sev,
        message=message,
        evidence=evidence,
    )


class ColumnarScanner:
    """Scanner for Arrow IPC files/streams and Parquet footers (see the module docstring)."""

    name = "columnar"
    kinds: frozenset[ContentKind] = FAMILY_KINDS[ScannerName.COLUMNAR]

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterator[ScanItem]:
        """Yield findings and child pickle blobs for the metadata of ``blob``."""
        meta = _Meta()
        try:
            if blob.kind is ContentKind.PARQUET:
                meta = parquet_metadata(blob.data)
            elif blob.kind is ContentKind.AVRO:
                meta.entries = avro_metadata(blob.data)
            else:
                meta.entries = arrow_schema_metadata(
                    blob.data, stream=blob.kind is ContentKind.ARROW_STREAM
                )
        except (ValueError, RecursionError, MemoryError) as exc:
            kind = blob.kind.value if blob.kind else "columnar"
            meta.entries = exc.partial if isinstance(exc, MetadataError) else []
            yield _finding(
                blob,
                "columnar.malformed",
                Severity.MEDIUM,
                f"{kind} metadata does not parse ({exc}); "
                + (
                    "what came before the break was inspected"
                    if meta.entries
                    else "its schema was not inspected"
                ),
                error=str(exc)[:300],
            )
        for path in meta.external[:1]:
            yield _finding(
                blob,
                "columnar.external_column",
                Severity.MEDIUM,
                f"{len(meta.external)} Parquet column chunk(s) are stored in another file "
                f"({path!r}); a reader follows that path",
                paths=meta.external[:20],
            )
        seen: set[tuple[str, str, bytes]] = set()
        for kv in meta.entries:
            if (kv.where, kv.key, kv.value) in seen:
                continue
            seen.add((kv.where, kv.key, kv.value))
            yield from self._entry(blob, kv)

    def _entry(self, blob: Blob, kv: KeyValue) -> Iterator[ScanItem]:
        label = f"{kv.where}[{kv.key}]"
        if kv.key == "ARROW:extension:name":
            name = kv.value.decode("utf-8", "replace")
            if name == "arrow.py_extension_type":
                yield _finding(
                    blob,
                    "columnar.py_extension_type",
                    Severity.CRITICAL,
                    f"{kv.where} is a pyarrow PyExtensionType (arrow.py_extension_type): its "
                    "metadata is a pickle that pyarrow < 14.0.1 unpickles on read (CVE-2023-47248)",
                    where=kv.where,
                    extension=name,
                    cve="CVE-2023-47248",
                )
            elif name in PICKLING_EXTENSIONS:
                yield _finding(
                    blob,
                    "columnar.extension_type",
                    Severity.HIGH,
                    f"{kv.where} is the extension type {name!r}, whose owner unpickles its data "
                    "or metadata when it is registered",
                    where=kv.where,
                    extension=name,
                )
            elif name not in CANONICAL_EXTENSIONS:
                yield _finding(
                    blob,
                    "columnar.extension_type",
                    Severity.LOW,
                    f"{kv.where} is the extension type {name!r}; a library that registers it "
                    "runs its deserialiser on read",
                    where=kv.where,
                    extension=name[:200],
                )
            return
        if kv.key == "huggingface":
            yield from self._hf(blob, kv, label)
        yield from embedded_payloads(blob, label, kv.value)

    def _hf(self, blob: Blob, kv: KeyValue, label: str) -> Iterator[ScanItem]:
        try:
            doc = json.loads(kv.value)
        except (ValueError, RecursionError):
            yield _finding(
                blob,
                "columnar.malformed",
                Severity.MEDIUM,
                f"{label} is not JSON; the datasets library cannot read it",
                where=kv.where,
            )
            return
        info = doc.get("info") if isinstance(doc, dict) else None
        features = info.get("features") if isinstance(info, dict) else None
        unknown: set[str] = set()
        stack: list[Any] = [features]
        budget = 100_000
        while stack and budget:
            budget -= 1
            v = stack.pop()
            if isinstance(v, dict):
                t = v.get("_type")
                if isinstance(t, str) and t not in HF_FEATURE_TYPES:
                    unknown.add(t)
                stack.extend(v.values())
            elif isinstance(v, list):
                stack.extend(v)
        if unknown:
            yield _finding(
                blob,
                "columnar.hf_feature_type",
                Severity.MEDIUM,
                f"Hugging Face features use type(s) the datasets library does not define: "
                f"{', '.join(sorted(unknown)[:5])}",
                where=kv.where,
                types=sorted(unknown)[:20],
            )


COLUMNAR_SCANNER = ColumnarScanner()
"""The module-level scanner instance the registry uses."""
