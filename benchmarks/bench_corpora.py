"""Score ``datagate scan`` on corpora we did not write (issue 15, "Done when").

Run from the repository root, after fetching the peers' repositories (a bare git snapshot or a
checkout works; nothing from them is copied into this repository)::

    .venv/bin/python benchmarks/bench_corpora.py \\
        --picklescan /path/to/mmaitre314/picklescan \\
        --fickling /path/to/trailofbits/fickling \\
        --modelscan /path/to/protectai/modelscan
    # any subset; --wheels (on by default) scores the test data of the installed
    # numpy, scipy, joblib and scikit-learn wheels; --no-wheels skips it

Corpora (built under ``--workdir``, default ``$TMPDIR/datagate-bench/corpora``):

* **picklescan**: every file of ``tests/data`` and ``tests/data2`` (109 files). The 14 benign
  ones are those picklescan's own tests expect clean (:data:`PICKLESCAN_BENIGN`); the other 95
  are malicious.
* **fickling**: every pickle its analysis tests hand to ``check_safety`` (``test_bypasses``,
  ``test_analysis``, ``test_crashes``, ``test_expansion_attack_analysis``,
  ``test_scanner_deactivation_analysis``, ``test_scan_api``), captured by a pytest plugin that
  wraps ``check_safety`` while fickling's own suite runs from the snapshot (fickling has no
  dependencies; nothing is installed). Each sample is labelled by fickling's own verdict:
  *payload* (LIKELY_UNSAFE or worse, and the bytes name a global somewhere, so the stream can
  import or call code), *robustness* (LIKELY_UNSAFE or worse but no global anywhere: malformed,
  cyclic, expansion and frame-only samples; reported with datagate's severity, not scored as
  payloads), *benign* (LIKELY_SAFE), *suspicious* (in between: reported, not scored).
* **modelscan**: the files its ``tests/test_modelscan.py`` fixtures write (pickle, dill, zip,
  numpy payloads from the ``Malicious*`` classes and ``malicious*_gen`` functions, the benign
  pickles, and the files under ``tests/data``). The test module is executed in a child process
  with absent heavy modules (torch, tensorflow, tf_keras, requests, aiohttp, modelscan) stubbed
  by placeholder classes, so ``requests.get`` still pickles as ``requests.get``; fixtures that
  need a real torch or TensorFlow model are reported as not built.
* **wheels**: files under a ``data`` folder inside the ``tests``/``test`` folders of the
  installed numpy, scipy, joblib and scikit-learn, code excluded (``.py``, ``.pyc``, ``.pyi``,
  ``.so``). All benign.

Scoring: datagate runs once per corpus (``datagate scan DIR --format json``). A malicious
sample is *caught* when its strongest finding is high or critical; a benign sample is *clean*
when it has none at high or above, and *quiet* when it has none at low or above.

Output: Markdown to stdout and ``benchmarks/RESULTS-corpora.md`` (``--results``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO, machine_facts, md_table  # noqa: E402

__all__ = ["main"]

DATAGATE = REPO / ".venv" / "bin" / "datagate"
PYTHON = REPO / ".venv" / "bin" / "python"
DEFAULT_WORKDIR = Path(tempfile.gettempdir()) / "datagate-bench" / "corpora"
SEV = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}

PICKLESCAN_BENIGN = {
    # picklescan's tests expect these clean (test_scanner.py: safe results, scan_err=False)
    "data/benign0_v0.pkl", "data/benign0_v3.pkl", "data/benign0_v4.pkl",
    "data/bad_pytorch.pt",  # PNG magic under a .pt name
    "data/pytorch_model.bin", "data/new_pytorch_model.bin",
    "data/not_a_pickle.bin",  # 'cmod\\n\\xf8\\n': a GLOBAL opcode with a non-UTF-8 name
    "data/benign_password_protected.zip",
    "data2/int_array.npy", "data2/int_arrays.npz", "data2/int_arrays_compressed.npz",
    "data2/object_array.npy", "data2/object_arrays.npz", "data2/object_arrays_compressed.npz",
}  # fmt: skip

FICKLING_TESTS = (
    "test/test_bypasses.py", "test/test_analysis.py", "test/test_crashes.py",
    "test/test_expansion_attack_analysis.py", "test/test_scanner_deactivation_analysis.py",
    "test/test_scan_api.py",
)  # fmt: skip

WHEEL_PACKAGES = ("numpy", "scipy", "joblib", "sklearn")
CODE_SUFFIXES = (".py", ".pyc", ".pyi", ".so")


def log(msg: str) -> None:
    """Print a progress line on stderr."""
    print(f"[corpora] {msg}", file=sys.stderr, flush=True)


# ---- getting the peers' files ---------------------------------------------------------------


def materialize(src: Path, paths: list[str], dest: Path) -> None:
    """Copy ``paths`` (folders or files) of the snapshot ``src`` into ``dest``.

    ``src`` is a checkout, or a git directory without a work tree (``git archive`` reads it)."""
    dest.mkdir(parents=True, exist_ok=True)
    if (src / ".git").exists() or not (src / "HEAD").is_file():
        for p in paths:
            s = src / p
            if s.is_dir():
                shutil.copytree(s, dest / p, dirs_exist_ok=True)
            elif s.is_file():
                (dest / p).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(s, dest / p)
        return
    listing = subprocess.run(
        ["git", f"--git-dir={src}", "ls-tree", "-r", "-z", "HEAD", "--", *paths],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    for entry in listing.split(b"\0"):
        if not entry:
            continue
        meta, path = entry.split(b"\t", 1)
        _mode, kind, sha = meta.split()
        if kind != b"blob":
            continue
        blob = subprocess.run(
            ["git", f"--git-dir={src}", "cat-file", "blob", sha.decode()], capture_output=True
        )
        if blob.returncode != 0:  # large files a snapshot may list but not hold
            log(f"  {path.decode()}: not in the snapshot; skipped")
            continue
        out = dest / path.decode()
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(blob.stdout)


def commit_of(src: Path) -> str:
    """Return the snapshot's HEAD commit (short), or '?'."""
    gitdir = ["--git-dir", str(src)] if (src / "HEAD").is_file() else ["-C", str(src)]
    r = subprocess.run(
        ["git", *gitdir, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    return r.stdout.strip() or "?"


# ---- corpus builders -------------------------------------------------------------------------


def build_picklescan(src: Path, work: Path) -> dict[str, str]:
    """Return {relpath: 'malicious'|'benign'} for picklescan's test data under work/picklescan."""
    root = work / "picklescan"
    shutil.rmtree(root, ignore_errors=True)
    tmp = work / "picklescan-src"
    shutil.rmtree(tmp, ignore_errors=True)
    materialize(src, ["tests/data", "tests/data2"], tmp)
    shutil.move(str(tmp / "tests"), root)
    shutil.rmtree(tmp, ignore_errors=True)
    labels = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            rel = p.relative_to(root).as_posix()
            labels[rel] = "benign" if rel in PICKLESCAN_BENIGN else "malicious"
    return labels


_FICKLING_PLUGIN = '''
"""pytest plugin: write every pickle fickling's check_safety sees, with fickling's verdict."""
import hashlib, json, os, sys
import fickling.analysis as _an

_OUT = os.environ["DG_CAPTURE_DIR"]
_orig = _an.check_safety
_current = {"test": "?"}
_seen = set()

def _capture(pickled, *args, **kwargs):
    result = _orig(pickled, *args, **kwargs)
    try:
        # verbatim opcode bytes: a loaded pickle comes back exactly as its test wrote it
        # (re-framing would hide the FRAME-divergence samples' trick)
        data = pickled.dumps(reframe=False)
    except TypeError:
        data = pickled.dumps()
    except Exception:  # noqa: BLE001
        return result
    digest = hashlib.sha256(data).hexdigest()[:16]
    if digest not in _seen:
        _seen.add(digest)
        sev = getattr(result, "severity", None)
        name = getattr(sev, "name", str(sev))
        level = getattr(sev, "severity", None)
        if isinstance(level, tuple):
            level = level[0]
        with open(os.path.join(_OUT, digest + ".pkl"), "wb") as f:
            f.write(data)
        with open(os.path.join(_OUT, "index.jsonl"), "a") as f:
            f.write(json.dumps({"file": digest + ".pkl", "test": _current["test"],
                                "severity": name, "level": level}) + "\\n")
    return result

def pytest_configure(config):
    for mod in list(sys.modules.values()):
        if getattr(mod, "__name__", "").startswith("fickling") and getattr(mod, "check_safety", None) is _orig:
            mod.check_safety = _capture

def pytest_runtest_setup(item):
    _current["test"] = item.nodeid
'''


def _names_globals(data: bytes) -> bool:
    """Return True when ``data`` contains a GLOBAL/INST/STACK_GLOBAL/EXT opcode anywhere
    (byte-level, so opcodes hidden behind a FRAME divergence or a parse error count too)."""
    import pickletools

    if b"\x93" in data or b"\x82" in data or b"\x83" in data or b"\x84" in data:
        # confirm with a lenient opcode walk where it parses
        try:
            if any(op.name in ("STACK_GLOBAL", "EXT1", "EXT2", "EXT4")
                   for op, _a, _p in pickletools.genops(data)):  # fmt: skip
                return True
        except Exception:  # noqa: BLE001, S110 - malformed: fall through to the byte search
            pass
    import re

    return re.search(rb"[ci][A-Za-z_][\w.]*\n[A-Za-z_][\w.]*\n", data) is not None


def build_fickling(src: Path, work: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Run fickling's analysis tests with a capture plugin; return (labels, notes by file)."""
    tree = work / "fickling-src"
    shutil.rmtree(tree, ignore_errors=True)
    materialize(src, ["fickling", "test"], tree)
    out = work / "fickling"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    (tree / "dg_capture.py").write_text(_FICKLING_PLUGIN)
    env = dict(os.environ, DG_CAPTURE_DIR=str(out), PYTHONPATH=str(tree))
    tests = [t for t in FICKLING_TESTS if (tree / t).exists()]
    r = subprocess.run(
        [str(PYTHON), "-m", "pytest", "-q", "-p", "dg_capture", "-p", "no:cacheprovider",
         "-p", "no:randomly", "-o", "addopts=", "-o", "filterwarnings=", *tests],
        cwd=tree, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    log(f"fickling tests: exit {r.returncode}, {r.stdout.strip().splitlines()[-1:]}")
    labels: dict[str, str] = {}
    notes: dict[str, str] = {}
    index = out / "index.jsonl"
    for line in index.read_text().splitlines() if index.exists() else []:
        rec = json.loads(line)
        level = rec.get("level")
        name = str(rec.get("severity"))
        if name == "LIKELY_SAFE":
            label = "benign"
        elif name in ("LIKELY_UNSAFE", "LIKELY_OVERTLY_MALICIOUS", "OVERTLY_MALICIOUS") or (
            isinstance(level, int) and level >= 3
        ):
            label = "malicious"
        else:
            label = "suspicious"
        if label == "malicious" and not _names_globals((out / rec["file"]).read_bytes()):
            label = "robustness"  # malformed, cyclic, expansion or frame-only: no code named
        labels[rec["file"]] = label
        notes[rec["file"]] = f"{rec['test'].split('::')[-1]} (fickling: {name})"
    index.unlink(missing_ok=True)
    return labels, notes


_MODELSCAN_BUILDER = r'''
"""Execute modelscan's test module with stubs and call the fixtures that need no real model."""
import importlib.abc, importlib.machinery, os, shutil, sys, types
from pathlib import Path

OUT = Path(sys.argv[1]); TESTS = Path(sys.argv[2])
STUB_ROOTS = {"torch", "torchvision", "tensorflow", "tf_keras", "keras", "requests", "aiohttp",
              "modelscan", "pytest", "dill"}
missing = []

class _Meta(type):
    def __getattr__(cls, name):
        if name.startswith("__"):
            raise AttributeError(name)
        sub = _Meta(name, (_Stub,), {"__module__": cls.__module__,
                                      "__qualname__": f"{cls.__qualname__}.{name}"})
        setattr(cls, name, sub)
        return sub

class _Stub(metaclass=_Meta):
    def __init__(self, *a, **k): pass
    def __call__(self, *a, **k): return a[0] if a else None
    def __getattr__(self, name): return _Stub()

class _Mod(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        if self.__name__ == "pytest" and name == "fixture":
            return lambda *a, **k: (a[0] if a and callable(a[0]) else (lambda f: f))
        cls = _Meta(name, (_Stub,), {"__module__": self.__name__, "__qualname__": name})
        setattr(self, name, cls)
        return cls

class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        root = name.split(".")[0]
        if root not in STUB_ROOTS:
            return None
        if root not in ("pytest", "modelscan"):
            real = importlib.machinery.PathFinder.find_spec(root)
            if real is not None:
                return None
        if root not in missing:
            missing.append(root)
        return importlib.machinery.ModuleSpec(name, self, is_package=True)
    def create_module(self, spec):
        m = _Mod(spec.name); m.__path__ = []; return m
    def exec_module(self, module): pass

sys.meta_path.insert(0, _Finder())
sys.path.insert(0, str(TESTS))
src = (TESTS / "test_modelscan.py").read_text()
ns = {"__name__": "test_modelscan", "__file__": str(TESTS / "test_modelscan.py")}
mod = types.ModuleType("test_modelscan"); mod.__dict__.update(ns); sys.modules["test_modelscan"] = mod
exec(compile(src, str(TESTS / "test_modelscan.py"), "exec"), mod.__dict__)

class _Factory:
    def mktemp(self, name):
        p = OUT / name; p.mkdir(parents=True, exist_ok=True); return p

built, failed = [], []
for fixture in ("file_path", "zip_file_path", "numpy_file_path", "pytorch_file_path",
                "tensorflow_file_path", "keras_file_path"):
    fn = mod.__dict__.get(fixture)
    try:
        fn(_Factory()) if fixture != "keras_file_path" else fn(_Factory(), ["h5", "keras", "pb"])
        built.append(fixture)
    except Exception as exc:
        failed.append(f"{fixture}: {type(exc).__name__}: {str(exc)[:120]}")
        shutil.rmtree(OUT / fixture.replace("_file_path", ""), ignore_errors=True)
for p in (TESTS / "data").iterdir():
    shutil.copy(p, OUT / ("tests-data-" + p.name))
print("BUILT", built); print("FAILED", failed); print("STUBBED", missing)
'''


def build_modelscan(src: Path, work: Path) -> tuple[dict[str, str], list[str]]:
    """Build modelscan's fixture files; return (labels, notes about what was not built)."""
    tree = work / "modelscan-src"
    shutil.rmtree(tree, ignore_errors=True)
    materialize(src, ["tests"], tree)
    out = work / "modelscan"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    script = work / "modelscan_builder.py"
    script.write_text(_MODELSCAN_BUILDER)
    r = subprocess.run(
        [str(PYTHON), str(script), str(out), str(tree / "tests")],
        capture_output=True, text=True, timeout=600, cwd=work,
    )  # fmt: skip
    notes = [ln for ln in r.stdout.splitlines() if ln.startswith(("BUILT", "FAILED", "STUBBED"))]
    if r.returncode != 0:
        notes.append(f"builder exit {r.returncode}: {r.stderr.strip().splitlines()[-1:]}")
    labels = {}
    for p in sorted(out.rglob("*")):
        if p.is_file():
            rel = p.relative_to(out).as_posix()
            name = p.name.lower()
            benign = any(k in name for k in ("benign", "safe")) and "unsafe" not in name
            benign = benign or name in (
                "password_protected.zip",
                "tests-data-password_protected.zip",
                "bad_pytorch.pt",
            )
            labels[rel] = "benign" if benign else "malicious"
    return labels, notes


def build_wheels(work: Path) -> dict[str, str]:
    """Copy the installed wheels' test data (code excluded); every file is benign."""
    import importlib.util

    root = work / "wheels"
    shutil.rmtree(root, ignore_errors=True)
    labels = {}
    for pkg in WHEEL_PACKAGES:
        spec = importlib.util.find_spec(pkg)
        if spec is None or spec.origin is None:
            log(f"wheels: {pkg} is not installed; skipped")
            continue
        base = Path(spec.origin).parent
        for p in sorted(base.rglob("*")):
            parts = p.relative_to(base).parts
            if not p.is_file() or p.name.endswith(CODE_SUFFIXES) or "data" not in parts[:-1]:
                continue
            if not ({"tests", "test"} & set(parts[:-1])):
                continue
            rel = Path(pkg, *parts)
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(p, root / rel)
            labels[rel.as_posix()] = "benign"
    return labels


# ---- scoring ---------------------------------------------------------------------------------


def scan(root: Path) -> tuple[dict[str, list[dict[str, Any]]], float]:
    """Run ``datagate scan root --format json``; return findings by path and the wall time."""
    t0 = time.perf_counter()
    r = subprocess.run(
        [str(DATAGATE), "scan", str(root), "--format", "json"],
        capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    if r.returncode not in (0, 1):
        raise SystemExit(f"datagate scan {root} failed (exit {r.returncode}): {r.stderr[-500:]}")
    report = json.loads(r.stdout)
    by: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for f in report["findings"]:
        by[f["path"]].append(f)
    return by, wall


def worst(findings: list[dict[str, Any]]) -> str | None:
    """Return the strongest severity name, or None."""
    if not findings:
        return None
    return str(max((f["severity"] for f in findings), key=SEV.__getitem__))


def score(
    name: str, labels: dict[str, str], root: Path, notes: dict[str, str] | None = None
) -> tuple[list[list[object]], list[str]]:
    """Return (summary rows, detail lines) for one corpus."""
    by, wall = scan(root)
    counts: Counter[str] = Counter()
    detail: list[str] = []
    rules: Counter[str] = Counter()
    for rel, label in sorted(labels.items()):
        fs = by.get(rel, [])
        w = worst(fs)
        top = sorted({f["rule"] for f in fs if SEV[f["severity"]] == SEV.get(w or "", -1)})
        note = f" — {notes[rel]}" if notes and rel in notes else ""
        counts[label] += 1
        if label == "malicious":
            ok = w is not None and SEV[w] >= SEV["high"]
            counts["caught"] += ok
            if not ok:
                detail.append(f"- MISSED `{rel}`: {w or 'no finding'} {top}{note}")
        elif label == "benign":
            loud = w is not None and SEV[w] >= SEV["high"]
            counts["benign high+"] += loud
            any_low = any(SEV[f["severity"]] >= SEV["low"] for f in fs)
            counts["benign any"] += any_low
            for f in fs:
                if SEV[f["severity"]] >= SEV["low"]:
                    rules[f["rule"]] += 1
            if loud:
                detail.append(f"- FALSE ALARM `{rel}`: {w} {top}{note}")
        elif label == "robustness":
            counts["robustness flagged"] += w is not None and SEV[w] >= SEV["medium"]
            detail.append(f"- robustness `{rel}`: {w or 'no finding'} {top}{note}")
        else:
            counts["suspicious flagged"] += w is not None and SEV[w] >= SEV["medium"]
    row: list[object] = [
        name,
        f"{counts['caught']}/{counts['malicious']}",
        f"{counts['benign'] - counts['benign high+']}/{counts['benign']}",
        f"{counts['benign any']}/{counts['benign']}"
        + (f" ({100 * counts['benign any'] / counts['benign']:.1f} %)" if counts["benign"] else ""),
        f"{counts['suspicious flagged']}/{counts['suspicious']}" if counts["suspicious"] else "-",
        f"{counts['robustness flagged']}/{counts['robustness']}" if counts["robustness"] else "-",
        f"{wall:.2f} s",
    ]
    if rules:
        detail.append(
            "- findings at low or above on benign files, by rule: "
            + ", ".join(f"`{r}` {n}" for r, n in rules.most_common())
        )
    return [row], detail


def main(argv: list[str] | None = None) -> int:
    """Build the corpora, score datagate, print and write the Markdown report."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--picklescan", type=Path, help="snapshot of mmaitre314/picklescan")
    ap.add_argument("--fickling", type=Path, help="snapshot of trailofbits/fickling")
    ap.add_argument("--modelscan", type=Path, help="snapshot of protectai/modelscan")
    ap.add_argument("--no-wheels", action="store_true", help="skip the wheels' test data")
    ap.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    ap.add_argument("--results", type=Path, default=REPO / "benchmarks" / "RESULTS-corpora.md")
    args = ap.parse_args(argv)
    work: Path = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True).stdout.strip()  # fmt: skip
    rows: list[list[object]] = []
    sections: list[str] = []
    sources: list[str] = []
    if args.picklescan:
        log("picklescan corpus")
        labels = build_picklescan(args.picklescan, work)
        r, d = score("picklescan tests/data + data2", labels, work / "picklescan")
        rows += r
        sections.append("### picklescan\n\n" + ("\n".join(d) or "- every sample as expected"))
        sources.append(f"mmaitre314/picklescan @ {commit_of(args.picklescan)}")
    if args.fickling:
        log("fickling corpus")
        labels, notes = build_fickling(args.fickling, work)
        r, d = score("fickling analysis tests", labels, work / "fickling", notes)
        rows += r
        sections.append("### fickling\n\n" + ("\n".join(d) or "- every sample as expected"))
        sources.append(f"trailofbits/fickling @ {commit_of(args.fickling)}")
    if args.modelscan:
        log("modelscan corpus")
        labels, notes_ms = build_modelscan(args.modelscan, work)
        r, d = score("modelscan test fixtures", labels, work / "modelscan")
        rows += r
        body = "\n".join(d) or "- every sample as expected"
        body += "\n\nBuilder: " + "; ".join(f"`{n}`" for n in notes_ms)
        sections.append("### modelscan\n\n" + body)
        sources.append(f"protectai/modelscan @ {commit_of(args.modelscan)}")
    if not args.no_wheels:
        log("wheels corpus")
        labels = build_wheels(work)
        r, d = score("numpy/scipy/joblib/scikit-learn wheels' test data", labels, work / "wheels")
        rows += r
        sections.append("### wheels\n\n" + ("\n".join(d) or "- every file quiet"))
        import importlib.metadata as md

        vers = []
        for dist in ("numpy", "scipy", "joblib", "scikit-learn"):
            try:
                vers.append(f"{dist} {md.version(dist)}")
            except md.PackageNotFoundError:
                pass
        sources.append("wheels: " + ", ".join(vers))
    facts = machine_facts()
    text = textwrap.dedent(f"""\
        # datagate scan on foreign corpora (issue 15)

        `benchmarks/bench_corpora.py` at `{head}`; {facts.get("CPU", "")}, load {facts.get("load average (1/5/15 min) at report time", "?")}; Python {sys.version.split()[0]}.
        Sources: {"; ".join(sources)}.

        Caught: a malicious sample's strongest finding is high or critical. Clean: a benign sample
        has nothing at high or above. Any finding: low or above (info findings are not counted).

        """)
    text += md_table(
        ["corpus", "malicious caught", "benign clean (no high+)", "benign with any finding",
         "suspicious flagged (medium+)", "robustness samples flagged (medium+)",
         "datagate wall"],
        rows,
    )  # fmt: skip
    text += "\n\n" + "\n\n".join(sections) + "\n"
    print(text)
    args.results.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
