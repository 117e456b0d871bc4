"""The ``local`` engine: every core of this machine (one process per core), in-process when small.

Small jobs run in this process: fewer than two items, or less than :data:`PARALLEL_MIN_BYTES` of
input outside the largest item while the whole is under :data:`PARALLEL_REDUCE_BYTES`. The map
cannot finish before its largest item, so only the bytes outside it gain from a second core;
the reduce gains from the whole once it is large. (Near-duplicates of a 200k-row train file, 24
MB, plus a small test file: 1.9-2.8 s in two workers, 1.4-1.7 s in-process; of a 1M-row one,
115 MB: 9.5 s in two workers, 11.0 s in-process.) Larger jobs run in a
``concurrent.futures`` process pool (``forkserver`` start method, so workers do not inherit the
driver's threads), at most ``2 * workers`` tasks in flight, results consumed in item order.

Shuffles: in worker processes, each map task writes its shuffled rows (sorted by bucket) and its
side array to files in a private temporary directory and returns only its small summary and the
files' bucket boundaries; a reduce task reads its bucket's slice of every map task's file, and
reducers read side arrays by position, so shuffled rows never pass through (or accumulate in) the
driver. In-process, shuffled rows go to one :class:`~datagate.check._spool.BucketSpool` per
shuffle name (memory up to a budget, then one file per bucket). A worker that dies (killed, out
of memory) breaks the pool: its task and the ones in flight with it become :class:`Failed`
("worker process lost"), and a fresh pool takes the rest.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import sys
import tempfile
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from datagate._system import return_large_frees, trim_heap, usable_cpus
from datagate.engine.interface import (
    DEFAULT_BUCKETS,
    Engine,
    Failed,
    MapOutput,
    Shuffle,
    SideStore,
    bucket_order,
    partition,
    take_rows,
)

__all__ = ["PARALLEL_MIN_BYTES", "PARALLEL_REDUCE_BYTES", "LocalEngine"]

T = TypeVar("T")
R = TypeVar("R")

PARALLEL_MIN_BYTES = 16 << 20
"""Jobs with less input than this outside their largest item run in-process (unless their
total reaches :data:`PARALLEL_REDUCE_BYTES`)."""
PARALLEL_REDUCE_BYTES = 64 << 20
"""Jobs with at least this much input run in worker processes however it is cut: their reduce
tasks alone pay for the workers."""

DENSE_READ_SPAN = 1024
"""A side-array lookup with at least one run of wanted values per this many values (8 KiB)
reads the whole file once instead of one ``pread`` per run."""

WHOLE_CACHE_BYTES = 128 << 20
"""Whole side files a reducer keeps for further dense lookups (small data: every file)."""


def _describe(exc: BaseException) -> str:
    if isinstance(exc, BrokenProcessPool):
        return "worker process lost (killed or out of memory)"
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


class _FileArray:
    """A ``uint64`` array in a raw file, read by position (``pread`` of the wanted runs).

    Not memory-mapped: a reducer looks up a few thousand scattered rows, and a mapping would
    leave most of the file's pages resident (fault-around), counted against the worker.
    """

    def __init__(self, path: str, cache: _WholeCache | None = None) -> None:
        self.path = path
        self._len = os.stat(path).st_size // 8
        self._cache = cache if cache is not None else _WholeCache(0)

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, (int, np.integer)):
            return self._take(np.array([int(index)], dtype=np.int64))[0]
        return self._take(np.asarray(index, dtype=np.int64))

    def _take(self, idx: npt.NDArray[np.int64]) -> npt.NDArray[np.uint64]:
        if len(idx) == 0:
            return np.zeros(0, dtype=np.uint64)
        if idx.min() < 0 or idx.max() >= self._len:
            raise IndexError(f"{self.path}: position out of range")
        pos = np.sort(idx)
        pos = pos[np.concatenate([[True], pos[1:] != pos[:-1]])]
        breaks = np.flatnonzero(np.diff(pos) != 1) + 1
        if (len(breaks) + 1) * DENSE_READ_SPAN >= self._len:
            # a run every few pages or closer: one sequential read beats a system call per run
            whole: npt.NDArray[np.uint64] = self._cache.read(self.path)
            return whole[idx]
        starts = np.concatenate([[0], breaks])
        ends = np.concatenate([breaks, [len(pos)]])
        vals = np.empty(len(pos), dtype=np.uint64)
        with open(self.path, "rb") as fh:
            fd = fh.fileno()
            for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
                raw = os.pread(fd, 8 * (b - a), 8 * int(pos[a]))
                vals[a:b] = np.frombuffer(raw, dtype=np.uint64)
        return vals[np.searchsorted(pos, idx)]


class _WholeCache:
    """Whole side files read for dense lookups, kept while they fit in ``budget`` bytes."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._arrays: dict[str, npt.NDArray[np.uint64]] = {}
        self._bytes = 0

    def read(self, path: str) -> npt.NDArray[np.uint64]:
        got = self._arrays.get(path)
        if got is None:
            got = np.fromfile(path, dtype=np.uint64)
            if self._bytes + got.nbytes <= self.budget:
                self._arrays[path] = got
                self._bytes += got.nbytes
        return got


class _FileSideStore(SideStore):
    """Side arrays saved as raw ``uint64`` files, read by position (picklable: paths only)."""

    def __init__(self, paths: Sequence[str | None]) -> None:
        self.__setstate__({"paths": list(paths)})

    def __getstate__(self) -> dict[str, Any]:
        return {"paths": self.paths}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.paths = state["paths"]
        self._cache = _WholeCache(WHOLE_CACHE_BYTES)
        self._arrays: dict[int, _FileArray] = {}

    def get(self, item: int) -> Any:
        """Return item ``item``'s side array (read on indexing)."""
        path = self.paths[item] if item < len(self.paths) else None
        if not path:
            return np.zeros(0, dtype=np.uint64)
        arr = self._arrays.get(item)
        if arr is None:
            arr = self._arrays[item] = _FileArray(path, self._cache)
        return arr


@dataclass(frozen=True)
class _ItemRows:
    """One map task's rows of one shuffle name, in a file sorted by bucket."""

    path: str
    ncols: int
    ends: tuple[int, ...]
    """Cumulative row count at the end of each bucket."""

    def span(self, b: int) -> tuple[int, int]:
        """Return ``(first row, rows)`` of bucket ``b``."""
        start = self.ends[b - 1] if b else 0
        return start, self.ends[b] - start


@dataclass(frozen=True)
class _BucketSlices:
    """A bucket's rows as slices of map tasks' files (in item order), read by the reducer."""

    slices: tuple[tuple[str, int, int, int], ...]
    """``(path, ncols, first row, rows)`` per item."""

    def load(self) -> npt.NDArray[np.uint64]:
        """Read and concatenate the slices."""
        parts = [
            np.fromfile(path, dtype=np.uint64, count=rows * ncols, offset=8 * ncols * first).reshape(-1, ncols)
            for path, ncols, first, rows in self.slices
        ]
        return np.concatenate(parts) if len(parts) > 1 else parts[0]


def _map_to_files(fn: Callable[[Any], MapOutput], buckets: int, folder: str, index: int, item: Any) -> MapOutput:
    """Run a map task in a worker and write its shuffle rows (sorted by bucket) and side array to
    files in ``folder``; return the summary with references to them (only the small summary
    crosses back to the driver)."""
    out = fn(item)
    refs: dict[str, _ItemRows] = {}
    for name, table in out.shuffle.items():
        if not len(table):
            continue
        # the rows in bucket order, written a slice at a time (no second copy of the table)
        order, counts = bucket_order(table, buckets)
        ends = np.cumsum(counts).tolist()
        path = os.path.join(folder, f"m{index:07d}-{name}.u64")
        with open(path, "wb") as fh:
            for lo in range(0, len(order), _WRITE_ROWS):
                fh.write(take_rows(table, order[lo : lo + _WRITE_ROWS]).tobytes())
        refs[name] = _ItemRows(path, int(table.shape[1]), tuple(int(e) for e in ends))
    side = _save_side(folder, index, out.side)
    summary = out.summary
    del out
    _release_memory()
    return MapOutput(summary, refs, side)  # type: ignore[arg-type]  # file references here


_WRITE_ROWS = 1 << 18
"""Rows per write of a map task's bucket-ordered shuffle file."""


def _save_side(folder: str, index: int, side: npt.NDArray[Any] | None) -> str | None:
    """Write item ``index``'s side array as raw uint64 to ``folder`` (what :class:`_FileArray`
    reads); return its path, or None when it has none."""
    if side is None or not len(side):
        return None
    path = os.path.join(folder, f"side{index:07d}.u64")
    np.ascontiguousarray(side, dtype=np.uint64).tofile(path)
    return path


def _release_memory() -> None:
    """Return the Arrow allocator's and glibc's free pages to the system between tasks, so a
    worker's resident size falls back after each map task instead of staying at its high-water
    mark (and creeping up from task to task: :func:`~datagate._system.trim_heap`)."""
    import pyarrow as pa

    with contextlib.suppress(AttributeError, NotImplementedError):
        pa.default_memory_pool().release_unused()
    trim_heap()


def _map_partitioned(fn: Callable[[Any], MapOutput], buckets: int, item: Any) -> MapOutput:
    """Run a map task and partition its shuffle rows by bucket in the worker (not the driver)."""
    out = fn(item)
    parts = {name: partition(table, buckets) for name, table in out.shuffle.items() if len(table)}
    return MapOutput(out.summary, parts, out.side)  # type: ignore[arg-type]  # lists of bucket arrays here


class LocalEngine(Engine):
    """Runs tasks on this machine; ``workers`` defaults to the number of cores."""

    name = "local"

    def __init__(self, workers: int | None = None, *, min_parallel_bytes: int = PARALLEL_MIN_BYTES, budget: int | None = None) -> None:
        self._workers = max(1, int(workers or usable_cpus()))
        self.min_parallel_bytes = min_parallel_bytes
        self.budget = budget
        self._pool: ProcessPoolExecutor | None = None
        self.used_processes = False
        """True once a job ran in worker processes (for the record: in-process otherwise)."""

    @property
    def workers(self) -> int:
        """Return the number of worker processes (1: everything in-process)."""
        return self._workers

    def describe(self) -> dict[str, Any]:
        """Return name, workers and whether processes were used."""
        return {"name": self.name, "workers": self._workers if self.used_processes else 1, "cores": self._workers}

    def _parallel(self, n_items: int, weights: Sequence[int] | None) -> bool:
        if self._workers < 2 or n_items < 2:
            return False
        if weights is None:
            return True
        total = sum(weights)
        return total - max(weights, default=0) >= self.min_parallel_bytes or total >= max(self.min_parallel_bytes, PARALLEL_REDUCE_BYTES)

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            import multiprocessing

            ctx: multiprocessing.context.BaseContext
            try:
                ctx = multiprocessing.get_context("forkserver")
                ctx.set_forkserver_preload(["numpy", "pyarrow", "datagate.check._engine"])
            except ValueError:  # no forkserver on this platform
                ctx = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(max_workers=self._workers, mp_context=ctx, initializer=return_large_frees)
            self.used_processes = True
        return self._pool

    def _drop_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def _run(self, calls: Iterator[tuple[str, Callable[[], Any] | tuple[Callable[..., Any], tuple[Any, ...]]]], parallel: bool) -> Iterator[Any]:
        """Run ``(name, (fn, args))`` calls; yield results or Failed in order."""
        if not parallel:
            for name, (fn, args) in calls:  # type: ignore[misc]  # always (fn, args) here
                try:
                    yield fn(*args)
                except Exception as e:  # noqa: BLE001  a task's failure is a result, not a crash
                    yield Failed(name, _describe(e))
            return
        window: deque[tuple[str, Future[Any]]] = deque()
        limit = 2 * self._workers
        pending = iter(calls)
        exhausted = False
        while True:
            while not exhausted and len(window) < limit:
                nxt = next(pending, None)
                if nxt is None:
                    exhausted = True
                    break
                name, (fn, args) = nxt  # type: ignore[misc]  # always (fn, args) here
                try:
                    with _main_hidden():
                        window.append((name, self._get_pool().submit(fn, *args)))
                except (BrokenProcessPool, OSError, EOFError) as e:
                    # OSError, EOFError: the pool could not start a worker (out of processes or
                    # memory, or a worker killed while the pool was starting its replacement: the
                    # pool's pipes close under the forkserver hand-over, EBADF on our side or the
                    # forkserver's connection ending early, "unexpected EOF"); either way the
                    # pool is done, this item fails and the next one starts a fresh pool (and
                    # multiprocessing a fresh forkserver, if that one died)
                    self._drop_pool()
                    window.append((name, _failed_future(e)))
            if not window:
                return
            name, fut = window.popleft()
            try:
                yield fut.result()
            except BrokenProcessPool as e:
                self._drop_pool()
                yield Failed(name, _describe(e))
            except Exception as e:  # noqa: BLE001  a task's failure is a result, not a crash
                yield Failed(name, _describe(e))

    def map(self, fn: Callable[[T], R], items: Sequence[T], *, names: Sequence[str], weights: Sequence[int] | None = None) -> Iterator[R | Failed]:
        """Yield ``fn(item)`` per item in order (see :meth:`Engine.map`)."""
        calls = ((names[i], (fn, (item,))) for i, item in enumerate(items))
        yield from self._run(calls, self._parallel(len(items), weights))

    def map_shuffle(
        self,
        fn: Callable[[T], MapOutput],
        items: Sequence[T],
        *,
        names: Sequence[str],
        buckets: int = DEFAULT_BUCKETS,
        weights: Sequence[int] | None = None,
    ) -> Shuffle:
        """Return a shuffle whose map phase runs as :meth:`_LocalShuffle.summaries` is consumed."""
        return _LocalShuffle(self, fn, list(items), list(names), buckets, self._parallel(len(items), weights))

    def close(self) -> None:
        """Shut the worker pool down."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


@contextlib.contextmanager
def _main_hidden() -> Iterator[None]:
    """Hide ``__main__``'s file and spec while worker processes start.

    Started by ``forkserver``/``spawn``, a worker would otherwise re-run the calling script
    (``multiprocessing``'s "safe importing of main module"): a script without an
    ``if __name__ == "__main__"`` guard would fail, a guarded one would be imported for nothing.
    The tasks here are datagate's own module-level functions, so workers never need it.
    """
    main = sys.modules.get("__main__")
    saved: dict[str, Any] = {k: main.__dict__[k] for k in ("__file__", "__spec__") if main is not None and k in main.__dict__}
    try:
        if main is not None:
            main.__dict__.pop("__file__", None)
            main.__dict__["__spec__"] = None
        yield
    finally:
        if main is not None:
            main.__dict__.update(saved)
            if "__spec__" not in saved:
                main.__dict__.pop("__spec__", None)


def _failed_future(exc: BaseException) -> Future[Any]:
    f: Future[Any] = Future()
    f.set_exception(exc)
    return f


def _reduce_sources(fn: Callable[..., R], bucket: int, sources: Mapping[str, Any], context: Any, side: SideStore) -> R:
    """Run a reduce task on a bucket whose rows are arrays or file references (a spilled
    :class:`~datagate.check._spool.SpoolFile`, a :class:`_BucketSlices`) it loads itself."""
    rows = {name: src if isinstance(src, np.ndarray) else src.load() for name, src in sources.items()}
    return fn(bucket, rows, context, side)


class _LocalShuffle(Shuffle):
    def __init__(self, engine: LocalEngine, fn: Callable[[Any], MapOutput], items: list[Any], names: list[str], buckets: int, parallel: bool) -> None:
        from datagate.check._spool import DEFAULT_BUDGET_BYTES

        self.engine = engine
        self.fn = fn
        self.items = items
        self.names = names
        self.buckets = buckets
        self.parallel = parallel
        self.budget = engine.budget or DEFAULT_BUDGET_BYTES
        self.spools: dict[str, Any] = {}
        self.item_rows: dict[str, list[_ItemRows]] = {}
        """Parallel map: per shuffle name, each successful task's file (in item order)."""
        self.side_paths: list[str | None] = [None] * len(items)
        self._tmp: Path | None = None

    def _tmpdir(self) -> Path:
        if self._tmp is None:
            self._tmp = Path(tempfile.mkdtemp(prefix="datagate-shuffle-"))
        return self._tmp

    def summaries(self) -> Iterator[Any | Failed]:
        """Run the map phase, spooling shuffled rows, and yield summaries in item order."""
        from datagate.check._spool import BucketSpool

        bits = self.buckets.bit_length() - 1
        if self.parallel:
            folder = str(self._tmpdir())
            to_files: Iterator[tuple[str, tuple[Callable[..., Any], tuple[Any, ...]]]] = (
                (self.names[i], (_map_to_files, (self.fn, self.buckets, folder, i, item))) for i, item in enumerate(self.items)
            )
            for i, out in enumerate(self.engine._run(to_files, True)):
                if isinstance(out, Failed):
                    yield out
                    continue
                for name, ref in out.shuffle.items():
                    self.item_rows.setdefault(name, []).append(ref)
                self.side_paths[i] = out.side
                yield out.summary
            return
        task = functools.partial(_map_partitioned, self.fn, self.buckets)
        calls = ((self.names[i], (task, (item,))) for i, item in enumerate(self.items))
        for i, out in enumerate(self.engine._run(calls, False)):
            if isinstance(out, Failed):
                yield out
                continue
            for name, parts in out.shuffle.items():
                spool = self.spools.get(name)
                if spool is None:
                    ncols = next((p.shape[1] for p in parts if p.ndim == 2), 2)
                    spool = self.spools[name] = BucketSpool(ncols, bits=bits, budget=self.budget, tmp=self._tmp_parent())
                spool.add_parts(parts)
            self.side_paths[i] = _save_side(str(self._tmpdir()), i, out.side)
            yield out.summary

    def _tmp_parent(self) -> Path:
        return self._tmpdir()

    def reduce(self, fn: Callable[[int, Mapping[str, npt.NDArray[np.uint64]], Any, SideStore], R], context: Any) -> Iterator[R | Failed]:
        """Run ``fn`` per non-empty bucket, in bucket order."""
        side = _FileSideStore(self.side_paths)

        def calls() -> Iterator[tuple[str, tuple[Callable[..., Any], tuple[Any, ...]]]]:
            for b in range(self.buckets):
                sources: dict[str, Any] = {name: sp.source(b) for name, sp in self.spools.items() if sp.bucket_rows(b)}
                for name, refs in self.item_rows.items():
                    spans = [(r, *r.span(b)) for r in refs]
                    slices = tuple((r.path, r.ncols, first, n) for r, first, n in spans if n)
                    if slices:
                        sources[name] = _BucketSlices(slices)
                if sources:
                    yield f"bucket {b}", (_reduce_sources, (fn, b, sources, context, side))

        yield from self.engine._run(calls(), self.parallel)

    def close(self) -> None:
        """Delete spools and side files."""
        for sp in self.spools.values():
            sp.close()
        self.spools = {}
        self.item_rows = {}
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
