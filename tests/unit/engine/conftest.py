"""One local Ray for the whole test run (127.0.0.1, no dashboard), stopped at the end.

Every Ray test carries ``pytest.mark.xdist_group("ray")``; with ``--dist loadgroup`` (the
project's pytest addopts) pytest-xdist runs them all in one worker, so one session fixture
starts Ray once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from datagate.engine.ray import RayEngine


@pytest.fixture(scope="session")
def ray_engine() -> Iterator[RayEngine]:
    """A local Ray on 127.0.0.1 with two CPUs, shut down after the last test."""
    engine = RayEngine(workers=2)
    try:
        yield engine
    finally:
        engine.close()


@pytest.fixture(scope="session")
def quality(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every planted-problem case (fixtures/gen/quality.py), by name."""
    from fixtures.gen.quality import build

    return build(tmp_path_factory.mktemp("engine-quality"))
