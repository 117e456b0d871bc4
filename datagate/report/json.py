"""JSON rendering of every result type, following DESIGN.md's output contracts.

Depends only on :mod:`datagate.models` (and duck-typed results of other stages).
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Mapping
from json.encoder import encode_basestring  # the C encoder where it is built
from pathlib import PurePath
from typing import Any

from datagate import __version__
from datagate.models import CheckReport, Finding, ScanReport, Severity

__all__ = ["check_to_dict", "dumps", "finding_to_dict", "scan_to_dict", "to_jsonable"]


_PLAIN = frozenset({str, int, float, bool, type(None)})


def to_jsonable(obj: Any) -> Any:
    """Return ``obj`` as plain JSON types: dataclasses, enums, mappings, tuples, paths, sets."""
    # Exact types first: a report's values are mostly these (a scan report's JSON is walked twice).
    kind = type(obj)
    if kind in _PLAIN:
        return obj
    if kind is dict:
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if kind is list or kind is tuple:
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, enum.Enum):
        return obj.value
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, (set, frozenset)):
        return sorted(to_jsonable(v) for v in obj)
    if isinstance(obj, PurePath):
        return obj.as_posix()
    if isinstance(obj, bytes):
        return obj.hex()
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalars
        return obj.item()
    return obj


def dumps(obj: Any, *, indent: int | None = 2) -> str:
    """Return stable JSON (sorted keys, UTF-8 kept) for ``obj`` with a trailing newline."""
    plain = to_jsonable(obj)
    if indent == 2:
        fast = _indent2(plain)
        if fast is not None:
            return fast + "\n"
    return json.dumps(plain, sort_keys=True, indent=indent, ensure_ascii=False) + "\n"


class _NotPlain(Exception):
    """A value :func:`_indent2` leaves to :func:`json.dumps`."""


def _indent2(obj: Any) -> str | None:
    """``json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False)``, byte for byte, for
    plain JSON values (dicts with str keys, lists, str, int, float, bool, None; exact types), or
    None for anything else.

    The standard library encodes indented JSON in pure Python through nested generators; a scan
    report of a thousand files spent more time there than scanning the files. This is the same
    format in one recursive pass with the C string encoder (tests compare the two).
    """
    parts: list[str] = []
    put = parts.append
    enc = encode_basestring

    def walk(o: Any, ind: str) -> None:
        t = type(o)
        if t is str:
            put(enc(o))
        elif t is dict or t is list:
            if not o:
                put("{}" if t is dict else "[]")
                return
            inner = ind + "  "
            sep = ("{" if t is dict else "[") + "\n" + inner
            if t is dict:
                if any(type(k) is not str for k in o):
                    raise _NotPlain  # json.dumps turns other keys into strings its own way
                for k in sorted(o):
                    put(sep)
                    put(enc(k))
                    put(": ")
                    walk(o[k], inner)
                    sep = ",\n" + inner
            else:
                for v in o:
                    put(sep)
                    walk(v, inner)
                    sep = ",\n" + inner
            put("\n" + ind + ("}" if t is dict else "]"))
        elif o is None:
            put("null")
        elif o is True:
            put("true")
        elif o is False:
            put("false")
        elif t is int:
            put(int.__repr__(o))
        elif t is float:
            if o != o:
                put("NaN")
            elif o == _INF:
                put("Infinity")
            elif o == -_INF:
                put("-Infinity")
            else:
                put(float.__repr__(o))
        else:
            raise _NotPlain

    try:
        walk(obj, "")
    except (_NotPlain, RecursionError):
        return None
    return "".join(parts)


_INF = float("inf")


def finding_to_dict(f: Finding) -> dict[str, Any]:
    """Return one finding in the scan contract's shape."""
    d: dict[str, Any] = {
        "path": f.path,
        "member": f.member,
        "rule": f.rule,
        "category": f.category,
        "severity": f.severity.value,
        "message": f.message,
        "evidence": to_jsonable(f.evidence),
    }
    if f.waived is not None:
        d["waived"] = f.waived
    return d


def scan_to_dict(report: ScanReport) -> dict[str, Any]:
    """Return a scan report in DESIGN.md's ``datagate scan --format json`` shape."""
    counts = report.counts()
    waived = sum(1 for f in report.findings if f.waived is not None)
    return {
        "tool": {"name": "datagate", "version": __version__},
        "target": report.target,
        "root_digest": report.root_digest,
        "findings": [finding_to_dict(f) for f in report.findings],
        "summary": {
            "files": report.files,
            "bytes": report.bytes,
            "findings": {s.value: counts[s.value] for s in reversed(list(Severity))},
            "waived": waived,
            "content_types": dict(report.content_types),
            "skipped": [
                {"path": s.path, "member": s.member, "reason": s.reason} for s in report.skipped
            ],
        },
    }


def check_to_dict(report: CheckReport) -> dict[str, Any]:
    """Return a check report in DESIGN.md's ``datagate check --format json`` shape."""
    return {
        "tool": {"name": "datagate", "version": __version__},
        "dataset": report.dataset,
        "label_column": report.label_column,
        "label_source": report.label_source,
        "splits": to_jsonable(report.splits),
        "checks": [
            {
                "id": c.id,
                "status": c.status.value,
                "severity": c.severity.value,
                "observed": to_jsonable(c.observed),
                "message": c.message,
            }
            for c in report.checks
        ],
    }
