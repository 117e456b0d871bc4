"""The scanner extension point: what a scanner receives, what it may yield, and its limits.

A :class:`Blob` is a byte sequence to inspect: a file on disk (memory-mapped, never loaded whole)
or a member of a container (decompressed into memory under the size limits, never to disk). The
engine sniffs each blob's content (:class:`ContentKind`, never the extension) and hands it to
every registered :class:`Scanner` whose ``kinds`` include it. A scanner yields

* :class:`~datagate.models.Finding` for hazards,
* :class:`~datagate.models.Skip` for anything it could not inspect (with the reason), and
* child :class:`Blob` objects for container members, which the engine scans in turn
  (depth-limited by :attr:`Limits.max_depth`).

Scanners never execute, import, unpickle or extract what they inspect.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from datagate.models import Finding, Skip

__all__ = [
    "Blob",
    "ContentKind",
    "Limits",
    "ScanContext",
    "ScanItem",
    "Scanner",
]


class ContentKind(enum.Enum):
    """What a byte sequence is, decided by its content alone."""

    EMPTY = "empty"
    PICKLE = "pickle"
    TORCH_ZIP = "torch-zip"
    TORCH_LEGACY = "torch-legacy"
    NUMPY = "npy"
    ZIP = "zip"
    TAR = "tar"
    SEVENZ = "7z"
    RAR = "rar"
    GZIP = "gzip"
    BZIP2 = "bzip2"
    XZ = "xz"
    LZMA = "lzma"
    ZSTD = "zstd"
    LZ4 = "lz4"
    ZLIB = "zlib"
    ELF = "elf"
    PE = "pe"
    MACHO = "macho"
    MACHO_FAT = "macho-fat"
    WASM = "wasm"
    JAVA_CLASS = "java-class"
    SHEBANG = "shebang"
    PYTHON = "python"
    SHELL = "shell"
    BATCH = "batch"
    POWERSHELL = "powershell"
    NOTEBOOK = "notebook"
    HTML = "html"
    SVG = "svg"
    LFS_POINTER = "lfs-pointer"
    PARQUET = "parquet"
    ARROW = "arrow"
    ARROW_STREAM = "arrow-stream"
    HDF5 = "hdf5"
    MATLAB = "matlab"
    """MATLAB MAT-file: v4 (no magic, validated by structure), v5/v7 or v7.3 (HDF5 inside)."""
    NETCDF = "netcdf"
    """NetCDF classic/64-bit/CDF-5, or netCDF-4 (HDF5 inside)."""
    IDL_SAVE = "idl-save"
    ORC = "orc"
    AVRO = "avro"
    TFRECORD = "tfrecord"
    FITS = "fits"
    FORTRAN = "fortran-unformatted"
    """Fortran unformatted sequential records (length markers tile the file exactly)."""
    TF_SAVEDMODEL = "tf-savedmodel"
    """TensorFlow ``saved_model.pb`` or Keras ``keras_metadata.pb`` (protobuf, walked by structure)."""
    """Fortran unformatted sequential records (length markers tile the file exactly)."""
    SAFETENSORS = "safetensors"
    GGUF = "gguf"
    ONNX = "onnx"
    IMAGE = "image"
    AUDIO = "audio"
    VIDEO = "video"
    PDF = "pdf"
    OFFICE = "office"
    JSON = "json"
    JSONL = "jsonl"
    CSV = "csv"
    TEXT = "text"
    YAML = "yaml"
    BINARY = "binary"
    """Unrecognised bytes: not on the allowlist, reported, never assumed safe."""


@dataclass(frozen=True, slots=True)
class Limits:
    """Resource limits. Hitting any of them is a finding or a skip with a reason, never a pass."""

    max_depth: int = 6
    """How many containers deep to descend."""
    max_member_bytes: int = 512 * 1024 * 1024
    """Largest decompressed member kept in memory for inspection."""
    max_total_bytes: int = 4 * 1024 * 1024 * 1024
    """Largest total decompressed volume per outer file."""
    max_ratio: float = 200.0
    """Largest decompressed/compressed ratio before a member is a bomb."""
    max_members: int = 100_000
    """Most members read from one container."""
    max_pickle_ops: int = 50_000_000
    """Most pickle opcodes walked in one stream."""
    max_seconds_per_file: float = 120.0
    """Wall-clock budget per outer file."""
    max_text_bytes: int = 16 * 1024 * 1024
    """Largest script or notebook parsed (larger: skipped with a reason)."""


@dataclass(frozen=True)
class Blob:
    """Bytes to inspect, with where they came from.

    ``data`` supports the buffer protocol (bytes or a read-only mmap) and is never written.
    """

    path: str
    """The outer file relative to the scanned root (POSIX)."""
    data: bytes | memoryview
    """The content; for files on disk a memoryview over a read-only mmap."""
    member: str | None = None
    """Member chain inside containers joined by ``/``; None for the outer file."""
    depth: int = 0
    """How many containers enclose this blob."""
    mode: int | None = None
    """Permission bits when known (outer files, tar members)."""
    name: str = ""
    """The blob's own file name (last path or member component), for extension checks."""
    kind: ContentKind | None = None
    """Set by the engine after sniffing."""
    detail: str = ""
    """libmagic's description, set by the engine after sniffing."""

    @property
    def size(self) -> int:
        """Return the number of bytes."""
        return len(self.data)

    def child(self, member_name: str, data: bytes | memoryview, *, mode: int | None = None) -> Blob:
        """Return a blob for a member of this container, one level deeper."""
        chain = member_name if self.member is None else f"{self.member}/{member_name}"
        base = member_name.rstrip("/").rsplit("/", 1)[-1]
        return Blob(self.path, data, chain, self.depth + 1, mode, base)


@dataclass
class ScanContext:
    """Per-run settings shared by every scanner; mutable only for counters."""

    limits: Limits = field(default_factory=Limits)
    """Resource limits in force."""
    strict: bool = False
    """Report unknown-but-uncalled globals and unrecognised content one severity higher."""
    trees: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """Counters: the budget an archive and everything nested in it share, by outer file path
    (kept by the container scanner for the top-level file being scanned)."""


ScanItem = Finding | Skip | Blob
"""What a scanner may yield."""


@runtime_checkable
class Scanner(Protocol):
    """A hazard family's scanner. Stateless; one instance serves every blob of a run."""

    name: str
    """Stable short name (``pickles``, ``containers``, ...), used in the registry and docs."""
    kinds: frozenset[ContentKind]
    """Content kinds this scanner inspects; ``ContentKind`` members, decided by sniffing."""

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterator[ScanItem]:
        """Yield findings, skips and child blobs for ``blob``.

        Must not raise for hostile or malformed content: malformed input is a finding. May raise
        only :class:`~datagate.errors.DatagateError` subclasses for operational failures.
        """
        ...
