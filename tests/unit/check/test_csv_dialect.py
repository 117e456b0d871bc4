"""CSV/TSV: dialect detection, overrides, and nulls that match the parquet reading of the same data.

Real data: scikit-learn's bundled iris table, with 28% of its ``species`` strings and some
measurements blanked the way exported spreadsheets blank them.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datagate.check import CsvOptions, run_checks
from datagate.check.load import discover, iter_batches, type_family
from datagate.cli import main
from datagate.errors import UsageError

sklearn_datasets = pytest.importorskip("sklearn.datasets")

NULL_TOKENS = ("", "NA", "null", "N/A")


def _iris_rows() -> tuple[list[str], list[list[Any]]]:
    iris = sklearn_datasets.load_iris()
    names = [n.replace(" (cm)", "").replace(" ", "_") for n in iris.feature_names] + ["species", "note"]
    rows: list[list[Any]] = []
    for i, (vals, t) in enumerate(zip(iris.data.tolist(), iris.target.tolist(), strict=True)):
        species: str | None = str(iris.target_names[t])
        if i % 25 < 7:  # 28% of the species strings are missing
            species = None
        row: list[Any] = [*vals, species, f"plant {i}; measured by hand, \"cm\""]
        if i % 10 == 3:
            row[1] = None  # and 10% of one measurement
        rows.append(row)
    return names, rows


def _write_csv(path: Path, names: list[str], rows: list[list[Any]], delimiter: str, header: bool = True) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh, delimiter=delimiter)
        if header:
            w.writerow(names)
        for i, r in enumerate(rows):
            w.writerow([NULL_TOKENS[i % len(NULL_TOKENS)] if v is None else v for v in r])


def _write_parquet(path: Path, names: list[str], rows: list[list[Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cols = {n: [r[i] for r in rows] for i, n in enumerate(names)}
    pq.write_table(pa.table(cols), path)


def _nulls(path: Path, **kw: Any) -> tuple[dict[str, Any], dict[str, str]]:
    report = run_checks(path, **kw).report
    rates = next(c for c in report.checks if c.id == "nulls").observed["rates"]["train"]
    types = {k: type_family(pa.type_for_alias(v)) if v in ("double", "string", "int64") else v
             for k, v in report.splits["train"]["columns"].items()}
    return rates, types


@pytest.mark.parametrize(("delimiter", "fname"), [(",", "train.csv"), (";", "train.csv"), ("\t", "train.tsv"), ("|", "train.csv")])
def test_csv_and_parquet_give_the_same_nulls_and_columns(tmp_path: Path, delimiter: str, fname: str) -> None:
    names, rows = _iris_rows()
    _write_csv(tmp_path / "csv" / fname, names, rows, delimiter)
    _write_parquet(tmp_path / "pq" / "train.parquet", names, rows)
    csv_rates, csv_types = _nulls(tmp_path / "csv", label="species")
    pq_rates, pq_types = _nulls(tmp_path / "pq", label="species")
    assert csv_rates == pq_rates
    assert csv_rates["species"] == pytest.approx(0.28)
    assert csv_types == pq_types
    assert list(csv_types) == names


def test_semicolon_csv_is_detected_and_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    names, rows = _iris_rows()
    _write_csv(tmp_path / "train.csv", names, rows, ";")
    shard = discover(tmp_path).splits[0].shards[0]
    assert shard.dialect is not None and shard.dialect.delimiter == ";" and shard.dialect.header
    assert "delimiter" in shard.dialect.detected
    assert main(["-q", "check", str(tmp_path), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["label_column"] == "species"
    assert doc["splits"]["train"]["csv"]["train.csv"]["delimiter"] == ";"
    main(["-q", "check", str(tmp_path)])
    assert "csv train.csv: delimiter ';' (detected)" in capsys.readouterr().out


def test_quoted_delimiters_do_not_split_fields(tmp_path: Path) -> None:
    (tmp_path / "train.csv").write_text('text;label\n"a; b; c";x\n"d; e";y\n"f";x\n')
    shard = discover(tmp_path).splits[0].shards[0]
    assert shard.dialect is not None and shard.dialect.delimiter == ";"
    batch = next(iter_batches(shard))
    assert batch.column("text").to_pylist() == ["a; b; c", "d; e", "f"]


def test_headerless_numeric_csv_gets_generated_names(tmp_path: Path) -> None:
    _, rows = _iris_rows()
    _write_csv(tmp_path / "train.csv", [], [r[:4] for r in rows if r[1] is not None], ",", header=False)
    shard = discover(tmp_path).splits[0].shards[0]
    assert shard.dialect is not None and not shard.dialect.header
    assert next(iter_batches(shard)).schema.names == ["f0", "f1", "f2", "f3"]


def test_overrides_win_over_detection(tmp_path: Path) -> None:
    (tmp_path / "train.csv").write_text("a;b,c\n1;2,3\n4;5,6\n")
    shard = discover(tmp_path, csv=CsvOptions(delimiter=",")).splits[0].shards[0]
    assert next(iter_batches(shard)).schema.names == ["a;b", "c"]
    (tmp_path / "train.csv").write_text("a;b\n1;x\n4;-\n5;NA\n")
    shard = discover(tmp_path, csv=CsvOptions.parse(";", "-")).splits[0].shards[0]
    assert next(iter_batches(shard)).column("b").to_pylist() == ["x", None, "NA"]  # only '-' (and '') now
    with pytest.raises(UsageError):
        CsvOptions.parse(";;", None)
    assert CsvOptions.parse("\\t", None) == CsvOptions("\t", None)


def test_ingest_takes_the_csv_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "train.csv").write_text("species|size\nsetosa|1\n?|2\nvirginica|3\n")
    code = main(["-q", "ingest", str(tmp_path / "d"), "--store", str(tmp_path / "store"), "--null-values", "?",
                 "--csv-delimiter", "|", "--format", "json"])
    assert code == 0, capsys.readouterr().err
    doc = json.loads(capsys.readouterr().out)
    rates = next(c for c in doc["check"]["checks"] if c["id"] == "nulls")["observed"]["rates"]["train"]
    assert rates["species"] == pytest.approx(1 / 3)
