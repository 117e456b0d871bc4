"""Archive budgets cover the whole tree: an archive and everything nested in it (issue 14).

Before: an 11 KB zip of zips of zips of zeros ran for the whole 120 s per-file budget and
flagged its members one at a time (1,129 findings), since every container had its own budget
and no single member crossed a limit.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from datagate.cli import main
from datagate.scan import scan
from datagate.scan.interface import Limits
from fixtures.gen.broken import zip_of


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from fixtures.gen.broken import build

    return build(tmp_path_factory.mktemp("tree"))["nested_zip_bomb"]


def test_nested_bomb_stops_early_with_one_finding(bomb: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["scan", str(bomb.parent), "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1
    bombs = [f for f in doc["findings"] if f["rule"].startswith("container.bomb.")]
    assert len(bombs) == 1
    assert bombs[0]["severity"] == "high" and bombs[0]["evidence"]["scope"] == "tree"
    # stopped early: a few dozen MiB of the 4 GiB, a handful of the 4,096 leaves
    assert bombs[0]["evidence"]["decompressed_at_least"] < 64 << 20
    leaves = [f for f in doc["findings"] if (f["member"] or "").endswith("zeros.bin")]
    assert len(leaves) < 64
    assert any("rest of this archive tree was not inspected" in s["reason"] for s in doc["summary"]["skipped"])


def test_member_count_is_budgeted_across_nested_archives(tmp_path: Path) -> None:
    # three inner zips of 5 members each: every container is under the limit of 10, the tree is not
    inner = zip_of([(f"m{i}.txt", b"x\n") for i in range(5)])
    (tmp_path / "outer.zip").write_bytes(zip_of([(f"inner{j}.zip", inner) for j in range(3)]))
    report = scan(tmp_path, limits=Limits(max_members=10))
    hits = [f for f in report.findings if f.rule == "container.bomb.members"]
    assert len(hits) == 1 and hits[0].evidence["scope"] == "tree"
    assert scan(tmp_path, limits=Limits(max_members=18)).findings == ()  # 18 members: within budget


def test_expanded_bytes_are_budgeted_across_nested_archives(tmp_path: Path) -> None:
    # two inner zips inflating to 600 KB each: each under the limit of 1.1 MB, the tree over it
    inner = zip_of([("a.txt", b"a" * 600_000)])
    (tmp_path / "outer.zip").write_bytes(zip_of([("i1.zip", inner), ("i2.zip", inner)]))
    report = scan(tmp_path, limits=Limits(max_total_bytes=1_100_000))
    hits = [f for f in report.findings if f.rule == "container.bomb.total"]
    assert len(hits) == 1 and hits[0].evidence["scope"] == "tree"
    ok = scan(tmp_path, limits=Limits(max_total_bytes=10_000_000))
    assert not [f for f in ok.findings if f.rule.startswith("container.bomb.")]


def test_separate_files_have_separate_budgets(tmp_path: Path) -> None:
    inner = zip_of([(f"m{i}.txt", b"x\n") for i in range(5)])
    for j in range(3):
        (tmp_path / f"z{j}.zip").write_bytes(zip_of([("inner.zip", inner)]))
    report = scan(tmp_path, limits=Limits(max_members=10))  # 6 members per file
    assert not [f for f in report.findings if f.rule.startswith("container.bomb.")]
