"""Shared test fixtures: generated fixture trees, an isolated stat cache, skip flags."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--skip-slow", action="store_true", help="skip tests marked slow")
    parser.addoption("--skip-dvc", action="store_true", help="skip tests that run the dvc CLI")
    parser.addoption("--skip-browser", action="store_true", help="skip headless Chromium tests")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for flag, marker in (("--skip-slow", "slow"), ("--skip-dvc", "dvc"), ("--skip-browser", "browser")):
        if config.getoption(flag):
            skip = pytest.mark.skip(reason=f"{flag} given")
            for item in items:
                if marker in item.keywords:
                    item.add_marker(skip)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep every test's stat cache out of the user's home."""
    monkeypatch.setenv("DATAGATE_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "dg-cache"))


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Build every fixture family once per session (fixtures/generate.py) and return the root."""
    from fixtures.generate import build_all

    root = tmp_path_factory.mktemp("generated")
    build_all(root)
    yield root


def asset(root: Path, relpath: str) -> Path:
    """Return ``root / relpath`` after checking the generated file exists."""
    p = root / relpath
    assert os.path.lexists(p), f"fixture {relpath} was not generated under {root}"
    return p


@pytest.fixture(scope="session")
def quality_cases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every planted-problem case of fixtures/gen/quality.py, built once per session, by name."""
    from fixtures.gen.quality import build

    return build(tmp_path_factory.mktemp("quality-cases"))
