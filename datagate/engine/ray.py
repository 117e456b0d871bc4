"""The ``ray`` engine: Ray Core tasks and object refs (the only module that imports ray, lazily).

* ``map``: one task per item; results fetched in item order.
* ``map_shuffle``: one task per item with ``1 + 1 + buckets`` returns - the summary, the side
  array and one object per bucket (the item's rows of that bucket, partitioned in the worker) -
  so shuffled rows stay in the object store (spilled to disk by Ray past its memory) and never
  pass through the driver. ``reduce`` is one task per bucket, given that bucket's object from
  every item; the side arrays are passed as refs *inside* a :class:`SideStore`, so a reducer
  fetches only the items it needs.
* Not Ray Data: its operators were several times slower for this shape, and its shuffle is still
  being reworked (issue 12).

With no address, :class:`RayEngine` starts a local Ray bound to 127.0.0.1 (every Ray server
listens on the loopback interface only: see :func:`_loopback_only`) with ``num_cpus`` =
this machine's cores, no dashboard and a bounded object store (:data:`OBJECT_STORE_BYTES`), says
so on stderr, and shuts it down on :meth:`~RayEngine.close`. With ``address`` (``auto`` or
``HOST:PORT``) it joins that cluster (every node needs datagate installed; workers read the
shards by path, so the data must be visible to them at the same path - or be a Hub snapshot
pinned to the recorded commit). If Ray is already initialised in this process, that runtime is
used and left running.

Tasks are not retried (``max_retries=0`` unless ``retries`` says otherwise): a task that raises
or whose worker dies is :class:`~datagate.engine.interface.Failed` naming the shard or bucket,
which the check stage reports as ``error``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from datagate.engine.interface import (
    DEFAULT_BUCKETS,
    Engine,
    EngineError,
    Failed,
    MapOutput,
    Shuffle,
    SideStore,
    partition,
)

__all__ = ["OBJECT_STORE_BYTES", "RayEngine"]

T = TypeVar("T")
R = TypeVar("R")

OBJECT_STORE_BYTES = 512 << 20
"""Object store of a local Ray started by datagate (Ray spills to disk past it)."""

_REMOTE: dict[str, Any] = {}


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as e:
        raise EngineError("--engine ray needs Ray: pip install 'datagate-intake[ray]'") from e
    return ray


def _loopback_only() -> None:
    """Make a local Ray started by this process use 127.0.0.1 as its node address.

    On Linux Ray turns ``_node_ip_address="127.0.0.1"`` into the machine's outward address and
    then binds its gRPC servers (GCS, raylet, object manager, workers) to every interface. With
    ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` (Ray's single-machine mode, the default on macOS and
    Windows) the node address stays the loopback one and every server listens on 127.0.0.1 only.
    Set in the environment (inherited by the raylet and workers Ray spawns) and, when ray is
    already imported, on its constants module, which reads the variable at import.
    """
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    constants = sys.modules.get("ray._private.ray_constants")
    if constants is not None:
        constants.ENABLE_RAY_CLUSTER = False  # type: ignore[attr-defined]


def _call(fn: Callable[[T], R], item: T) -> R:
    return fn(item)


def _map_split(fn: Callable[[Any], MapOutput], item: Any, buckets: int) -> list[Any]:
    out = fn(item)
    parts = {name: partition(table, buckets) for name, table in out.shuffle.items() if len(table)}
    per_bucket = [{name: p[b] for name, p in parts.items() if len(p[b])} for b in range(buckets)]
    side = out.side if out.side is not None else np.zeros(0, dtype=np.uint64)
    return [out.summary, side, *per_bucket]


def _reduce(fn: Callable[..., Any], bucket: int, context: Any, side: SideStore, *parts: Mapping[str, npt.NDArray[np.uint64]]) -> Any:
    names: dict[str, list[npt.NDArray[np.uint64]]] = {}
    for part in parts:
        for name, arr in part.items():
            names.setdefault(name, []).append(arr)
    if not names:
        return None
    rows = {name: np.concatenate(arrs) if len(arrs) > 1 else arrs[0] for name, arrs in names.items()}
    return fn(bucket, rows, context, side)


def _remote(ray: Any, name: str, retries: int) -> Any:
    key = f"{name}/{retries}"
    got = _REMOTE.get(key)
    if got is None:
        fn = {"call": _call, "map": _map_split, "reduce": _reduce}[name]
        got = _REMOTE[key] = ray.remote(max_retries=retries)(fn)
    return got


def _describe(exc: BaseException) -> str:
    cause = getattr(exc, "cause", None)
    if cause is not None and not isinstance(cause, type):
        text = str(cause).strip().splitlines()
        return f"{type(cause).__name__}: {text[0] if text else ''}".rstrip(": ")
    name = type(exc).__name__
    if "WorkerCrashed" in name or "ActorDied" in name or "NodeDied" in name or "ObjectLost" in name or "OwnerDied" in name:
        return f"Ray worker lost ({name})"
    text = str(exc).strip().splitlines()
    return f"{name}: {text[0] if text else ''}".rstrip(": ")


class _RaySideStore(SideStore):
    """Side arrays as object refs, fetched on first use inside the reducer."""

    def __init__(self, refs: Sequence[Any]) -> None:
        self.refs = list(refs)
        self._cache: dict[int, npt.NDArray[Any]] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {"refs": self.refs}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.refs = state["refs"]
        self._cache = {}

    def get(self, item: int) -> npt.NDArray[Any]:
        """Return item ``item``'s side array (from the object store)."""
        got = self._cache.get(item)
        if got is None:
            ref = self.refs[item] if item < len(self.refs) else None
            got = _import_ray().get(ref) if ref is not None else np.zeros(0)
            self._cache[item] = got
        return got


class RayEngine(Engine):
    """Runs tasks on a Ray cluster (a local one on 127.0.0.1 when no address is given)."""

    name = "ray"

    def __init__(self, *, address: str | None = None, workers: int | None = None, retries: int = 0, object_store_bytes: int = OBJECT_STORE_BYTES) -> None:
        if address is None:
            _loopback_only()
        ray = _import_ray()
        self._ray = ray
        self.retries = retries
        self._started = False
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
            try:
                if address is None:
                    cpus = int(workers or os.cpu_count() or 1)
                    ray.init(num_cpus=cpus, object_store_memory=object_store_bytes, _node_ip_address="127.0.0.1", **kwargs)
                    print(
                        f"datagate: started a local Ray on 127.0.0.1 (num_cpus={cpus}, object store "
                        f"{object_store_bytes >> 20} MB, no dashboard); it stops when the command ends",
                        file=sys.stderr,
                    )
                else:
                    ray.init(address=address, **kwargs)
            except (ConnectionError, RuntimeError, ValueError, OSError) as e:
                where = f"the Ray cluster at {address}" if address else "a local Ray"
                raise EngineError(f"--engine ray: cannot start or reach {where}: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from e
            self._started = True
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self._workers = max(1, cpus)

    @property
    def workers(self) -> int:
        """Return the cluster's CPU count (tasks that run at once)."""
        return self._workers

    def map(self, fn: Callable[[T], R], items: Sequence[T], *, names: Sequence[str], weights: Sequence[int] | None = None) -> Iterator[R | Failed]:
        """Yield ``fn(item)`` per item in order; one Ray task each."""
        del weights
        remote = _remote(self._ray, "call", self.retries)
        refs = [remote.remote(fn, item) for item in items]
        for name, ref in zip(names, refs, strict=True):
            try:
                yield self._ray.get(ref)
            except Exception as e:  # noqa: BLE001  a task's failure is a result, not a crash
                yield Failed(name, _describe(e))

    def map_shuffle(
        self,
        fn: Callable[[T], MapOutput],
        items: Sequence[T],
        *,
        names: Sequence[str],
        buckets: int = DEFAULT_BUCKETS,
        weights: Sequence[int] | None = None,
    ) -> Shuffle:
        """Submit one map task per item (summary, side and per-bucket returns)."""
        del weights
        remote = _remote(self._ray, "map", self.retries).options(num_returns=buckets + 2)
        refs = [remote.remote(fn, item, buckets) for item in items]
        return _RayShuffle(self, list(names), refs, buckets)

    def close(self) -> None:
        """Shut down the local Ray this engine started (a joined cluster keeps running)."""
        if self._started and self._ray.is_initialized():
            self._ray.shutdown()
        self._started = False


class _RayShuffle(Shuffle):
    def __init__(self, engine: RayEngine, names: list[str], refs: list[list[Any]], buckets: int) -> None:
        self.engine = engine
        self.names = names
        self.refs = refs
        self.buckets = buckets
        self.ok = [True] * len(refs)

    def summaries(self) -> Iterator[Any | Failed]:
        """Fetch each item's summary in order (a failed task is Failed and drops out of reduce)."""
        ray = self.engine._ray
        for i, (name, r) in enumerate(zip(self.names, self.refs, strict=True)):
            try:
                yield ray.get(r[0])
            except Exception as e:  # noqa: BLE001  a task's failure is a result, not a crash
                self.ok[i] = False
                yield Failed(name, _describe(e))

    def reduce(self, fn: Callable[[int, Mapping[str, npt.NDArray[np.uint64]], Any, SideStore], R], context: Any) -> Iterator[R | Failed]:
        """One reduce task per bucket; results in bucket order (empty buckets skipped)."""
        ray = self.engine._ray
        live = [r for r, ok in zip(self.refs, self.ok, strict=True) if ok]
        side = _RaySideStore([r[1] if ok else None for r, ok in zip(self.refs, self.ok, strict=True)])
        ctx_ref = ray.put(context)
        remote = _remote(ray, "reduce", self.engine.retries)
        tasks = [remote.remote(fn, b, ctx_ref, side, *[r[2 + b] for r in live]) for b in range(self.buckets)]
        for b, ref in enumerate(tasks):
            try:
                got = ray.get(ref)
            except Exception as e:  # noqa: BLE001  a task's failure is a result, not a crash
                yield Failed(f"bucket {b}", _describe(e))
                continue
            if got is not None:
                yield got

    def close(self) -> None:
        """Drop the refs (Ray frees the objects)."""
        self.refs = []
