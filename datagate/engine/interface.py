"""The ``Engine`` seam: an ordered map, and map -> bucket shuffle -> reduce.

The stages never schedule work themselves; they hand an :class:`Engine` picklable top-level
functions and a list of work items (a shard, or a row-group range of a large one) and get
results back **in item order**:

* :meth:`Engine.map` - an ordered map (hashing, scanning, anything without a shuffle);
* :meth:`Engine.map_shuffle` - each item maps to a :class:`MapOutput`: a small picklable
  ``summary`` (a mergeable partial, folded by the caller in item order), ``shuffle`` arrays
  (uint64, shape ``(n, k)``, column 0 a 64-bit hash that picks the bucket by its top bits) and an
  optional ``side`` array (per-item data a reducer may look up, e.g. MinHash signatures);
* :meth:`Shuffle.reduce` - one task per bucket, given every item's rows of that bucket
  (concatenated in item order, per shuffle name), the caller's context and a :class:`SideStore`.

A task that raises or whose worker dies yields :class:`Failed` naming the item (or bucket), never
a missing result: the caller turns it into a check ``error``.

Implementations: :class:`datagate.engine.local.LocalEngine` (default: in-process for small
inputs, else one process per core) and :class:`datagate.engine.ray.RayEngine` (Ray Core tasks and
object refs; the only module that imports ray).

How a check family plugs in: see :mod:`datagate.check._engine` (``Family``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import numpy.typing as npt

from datagate.errors import DatagateError

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self from Python 3.11

__all__ = [
    "DEFAULT_BUCKETS",
    "Engine",
    "EngineError",
    "Failed",
    "MapOutput",
    "RowTable",
    "Shuffle",
    "SideStore",
    "bucket_of",
    "drain_concat",
    "partition",
    "take_rows",
]

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_BUCKETS = 64
"""Hash-prefix buckets of a shuffle (a power of two); one reduce task each."""


class EngineError(DatagateError):
    """The engine could not start or reach its workers (e.g. a Ray address that does not answer)."""


@dataclass(frozen=True)
class Failed:
    """A task that raised, or whose worker was lost: ``name`` says which shard or bucket."""

    name: str
    """The work item's name (a shard's path, with its row-group range) or ``bucket N``."""
    reason: str
    """What went wrong, one line."""

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}"


@dataclass
class MapOutput:
    """What a map task of :meth:`Engine.map_shuffle` returns."""

    summary: Any
    """Small picklable partial, returned to the caller in item order."""
    shuffle: Mapping[str, npt.NDArray[np.uint64]] = field(default_factory=dict)
    """Per shuffle name, an ``(n, k)`` uint64 array; column 0 picks the bucket."""
    side: npt.NDArray[Any] | None = None
    """Optional per-item array reducers can read through :class:`SideStore`."""


class SideStore(ABC):
    """Read access, inside a reduce task, to the ``side`` arrays of the map tasks."""

    @abstractmethod
    def get(self, item: int) -> Any:
        """Return item ``item``'s side array (an empty array when it had none): an array, or an
        object that reads the positions it is indexed with (an integer or an integer array)."""


def bucket_of(h: npt.NDArray[np.uint64], buckets: int) -> npt.NDArray[np.intp]:
    """Return the bucket of each hash: its top ``log2(buckets)`` bits."""
    bits = buckets.bit_length() - 1
    if bits == 0:
        return np.zeros(len(h), dtype=np.intp)
    return (h >> np.uint64(64 - bits)).astype(np.intp)


def bucket_order(table: npt.NDArray[np.uint64], buckets: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Return the row order that sorts ``table`` by bucket (stable) and each bucket's row count."""
    if buckets > 1 << 16:
        b = bucket_of(table[:, 0], buckets)
    else:
        # 2-byte bucket numbers, a slice at a time: the whole column's shifted copy and its intp
        # cast were 16 bytes a row of a map task's largest table, at its memory peak
        b = np.empty(len(table), dtype=np.uint16)
        for lo in range(0, len(table), _ORDER_ROWS):
            b[lo : lo + _ORDER_ROWS] = bucket_of(table[lo : lo + _ORDER_ROWS, 0], buckets)
    # small unsigned ints: numpy's stable sort is a radix sort for them
    order = np.argsort(b, kind="stable")
    return order, np.bincount(b, minlength=buckets)


_ORDER_ROWS = 1 << 18
"""Rows per slice of :func:`bucket_order`'s bucket numbers."""


def take_rows(table: npt.NDArray[np.uint64], order: npt.NDArray[np.intp]) -> npt.NDArray[np.uint64]:
    """Return ``table[order]`` for a 2-D uint64 table, gathering each row as one fixed-size item
    (numpy's row-wise fancy indexing is several times slower: 0.22-0.46 s against 0.03 s for
    3.2M rows of two columns)."""
    if table.ndim != 2 or table.shape[1] == 0:
        return table[order]
    t = np.ascontiguousarray(table)
    rows = t.view(np.dtype((np.void, t.shape[1] * t.itemsize))).reshape(-1)
    return rows[order].view(table.dtype).reshape(-1, table.shape[1])


def drain_concat(parts: list[npt.NDArray[Any]]) -> npt.NDArray[Any]:
    """Return ``parts`` joined along the first axis, emptying the list as each part is copied.

    ``np.concatenate`` holds every part until the whole result is written. Here each part is
    released as soon as it is copied (a part served by ``mmap`` goes back to the system at once,
    a smaller one to the heap, where the next allocations reuse it), and the result's fresh
    pages are touched only as they are filled. Parts share one dtype and trailing shape;
    ``parts`` must not be empty.
    """
    total = sum(len(p) for p in parts)
    out = np.empty((total, *parts[0].shape[1:]), dtype=parts[0].dtype)
    parts.reverse()  # pop from the end: first part first
    pos = 0
    while parts:
        p = parts.pop()
        out[pos : pos + len(p)] = p
        pos += len(p)
        del p
    return out


class RowTable:
    """A 2-D uint64 table appended to batch by batch, into one table allocated once when its
    most rows are known.

    With a ``capacity`` (most rows it will hold), the first batch allocates the table (its width
    is the batch's) and every batch is copied in: the table's pages are touched only as they are
    filled, and no batch outlives its copy. Past the capacity, or without one, the batches are
    kept and joined at the end by :func:`drain_concat`. On 250,000-row row groups a map task's
    peak resident size fell by 40-70 MB (607-657 -> 569-588 MB): its near-duplicate band rows
    alone are 64 MB, and as a list of 4 MB batches they stayed resident in the heap after the
    join.
    """

    def __init__(self, capacity: int | None = None) -> None:
        self._capacity = capacity
        self._table: npt.NDArray[np.uint64] | None = None
        self._filled = 0
        self._parts: list[npt.NDArray[np.uint64]] = []

    def add(self, rows: npt.NDArray[np.uint64]) -> None:
        """Append ``rows`` (2-D uint64, the same width every time; anything else is a caller bug,
        refused rather than cast into the table)."""
        if rows.dtype != np.uint64 or rows.ndim != 2:
            raise TypeError(f"RowTable takes 2-D uint64 rows, not {rows.ndim}-D {rows.dtype}")
        n = len(rows)
        if self._table is None and not self._parts and self._capacity:
            self._table = np.empty((self._capacity, rows.shape[1]), dtype=np.uint64)
        if self._table is not None and not self._parts and self._filled + n <= len(self._table):
            self._table[self._filled : self._filled + n] = rows
            self._filled += n
        elif n:
            self._parts.append(rows)

    def __len__(self) -> int:
        return self._filled + sum(len(p) for p in self._parts)

    def table(self) -> npt.NDArray[np.uint64]:
        """Return every row appended, in order, and forget them (call it once; not when empty)."""
        table, parts = self._table, self._parts
        self._table, self._parts = None, []
        if table is None:
            return drain_concat(parts)
        if not parts:
            return table[: self._filled]  # no copy: the rest of the table was never touched
        return drain_concat([table[: self._filled], *parts])


def partition(table: npt.NDArray[np.uint64], buckets: int) -> list[npt.NDArray[np.uint64]]:
    """Return ``table``'s rows split into ``buckets`` arrays by the top bits of column 0."""
    order, counts = bucket_order(table, buckets)
    ends = np.cumsum(counts)
    t = take_rows(table, order)
    return [t[e - c : e] for c, e in zip(counts.tolist(), ends.tolist(), strict=True)]


class Shuffle(ABC):
    """The bucketed output of :meth:`Engine.map_shuffle`, reduced once (then freed)."""

    @abstractmethod
    def summaries(self) -> Iterator[Any | Failed]:
        """Yield every item's summary (or Failed) in item order; call it once, before reduce."""

    @abstractmethod
    def reduce(self, fn: Callable[[int, Mapping[str, npt.NDArray[np.uint64]], Any, SideStore], R], context: Any) -> Iterator[R | Failed]:
        """Run ``fn(bucket, rows_by_shuffle_name, context, side)`` for each non-empty bucket.

        Rows of one bucket are concatenated in item order; a name with no rows there is absent.
        Results come in bucket order. Items that failed contribute nothing.
        """

    @abstractmethod
    def close(self) -> None:
        """Free the shuffled data (spill files, object refs)."""


class Engine(ABC):
    """Runs map and map/shuffle/reduce jobs; see the module docstring."""

    name: str = "engine"
    """``local`` or ``ray`` (goes in the lineage record's run block)."""

    @property
    @abstractmethod
    def workers(self) -> int:
        """Return the number of tasks that run at once."""

    @abstractmethod
    def map(self, fn: Callable[[T], R], items: Sequence[T], *, names: Sequence[str], weights: Sequence[int] | None = None) -> Iterator[R | Failed]:
        """Yield ``fn(item)`` for every item, in item order (a failure is :class:`Failed`).

        ``names`` name the items in failures; ``weights`` (bytes) let the engine keep small jobs
        in-process.
        """

    @abstractmethod
    def map_shuffle(
        self,
        fn: Callable[[T], MapOutput],
        items: Sequence[T],
        *,
        names: Sequence[str],
        buckets: int = DEFAULT_BUCKETS,
        weights: Sequence[int] | None = None,
    ) -> Shuffle:
        """Start the map phase of a shuffle job and return its :class:`Shuffle`."""

    def describe(self) -> dict[str, Any]:
        """Return ``{"name": ..., "workers": ...}`` for the lineage record's run block."""
        return {"name": self.name, "workers": self.workers}

    def close(self) -> None:  # noqa: B027  engines without resources need nothing here
        """Release workers (processes, a Ray runtime this engine started)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
