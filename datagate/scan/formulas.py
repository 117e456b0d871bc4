"""Spreadsheet formula injection in CSV, TSV and XLSX data (CWE-1236).

Data that is opened in a spreadsheet program is *evaluated* there: a cell that starts with
``=``, ``+``, ``-`` or ``@`` (or with a tab or carriage return and then one of those) is a
formula. :data:`FORMULA_SCANNER` reports

* ``formula.injection`` (medium): cells that would be formulas. ``=`` followed by anything is
  a formula; for ``+``, ``-`` and ``@`` a cell is reported only when the rest carries letters or
  the reference characters ``|``, ``!``, ``"``, ``'`` — so numbers such as ``-3.5``, ``+1e5`` or
  ``-(555) 123`` and dashes such as ``--`` are data;
* ``formula.command`` (high): the forms that run programs or reach the network when the sheet
  is opened — DDE (``cmd|' /C calc'!A0``, ``=DDE(``, ``DDEAUTO``), ``HYPERLINK``,
  ``WEBSERVICE``, ``FILTERXML``, ``IMPORTXML``/``IMPORTDATA``/``IMPORTHTML``/``IMPORTFEED``/
  ``IMPORTRANGE``, ``CALL``/``REGISTER``/``EXEC``;
* for XLSX, stored formulas (``<f>`` elements) are judged the same way as text cells.

One finding per rule and file, with the number of cells and the first cells as evidence
(``cell`` in A1 notation, 1-based ``row`` as a spreadsheet shows it, 1-based ``column``, the
header name for CSV, and the value). XLSX is read with :mod:`zipfile` over the bytes in memory
(never extracted), members bounded by the size limits, XML searched with bounded regular
expressions (no XML parser, so no entity expansion).

>>> from datagate.scan.interface import Blob, ContentKind, ScanContext
>>> data = b"name,score\\nalice,-3.5\\n=cmd|' /C calc'!A0,1\\n"
>>> blob = Blob("a.csv", data, name="a.csv", kind=ContentKind.CSV)
>>> [(f.rule, f.evidence["cells"][0]["cell"]) for f in FORMULA_SCANNER.scan(blob, ScanContext())]
[('formula.command', 'A3')]
"""

from __future__ import annotations

import csv
import html
import re
import sys
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from datagate.models import Finding, Severity, Skip
from datagate.scan._patterns import lazy_compile
from datagate.scan.interface import Blob, ContentKind, ScanContext, ScanItem
from datagate.scan.registry import FAMILY_KINDS, ScannerName

__all__ = ["FORMULA_SCANNER", "FormulaScanner", "judge_cell"]

_CELL_START = rb"[\t\r]*(?:=[^,;\t|\n\r\"]|[+\-@][^,;\t|\n\r]*?[A-Za-z|!\"'])"
_CANDIDATE = lazy_compile(rb"[,;\t|\"\n\r]" + _CELL_START)
_FIRST_CELL = lazy_compile(rb"(?:\xef\xbb\xbf)?\"?" + _CELL_START)
_MAX_CANDIDATE_LINES = 10_000
_SPREADSHEET_NAME = lazy_compile(r"\.(csv|tsv|tab|psv)$", re.IGNORECASE)
"""Pre-filter over the raw bytes, a superset of what :func:`judge_cell` reports (``=`` and a
character, or ``+``/``-``/``@`` with a letter or reference character later in the cell): numbers
such as ``-3.5`` do not match, so numeric data is never parsed cell by cell."""
_COMMAND = lazy_compile(
    r"(\b\w+\s*\|)|\b(DDE|DDEAUTO|HYPERLINK|WEBSERVICE|FILTERXML|IMPORTXML|IMPORTDATA|IMPORTHTML|"
    r"IMPORTFEED|IMPORTRANGE|CALL|REGISTER|EXEC|SHELL|RUN)\s*\(|\bDDEAUTO\b",
    re.IGNORECASE,
)
_LETTERISH = lazy_compile(r"[A-Za-z|!\"']")
_MAX_EVIDENCE = 20
_MAX_VALUE = 120

# XLSX
_SI = lazy_compile(rb"<(?:\w+:)?si\b[^>]*>(.*?)</(?:\w+:)?si>", re.DOTALL)
_T = lazy_compile(rb"<(?:\w+:)?t\b[^>]*>(.*?)</(?:\w+:)?t>", re.DOTALL)
_CELL = lazy_compile(rb"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.DOTALL)
_ATTR_R = lazy_compile(rb"\br=\"([A-Z]{1,4})(\d{1,8})\"")
_ATTR_T = lazy_compile(rb"\bt=\"(\w+)\"")
_F = lazy_compile(rb"<(?:\w+:)?f\b[^>]*?(?:/>|>(.*?)</(?:\w+:)?f>)", re.DOTALL)
_V = lazy_compile(rb"<(?:\w+:)?v\b[^>]*>(.*?)</(?:\w+:)?v>", re.DOTALL)
_SHEET = lazy_compile(r"^xl/worksheets/([^/]+)\.xml$")
_EXTERNAL_LINK = lazy_compile(r"^xl/externalLinks/[^/]+\.xml$")
_DDE_LINK = lazy_compile(rb"<(?:\w+:)?(?:ddeLink|oleLink)\b[^>]*>")


def judge_cell(value: str) -> Severity | None:
    """Return the severity of ``value`` as a spreadsheet cell, or None when it is data.

    ``None`` for numbers (``-3.5``), dashes and anything that does not start a formula; MEDIUM
    for a formula; HIGH for DDE/command/network forms. Raises nothing.
    """
    s = value.lstrip("\t\r")
    if not s or s[0] not in "=+-@":
        return None
    rest = s[1:]
    if s[0] == "=":
        if not rest.strip():
            return None
    elif not _LETTERISH.search(rest):
        return None
    elif _is_number(s):
        return None
    return Severity.HIGH if _COMMAND.search(s) else Severity.MEDIUM


_NUMBER = lazy_compile(r"[+-]?(\d[\d,_]*(\.\d*)?|\.\d+)([eE][+-]?\d+)?%?|[+-]?(inf|infinity|nan)")


def _is_number(s: str) -> bool:
    return _NUMBER.fullmatch(s.strip().lower()) is not None


def _column_name(index: int) -> str:
    """1-based column index -> spreadsheet letters (1 -> A, 27 -> AA)."""
    out = ""
    while index > 0:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


_RULES = (
    (
        Severity.HIGH,
        "formula.command",
        "hold spreadsheet formulas that run a program or reach the network when opened (DDE, "
        "HYPERLINK, WEBSERVICE, IMPORT*); strip them or prefix them with ' before anyone opens "
        "the data in a spreadsheet",
    ),
    (
        Severity.MEDIUM,
        "formula.injection",
        "start with =, +, - or @ and would be evaluated as formulas when opened in a spreadsheet",
    ),
)


@dataclass
class _Hits:
    """Cells found in one file, per severity."""

    count: dict[Severity, int] = field(
        default_factory=lambda: {Severity.MEDIUM: 0, Severity.HIGH: 0}
    )
    cells: dict[Severity, list[dict[str, Any]]] = field(
        default_factory=lambda: {Severity.MEDIUM: [], Severity.HIGH: []}
    )

    def add(self, sev: Severity, cell: dict[str, Any]) -> None:
        self.count[sev] += 1
        if len(self.cells[sev]) < _MAX_EVIDENCE:
            self.cells[sev].append(cell)

    def findings(self, blob: Blob, what: str, member: str | None = None) -> Iterator[Finding]:
        where = (
            blob.member
            if member is None
            else (member if blob.member is None else f"{blob.member}/{member}")
        )
        for sev, rule, says in _RULES:
            n = self.count[sev]
            if n:
                yield Finding(
                    path=blob.path,
                    member=where,
                    rule=rule,
                    category="formula",
                    severity=sev,
                    message=f"{n} {what} cell(s) {says}",
                    evidence={"count": n, "cells": self.cells[sev]},
                )


def _candidate_lines(data: bytes | memoryview) -> list[int]:
    """Return the 1-based line numbers where a cell may start a formula (at most
    ``_MAX_CANDIDATE_LINES``), found by one regular-expression pass over the raw bytes."""
    out: list[int] = []
    if _FIRST_CELL.match(data) is not None:
        out.append(1)
    view = memoryview(data)
    line, prev = 1, 0
    for m in _CANDIDATE.finditer(data):
        # the delimiter may itself be the newline: the cell then starts on the next line
        line += bytes(view[prev : m.start() + 1]).count(b"\n")
        prev = m.start() + 1
        if not out or out[-1] != line:
            out.append(line)
            if len(out) >= _MAX_CANDIDATE_LINES:
                break
    return out


def _lines(data: bytes | memoryview, chunk: int = 1 << 20) -> Iterator[str]:
    """Yield the lines of ``data`` (with their endings), decoded as UTF-8 with replacement."""
    view = memoryview(data)
    pos, n = 0, len(view)
    if bytes(view[:3]) == b"\xef\xbb\xbf":
        pos = 3
    pending = b""
    while pos < n:
        block = pending + bytes(view[pos : pos + chunk])
        pos += chunk
        cut = block.rfind(b"\n") + 1 if pos < n else len(block)
        if cut == 0:
            pending = block
            continue
        pending = block[cut:]
        yield from block[:cut].decode("utf-8", "replace").splitlines(keepends=True)
    if pending:
        yield from pending.decode("utf-8", "replace").splitlines(keepends=True)


def _delimiter(first: str) -> str:
    counts = {d: first.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


class FormulaScanner:
    """Scanner for formula injection in CSV/TSV text and XLSX workbooks (module docstring)."""

    name = "formulas"
    kinds: frozenset[ContentKind] = FAMILY_KINDS[ScannerName.FORMULAS]

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterator[ScanItem]:
        """Yield ``formula.*`` findings (and skips for workbooks that cannot be read)."""
        if blob.kind is ContentKind.OFFICE:
            yield from self._xlsx(blob, ctx)
            return
        if blob.kind is ContentKind.TEXT and not _SPREADSHEET_NAME.search(blob.name or blob.path):
            # Text the sniffer did not call CSV (ragged rows) still opens as a sheet in a
            # spreadsheet program when its name says so: the program goes by the extension.
            return
        lines = _candidate_lines(blob.data)
        if lines:
            yield from self._csv(blob, lines)

    # -- CSV / TSV ------------------------------------------------------------------------------

    def _csv(self, blob: Blob, candidates: list[int]) -> Iterator[ScanItem]:
        """Parse the CSV and judge the cells of the records on ``candidates`` lines (1-based);
        an empty-ended list means every record from the last listed line on."""
        lines = _lines(blob.data)
        first = next(lines, "")
        delim = _delimiter(first)

        def all_lines() -> Iterable[str]:
            yield first
            yield from lines

        hits = _Hits()
        header: list[str] = []
        old_limit = csv.field_size_limit()
        csv.field_size_limit(min(sys.maxsize, (1 << 31) - 1))
        try:
            reader = csv.reader(all_lines(), delimiter=delim)
            every_from = candidates[-1] if len(candidates) >= _MAX_CANDIDATE_LINES else None
            wanted = iter(candidates)
            nxt = next(wanted, None)
            for row_no, row in enumerate(reader, start=1):
                if row_no == 1:
                    header = row
                end = reader.line_num
                if every_from is None or end < every_from:
                    if nxt is None or nxt > end:
                        continue
                    while nxt is not None and nxt <= end:
                        nxt = next(wanted, None)
                for col_no, value in enumerate(row, start=1):
                    if not value or value.lstrip("\t\r")[:1] not in ("=", "+", "-", "@"):
                        continue
                    sev = judge_cell(value)
                    if sev is None:
                        continue
                    cell: dict[str, Any] = {
                        "cell": f"{_column_name(col_no)}{row_no}",
                        "row": row_no,
                        "column": col_no,
                        "value": value[:_MAX_VALUE],
                    }
                    if row_no > 1 and col_no <= len(header):
                        cell["header"] = header[col_no - 1][:_MAX_VALUE]
                    hits.add(sev, cell)
        except csv.Error as exc:
            yield Skip(
                blob.path, f"CSV could not be parsed for formulas past a point: {exc}", blob.member
            )
        finally:
            csv.field_size_limit(old_limit)
        yield from hits.findings(blob, "CSV")

    # -- XLSX -----------------------------------------------------------------------------------

    def _xlsx(self, blob: Blob, ctx: ScanContext) -> Iterator[ScanItem]:
        from datagate.scan.containers import _MemReader

        if bytes(blob.data[:2]) != b"PK":
            return  # OLE2 (.xls) and RTF are the markup scanner's
        try:
            zf = zipfile.ZipFile(_MemReader(blob.data))
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            yield Skip(blob.path, f"workbook could not be opened for formulas: {exc}", blob.member)
            return
        with zf:
            names = {i.filename: i for i in zf.infolist()}
            sheets = sorted(n for n in names if _SHEET.match(n))
            strings: list[str] = []
            if "xl/sharedStrings.xml" in names:
                raw = self._member(zf, names["xl/sharedStrings.xml"], ctx)
                if isinstance(raw, str):
                    yield Skip(blob.path, raw, blob.member)
                else:
                    strings = [_xml_text(m.group(1)) for m in _SI.finditer(raw)]
            for sheet in sheets:
                raw = self._member(zf, names[sheet], ctx)
                if isinstance(raw, str):
                    yield Skip(blob.path, raw, blob.member)
                    continue
                hits = _Hits()
                for cell_ref, value in _sheet_cells(raw, strings):
                    sev = judge_cell(value)
                    if sev is not None:
                        col, row = cell_ref
                        hits.add(
                            sev,
                            {
                                "cell": f"{col}{row}",
                                "row": row,
                                "column": _column_index(col),
                                "sheet": _SHEET.match(sheet).group(1),  # type: ignore[union-attr]  # filtered above
                                "value": value[:_MAX_VALUE],
                            },
                        )
                yield from hits.findings(blob, "XLSX", sheet)
            yield from self._external_links(blob, zf, names, ctx)

    def _external_links(
        self, blob: Blob, zf: zipfile.ZipFile, names: dict[str, zipfile.ZipInfo], ctx: ScanContext
    ) -> Iterator[ScanItem]:
        """DDE and OLE links stored as workbook parts (``xl/externalLinks/*.xml``): Excel asks to
        update them on open and a DDE link starts the named program (``ddeService="cmd"``)."""
        for name in sorted(n for n in names if _EXTERNAL_LINK.match(n)):
            raw = self._member(zf, names[name], ctx)
            if isinstance(raw, str):
                yield Skip(blob.path, raw, blob.member)
                continue
            links = [m.group(0).decode("utf-8", "replace")[:200] for m in _DDE_LINK.finditer(raw)]
            if links:
                member = name if blob.member is None else f"{blob.member}/{name}"
                yield Finding(
                    path=blob.path,
                    member=member,
                    rule="formula.command",
                    category="formula",
                    severity=Severity.HIGH,
                    message=f"the workbook stores {len(links)} DDE/OLE link(s) that start a "
                    "program when Excel updates links on open",
                    evidence={"count": len(links), "links": links[:_MAX_EVIDENCE]},
                )

    @staticmethod
    def _member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, ctx: ScanContext) -> bytes | str:
        """Return the member's bytes, or a skip reason when it is too large or unreadable."""
        limit = ctx.limits.max_member_bytes
        if info.file_size > limit or (
            info.compress_size
            and info.file_size / info.compress_size > ctx.limits.max_ratio
            and info.file_size > 16 << 20
        ):
            return f"{info.filename}: {info.file_size} bytes exceeds the member limits; not read for formulas"
        try:
            with zf.open(info) as fh:
                data = fh.read(limit + 1)
        except (
            zipfile.BadZipFile,
            OSError,
            ValueError,
            EOFError,
            RuntimeError,
            NotImplementedError,
            zlib.error,
        ) as exc:
            return f"{info.filename} could not be read for formulas: {exc}"
        if len(data) > limit:
            return f"{info.filename} inflates past {limit} bytes; not read for formulas"
        return data


def _xml_text(fragment: bytes) -> str:
    parts = [m.group(1) for m in _T.finditer(fragment)]
    return html.unescape(b"".join(parts).decode("utf-8", "replace"))


def _column_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ord(ch) - 64)
    return n


def _sheet_cells(raw: bytes, strings: list[str]) -> Iterator[tuple[tuple[str, int], str]]:
    """Yield ((column letters, row), text) for formulas and string cells of a sheet's XML."""
    for m in _CELL.finditer(raw):
        attrs, body = m.group(1), m.group(2) or b""
        ref = _ATTR_R.search(attrs)
        if ref is None:
            continue
        where = (ref.group(1).decode(), int(ref.group(2)))
        f = _F.search(body)
        if f is not None and f.group(1):
            yield where, "=" + html.unescape(f.group(1).decode("utf-8", "replace"))
            continue
        t = _ATTR_T.search(attrs)
        ctype = t.group(1) if t else b"n"
        if ctype == b"s":
            v = _V.search(body)
            if v is not None and v.group(1).strip().isdigit():
                idx = int(v.group(1))
                if 0 <= idx < len(strings):
                    yield where, strings[idx]
        elif ctype in (b"inlineStr", b"str"):
            text = _xml_text(body) if ctype == b"inlineStr" else ""
            if ctype == b"str":
                v = _V.search(body)
                text = html.unescape(v.group(1).decode("utf-8", "replace")) if v else ""
            yield where, text


FORMULA_SCANNER = FormulaScanner()
"""The module-level scanner instance the registry uses."""
