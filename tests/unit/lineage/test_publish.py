"""``python -m datagate.lineage.publish``: DEST becomes a copy of SRC in one rename."""

from __future__ import annotations

import os
from pathlib import Path

from datagate.lineage.publish import main, publish
from tests.unit.lineage._helpers import make_tree


def test_publish_replaces_dest_whole(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "staging")
    dest = tmp_path / "vetted"
    dest.mkdir()
    (dest / "stale.txt").write_text("old\n")
    os.symlink("/etc/passwd", src / "link")
    publish(src, dest)
    assert not (dest / "stale.txt").exists()
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*")) == sorted(
        p.relative_to(src).as_posix() for p in src.rglob("*")
    )
    assert os.readlink(dest / "link") == "/etc/passwd"  # copied as a link, never followed
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_missing_source_leaves_dest_alone(tmp_path: Path) -> None:
    dest = tmp_path / "vetted"
    dest.mkdir()
    (dest / "kept.txt").write_text("good\n")
    assert main([str(tmp_path / "nope"), str(dest)]) == 2
    assert (dest / "kept.txt").read_text() == "good\n"
    assert main(["only-one"]) == 2
