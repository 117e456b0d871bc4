"""Every check finds exactly what was planted, and stays quiet on clean (generated and real) data."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from datagate.check import CheckOutcome, Profile, check, run_checks
from datagate.check.interface import CHECK_IDS
from datagate.errors import ConfigError, UsageError
from datagate.models import CheckStatus, Severity
from fixtures.gen.quality import EXPECTED
from tests.unit.check.conftest import by_id

Run = Callable[..., CheckOutcome]


@dataclass
class FakePolicy:
    """Stands in for datagate.config.Policy: only ``checks`` is read by the check stage."""

    checks: dict[str, dict[str, Any]] = field(default_factory=dict)


def test_sample_passes_every_check(sample: Path, outcome: Run) -> None:
    out = outcome(sample)
    results = by_id(out)
    assert [c.id for c in out.report.checks] == list(CHECK_IDS)
    for cid, res in results.items():
        expected = CheckStatus.SKIPPED if cid == "label_drift" else CheckStatus.PASS
        assert res.status is expected, (cid, res.message)
        if res.status is CheckStatus.PASS:
            assert res.observed["count"] == 0
    assert out.report.label_column == "label"
    assert out.report.label_source == "ClassLabel"
    assert out.report.splits["train"]["rows"] == 2400
    assert results["near_duplicates.cross_split"].observed["text_columns"] == ["text"]


def test_sample_against_itself_as_baseline(sample: Path, outcome: Run) -> None:
    base = outcome(sample).profile
    out = run_checks(sample, baseline=base)
    results = by_id(out)
    assert results["label_drift"].status is CheckStatus.PASS
    assert all(s["js_distance"] == 0.0 for s in results["label_drift"].observed["splits"].values())
    assert results["schema"].status is CheckStatus.PASS
    assert results["nulls"].status is CheckStatus.PASS
    # the sample's own test rows are not in its train split
    assert results["duplicates.cross_split"].observed["baseline"]["count"] == 0


@pytest.mark.parametrize("case", ["iris_clean", "baseline"])
def test_clean_data_is_quiet(case: str, quality: dict[str, Path], outcome: Run) -> None:
    out = outcome(quality[case])
    bad = [(c.id, c.status.value, c.message) for c in out.report.checks if c.status not in (CheckStatus.PASS, CheckStatus.SKIPPED)]
    assert bad == []


def test_iris_raw_real_duplicates(quality: dict[str, Path], outcome: Run) -> None:
    # scipy's iris.arff has three exact repeats (rows 34 and 37 repeat 9, row 142 repeats 101)
    res = by_id(outcome(quality["iris_raw"]))["duplicates.within_split"]
    assert res.status is CheckStatus.WARN
    assert res.observed["count"] == 3
    assert res.observed["rows"] == [{"split": "train", "row": 34}, {"split": "train", "row": 37}, {"split": "train", "row": 142}]
    assert by_id(outcome(quality["iris_raw"]))["outliers"].status is CheckStatus.PASS


def test_schema_changes_against_baseline(quality: dict[str, Path], outcome: Run) -> None:
    res = by_id(outcome(quality["schema_changed"], baseline=quality["baseline"]))["schema"]
    exp = EXPECTED["schema_changed"]
    assert res.status is CheckStatus.FAIL and res.severity is Severity.HIGH
    assert res.observed["count"] == exp["schema"]
    kinds: dict[str, list[str]] = {}
    for ch in res.observed["changes"]:
        kinds.setdefault(ch["kind"], []).append(ch["column"])
    assert kinds == exp["kinds"]
    for col in ("year", "source", "feat_b", "feature_a"):
        assert col in res.message
    renamed = next(c for c in res.observed["changes"] if c["kind"] == "renamed")
    assert renamed["detail"] == "feature_b"


def test_schema_quiet_without_baseline(quality: dict[str, Path], outcome: Run) -> None:
    assert by_id(outcome(quality["schema_changed"]))["schema"].status is CheckStatus.PASS


def test_label_distribution_planted(quality: dict[str, Path], outcome: Run) -> None:
    res = by_id(outcome(quality["label_skew"]))["label_distribution"]
    exp = EXPECTED["label_skew"]
    assert res.status is CheckStatus.WARN and res.severity is Severity.MEDIUM
    assert res.observed["count"] == exp["label_distribution"]
    assert sorted(res.observed["imbalance"]) == exp["imbalance"]
    assert res.observed["empty"] == exp["empty"]
    assert res.observed["unseen"] == exp["unseen"]
    assert {k: [e["class"] for e in v] for k, v in res.observed["skew"].items()} == exp["skew"]
    assert res.observed["skew"]["validation"][0] == {"class": "world", "train": round(600 / 1230, 4), "validation": round(40 / 165, 4)}
    assert "world 48.8% in train vs 24.2% in validation" in res.message
    assert res.observed["counts"]["train"]["world"] == 600


def test_label_drift_against_baseline(quality: dict[str, Path], outcome: Run) -> None:
    res = by_id(outcome(quality["label_drift"], baseline=quality["baseline"]))["label_drift"]
    exp = EXPECTED["label_drift"]
    assert res.status is CheckStatus.FAIL
    assert res.observed["count"] == exp["label_drift"]
    assert res.observed["drifted"] == exp["drifted"]
    val = res.observed["splits"]["validation"]
    assert val["js_distance"] == 0.0 and val["p_value"] == pytest.approx(1.0)
    assert res.observed["splits"]["train"]["p_value"] < 1e-10


def test_duplicates_planted(quality: dict[str, Path], outcome: Run) -> None:
    results = by_id(outcome(quality["duplicates"]))
    exp = EXPECTED["duplicates"]
    within = results["duplicates.within_split"]
    assert within.status is CheckStatus.WARN
    assert within.observed["count"] == exp["duplicates.within_split"]
    assert within.observed["per_split"] == exp["within_per_split"]
    assert "id" not in within.observed["key"]
    cross = results["duplicates.cross_split"]
    assert cross.status is CheckStatus.FAIL
    assert cross.observed["count"] == exp["duplicates.cross_split"]
    assert cross.observed["per_split"] == exp["cross_per_split"]
    pair = cross.observed["pairs"][0]
    assert pair["a"]["split"] == "train" and pair["b"]["split"] in ("validation", "test")
    assert set(pair) == {"a", "b", "similarity"}


def test_near_duplicates_planted(quality: dict[str, Path], outcome: Run) -> None:
    res = by_id(outcome(quality["duplicates"]))["near_duplicates.cross_split"]
    assert res.status is CheckStatus.FAIL
    assert res.observed["count"] == EXPECTED["duplicates"]["near_duplicates.cross_split"]
    assert res.observed["per_split"] == {"test": 6}
    for pair in res.observed["pairs"]:
        assert pair["a"]["split"] == "train" and pair["b"]["split"] == "test"
        assert 0.7 <= pair["similarity"] < 1.0


def test_near_duplicate_pairs_point_at_the_edited_rows(quality: dict[str, Path], outcome: Run) -> None:
    import pyarrow.parquet as pq

    res = by_id(outcome(quality["duplicates"]))["near_duplicates.cross_split"]
    root = quality["duplicates"]
    train = pq.read_table(root / "data" / "train-00000-of-00001.parquet").to_pylist()
    test = pq.read_table(root / "data" / "test-00000-of-00001.parquet").to_pylist()
    for pair in res.observed["pairs"]:
        a, b = train[pair["a"]["row"]], test[pair["b"]["row"]]
        assert b["id"].startswith("nd-")
        assert len(set(a["text"].split()) ^ set(b["text"].split())) <= 2


def test_conflicting_labels_planted(quality: dict[str, Path], outcome: Run) -> None:
    res = by_id(outcome(quality["duplicates"]))["conflicting_labels"]
    assert res.status is CheckStatus.FAIL
    assert res.observed["count"] == EXPECTED["duplicates"]["conflicting_labels"]
    assert res.observed["conflicting_rows"] == 8
    assert "label" not in res.observed["features"]


def test_outliers_planted(quality: dict[str, Path], outcome: Run) -> None:
    res = by_id(outcome(quality["outliers"]))["outliers"]
    exp = EXPECTED["outliers"]
    assert res.status is CheckStatus.FAIL and res.severity is Severity.HIGH
    assert res.observed["count"] == exp["outliers"]
    assert {k: v["count"] for k, v in res.observed["series"].items() if v["count"]} == exp["per_series"]
    top = res.observed["rows"][0]
    assert top["column"] == "feature_a" and top["value"] == 250.0 and top["split"] == "train"
    assert {r["row"] for r in res.observed["rows"] if r["column"] == "len(text)"} == {60, 61, 62}


def test_outliers_warn_only_below_fail_threshold(quality: dict[str, Path]) -> None:
    policy = FakePolicy({"outliers": {"fail_mads": 1000}})
    res = by_id(run_checks(quality["outliers"], policy=policy))["outliers"]
    assert res.status is CheckStatus.WARN and res.severity is Severity.MEDIUM


def test_null_spikes_between_splits_and_against_baseline(quality: dict[str, Path], outcome: Run) -> None:
    exp = EXPECTED["nulls"]
    for kw in ({}, {"baseline": quality["baseline"]}):
        res = by_id(outcome(quality["nulls"], **kw))["nulls"]
        assert res.status is CheckStatus.WARN
        assert res.observed["count"] == exp["nulls"]
        assert sorted((f["split"], f["column"]) for f in res.observed["flagged"]) == exp["flagged"]
        assert res.observed["rates"]["test"]["feature_b"] == 0.3


def test_leakage_against_baseline_profile(quality: dict[str, Path], outcome: Run) -> None:
    base = outcome(quality["baseline"]).profile
    stored = Profile.from_dict(json.loads(json.dumps(base.to_dict())))
    res = by_id(run_checks(quality["baseline_leak"], baseline=stored))["duplicates.cross_split"]
    assert res.status is CheckStatus.FAIL
    assert res.observed["count"] == EXPECTED["baseline_leak"]["duplicates.cross_split"]
    assert res.observed["baseline"]["count"] == EXPECTED["baseline_leak"]["baseline"]
    assert res.observed["baseline"]["coverage"] == 1.0
    assert [r["split"] for r in res.observed["baseline"]["rows"]] == ["test"] * 4
    # without the baseline the new version looks clean
    assert by_id(outcome(quality["baseline_leak"]))["duplicates.cross_split"].status is CheckStatus.PASS


def test_capped_baseline_hashes_report_coverage(quality: dict[str, Path], outcome: Run) -> None:
    from datagate.check.profile import RowHashSet

    base = outcome(quality["baseline"]).profile
    assert base.train_hashes is not None
    capped = RowHashSet.build(base.train_hashes.split, base.train_hashes.key_columns, base.train_hashes.hashes, cap=500)
    assert capped.cutoff is not None and 0 < capped.coverage < 1
    prof = Profile(base.splits, base.label_column, base.class_names, base.key_columns, capped)
    res = by_id(run_checks(quality["baseline_leak"], baseline=prof))["duplicates.cross_split"]
    obs = res.observed["baseline"]
    assert obs["checked"] < obs["candidates"]
    assert obs["count"] <= 4
    assert "capped" in res.message


def test_profile_round_trip(sample: Path, outcome: Run) -> None:
    prof = outcome(sample).profile
    data = json.loads(json.dumps(prof.to_dict()))
    again = Profile.from_dict(data)
    assert again.to_dict() == data
    assert again.splits["train"].rows == 2400
    assert again.class_names == ("world", "sports", "business", "science", "health")
    assert again.train_hashes is not None and again.train_hashes.total == 2400
    assert len(json.dumps(data)) < 100_000


def test_profile_rejects_garbage() -> None:
    from datagate.errors import CheckError

    with pytest.raises(CheckError, match="not a datagate profile"):
        Profile.from_dict({"version": 1, "splits": {"train": {"rows": "x"}}})
    with pytest.raises(CheckError, match="format version 99; this datagate reads version 1"):
        Profile.from_dict({"version": 99, "splits": {}})


@pytest.mark.parametrize(
    ("case", "needle"),
    [
        ("truncated", "data/test-00000-of-00001.parquet"),
        ("conflicting_schemas", "data/train-00001-of-00002.parquet: conflicting schema"),
        ("ragged_csv", "test.csv: CSV parse error: Expected 5 columns, got 6"),
        ("empty_split", "split 'test' has no rows"),
    ],
)
def test_bad_input_is_an_error_never_a_pass(case: str, needle: str, quality: dict[str, Path], outcome: Run) -> None:
    out = outcome(quality[case])
    for res in out.report.checks:
        assert res.status is not CheckStatus.PASS, (res.id, res.message)
        if res.status is CheckStatus.ERROR:
            assert needle in res.message
            assert res.severity is Severity.HIGH
    assert by_id(out)["schema"].status is CheckStatus.ERROR


def test_missing_label_is_a_usage_error_naming_columns(sample: Path) -> None:
    with pytest.raises(UsageError) as err:
        run_checks(sample, label="sentiment")
    msg = err.value.message
    assert "'sentiment'" in msg and "id, text, label, feature_a, feature_b" in msg


def test_missing_key_and_text_are_usage_errors(sample: Path) -> None:
    with pytest.raises(UsageError, match="--key 'nope'"):
        run_checks(sample, keys=("nope",))
    with pytest.raises(UsageError, match="--text 'nope'"):
        run_checks(sample, text=("nope",))


def test_key_option_changes_the_row_key(quality: dict[str, Path]) -> None:
    res = by_id(run_checks(quality["duplicates"], keys=("text",)))
    # by text alone: the 4 conflicting copies are duplicates too (same text, other label)
    assert res["duplicates.within_split"].observed["count"] == 10 + 4
    assert res["duplicates.within_split"].observed["key"] == ["text"]
    assert res["duplicates.cross_split"].observed["count"] == 7


def test_policy_overrides(quality: dict[str, Path]) -> None:
    policy = FakePolicy(
        {
            "duplicates.within_split": {"severity": "high"},
            "duplicates.cross_split": {"threshold": 10},
            "conflicting_labels": {"enabled": False},
            "near_duplicates.cross_split": {"threshold": 0.99},
        }
    )
    res = by_id(run_checks(quality["duplicates"], policy=policy))
    assert res["duplicates.within_split"].status is CheckStatus.FAIL
    assert res["duplicates.within_split"].severity is Severity.HIGH
    assert res["duplicates.cross_split"].status is CheckStatus.PASS
    assert res["duplicates.cross_split"].observed["count"] == 7
    assert res["conflicting_labels"].status is CheckStatus.SKIPPED
    assert res["near_duplicates.cross_split"].status is CheckStatus.PASS


def test_policy_unknown_setting_is_a_config_error(sample: Path) -> None:
    with pytest.raises(ConfigError, match="checks.outliers: unknown setting 'madness'"):
        run_checks(sample, policy=FakePolicy({"outliers": {"madness": 3}}))
    with pytest.raises(ConfigError, match="expected a number"):
        run_checks(sample, policy=FakePolicy({"outliers": {"threshold": "high"}}))


def test_real_policy_object_is_accepted(quality: dict[str, Path], tmp_path: Path) -> None:
    from datagate.config import load_policy

    pf = tmp_path / "policy.yaml"
    pf.write_text("checks:\n  duplicates.within_split:\n    severity: high\n", encoding="utf-8")
    res = by_id(run_checks(quality["duplicates"], policy=load_policy(pf)))
    assert res["duplicates.within_split"].status is CheckStatus.FAIL


def test_spilled_spools_give_identical_counts(quality: dict[str, Path], outcome: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    from datagate.check import _engine

    monkeypatch.setattr(_engine, "DEFAULT_BUDGET_BYTES", 1024)
    spilled = by_id(run_checks(quality["duplicates"]))
    normal = by_id(outcome(quality["duplicates"]))
    for cid in CHECK_IDS:
        assert spilled[cid].observed == normal[cid].observed, cid


def test_check_returns_the_report(sample: Path) -> None:
    report = check(sample, keys=("text",))
    assert report.label_column == "label"
    assert {c.id for c in report.checks} == set(CHECK_IDS)


def test_continuous_label_is_not_treated_as_classes(tmp_path: Path) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    pq.write_table(pa.table({"x": rng.normal(size=12_000), "target": rng.normal(size=12_000)}), tmp_path / "train.parquet")
    out = run_checks(tmp_path)
    res = by_id(out)
    assert out.report.label_column == "target"
    for cid in ("label_distribution", "conflicting_labels"):
        assert res[cid].status is CheckStatus.SKIPPED and "regression target" in res[cid].message
    assert res["label_drift"].status is CheckStatus.SKIPPED and "baseline" in res["label_drift"].message
    assert out.profile.splits["train"].label_counts == {}
    assert out.profile.label_type == "regression"
    q = out.profile.splits["train"].label_quantiles
    assert q is not None and len(q) == 101 and q[0] < q[50] < q[100]
