"""``datagate scan`` in-process: exit codes, the JSON contract, member chains, skips, policies."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import tarfile
import textwrap
import zipfile
from pathlib import Path
from typing import Any

import pytest

from datagate.cli import main
from fixtures.gen import containers as gen
from fixtures.gen.common import Sample


def _zip(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for n, d in members:
            zf.writestr(n, d)
    return buf.getvalue()


def _tar_gz(members: list[tuple[str, bytes, int]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data, mode in members:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Sample]]:
    root = tmp_path_factory.mktemp("cli-containers")
    return root, gen.build(root)


@pytest.fixture
def hostile_tree(tmp_path: Path) -> Path:
    elf = Path("/bin/true").read_bytes()[:4096]
    inner = _tar_gz([("bin/helper", elf, 0o755), ("data/a.csv", b"a,b\n1,2\n", 0o644)])
    (tmp_path / "outer.zip").write_bytes(_zip([("inner.tar.gz", inner)]))
    (tmp_path / "train.csv").write_text("text,label\nhi,1\n")
    return tmp_path


def _json(capsys: pytest.CaptureFixture[str], args: list[str]) -> tuple[int, dict[str, Any]]:
    code = main(args)
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_json_contract_and_member_chain(
    hostile_tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, doc = _json(capsys, ["scan", str(hostile_tree), "--format", "json"])
    assert code == 1
    assert set(doc) >= {"tool", "target", "root_digest", "findings", "summary"}
    assert doc["tool"]["name"] == "datagate"
    assert str(doc["root_digest"]).startswith("sha256:")
    findings = doc["findings"]
    assert isinstance(findings, list) and findings
    for f in findings:
        assert set(f) >= {"path", "member", "rule", "category", "severity", "message", "evidence"}
    exe = [f for f in findings if f["category"] == "executable"]
    assert {(f["path"], f["member"]) for f in exe} == {("outer.zip", "inner.tar.gz/bin/helper")}
    summary = doc["summary"]
    assert summary["files"] == 2
    assert set(summary["findings"]) == {"critical", "high", "medium", "low", "info"}
    assert isinstance(summary["skipped"], list)


def test_benign_tree_passes_with_text_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.csv").write_text("a,b\n1,2\n")
    (tmp_path / "b.zip").write_bytes(_zip([("c.csv", b"x,y\n3,4\n")]))
    assert main(["scan", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip()


def test_skipped_entries_are_in_the_json(
    built: tuple[Path, list[Sample]], capsys: pytest.CaptureFixture[str]
) -> None:
    root, samples = built
    bomb = next(s for s in samples if s.name == "b12_zip_bomb_64mib")
    code, doc = _json(capsys, ["scan", str(bomb.path(root)), "-f", "json"])
    assert code == 1
    skipped = doc["summary"]["skipped"]
    assert skipped and skipped[0]["path"] == "b12_zip_bomb.zip" and skipped[0]["reason"]
    assert any(f["rule"].startswith("container.bomb.") for f in doc["findings"])


def test_fail_on_threshold(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "slip.zip").write_bytes(_zip([("../../escape_dg.txt", b"x")]))
    assert main(["scan", str(tmp_path), "--fail-on", "critical"]) == 0
    assert main(["scan", str(tmp_path), "--fail-on", "high"]) == 1
    capsys.readouterr()
    assert main(["scan", str(tmp_path), "--fail-on", "bogus"]) == 2
    assert "--fail-on" in capsys.readouterr().err


def test_missing_path_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", str(tmp_path / "nope")]) == 2
    assert "nope" in capsys.readouterr().err


def test_sarif_and_output_file(
    hostile_tree: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    out = tmp_path_factory.mktemp("out") / "scan.sarif"
    assert main(["scan", str(hostile_tree), "--format", "sarif", "--output", str(out)]) == 1
    doc = json.loads(out.read_text())
    assert doc["version"] == "2.1.0"
    assert doc["runs"][0]["results"]


def test_policy_waiver_marks_and_unblocks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    slip = _zip([("../../escape_dg.txt", b"x")])
    (data_dir / "slip.zip").write_bytes(slip)
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        textwrap.dedent(
            f"""\
            version: 1
            fail_on: high
            waivers:
              - path: slip.zip
                sha256: {hashlib.sha256(slip).hexdigest()}
                reason: reviewed, never extracted
            """
        )
    )
    code, doc = _json(capsys, ["scan", str(data_dir), "--policy", str(policy), "-f", "json"])
    assert code == 0
    assert all(f.get("waived") == "reviewed, never extracted" for f in doc["findings"])
    (data_dir / "slip.zip").write_bytes(slip + b"changed")
    assert main(["scan", str(data_dir), "--policy", str(policy)]) == 1


def test_every_container_fixture_verdict(
    built: tuple[Path, list[Sample]], capsys: pytest.CaptureFixture[str]
) -> None:
    root, samples = built
    order = ["info", "low", "medium", "high", "critical"]
    by_path: dict[str, list[dict[str, Any]]] = {}
    for sub in ("hostile/container", "benign/container"):
        code, doc = _json(capsys, ["scan", str(root / sub), "-f", "json"])
        assert code == (1 if sub.startswith("hostile") else 0)
        for f in doc["findings"]:
            by_path.setdefault(f"{sub}/{f['path']}", []).append(f)
    for s in samples:
        findings = by_path.get(s.relpath, [])
        top = max((order.index(f["severity"]) for f in findings), default=-1)
        if s.hostile:
            assert top >= order.index(s.min_severity), s.name
            if s.rule_prefix:
                assert any(f["rule"].startswith(s.rule_prefix) for f in findings), s.name
        else:
            assert top < order.index("high"), (s.name, findings)


_AUDIT_CHILD = textwrap.dedent(
    """\
    import sys
    import datagate.scan
    root = sys.argv[1]
    datagate.scan.scan(root)  # warm up: every lazy import happens now (imports raise "exec")
    # "compile" is not watched: ast.parse (static analysis of scripts) raises it without running code.
    bad = []
    def hook(event, args):
        if event in ("os.system", "subprocess.Popen", "os.posix_spawn", "os.spawn", "os.exec",
                     "pickle.find_class", "exec", "os.fork", "os.startfile"):
            bad.append(event)
    sys.addaudithook(hook)
    report = datagate.scan.scan(root)
    print(len(report.findings), sorted(set(bad)))
    sys.exit(1 if bad else 0)
    """
)


def test_hostile_containers_scan_without_running_anything(built: tuple[Path, list[Sample]]) -> None:
    root, _ = built
    proc = subprocess.run(
        [sys.executable, "-c", _AUDIT_CHILD, str(root / "hostile" / "container")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "DGPWNED" not in proc.stdout + proc.stderr


@pytest.mark.slow
def test_naive_loads_really_fire(built: tuple[Path, list[Sample]]) -> None:
    """Each hostile fixture with a naive loader runs its payload in a child process: it is real."""
    root, samples = built
    for s in samples:
        if s.naive_load is None:
            continue
        missing = [
            m
            for m in s.needs
            if subprocess.run([sys.executable, "-c", f"import {m}"], capture_output=True).returncode
        ]
        if missing:
            continue
        code = f"PATH = {str(s.path(root))!r}\n{s.naive_load}"
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
        )
        assert s.payload_marker and s.payload_marker in proc.stdout, (s.name, proc.stderr[-500:])


# --------------------------------------------------------------------------- start-up cost


_NO_PYDANTIC_CHILD = textwrap.dedent(
    """\
    import sys
    from datagate.cli import main
    code = main(["-q", "scan", sys.argv[1], "--format", "JSON", "--fail-on", "high",
                 "-o", sys.argv[2]])
    heavy = sorted(m for m in ("pydantic", "rich", "yaml", "numpy", "pandas", "pyarrow")
                   if m in sys.modules)
    print(code, heavy)
    """
)


def test_scan_command_does_not_import_pydantic_or_heavy_libraries(tmp_path: Path) -> None:
    """typer coerces options through pydantic (~0.2 s to import); the scan path must not."""
    (tmp_path / "a.csv").write_text("a,b\n1,2\n")
    proc = subprocess.run(
        [sys.executable, "-c", _NO_PYDANTIC_CHILD, str(tmp_path), str(tmp_path / "out.json")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["0", "[]"]
    assert json.loads((tmp_path / "out.json").read_text())["summary"]["files"] == 1


def _typer_params_and_ctx() -> tuple[list[Any], Any]:
    import typer.main
    from typer.core import _TyperParameter

    from datagate.cli import typer_app

    app = typer_app()

    group = typer.main.get_command(app)
    ctx = group.make_context("datagate", ["scan", "x"], resilient_parsing=True)
    params = []
    for name in ("scan", "check", "ingest", "diff", "hash"):
        command = group.get_command(ctx, name)  # type: ignore[attr-defined]  # a group
        params += [p for p in command.get_params(ctx) if isinstance(p, _TyperParameter)]
    return params, ctx


@pytest.mark.parametrize(
    "value",
    ["json", "JSON", "Sarif", "bogus", "", "data/x.csv", "-", "high", "a b", "../up"],
)
def test_lazy_option_coercion_matches_typer(value: str) -> None:
    """The pydantic-free coercion (datagate.cli.app) gives what typer's own gives, or defers."""
    import typer
    from typer._coercion import build_runtime_param

    app_module = sys.modules["datagate.cli.app"]
    params, ctx = _typer_params_and_ctx()
    handled = 0
    for param in params:
        desc = param.type_descriptor
        if desc.is_list or desc.annotation is bool:
            continue
        try:
            got = app_module._fast_coerce(desc, value, param, ctx)
        except typer.BadParameter as exc:
            got = ("error", exc.format_message())
        if got is app_module._NOT_HANDLED:
            continue
        handled += 1
        try:
            want = build_runtime_param(desc)._coerce_value(value, param=param, ctx=ctx)
        except typer.BadParameter as exc:
            want = ("error", exc.format_message())
        assert got == want, (param.name, value)
    assert handled  # every value is a valid str option at least


def test_only_the_command_run_is_built_and_all_stay_registered(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from datagate.cli import typer_app

    app = typer_app()

    before = [c.name for c in app.registered_commands]
    (tmp_path / "a.csv").write_text("a,b\n1,2\n")
    assert main(["-q", "scan", str(tmp_path), "-f", "json"]) == 0
    assert [c.name for c in app.registered_commands] == before
    capsys.readouterr()
    assert main(["--help"]) == 0
    listed = capsys.readouterr().out
    assert all(f"  {name} " in listed for name in before)
    assert main(["scna", str(tmp_path)]) == 2
    assert "Did you mean 'scan'" in capsys.readouterr().err
    assert main(["scan", "--help"]) == 0
    assert "Usage: datagate scan" in capsys.readouterr().out
