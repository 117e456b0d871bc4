"""Broken and hostile data files are read errors naming the file and the problem (issue 14).

The files come from :mod:`fixtures.gen.broken`: valid files written by pyarrow with a few bytes
changed. Before issue 14, the Arrow cases crashed the process with SIGSEGV and the Latin-1 cases
raised UnicodeDecodeError out of ``check``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from datagate.check import run_checks
from datagate.check.load import ShardError, discover, iter_batches, read_schema, validate_encoding
from datagate.errors import CheckError, UsageError
from datagate.models import CheckStatus


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from fixtures.gen.broken import build

    return build(tmp_path_factory.mktemp("broken"))


def _read_all(path: Path, encoding: str = "utf-8") -> list[int]:
    layout = discover(path, encoding=encoding)
    shard = layout.splits[0].shards[0]
    return [b.num_rows for b in iter_batches(shard, schema=read_schema(shard))]


@pytest.mark.parametrize(
    ("case", "where"),
    [
        ("latin1_jsonl", "line 1, byte 13: not valid utf-8"),
        ("latin1_csv", "line 2, byte 14: not valid utf-8"),
        ("latin1_json_array", "line 1, byte 14: not valid utf-8"),
    ],
)
def test_undecodable_text_names_line_and_byte(broken: dict[str, Path], case: str, where: str) -> None:
    with pytest.raises(ShardError) as info:
        _read_all(broken[case])
    assert info.value.relpath == broken[case].name
    assert where in info.value.reason
    assert "0xe9" in info.value.reason


@pytest.mark.parametrize("case", ["latin1_jsonl", "latin1_csv", "latin1_json_array"])
def test_encoding_option_reads_latin1(broken: dict[str, Path], case: str) -> None:
    layout = discover(broken[case], encoding="latin-1")
    shard = layout.splits[0].shards[0]
    rows = [r for b in iter_batches(shard) for r in b.to_pylist()]
    assert [r["text"] for r in rows] == ["café", "ok"]


def test_encoding_errors_in_other_codecs_name_the_byte(tmp_path: Path) -> None:
    f = tmp_path / "cp.csv"
    f.write_bytes(b"a,b\nx,1\n\x81,2\n")
    with pytest.raises(ShardError, match=r"line 3, byte 8: not valid cp1252"):
        _read_all(f, encoding="cp1252")


def test_unknown_encoding_is_a_usage_error(broken: dict[str, Path]) -> None:
    with pytest.raises(UsageError, match="unknown text encoding"):
        discover(broken["latin1_csv"], encoding="no-such-codec")
    with pytest.raises(UsageError, match="not a text encoding"):
        validate_encoding("rot13")


@pytest.mark.parametrize("case", ["arrow_bad_offsets", "arrow_stream_bad_offsets", "arrow_bad_dictionary"])
def test_arrow_batches_are_fully_validated(broken: dict[str, Path], case: str) -> None:
    with pytest.raises(ShardError, match="invalid data: .*(out of bounds|out of bo)"):
        _read_all(broken[case])


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("parquet_huge_footer", "footer declares 4294967280 bytes of metadata"),
        ("parquet_truncated", "no PAR1 magic"),
    ],
)
def test_parquet_footer_checked_before_reading(broken: dict[str, Path], case: str, message: str) -> None:
    with pytest.raises(ShardError, match=message):
        read_schema(discover(broken[case]).splits[0].shards[0])


def test_parquet_chunks_outside_the_file_are_a_read_error(broken: dict[str, Path]) -> None:
    with pytest.raises(ShardError, match="Invalid column metadata"):
        _read_all(broken["parquet_bad_row_group"])


def test_parquet_metadata_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    import datagate.check.load as load

    good = tmp_path / "good.parquet"
    pq.write_table(pa.table({"a": list(range(10))}), good)
    read_schema(discover(good).splits[0].shards[0])  # fine under the real limit
    monkeypatch.setattr(load, "MAX_PARQUET_METADATA_BYTES", 16)
    with pytest.raises(ShardError, match="exceeds the limit of 16 bytes"):
        read_schema(discover(good).splits[0].shards[0])


def test_unreadable_only_file_is_check_error_exit(broken: dict[str, Path]) -> None:
    with pytest.raises(CheckError, match=r"latin1\.jsonl: line 1, byte 13"):
        run_checks(broken["latin1_jsonl"])


def test_unreadable_shard_among_readable_is_a_check_error(broken: dict[str, Path], tmp_path: Path) -> None:
    data = tmp_path / "ds"
    data.mkdir()
    (data / "train.arrow").write_bytes(broken["arrow_bad_offsets"].read_bytes())
    (data / "test.csv").write_text("text,label\nhello,1\nworld,0\n")
    out = run_checks(data)
    errors = [c for c in out.report.checks if c.status is CheckStatus.ERROR]
    assert errors and all("train.arrow" in c.message for c in errors)


@pytest.mark.parametrize("case", ["arrow_bad_offsets", "arrow_stream_bad_offsets"])
def test_cli_never_dies_of_a_signal(broken: dict[str, Path], case: str) -> None:
    # A subprocess: before issue 14 this was SIGSEGV (exit -11), which would kill pytest itself.
    proc = subprocess.run(
        [sys.executable, "-m", "datagate", "check", str(broken[case]), "--format", "json"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode in (1, 2), proc.stderr
    assert "Traceback" not in proc.stderr
