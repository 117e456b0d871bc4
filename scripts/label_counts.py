"""A downstream pipeline step that consumes only vetted data: count rows per label value.

Usage: python scripts/label_counts.py VETTED_DIR OUT.json

Reads every CSV, JSON Lines and Parquet file under VETTED_DIR with pyarrow (data only: nothing
is executed or unpickled) and writes flat DVC metrics: ``rows`` and ``label_<value>`` counts of
the ``label`` column (files without one count towards ``rows`` only).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq


def _read(path: Path) -> pa.Table | None:
    name = path.name.lower()
    if name.endswith(".csv"):
        return pacsv.read_csv(path)
    if name.endswith((".jsonl", ".ndjson")):
        return pajson.read_json(path)
    if name.endswith(".parquet"):
        return pq.read_table(path)
    return None


def main(argv: list[str]) -> int:
    """Count labels under ``argv[0]`` and write the metrics to ``argv[1]``; return 0."""
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    root, out = Path(argv[0]), Path(argv[1])
    rows = 0
    labels: Counter[str] = Counter()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
        table = _read(path)
        if table is None:
            continue
        rows += table.num_rows
        if "label" in table.column_names:
            labels.update(str(v) for v in table.column("label").to_pylist())
    metrics: dict[str, int] = {"rows": rows}
    metrics.update({f"label_{k}": v for k, v in sorted(labels.items())})
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
