"""Bounded-memory stores for per-row integers: bucketed by hash prefix, spilled to disk.

Work that needs all rows at once (exact duplicates, leakage, conflicting labels, near-duplicate
candidates) appends ``(hash, location, ...)`` tuples to a :class:`BucketSpool`, which partitions
them into ``2**bits`` buckets by the hash's top bits. Tuples stay in memory until the spool holds
``budget`` bytes; then every bucket is written to its own file in a private temporary directory
and later tuples go straight to disk. Afterwards buckets are processed one at a time, so peak
memory is about one bucket. The same partitioning is what a cluster engine would shuffle by.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import numpy.typing as npt

from datagate.engine.interface import bucket_order, take_rows

__all__ = ["DEFAULT_BUDGET_BYTES", "BucketSpool", "SeqSpool", "SpoolFile"]

DEFAULT_BUDGET_BYTES = 128 << 20
"""In-memory bytes a spool may hold before it spills to its temporary directory."""


@dataclass(frozen=True)
class SpoolFile:
    """A spilled bucket: ``rows`` tuples of ``ncols`` uint64 in the file at ``path``."""

    path: str
    ncols: int
    rows: int

    def load(self) -> npt.NDArray[np.uint64]:
        """Read the tuples as an ``(rows, ncols)`` array."""
        if self.rows == 0:
            return np.zeros((0, self.ncols), dtype=np.uint64)
        return np.fromfile(self.path, dtype=np.uint64, count=self.rows * self.ncols).reshape(-1, self.ncols)


class BucketSpool:
    """Tuples of ``ncols`` uint64 columns, partitioned by the top ``bits`` bits of column 0."""

    def __init__(self, ncols: int, *, bits: int = 6, budget: int = DEFAULT_BUDGET_BYTES, tmp: Path | None = None) -> None:
        self.ncols = ncols
        self.bits = bits
        self.budget = budget
        self._tmp_parent = tmp
        self._mem: list[list[npt.NDArray[np.uint64]]] = [[] for _ in range(1 << bits)]
        self._mem_bytes = 0
        self._dir: Path | None = None
        self._sizes: list[int] = []
        self.rows = 0
        """Number of tuples added."""

    def bucket_rows(self, b: int) -> int:
        """Return how many tuples bucket ``b`` holds."""
        if self._dir is None:
            return sum(len(p) for p in self._mem[b])
        return self._sizes[b] // (8 * self.ncols)

    @property
    def spilled(self) -> bool:
        """Return True once the spool writes to disk."""
        return self._dir is not None

    def add(self, *cols: npt.NDArray[np.uint64]) -> None:
        """Append tuples given as parallel uint64 arrays (column 0 is the partitioning hash)."""
        n = len(cols[0])
        if n == 0:
            return
        table = np.empty((n, self.ncols), dtype=np.uint64)
        for i, c in enumerate(cols):
            table[:, i] = c
        order, counts = bucket_order(table, 1 << self.bits)
        table = take_rows(table, order)
        ends = np.cumsum(counts)
        starts = ends - counts
        self.rows += n
        if self._dir is not None:
            self._write({int(b): table[starts[b] : ends[b]] for b in np.flatnonzero(counts)})
            return
        for b in np.flatnonzero(counts):
            self._mem[b].append(table[starts[b] : ends[b]])
        self._mem_bytes += table.nbytes
        if self._mem_bytes > self.budget:
            self._spill()

    def add_parts(self, parts: list[npt.NDArray[np.uint64]]) -> None:
        """Append tuples already partitioned: ``parts[b]`` is an ``(n, ncols)`` array of bucket ``b``."""
        added = sum(len(p) for p in parts)
        if self._dir is not None:
            self._write({b: part for b, part in enumerate(parts) if len(part)})
        else:
            for b, part in enumerate(parts):
                if len(part):
                    self._mem[b].append(part)
                    self._mem_bytes += part.nbytes
        self.rows += added
        if self._dir is None and self._mem_bytes > self.budget:
            self._spill()

    def _path(self, b: int) -> Path:
        assert self._dir is not None
        return self._dir / f"b{b:05d}.u64"

    def _write(self, parts: dict[int, npt.NDArray[np.uint64]]) -> None:
        # files are opened per write, not held: thousands of buckets must not need thousands of
        # descriptors (the default soft limit is 1024 on Linux, 256 on macOS)
        for b, part in parts.items():
            with open(self._path(b), "ab") as fh:
                fh.write(np.ascontiguousarray(part).tobytes())
            self._sizes[b] += part.nbytes

    def _spill(self) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="datagate-spool-", dir=self._tmp_parent))
        self._sizes = [0] * (1 << self.bits)
        self._write({b: np.concatenate(parts) for b, parts in enumerate(self._mem) if parts})
        self._mem = [[] for _ in range(1 << self.bits)]
        self._mem_bytes = 0

    def source(self, b: int) -> npt.NDArray[np.uint64] | SpoolFile:
        """Return bucket ``b``'s tuples: the array while in memory, else a picklable reference to
        its file, so a reduce task in another process reads the rows itself (they do not pass
        through this process)."""
        if self._dir is None:
            return self.bucket(b)
        return SpoolFile(str(self._path(b)), self.ncols, self._sizes[b] // (8 * self.ncols))

    def buckets(self) -> Iterator[npt.NDArray[np.uint64]]:
        """Yield each bucket's tuples as an ``(n, ncols)`` array, one bucket at a time."""
        if self._dir is None:
            for parts in self._mem:
                if parts:
                    yield np.concatenate(parts) if len(parts) > 1 else parts[0]
            return
        for b in range(1 << self.bits):
            if self._sizes[b]:
                yield self.bucket(b)

    def bucket(self, b: int) -> npt.NDArray[np.uint64]:
        """Return bucket ``b``'s tuples as an ``(n, ncols)`` array (empty when it has none)."""
        if self._dir is None:
            parts = self._mem[b]
            if not parts:
                return np.zeros((0, self.ncols), dtype=np.uint64)
            return np.concatenate(parts) if len(parts) > 1 else parts[0]
        return self.source(b).load()  # type: ignore[union-attr]  # spilled: always a SpoolFile

    def close(self) -> None:
        """Free memory and delete the spill directory, if any."""
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
        self._mem = [[] for _ in range(1 << self.bits)]


class SeqSpool:
    """An append-only sequence of numbers (one dtype) in row order, spilled past ``budget``."""

    def __init__(self, dtype: type[np.generic], *, budget: int = DEFAULT_BUDGET_BYTES // 4, tmp: Path | None = None) -> None:
        self.dtype = np.dtype(dtype)
        self.budget = budget
        self._tmp_parent = tmp
        self._mem: list[npt.NDArray[np.generic]] = []
        self._mem_bytes = 0
        self._path: Path | None = None
        self._fh: IO[bytes] | None = None
        self.rows = 0
        """Number of values appended."""

    def add(self, values: npt.NDArray[np.generic]) -> None:
        """Append values (converted to the spool's dtype)."""
        arr = np.ascontiguousarray(values, dtype=self.dtype)
        self.rows += len(arr)
        if self._fh is not None:
            self._fh.write(arr.tobytes())
            return
        self._mem.append(arr)
        self._mem_bytes += arr.nbytes
        if self._mem_bytes > self.budget:
            fd, name = tempfile.mkstemp(prefix="datagate-seq-", dir=self._tmp_parent)
            self._path = Path(name)
            self._fh = open(fd, "wb")  # noqa: SIM115
            for part in self._mem:
                self._fh.write(part.tobytes())
            self._mem = []
            self._mem_bytes = 0

    def chunks(self, rows: int = 1 << 20) -> Iterator[tuple[int, npt.NDArray[np.generic]]]:
        """Yield ``(first row index, values)`` chunks in row order."""
        if self._fh is None:
            start = 0
            for part in self._mem:
                yield start, part
                start += len(part)
            return
        self._fh.flush()
        assert self._path is not None
        mm = np.memmap(self._path, dtype=self.dtype, mode="r", shape=(self.rows,)) if self.rows else np.zeros(0, self.dtype)
        for start in range(0, self.rows, rows):
            yield start, np.asarray(mm[start : start + rows])

    def close(self) -> None:
        """Free memory and delete the spill file, if any."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if self._path is not None:
            self._path.unlink(missing_ok=True)
            self._path = None
        self._mem = []
