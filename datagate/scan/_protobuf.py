"""A minimal protobuf wire-format reader: enough to walk a TF SavedModel without TensorFlow.

>>> list(pb_fields(b"\\x08\\x01\\x12\\x02hi"))
[(1, 0, 1), (2, 2, b'hi')]
>>> looks_like_savedmodel(b"\\x08\\x01\\x12\\x02\\x0a\\x00")
'saved_model'
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

__all__ = ["PbError", "looks_like_savedmodel", "pb_fields", "read_varint", "sub_messages"]


class PbError(Exception):
    """The bytes are not the protobuf message expected."""


def read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    """Return (value, next position) of the base-128 varint at ``pos`` (protobuf, Avro, Thrift
    compact all use it). Raises PbError when it runs past the end or past 64 bits."""
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise PbError("varint past the end")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise PbError("varint too long")


def pb_fields(buf: bytes) -> Iterator[tuple[int, int, Any]]:
    """Yield (field number, wire type, value) of a protobuf message; LEN values are bytes.

    Raises PbError for malformed wire data.
    """
    pos, n = 0, len(buf)
    while pos < n:
        key, pos = read_varint(buf, pos)
        field, wire = key >> 3, key & 7
        if field == 0:
            raise PbError("field number 0")
        value: int | bytes
        if wire == 0:
            value, pos = read_varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos : pos + 8], pos + 8
        elif wire == 2:
            length, pos = read_varint(buf, pos)
            if pos + length > n:
                raise PbError("length-delimited field past the end")
            value, pos = buf[pos : pos + length], pos + length
        elif wire == 5:
            value, pos = buf[pos : pos + 4], pos + 4
        else:
            raise PbError(f"wire type {wire}")
        if pos > n:
            raise PbError("field past the end")
        yield field, wire, value


def sub_messages(buf: bytes, *path: int) -> Iterator[bytes]:
    """Yield every LEN sub-message reached by following field numbers ``path``."""
    if not path:
        yield buf
        return
    for field, wire, value in pb_fields(buf):
        if field == path[0] and wire == 2:
            yield from sub_messages(value, *path[1:])


def looks_like_savedmodel(data: bytes | memoryview) -> str | None:
    """Return "saved_model" or "keras_metadata" when ``data`` parses as that protobuf, else None."""
    n = len(data)
    if n < 4 or n > 1 << 31:
        return None
    head = bytes(data[:3])
    if head[:1] == b"\x08" and head[1:2] in (b"\x00", b"\x01") and head[2:3] == b"\x12":
        kind = "saved_model"
    elif head[:1] == b"\x0a" and b'"class_name"' in bytes(data[:65536]):
        kind = "keras_metadata"
    else:
        return None
    try:
        fields = {(f, w) for f, w, _ in pb_fields(bytes(data))}
    except PbError:
        return None
    allowed = {(1, 0), (2, 2)} if kind == "saved_model" else {(1, 2)}
    return kind if fields and fields <= allowed else None
