"""Great Expectations 1.x suites, run through GX itself. The ONLY module importing it (lazily).

``datagate check --suite expectations/NAME.json`` reads an ExpectationSuite JSON (GX 1.x
format: ``{"name": ..., "expectations": [{"type": ..., "kwargs": {...}, "meta": {...}}], "meta":
{...}}``), builds the suite with GX, and validates every split with an ephemeral GX context and
its pandas datasource. Splits are converted to pandas in chunks of at most
:data:`GX_CHUNK_ROWS` rows (GX's pandas engine needs the frame in memory); a split above that is
validated chunk by chunk, so aggregate expectations (mean, unique, KL) then hold per chunk - the
result says how many chunks ran.

Severity of a failed expectation, first found: the expectation's own ``severity`` (GX 1.x:
``critical`` fails, ``warning`` warns, ``info`` warns at info), its ``meta.severity``, the
suite's ``meta.severity``, else ``critical``. Datagate severity names work too (``high`` and
``critical`` fail, ``medium``/``low`` warn). The result ``gx.<suite name>`` fails when a failed
expectation fails, warns when failed ones only warn, and lists each expectation in
``observed.expectations``.

A file that is not a suite (unreadable, not JSON, no ``expectations`` list, an unknown
expectation type) is an ``error`` result naming the file, never a pass.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from datagate.check.interface import errored
from datagate.check.load import DatasetLayout, Shard, ShardError, iter_batches
from datagate.models import CheckResult, CheckStatus, Severity

__all__ = [
    "GX_CHUNK_ROWS",
    "Suite",
    "SuiteError",
    "read_suite",
    "result_id",
    "run_suite",
    "validate_suite_json",
]

GX_CHUNK_ROWS = 1_000_000
"""Rows converted to one pandas frame for GX at most."""

_FAIL_WORDS = {"critical", "high", "fail", "error"}
_WARN_WORDS = {"warning", "warn", "medium", "low"}
_INFO_WORDS = {"info"}
_COLUMN_KEYS = ("column", "column_A", "column_B")
_COLUMN_LIST_KEYS = ("column_list", "column_set")


@dataclass(frozen=True)
class Suite:
    """A suite file read leniently: its name, raw JSON and the columns it names."""

    path: Path
    """Where it was read from."""
    name: str
    """The suite's ``name`` (else the file stem)."""
    data: Mapping[str, Any]
    """The parsed JSON object."""
    columns: list[str]
    """Columns its expectations require, in first-mention order."""


class SuiteError(Exception):
    """The file is not a GX suite; ``result`` is the ``error`` CheckResult naming it."""

    def __init__(self, result: CheckResult) -> None:
        super().__init__(result.message)
        self.result = result
        """The error result to report."""


def result_id(path: Path) -> str:
    """Return the check id used for a suite file that could not be read (``gx.<stem>``)."""
    return f"gx.{path.stem}"


def validate_suite_json(data: Any) -> list[str]:
    """Return the problems that make ``data`` not a GX 1.x suite (empty when it is one)."""
    problems = []
    if not isinstance(data, dict):
        return ["the top level is not a JSON object"]
    if "name" in data and not isinstance(data["name"], str):
        problems.append("'name' is not a string")
    exps = data.get("expectations")
    if not isinstance(exps, list):
        return [*problems, "no 'expectations' list"]
    for i, e in enumerate(exps):
        if not isinstance(e, dict):
            problems.append(f"expectation {i} is not an object")
            continue
        t = e.get("type", e.get("expectation_type"))
        if not isinstance(t, str) or not t.startswith("expect_"):
            problems.append(f"expectation {i} has no 'type' naming an expectation")
        if not isinstance(e.get("kwargs", {}), dict):
            problems.append(f"expectation {i}: 'kwargs' is not an object")
    return problems


def read_suite(path: Path) -> Suite:
    """Return the suite stored at ``path``.

    Raises SuiteError (carrying an ``error`` result naming the file) when it is not a suite.
    """
    rid = result_id(path)
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise SuiteError(errored(rid, f"{path}: cannot read suite ({e.strerror or e})", {"file": str(path)})) from e
    except (ValueError, UnicodeDecodeError) as e:
        raise SuiteError(errored(rid, f"{path}: not a GX suite: invalid JSON ({e})", {"file": str(path)})) from e
    problems = validate_suite_json(data)
    if problems:
        raise SuiteError(errored(rid, f"{path}: not a GX suite: {'; '.join(problems)}", {"file": str(path)}))
    name = data.get("name") or path.stem
    cols: list[str] = []
    for item in data["expectations"]:
        kw = item.get("kwargs", {})
        for k in _COLUMN_KEYS:
            if isinstance(kw.get(k), str) and kw[k] not in cols:
                cols.append(kw[k])
        for k in _COLUMN_LIST_KEYS:
            if isinstance(kw.get(k), list):
                cols += [str(c) for c in kw[k] if str(c) not in cols]
    return Suite(Path(path), str(name), data, cols)


def _severity_word(raw_exp: Mapping[str, Any], suite_meta: Mapping[str, Any]) -> str:
    for source in (raw_exp.get("severity"), (raw_exp.get("meta") or {}).get("severity"), suite_meta.get("severity")):
        if isinstance(source, str) and source.strip():
            return source.strip().lower()
    return "critical"


def _classify(word: str) -> tuple[str, Severity]:
    if word in _FAIL_WORDS:
        return "fail", Severity.HIGH if word != "critical" else Severity.CRITICAL
    if word in _INFO_WORDS:
        return "warn", Severity.INFO
    if word in _WARN_WORDS:
        return "warn", Severity.MEDIUM if word in ("warning", "warn", "medium") else Severity.LOW
    return "fail", Severity.HIGH


def _frames(shards: Sequence[Shard], schema: pa.Schema | None, problems: list[str]) -> Iterator[Any]:
    pending: list[pa.RecordBatch] = []
    rows = 0
    for shard in shards:
        try:
            for batch in iter_batches(shard, schema=schema):
                pending.append(batch)
                rows += batch.num_rows
                if rows >= GX_CHUNK_ROWS:
                    yield _to_pandas(pa.Table.from_batches(pending))
                    pending, rows = [], 0
        except ShardError as e:
            problems.append(str(e))
    if pending:
        yield _to_pandas(pa.Table.from_batches(pending))


def _to_pandas(table: pa.Table) -> Any:
    """Return ``table`` as a pandas frame with text columns as ``object`` dtype.

    pandas 3 maps Arrow strings to its ``str`` dtype, which GX 1.x's type expectations do not
    recognise; ``object`` is what GX suites (and ``datagate suggest``) name for text columns.
    """
    df = table.to_pandas()
    for name in df.columns:
        if str(df[name].dtype) in ("str", "string") or type(df[name].dtype).__name__ == "StringDtype":
            df[name] = df[name].astype(object)
    return df


def _config_key(exp_type: Any, kwargs: Mapping[str, Any]) -> str:
    clean = {k: v for k, v in kwargs.items() if k != "batch_id"}
    return json.dumps([str(exp_type), clean], sort_keys=True, default=str)


def _jsonable(v: Any) -> Any:
    if isinstance(v, float):
        return v if math.isfinite(v) else str(v)
    if isinstance(v, (str, int, bool)) or v is None:
        return v
    if isinstance(v, Mapping):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    try:
        return _jsonable(v.item())
    except AttributeError:
        return str(v)


def _gx_context() -> Any:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx

    ctx = gx.get_context(mode="ephemeral")
    # older GX has no progress_bars setting: cosmetic only, so any failure is ignored
    with contextlib.suppress(Exception):
        from great_expectations.data_context.types.base import ProgressBarsConfig

        ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return ctx


def build_gx_suite(suite: Suite) -> Any:
    """Return a ``great_expectations`` ExpectationSuite built from the raw JSON.

    Raises SuiteError when GX rejects it (unknown expectation type, bad kwargs).
    """
    _gx_context()
    from great_expectations.core import ExpectationSuite

    exps = []
    for e in suite.data["expectations"]:
        item = {k: v for k, v in e.items() if k in ("type", "kwargs", "meta", "notes", "description", "id")}
        if "type" not in item and "expectation_type" in e:
            item["type"] = e["expectation_type"]
        exps.append(item)
    try:
        built = ExpectationSuite(name=suite.name, expectations=exps, meta=dict(suite.data.get("meta") or {}))
    except Exception as e:  # noqa: BLE001  GX raises many types for bad suites; translated here
        raise SuiteError(
            errored(f"gx.{suite.name}", f"{suite.path}: not a valid GX suite: {str(e).splitlines()[0][:300]}", {"file": str(suite.path)})
        ) from e
    # GX logs and drops expectations it cannot build (unknown type, bad kwargs): fail closed
    kept = {e.configuration.type for e in built.expectations}
    dropped = [str(e["type"]) for e in exps if e["type"] not in kept]
    if len(built.expectations) != len(exps) or dropped:
        names = ", ".join(dropped) or f"{len(exps) - len(built.expectations)} expectation(s)"
        raise SuiteError(
            errored(f"gx.{suite.name}", f"{suite.path}: not a valid GX suite: GX rejected {names}", {"file": str(suite.path)})
        )
    return built


def run_suite(path: Path, layout: DatasetLayout, splits: Sequence[tuple[str, Sequence[Shard], pa.Schema | None]]) -> CheckResult:
    """Validate every split with the suite at ``path`` through GX and return ``gx.<suite name>``.

    Never raises for a bad suite or bad data: those are ``error`` results naming the file.
    """
    try:
        suite = read_suite(path)
        gx_suite = build_gx_suite(suite)
    except SuiteError as e:
        return e.result
    rid = f"gx.{suite.name}"
    ctx = _gx_context()
    ds = ctx.data_sources.add_pandas(f"datagate_{abs(hash(rid)) % 10**8}")
    asset = ds.add_dataframe_asset("split")
    bd = asset.add_batch_definition_whole_dataframe("whole")
    raw = suite.data["expectations"]
    suite_meta = suite.data.get("meta") or {}
    per_exp: list[dict[str, Any]] = []
    sevs: list[Severity] = []
    for raw_exp in raw:
        word = _severity_word(raw_exp, suite_meta)
        kind, sev = _classify(word)
        sevs.append(sev)
        per_exp.append(
            {
                "type": raw_exp.get("type", raw_exp.get("expectation_type")),
                "kwargs": _jsonable(raw_exp.get("kwargs", {})),
                "severity": word,
                "on_failure": kind,
                "success": True,
                "splits": {},
            }
        )
    positions: dict[str, int] = {}
    for i, exp in enumerate(gx_suite.expectations):
        cfg = exp.configuration
        positions.setdefault(_config_key(cfg.type, cfg.kwargs), i)
    problems: list[str] = []
    chunks = 0
    for name, shards, schema in splits:
        for df in _frames(shards, schema, problems):
            chunks += 1
            try:
                res = bd.get_batch(batch_parameters={"dataframe": df}).validate(gx_suite)
            except Exception as e:  # noqa: BLE001  GX failures are reported, never raised
                return errored(rid, f"{path}: GX could not validate split {name!r}: {str(e).splitlines()[0][:300]}", {"file": str(path)})
            for r in res.results:
                cfg = r.expectation_config
                at = positions.get(_config_key(cfg.type, cfg.kwargs)) if cfg is not None else None
                if at is None:
                    continue
                item = per_exp[at]
                exc = r.exception_info or {}
                raised = bool(exc.get("raised_exception")) if isinstance(exc, Mapping) else False
                item["success"] = bool(item["success"] and r.success and not raised)
                summary = {k: _jsonable(v) for k, v in (r.result or {}).items() if k in ("observed_value", "element_count", "unexpected_count", "unexpected_percent", "missing_count", "partial_unexpected_list")}
                if raised:
                    summary["exception"] = str(exc.get("exception_message"))[:300]
                prev = item["splits"].get(name)
                if prev is None or not r.success:
                    item["splits"][name] = {"success": bool(r.success and not raised), **summary}
    unanswered = [str(e["type"]) for e in per_exp if not e["splits"]]
    if chunks and unanswered:
        return errored(rid, f"{path}: GX returned no result for {', '.join(unanswered)}", {"file": str(path), "expectations": per_exp})
    failed = [e for e in per_exp if not e["success"]]
    worst_fail = [e for e in failed if e["on_failure"] == "fail"]
    observed: dict[str, Any] = {
        "count": len(failed),
        "suite": suite.name,
        "file": str(path),
        "evaluated": len(per_exp),
        "chunks": chunks,
        "expectations": per_exp,
    }
    if problems:
        observed["incomplete"] = problems
    if not failed:
        if problems:
            return errored(rid, f"could not validate all data with suite {suite.name!r}: {problems[0]}", observed)
        return CheckResult(rid, CheckStatus.PASS, Severity.INFO, f"all {len(per_exp)} expectations of {suite.name!r} met", observed)
    failed_sevs = [s for e, s in zip(per_exp, sevs, strict=True) if not e["success"]]
    names = ", ".join(sorted({str(e["type"]) + (f"({e['kwargs'].get('column')})" if isinstance(e["kwargs"], dict) and e["kwargs"].get("column") else "") for e in failed}))
    msg = f"{len(failed)} of {len(per_exp)} expectations of {suite.name!r} failed: {names}"
    if worst_fail:
        sev = max(s for e, s in zip(per_exp, sevs, strict=True) if not e["success"] and e["on_failure"] == "fail")
        return CheckResult(rid, CheckStatus.FAIL, sev, msg, observed)
    return CheckResult(rid, CheckStatus.WARN, max(failed_sevs), msg, observed)
