"""meta.datagate pointers in .dvc files: written without losing DVC's fields, staleness detected."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from datagate.errors import LineageError
from datagate.lineage.dvc import (
    PointerState,
    dvc_output_for_path,
    manifest_for_dvc_path,
    pointer_status,
    read_dvc_outputs,
    write_pointer,
)

DVC_FILE = """\
# kept comment
outs:
- md5: 0123456789abcdef0123456789abcdef.dir
  size: 23
  nfiles: 1
  hash: md5
  path: data
  desc: raw reviews
  meta:
    owner: team-a
"""


def _project(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    (tmp_path / "data.dvc").write_text(DVC_FILE)
    return tmp_path


def test_pointer_is_added_and_every_dvc_field_kept(tmp_path: Path) -> None:
    root = _project(tmp_path)
    out = dvc_output_for_path(root / "data")
    assert out is not None and out.pointer is None and out.md5 == "0123456789abcdef0123456789abcdef.dir"
    write_pointer(out, md5=out.md5, version="sha256:" + "a" * 64, record="r.json", record_digest="sha256:" + "b" * 64)
    text = (root / "data.dvc").read_text()
    assert text.startswith("# kept comment\n")
    entry = yaml.safe_load(text)["outs"][0]
    assert {k: entry[k] for k in ("md5", "size", "nfiles", "hash", "path", "desc")} == {
        "md5": "0123456789abcdef0123456789abcdef.dir", "size": 23, "nfiles": 1, "hash": "md5",
        "path": "data", "desc": "raw reviews",
    }
    assert entry["meta"]["owner"] == "team-a"
    assert entry["meta"]["datagate"]["md5"] == out.md5
    again = dvc_output_for_path(root / "data.dvc")
    assert again is not None and again.pointer is not None and again.pointer["record"] == "r.json"


def test_status_current_missing_record_and_stale(tmp_path: Path) -> None:
    root = _project(tmp_path)
    out = dvc_output_for_path(root / "data")
    assert out is not None and out.md5 is not None
    (root / "r.json").write_text("{}")
    write_pointer(out, md5=out.md5, version="sha256:" + "a" * 64, record="r.json", record_digest="sha256:" + "b" * 64)
    assert [s.state for s in pointer_status(root)] == [PointerState.CURRENT]
    (root / "r.json").unlink()
    assert [s.state for s in pointer_status(root)] == [PointerState.MISSING_RECORD]
    dvc = root / "data.dvc"
    dvc.write_text(dvc.read_text().replace("- md5: 0123456789abcdef", "- md5: ffffffffffffffff"))
    (st,) = pointer_status(root)
    assert st.state is PointerState.STALE and not st.ok
    assert st.recorded_md5 == "0123456789abcdef0123456789abcdef.dir"
    with pytest.raises(LineageError, match="stale"):
        manifest_for_dvc_path(root / "data")


def test_unrecorded_output_and_untracked_path(tmp_path: Path) -> None:
    root = _project(tmp_path)
    assert [s.state for s in pointer_status(root)] == [PointerState.UNRECORDED]
    assert manifest_for_dvc_path(root / "data") is None
    assert manifest_for_dvc_path(root / "elsewhere") is None


@pytest.mark.parametrize("content", ["outs: [unclosed\n", "just a string\n", "outs: 3\n", "\x00\x01"])
def test_dvc_file_that_is_not_yaml_is_a_lineage_error_and_untouched(tmp_path: Path, content: str) -> None:
    (tmp_path / "data.dvc").write_text(content)
    with pytest.raises(LineageError, match="data.dvc"):
        read_dvc_outputs(tmp_path / "data.dvc")
    with pytest.raises(LineageError):
        pointer_status(tmp_path)
    assert (tmp_path / "data.dvc").read_text() == content
