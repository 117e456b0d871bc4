"""Active content in files that viewers render or applications open.

:data:`MARKUP_SCANNER` reports

* HTML and SVG (by content) carrying ``<script>``, ``on*`` event handlers, ``javascript:`` /
  ``vbscript:`` URLs, ``<iframe>``/``<object>``/``<embed>`` and meta refreshes (``markup.script``);
* PDF with ``/JavaScript``, ``/JS``, ``/OpenAction``, ``/AA``, ``/Launch``, ``/EmbeddedFile`` ...
  (``pdf.active_content``), including names obfuscated with ``#xx`` escapes and dictionaries
  inside Flate-compressed object streams (decompressed in memory under a bound);
* Office macros: OLE2 files with a ``_VBA_PROJECT`` stream, OOXML members ``vbaProject.bin``,
  ``[Content_Types].xml`` declaring macro-enabled types, external template/OLE relationships,
  and RTF with embedded objects (``office.*``);
* shortcut files by content: Windows ``.lnk``, ``.url``, ``.scf``, ``.desktop``, ``.library-ms``
  / ``.searchConnector-ms`` and ``autorun.inf`` (``shortcut.*``).

Only the standard library is used: bounded regular expressions over bytes, no rendering, no
parsing by a browser engine. JSON or CSV *data* that contains HTML strings is data, not an HTML
file: markup is reported only when the blob itself is HTML/SVG by content.

>>> from datagate.scan.interface import Blob, ContentKind, ScanContext
>>> blob = Blob("a.html", b"<html><script>alert(1)</script></html>", name="a.html", kind=ContentKind.HTML)
>>> [f.rule for f in MARKUP_SCANNER.scan(blob, ScanContext())]
['markup.script']
"""

from __future__ import annotations

import html
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from datagate.models import Finding, Severity, Skip
from datagate.scan._patterns import lazy_compile
from datagate.scan.executables import DATA_EXTENSIONS
from datagate.scan.interface import Blob, ContentKind, ScanContext, ScanItem
from datagate.scan.registry import FAMILY_KINDS, ScannerName

__all__ = [
    "MARKUP_SCANNER",
    "MarkupHit",
    "MarkupScanner",
    "html_active_content",
    "pdf_active_content",
]

# ---------------------------------------------------------------------------------------------
# HTML / SVG


@dataclass(frozen=True)
class MarkupHit:
    """One piece of active content found in markup."""

    what: str
    """``script``, ``event-handler``, ``javascript-url``, ``embed``, ``meta-refresh`` ..."""
    severity: Severity
    """How bad it is on its own."""
    line: int
    """1-based line of the match."""
    snippet: str
    """Up to 120 characters of the matched text."""


_F = re.IGNORECASE | re.DOTALL
_HTML_RULES: tuple[tuple[str, re.Pattern[str], Severity], ...] = (
    ("script", lazy_compile(r"<\s*(?:[a-z]+:)?script\b", _F), Severity.HIGH),
    ("event-handler", lazy_compile(r"<[a-z][^<>]{0,2000}?[\s/\"'](on[a-z]{4,})\s*=", _F), Severity.HIGH),
    ("javascript-url", lazy_compile(r"=\s*(?:[\"'`]\s*)?(?:java|vb|live)script\s*:", _F), Severity.HIGH),
    ("embed", lazy_compile(r"<\s*(iframe|frame|object|embed|applet|portal)\b", _F), Severity.MEDIUM),
    ("meta-refresh", lazy_compile(r"<meta\b[^<>]{0,500}?http-equiv\s*=\s*[\"']?\s*refresh[^<>]{0,1000}>", _F), Severity.MEDIUM),
    ("data-html-url", lazy_compile(r"data:\s*(?:text/html|image/svg\+xml|application/(?:x-)?javascript)", _F), Severity.MEDIUM),
    ("html-import", lazy_compile(r"<link\b[^<>]{0,500}?rel\s*=\s*[\"']?import", _F), Severity.MEDIUM),
)  # fmt: skip
_JS_IN_REFRESH = lazy_compile(r"(?:java|vb)script\s*:|data\s*:", re.IGNORECASE)


def html_active_content(text: str, *, max_hits: int = 50) -> list[MarkupHit]:
    """Return the active content found in HTML/SVG/Markdown ``text`` (at most ``max_hits``).

    Character references are decoded once more and searched again, so ``&#106;avascript:`` is
    found too. Each rule reports its first few matches. Never raises.
    """
    hits: list[MarkupHit] = []
    texts = [text]
    if "&" in text:
        try:
            unescaped = html.unescape(text)
        except Exception:  # noqa: BLE001  (html.unescape on hostile input must not abort the scan)
            unescaped = text
        if unescaped != text:
            texts.append(unescaped)
    seen: set[tuple[str, int]] = set()
    for t in texts:
        for what, rx, sev in _HTML_RULES:
            for n, m in enumerate(rx.finditer(t)):
                if n >= 5 or len(hits) >= max_hits:
                    break
                severity = sev
                if what == "meta-refresh":
                    severity = Severity.HIGH if _JS_IN_REFRESH.search(m.group(0)) else Severity.LOW
                line = t.count("\n", 0, m.start()) + 1
                if (what, line) in seen:
                    continue
                seen.add((what, line))
                hits.append(MarkupHit(what, severity, line, t[m.start() : m.start() + 120]))
    return hits


_HTML_START = lazy_compile(
    rb"\A(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]{0,200}\?>\s*)?(?:<!--.{0,2000}?-->\s*)*"
    rb"(?:<!doctype\s+(?:html|svg)|<html\b|<svg\b|<head\b|<body\b|<script\b|<iframe\b|<hta:)",
    re.IGNORECASE | re.DOTALL,
)


_SVG_ROOT = lazy_compile(
    r"\s*(?:\ufeff)?(?:<\?xml[^>]{0,200}\?>\s*)?(?:<!--.{0,2000}?-->\s*)*"
    r"(?:<!doctype\s+svg[^>]{0,500}>\s*)?<svg\b",
    re.IGNORECASE | re.DOTALL,
)
_TEXT_DATA_EXTENSIONS = frozenset(
    {"html", "htm", "xhtml", "xml", "txt", "md", "json", "jsonl", "ndjson", "csv", "tsv", "yaml",
     "yml", "svg"}
)  # fmt: skip
"""Data extensions under which HTML is plausible data (crawled pages), not a disguise."""


def _looks_like_markup(data: bytes | memoryview) -> bool:
    return _HTML_START.match(bytes(data[:8192])) is not None


# ---------------------------------------------------------------------------------------------
# PDF

_PDF_NAMES: dict[str, Severity] = {
    "JavaScript": Severity.HIGH,
    "JS": Severity.HIGH,
    "Launch": Severity.HIGH,
    "OpenAction": Severity.LOW,
    "AA": Severity.LOW,
    "EmbeddedFile": Severity.MEDIUM,
    "EmbeddedFiles": Severity.MEDIUM,
    "RichMedia": Severity.MEDIUM,
    "XFA": Severity.MEDIUM,
    "SubmitForm": Severity.MEDIUM,
    "ImportData": Severity.MEDIUM,
    "GoToE": Severity.MEDIUM,
    "GoToR": Severity.LOW,
}
_PDF_NAME_RX = lazy_compile(rb"/((?:[A-Za-z]|#[0-9A-Fa-f]{2}){2,20})(?![A-Za-z0-9#])")
_PDF_STREAM_RX = lazy_compile(rb"(?<!end)stream\r?\n")
_PDF_FLATE_RX = lazy_compile(rb"/(?:FlateDecode|Fl)(?![A-Za-z])")
_OBJSTM = lazy_compile(rb"/ObjStm")
_ENCRYPT = lazy_compile(rb"/Encrypt")
_PDF_MAX_STREAMS = 2000
_PDF_MAX_INFLATE = 64 * 1024 * 1024


def _pdf_names(buf: bytes | memoryview, found: dict[str, dict[str, Any]], where: str) -> bool:
    obfuscated = False
    for m in _PDF_NAME_RX.finditer(buf):
        raw = m.group(1)
        if b"#" in raw:
            try:
                name = re.sub(
                    rb"#([0-9A-Fa-f]{2})", lambda x: bytes([int(x.group(1), 16)]), raw
                ).decode("latin-1")
            except ValueError:
                continue
            if name in _PDF_NAMES:
                obfuscated = True
        else:
            name = raw.decode("latin-1")
        if name in _PDF_NAMES:
            entry = found.setdefault(name, {"count": 0, "where": where, "offset": m.start()})
            entry["count"] += 1
    return obfuscated


def pdf_active_content(
    data: bytes | memoryview,
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Return (active names found, notes) for PDF bytes.

    Names are searched in the raw file (with ``#xx`` escapes decoded) and in every
    ``/FlateDecode`` stream, inflated in memory with a cap per stream and overall (object
    streams hide dictionaries there). Notes record obfuscation, streams that failed to inflate
    and caps hit. Never raises.
    """
    buf = data if isinstance(data, bytes) else memoryview(data)  # no copy of a large mmap
    found: dict[str, dict[str, Any]] = {}
    notes: dict[str, Any] = {}
    if _pdf_names(buf, found, "file"):
        notes["obfuscated_names"] = True
    budget = _PDF_MAX_INFLATE
    streams = bad = 0
    for m in _PDF_STREAM_RX.finditer(buf):
        # the stream's dictionary precedes the keyword; only Flate streams are inflated
        if not _PDF_FLATE_RX.search(bytes(buf[max(0, m.start() - 1024) : m.start()])):
            continue
        if streams >= _PDF_MAX_STREAMS or budget <= 0:
            notes["stream_cap_hit"] = True
            break
        streams += 1
        d = zlib.decompressobj()
        try:
            out = d.decompress(
                buf[m.end() : m.end() + 16 * 1024 * 1024], min(budget, 16 * 1024 * 1024)
            )
        except zlib.error:
            bad += 1
            continue
        budget -= len(out)
        if _pdf_names(out, found, "compressed-stream"):
            notes["obfuscated_names"] = True
    notes["flate_streams"] = streams
    if bad:
        notes["undecodable_streams"] = bad
    if _OBJSTM.search(buf):
        notes["object_streams"] = True
    if _ENCRYPT.search(buf):
        notes["encrypted"] = True
    return found, notes


# ---------------------------------------------------------------------------------------------
# Office

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_VBA_STREAMS = lazy_compile(
    re.escape("_VBA_PROJECT".encode("utf-16-le"))
    + b"|"
    + re.escape("VBA".encode("utf-16-le") + b"\0\0")
    + b"|"
    + re.escape("Macros".encode("utf-16-le") + b"\0\0")
)
_OLE_NATIVE = lazy_compile(re.escape("\x01Ole10Native".encode("utf-16-le")))
_VBA_MEMBER = lazy_compile(rb"vbaProject\.bin", re.IGNORECASE)
_CT_MACRO = lazy_compile(
    rb"vbaProject|macroEnabled|application/vnd\.ms-office\.(?:vbaProject|activeX)|ms-excel\.addin|"
    rb"ms-word\.template\.macro|\.macrosheet|ms-excel\.intlmacrosheet",
    re.IGNORECASE,
)
_RELS_EXTERNAL = lazy_compile(
    rb"<Relationship\b[^>]{0,2000}?TargetMode\s*=\s*[\"']External[\"'][^>]{0,2000}?>|"
    rb"<Relationship\b[^>]{0,2000}?Target\s*=\s*[\"'](?:https?|file|\\\\\\\\)[^>]{0,2000}?TargetMode\s*=\s*[\"']External",
    re.IGNORECASE | re.DOTALL,
)
_RELS_RISKY_TYPE = lazy_compile(
    rb"attachedTemplate|oleObject|frame|subDocument|package", re.IGNORECASE
)
_ODF_BASIC = lazy_compile(r"(?:^|/)Basic/[^/]+/[^/]+\.xml$")
_ODF_MODULE = lazy_compile(rb"<script:module\b")
_DDE = lazy_compile(rb"\bDDEAUTO\b|\bDDE\b\s", re.IGNORECASE)
_RTF_OBJ = lazy_compile(rb"\\objdata|\\objupdate|\\objemb|\\objlink|\\objautlink", re.IGNORECASE)

# ---------------------------------------------------------------------------------------------
# shortcuts

_LNK_MAGIC = bytes.fromhex("4C0000000114020000000000C000000000000046")
_INI_SECTION = lazy_compile(rb"^[ \t]*\[([A-Za-z .]{1,40})\]", re.MULTILINE)


def _ext(name: str) -> str:
    low = name.lower()
    return low.rsplit(".", 1)[-1] if "." in low else ""


class MarkupScanner:
    """Scanner for active content in rendered/opened documents (see the module docstring).

    Never raises for hostile content; text above ``max_text_bytes`` is skipped with a reason.
    """

    name = "markup"
    kinds: frozenset[ContentKind] = FAMILY_KINDS[ScannerName.MARKUP]

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterator[ScanItem]:
        """Yield markup, PDF, Office and shortcut findings for ``blob``."""
        name = blob.name or blob.path.rsplit("/", 1)[-1]
        low = name.lower()
        kind = blob.kind
        head = bytes(blob.data[:32])
        # shortcuts and Office members: decided by magic or exact member names
        if head.startswith(_LNK_MAGIC[:4]) and head[:20] == _LNK_MAGIC:
            yield self._f(
                blob,
                "shortcut.lnk",
                Severity.HIGH,
                f"{name} is a Windows shortcut (.lnk); opening it runs its target",
                {"magic": _LNK_MAGIC.hex()},
            )
            return
        if low == "vbaproject.bin" or low.endswith("/vbaproject.bin"):
            yield self._f(
                blob,
                "office.macro",
                Severity.HIGH,
                f"{name} is an Office VBA macro project (OOXML member)",
                {"member": name},
            )
            return
        if kind is ContentKind.PDF or head.startswith(b"%PDF-"):
            yield from self._pdf(blob, name, ctx)
            return
        if head.startswith(b"{\\rtf"):
            yield from self._rtf(blob, name, ctx)
            return
        if kind is ContentKind.OFFICE or head.startswith(_OLE_MAGIC):
            yield from self._ole(blob, name)
            return
        if _ODF_BASIC.search(blob.member or "") and _ODF_MODULE.search(bytes(blob.data[:65536])):
            yield self._f(
                blob,
                "office.macro",
                Severity.HIGH,
                f"{name} is a StarBasic macro module of an OpenDocument file",
                {"member": blob.member},
            )
            return
        if low == "[content_types].xml":
            yield from self._content_types(blob, name)
            return
        if low.endswith(".rels"):
            yield from self._rels(blob, name)
            return
        if low in ("document.xml", "sheet1.xml") or (blob.member or "").endswith(
            ("word/document.xml",)
        ):
            yield from self._dde(blob, name)
        text_like = kind in (None, ContentKind.TEXT, ContentKind.HTML, ContentKind.SVG,
                             ContentKind.BINARY, ContentKind.YAML, ContentKind.CSV)  # fmt: skip
        if text_like:
            shortcut = self._shortcut(blob, name, low)
            if shortcut is not None:
                yield shortcut
                return
        if kind in (ContentKind.HTML, ContentKind.SVG) or (
            kind in (None, ContentKind.TEXT, ContentKind.BINARY) and _looks_like_markup(blob.data)
        ):
            yield from self._markup(blob, name, ctx)

    # -- helpers ------------------------------------------------------------------------------

    @staticmethod
    def _f(blob: Blob, rule: str, sev: Severity, msg: str, ev: dict[str, Any]) -> Finding:
        # the family (category) is the rule's first part: markup, pdf, office or shortcut
        return Finding(blob.path, rule, rule.split(".", 1)[0], sev, msg, blob.member, ev)

    def _markup(self, blob: Blob, name: str, ctx: ScanContext) -> Iterator[ScanItem]:
        if blob.size > ctx.limits.max_text_bytes:
            yield Skip(
                blob.path,
                f"markup of {blob.size} bytes exceeds max_text_bytes "
                f"({ctx.limits.max_text_bytes}); not searched",
                blob.member,
            )
            return
        text = bytes(blob.data).decode("utf-8", "replace")
        hits = html_active_content(text)
        if not hits:
            return
        sev = max((h.severity for h in hits), key=lambda s: s.rank)
        is_svg = blob.kind is ContentKind.SVG or (
            blob.kind is not ContentKind.HTML and _SVG_ROOT.match(text[:8192]) is not None
        )
        ext = _ext(name)
        evidence_extra: dict[str, Any] = {}
        if not is_svg:
            # An HTML page runs its script only when someone opens it in a browser, and crawl
            # datasets legitimately hold pages: medium. Under a binary or media data name, or as
            # an HTML application (.hta), it is a disguise: high.
            hta = ext == "hta" or "<hta:application" in text[:65536].lower()
            disguised = ext in DATA_EXTENSIONS and ext not in _TEXT_DATA_EXTENSIONS
            if sev > Severity.MEDIUM and not (hta or disguised):
                sev = Severity.MEDIUM
            if hta:
                evidence_extra["hta"] = True
            if disguised:
                evidence_extra["disguised_as"] = ext
        whats = sorted({h.what for h in hits})
        yield self._f(
            blob,
            "markup.script",
            sev,
            f"{name} is {'an SVG image' if is_svg else 'an HTML document'} with active "
            f"content ({', '.join(whats)}, line {hits[0].line}) that runs when rendered",
            {
                "format": "svg" if is_svg else "html",
                "hits": [
                    {
                        "what": h.what,
                        "line": h.line,
                        "severity": h.severity.value,
                        "snippet": h.snippet,
                    }
                    for h in hits[:20]
                ],
                **evidence_extra,
            },
        )

    def _pdf(self, blob: Blob, name: str, ctx: ScanContext) -> Iterator[ScanItem]:
        found, notes = pdf_active_content(blob.data)
        if notes.get("stream_cap_hit"):
            yield Skip(
                blob.path,
                "PDF stream inflation cap reached; later streams not searched",
                blob.member,
            )
        if not found:
            return
        sev = max((_PDF_NAMES[n] for n in found), key=lambda s: s.rank)
        if (
            ("OpenAction" in found or "AA" in found)
            and sev < Severity.HIGH
            and ("EmbeddedFile" in found or "EmbeddedFiles" in found or "SubmitForm" in found)
        ):
            sev = Severity.HIGH  # an automatic action that reaches an attachment or a form post
        if notes.get("obfuscated_names") and sev < Severity.HIGH:
            sev = Severity.HIGH
        yield self._f(
            blob,
            "pdf.active_content",
            sev,
            f"{name} is a PDF with active content ({', '.join(sorted(found))})",
            {"names": found, **notes},
        )

    def _ole(self, blob: Blob, name: str) -> Iterator[ScanItem]:
        data = blob.data if isinstance(blob.data, bytes) else memoryview(blob.data)
        head = bytes(data[:8])
        ev: dict[str, Any] = {"format": "ole2" if head == _OLE_MAGIC else (blob.detail or "office")}
        macro = _VBA_STREAMS.search(data) is not None
        if macro:
            yield self._f(
                blob,
                "office.macro",
                Severity.HIGH,
                f"{name} is an Office document with VBA macros (_VBA_PROJECT stream)",
                ev,
            )
        if _OLE_NATIVE.search(data):
            yield self._f(
                blob,
                "office.embedded_object",
                Severity.HIGH,
                f"{name} embeds an OLE package object (Ole10Native) that opens a file when clicked",
                ev,
            )
        if not macro and head.startswith(b"PK\x03\x04") and _VBA_MEMBER.search(data):
            # OOXML handed over whole: member names are stored uncompressed in the zip headers
            yield self._f(
                blob,
                "office.macro",
                Severity.HIGH,
                f"{name} is an OOXML document containing vbaProject.bin (macros)",
                ev,
            )

    def _rtf(self, blob: Blob, name: str, ctx: ScanContext) -> Iterator[ScanItem]:
        m = _RTF_OBJ.search(bytes(blob.data[: ctx.limits.max_text_bytes]))
        if m:
            yield self._f(
                blob,
                "office.embedded_object",
                Severity.HIGH,
                f"{name} is an RTF document with an embedded OLE object "
                f"({m.group(0).decode('latin-1')})",
                {"format": "rtf", "offset": m.start()},
            )

    def _content_types(self, blob: Blob, name: str) -> Iterator[ScanItem]:
        data = bytes(blob.data[: 4 * 1024 * 1024])
        found = sorted({m.group(0).decode("latin-1") for m in _CT_MACRO.finditer(data)})
        if found:
            yield self._f(
                blob,
                "office.macro",
                Severity.HIGH,
                f"{name} declares macro-enabled content types ({', '.join(found[:4])})",
                {"content_types": found[:20]},
            )

    def _rels(self, blob: Blob, name: str) -> Iterator[ScanItem]:
        data = bytes(blob.data[: 4 * 1024 * 1024])
        for m in _RELS_EXTERNAL.finditer(data):
            rel = m.group(0)
            if _RELS_RISKY_TYPE.search(rel):
                target = re.search(rb"Target\s*=\s*[\"']([^\"']{0,300})", rel)
                yield self._f(
                    blob,
                    "office.external_ref",
                    Severity.HIGH,
                    f"{name} loads a remote template/OLE object when the document opens",
                    {
                        "relationship": rel[:400].decode("utf-8", "replace"),
                        "target": target.group(1).decode("utf-8", "replace") if target else None,
                    },
                )
                return

    def _dde(self, blob: Blob, name: str) -> Iterator[ScanItem]:
        m = _DDE.search(bytes(blob.data[: 16 * 1024 * 1024]))
        if m:
            yield self._f(
                blob,
                "office.dde",
                Severity.HIGH,
                f"{name} contains a DDE field that can launch a program",
                {"offset": m.start()},
            )

    def _shortcut(self, blob: Blob, name: str, low: str) -> Finding | None:
        ext = _ext(low)
        head = bytes(blob.data[:65536])
        if blob.size > 1024 * 1024 and ext not in (
            "url",
            "desktop",
            "scf",
            "inf",
            "library-ms",
            "searchconnector-ms",
        ):
            return None
        sections = {
            m.group(1).decode("latin-1").strip().lower() for m in _INI_SECTION.finditer(head[:8192])
        }
        text = head.decode("utf-8", "replace")
        if "desktop entry" in sections and re.search(r"^[ \t]*Exec[ \t]*=", text, re.MULTILINE):
            cmd = re.search(r"^[ \t]*Exec[ \t]*=[ \t]*(.{0,200})", text, re.MULTILINE)
            return self._f(
                blob,
                "shortcut.desktop",
                Severity.HIGH,
                f"{name} is a freedesktop launcher whose Exec line runs a command",
                {"exec": cmd.group(1) if cmd else None},
            )
        if "internetshortcut" in sections:
            url = re.search(
                r"^[ \t]*URL[ \t]*=[ \t]*(.{0,300})", text, re.MULTILINE | re.IGNORECASE
            )
            target = url.group(1).strip() if url else ""
            risky = bool(re.match(r"(?i)file:|\\\\|smb:|[a-z]:\\", target)) or bool(
                re.search(r"(?im)^[ \t]*IconFile[ \t]*=[ \t]*\\\\", text)
            )
            return self._f(
                blob,
                "shortcut.url",
                Severity.HIGH if risky else Severity.MEDIUM,
                f"{name} is an Internet shortcut (.url) to {target[:80] or 'an unknown target'}",
                {"url": target, "local_or_unc": risky},
            )
        if "shell" in sections and re.search(r"(?im)^[ \t]*Command[ \t]*=", text):
            return self._f(
                blob,
                "shortcut.scf",
                Severity.HIGH,
                f"{name} is a Windows Explorer command file (.scf); its icon path can "
                "leak credentials to a remote share",
                {},
            )
        if "autorun" in sections and re.search(r"(?im)^[ \t]*(open|shellexecute|shell\\)", text):
            return self._f(
                blob,
                "shortcut.autorun",
                Severity.HIGH,
                f"{name} is an autorun.inf that launches a program",
                {},
            )
        if re.search(r"<(libraryDescription|searchConnectorDescription)\b", text[:8192]):
            remote = bool(re.search(r"<url>\s*(?:https?:|\\\\|file:)", text, re.IGNORECASE))
            return self._f(
                blob,
                "shortcut.library_ms",
                Severity.HIGH if remote else Severity.MEDIUM,
                f"{name} is a Windows library/search-connector file"
                f"{' pointing at a remote location' if remote else ''}",
                {"remote": remote},
            )
        if ext in ("settingcontent-ms", "iqy", "slk", "appref-ms", "application", "diagcab"):
            return self._f(
                blob,
                "shortcut.other",
                Severity.HIGH,
                f"{name} is a Windows file type that runs or fetches content when opened",
                {"extension": ext},
            )
        return None


MARKUP_SCANNER = MarkupScanner()
"""The module-level scanner instance the registry uses."""
