"""Fixtures for the check stage: the sample dataset and the planted-problem datasets, built once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from datagate.check import CheckOutcome, run_checks
from datagate.models import CheckResult


@pytest.fixture(scope="session")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled sample dataset (fixtures/gen/sample.py)."""
    from fixtures.gen.sample import build

    return build(tmp_path_factory.mktemp("check-sample"))


@pytest.fixture(scope="session")
def quality(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every planted-problem case (fixtures/gen/quality.py), by name."""
    from fixtures.gen.quality import build

    return build(tmp_path_factory.mktemp("check-quality"))


@pytest.fixture(scope="session")
def outcome() -> Callable[..., CheckOutcome]:
    """Run the checks once per (path, options) and cache the outcome for the session."""
    cache: dict[tuple[Any, ...], CheckOutcome] = {}

    def run(path: Path, **kw: Any) -> CheckOutcome:
        key = (str(path), tuple(sorted((k, str(v)) for k, v in kw.items())))
        if key not in cache:
            cache[key] = run_checks(path, **kw)
        return cache[key]

    return run


def by_id(out: CheckOutcome) -> dict[str, CheckResult]:
    """Return the outcome's results keyed by check id."""
    return {c.id: c for c in out.report.checks}
