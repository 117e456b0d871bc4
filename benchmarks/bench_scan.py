"""Compare ``datagate scan`` with picklescan, modelscan and fickling on one fixture corpus.

Run from the repository root::

    .venv/bin/python benchmarks/bench_scan.py            # full timing inputs (~1.1 GB of parquet)
    .venv/bin/python benchmarks/bench_scan.py --quick    # 10x smaller timing inputs

Inputs, caches and the peers' virtual environment go under ``--workdir`` (default
``$TMPDIR/datagate-bench/scan``, outside the repository: setuptools' editable rebuild walks
everything inside it). Delete that folder when done; the full run leaves about 1.2 GB there.

The peers are installed into a separate virtual environment (``<workdir>/peers-venv``) so the
project's environment stays clean: picklescan 1.0.5, modelscan 0.8.8 and fickling 0.1.12 (the
versions THREATS.md's "Ours" rows were taken with), plus py7zr (picklescan needs it for 7z).

Detection: the corpus is ``python -m fixtures.generate`` (every hostile and benign sample the
fixture families define). Each peer runs once per file, and also in directory mode where it has
one (picklescan ``-p DIR``, modelscan ``scan -p DIR``; fickling has none), because directory mode
picks files differently. datagate runs once over the whole corpus, as a user would. For every
sample and tool the outcome is one of:

  caught       hostile, and the tool flagged it (datagate: a finding at high or above)
  warn         the tool only hinted (picklescan "suspicious", datagate medium/low)
  missed       hostile, and the tool reported it clean, skipped it, or never reached it
  error        the tool failed on it without flagging it
  ok           benign and quiet
  FALSE ALARM  benign, and the tool flagged it

Timing targets (issue 3): 1,000 small benign pickles, datagate vs ``picklescan -p DIR``; a 100 MB
float-array pickle scanned in under 1 s; ``datagate scan`` at >= 80 % of ``datagate hash
--no-cache`` throughput on a folder of large parquet files.

Output: Markdown to stdout and benchmarks/RESULTS-scan.md (``--results``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO, Run, fmt_bytes, fmt_s, machine_facts, md_table, median_run, run, warm  # noqa: E402

__all__ = ["main"]

VENV_BIN = REPO / ".venv" / "bin"
DATAGATE = VENV_BIN / "datagate"
PYTHON = VENV_BIN / "python"
DEFAULT_WORKDIR = Path(tempfile.gettempdir()) / "datagate-bench" / "scan"
"""Where inputs, the peers venv and caches go: outside the repository (see ``--workdir``)."""
PEER_PINS = {"picklescan": "1.0.5", "modelscan": "0.8.8", "fickling": "0.1.12"}
PEER_EXTRAS = ["py7zr", "numpy", "typing_extensions"]
SEV_ORDER = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}

CAUGHT, WARN, MISSED, ERROR, OK, FALSE = "caught", "warn", "missed", "error", "ok", "FALSE ALARM"


@dataclass(frozen=True)
class SampleInfo:
    """What the benchmark needs to know about one fixture sample."""

    name: str
    relpath: str
    threat: str
    hostile: bool
    min_severity: str
    family: str


@dataclass(frozen=True)
class Outcome:
    """One tool's verdict on one sample."""

    status: str
    detail: str = ""


def log(msg: str) -> None:
    """Print a progress line on stderr."""
    print(f"[bench_scan {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- peers venv


def ensure_peers(work: Path) -> tuple[Path, dict[str, str]]:
    """Create the peers venv if needed; return its bin dir and the installed versions."""
    venv = work / "peers-venv"
    bindir = venv / "bin"
    if not (bindir / "python").exists():
        log(f"creating {venv}")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    have = _versions(bindir)
    if any(have.get(k) is None for k in PEER_PINS):
        pins = [f"{k}=={v}" for k, v in PEER_PINS.items()]
        log(f"installing {' '.join(pins)} into {venv}")
        r = subprocess.run([str(bindir / "pip"), "install", "-q", *pins, *PEER_EXTRAS],
                           capture_output=True, text=True, check=False)
        if r.returncode != 0:
            log("pinned install failed; installing the latest versions instead")
            subprocess.run([str(bindir / "pip"), "install", "-q", *PEER_PINS, *PEER_EXTRAS], check=True)
        have = _versions(bindir)
    return bindir, {k: v or "not installed" for k, v in have.items()}


def _versions(bindir: Path) -> dict[str, str | None]:
    if not (bindir / "python").exists():
        return dict.fromkeys(PEER_PINS)
    code = (f"import importlib.metadata as m, json\nout={{}}\nfor n in {list(PEER_PINS)!r}:\n"
            "    try: out[n]=m.version(n)\n    except Exception: out[n]=None\nprint(json.dumps(out))")
    r = subprocess.run([str(bindir / "python"), "-c", code], capture_output=True, text=True, check=False)
    try:
        found: dict[str, str | None] = json.loads(r.stdout)
    except json.JSONDecodeError:
        return dict.fromkeys(PEER_PINS)
    return found


# ---------------------------------------------------------------- corpus


def build_corpus(dest: Path) -> list[SampleInfo]:
    """Generate the fixture corpus into ``dest`` (fresh) and return its samples."""
    shutil.rmtree(dest, ignore_errors=True)
    code = textwrap.dedent(
        """
        import json, sys
        from pathlib import Path
        from fixtures.generate import build_all
        out = []
        for fam, samples in build_all(Path(sys.argv[1])).items():
            if not isinstance(samples, (list, tuple)):
                continue  # sample/quality families return paths, not Sample records
            for s in samples:
                if hasattr(s, "relpath") and hasattr(s, "hostile"):
                    out.append({"name": s.name, "relpath": s.relpath, "threat": s.threat,
                                "hostile": s.hostile, "min_severity": s.min_severity, "family": fam})
        print(json.dumps(out))
        """
    )
    r = subprocess.run([str(PYTHON), "-c", code, str(dest)], cwd=REPO, capture_output=True, text=True,
                       check=False)
    if r.returncode != 0:
        raise SystemExit(f"fixture generation failed:\n{r.stderr[-3000:]}")
    rows = json.loads(r.stdout.strip().splitlines()[-1])
    seen: set[str] = set()
    samples = []
    for d in rows:
        if d["relpath"] in seen:
            continue
        seen.add(d["relpath"])
        samples.append(SampleInfo(**d))
    # Every other regular file the generator wrote (the sample dataset, the quality cases) is
    # ordinary data: benign, and a false-alarm check for every tool.
    for dirpath, _, files in os.walk(dest):
        for f in sorted(files):
            full = Path(dirpath) / f
            rel = full.relative_to(dest).as_posix()
            if rel not in seen and full.is_file() and not full.is_symlink():
                seen.add(rel)
                samples.append(SampleInfo(f"data:{rel}", rel, "benign data (sample/quality fixtures)",
                                          False, "high", rel.split("/", 1)[0]))
    return samples


def _threat_key(threat: str) -> tuple[int, int, str]:
    m = re.match(r"B(\d+)", threat)
    if m:
        return (0, int(m.group(1)), threat)
    return (1 if threat != "benign" else 2, 0, threat)


# ---------------------------------------------------------------- peer runners


_PS_FOUND = re.compile(r"^(?P<path>.+?): dangerous import '(?P<what>[^']+)' FOUND$")
_PS_ERR = re.compile(r"^ERROR: parsing pickle in (?P<path>.+?): (?P<msg>.*)$")


def _ps_summary(text: str) -> dict[str, int]:
    out = {}
    for key in ("Scanned files", "Infected files", "Suspicious globals", "Dangerous globals"):
        m = re.search(rf"^{key}: (\d+)", text, re.M)
        out[key] = int(m.group(1)) if m else -1
    return out


def picklescan_file(bindir: Path, path: Path) -> Outcome:
    """Run ``picklescan -p FILE`` and classify it."""
    r = run([str(bindir / "picklescan"), "-p", str(path)], timeout=300)
    text = r.stdout + r.stderr
    s = _ps_summary(text)
    found = [m.group("what") for m in map(_PS_FOUND.match, text.splitlines()) if m]
    if "Unhandled exception" in text or "Traceback" in text:
        tail = [ln for ln in text.splitlines() if ln.strip()][-1][:120]
        if found:
            return Outcome(CAUGHT, "; ".join(sorted(set(found)))[:120] + f" (then crashed: {tail})")
        return Outcome(ERROR, f"crashed, exit {r.rc}: {tail}")
    if found or s["Infected files"] > 0 or s["Dangerous globals"] > 0:
        return Outcome(CAUGHT, "; ".join(sorted(set(found)))[:120] or "infected")
    if s["Suspicious globals"] > 0:
        return Outcome(WARN, f"{s['Suspicious globals']} suspicious globals (exit {r.rc})")
    errs = [m.group("msg") for m in map(_PS_ERR.match, text.splitlines()) if m]
    if r.rc not in (0, 1) or errs:
        return Outcome(ERROR, f"exit {r.rc}: {(errs or [text.strip()[-100:]])[0][:100]}")
    if s["Scanned files"] == 0:
        return Outcome(MISSED, "not scanned (0 files)")
    return Outcome(MISSED, "clean")


def modelscan_file(bindir: Path, path: Path, tmp: Path) -> tuple[dict[str, Any] | None, Run]:
    """Run ``modelscan scan -p PATH -r json``; return the parsed report (None if none) and the run."""
    out = tmp / f"ms-{os.getpid()}-{time.monotonic_ns()}.json"
    r = run([str(bindir / "modelscan"), "scan", "-p", str(path), "-r", "json", "-o", str(out)],
            cwd=tmp, timeout=600)
    try:
        report = json.loads(out.read_text())
    except (OSError, json.JSONDecodeError):
        report = None
    out.unlink(missing_ok=True)
    return report, r


def _ms_tail(r: Run) -> str:
    lines = [ln for ln in (r.stdout + r.stderr).splitlines() if ln.strip()]
    return (lines[-1] if lines else f"exit {r.rc}")[:120]


def modelscan_outcomes(report: dict[str, Any] | None, r: Run, rels: list[str], prefix: str) -> dict[str, Outcome]:
    """Attribute a modelscan report (sources relative to the scanned folder) to samples."""
    if report is None:
        return {rel: Outcome(ERROR, f"no report, exit {r.rc}: {_ms_tail(r)}") for rel in rels}
    issues: dict[str, list[str]] = defaultdict(list)
    errors: dict[str, list[str]] = defaultdict(list)
    skipped: dict[str, str] = {}

    def owner(source: str) -> str | None:
        src = source.replace(os.sep, "/")
        for cand in (src, src.split(":", 1)[0]):
            full = f"{prefix}{cand}" if prefix else cand
            if full in rel_set:
                return full
        return None

    rel_set = set(rels)
    for it in report.get("issues", []):
        o = owner(str(it.get("source", "")))
        if o:
            issues[o].append(f"{it.get('module')}.{it.get('operator')} {it.get('severity')}")
    for it in report.get("errors", []):
        o = owner(str(it.get("source", "")))
        if o:
            errors[o].append(f"{it.get('category')}: {it.get('description')}")
    sk = report.get("summary", {}).get("skipped", {}) or {}
    for it in sk.get("skipped_files", []) or []:
        if isinstance(it, dict):
            o = owner(str(it.get("source", "")))
            if o:
                skipped[o] = f"skipped: {it.get('category')}: {it.get('description')}"
    scanned = {owner(str(s)) for s in report.get("summary", {}).get("scanned", {}).get("scanned_files", []) or []}
    out = {}
    for rel in rels:
        if issues.get(rel):
            out[rel] = Outcome(CAUGHT, "; ".join(sorted(set(issues[rel])))[:120])
        elif errors.get(rel):
            out[rel] = Outcome(ERROR, errors[rel][0][:120])
        elif rel in skipped:
            out[rel] = Outcome(MISSED, skipped[rel][:120])
        elif rel in scanned:
            out[rel] = Outcome(MISSED, "clean")
        else:
            out[rel] = Outcome(MISSED, "not scanned")
    return out


def fickling_file(bindir: Path, path: Path, tmp: Path) -> Outcome:
    """Run ``fickling --check-safety FILE`` and classify it (exit 0 safe, 1 unsafe, else error)."""
    out = tmp / f"fk-{os.getpid()}-{time.monotonic_ns()}.json"
    r = run([str(bindir / "fickling"), "--check-safety", str(path), "--json-output", str(out)],
            cwd=tmp, timeout=300)
    try:
        sev = json.loads(out.read_text()).get("severity", "?")
    except (OSError, json.JSONDecodeError):
        sev = None
    out.unlink(missing_ok=True)
    if r.rc == 0:
        return Outcome(MISSED, f"exit 0 ({sev or 'LIKELY_SAFE'})")
    if r.rc == 1 and sev:
        return Outcome(CAUGHT, str(sev))
    text = (r.stdout + r.stderr).strip().splitlines()
    first = next((ln for ln in text if ln.strip()), f"exit {r.rc}")
    return Outcome(ERROR, f"exit {r.rc}: {first[:110]}")


# ---------------------------------------------------------------- datagate


def datagate_scan(root: Path, env: dict[str, str]) -> tuple[dict[str, Any] | None, Run]:
    """Run ``datagate scan ROOT --format json``; return the parsed report (None if none) and the run."""
    r = run([str(DATAGATE), "-q", "scan", str(root), "--format", "json"], env=env, timeout=1800)
    try:
        return json.loads(r.stdout), r
    except json.JSONDecodeError:
        return None, r


def datagate_outcomes(report: dict[str, Any] | None, r: Run, samples: list[SampleInfo],
                      prefix: str = "") -> tuple[dict[str, Outcome], dict[str, list[dict[str, Any]]]]:
    """Classify datagate's findings per sample.

    A hostile sample is caught when the strongest finding on it reaches the sample's own
    ``min_severity`` or high (the default gate), whichever is lower; a benign one is a false
    alarm at high or above.
    """
    by_path: dict[str, list[dict[str, Any]]] = defaultdict(list)
    skips: dict[str, list[str]] = defaultdict(list)
    if report is None:
        tail = (r.stderr.strip().splitlines() or [f"exit {r.rc}"])[-1][:120]
        return {s.relpath: Outcome(ERROR, f"no report, exit {r.rc}: {tail}") for s in samples}, by_path
    for f in report.get("findings", []):
        by_path[prefix + f["path"]].append(f)
    for sk in report.get("summary", {}).get("skipped", []):
        skips[prefix + sk["path"]].append(sk.get("reason", ""))
    out = {}
    for s in samples:
        fs = sorted(by_path.get(s.relpath, []), key=lambda f: -SEV_ORDER.get(f["severity"], 0))
        top = fs[0] if fs else None
        rank = SEV_ORDER.get(top["severity"], 0) if top else -1
        what = f"{top['severity']} {top['rule']}" if top else ""
        if s.hostile:
            want = SEV_ORDER.get(s.min_severity, 3)
            if rank >= min(want, SEV_ORDER["high"]):
                if rank < want:
                    note = f" (below the sample's expected {s.min_severity})"
                elif rank < SEV_ORDER["high"]:
                    note = f" (the fixture expects {s.min_severity}; below the default gate, high)"
                else:
                    note = ""
                out[s.relpath] = Outcome(CAUGHT, what + note)
            elif top:
                out[s.relpath] = Outcome(WARN, what)
            elif skips.get(s.relpath):
                out[s.relpath] = Outcome(MISSED, "skipped: " + skips[s.relpath][0][:100])
            else:
                out[s.relpath] = Outcome(MISSED, "no finding")
        else:
            if rank >= SEV_ORDER["high"]:
                out[s.relpath] = Outcome(FALSE, what)
            elif top and rank >= SEV_ORDER["medium"]:
                out[s.relpath] = Outcome(WARN, what)
            else:
                out[s.relpath] = Outcome(OK, what)
    return out, by_path


# ---------------------------------------------------------------- detection comparison


def benign_status(o: Outcome) -> Outcome:
    """Map a peer's hostile-style verdict onto a benign sample."""
    if o.status == CAUGHT:
        return Outcome(FALSE, o.detail)
    if o.status == MISSED:
        return Outcome(OK, o.detail)
    return o


def detection(args: argparse.Namespace, work: Path, bindir: Path, env: dict[str, str],
              versions: dict[str, str]) -> dict[str, Any]:
    """Run every tool over the corpus and return outcomes, timings and notes."""
    corpus = work / "corpus"
    log(f"generating the fixture corpus into {corpus}")
    samples = build_corpus(corpus)
    log(f"{len(samples)} samples ({sum(s.hostile for s in samples)} hostile)")
    tmp = Path(tempfile.mkdtemp(prefix="bench-scan-", dir=work))
    results: dict[str, dict[str, Outcome]] = {}
    walls: dict[str, float] = {}
    notes: list[str] = []

    def fix(o: Outcome, s: SampleInfo) -> Outcome:
        return o if s.hostile else benign_status(o)

    # datagate, whole corpus (as a user runs it)
    log("datagate scan over the corpus")
    dg_report, dg_run = datagate_scan(corpus, env)
    dg_out, dg_findings = datagate_outcomes(dg_report, dg_run, samples)
    results["datagate (dir)"] = dg_out
    walls["datagate (dir)"] = dg_run.wall
    notes.append(f"datagate scan over the corpus: exit {dg_run.rc}, {fmt_s(dg_run.wall)}, "
                 f"peak RSS {fmt_bytes(dg_run.maxrss_kib)}")

    if not args.skip_peers:
        # per-file runs (2 at a time; the wall column reports the summed per-file wall time)
        def per_file(tool: str, s: SampleInfo) -> tuple[str, Outcome, float]:
            p = corpus / s.relpath
            t0 = time.perf_counter()
            try:
                if tool == "picklescan":
                    o = picklescan_file(bindir, p)
                elif tool == "modelscan":
                    rep, r = modelscan_file(bindir, p, tmp)
                    o = modelscan_outcomes(rep, r, [s.relpath], s.relpath[: len(s.relpath) - len(p.name)])[s.relpath]
                    if rep is not None and r.rc == 3 and o.status == MISSED:
                        o = Outcome(MISSED, "exit 3: no supported files")
                else:
                    o = fickling_file(bindir, p, tmp)
            except subprocess.TimeoutExpired:
                o = Outcome(ERROR, "timed out")
            return s.relpath, fix(o, s), time.perf_counter() - t0

        # Per-file verdicts are remembered by (tool, version, path, content), so a re-run after a
        # datagate change does not spend ~15 minutes re-running the peers on unchanged files.
        memo_path = work / "peer-file-results.json"
        try:
            memo: dict[str, list[Any]] = {} if args.fresh_peers else json.loads(memo_path.read_text())
        except (OSError, json.JSONDecodeError):
            memo = {}
        reused = 0
        for tool in ("picklescan", "modelscan", "fickling"):
            key = f"{tool} (file)"
            results[key] = {}
            total = 0.0
            keys = {s.relpath: f"{tool}|{versions.get(tool)}|{s.relpath}|{_content_id(corpus / s.relpath)}"
                    for s in samples}
            todo = []
            for s in samples:
                hit = memo.get(keys[s.relpath])
                if hit:
                    results[key][s.relpath] = Outcome(hit[0], hit[1])
                    total += float(hit[2])
                    reused += 1
                else:
                    todo.append(s)
            log(f"{tool}: one run per file ({len(todo)} files; {len(samples) - len(todo)} remembered)")
            with ThreadPoolExecutor(max_workers=args.jobs) as pool:
                for rel, o, w in pool.map(lambda s, t=tool: per_file(t, s), todo):
                    results[key][rel] = o
                    memo[keys[rel]] = [o.status, o.detail, w]
                    total += w
            walls[key] = total
        memo_path.write_text(json.dumps(memo, indent=0, sort_keys=True))
        if reused:
            notes.append(f"{reused} per-file peer verdicts (and their wall times) were reused from an earlier run "
                         f"on byte-identical files ({memo_path.name}; `--fresh-peers` re-runs them)")

        # directory mode: the whole corpus (timed), then each family folder (so one crash does
        # not hide every other verdict)
        def folder_of(rel: str) -> str:
            parts = rel.split("/")
            return "/".join(parts[: min(2, len(parts) - 1)])

        folders = sorted({folder_of(s.relpath) for s in samples})
        for tool in ("picklescan", "modelscan"):
            key = f"{tool} (dir)"
            log(f"{tool}: directory mode over the corpus")
            if tool == "picklescan":
                r = run([str(bindir / "picklescan"), "-p", str(corpus)], timeout=1800)
                crashed = "Unhandled exception" in r.stdout + r.stderr
                notes.append(f"picklescan -p <corpus>: exit {r.rc}, {fmt_s(r.wall)}"
                             + (f"; **crashed** ({_last_line(r)}), directory walk aborted" if crashed else ""))
            else:
                rep, r = modelscan_file(bindir, corpus, tmp)
                notes.append(f"modelscan scan -p <corpus>: exit {r.rc}, {fmt_s(r.wall)}"
                             + ("" if rep is not None else f"; **no report** ({_ms_tail(r)})"))
            walls[key] = r.wall
            results[key] = {}
            for folder in folders:
                in_folder = [s for s in samples if folder_of(s.relpath) == folder]
                log(f"{tool}: directory mode over {folder}")
                if tool == "picklescan":
                    outs, note = picklescan_dir(bindir, corpus, folder, [s.relpath for s in in_folder])
                else:
                    rep, r = modelscan_file(bindir, corpus / folder, tmp)
                    outs = modelscan_outcomes(rep, r, [s.relpath for s in in_folder], folder + "/" if folder else "")
                    last = [ln for ln in r.stdout.splitlines() if ln.startswith("Scanning ")]
                    where = f" after `{last[-1].split(' using ')[0]}`" if last else ""
                    note = "" if rep is not None else f"**no report**{where}, exit {r.rc}: {_ms_tail(r)}"
                if note:
                    notes.append(f"{tool} -p {folder or '<corpus root>'}/: {note}")
                for s in in_folder:
                    results[key][s.relpath] = fix(outs[s.relpath], s)
    shutil.rmtree(tmp, ignore_errors=True)
    return {"samples": samples, "results": results, "walls": walls, "notes": notes,
            "dg_findings": dg_findings, "dg_report": dg_report}


def _content_id(p: Path) -> str:
    """Return a short id of what is at ``p``: its bytes' SHA-256, or a symlink's target."""
    if p.is_symlink():
        return "link:" + os.readlink(p)
    try:
        return hashlib.sha256(p.read_bytes()).hexdigest()[:32]
    except OSError as exc:
        return f"unreadable:{exc.errno}"


def _last_line(r: Run) -> str:
    lines = [ln for ln in (r.stdout + r.stderr).splitlines() if ln.strip()]
    return lines[-1][:120] if lines else ""


_PS_SCANNING = re.compile(r"^Scanning file (?P<path>/.+)$")


def picklescan_dir(bindir: Path, corpus: Path, folder: str, rels: list[str]) -> tuple[dict[str, Outcome], str]:
    """Run ``picklescan -l DEBUG -p corpus/folder`` and attribute its output lines to samples.

    The debug log names each file as picklescan starts on it ("Scanning file ..."), so a finding
    that names a temporary extraction path (7z members) is credited to the file being scanned,
    and a file is known to be scanned, skipped by the directory walk, or never reached.
    """
    r = run([str(bindir / "picklescan"), "-l", "DEBUG", "-p", str(corpus / folder)], timeout=1800)
    text = r.stdout + r.stderr
    found: dict[str, set[str]] = defaultdict(set)
    errs: dict[str, str] = {}
    scanned: set[str] = set()
    base = str(corpus) + "/"
    rel_set = set(rels)
    current: str | None = None

    def owner(p: str) -> str | None:
        if not p.startswith(base):
            return None
        rel = p[len(base):]
        for cand in (rel, rel.split(":", 1)[0]):
            if cand in rel_set:
                return cand
        return None

    for line in r.stdout.splitlines():
        m = _PS_SCANNING.match(line)
        if m and m.group("path").startswith(base):
            current = owner(m.group("path"))
            if current:
                scanned.add(current)
            continue
        m = _PS_FOUND.match(line)
        if m:
            o = owner(m.group("path")) or (current if not m.group("path").startswith(base) else None)
            if o:
                found[o].add(m.group("what"))
            continue
        m = _PS_ERR.match(line)
        if m:
            o = owner(m.group("path"))
            if o:
                errs[o] = m.group("msg")
    crashed = "Unhandled exception" in text
    out = {}
    for rel in rels:
        if found.get(rel):
            out[rel] = Outcome(CAUGHT, "; ".join(sorted(found[rel]))[:120])
        elif rel in errs:
            out[rel] = Outcome(ERROR, errs[rel][:120])
        elif rel in scanned and crashed and rel == current:
            out[rel] = Outcome(ERROR, "crashed the directory walk: " + _last_line(r))
        elif rel in scanned:
            out[rel] = Outcome(MISSED, "scanned in directory mode, nothing found")
        elif crashed:
            out[rel] = Outcome(MISSED, "never reached: the directory walk was aborted by a crash")
        else:
            out[rel] = Outcome(MISSED, "not scanned in directory mode (not picked by the walk)")
    note = ""
    if crashed:
        where = f" on {current}" if current else ""
        note = f"**crashed**{where} with exit {r.rc} ({_last_line(r)}); files after it were never scanned"
    return out, note


# ---------------------------------------------------------------- timing targets


def make_small_pickles(dest: Path, n: int) -> None:
    """Write ``n`` benign pickles of a few KB (dicts, lists, numpy arrays; protocols 2-5)."""
    import numpy as np  # the project's venv has numpy

    stamp = dest.with_name(dest.name + ".stamp")
    if stamp.exists() and stamp.read_text() == str(n):
        return
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    rng = np.random.default_rng(3)
    for i in range(n):
        kind = i % 3
        if kind == 0:
            obj: Any = {f"k{j}": [float(x) for x in rng.random(8)] for j in range(24)}
        elif kind == 1:
            obj = [list(range(j, j + 40)) for j in range(20)] + [f"text {i}"] * 20
        else:
            obj = rng.random(300 + (i % 200))
        (dest / f"p{i:04d}.pkl").write_bytes(pickle.dumps(obj, protocol=2 + i % 4))
    stamp.write_text(str(n))


def make_float_pickle(path: Path, size: int) -> None:
    """Write a pickle (default protocol) of a float64 numpy array of about ``size`` bytes."""
    import numpy as np

    if path.exists() and abs(path.stat().st_size - size) < 4096:
        return
    arr = np.random.default_rng(5).random(size // 8)
    path.write_bytes(pickle.dumps(arr))


def make_parquet(dest: Path, n: int, size: int) -> None:
    """Write ``n`` parquet files of about ``size`` bytes each (random float columns, uncompressed)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    stamp = dest.with_name(dest.name + ".stamp")
    if stamp.exists() and stamp.read_text() == f"{n} {size}":
        return
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    rng = np.random.default_rng(7)
    rows = size // (4 * 8)
    for i in range(n):
        table = pa.table({f"c{j}": rng.random(rows) for j in range(4)})
        pq.write_table(table, dest / f"part-{i:05d}.parquet", compression="none", row_group_size=1 << 20)
    stamp.write_text(f"{n} {size}")


_INPROC_SCAN = textwrap.dedent(
    """
    import json, os, sys, tempfile, time
    import datagate.cli
    real = sys.stdout
    sys.stdout = open(os.devnull, "w")
    # Warm-up on a one-byte file: loads every lazily imported module the command uses.
    with tempfile.TemporaryDirectory() as d:
        open(os.path.join(d, "f"), "w").write("x")
        datagate.cli.main(["-q", "scan", os.path.join(d, "f"), "--format", "json"])
    t1, c1 = time.perf_counter(), time.process_time()
    rc = datagate.cli.main(sys.argv[1:])
    sys.stdout.flush()
    t2, c2 = time.perf_counter(), time.process_time()
    sys.stdout = real
    print(json.dumps({"rc": rc, "work": t2 - t1, "cpu": c2 - c1}))
    """
)


def drop_bytecode() -> None:
    """Delete the cached bytecode of datagate's modules (``datagate/**/__pycache__``, git-ignored)."""
    for cache in sorted((REPO / "datagate").rglob("__pycache__")):
        shutil.rmtree(cache, ignore_errors=True)


def compile_bytecode() -> None:
    """Compile datagate's modules to ``__pycache__``, as installing a wheel does."""
    log("compiling datagate's bytecode (python -m compileall -q datagate)")
    subprocess.run([str(PYTHON), "-m", "compileall", "-q", str(REPO / "datagate")], check=True)


def timings(args: argparse.Namespace, work: Path, bindir: Path, env: dict[str, str]) -> dict[str, Any]:
    """Measure the three timing targets; return rows and verdicts.

    datagate's scan reuses the stat cache for the hashing half, so each datagate scan is timed
    with an empty cache (``DATAGATE_CACHE_DIR`` a fresh folder: the first scan of a download) and,
    for information, warm (an unchanged re-scan).
    """
    scale = 10 if args.quick else 1
    rows: list[tuple[str, str, str, str, str]] = []
    cmds: list[str] = []
    res: dict[str, Any] = {}
    cold_cache = work / "scan-cold-cache"
    cold_env = {**env, "DATAGATE_CACHE_DIR": str(cold_cache)}

    def measure(label: str, argv: list[str], *, cold: bool = False, ok_rc: tuple[int, ...] = (0, 1),
                extra_env: dict[str, str] | None = None) -> Run:
        log(label)

        def once() -> Run:
            if cold:
                shutil.rmtree(cold_cache, ignore_errors=True)
            return run(argv, env={**(cold_env if cold else env), **(extra_env or {})}, keep_stdout=False,
                       timeout=1800)

        r, walls = median_run(args.repeat, once)
        if r.rc not in ok_rc:
            raise SystemExit(f"{label} failed (exit {r.rc}): {r.stderr[-2000:]}")
        rows.append((label, fmt_s(r.wall), fmt_s(r.user + r.sys), fmt_bytes(r.maxrss_kib),
                     ", ".join(f"{w:.3f}" for w in walls)))
        shown = "".join(f"{k}={v} " for k, v in (extra_env or {}).items())
        cmds.append(f"{label}: `{shown}{'DATAGATE_CACHE_DIR=<empty dir> ' if cold else ''}{r.cmd}`")
        return r

    def inproc(label: str, target: Path) -> tuple[float, float]:
        log(label)
        works, cpus = [], []
        for _ in range(args.repeat):
            shutil.rmtree(cold_cache, ignore_errors=True)
            r = run([str(PYTHON), "-c", _INPROC_SCAN, "-q", "scan", str(target), "--format", "json"], env=cold_env)
            try:
                data = json.loads(r.stdout.strip().splitlines()[-1])
            except (json.JSONDecodeError, IndexError):
                raise SystemExit(f"{label} failed (exit {r.rc}): {r.stderr[-2000:]}") from None
            works.append(float(data["work"]))
            cpus.append(float(data["cpu"]))
        works.sort()
        cpus.sort()
        w, c = works[(len(works) - 1) // 2], cpus[(len(cpus) - 1) // 2]
        rows.append((label + " [in-process, work only]", fmt_s(w), fmt_s(c), "", ", ".join(f"{x:.3f}" for x in works)))
        cmds.append(f"{label} [in-process]: `DATAGATE_CACHE_DIR=<empty dir> {PYTHON} -c <timer> -q scan {target} "
                    "--format json` (timer source in bench_scan.py)")
        return w, c

    def pairs(label: str, a: tuple[list[str], bool], b: tuple[list[str], bool], n: int) -> tuple[float, str, float]:
        """Run a, b, a, b, ... ``n`` times; return the median of the b/a wall ratios, all of them,
        and the median b/a CPU ratio (a ratio > 1 means a is faster)."""
        log(f"{label}: {n} interleaved pairs")
        walls, cpus = [], []
        for _ in range(n):
            got = []
            for argv, cold in (a, b):
                if cold:
                    shutil.rmtree(cold_cache, ignore_errors=True)
                got.append(run(argv, env=cold_env if cold else env, keep_stdout=False, timeout=1800))
            walls.append(got[1].wall / got[0].wall)
            cpus.append((got[1].user + got[1].sys) / max(1e-9, got[0].user + got[0].sys))
        walls.sort()
        cpus.sort()
        return walls[n // 2], ", ".join(f"{x:.2f}" for x in walls), cpus[n // 2]

    tiny = work / "one-byte.txt"
    tiny.write_text("x")
    # Start-up when no bytecode of datagate's own modules is cached (every module compiled from
    # source on every run: what a session with PYTHONDONTWRITEBYTECODE=1 and no __pycache__ gets),
    # for information; then the bytecode is compiled, as installing a wheel does (pip compiled
    # the peers' venv the same way), and everything else is timed with it.
    drop_bytecode()
    res["startup_nopyc"] = measure(
        "datagate scan of a one-byte file, no bytecode cache for datagate (info)",
        [str(DATAGATE), "-q", "scan", str(tiny), "--format", "json"], cold=True,
        extra_env={"PYTHONDONTWRITEBYTECODE": "1"}).wall
    compile_bytecode()
    measure("datagate --help (CLI start-up)", [str(DATAGATE), "--help"], ok_rc=(0,))
    startup = measure("datagate scan of a one-byte file (scan start-up)",
                      [str(DATAGATE), "-q", "scan", str(tiny), "--format", "json"], cold=True)
    res["startup"] = startup.wall

    # 1. 1,000 small pickles
    small = work / "pickles-1000"
    make_small_pickles(small, 1000)
    time.sleep(2.5)  # past the stat cache's racy margin, so the warm-cache runs are served by it
    warm([small])
    dg = measure("datagate scan, empty stat cache: 1,000 small pickles",
                 [str(DATAGATE), "-q", "scan", str(small), "--format", "json"], cold=True)
    run([str(DATAGATE), "-q", "scan", str(small), "--format", "json"], env=env, keep_stdout=False)
    measure("datagate scan, warm stat cache: 1,000 small pickles",
            [str(DATAGATE), "-q", "scan", str(small), "--format", "json"])
    res["small_inproc"], _ = inproc("datagate scan, empty stat cache: 1,000 small pickles", small)
    ps = measure("picklescan -p: 1,000 small pickles", [str(bindir / "picklescan"), "-p", str(small)],
                 ok_rc=(0, 1, 2)) if not args.skip_peers else None
    res["small_dg"] = dg.wall
    res["small_ps"] = ps.wall if ps else None
    if ps:
        res["small_pairs"] = pairs("1,000 small pickles: datagate scan vs picklescan",
                                   ([str(DATAGATE), "-q", "scan", str(small), "--format", "json"], True),
                                   ([str(bindir / "picklescan"), "-p", str(small)], False), max(5, args.repeat))

    # 2. a 100 MB float-array pickle
    size = 100_000_000 // scale
    big = work / f"float-array-{size // 1_000_000}MB.pkl"
    make_float_pickle(big, size)
    time.sleep(2.5)
    warm([big])
    fl = measure(f"datagate scan, empty stat cache: {size // 1_000_000} MB float-array pickle",
                 [str(DATAGATE), "-q", "scan", str(big), "--format", "json"], cold=True)
    run([str(DATAGATE), "-q", "scan", str(big), "--format", "json"], env=env, keep_stdout=False)
    flw = measure(f"datagate scan, warm stat cache: {size // 1_000_000} MB float-array pickle",
                  [str(DATAGATE), "-q", "scan", str(big), "--format", "json"])
    res["float_inproc"], _ = inproc(f"datagate scan, empty stat cache: {size // 1_000_000} MB float-array pickle", big)
    res["float_wall"] = fl.wall
    res["float_warm"] = flw.wall
    res["float_size"] = size

    # 3. parquet: scan vs hash --no-cache throughput
    n_pq, pq_size = 4, (250 << 20) // scale
    pqdir = work / f"parquet-{n_pq}x{pq_size >> 20}MiB"
    log(f"writing {n_pq} parquet files of {pq_size >> 20} MiB (reused if present)")
    make_parquet(pqdir, n_pq, pq_size)
    total = sum(p.stat().st_size for p in pqdir.iterdir())
    time.sleep(2.5)
    warm([pqdir])
    mib = total / 2**20
    h = measure(f"datagate hash --no-cache: parquet {mib:.0f} MiB",
                [str(DATAGATE), "-q", "hash", str(pqdir), "--no-cache", "--format", "json"], ok_rc=(0,))
    sc = measure(f"datagate scan, empty stat cache (hashes, then scans): parquet {mib:.0f} MiB",
                 [str(DATAGATE), "-q", "scan", str(pqdir), "--format", "json"], cold=True)
    run([str(DATAGATE), "-q", "scan", str(pqdir), "--format", "json"], env=env, keep_stdout=False)
    sw = measure(f"datagate scan, warm stat cache: parquet {mib:.0f} MiB",
                 [str(DATAGATE), "-q", "scan", str(pqdir), "--format", "json"])
    res.update(pq_hash=h.wall, pq_scan_cold=sc.wall, pq_scan_warm=sw.wall, pq_bytes=total)
    res["pq_pairs"] = pairs("parquet: datagate scan (empty cache) vs datagate hash --no-cache",
                            ([str(DATAGATE), "-q", "scan", str(pqdir), "--format", "json"], True),
                            ([str(DATAGATE), "-q", "hash", str(pqdir), "--no-cache", "--format", "json"], False),
                            max(5, args.repeat))
    return {"rows": rows, "cmds": cmds, "res": res}


# ---------------------------------------------------------------- report


def cell(o: Outcome | None) -> str:
    """Render one outcome as a short table cell."""
    if o is None:
        return "-"
    return {CAUGHT: "caught", WARN: "warn", MISSED: "**missed**", ERROR: "error", OK: "ok",
            FALSE: "**FALSE ALARM**"}[o.status]


def render(args: argparse.Namespace, versions: dict[str, str], det: dict[str, Any] | None,
           tim: dict[str, Any] | None) -> str:
    """Return the Markdown report."""
    cmd = "python benchmarks/bench_scan.py" + (" --quick" if args.quick else "") + \
        (" --skip-peers" if args.skip_peers else "") + (" --skip-timing" if args.skip_timing else "") + \
        (" --skip-detection" if args.skip_detection else "")
    out = ["# datagate scan vs picklescan, modelscan, fickling", "",
           f"Command: `{cmd}` (from the repository root).", "",
           md_table(["machine", ""], {**machine_facts(), **{f"peer {k}": v for k, v in versions.items()}}.items()),
           ""]
    if tim:
        r = tim["res"]
        out += ["## Timing targets (issue 3)", ""]
        trows = []
        if r.get("small_ps"):
            ratio, allr, cpu = r["small_pairs"]
            trows.append(("1,000 small pickles: picklescan -p time / datagate scan time (empty stat cache), "
                          "median of interleaved pairs", ">= 1.0", f"{ratio:.2f} (pairs: {allr}; CPU-time ratio {cpu:.2f})",
                          "**met**" if ratio >= 1 else "**missed**"))
            trows.append(("same, from the separate medians below", "(info)",
                          f"{r['small_ps'] / r['small_dg']:.2f} ({fmt_s(r['small_ps'])} vs {fmt_s(r['small_dg'])})", ""))
            ratio2 = r["small_ps"] / (r["small_inproc"] + r["startup"])
            trows.append(("same, datagate counted as scan start-up + in-process work", "(info)",
                          f"{ratio2:.2f} ({fmt_s(r['startup'])} + {fmt_s(r['small_inproc'])})", ""))
        trows.append(("scan start-up (one-byte file), datagate's bytecode compiled / not cached", "(info)",
                      f"{fmt_s(r['startup'])} / {fmt_s(r['startup_nopyc'])}", ""))
        fw, fs = r["float_wall"], r["float_size"] // 1_000_000
        trows.append((f"{fs} MB float-array pickle: datagate scan wall time (empty stat cache)", "< 1 s", fmt_s(fw),
                      "**met**" if fw < 1 else "**missed**"))
        trows.append((f"{fs} MB float-array pickle: work beyond start-up (in-process timer)", "< 1 s",
                      fmt_s(r["float_inproc"]), "**met**" if r["float_inproc"] < 1 else "**missed**"))
        trows.append((f"{fs} MB float-array pickle: wall time, warm stat cache (re-scan)", "(info)",
                      fmt_s(r["float_warm"]), ""))
        mib = r["pq_bytes"] / 2**20
        ratio, allr, cpu = r["pq_pairs"]
        trows.append((f"parquet {mib:.0f} MiB: scan throughput / hash --no-cache throughput, empty stat cache, "
                      "median of interleaved pairs", ">= 0.80", f"{ratio:.2f} (pairs: {allr}; CPU-time ratio {cpu:.2f})",
                      "**met**" if ratio >= 0.8 else "**missed**"))
        for label, key in (("empty stat cache (hash + scan), separate medians", "pq_scan_cold"),
                           ("warm stat cache (an unchanged re-scan)", "pq_scan_warm")):
            ratio = r["pq_hash"] / r[key]
            trows.append((f"parquet {mib:.0f} MiB: scan throughput / hash --no-cache throughput, {label}",
                          ">= 0.80", f"{ratio:.2f} ({mib / r[key]:.0f} vs {mib / r['pq_hash']:.0f} MiB/s)",
                          "**met**" if ratio >= 0.8 else "**missed**"))
        out += ["datagate's bytecode is compiled before the timings (`python -m compileall -q datagate`, "
                "what installing a wheel does; pip compiled the peers' venv the same way). Without it, "
                "every datagate module is compiled from source on every run: see the start-up row marked "
                "'no bytecode cache'.", "",
                md_table(["target", "goal", "measured", "verdict"], trows), "",
                md_table(["measurement", "wall (median)", "CPU (user+sys)", "peak RSS", "all runs, wall (s)"],
                         tim["rows"]), "",
                "Commands:", "", *[f"- {c}" for c in tim["cmds"]], ""]
    if det:
        samples: list[SampleInfo] = det["samples"]
        results: dict[str, dict[str, Outcome]] = det["results"]
        tools = list(results)
        order = ["datagate (dir)", "picklescan (file)", "picklescan (dir)", "modelscan (file)",
                 "modelscan (dir)", "fickling (file)"]
        tools = [t for t in order if t in tools]
        out += ["## Detection summary", "",
                f"{sum(s.hostile for s in samples)} hostile and {sum(not s.hostile for s in samples)} benign "
                "samples from `python -m fixtures.generate`. datagate counts as caught when its strongest finding on "
                "the file reaches the fixture's `min_severity` or high (the default gate), whichever is lower. "
                "A peer's 'warn' is picklescan's 'suspicious' (exit 0). "
                "Per-file wall time is the sum over one process per file.", ""]
        srows = []
        for t in tools:
            c = Counter(results[t][s.relpath].status for s in samples if s.hostile)
            b = Counter(results[t][s.relpath].status for s in samples if not s.hostile)
            srows.append((t, c[CAUGHT], c[WARN], c[MISSED], c[ERROR], b[FALSE], b[WARN], b[ERROR],
                          fmt_s(det["walls"].get(t))))
        out += [md_table(["tool (mode)", "hostile caught", "warn", "missed", "error", "benign false alarms",
                          "benign warn", "benign error", "wall"], srows), ""]
        out += ["Notes:", "", *[f"- {n}" for n in det["notes"]], ""]

        # what a peer catches that datagate does not
        dg = results.get("datagate (dir)", {})
        gaps = []
        for s in samples:
            if not s.hostile or dg.get(s.relpath, Outcome(MISSED)).status == CAUGHT:
                continue
            for t in tools[1:]:
                o = results[t].get(s.relpath)
                if o and o.status == CAUGHT:
                    fs = det["dg_findings"].get(s.relpath, [])
                    shown = "; ".join(f"{f['severity']} {f['rule']}: {f['message'][:80]}" for f in fs) or \
                        dg.get(s.relpath, Outcome(MISSED, "")).detail or "no finding"
                    gaps.append((s.name, s.relpath, t, o.detail, shown))
        out += ["## Caught by a peer, not by datagate", ""]
        out += [md_table(["sample", "file", "peer", "peer said", "datagate said"], gaps) if gaps else
                "None: datagate catches every hostile sample that any peer catches in any mode.", ""]
        dg_miss = [(s.name, s.threat, s.relpath, dg[s.relpath].status, dg[s.relpath].detail)
                   for s in samples if s.hostile and dg.get(s.relpath) and dg[s.relpath].status != CAUGHT]
        dg_false = [(s.name, s.relpath, dg[s.relpath].detail) for s in samples
                    if not s.hostile and dg.get(s.relpath) and dg[s.relpath].status == FALSE]
        low_sev = [(s.name, s.relpath, dg[s.relpath].detail) for s in samples if s.hostile and dg.get(s.relpath)
                   and dg[s.relpath].status == CAUGHT and "below the" in dg[s.relpath].detail]
        out += ["## datagate: hostile samples not caught", ""]
        out += [md_table(["sample", "threat", "file", "outcome", "datagate said"], dg_miss) if dg_miss else "None.", ""]
        out += ["## datagate: false alarms on benign samples", ""]
        out += [md_table(["sample", "file", "datagate said"], dg_false) if dg_false else "None.", ""]
        if low_sev:
            out += ["## datagate: caught below the default gate (high) or below the fixture's severity", "",
                    md_table(["sample", "file", "datagate said"], low_sev), ""]

        out += ["## Detection table", "",
                "Rows are samples grouped by threat (THREATS.md ids); cells are the outcome per tool and mode.", ""]
        rows = []
        extras = [s for s in samples if s.name.startswith("data:")]
        for s in sorted(samples, key=lambda s: (not s.hostile, _threat_key(s.threat), s.relpath)):
            if s.name.startswith("data:"):
                continue
            rows.append((s.threat, s.name, s.relpath, "hostile" if s.hostile else "benign",
                         *[cell(results[t].get(s.relpath)) for t in tools]))
        if extras:
            def tally(t: str) -> str:
                c = Counter(results[t][s.relpath].status for s in extras if s.relpath in results[t])
                return ", ".join(f"{k} {v}" for k, v in sorted(c.items())) or "-"
            rows.append(("benign data", f"{len(extras)} other files of the sample and quality fixtures "
                         "(CSV, parquet, arrow, JSON, compressed)", "(many)", "benign", *[tally(t) for t in tools]))
        out += [md_table(["threat", "sample", "file", "kind", *tools], rows), ""]
        out += ["## Details per sample (what each tool said; ok/quiet benign files omitted)", "",
                "<details><summary>expand</summary>", ""]
        drows = []
        for s in sorted(samples, key=lambda s: (not s.hostile, _threat_key(s.threat), s.relpath)):
            for t in tools:
                o = results[t].get(s.relpath)
                if o and (s.hostile or o.status != OK):
                    drows.append((s.name, t, o.status, o.detail))
        out += [md_table(["sample", "tool", "outcome", "detail"], drows), "", "</details>", ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and the timing targets; print and write the report; return 0."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    # Outside the repository: setuptools' editable rebuild walks everything under it, and a
    # multi-GB work dir made `pip install -e .` take 15 minutes.
    ap.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR,
                    help=f"inputs, peers venv and caches (default {DEFAULT_WORKDIR}; delete it when done)")
    ap.add_argument("--quick", action="store_true", help="10x smaller timing inputs")
    ap.add_argument("--repeat", type=int, default=3, help="runs per timing (median kept)")
    ap.add_argument("--jobs", type=int, default=2, help="peer processes run at once in per-file mode")
    ap.add_argument("--skip-peers", action="store_true", help="run datagate only")
    ap.add_argument("--fresh-peers", action="store_true",
                    help="re-run every per-file peer check instead of reusing remembered verdicts")
    ap.add_argument("--skip-timing", action="store_true")
    ap.add_argument("--skip-detection", action="store_true")
    ap.add_argument("--results", type=Path, default=REPO / "benchmarks" / "RESULTS-scan.md")
    args = ap.parse_args(argv)
    work = args.workdir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    env = {"DATAGATE_CACHE_DIR": str(work / "dg-cache"), "LC_ALL": "C"}
    if not (REPO / "datagate" / "scan" / "engine.py").exists() or not (REPO / "datagate" / "cli" / "scan.py").exists():
        log("datagate scan is not there yet (datagate/scan/engine.py, datagate/cli/scan.py); peers only")
    bindir, versions = (work / "peers-venv" / "bin", {}) if args.skip_peers else ensure_peers(work)
    det = None if args.skip_detection else detection(args, work, bindir, env, versions)
    tim = None if args.skip_timing else timings(args, work, bindir, env)
    text = render(args, versions, det, tim)
    print(text)
    args.results.write_text(text)
    log(f"written {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
