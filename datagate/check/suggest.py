"""``datagate suggest``: a starter GX 1.x ExpectationSuite from the observed data, for review.

From one read pass (the dataset's :class:`~datagate.check.profile.Profile`), over all splits:

* ``expect_table_columns_to_match_set`` with every column (``exact_match``) - critical;
* per column ``expect_column_values_to_be_in_type_list`` with the pandas dtype names GX sees
  (text columns are handed to GX as ``object``) - critical;
* ``expect_column_values_to_not_be_null`` where no split has a null - critical;
* ``expect_column_values_to_be_in_set`` for low-cardinality columns (at most
  :data:`MAX_SET_VALUES` distinct values, each seen on average at least :data:`MIN_ROWS_PER_VALUE`
  times; not for floats) - critical;
* ``expect_column_values_to_be_between`` with the observed min and max of numeric columns (not
  for value-set columns) - ``warning``, since new data legitimately widens ranges.

Severities use GX 1.x's own ``severity`` field (critical fails the gate, warning warns). The
suite is written as JSON that GX loads back (``ExpectationSuite(**json)``); it is a starting
point a person reviews and commits under ``expectations/``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from datagate.check._engine import profile_dataset
from datagate.check.profile import Profile, _family_of_name
from datagate.errors import UsageError
from datagate.progress import NULL_PROGRESS, ProgressSink

__all__ = ["MAX_SET_VALUES", "MIN_ROWS_PER_VALUE", "PANDAS_TYPES", "suggest_suite", "suite_from_profile", "write_suite"]

MAX_SET_VALUES = 20
"""Columns with at most this many distinct values get a value-set expectation."""
MIN_ROWS_PER_VALUE = 5
"""... when each value is seen on average at least this many times."""

PANDAS_TYPES: dict[str, list[str]] = {
    "int": ["int64", "int32", "int16", "int8", "uint64", "uint32", "uint16", "uint8", "Int64", "Int32"],
    "float": ["float64", "float32", "Float64", "Float32"],
    "string": ["object", "str", "string"],
    "bool": ["bool", "boolean"],
    "binary": ["object"],
}
"""pandas dtype names GX may observe per type family."""


def _exp(kind: str, severity: str = "critical", **kwargs: Any) -> dict[str, Any]:
    return {"type": kind, "kwargs": kwargs, "meta": {}, "severity": severity}


def suite_from_profile(profile: Profile, name: str, *, source: str = "") -> dict[str, Any]:
    """Return a GX 1.x suite (as a JSON-serialisable dict) describing ``profile``."""
    if not profile.splits:
        raise UsageError(f"{source or name}: no readable split to suggest expectations from")
    splits = list(profile.splits.values())
    columns: list[str] = []
    for sp in splits:
        columns += [c for c in sp.columns if c not in columns]
    rows = sum(sp.rows for sp in splits)
    expectations: list[dict[str, Any]] = [_exp("expect_table_columns_to_match_set", column_set=list(columns), exact_match=True)]
    for col in columns:
        stats = [sp.columns[col] for sp in splits if col in sp.columns]
        fam = _family_of_name(stats[0].type)
        types = PANDAS_TYPES.get(fam)
        if types is not None:
            expectations.append(_exp("expect_column_values_to_be_in_type_list", column=col, type_list=types))
        if all(st.nulls == 0 for st in stats):
            expectations.append(_exp("expect_column_values_to_not_be_null", column=col))
        values: set[Any] | None = set()
        for st in stats:
            if st.values is None or values is None:
                values = None
                break
            values |= set(st.values)
        use_set = (
            values is not None
            and 0 < len(values) <= MAX_SET_VALUES
            and rows >= MIN_ROWS_PER_VALUE * len(values)
            and fam != "float"
        )
        if use_set and values is not None:
            expectations.append(_exp("expect_column_values_to_be_in_set", column=col, value_set=sorted(values, key=lambda v: (str(type(v)), v))))
        elif fam in ("int", "float"):
            lo = [st.min for st in stats if st.min is not None]
            hi = [st.max for st in stats if st.max is not None]
            if lo and hi:
                mn, mx = min(lo), max(hi)
                if fam == "int":
                    mn, mx = int(mn), int(mx)
                expectations.append(_exp("expect_column_values_to_be_between", "warning", column=col, min_value=mn, max_value=mx))
    return {
        "name": name,
        "expectations": expectations,
        "meta": {
            "datagate": {
                "generated_by": "datagate suggest",
                "source": source,
                "rows": rows,
                "splits": list(profile.splits),
                "note": "starter suite: review every expectation before committing it",
            }
        },
        "notes": None,
    }


def suggest_suite(
    path: Path, *, name: str | None = None, label: str | None = None, progress: ProgressSink = NULL_PROGRESS
) -> dict[str, Any]:
    """Profile the dataset at ``path`` and return a starter suite named ``name`` (default: the
    folder's name).

    Raises CheckError when nothing there can be read, UsageError when no split is readable.
    """
    path = Path(path)
    profile = profile_dataset(path, label=label, progress=progress)
    return suite_from_profile(profile, name or path.resolve().name, source=str(path))


def write_suite(suite: dict[str, Any]) -> str:
    """Return the suite as stable, indented JSON text (sorted keys, trailing newline)."""
    return json.dumps(suite, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
