"""The scanner registry is explicit and exhaustive."""

from __future__ import annotations

from pathlib import Path

import pytest

from datagate.errors import ScanError
from datagate.scan.interface import Scanner
from datagate.scan.registry import LazyScanner, ScannerName, default_scanners


@pytest.mark.parametrize("name", list(ScannerName), ids=[n.value for n in ScannerName])
def test_to_scanner_is_exhaustive(name: ScannerName) -> None:
    try:
        scanner = name.to_scanner()
    except ScanError as exc:  # a family module not written yet: reported, never a crash
        assert name.value in exc.message
        return
    assert isinstance(scanner, Scanner)
    assert scanner.name == name.value
    assert scanner.kinds


def test_default_scanners_in_registry_order_without_duplicates() -> None:
    names = [s.name for s in default_scanners()]
    assert len(names) == len(set(names))
    order = [n.value for n in ScannerName]
    assert names == [n for n in order if n in names]
    assert {"pickles", "containers", "executables"} <= set(names)


def test_scanner_names_are_str_enum_values() -> None:
    assert ScannerName("containers") is ScannerName.CONTAINERS
    assert ScannerName.PICKLES.value == "pickles"


def test_lazy_stand_ins_declare_the_scanners_own_kinds() -> None:
    for lazy in default_scanners():
        assert isinstance(lazy, LazyScanner) and isinstance(lazy, Scanner)
        real = lazy.family.to_scanner()
        assert lazy.kinds == real.kinds, lazy.name
        assert lazy.real is real  # the module-level scanner object, imported once


def test_a_folder_of_pickles_imports_no_archive_or_spreadsheet_reader(tmp_path: Path) -> None:
    import pickle
    import subprocess
    import sys

    (tmp_path / "a.pkl").write_bytes(pickle.dumps({"a": [1, 2]}, protocol=4))
    (tmp_path / "b.pkl").write_bytes(pickle.dumps(list(range(5)), protocol=2))
    code = (
        "import sys; from datagate.scan import scan; r = scan(sys.argv[1], workers=1); "
        "print(r.files, sorted(m for m in sys.modules if m.startswith('datagate.scan.')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True
    ).stdout
    files, loaded = out.split(" ", 1)
    assert files == "2"
    assert "datagate.scan.pickles" in loaded
    for unused in ("containers", "notebooks", "formulas", "columnar", "safetensors"):
        assert f"datagate.scan.{unused}'" not in loaded, unused


def test_lazy_scanner_pickles_as_its_family() -> None:
    lazy = default_scanners()[0]
    assert isinstance(lazy, LazyScanner)
    assert lazy.real is not None  # loaded here ...
    make, args = lazy.__reduce__()
    assert args == (lazy.family,)  # ... crosses a process boundary as its family name ...
    back = make(*args)
    assert back.name == lazy.name and back.kinds == lazy.kinds
    assert "loaded=False" in repr(back)  # ... and is imported afresh on the other side
