"""Tests for datagate.scan.repo: symlinks, LFS pointers, extension mismatch, .gitattributes (B13, B16, B17).

Also holds the audit-hook proof that scanning this family's hostile fixtures never creates a
process, runs os.system, executes a code object or resolves a pickle global.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from datagate.models import EntryKind, FileEntry, Finding, Severity
from datagate.scan.executables import EXECUTABLE_SCANNER
from datagate.scan.interface import Blob, ContentKind, ScanContext, Scanner
from datagate.scan.markup import MARKUP_SCANNER
from datagate.scan.notebooks import NOTEBOOK_SCANNER
from datagate.scan.repo import REPO_SCANNER, expected_kinds, parse_lfs_pointer, symlink_findings
from datagate.scan.scripts import SCRIPT_SCANNER
from datagate.scan.sniff import sniff
from fixtures.gen.common import Sample
from fixtures.gen.executables import build

OID = "4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393"


def _link(root: Path, rel: str, target: str, *, record_target: bool = True) -> FileEntry:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, p)
    return FileEntry(
        rel, EntryKind.SYMLINK, len(target), 0o777, None, target=target if record_target else None
    )


def _one(entry: FileEntry, root: Path) -> Finding:
    [f] = symlink_findings(entry, root)
    return f


def test_scanner_protocol() -> None:
    assert isinstance(REPO_SCANNER, Scanner) and REPO_SCANNER.kinds == frozenset(ContentKind)


def test_absolute_file_link_b13(tmp_path: Path) -> None:
    f = _one(_link(tmp_path, "evil.pkl", "/etc/passwd"), tmp_path)
    assert (f.rule, f.severity, f.path) == ("repo.symlink.escape", Severity.HIGH, "evil.pkl")
    assert f.evidence["reasons"] == ["absolute target"] and f.evidence[
        "resolved"
    ] == os.path.realpath("/etc/passwd")


def test_relative_climb(tmp_path: Path) -> None:
    f = _one(_link(tmp_path, "a/b/up", "../../../.."), tmp_path)
    assert f.rule == "repo.symlink.escape"
    assert (
        f.evidence["reasons"] == ["relative target climbs out of the root"]
        and f.evidence["directory"] is True
    )


def test_directory_link_to_root(tmp_path: Path) -> None:
    f = _one(_link(tmp_path, "rootdir", "/"), tmp_path)
    assert f.rule == "repo.symlink.escape" and f.evidence["directory"] is True


def test_chain_resolving_outside(tmp_path: Path) -> None:
    _link(tmp_path, "b", "/etc")
    f = _one(_link(tmp_path, "a", "b"), tmp_path)  # lexically inside, really outside
    assert f.rule == "repo.symlink.escape"
    assert f.evidence["reasons"] == ["resolves outside the root through a chain of links"]


def test_in_tree_link_is_info(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data/train.csv").write_text("a\n1\n")
    f = _one(_link(tmp_path, "data/latest.csv", "train.csv"), tmp_path)
    assert (f.rule, f.severity, f.evidence["resolved"]) == (
        "repo.symlink",
        Severity.INFO,
        "data/train.csv",
    )
    g = _one(_link(tmp_path, "alias", "data"), tmp_path)
    assert g.rule == "repo.symlink" and g.evidence["directory"] is True


def test_dangling_and_loop(tmp_path: Path) -> None:
    f = _one(_link(tmp_path, "gone.csv", "missing.csv"), tmp_path)
    assert (f.rule, f.severity, f.evidence["dangling"]) == (
        "repo.symlink.dangling",
        Severity.LOW,
        True,
    )
    _link(tmp_path, "x", "y")
    g = _one(_link(tmp_path, "y", "x"), tmp_path)
    assert g.rule == "repo.symlink.dangling" and g.evidence["loop"] is True


def test_target_read_when_not_recorded(tmp_path: Path) -> None:
    f = _one(_link(tmp_path, "evil", "/etc/hostname", record_target=False), tmp_path)
    assert f.rule == "repo.symlink.escape" and f.evidence["target"] == "/etc/hostname"


def test_regular_file_entry_has_no_findings(tmp_path: Path) -> None:
    assert symlink_findings(FileEntry("a.csv", EntryKind.FILE, 1, 0o644, "0" * 64), tmp_path) == []


def test_root_itself_behind_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real"
    (real / "d").mkdir(parents=True)
    (real / "d/f.csv").write_text("x\n")
    os.symlink(real, tmp_path / "alias")
    root = tmp_path / "alias"
    f = _one(_link(root, "l.csv", "d/f.csv"), root)
    assert f.rule == "repo.symlink"


# ------------------------------------------------------------------------------ LFS


def _pointer(size: str = "123456", oid: str = OID) -> bytes:
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {size}\n".encode()


def _scan(data: bytes, name: str, kind: ContentKind | None) -> list[Finding]:
    out = list(
        REPO_SCANNER.scan(
            Blob(f"r/{name}", data, name=name.rsplit("/", 1)[-1], kind=kind), ScanContext()
        )
    )
    assert all(isinstance(x, Finding) for x in out)
    return [x for x in out if isinstance(x, Finding)]


def test_lfs_pointer_b16() -> None:
    [f] = _scan(_pointer(), "data/train.parquet", ContentKind.LFS_POINTER)
    assert (f.rule, f.severity) == ("repo.lfs_pointer", Severity.HIGH)
    assert (f.evidence["oid"], f.evidence["size"], f.evidence["problems"]) == (OID, 123456, [])


def test_lfs_pointer_absurd_and_malformed() -> None:
    p = parse_lfs_pointer(_pointer(size=str(10**18)))
    assert p is not None and any("absurd size" in x for x in p["problems"])
    q = parse_lfs_pointer(_pointer(size="12e9", oid="xyz"))
    assert q is not None and len(q["problems"]) == 2
    assert parse_lfs_pointer(b"version 1.0 of my notes\n") is None
    # sniffing gap: recognised by content even when the kind is TEXT
    assert [f.rule for f in _scan(_pointer(), "x.bin", ContentKind.TEXT)] == ["repo.lfs_pointer"]


# ------------------------------------------------------------------------------ mismatch


@pytest.mark.parametrize(
    ("name", "kind", "expected"),
    [
        ("train-00000-of-00001.parquet", ContentKind.ELF, Severity.MEDIUM),
        ("images.json", ContentKind.ZIP, Severity.MEDIUM),
        ("features.parquet", ContentKind.PICKLE, Severity.MEDIUM),
        ("notes.csv", ContentKind.SHEBANG, Severity.MEDIUM),
        ("x.png", ContentKind.BINARY, Severity.LOW),
        ("train.parquet", ContentKind.PARQUET, None),
        ("train.csv", ContentKind.CSV, None),
        ("one_column.csv", ContentKind.TEXT, None),
        ("train.csv.gz", ContentKind.GZIP, None),
        ("a.npz", ContentKind.ZIP, None),
        ("model.bin", ContentKind.PICKLE, None),  # .bin is not a data extension with a fixed format
        ("README", ContentKind.TEXT, None),
    ],
)
def test_extension_mismatch(name: str, kind: ContentKind, expected: Severity | None) -> None:
    found = [f for f in _scan(b"\x00" * 8, name, kind) if f.rule == "repo.extension_mismatch"]
    if expected is None:
        assert found == []
    else:
        assert found[0].severity is expected and found[0].evidence["actual"] == kind.value


def test_expected_kinds_helper() -> None:
    assert expected_kinds("a/B.PARQUET") == ("parquet", frozenset({ContentKind.PARQUET}))
    assert expected_kinds(".bashrc") is None and expected_kinds("noext") is None


# ------------------------------------------------------------------------------ .gitattributes


def test_gitattributes() -> None:
    [f] = _scan(
        b"*.parquet filter=lfs diff=lfs merge=lfs -text\n*.py filter=lfs diff=lfs merge=lfs -text\n",
        ".gitattributes",
        ContentKind.TEXT,
    )
    assert (f.rule, f.severity) == ("repo.gitattributes", Severity.MEDIUM)
    assert f.evidence["entries"][0]["pattern"] == "*.py"
    assert (
        _scan(
            b"*.parquet filter=lfs diff=lfs merge=lfs -text\n*.csv text eol=lf\n",
            ".gitattributes",
            ContentKind.TEXT,
        )
        == []
    )
    [g] = _scan(b"data/** filter=crypt\n", ".gitattributes", ContentKind.TEXT)
    assert g.severity is Severity.MEDIUM and "custom filter" in g.evidence["entries"][0]["why"]
    [h] = _scan(b"*.sh -diff\n", ".gitattributes", ContentKind.TEXT)
    assert h.severity is Severity.MEDIUM


# ------------------------------------------------------------------------------ fixtures + audit hook


@pytest.fixture(scope="module")
def fx(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Sample]]:
    root = tmp_path_factory.mktemp("fx")
    return root, build(root)


def _scan_all(root: Path, s: Sample) -> list[Finding]:
    p = s.path(root)
    if p.is_symlink():
        return symlink_findings(
            FileEntry(s.relpath, EntryKind.SYMLINK, 0, 0o777, None, target=os.readlink(p)), root
        )
    data = p.read_bytes()
    kind, detail = sniff(data)
    blob = Blob(
        s.relpath, data, name=p.name, kind=kind, detail=detail, mode=p.stat().st_mode & 0o7777
    )
    out: list[Finding] = []
    for sc in (EXECUTABLE_SCANNER, SCRIPT_SCANNER, NOTEBOOK_SCANNER, MARKUP_SCANNER, REPO_SCANNER):
        if kind in sc.kinds:
            out += [f for f in sc.scan(blob, ScanContext()) if isinstance(f, Finding)]
    return out


def test_every_sample_meets_its_expectation(fx: tuple[Path, list[Sample]]) -> None:
    root, samples = fx
    bad = []
    for s in samples:
        fs = _scan_all(root, s)
        worst = max((f.severity for f in fs), key=lambda x: x.rank, default=None)
        if s.hostile and (
            worst is None
            or worst < Severity.parse(s.min_severity)
            or (s.rule_prefix and not any(f.rule.startswith(s.rule_prefix) for f in fs))
        ):
            bad.append((s.name, [(f.rule, f.severity.value) for f in fs]))
        if not s.hostile and worst is not None and worst > Severity.parse(s.min_severity):
            bad.append((s.name, [(f.rule, f.severity.value) for f in fs]))
    assert not bad, bad
    assert sum(s.hostile for s in samples) >= 25 and sum(not s.hostile for s in samples) >= 10


_ARMED: list[bool] = []
_EVENTS: list[str] = []
_FORBIDDEN = (
    "subprocess.Popen",
    "os.system",
    "os.exec",
    "os.spawn",
    "os.posix_spawn",
    "os.fork",
    "os.startfile",
    "exec",
    "pickle.find_class",
    "ctypes.dlopen",
    "import",
)


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if _ARMED and event.startswith(_FORBIDDEN):
        if event == "import" and args and str(args[0]).split(".")[0] in sys.modules:
            return  # re-import of an already loaded module is a cache hit, not new code
        _EVENTS.append(event)


sys.addaudithook(_hook)


class _Armed:
    def __enter__(self) -> None:
        _EVENTS.clear()
        _ARMED.append(True)

    def __exit__(self, *exc: object) -> None:
        _ARMED.clear()


def test_audit_hook_is_not_vacuous() -> None:
    with _Armed():
        exec(compile("x = 1", "<probe>", "exec"), {})  # noqa: S102  (proves the hook sees exec)
        seen = list(_EVENTS)
    assert "exec" in seen


def test_scanning_hostile_fixtures_runs_nothing(fx: tuple[Path, list[Sample]]) -> None:
    """Under an audit hook: no process, os.system, exec of code, pickle global or new import."""
    root, samples = fx
    # warm up lazy imports (libmagic, regex caches) so only scanning is observed
    for s in samples[:2]:
        _scan_all(root, s)
    seen: dict[str, list[str]] = {}
    for s in samples:
        if not s.hostile:
            continue
        with _Armed():
            _scan_all(root, s)
            if _EVENTS:
                seen[s.name] = list(_EVENTS)
    assert seen == {}


def test_gitmodules() -> None:
    [f] = _scan(
        b'[submodule "x"]\n\tpath = x\n\turl = ext::sh -c touch% /tmp/pwned\n',
        ".gitmodules",
        ContentKind.TEXT,
    )
    assert (f.rule, f.severity) == ("repo.gitmodules", Severity.HIGH)
    [g] = _scan(
        b'[submodule "lib"]\n\tpath = lib\n\turl = https://github.com/a/b\n',
        ".gitmodules",
        ContentKind.TEXT,
    )
    assert g.severity is Severity.LOW
    [h] = _scan(
        b'[submodule "x"]\n\tpath = ../../outside\n\turl = https://x/y\n',
        ".gitmodules",
        ContentKind.TEXT,
    )
    assert h.severity is Severity.HIGH


_PATHOLOGICAL: list[tuple[str, ContentKind, bytes]] = [
    ("a.html", ContentKind.HTML, b"<html>=" + b" " * 1_000_000 + b"x"),
    ("b.html", ContentKind.HTML, b"<html><a " + b"x" * 1_000_000),
    ("c.html", ContentKind.HTML, b"<html>" + b"<meta http-equiv " * 60_000),
    ("d.sh", ContentKind.SHELL, b"curl " * 200_000),
    ("e.sh", ContentKind.SHELL, b">" + b" \n" * 500_000),
    ("f.sh", ContentKind.SHELL, b"rm -" + b"r" * 1_000_000),
    ("g.url", ContentKind.TEXT, b"[InternetShortcut]" + b"\n" * 1_000_000),
    ("h.desktop", ContentKind.TEXT, b"[Desktop Entry]\n" + b" " * 1_000_000),
    ("i.py", ContentKind.PYTHON, b"x = '" + b"A" * 1_000_000 + b"'\n"),
    ("j.py", ContentKind.PYTHON, b"#" * 1_000_000),
    ("k.pdf", ContentKind.PDF, b"%PDF-1.4\n" + b"/FlateDecode " * 80_000),
    ("l.pdf", ContentKind.PDF, b"%PDF-1.4\n" + b"/" + b"#41" * 300_000),
    ("m.txt", ContentKind.TEXT, b"import " * 150_000),
    (
        "n.ipynb",
        ContentKind.NOTEBOOK,
        b'{"nbformat": 4, "cells": [{"cell_type": "code", "source": "'
        + b" " * 500_000
        + b'= !x"}]}',
    ),
    (".gitmodules", ContentKind.TEXT, b"[submodule]\nurl = " + b"a/" * 300_000),
    ("requirements.txt", ContentKind.TEXT, b" " * 1_000_000 + b"x"),
    ("o.sh", ContentKind.SHELL, b"curl | sh " * 100_000),
    ("p.bat", ContentKind.BATCH, b"@echo off\r\n" + b"certutil " * 100_000 + b"-urlcache"),
    ("q.ps1", ContentKind.POWERSHELL, b" -e " * 250_000),
    ("r.sh", ContentKind.SHELL, "\u0130 nc -e ".encode() * 100_000),
]


@pytest.mark.parametrize(("name", "kind", "data"), _PATHOLOGICAL, ids=[p[0] for p in _PATHOLOGICAL])
@pytest.mark.timeout(120)  # a runaway regex hangs here; no wall-clock assertion (issue 14)
def test_pathological_inputs_finish_quickly(name: str, kind: ContentKind, data: bytes) -> None:
    blob = Blob(f"r/{name}", data, name=name, kind=kind, mode=0o644)
    for sc in (EXECUTABLE_SCANNER, SCRIPT_SCANNER, NOTEBOOK_SCANNER, MARKUP_SCANNER, REPO_SCANNER):
        if kind in sc.kinds:
            list(sc.scan(blob, ScanContext()))
