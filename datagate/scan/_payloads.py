"""Find code hidden in metadata values: pickles (raw or base64) and marshalled Python bytecode.

Shared by the scanners of formats whose metadata is free-form (Arrow/Parquet key-value
metadata, HDF5 attributes, Keras configs, safetensors ``__metadata__``). A pickle is never
judged here: it is handed back as a child :class:`~datagate.scan.interface.Blob`, which the
engine sniffs and the pickle scanner walks statically (never unpickled). Marshalled code
objects are reported directly (nothing but running them can tell what they do).

>>> import base64, marshal
>>> from datagate.scan.interface import Blob
>>> parent = Blob("m.parquet", b"", name="m.parquet")
>>> items = list(embedded_payloads(parent, "schema[pandas]", b"\\x80\\x04N."))
>>> [type(i).__name__ for i in items], items[0].member
(['Blob'], 'schema[pandas]')
>>> code = base64.b64encode(marshal.dumps(compile("1", "x", "eval"))).decode()
>>> [f.rule for f in embedded_payloads(parent, "config", code)]
['payload.marshal']
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from typing import Any

from datagate.models import Finding, Severity
from datagate.scan._patterns import lazy_compile
from datagate.scan.interface import Blob, ScanItem

__all__ = ["MAX_VALUES", "embedded_payloads", "is_marshal", "walk_strings"]

MAX_VALUES = 100_000
"""Most JSON strings examined in one metadata value (deeper or wider values are cut off)."""

_B64 = lazy_compile(r"[A-Za-z0-9+/\r\n]{16,}={0,2}|[A-Za-z0-9_\-\r\n]{16,}={0,2}")


def is_marshal(raw: bytes) -> bool:
    """Return True when ``raw`` starts like a marshalled code object (CPython 3 layout)."""
    if len(raw) < 20 or raw[0] not in (0xE3, 0x63):
        return False
    # argcount, posonlyargcount, kwonlyargcount, (nlocals,) stacksize, flags: small int32s
    ints = [int.from_bytes(raw[i : i + 4], "little") for i in range(1, 17, 4)]
    return all(v < 1 << 16 for v in ints)


def _looks_pickle(raw: bytes) -> bool:
    from datagate.scan.pickles import looks_like_pickle

    if len(raw) < 4:
        return False
    if raw[0] == 0x80:
        return 2 <= raw[1] <= 5
    # protocol 0/1: the first opcodes must parse (a truncated stream still counts: a payload
    # runs before the stream breaks, THREATS.md B1)
    return raw[:1] in (b"c", b"(", b"]", b"}") and looks_like_pickle(raw)


def _b64(text: str) -> bytes | None:
    s = text.strip()
    if len(s) < 16 or _B64.fullmatch(s) is None:
        return None
    try:
        if "-" in s or "_" in s:
            return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
        return base64.b64decode(s + "=" * (-len(s) % 4), validate=False)
    except (binascii.Error, ValueError):
        return None


def walk_strings(
    value: Any, path: str = "", budget: list[int] | None = None
) -> Iterator[tuple[str, str]]:
    """Yield (json path, string) for every string in a parsed JSON value, bounded by MAX_VALUES."""
    budget = budget if budget is not None else [MAX_VALUES]
    stack: list[tuple[str, Any]] = [(path, value)]
    while stack and budget[0] > 0:
        where, v = stack.pop()
        budget[0] -= 1
        if isinstance(v, str):
            yield where, v
        elif isinstance(v, dict):
            stack.extend(
                (f"{where}.{k}" if where else str(k), x) for k, x in reversed(list(v.items()))
            )
        elif isinstance(v, list):
            stack.extend((f"{where}[{i}]", x) for i, x in reversed(list(enumerate(v))))


def _marshal_finding(parent: Blob, where: str, raw: bytes) -> Finding:
    return Finding(
        path=parent.path,
        member=parent.member,
        rule="payload.marshal",
        category="payload",
        severity=Severity.HIGH,
        message=f"{where} holds marshalled Python bytecode; a loader that rebuilds it runs "
        "arbitrary code",
        evidence={"where": where, "bytes": len(raw), "head": raw[:16].hex()},
    )


def _child(parent: Blob, where: str, raw: bytes) -> Blob:
    return parent.child(where, raw)


def embedded_payloads(parent: Blob, where: str, value: bytes | str) -> Iterator[ScanItem]:
    """Yield child blobs for pickles and findings for marshalled code found in ``value``.

    ``where`` names the value inside ``parent`` (it becomes the child's member name). A value is
    looked at raw, as base64, and, when it is JSON, string by string. Raises nothing.
    """
    raw = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else bytes(value)
    if _looks_pickle(raw):
        yield _child(parent, where, raw)
        return
    if is_marshal(raw):
        yield _marshal_finding(parent, where, raw)
        return
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return
    decoded = _b64(text)
    if decoded is not None:
        yield from _decoded(parent, where + " (base64)", decoded)
        return
    s = text.lstrip()
    if s[:1] not in ("{", "["):
        return
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        return
    yield from json_payloads(parent, where, doc)


def json_payloads(parent: Blob, where: str, doc: Any) -> Iterator[ScanItem]:
    """Yield child blobs/findings for pickles or marshalled code in the strings of ``doc``."""
    for path, s in walk_strings(doc):
        label = f"{where}:{path}" if path else where
        if len(s) >= 4 and s[0] in "\x80c(]}" and _looks_pickle(s.encode("latin-1", "replace")):
            yield _child(parent, label, s.encode("latin-1", "replace"))
            continue
        decoded = _b64(s)
        if decoded is not None:
            yield from _decoded(parent, label + " (base64)", decoded)


def _decoded(parent: Blob, where: str, raw: bytes) -> Iterator[ScanItem]:
    if _looks_pickle(raw):
        yield _child(parent, where, raw)
    elif is_marshal(raw):
        yield _marshal_finding(parent, where, raw)
