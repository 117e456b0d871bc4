"""``outliers`` on real tables (quiet) and planted units slips and sentinels (found, exact counts)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from datagate.check import outliers, run_checks
from datagate.check.interface import CheckSettings
from datagate.models import CheckStatus, Severity
from fixtures.gen.quality import EXPECTED
from tests.unit.check.conftest import by_id

SETTINGS = CheckSettings("outliers", True, Severity.MEDIUM, dict(outliers.DEFAULTS))


def test_planted_units_slip_and_sentinel_exact(quality: dict[str, Path]) -> None:
    res = by_id(run_checks(quality["outliers_units"]))["outliers"]
    exp = EXPECTED["outliers_units"]
    assert res.status is CheckStatus.FAIL and res.severity is Severity.HIGH
    assert res.observed["count"] == exp["outliers"]
    assert res.observed["reasons"] == exp["reasons"]
    assert {(r["split"], r["row"], r["column"]) for r in res.observed["rows"]} == exp["rows"]
    reasons = {(r["column"], r["reason"]) for r in res.observed["rows"]}
    assert reasons == {("weight_kg", "orders"), ("age", "sentinel")}
    assert "sentinel code" in res.message and "orders of magnitude" in res.message


@pytest.mark.parametrize("name", ["breast_cancer", "digits", "anes96", "star98"])
def test_real_tables_that_failed_before_pass_the_gate(name: str, tmp_path: Path) -> None:
    # zero-inflated pixels (digits), heavy-tailed positive columns (breast_cancer, star98) and a
    # skewed population column (anes96) failed the gate under plain median/MAD scoring
    from fixtures.gen.real import load, write_splits

    res = by_id(run_checks(write_splits(load(name), tmp_path / name)))["outliers"]
    assert res.status is CheckStatus.PASS, res.message
    methods = {v["method"] for v in res.observed["series"].values()}
    if name == "digits":
        assert methods <= {"discrete", "constant"}


def test_real_table_with_planted_slip_and_sentinel(tmp_path: Path) -> None:
    # penguins: two body masses typed in kilograms, three bill lengths coded -999
    from fixtures.gen.real import load, write_splits

    df = load("penguins")
    clean = by_id(run_checks(write_splits(df, tmp_path / "clean"), label="species"))["outliers"]
    assert clean.status is CheckStatus.PASS
    slips = [5, 77]
    for i in slips:
        df.loc[i, "body_mass_g"] = df.loc[i, "body_mass_g"] / 1000
    for i in (10, 120, 200):
        df.loc[i, "bill_length_mm"] = -999.0
    res = by_id(run_checks(write_splits(df, tmp_path / "planted"), label="species"))["outliers"]
    assert res.status is CheckStatus.FAIL
    assert res.observed["reasons"] == {"sentinel": 3, "orders": 2}
    got = sorted(r["value"] for r in res.observed["rows"] if r["column"] == "body_mass_g")
    assert got == sorted(float(df.loc[i, "body_mass_g"]) for i in slips)


def _acc(batches: list[tuple[int, int, pa.RecordBatch]]) -> outliers.OutlierAccumulator:
    acc = outliers.OutlierAccumulator(["x"], [], budget=1 << 20)
    for si, first, b in batches:
        acc.add(b, si, first)
    return acc


def test_partials_merge_to_the_same_result_whatever_the_cuts() -> None:
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.lognormal(3, 1, size=5000), [-999.0, 4.2e6]])
    rng.shuffle(x)
    whole = _acc([(0, 0, pa.record_batch({"x": x}))])
    cuts = [0, 7, 1234, 1235, 4000, len(x)]
    parts = [_acc([(0, a, pa.record_batch({"x": x[a:b]}))]) for a, b in zip(cuts, cuts[1:], strict=False)]
    merged = parts[3]
    for p in (parts[0], parts[4], parts[2], parts[1]):
        merged = merged.merge(p)
    a = outliers.evaluate(SETTINGS, whole, ["train"])
    b = outliers.evaluate(SETTINGS, merged, ["train"])
    assert a.observed == b.observed and a.status == b.status
    assert a.observed["reasons"] == {"sentinel": 1, "orders": 1}


def _fit(values: Any) -> outliers.SeriesFit:
    return outliers.fit(SETTINGS, np.asarray(values, dtype=np.float64))


def test_scale_fits_the_column() -> None:
    rng = np.random.default_rng(0)
    assert _fit(rng.normal(10, 2, 2000)).method == "raw"
    assert _fit(rng.lognormal(0, 1.5, 2000)).method == "log"
    zero_inflated = np.where(rng.random(2000) < 0.6, 0.0, rng.lognormal(2, 1, 2000))
    assert _fit(zero_inflated).method == "nonzero-log"
    assert _fit(rng.integers(0, 17, 2000)).method == "discrete"
    assert _fit(np.full(50, 3.0)).method == "discrete"


def test_sentinels() -> None:
    v = np.array([-999, 99999, -9, 999.5, 100, 9, 99, -1, 0])
    assert outliers.is_sentinel(v.astype(np.float64)).tolist() == [True, True, True, False, False, False, True, False, False]


def test_baseline_range_quiets_known_values_and_makes_negatives_impossible() -> None:
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(50, 5, 3000), [250.0, -3.0]])
    b = pa.record_batch({"x": x})
    without = outliers.evaluate(SETTINGS, _acc([(0, 0, b)]), ["train"])
    assert without.observed["reasons"] == {"far": 1, "negative": 1}
    within = outliers.evaluate(SETTINGS, _acc([(0, 0, b)]), ["train"], baseline={"x": (0.0, 300.0)})
    assert within.observed["reasons"] == {"negative": 1}


def test_baseline_profile_range_is_used(quality: dict[str, Path]) -> None:
    # the planted outliers case against its own profile: the baseline's range is clipped to its
    # robust spread, so the outliers it already carried do not excuse themselves
    own = run_checks(quality["outliers"]).profile
    ranges = outliers.baseline_ranges(own)
    assert ranges["feature_a"][1] < 250.0 and ranges["feature_b"][1] < 11.5 + 2.5 * 1.4826 * 10
    res = by_id(run_checks(quality["outliers"], baseline=own))["outliers"]
    assert res.observed["baseline_ranges"]
    assert res.observed["count"] == EXPECTED["outliers"]["outliers"]
    # a clean version whose spread is narrower than the baseline's: the baseline's range quiets it
    rng = np.random.default_rng(5)
    narrow = pa.record_batch({"x": np.concatenate([rng.normal(0, 1, 3000), [9.0]])})
    alone = outliers.evaluate(SETTINGS, _acc([(0, 0, narrow)]), ["train"])
    assert alone.observed["reasons"] == {"tail": 1}
    known = outliers.evaluate(SETTINGS, _acc([(0, 0, narrow)]), ["train"], baseline={"x": (-12.0, 12.0)})
    assert known.observed["count"] == 0


def test_result_does_not_depend_on_how_the_split_is_sharded(tmp_path: Path) -> None:
    # the same planted penguins table: train as one parquet file, then as three shards
    import pyarrow.parquet as pq

    from fixtures.gen.real import load, write_splits

    df = load("penguins")
    for i in (5, 77):
        df.loc[i, "body_mass_g"] = df.loc[i, "body_mass_g"] / 1000
    df.loc[10, "bill_length_mm"] = -999.0
    one = write_splits(df, tmp_path / "one")
    three = tmp_path / "three"
    (three / "data").mkdir(parents=True)
    train = pq.read_table(one / "data" / "train-00000-of-00001.parquet")
    cuts = [0, 1, 100, train.num_rows]
    for k, (a, b) in enumerate(zip(cuts, cuts[1:], strict=False)):
        pq.write_table(train.slice(a, b - a), three / "data" / f"train-{k:05d}-of-00003.parquet", row_group_size=17)
    pq.write_table(pq.read_table(one / "data" / "test-00000-of-00001.parquet"), three / "data" / "test-00000-of-00001.parquet")
    a = by_id(run_checks(one, label="species"))["outliers"]
    b = by_id(run_checks(three, label="species"))["outliers"]
    assert a.observed == b.observed
    assert a.observed["reasons"] == {"sentinel": 1, "orders": 2}
