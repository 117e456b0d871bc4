"""The ``local`` engine: every core of this machine (one process per core), in-process when small.

Small jobs (fewer than two items, or less than :data:`PARALLEL_MIN_BYTES` of input) run in this
process: starting workers would cost more than it saves. Larger ones run in a
``concurrent.futures`` process pool (``forkserver`` start method, so workers do not inherit the
driver's threads), at most ``2 * workers`` tasks in flight, results consumed in item order.

Shuffled rows go to one :class:`~datagate.check._spool.BucketSpool` per shuffle name (memory up
to a budget, then one file per bucket in a private temporary directory); side arrays are saved
as ``.npy`` files there and memory-mapped by the reducers. A worker that dies (killed, out of
memory) breaks the pool: its task and the ones in flight with it become :class:`Failed` ("worker
process lost"), and a fresh pool takes the rest.
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
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from datagate.engine.interface import (
    DEFAULT_BUCKETS,
    Engine,
    Failed,
    MapOutput,
    Shuffle,
    SideStore,
    partition,
)

__all__ = ["PARALLEL_MIN_BYTES", "LocalEngine"]

T = TypeVar("T")
R = TypeVar("R")

PARALLEL_MIN_BYTES = 16 << 20
"""Inputs smaller than this (in total) are processed in-process."""


def _describe(exc: BaseException) -> str:
    if isinstance(exc, BrokenProcessPool):
        return "worker process lost (killed or out of memory)"
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


class _FileSideStore(SideStore):
    """Side arrays saved as .npy files, memory-mapped on first use (picklable: paths only)."""

    def __init__(self, paths: Sequence[str | None]) -> None:
        self.paths = list(paths)
        self._cache: dict[int, npt.NDArray[Any]] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {"paths": self.paths}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.paths = state["paths"]
        self._cache = {}

    def get(self, item: int) -> npt.NDArray[Any]:
        """Return item ``item``'s side array (memory-mapped)."""
        got = self._cache.get(item)
        if got is None:
            path = self.paths[item] if item < len(self.paths) else None
            got = np.load(path, mmap_mode="r") if path else np.zeros(0)
            self._cache[item] = got
        return got


def _map_partitioned(fn: Callable[[Any], MapOutput], buckets: int, item: Any) -> MapOutput:
    """Run a map task and partition its shuffle rows by bucket in the worker (not the driver)."""
    out = fn(item)
    parts = {name: partition(table, buckets) for name, table in out.shuffle.items() if len(table)}
    return MapOutput(out.summary, parts, out.side)  # type: ignore[arg-type]  # lists of bucket arrays here


class LocalEngine(Engine):
    """Runs tasks on this machine; ``workers`` defaults to the number of cores."""

    name = "local"

    def __init__(self, workers: int | None = None, *, min_parallel_bytes: int = PARALLEL_MIN_BYTES, budget: int | None = None) -> None:
        self._workers = max(1, int(workers or os.cpu_count() or 1))
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
        return weights is None or sum(weights) >= self.min_parallel_bytes

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            import multiprocessing

            ctx: multiprocessing.context.BaseContext
            try:
                ctx = multiprocessing.get_context("forkserver")
                ctx.set_forkserver_preload(["numpy", "pyarrow", "datagate.check._engine"])
            except ValueError:  # no forkserver on this platform
                ctx = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(max_workers=self._workers, mp_context=ctx)
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
                except BrokenProcessPool as e:
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
        task = functools.partial(_map_partitioned, self.fn, self.buckets)
        calls = ((self.names[i], (task, (item,))) for i, item in enumerate(self.items))
        for i, out in enumerate(self.engine._run(calls, self.parallel)):
            if isinstance(out, Failed):
                yield out
                continue
            for name, parts in out.shuffle.items():
                spool = self.spools.get(name)
                if spool is None:
                    ncols = next((p.shape[1] for p in parts if p.ndim == 2), 2)
                    spool = self.spools[name] = BucketSpool(ncols, bits=bits, budget=self.budget, tmp=self._tmp_parent())
                spool.add_parts(parts)
            if out.side is not None and len(out.side):
                path = self._tmpdir() / f"side{i:07d}.npy"
                np.save(path, out.side)
                self.side_paths[i] = str(path)
            yield out.summary

    def _tmp_parent(self) -> Path:
        return self._tmpdir()

    def reduce(self, fn: Callable[[int, Mapping[str, npt.NDArray[np.uint64]], Any, SideStore], R], context: Any) -> Iterator[R | Failed]:
        """Run ``fn`` per non-empty bucket, in bucket order."""
        side = _FileSideStore(self.side_paths)

        def calls() -> Iterator[tuple[str, tuple[Callable[..., Any], tuple[Any, ...]]]]:
            for b in range(self.buckets):
                rows = {name: sp.bucket(b) for name, sp in self.spools.items()}
                rows = {k: v for k, v in rows.items() if len(v)}
                if rows:
                    yield f"bucket {b}", (fn, (b, rows, context, side))

        yield from self.engine._run(calls(), self.parallel)

    def close(self) -> None:
        """Delete spools and side files."""
        for sp in self.spools.values():
            sp.close()
        self.spools = {}
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
