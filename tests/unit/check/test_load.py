"""Loading: every supported format and compression, split discovery, label resolution, bad shards."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datagate.check.load import ShardError, discover, iter_batches, resolve_label, split_schema
from datagate.errors import CheckError, UsageError


def _rows(path: Path) -> list[dict[str, object]]:
    layout = discover(path)
    out: list[dict[str, object]] = []
    for split in layout.splits:
        sch, problems = split_schema(split)
        assert problems == []
        for shard in split.shards:
            for batch in iter_batches(shard, schema=sch, batch_rows=7):
                out += batch.to_pylist()
    return out


@pytest.mark.parametrize(
    "name",
    ["csv.csv.gz", "tsv.tsv.zst", "jsonl.jsonl.bz2", "array.json", "file.arrow", "stream.arrow.xz", "parquet.parquet"],
)
def test_every_format_reads_the_same_rows(name: str, quality: dict[str, Path]) -> None:
    root = quality["formats"]
    expected = pq.read_table(root / "parquet.parquet").to_pylist()
    got = _rows(root / name)
    assert len(got) == 60
    for a, b in zip(got, expected, strict=True):
        assert a["id"] == b["id"] and a["text"] == b["text"] and a["label"] == b["label"]
        assert a["feature_a"] == pytest.approx(b["feature_a"])


def test_save_to_disk_folder(quality: dict[str, Path]) -> None:
    layout = discover(quality["formats"] / "save_to_disk")
    assert layout.source == "save_to_disk"
    assert [s.name for s in layout.splits] == ["train", "test"]
    assert layout.class_names["label"] == ("world", "sports", "business", "science", "health")
    col, src = resolve_label(layout, ["id", "text", "label"], None)
    assert (col, src) == ("label", "ClassLabel")
    assert len(_rows(quality["formats"] / "save_to_disk")) == 60


def test_card_configs_and_classlabel(sample: Path) -> None:
    layout = discover(sample)
    assert layout.source == "card"
    assert [s.name for s in layout.splits] == ["train", "validation", "test"]
    assert [sh.relpath for sh in layout.splits[1].shards] == ["data/validation-00000-of-00001.parquet"]
    assert layout.class_names["label"][0] == "world"


def test_hub_file_name_conventions(tmp_path: Path) -> None:
    table = pa.table({"text": ["a", "b"], "target": [0, 1]})
    for rel in ("data/train-00000-of-00002.parquet", "data/train-00001-of-00002.parquet", "dev/part.parquet", "my_test.parquet"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, tmp_path / rel)
    (tmp_path / ".hidden").mkdir()
    pq.write_table(table, tmp_path / ".hidden" / "train.parquet")
    layout = discover(tmp_path)
    assert layout.source == "files"
    assert [(s.name, [sh.relpath for sh in s.shards]) for s in layout.splits] == [
        ("train", ["data/train-00000-of-00002.parquet", "data/train-00001-of-00002.parquet"]),
        ("validation", ["dev/part.parquet"]),
        ("test", ["my_test.parquet"]),
    ]
    assert resolve_label(layout, ["text", "target"], None) == ("target", "name")


def test_unnamed_files_are_one_train_split(tmp_path: Path) -> None:
    pq.write_table(pa.table({"x": [1]}), tmp_path / "part-a.parquet")
    pq.write_table(pa.table({"x": [2]}), tmp_path / "part-b.parquet")
    layout = discover(tmp_path)
    assert [(s.name, len(s.shards)) for s in layout.splits] == [("train", 2)]
    assert resolve_label(layout, ["x"], None) == (None, None)


def test_discover_errors(tmp_path: Path) -> None:
    with pytest.raises(CheckError, match="no such file"):
        discover(tmp_path / "missing")
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    with pytest.raises(CheckError, match="no data files"):
        discover(tmp_path)


def test_label_flag_must_exist(sample: Path) -> None:
    layout = discover(sample)
    with pytest.raises(UsageError, match="available columns: id, text"):
        resolve_label(layout, ["id", "text"], "nope")


def test_truncated_parquet_is_a_shard_error(quality: dict[str, Path]) -> None:
    layout = discover(quality["truncated"])
    test = next(s for s in layout.splits if s.name == "test")
    sch, problems = split_schema(test)
    assert sch is None
    assert len(problems) == 1 and problems[0].relpath == "data/test-00000-of-00001.parquet"


def test_ragged_csv_names_the_file(quality: dict[str, Path]) -> None:
    layout = discover(quality["ragged_csv"])
    test = next(s for s in layout.splits if s.name == "test")
    sch, problems = split_schema(test)
    with pytest.raises(ShardError, match=r"test.csv: CSV parse error: Expected 5 columns, got 6"):
        if problems:
            raise problems[0]
        for _ in iter_batches(test.shards[0], schema=sch):
            pass


def test_conflicting_shards_are_named(quality: dict[str, Path]) -> None:
    layout = discover(quality["conflicting_schemas"])
    sch, problems = split_schema(layout.splits[0])
    assert sch is not None and sch.names == ["id", "text", "label", "feature_a", "feature_b"]
    assert [p.relpath for p in problems] == ["data/train-00001-of-00002.parquet"]
    assert "extra" in problems[0].reason


def test_numeric_widths_unify_across_shards(tmp_path: Path) -> None:
    pq.write_table(pa.table({"x": pa.array([1, 2], pa.int32())}), tmp_path / "train-0.parquet")
    pq.write_table(pa.table({"x": pa.array([3.5], pa.float64())}), tmp_path / "train-1.parquet")
    sch, problems = split_schema(discover(tmp_path).splits[0])
    assert problems == [] and sch is not None and pa.types.is_floating(sch.field("x").type)
