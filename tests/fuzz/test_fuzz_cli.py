"""Mutated files of every format family never crash the CLI (issue 14).

Hypothesis drives :func:`tests.fuzz.mutate.mutate` over each family's seed files, and every input
goes through :func:`datagate.cli.main` in-process: ``scan`` always, ``check`` for tabular
families, ``ingest`` on some. Each must exit 0, 1 or 2 with no traceback and no ``internal
error`` line. Work is bounded by example count (never by wall clock); memory by the growth of
this process's peak RSS. The long run is ``make fuzz`` (:mod:`tests.fuzz.run`).
"""

from __future__ import annotations

import random
import resource
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.mutate import FAMILIES, mutate, run_one, seeds

EXAMPLES = 30
"""Inputs per family in ``make test``."""
RSS_GROWTH_MIB = 1024
"""How much this process's peak RSS may grow over one family's examples."""


@pytest.mark.slow
@pytest.mark.parametrize("family", FAMILIES)
def test_mutated_inputs_never_crash_the_cli(family: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    work = tmp_path_factory.mktemp(f"fuzz-{family}")
    seeds(family)  # built before the RSS baseline
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    seen: list[dict[str, int]] = []

    @settings(
        max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(rnd=st.randoms(use_true_random=False), ingest=st.booleans())
    def one(rnd: random.Random, ingest: bool) -> None:
        data = mutate(rnd.choice(seeds(family)), rnd)
        out = run_one(family, data, work / "case", ingest=ingest and len(seen) % 4 == 0)
        seen.append(out.codes)
        assert out.problems == []
        assert set(out.codes.values()) <= {0, 1, 2}

    one()
    assert len(seen) >= EXAMPLES  # the examples really ran
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024 - before
    assert grown < RSS_GROWTH_MIB


def test_unmutated_seeds_pass(tmp_path: Path) -> None:
    """The seeds are valid files: scan and check accept them (so mutations start from real data)."""
    for family in FAMILIES:
        for i, data in enumerate(seeds(family)):
            out = run_one(family, data, tmp_path / f"{family}-{i}")
            assert out.problems == [], (family, i, out.problems)
            if family in ("parquet", "arrow", "csv", "jsonl"):
                assert out.codes["check"] in (0, 1), (family, i, out.codes)
            assert out.codes["scan"] == 0, (family, i, out.codes)


# Inputs the long run (tests.fuzz.run, seed 14) found killing the process; each is replayed in
# a child process, since a regression would abort it. parquet 820 / 5283: a corrupt level
# histogram in the footer's size statistics made pyarrow's column-chunk metadata accessor abort
# (SIGABRT) the whole process.
KNOWN_CRASHERS = [("parquet", 820), ("parquet", 5283)]


@pytest.mark.parametrize(("family", "index"), KNOWN_CRASHERS)
def test_known_crashers_stay_fixed(family: str, index: int, tmp_path: Path) -> None:
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "tests.fuzz.run", "--replay", f"{family}:{index}", "--workdir", str(tmp_path)],
        capture_output=True, text=True, timeout=600, cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
