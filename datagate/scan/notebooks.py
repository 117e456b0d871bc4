"""Jupyter notebooks: code cells, shell escapes, magics and script-bearing outputs (THREATS.md B15).

:data:`NOTEBOOK_SCANNER` reads nbformat 3 and 4 JSON (never through nbformat or Jupyter, never
executing anything) and reports

* ``notebook.present`` (info, or low when there are code cells): a notebook is in scope;
* ``notebook.code.<category>``: the :func:`~datagate.scan.scripts.analyse_python` analysis of
  every code cell after IPython magics and ``!`` escapes are blanked out (lines kept, so line
  numbers match the cell); ``notebook.code.unparseable`` for cells that still do not parse;
* ``notebook.shell`` (high): ``!cmd``, ``x = !cmd``, ``%%bash``/``%%sh``/``%%script``/``%system``/
  ``%sx``, ``get_ipython().system(...)`` and kernels that are shells;
* ``notebook.magic``: ``%run``, ``%load``, ``%%writefile``, ``%%javascript``, ``%pip`` ...;
* ``notebook.output.script`` (high): stored outputs with ``text/html`` carrying script, event
  handlers or ``javascript:`` URLs, ``application/javascript``, scripted SVG, and widget state
  carrying JavaScript; ``notebook.markdown.script`` (medium) for the same in markdown cells;
* ``notebook.unparseable`` (medium) when the JSON is not a notebook.

>>> import json
>>> from datagate.scan.interface import Blob, ContentKind, ScanContext
>>> nb = {"nbformat": 4, "cells": [{"cell_type": "code", "source": "!echo hi", "outputs": []}]}
>>> blob = Blob("a.ipynb", json.dumps(nb).encode(), name="a.ipynb", kind=ContentKind.NOTEBOOK)
>>> sorted(f.rule for f in NOTEBOOK_SCANNER.scan(blob, ScanContext()))
['notebook.present', 'notebook.shell']
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from datagate.models import Finding, Severity, Skip
from datagate.scan._patterns import lazy_compile
from datagate.scan.interface import Blob, ContentKind, ScanContext, ScanItem
from datagate.scan.markup import html_active_content
from datagate.scan.registry import FAMILY_KINDS, ScannerName
from datagate.scan.scripts import PythonHit, analyse_python, python_hit_findings, shell_pattern_hits

__all__ = ["NOTEBOOK_SCANNER", "NotebookScanner", "strip_magics"]

_SHELL_CELL_MAGICS = frozenset(
    {"bash", "sh", "script", "system", "sx", "!", "cmd", "powershell", "pwsh", "perl", "ruby",
     "zsh", "fish", "csh", "tcsh", "ksh"}
)  # fmt: skip
_PY_CELL_MAGICS = frozenset(
    {"python", "python3", "python2", "pypy", "capture", "time", "timeit", "prun", "debug",
     "ipython", "px", "sql"}
)  # fmt: skip
_SHELL_LINE_MAGICS = frozenset({"system", "sx", "sc", "alias", "bash", "sh"})
_RISKY_LINE_MAGICS = frozenset(
    {"run", "load", "loadpy", "load_ext", "rerun", "macro", "pip", "conda", "writefile", "store",
     "edit", "xmode", "env", "set_env", "cd", "bookmark", "pycat", "notebook", "file", "script"}
)  # fmt: skip
_SCRIPT_MIMES = frozenset(
    {"application/javascript", "text/javascript", "application/x-javascript",
     "application/ecmascript", "text/ecmascript", "application/vnd.jupyter.javascript"}
)  # fmt: skip
_MARKUP_MIMES = frozenset({"text/html", "image/svg+xml", "text/markdown", "application/xhtml+xml"})
_IPY_CALL = lazy_compile(
    r"get_ipython\(\)\s*\.\s*(system|getoutput|run_cell_magic|run_line_magic|ex|ev|magic)\b"
)
_SHELL_ASSIGN = lazy_compile(r"[ \t]*[\w.,\[\]()*][\w.,\[\]()* \t]{0,200}=[ \t]*!")
_MAGIC_ASSIGN = lazy_compile(r"[ \t]*[\w.,\[\]()*][\w.,\[\]()* \t]{0,200}=[ \t]*%(\w+)")
_WIDGET_JS = lazy_compile(r"<\s*script\b|javascript\s*:|\"_esm\"\s*:|\bon[a-z]{4,}\s*=|\beval\s*\(|new\s+Function\s*\(",
                        re.IGNORECASE)  # fmt: skip


@dataclass
class StrippedCell:
    """A code cell's source with IPython syntax blanked out, and what was blanked."""

    source: str
    """Python source with magic and escape lines replaced by ``pass`` (same line numbers)."""
    shell: list[tuple[int, str]] = field(default_factory=list)
    """(line, text) of shell escapes and shell magics."""
    magics: list[tuple[int, str]] = field(default_factory=list)
    """(line, text) of other magics (``%run``, ``%pip`` ...)."""
    cell_magic: str | None = None
    """The ``%%name`` of a cell magic, if the cell starts with one."""
    body: str = ""
    """The cell body after a cell magic line (for non-Python cell magics)."""


def strip_magics(source: str) -> StrippedCell:
    """Return ``source`` with IPython magics and ``!`` escapes replaced by ``pass`` lines.

    Line numbers are preserved so Python findings point at the cell's real lines. A cell magic
    (``%%bash`` ...) whose body is not Python leaves an empty Python source and the body in
    ``body``. Never raises.
    """
    lines = source.split("\n")
    out = StrippedCell(source="")
    first = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if first is not None and lines[first].lstrip().startswith("%%"):
        magic = lines[first].strip()[2:].split(None, 1)
        name = magic[0] if magic else ""
        out.cell_magic = name
        out.body = "\n".join(lines[first + 1 :])
        if name in _SHELL_CELL_MAGICS:
            out.shell.append((first + 1, lines[first].strip()[:200]))
            out.source = ""
            return out
        if name not in _PY_CELL_MAGICS:
            out.magics.append((first + 1, lines[first].strip()[:200]))
            out.source = ""
            return out
        lines[first] = ""
    kept: list[str] = []
    for i, line in enumerate(lines, 1):
        stripped = line.lstrip()
        indent = line[: len(line) - len(stripped)]
        if stripped.startswith("!"):
            out.shell.append((i, stripped[:200]))
            kept.append(indent + "pass")
        elif stripped.startswith("%"):
            name = stripped.lstrip("%").split(None, 1)[0] if stripped.lstrip("%") else ""
            if name in _SHELL_LINE_MAGICS:
                out.shell.append((i, stripped[:200]))
            else:
                out.magics.append((i, stripped[:200]))
            kept.append(indent + "pass")
        elif _SHELL_ASSIGN.match(line):
            out.shell.append((i, stripped[:200]))
            kept.append(indent + "pass")
        elif (m := _MAGIC_ASSIGN.match(line)) is not None:
            if m.group(1) in _SHELL_LINE_MAGICS:
                out.shell.append((i, stripped[:200]))
            else:
                out.magics.append((i, stripped[:200]))
            kept.append(indent + "pass")
        elif stripped.startswith("?") or (
            stripped.endswith("?")
            and not stripped.startswith("#")
            and re.fullmatch(r"[\w.]+\?\??", stripped)
        ):
            kept.append(indent + "pass")
        else:
            kept.append(line)
    out.source = "\n".join(kept)
    return out


def _text(value: Any) -> str:
    """nbformat stores multi-line strings as a string or a list of strings."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(v for v in value if isinstance(v, str))
    return ""


def _cells(nb: dict[str, Any]) -> list[dict[str, Any]] | None:
    cells = nb.get("cells")
    if isinstance(cells, list):
        return [c for c in cells if isinstance(c, dict)]
    sheets = nb.get("worksheets")  # nbformat 3
    if isinstance(sheets, list):
        out: list[dict[str, Any]] = []
        for ws in sheets:
            if isinstance(ws, dict) and isinstance(ws.get("cells"), list):
                out.extend(c for c in ws["cells"] if isinstance(c, dict))
        return out
    return None


class NotebookScanner:
    """Scanner for Jupyter notebooks (see the module docstring). Never raises for hostile input."""

    name = "notebooks"
    kinds: frozenset[ContentKind] = FAMILY_KINDS[ScannerName.NOTEBOOKS]

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterator[ScanItem]:
        """Yield notebook findings for ``blob`` (JSON/TEXT blobs only when named ``*.ipynb``)."""
        name = blob.name or blob.path.rsplit("/", 1)[-1]
        if blob.kind is not ContentKind.NOTEBOOK and not name.lower().endswith(".ipynb"):
            # a notebook saved under another name: nbformat JSON has cell_type keys near the start
            head = bytes(blob.data[:65536])
            tail = bytes(blob.data[-4096:])
            if b'"cell_type"' not in head or (
                b'"nbformat"' not in tail and b'"nbformat"' not in head
            ):
                return
        if blob.size > ctx.limits.max_text_bytes:
            yield Skip(
                blob.path,
                f"notebook of {blob.size} bytes exceeds max_text_bytes "
                f"({ctx.limits.max_text_bytes}); not parsed",
                blob.member,
            )
            yield self._f(
                blob,
                "notebook.present",
                Severity.MEDIUM,
                f"{name} is a Jupyter notebook too large to inspect",
                {"parsed": False, "size": blob.size},
            )
            return
        try:
            nb = json.loads(bytes(blob.data))
        except (ValueError, RecursionError, MemoryError) as e:
            yield self._f(
                blob,
                "notebook.unparseable",
                Severity.MEDIUM,
                f"{name} should be a notebook but is not valid JSON ({type(e).__name__}); "
                "it was not inspected",
                {"error": str(e)[:200]},
            )
            return
        cells = _cells(nb) if isinstance(nb, dict) else None
        if cells is None or not isinstance(nb, dict):
            yield self._f(
                blob,
                "notebook.unparseable",
                Severity.MEDIUM,
                f"{name} is JSON but has no notebook cells; it was not inspected",
                {"top_level": type(nb).__name__},
            )
            return
        yield from self._notebook(blob, name, nb, cells)

    @staticmethod
    def _f(blob: Blob, rule: str, sev: Severity, msg: str, ev: dict[str, Any]) -> Finding:
        return Finding(blob.path, rule, "notebook", sev, msg, blob.member, ev)

    def _notebook(
        self, blob: Blob, name: str, nb: dict[str, Any], cells: list[dict[str, Any]]
    ) -> Iterator[Finding]:
        meta = nb.get("metadata") if isinstance(nb.get("metadata"), dict) else {}
        assert isinstance(meta, dict)
        kernel = meta.get("kernelspec") if isinstance(meta.get("kernelspec"), dict) else {}
        lang_info = meta.get("language_info") if isinstance(meta.get("language_info"), dict) else {}
        assert isinstance(kernel, dict) and isinstance(lang_info, dict)
        language = str(kernel.get("language") or lang_info.get("name") or "python").lower()
        kernel_name = str(kernel.get("name") or "")
        shell_kernel = language in ("bash", "sh", "powershell", "zsh") or kernel_name in (
            "bash",
            "powershell",
        )

        hits: list[PythonHit] = []
        shell: list[dict[str, Any]] = []
        magics: list[dict[str, Any]] = []
        unparseable: list[dict[str, Any]] = []
        outputs: list[dict[str, Any]] = []
        markdown: list[dict[str, Any]] = []
        code_cells = 0
        for idx, cell in enumerate(cells):
            ctype = cell.get("cell_type")
            src = _text(cell.get("source", cell.get("input")))
            if ctype == "code":
                code_cells += 1
                self._code_cell(idx, src, shell_kernel, hits, shell, magics, unparseable)
                for out in cell.get("outputs") or []:
                    if isinstance(out, dict):
                        self._output(idx, out, outputs)
            elif ctype in ("markdown", "raw", "html", "heading"):
                found = html_active_content(src) if src else []
                for h in found:
                    if h.severity >= Severity.MEDIUM:
                        markdown.append(
                            {"cell": idx, "what": h.what, "line": h.line, "snippet": h.snippet}
                        )
                for att in (
                    (cell.get("attachments") or {}).values()
                    if isinstance(cell.get("attachments"), dict)
                    else []
                ):
                    if isinstance(att, dict):
                        self._output(idx, {"data": att}, markdown)
        widgets = meta.get("widgets")
        if isinstance(widgets, dict):
            try:
                dumped = json.dumps(widgets)[: 16 * 1024 * 1024]
            except (ValueError, RecursionError, TypeError):
                dumped = ""
            m = _WIDGET_JS.search(dumped)
            if m:
                outputs.append(
                    {
                        "cell": None,
                        "mime": "application/vnd.jupyter.widget-state+json",
                        "what": "widget state with JavaScript",
                        "snippet": dumped[m.start() : m.start() + 120],
                    }
                )

        ev: dict[str, Any] = {
            "nbformat": nb.get("nbformat"),
            "cells": len(cells),
            "code_cells": code_cells,
            "language": language,
        }
        if kernel_name:
            ev["kernel"] = kernel_name
        yield self._f(
            blob,
            "notebook.present",
            Severity.LOW if code_cells else Severity.INFO,
            f"{name} is a Jupyter notebook with {code_cells} code cell(s); notebooks run "
            "code when executed",
            ev,
        )
        if shell:
            sev = Severity.HIGH
            pats = [p for s in shell for p in s.get("patterns", [])]
            if any(p["severity"] == "critical" for p in pats):
                sev = Severity.CRITICAL
            where = ", ".join(f"cell {s['cell']} line {s['line']}" for s in shell[:5])
            yield self._f(
                blob,
                "notebook.shell",
                sev,
                f"{name} runs shell commands ({where})",
                {"escapes": shell[:50], "count": len(shell)},
            )
        if magics:
            risky = [
                m
                for m in magics
                if m["magic"] in _RISKY_LINE_MAGICS
                or m["magic"] in ("javascript", "js", "html", "writefile", "file")
            ]
            sev = Severity.MEDIUM if risky else Severity.INFO
            if any(m["magic"] in ("javascript", "js") for m in magics):
                sev = Severity.HIGH
            if risky or sev > Severity.INFO:
                names = sorted({m["magic"] for m in risky})
                yield self._f(
                    blob,
                    "notebook.magic",
                    sev,
                    f"{name} uses IPython magics that run or load other code ({', '.join(names)})",
                    {"magics": magics[:50]},
                )
        yield from python_hit_findings(
            hits,
            path=blob.path,
            member=blob.member,
            subject=f"{name} code cell",
            category="notebook",
            rule_for={
                c: f"notebook.code.{c}"
                for c in (
                    "process",
                    "network",
                    "exec",
                    "dynamic",
                    "obfuscation",
                    "filesystem",
                    "credentials",
                )
            },
        )
        if unparseable:
            yield self._f(
                blob,
                "notebook.code.unparseable",
                Severity.MEDIUM,
                f"{name} has {len(unparseable)} code cell(s) that do not parse as Python; "
                "they were not analysed",
                {"cells": unparseable[:50]},
            )
        if outputs:
            sev = max((Severity(o.get("severity", "high")) for o in outputs), key=lambda s: s.rank)
            yield self._f(
                blob,
                "notebook.output.script",
                sev,
                f"{name} stores outputs with script content that runs when the notebook is "
                f"rendered ({outputs[0]['mime']})",
                {"outputs": outputs[:50]},
            )
        if markdown:
            yield self._f(
                blob,
                "notebook.markdown.script",
                Severity.MEDIUM,
                f"{name} has markdown with active HTML (renderers that do not sanitise run it)",
                {"cells": markdown[:50]},
            )

    def _code_cell(
        self,
        idx: int,
        src: str,
        shell_kernel: bool,
        hits: list[PythonHit],
        shell: list[dict[str, Any]],
        magics: list[dict[str, Any]],
        unparseable: list[dict[str, Any]],
    ) -> None:
        if shell_kernel:
            if src.strip():
                shell.append(
                    {
                        "cell": idx,
                        "line": 1,
                        "text": src.strip().split("\n", 1)[0][:200],
                        "patterns": shell_pattern_hits(src, "shell"),
                        "kernel": True,
                    }
                )
            return
        cell = strip_magics(src)
        for line, text in cell.shell:
            entry: dict[str, Any] = {"cell": idx, "line": line, "text": text}
            body = cell.body if cell.cell_magic else text.lstrip("!%")
            pats = shell_pattern_hits(
                body, "powershell" if cell.cell_magic in ("powershell", "pwsh") else "shell"
            )
            if pats:
                entry["patterns"] = pats
            shell.append(entry)
        for line, text in cell.magics:
            magic = text.lstrip("%").split(None, 1)[0] if text.lstrip("%") else ""
            magics.append({"cell": idx, "line": line, "magic": magic, "text": text})
        for m in _IPY_CALL.finditer(src):
            line = src.count("\n", 0, m.start()) + 1
            shell.append({"cell": idx, "line": line, "text": m.group(0)})
        if cell.cell_magic in ("html",):
            for h in html_active_content(cell.body):
                if h.severity >= Severity.HIGH:
                    magics.append(
                        {"cell": idx, "line": h.line, "magic": "javascript", "text": h.snippet}
                    )
        if not cell.source.strip():
            return
        analysis = analyse_python(cell.source)
        if not analysis.parsed:
            unparseable.append({"cell": idx, "error": analysis.error})
            return
        for ph in analysis.hits:
            scope = f"cell {idx}" if ph.scope == "<module>" else f"cell {idx}: {ph.scope}"
            hits.append(PythonHit(ph.category, ph.name, ph.line, ph.severity, scope))

    def _output(self, idx: int, out: dict[str, Any], sink: list[dict[str, Any]]) -> None:
        data = out.get("data")
        if not isinstance(data, dict):
            return
        for mime, value in data.items():
            if not isinstance(mime, str):
                continue
            low = mime.lower()
            text = _text(value) if not isinstance(value, dict) else ""
            if low in _SCRIPT_MIMES:
                sink.append(
                    {
                        "cell": idx,
                        "mime": mime,
                        "what": "javascript output",
                        "snippet": text[:120],
                        "severity": "high",
                    }
                )
            elif low in _MARKUP_MIMES and text:
                found = [h for h in html_active_content(text) if h.severity >= Severity.MEDIUM]
                if found:
                    worst = max((h.severity for h in found), key=lambda s: s.rank)
                    sink.append(
                        {
                            "cell": idx,
                            "mime": mime,
                            "what": ", ".join(sorted({h.what for h in found})),
                            "snippet": found[0].snippet,
                            "severity": worst.value,
                        }
                    )


NOTEBOOK_SCANNER = NotebookScanner()
"""The module-level scanner instance the registry uses."""
