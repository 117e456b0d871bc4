"""Scientific data formats that can carry code: IDL save files with compiled routines.

IDL's ``RESTORE`` brings back whatever a save file holds, and a save file can hold *compiled
IDL routines* (``COMPILED`` records, written by ``SAVE, /ROUTINES``) next to the variables:
restoring such a "data" file defines procedures and functions that later calls run.
:data:`SCIENTIFIC_SCANNER` walks the record chain (headers only; compressed files keep their
headers uncompressed) and reports

* ``idl.compiled_routine`` (high): the file holds compiled IDL code;
* ``idl.malformed`` (medium): the record chain does not parse (loops, runs past the end or uses
  record types IDL does not define), so the rest of the file was not inspected.

>>> import struct
>>> from datagate.scan.interface import Blob, ContentKind, ScanContext
>>> rec = lambda t, nxt: struct.pack(">iIIi", t, nxt, 0, 0)
>>> data = b"SR\\x00\\x04" + rec(12, 20) + rec(6, 36)
>>> [f.rule for f in SCIENTIFIC_SCANNER.scan(Blob("x.sav", data, kind=ContentKind.IDL_SAVE), ScanContext())]
['idl.compiled_routine']
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from datagate.models import Finding, Severity
from datagate.scan.interface import Blob, ContentKind, ScanContext, ScanItem
from datagate.scan.registry import FAMILY_KINDS, ScannerName

__all__ = ["IDL_RECORD_TYPES", "SCIENTIFIC_SCANNER", "ScientificScanner", "idl_records"]

IDL_RECORD_TYPES = {
    0: "START_MARKER", 1: "COMMON_VARIABLE", 2: "VARIABLE", 3: "SYSTEM_VARIABLE",
    6: "END_MARKER", 10: "TIMESTAMP", 12: "COMPILED", 13: "IDENTIFICATION", 14: "VERSION",
    15: "HEAP_HEADER", 16: "HEAP_DATA", 17: "PROMOTE64", 19: "NOTICE", 20: "DESCRIPTION",
}  # fmt: skip
"""IDL save record types (as read by ``scipy.io.readsav``)."""
_MAX_RECORDS = 1_000_000


def idl_records(data: bytes | memoryview) -> tuple[list[tuple[int, int]], str]:
    """Return ([(offset, record type)], problem) for the record chain of an IDL save file.

    ``problem`` is empty when the chain ends with an END_MARKER inside the data. Raises nothing.
    """
    n = len(data)
    out: list[tuple[int, int]] = []
    pos = 4
    while len(out) < _MAX_RECORDS:
        if pos + 16 > n:
            return out, f"record at {pos} runs past the end ({n} bytes) without an END_MARKER"
        rectype, low, high = struct.unpack(">iII", bytes(data[pos : pos + 12]))
        if rectype not in IDL_RECORD_TYPES:
            return out, f"unknown record type {rectype} at {pos}"
        out.append((pos, rectype))
        if rectype == 6:
            return out, ""
        nxt = low + (high << 32)
        if nxt <= pos:
            return out, f"record at {pos} points back to {nxt}"
        pos = nxt
    return out, f"more than {_MAX_RECORDS} records"


class ScientificScanner:
    """Scanner for IDL save files (see the module docstring)."""

    name = "scientific"
    kinds: frozenset[ContentKind] = FAMILY_KINDS[ScannerName.SCIENTIFIC]

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterator[ScanItem]:
        """Yield ``idl.*`` findings for ``blob``."""
        records, problem = idl_records(blob.data)
        compiled = [off for off, t in records if t == 12]
        if compiled:
            yield Finding(
                path=blob.path,
                member=blob.member,
                rule="idl.compiled_routine",
                category="idl",
                severity=Severity.HIGH,
                message=f"IDL save file holds {len(compiled)} compiled IDL routine(s); RESTORE "
                "defines them and later calls run them",
                evidence={"records": len(compiled), "offsets": compiled[:20]},
            )
        if problem:
            yield Finding(
                path=blob.path,
                member=blob.member,
                rule="idl.malformed",
                category="idl",
                severity=Severity.MEDIUM,
                message=f"IDL save file record chain does not parse ({problem}); the rest was "
                "not inspected",
                evidence={"problem": problem, "records_read": len(records)},
            )


SCIENTIFIC_SCANNER = ScientificScanner()
"""The module-level scanner instance the registry uses."""
