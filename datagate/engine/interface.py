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
    "Shuffle",
    "SideStore",
    "bucket_of",
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
