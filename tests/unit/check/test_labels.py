"""Label types, regression targets, split skew and conflicting labels on real tables (issue 13)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from datagate.check import Profile, run_checks
from datagate.check.labels import LabelType, infer_label_type, ks_from_quantiles, ks_pvalue
from datagate.errors import UsageError
from datagate.models import CheckStatus, Severity
from tests.unit.check.conftest import by_id


def _real(name: str, dest: Path) -> Path:
    from fixtures.gen.real import load, write_splits

    return write_splits(load(name), dest / name)


@pytest.mark.parametrize(
    ("name", "label", "kind"),
    [("diabetes", "target", "regression"), ("fair", "affairs", "regression"), ("iris", "target", "class"), ("anes96", "PID", "class"), ("penguins", "species", "class")],
)
def test_label_type_of_real_tables(name: str, label: str, kind: str, tmp_path: Path) -> None:
    res = by_id(run_checks(_real(name, tmp_path), label=label))
    dist = res["label_distribution"]
    if kind == "regression":
        assert dist.status is CheckStatus.SKIPPED and "regression target" in dist.message
        assert res["conflicting_labels"].status is CheckStatus.SKIPPED and "regression target" in res["conflicting_labels"].message
        summary = dist.observed["summary"]
        assert set(summary) == {"train", "test"}
        assert summary["train"]["min"] <= summary["train"]["median"] <= summary["train"]["max"]
        assert label in res["outliers"].observed["series"]  # the target's outliers are scored
    else:
        assert dist.status is CheckStatus.PASS, dist.message
        assert label not in res["outliers"].observed["series"]


def test_infer_label_type_rules() -> None:
    ints = pa.int64()
    assert infer_label_type(pa.string(), {"a": 3}) == LabelType("class", "string values")
    assert infer_label_type(ints, {str(i): 10 for i in range(100)}).kind == "class"  # contiguous ids
    assert infer_label_type(ints, {str(i * 3): 10 for i in range(30)}).kind == "regression"  # gaps
    assert infer_label_type(ints, {str(i): 1 for i in range(18, 91)}).kind == "regression"  # ages
    assert infer_label_type(pa.float64(), {"0.5": 1, "1": 3}).kind == "regression"
    assert infer_label_type(ints, {"0": 1}, class_names=("a", "b")).reason == "ClassLabel feature"
    assert infer_label_type(pa.float64(), {"0.5": 1}, forced="class") == LabelType("class", "--label-type")
    with pytest.raises(ValueError, match="label type"):
        infer_label_type(ints, {}, forced="ordinal")


def test_label_type_override(tmp_path: Path) -> None:
    path = _real("diabetes", tmp_path)
    as_class = by_id(run_checks(path, label="target", label_type="class"))["label_distribution"]
    assert as_class.status is CheckStatus.WARN and as_class.observed["unseen"]["test"]
    iris = by_id(run_checks(_real("iris", tmp_path), label="target", label_type="regression"))
    assert iris["label_distribution"].observed["label_type_reason"] == "--label-type"
    with pytest.raises(UsageError, match="--label-type"):
        run_checks(path, label="target", label_type="ordinal")


def test_regression_drift_ks_against_baseline(tmp_path: Path) -> None:
    from fixtures.gen.real import load, write_splits

    df = load("diabetes")
    base_out = run_checks(write_splits(df, tmp_path / "v1"), label="target")
    # the stored profile (JSON round trip) carries the target's percentiles per split
    stored = Profile.from_dict(json.loads(json.dumps(base_out.profile.to_dict())))
    assert stored.label_type == "regression" and stored.splits["train"].label_quantiles is not None
    same = by_id(run_checks(write_splits(df, tmp_path / "v2"), label="target", baseline=stored))["label_drift"]
    assert same.status is CheckStatus.PASS and same.observed["splits"]["train"]["ks"] == 0.0
    shifted = df.copy()
    shifted["target"] = shifted["target"] * 1.5 + 40  # a re-scaled target: the same shape, other units
    drift = by_id(run_checks(write_splits(shifted, tmp_path / "v3"), label="target", baseline=stored))["label_drift"]
    assert drift.status is CheckStatus.FAIL and drift.severity is Severity.HIGH
    assert drift.observed["drifted"] == ["train", "test"]
    assert drift.observed["splits"]["train"]["p_value"] < 1e-6


def test_ks_helpers_against_scipy() -> None:
    from scipy import stats

    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 4000), rng.normal(0.25, 1, 3000)
    q = np.linspace(0, 1, 101)
    d = ks_from_quantiles(np.quantile(a, q), np.quantile(b, q))
    ref = stats.ks_2samp(a, b)
    assert abs(d - ref.statistic) < 0.02
    assert ks_pvalue(d, 4000, 3000) < 1e-6 and ref.pvalue < 1e-6
    assert ks_pvalue(0.02, 400, 300) == pytest.approx(stats.kstwo.sf(0.02, round(400 * 300 / 700)), abs=0.05)
    assert ks_from_quantiles(np.quantile(a, q), np.quantile(a, q)) == 0.0


def test_split_skew_names_the_class_and_both_shares(tmp_path: Path) -> None:
    from fixtures.gen.real import load

    df = load("penguins")
    clean = by_id(run_checks(_real("penguins", tmp_path), label="species"))["label_distribution"]
    assert clean.status is CheckStatus.PASS and clean.observed["skew"] == {}
    rng = np.random.default_rng(0)
    order = rng.permutation(len(df))
    test_idx = sorted(order[: len(df) // 5].tolist())
    train_idx = sorted(order[len(df) // 5 :].tolist())
    adelie = [i for i in test_idx if df.loc[i, "species"] == "Adelie"]
    test_idx = [i for i in test_idx if i not in set(adelie[3:])]  # most Adelie rows dropped from test
    import pyarrow.parquet as pq

    dest = tmp_path / "skew" / "data"
    dest.mkdir(parents=True)
    for split, idx in (("train", train_idx), ("test", test_idx)):
        pq.write_table(pa.Table.from_pandas(df.iloc[idx], preserve_index=False), dest / f"{split}-00000-of-00001.parquet")
    res = by_id(run_checks(dest.parent, label="species"))["label_distribution"]
    assert res.status is CheckStatus.WARN
    skew = res.observed["skew"]["test"]
    assert skew[0]["class"] == "Adelie"
    train_share = sum(df.loc[i, "species"] == "Adelie" for i in train_idx) / len(train_idx)
    test_share = 3 / len(test_idx)
    assert skew[0]["train"] == round(train_share, 4) and skew[0]["test"] == round(test_share, 4)
    assert f"Adelie {train_share:.1%} in train vs {test_share:.1%} in test" in res.message
    assert res.observed["skew_tests"]["test"]["chi2_p_value"] < 0.01


def _fair_as_classes(tmp_path: Path, **kw: Any) -> Any:
    return by_id(run_checks(_real("fair", tmp_path), label="affairs", label_type="class", **kw))["conflicting_labels"]


def test_conflicts_on_low_cardinality_features_warn_with_rate(tmp_path: Path) -> None:
    # statsmodels' fair: survey answers (few distinct values each); identical answers with
    # different outcomes are people, not labelling errors
    res = _fair_as_classes(tmp_path)
    assert res.status is CheckStatus.WARN and res.severity is Severity.MEDIUM
    assert res.observed["identifying"] is None
    assert res.observed["count"] > 0
    assert res.observed["rate"] == round(res.observed["conflicting_rows"] / res.observed["labelled_rows"], 6)
    assert "do not identify a row" in res.message


def test_conflicts_fail_where_keys_identify_rows(tmp_path: Path) -> None:
    cols = ["rate_marriage", "age", "yrs_married", "children", "religious", "educ", "occupation", "occupation_husb", "affairs"]
    res = _fair_as_classes(tmp_path, keys=cols)
    assert res.status is CheckStatus.FAIL
    assert res.observed["identifying"] == "key columns given (--key)"
    assert res.observed["count"] == _fair_as_classes(tmp_path / "again").observed["count"]


def test_regression_target_skew_between_splits(tmp_path: Path) -> None:
    # diabetes with the test split drawn from the upper half of the target only
    import pyarrow.parquet as pq

    from fixtures.gen.real import load

    df = load("diabetes")
    clean = by_id(run_checks(_real("diabetes", tmp_path), label="target"))["label_distribution"]
    assert clean.status is CheckStatus.SKIPPED and set(clean.observed["skew_tests"]) == {"test"}
    median = float(df["target"].median())
    high = df[df["target"] > median]
    rng = np.random.default_rng(1)
    test_idx = set(rng.choice(high.index.to_numpy(), size=len(df) // 5, replace=False).tolist())
    dest = tmp_path / "skewed" / "data"
    dest.mkdir(parents=True)
    train = df.loc[[i for i in df.index if i not in test_idx]]
    test = df.loc[sorted(test_idx)]
    pq.write_table(pa.Table.from_pandas(train, preserve_index=False), dest / "train-00000-of-00001.parquet")
    pq.write_table(pa.Table.from_pandas(test, preserve_index=False), dest / "test-00000-of-00001.parquet")
    res = by_id(run_checks(dest.parent, label="target"))["label_distribution"]
    assert res.status is CheckStatus.WARN and res.observed["count"] == 1
    t = res.observed["skew_tests"]["test"]
    assert t["ks"] > 0.3 and t["p_value"] < 1e-6 and t["median"] > t["median_first"]
    assert "skewed between splits" in res.message and "regression target" in res.message
