"""The explicit list of scanners: one :class:`ScannerName` per hazard family module.

Nothing is discovered by entry points or import side effects: adding a scanner means adding a
member here and a branch in :meth:`ScannerName.to_scanner` (the type checker's ``assert_never``
and a test that walks every member keep the two in step).

>>> [s.name for s in default_scanners()][:2]
['pickles', 'containers']
"""

from __future__ import annotations

import enum
import importlib
from typing import assert_never

from datagate.errors import ScanError
from datagate.scan.interface import Scanner

__all__ = ["ScannerName", "default_scanners"]


class ScannerName(str, enum.Enum):
    """The name of a scanner family, as used in docs, policies and ``Scanner.name``."""

    PICKLES = "pickles"
    CONTAINERS = "containers"
    EXECUTABLES = "executables"
    SCRIPTS = "scripts"
    NOTEBOOKS = "notebooks"
    MARKUP = "markup"
    REPO = "repo"
    COLUMNAR = "columnar"
    SAFETENSORS = "safetensors"
    MODELS = "models"
    SCIENTIFIC = "scientific"
    FORMULAS = "formulas"

    def to_scanner(self) -> Scanner:
        """Return the scanner instance of this family.

        Raises ScanError when the family's module (or its scanner object) is not available.
        """
        match self:
            case ScannerName.PICKLES:
                return _load("pickles", "PICKLE_SCANNER")
            case ScannerName.CONTAINERS:
                return _load("containers", "CONTAINER_SCANNER")
            case ScannerName.EXECUTABLES:
                return _load("executables", "EXECUTABLE_SCANNER")
            case ScannerName.SCRIPTS:
                return _load("scripts", "SCRIPT_SCANNER")
            case ScannerName.NOTEBOOKS:
                return _load("notebooks", "NOTEBOOK_SCANNER")
            case ScannerName.MARKUP:
                return _load("markup", "MARKUP_SCANNER")
            case ScannerName.REPO:
                return _load("repo", "REPO_SCANNER")
            case ScannerName.COLUMNAR:
                return _load("columnar", "COLUMNAR_SCANNER")
            case ScannerName.SAFETENSORS:
                return _load("safetensors", "SAFETENSORS_SCANNER")
            case ScannerName.MODELS:
                return _load("models", "MODEL_SCANNER")
            case ScannerName.SCIENTIFIC:
                return _load("scientific", "SCIENTIFIC_SCANNER")
            case ScannerName.FORMULAS:
                return _load("formulas", "FORMULA_SCANNER")
            case _:
                assert_never(self)


def _load(module: str, attr: str) -> Scanner:
    full = f"datagate.scan.{module}"
    try:
        mod = importlib.import_module(full)
    except ModuleNotFoundError as exc:
        if exc.name != full:
            raise
        raise ScanError(f"scanner module {full} is not available") from exc
    scanner = getattr(mod, attr, None)
    if scanner is None or not isinstance(scanner, Scanner):
        raise ScanError(f"{full} does not provide the scanner {attr}")
    return scanner


def default_scanners() -> tuple[Scanner, ...]:
    """Return every available scanner, in :class:`ScannerName` order.

    A family whose module is missing is left out (the engine then reports the content it would
    have inspected as ``content.unscanned``). Raises nothing else.
    """
    out: list[Scanner] = []
    for name in ScannerName:
        try:
            out.append(name.to_scanner())
        except ScanError:
            # TODO: every family module exists in a release build; while the scanners are being
            # written in parallel a missing one is tolerated here and fails closed in the engine.
            continue
    return tuple(out)
