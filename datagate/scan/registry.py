"""The explicit list of scanners: one :class:`ScannerName` per hazard family module.

Nothing is discovered by entry points or import side effects: adding a scanner means adding a
member here, a branch in :meth:`ScannerName.to_scanner` (the type checker's ``assert_never``
and a test that walks every member keep the two in step) and its kinds in :data:`FAMILY_KINDS`,
which the scanner class reads its ``kinds`` from.

:func:`default_scanners` returns lazy stand-ins: each knows its family's name and content kinds
(from :data:`FAMILY_KINDS`, without importing the family) and imports the family's module the
first time content of those kinds is scanned. A folder of pickles never imports the
archive, notebook or spreadsheet readers; start-up is most of a per-file invocation's cost.

>>> [s.name for s in default_scanners()][:2]
['pickles', 'containers']
"""

from __future__ import annotations

import enum
import importlib
import importlib.util
from collections.abc import Iterator
from typing import assert_never

from datagate.errors import ScanError
from datagate.scan.interface import Blob, ContentKind, ScanContext, ScanItem, Scanner

__all__ = ["FAMILY_KINDS", "LazyScanner", "ScannerName", "default_scanners"]


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


_EVERY_KIND = frozenset(ContentKind)
FAMILY_KINDS: dict[ScannerName, frozenset[ContentKind]] = {
    ScannerName.PICKLES: frozenset(
        {ContentKind.PICKLE, ContentKind.TORCH_LEGACY, ContentKind.NUMPY}
    ),
    ScannerName.CONTAINERS: frozenset(
        {
            ContentKind.ZIP, ContentKind.TORCH_ZIP, ContentKind.TAR, ContentKind.SEVENZ,
            ContentKind.RAR, ContentKind.GZIP, ContentKind.BZIP2, ContentKind.XZ,
            ContentKind.LZMA, ContentKind.ZSTD, ContentKind.LZ4, ContentKind.ZLIB,
        }
    ),  # fmt: skip
    ScannerName.EXECUTABLES: _EVERY_KIND,
    ScannerName.SCRIPTS: _EVERY_KIND,
    ScannerName.NOTEBOOKS: frozenset({ContentKind.NOTEBOOK, ContentKind.JSON, ContentKind.TEXT}),
    ScannerName.MARKUP: _EVERY_KIND,
    ScannerName.REPO: _EVERY_KIND,
    ScannerName.COLUMNAR: frozenset(
        {ContentKind.ARROW, ContentKind.ARROW_STREAM, ContentKind.PARQUET, ContentKind.AVRO}
    ),
    ScannerName.SAFETENSORS: frozenset({ContentKind.SAFETENSORS}),
    ScannerName.MODELS: frozenset(
        {
            ContentKind.HDF5, ContentKind.JSON, ContentKind.MATLAB, ContentKind.NETCDF,
            ContentKind.TF_SAVEDMODEL,
        }
    ),  # fmt: skip
    ScannerName.SCIENTIFIC: frozenset({ContentKind.IDL_SAVE}),
    ScannerName.FORMULAS: frozenset({ContentKind.CSV, ContentKind.OFFICE, ContentKind.TEXT}),
}
"""The content kinds each family's scanner inspects: its ``kinds`` (the one declaration, so the
registry knows them without importing the family)."""


class LazyScanner:
    """A family's scanner, imported the first time it scans something.

    Has the :class:`~datagate.scan.interface.Scanner` shape (``name``, ``kinds``, ``scan``);
    :attr:`real` is the family's scanner object. Pickles as its family name only, so worker
    processes import the family themselves.
    """

    __slots__ = ("family", "name", "kinds", "_real")

    def __init__(self, family: ScannerName) -> None:
        self.family = family
        self.name = family.value
        self.kinds = FAMILY_KINDS[family]
        self._real: Scanner | None = None

    @property
    def real(self) -> Scanner:
        """The family's scanner object (importing its module now if need be).

        Raises ScanError when the module or its scanner object is not available."""
        if self._real is None:
            self._real = self.family.to_scanner()
        return self._real

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterator[ScanItem]:
        """Delegate to the family's scanner."""
        return self.real.scan(blob, ctx)

    def __reduce__(self) -> tuple[type[LazyScanner], tuple[ScannerName]]:
        return (LazyScanner, (self.family,))

    def __repr__(self) -> str:
        return f"LazyScanner({self.name!r}, loaded={self._real is not None})"


def default_scanners() -> tuple[Scanner, ...]:
    """Return every available scanner, in :class:`ScannerName` order, as :class:`LazyScanner`
    stand-ins (a family's module is imported when it first has content to scan).

    A family whose module is missing is left out (the engine then reports the content it would
    have inspected as ``content.unscanned``). Raises nothing else.
    """
    out: list[Scanner] = []
    for name in ScannerName:
        if importlib.util.find_spec(f"datagate.scan.{name.value}") is None:
            continue  # fails closed in the engine: content.unscanned
        out.append(LazyScanner(name))
    return tuple(out)
