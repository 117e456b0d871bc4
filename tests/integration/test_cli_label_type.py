"""``--label-type`` on ``datagate check`` and ``datagate ingest``, in-process, on a real table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from datagate.cli import main


@pytest.fixture(scope="module")
def diabetes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from fixtures.gen.real import load, write_splits

    return write_splits(load("diabetes"), tmp_path_factory.mktemp("cli-label-type") / "diabetes")


def _checks(out: str) -> dict[str, dict[str, object]]:
    return {c["id"]: c for c in json.loads(out)["checks"]}


def test_check_infers_regression_and_accepts_the_override(diabetes: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(diabetes), "--label", "target", "--format", "json", "-q"]) == 0
    inferred = _checks(capsys.readouterr().out)
    assert inferred["label_distribution"]["status"] == "skipped"
    assert "regression target" in str(inferred["label_distribution"]["message"])
    main(["check", str(diabetes), "--label", "target", "--label-type", "class", "--format", "json", "-q"])
    forced = _checks(capsys.readouterr().out)
    assert forced["label_distribution"]["status"] == "warn"  # unseen test "classes"


def test_bad_label_type_is_exit_2(diabetes: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(diabetes), "--label-type", "ordinal", "-q"]) == 2
    assert "ordinal" in capsys.readouterr().err


def test_ingest_passes_the_label_type(diabetes: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["ingest", str(diabetes), "--label", "target", "--label-type", "regression", "--store", str(tmp_path / "store"), "--format", "json", "-q"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "regression target" in out
