"""False alarms and planted problems of ``datagate check``, side by side (issue 13).

Precision: the 20 untouched real tables that pip packages ship (scikit-learn, palmerpenguins,
vega_datasets, statsmodels; ``fixtures/gen/real.py``), exact duplicate rows dropped, split 80/20
at random (seed 0) into Hub-layout parquet, then every check with the default policy. A clean
table should pass the gate; every ``warn``/``fail`` here is a false alarm (or a real quirk of
the table, named in the report).

Recall: the planted-problem fixtures (``fixtures/gen/quality.py``: every case with counts in
``EXPECTED``) and problems planted into a real table (penguins: a grams/kilograms typo, a -999
sentinel, most Adelie rows dropped from test), each with the count it must report.

Usage::

    python benchmarks/bench_false_alarms.py                      # everything, report to stdout
    python benchmarks/bench_false_alarms.py --json out.json      # also the raw statuses
    python benchmarks/bench_false_alarms.py --compare benchmarks/RESULTS-false-alarms-before.json \
        --results benchmarks/RESULTS-false-alarms.md

``--compare`` prints a before/after table (dataset x check) against an earlier ``--json``.
Checks run in-process (``datagate.check.run_checks`` and the default gate); no timing is taken.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

SHORT = {"pass": "ok", "warn": "WARN", "fail": "FAIL", "error": "ERR", "skipped": "-"}
CHECK_COLUMNS = (
    ("schema", "schema"),
    ("label_distribution", "label_dist"),
    ("label_drift", "label_drift"),
    ("duplicates.within_split", "dup_within"),
    ("duplicates.cross_split", "dup_cross"),
    ("near_duplicates.cross_split", "near_dup"),
    ("outliers", "outliers"),
    ("nulls", "nulls"),
    ("conflicting_labels", "conflicts"),
)


def _run(path: Path, **kw: Any) -> tuple[dict[str, Any], int]:
    from datagate.check import run_checks
    from datagate.config import load_policy
    from datagate.gate import decide

    policy = load_policy(None)
    out = run_checks(path, policy=policy, **kw)
    decision = decide(policy, checks=out.report.checks)
    checks = {c.id: {"status": c.status.value, "message": c.message, "count": c.observed.get("count")} for c in out.report.checks}
    return checks, decision.exit_code


def real_tables(work: Path, names: list[str] | None = None, seed: int = 0) -> dict[str, Any]:
    """Return ``{table: {"label": ..., "rows": ..., "exit": ..., "checks": {...}}}``."""
    from fixtures.gen.real import TABLES, load, write_splits

    out: dict[str, Any] = {}
    for name, spec in TABLES.items():
        if names and name not in names:
            continue
        df = load(name)
        dest = write_splits(df, work / "real" / name, seed=seed)
        checks, rc = _run(dest, label=spec.label) if spec.label else _run(dest, no_label=True)
        out[name] = {"package": spec.package, "label": spec.label, "rows": len(df), "exit": rc, "checks": checks}
        print(f"  {name}: exit {rc}", file=sys.stderr)
    return out


def _planted_real(work: Path) -> list[tuple[str, Path, dict[str, Any], Mapping[str, Any]]]:
    """Problems planted into the real penguins table: (case, path, run kwargs, expectations)."""
    import numpy as np

    from fixtures.gen.real import load, write_splits

    cases: list[tuple[str, Path, dict[str, Any], Mapping[str, Any]]] = []
    df = load("penguins")
    typo = df.copy()
    # grams/kilograms typo: 2 masses entered in kilograms; sentinel: 3 bill lengths coded -999
    for i in (5, 77):
        typo.loc[i, "body_mass_g"] = typo.loc[i, "body_mass_g"] / 1000
    for i in (10, 120, 200):
        typo.loc[i, "bill_length_mm"] = -999.0
    cases.append(("penguins+typo+sentinel", write_splits(typo, work / "planted" / "penguins_units"), {"label": "species"}, {"outliers": 5, "outliers.status": "fail"}))
    # skew: most Adelie rows dropped from test (rows of test kept by the same 80/20 cut)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(df))
    n_test = int(round(len(df) * 0.2))
    test_idx = set(order[:n_test].tolist())
    adelie_test = [i for i in sorted(test_idx) if df.loc[i, "species"] == "Adelie"]
    drop = adelie_test[: max(0, len(adelie_test) - 3)]
    dest = work / "planted" / "penguins_skew"
    (dest / "data").mkdir(parents=True, exist_ok=True)
    import pyarrow as pa
    import pyarrow.parquet as pq

    keep_train = [i for i in range(len(df)) if i not in test_idx]
    keep_test = [i for i in sorted(test_idx) if i not in set(drop)]
    pq.write_table(pa.Table.from_pandas(df.iloc[keep_train], preserve_index=False), dest / "data" / "train-00000-of-00001.parquet")
    pq.write_table(pa.Table.from_pandas(df.iloc[keep_test], preserve_index=False), dest / "data" / "test-00000-of-00001.parquet")
    cases.append(("penguins Adelie dropped from test", dest, {"label": "species"}, {"label_distribution.status": "warn"}))
    return cases


def planted(work: Path) -> list[dict[str, Any]]:
    """Return one row per planted expectation: case, what, expected, found."""
    from fixtures.gen.quality import EXPECTED, build

    paths = build(work / "fixtures")
    base = paths["baseline"]
    kwargs: dict[str, dict[str, Any]] = {
        "schema_changed": {"baseline": base},
        "label_drift": {"baseline": base},
        "baseline_leak": {"baseline": base},
    }
    from datagate.check.interface import CHECK_IDS

    ids = set(CHECK_IDS)
    cases: list[tuple[str, Path, dict[str, Any], Mapping[str, Any]]] = []
    for case, exp in EXPECTED.items():
        counts: dict[str, Any] = {k: v for k, v in exp.items() if k in ids}
        if "status" in exp:
            counts[f"{next(iter(counts))}.status"] = exp["status"]
        cases.append((case, paths[case], kwargs.get(case, {}), counts))
    cases += _planted_real(work)
    rows = []
    for case, path, kw, wanted in cases:
        checks, _rc = _run(path, **kw)
        for what, value in wanted.items():
            cid = what.removesuffix(".status")
            got = checks[cid]["status"] if what.endswith(".status") else checks[cid]["count"]
            rows.append({"case": case, "check": what, "expected": value, "found": got, "ok": got == value})
    return rows


def _table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def render(real: Mapping[str, Any], plant: list[dict[str, Any]], before: Mapping[str, Any] | None, commit: str, before_commit: str = "") -> str:
    """Return the Markdown report."""
    out = [f"# False alarms and planted problems (`benchmarks/bench_false_alarms.py`, commit {commit})", ""]
    if before is not None:
        fails_b = sum(1 for r in before.values() if r["exit"] != 0)
        warned_b = sum(1 for r in before.values() if any(c["status"] == "warn" for c in r["checks"].values()))
        out.append(f"Before (commit {before_commit or '?'}): {fails_b} of {len(before)} real tables failed the gate, {warned_b} carried a warning.")
    fails = sum(1 for r in real.values() if r["exit"] != 0)
    warned = sum(1 for r in real.values() if any(c["status"] == "warn" for c in r["checks"].values()))
    out.append(f"Real tables: **{fails} of {len(real)} fail the gate**, {warned} of {len(real)} carry a warning.")
    core = {cid for cid, _ in CHECK_COLUMNS}
    warned_core = sum(1 for r in real.values() if any(c["status"] == "warn" for cid, c in r["checks"].items() if cid in core))
    if warned_core != warned:
        out.append(f"Counting only the checks that existed before (the columns up to `conflicts`): {warned_core} of {len(real)} carry a warning.")
    ok = sum(1 for r in plant if r["ok"])
    out.append(f"Planted problems: **{ok} of {len(plant)} expectations met**.")
    out.append("")
    # checks added since (other issues' families) get a column too, so every warning is visible
    known = {cid for cid, _ in CHECK_COLUMNS}
    extra = sorted({cid for r in real.values() for cid in r["checks"] if cid not in known})
    columns = [*CHECK_COLUMNS, *((cid, cid) for cid in extra)]
    headers = ["table", "rows", "label", "gate", *[short for _, short in columns]]
    rows = []
    for name, r in real.items():
        cells = []
        for cid, _ in columns:
            now = SHORT.get(r["checks"].get(cid, {}).get("status", ""), "?")
            if before is not None and name in before:
                was = SHORT.get(before[name]["checks"].get(cid, {}).get("status", ""), "n/a")
                cells.append(now if was == now else f"{was} -> {now}")
            else:
                cells.append(now)
        gate = "fail" if r["exit"] else "pass"
        if before is not None and name in before:
            was_gate = "fail" if before[name]["exit"] else "pass"
            gate = gate if was_gate == gate else f"{was_gate} -> {gate}"
        rows.append([name, str(r["rows"]), str(r["label"]), gate, *cells])
    out += ["## Real tables (dataset x check status" + (", before -> after)" if before else ")"), "", _table(headers, rows), ""]
    notes = []
    for name, r in real.items():
        for cid, c in r["checks"].items():
            if c["status"] in ("warn", "fail", "error"):
                notes.append(f"- {name} `{cid}` {c['status']}: {c['message']}")
    if notes:
        out += ["### Messages of the warnings and failures", "", *notes, ""]
    out += ["## Planted problems (expected vs found)", ""]
    out.append(_table(["case", "check", "expected", "found", "ok"], [[r["case"], r["check"], str(r["expected"]), str(r["found"]), "yes" if r["ok"] else "**NO**"] for r in plant]))
    out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return 0 (the report is the product, nothing is asserted)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", type=Path, help="write the raw statuses here")
    ap.add_argument("--compare", type=Path, help="an earlier --json: print before -> after")
    ap.add_argument("--results", type=Path, help="also write the Markdown report here")
    ap.add_argument("--tables", help="comma-separated subset of the real tables")
    ap.add_argument("--skip-planted", action="store_true")
    ap.add_argument("--seed", type=int, default=0, help="seed of the random 80/20 split (default 0)")
    ap.add_argument("--workdir", type=Path)
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="datagate-bench-fa-"))
    try:
        real = real_tables(work, args.tables.split(",") if args.tables else None, args.seed)
        plant = [] if args.skip_planted else planted(work)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    before_doc = json.loads(args.compare.read_text()) if args.compare else None
    before = before_doc["real"] if before_doc is not None else None
    try:
        commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        commit = "?"
    report = render(real, plant, before, commit or "?", str(before_doc.get("commit", "")) if before_doc is not None else "")
    print(report)
    if args.results:
        args.results.write_text(report, encoding="utf-8")
    if args.json:
        args.json.write_text(json.dumps({"commit": commit, "real": real, "planted": plant}, indent=1, default=str), encoding="utf-8")
    return 0


_: Callable[..., int] = main

if __name__ == "__main__":
    raise SystemExit(main())
