"""Label columns: more names, ClassLabel in parquet metadata, and no silent pass without a label.

Real data: scikit-learn's bundled iris table, written as CSV with a ``species`` column (the
way penguins and iris are usually published), and a ``datasets`` ClassLabel feature written to
parquet by ``datasets`` itself.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from datagate.check import run_checks
from datagate.check.label_columns import (
    LABEL_CHECK_IDS,
    NO_LABEL_MESSAGE,
    class_labels_from_metadata,
)
from datagate.cli import main
from datagate.errors import UsageError
from datagate.models import CheckStatus

sklearn_datasets = pytest.importorskip("sklearn.datasets")


def _iris_csv(path: Path, label_name: str | None) -> Path:
    iris = sklearn_datasets.load_iris()
    names = [n.replace(" (cm)", "").replace(" ", "_") for n in iris.feature_names]
    path.mkdir(parents=True, exist_ok=True)
    out = path / "train.csv"
    with out.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(names + ([label_name] if label_name else []))
        for row, t in zip(iris.data.tolist(), iris.target.tolist(), strict=True):
            w.writerow(row + ([iris.target_names[t]] if label_name else []))
    return path


@pytest.mark.parametrize("name", ["species", "y", "outcome", "sentiment", "Species"])
def test_common_label_names_are_recognised(tmp_path: Path, name: str) -> None:
    report = run_checks(_iris_csv(tmp_path, name)).report
    assert report.label_column == name and report.label_source == "name"
    dist = next(c for c in report.checks if c.id == "label_distribution")
    assert dist.status is CheckStatus.PASS
    assert dist.observed["counts"]["train"] == {"setosa": 50, "versicolor": 50, "virginica": 50}


def test_no_label_found_warns_and_names_the_options(tmp_path: Path) -> None:
    data = _iris_csv(tmp_path, None)
    report = run_checks(data).report
    assert report.label_column is None
    for cid in LABEL_CHECK_IDS:
        res = next(c for c in report.checks if c.id == cid)
        assert res.status is CheckStatus.WARN, cid
        assert res.message == NO_LABEL_MESSAGE

def test_no_label_warning_reaches_the_cli_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _iris_csv(tmp_path, None)
    main(["-q", "check", str(data), "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    statuses = {c["id"]: (c["status"], c["message"]) for c in doc["checks"]}
    assert statuses["label_distribution"] == ("warn", NO_LABEL_MESSAGE)


def test_no_label_flag_is_an_explicit_skip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _iris_csv(tmp_path, None)
    report = run_checks(data, no_label=True).report
    for cid in LABEL_CHECK_IDS:
        res = next(c for c in report.checks if c.id == cid)
        assert res.status is CheckStatus.SKIPPED and "--no-label" in res.message
    assert main(["-q", "check", str(data), "--no-label", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {c["id"]: c["status"] for c in doc["checks"]}["label_drift"] == "skipped"
    with pytest.raises(UsageError):
        run_checks(data, label="sepal_length", no_label=True)


def test_classlabel_feature_in_parquet_metadata_names_the_label(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    import pyarrow.parquet as pq

    iris = sklearn_datasets.load_iris()
    feats = datasets.Features(
        {"petal": datasets.Value("float64"), "kind": datasets.ClassLabel(names=list(iris.target_names))}
    )
    ds = datasets.Dataset.from_dict({"petal": iris.data[:, 2].tolist(), "kind": iris.target.tolist()}, features=feats)
    (tmp_path / "d").mkdir()
    ds.to_parquet(str(tmp_path / "d" / "train.parquet"))
    meta = pq.read_schema(tmp_path / "d" / "train.parquet").metadata
    assert class_labels_from_metadata(meta) == {"kind": tuple(iris.target_names)}
    report = run_checks(tmp_path / "d").report
    assert report.label_column == "kind" and report.label_source == "ClassLabel"


def test_malformed_metadata_is_ignored() -> None:
    assert class_labels_from_metadata({b"huggingface": b"\xff{"}) == {}
    assert class_labels_from_metadata({b"huggingface": b'{"info": []}'}) == {}
    assert class_labels_from_metadata(None) == {}
