"""./datagate.yaml and pyproject.toml [tool.datagate] are found without --policy, and the
report names the policy that was used."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from datagate.cli import main
from datagate.config import discover_policy, load_policy
from datagate.models import Severity


def _tree(root: Path) -> Path:
    data = root / "data"
    data.mkdir(parents=True)
    (data / "train.csv").write_text("text,label\nhello,1\nworld,0\n")
    (data / "notes.pkl").write_bytes(b"\x80\x04\x95\x10\x00\x00\x00\x00")  # truncated: pickle.malformed, medium
    return data


def test_datagate_yaml_in_the_current_folder_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    _tree(tmp_path)
    assert main(["scan", "data"]) == 0  # defaults: medium does not block
    assert "policy" not in capsys.readouterr().out.splitlines()[0]
    (tmp_path / "datagate.yaml").write_text("version: 1\nfail_on: medium\n")
    assert main(["scan", "data"]) == 1
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("FAIL") and "policy datagate.yaml" in first
    # an explicit --policy wins
    (tmp_path / "lenient.yaml").write_text("version: 1\nfail_on: critical\n")
    assert main(["scan", "data", "--policy", "lenient.yaml"]) == 0
    assert "policy lenient.yaml" in capsys.readouterr().out


def test_pyproject_tool_table_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    _tree(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.datagate]\nversion = 1\nfail_on = "medium"\n')
    pol = discover_policy()
    assert pol is not None and pol.fail_on is Severity.MEDIUM and pol.source == "pyproject.toml [tool.datagate]"
    assert main(["scan", "data"]) == 1
    assert "policy pyproject.toml [tool.datagate]" in capsys.readouterr().out
    main(["-q", "check", "data", "--format", "json"])
    assert json.loads(capsys.readouterr().out)["policy"] == "pyproject.toml [tool.datagate]"
    code = main(["-q", "ingest", "data", "--store", "st", "--format", "json"])
    assert code == 1
    assert json.loads(capsys.readouterr().out)["gate"]["policy"] == "pyproject.toml [tool.datagate]"


def test_datagate_yaml_wins_over_pyproject_and_bad_files_are_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool.datagate]\nfail_on = "low"\n')
    (tmp_path / "datagate.yaml").write_text("fail_on: critical\n")
    assert load_policy(None).fail_on is Severity.CRITICAL
    (tmp_path / "datagate.yaml").write_text("fail_on: sometimes\n")
    _tree(tmp_path)
    assert main(["scan", "data"]) == 2
    assert "datagate.yaml" in capsys.readouterr().err


def test_no_policy_anywhere_means_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n[tool.ruff]\nline-length = 100\n')
    assert discover_policy() is None
    assert load_policy(None).source is None
