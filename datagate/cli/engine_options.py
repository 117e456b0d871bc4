"""The ``--engine`` / ``--ray-address`` options shared by hash, scan, check and ingest."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from datagate.engine import Engine

__all__ = ["EngineChoice", "EngineOption", "RayAddressOption", "map_engine", "open_engine"]


class EngineChoice(str, enum.Enum):
    """Where the map/shuffle/reduce work runs."""

    local = "local"
    ray = "ray"


EngineOption = Annotated[
    EngineChoice,
    typer.Option(
        "--engine",
        help="local: every core of this machine (default); ray: Ray Core tasks (a local Ray on 127.0.0.1, or --ray-address).",
        case_sensitive=False,
    ),
]
RayAddressOption = Annotated[
    str | None,
    typer.Option("--ray-address", metavar="auto|HOST:PORT", help="With --engine ray: join this Ray cluster instead of starting a local one."),
]


def open_engine(choice: EngineChoice, address: str | None) -> Engine:
    """Return the engine for the options (the caller closes it); raises EngineError/UsageError."""
    from datagate.engine import make_engine
    from datagate.errors import UsageError

    if address is not None and choice is not EngineChoice.ray:
        raise UsageError("--ray-address needs --engine ray")
    return make_engine(choice.value, address=address)


@contextmanager
def map_engine(choice: EngineChoice, address: str | None) -> Iterator[Engine | None]:
    """The engine for hash and scan: None for ``local`` (their own processes, which already use
    every core: nothing is started here), else the opened engine, closed on exit."""
    if choice is EngineChoice.local:
        if address is not None:
            from datagate.errors import UsageError

            raise UsageError("--ray-address needs --engine ray")
        yield None
        return
    with open_engine(choice, address) as engine:
        yield engine
