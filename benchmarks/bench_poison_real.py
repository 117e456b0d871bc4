"""Clean controls for the poisoning checks: every real table of fixtures/gen/real.py (issue 13's
20 tables shipped by pip packages) through ``backdoor_triggers`` and ``label_errors`` only.

Usage::

    python benchmarks/bench_poison_real.py            # prints a Markdown table

A table without a class label (regression targets, no label) shows the check's skip reason.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


class _Policy:
    def __init__(self, checks: dict[str, dict[str, bool]]) -> None:
        self.checks = checks


def main() -> int:
    """Run the sweep and print one row per table."""
    from datagate.check import run_checks
    from datagate.check.interface import CHECK_IDS
    from fixtures.gen.real import TABLES, load, write_splits

    policy = _Policy({c: {"enabled": False} for c in CHECK_IDS if c not in ("backdoor_triggers", "label_errors")})
    print("| table | label | rows | backdoor_triggers | label_errors | seconds |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name, spec in sorted(TABLES.items()):
            df = load(name)
            path = write_splits(df, Path(tmp) / name)
            t0 = time.perf_counter()
            out = run_checks(path, label=spec.label, policy=policy)
            secs = time.perf_counter() - t0
            res = {c.id: c for c in out.report.checks}
            cells = []
            for cid in ("backdoor_triggers", "label_errors"):
                c = res[cid]
                extra = ""
                if c.status.value in ("warn", "fail"):
                    extra = f" ({c.observed.get('count')} rows" + (f": {', '.join(t['token'] for t in c.observed.get('tokens', []))}" if cid == "backdoor_triggers" else f", {c.observed.get('rate', 0):.1%}") + ")"
                elif c.status.value == "skipped":
                    extra = f" ({c.message[:60]})"
                cells.append(c.status.value + extra)
            print(f"| {name} | {spec.label or '-'} | {len(df):,} | {cells[0]} | {cells[1]} | {secs:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
