"""Engines that run the stages' map and map/shuffle/reduce work: ``local`` (default) and ``ray``.

>>> from datagate.engine import make_engine
>>> with make_engine("local", workers=1) as engine:
...     list(engine.map(abs, [-1, 2], names=["a", "b"]))
[1, 2]
"""

from __future__ import annotations

from datagate.engine.interface import (
    DEFAULT_BUCKETS,
    Engine,
    EngineError,
    Failed,
    MapOutput,
    Shuffle,
    SideStore,
)
from datagate.engine.local import LocalEngine

__all__ = ["DEFAULT_BUCKETS", "Engine", "EngineError", "Failed", "LocalEngine", "MapOutput", "Shuffle", "SideStore", "make_engine"]


def make_engine(name: str = "local", *, address: str | None = None, workers: int | None = None) -> Engine:
    """Return the engine called ``name`` (``local`` or ``ray``).

    ``address`` (ray only): ``auto`` or ``HOST:PORT`` of a running cluster; None starts a local
    Ray on 127.0.0.1. Raises EngineError for an unknown name, or when Ray is not installed or
    cannot start or be reached.
    """
    if name == "local":
        if address is not None:
            raise EngineError("--ray-address only applies to --engine ray")
        return LocalEngine(workers)
    if name == "ray":
        from datagate.engine.ray import RayEngine

        return RayEngine(address=address, workers=workers)
    raise EngineError(f"unknown engine {name!r} (choose local or ray)")
