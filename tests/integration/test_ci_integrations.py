"""The pre-commit hook (.pre-commit-hooks.yaml) and the composite CI action (action.yml), run for real.

pre-commit itself (from PyPI) validates the hook manifest and runs the hook on staged files in a
temporary git repository. The action's structure is checked (composite, SHA-pinned actions,
inputs reaching scripts only through env), then its shell steps run locally the way a runner runs
them (``bash --noprofile --norc -eo pipefail``, ``$GITHUB_OUTPUT``), with datagate from this venv.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.lineage._helpers import make_tree

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PRE_COMMIT = shutil.which("pre-commit", path=str(BIN))
# GLOBAL os.system then the call: a hostile pickle built by hand, never loaded
HOSTILE = b"cos\nsystem\n(S'true'\ntR."


def _env(tmp: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PRE_COMMIT_HOME": str(tmp / "pre-commit-home"),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }


def _zip_with(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(name, data)
    return buf.getvalue()


# -- pre-commit -------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(PRE_COMMIT is None, reason="pre-commit is not installed next to this Python")
def test_pre_commit_hook_refuses_a_staged_hostile_file(tmp_path: Path) -> None:
    assert PRE_COMMIT is not None
    env = _env(tmp_path)
    manifest = REPO / ".pre-commit-hooks.yaml"
    ok = subprocess.run([PRE_COMMIT, "validate-manifest", str(manifest)], env=env, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    hook = next(h for h in yaml.safe_load(manifest.read_text()) if h["id"] == "datagate-scan")

    repo = tmp_path / "data-repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, env=env, check=True)
    # the published hook as a local one: the same entry, file filter and types, run from this
    # venv instead of an environment pre-commit would build from the repository
    local = {k: v for k, v in hook.items() if k not in ("language", "minimum_pre_commit_version")}
    config = {"repos": [{"repo": "local", "hooks": [{**local, "language": "system"}]}]}
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
    (repo / "train.csv").write_text("text,label\nhello,1\nworld,0\n")
    (repo / "notes.py").write_text("import os\nos.system('true')\n")  # not a data file: not scanned
    subprocess.run(["git", "add", "-A"], cwd=repo, env=env, check=True)
    clean = subprocess.run([PRE_COMMIT, "run"], cwd=repo, env=env, capture_output=True, text=True, timeout=300)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "Passed" in clean.stdout

    (repo / "bundle.zip").write_bytes(_zip_with("model.pkl", HOSTILE))
    subprocess.run(["git", "add", "bundle.zip"], cwd=repo, env=env, check=True)
    bad = subprocess.run([PRE_COMMIT, "run"], cwd=repo, env=env, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "Failed" in bad.stdout and "bundle.zip" in bad.stdout and "pickle" in bad.stdout
    assert "notes.py" not in bad.stdout


def test_pre_commit_entry_point_scans_each_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from datagate.precommit import main

    (tmp_path / "ok.csv").write_text("a,b\n1,2\n")
    (tmp_path / "m.zip").write_bytes(_zip_with("w.pkl", HOSTILE))
    assert main([str(tmp_path / "ok.csv")]) == 0
    assert capsys.readouterr().out == ""
    assert main([str(tmp_path / "ok.csv"), str(tmp_path / "m.zip")]) == 1
    assert "m.zip" in capsys.readouterr().out
    assert main([str(tmp_path / "missing.csv")]) == 2


# -- action.yml -------------------------------------------------------------------------------

_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def _action() -> dict[str, Any]:
    doc = yaml.safe_load((REPO / "action.yml").read_text())
    assert isinstance(doc, dict)
    return doc


def test_action_structure() -> None:
    doc = _action()
    assert doc["name"] and doc["description"]
    assert doc["runs"]["using"] == "composite"
    steps = doc["runs"]["steps"]
    ids = {s["id"] for s in steps if "id" in s}
    inputs = set(doc["inputs"])
    for step in steps:
        assert ("run" in step) != ("uses" in step), step
        if "run" in step:
            assert step.get("shell") == "bash", step  # composite run steps must name their shell
            assert "${{" not in step["run"], f"expression inside a script (injection risk): {step['name']}"
        else:
            assert re.fullmatch(r"[\w./-]+@[0-9a-f]{40}", step["uses"]), f"not pinned to a commit: {step['uses']}"
        text = json.dumps(step)
        for expr in _EXPR.findall(text):
            for ref in re.findall(r"inputs\.([\w-]+)", expr):
                assert ref in inputs, ref
            for ref in re.findall(r"steps\.([\w-]+)\.", expr):
                assert ref in ids, ref
    for out in doc["outputs"].values():
        for ref in re.findall(r"steps\.([\w-]+)\.", out["value"]):
            assert ref in ids
    assert {s["with"]["category"] for s in steps if "upload-sarif" in s.get("uses", "")} == {"datagate-scan", "datagate-check"}


def _run_action(inputs: dict[str, str], tmp: Path) -> tuple[dict[str, dict[str, str]], list[str]]:
    """Run the action's shell steps as a runner would; return each step's outputs and the names
    of the steps that ran."""
    doc = _action()
    values = {k: str(v.get("default", "")) for k, v in doc["inputs"].items()} | inputs
    outputs: dict[str, dict[str, str]] = {}
    ran: list[str] = []
    failed = False

    def render(text: str) -> str:
        def one(m: re.Match[str]) -> str:
            expr = m.group(1)
            if expr.startswith("inputs."):
                return values[expr[7:]]
            if expr.startswith("steps."):
                _, sid, _, key = expr.split(".")
                return outputs.get(sid, {}).get(key, "")
            if expr == "github.action_path":
                return str(REPO)
            raise AssertionError(f"unhandled expression {expr}")

        return _EXPR.sub(one, text)

    def condition(cond: str | None) -> bool:
        if cond is None:
            return not failed
        expr = _EXPR.sub(lambda m: m.group(1), cond)
        parts = [p.strip() for p in expr.split("&&")]
        ok = True
        for p in parts:
            if p == "always()":
                continue
            m = re.fullmatch(r"(inputs|steps)\.([\w.-]+) (==|!=) '(.*)'", p)
            assert m, p
            left = values[m.group(2)] if m.group(1) == "inputs" else render("${{ steps." + m.group(2) + " }}")
            ok &= (left == m.group(4)) if m.group(3) == "==" else (left != m.group(4))
        return ok and ("always()" in expr or not failed)

    for step in doc["runs"]["steps"]:
        if not condition(step.get("if")):
            continue
        if "uses" in step or step.get("id") == "install":
            ran.append(step["name"])  # setup-python, install and uploads are GitHub's part
            continue
        out_file = tmp / f"out-{len(ran)}"
        out_file.write_text("")
        script = tmp / f"step-{len(ran)}.sh"
        script.write_text(step["run"])
        env = {
            **os.environ,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "RUNNER_TEMP": str(tmp),
            "GITHUB_OUTPUT": str(out_file),
            **{k: render(str(v)) for k, v in step.get("env", {}).items()},
        }
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)], env=env,
                              capture_output=True, text=True, timeout=300, cwd=tmp)
        ran.append(step["name"])
        outputs[step.get("id", step["name"])] = dict(
            line.split("=", 1) for line in out_file.read_text().splitlines() if "=" in line
        )
        outputs[step.get("id", step["name"])]["__rc"] = str(proc.returncode)
        failed = failed or proc.returncode != 0
    return outputs, ran


@pytest.mark.slow
def test_action_steps_gate_a_hostile_and_a_clean_dataset(tmp_path: Path) -> None:
    clean = make_tree(tmp_path / "clean")
    (tmp_path / "run1").mkdir()
    outputs, ran = _run_action({"path": str(clean), "label": "label"}, tmp_path / "run1")
    assert outputs["gate"]["exit-code"] == "0" and outputs["gate"]["__rc"] == "0"
    assert outputs["scan"]["code"] == "0" and outputs["check"]["code"] == "0"
    for key in ("scan", "check"):
        doc = json.loads(Path(outputs[key]["sarif"]).read_text())
        assert doc["version"] == "2.1.0"
    assert "Upload scan SARIF" in ran and "Upload check SARIF" in ran

    hostile = make_tree(tmp_path / "hostile")
    (hostile / "data" / "weights.zip").write_bytes(_zip_with("w.pkl", HOSTILE))
    (tmp_path / "run2").mkdir()
    outputs, ran = _run_action({"path": str(hostile), "check": "false"}, tmp_path / "run2")
    assert outputs["scan"]["code"] == "1"
    assert "check" not in outputs and "Upload check SARIF" not in ran
    assert "Upload scan SARIF" in ran  # uploaded although the gate failed
    results = json.loads(Path(outputs["scan"]["sarif"]).read_text())["runs"][0]["results"]
    assert any(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith("weights.zip") for r in results)
    assert outputs["gate"]["exit-code"] == "1" and outputs["gate"]["__rc"] == "1"
