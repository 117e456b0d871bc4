"""``datagate check`` and ``datagate suggest`` driven in-process through the real CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from datagate.cli import main


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from fixtures.gen.quality import build as build_quality
    from fixtures.gen.sample import build as build_sample

    root = tmp_path_factory.mktemp("cli-check")
    out = build_quality(root)
    out["sample"] = build_sample(root)
    return out


def test_check_sample_json_passes(data: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", str(data["sample"]), "--format", "json", "-q"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["dataset"] == str(data["sample"])
    assert out["label_column"] == "label" and out["label_source"] == "ClassLabel"
    ids = [c["id"] for c in out["checks"]]
    assert ids[:2] == ["schema", "label_distribution"] and "conflicting_labels" in ids
    assert all({"id", "status", "severity", "observed", "message"} <= set(c) for c in out["checks"])


def test_check_fails_the_gate_on_leakage(data: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", str(data["duplicates"]), "--format", "json", "-q"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1
    cross = next(c for c in out["checks"] if c["id"] == "duplicates.cross_split")
    assert cross["status"] == "fail" and cross["observed"]["count"] == 7
    assert cross["observed"]["rows"][0].keys() == {"split", "row"}


def test_fail_on_critical_lets_high_failures_pass(data: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(data["duplicates"]), "--fail-on", "critical", "-q"]) == 0
    assert "duplicates.cross_split" in capsys.readouterr().out


def test_missing_label_is_exit_2_naming_columns(data: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", str(data["sample"]), "--label", "sentiment"])
    err = capsys.readouterr().err
    assert code == 2
    assert "'sentiment'" in err and "available columns: id, text, label, feature_a, feature_b" in err
    assert "Traceback" not in err


def test_missing_path_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(tmp_path / "nowhere")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_bad_shard_is_an_error_result_not_a_traceback(data: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", str(data["truncated"]), "--format", "json", "-q"])
    captured = capsys.readouterr()
    assert code == 1
    out = json.loads(captured.out)
    errors = [c for c in out["checks"] if c["status"] == "error"]
    assert errors and all("data/test-00000-of-00001.parquet" in c["message"] for c in errors)
    assert "Traceback" not in captured.err


def test_bad_policy_override_is_exit_2(data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pf = tmp_path / "policy.yaml"
    pf.write_text("checks:\n  outliers:\n    madness: 3\n", encoding="utf-8")
    assert main(["check", str(data["sample"]), "--policy", str(pf)]) == 2
    assert "checks.outliers.madness: unknown key" in capsys.readouterr().err


def test_saved_profile_is_a_baseline(data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prof = tmp_path / "baseline-profile.json"
    assert main(["check", str(data["baseline"]), "--save-profile", str(prof), "-q"]) == 0
    assert json.loads(prof.read_text())["version"] == 1
    capsys.readouterr()
    code = main(["check", str(data["label_drift"]), "--baseline", str(prof), "--format", "json", "-q"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1
    drift = next(c for c in out["checks"] if c["id"] == "label_drift")
    assert drift["status"] == "fail" and drift["observed"]["drifted"] == ["train", "test"]
    code = main(["check", str(data["baseline_leak"]), "--baseline", str(prof), "--format", "json", "-q"])
    out = json.loads(capsys.readouterr().out)
    cross = next(c for c in out["checks"] if c["id"] == "duplicates.cross_split")
    assert code == 1 and cross["observed"]["baseline"]["count"] == 4


def test_not_a_suite_fails_closed(data: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", str(data["sample"]), "--suite", str(data["not_a_suite"]), "--format", "json", "-q"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1
    res = next(c for c in out["checks"] if c["id"] == "gx.not_a_suite")
    assert res["status"] == "error" and "not_a_suite.json" in res["message"]


def test_suggest_writes_a_suite(data: dict[str, Path], tmp_path: Path) -> None:
    target = tmp_path / "expectations" / "mysample.json"
    target.parent.mkdir()
    assert main(["suggest", str(data["sample"]), "--output", str(target), "-q"]) == 0
    suite = json.loads(target.read_text())
    assert suite["name"] == "mysample"
    types = {e["type"] for e in suite["expectations"]}
    assert {"expect_table_columns_to_match_set", "expect_column_values_to_be_in_set", "expect_column_values_to_be_between", "expect_column_values_to_not_be_null"} <= types
