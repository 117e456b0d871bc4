"""``datagate scan`` without typer: the console script's path for the plain invocations.

Pre-commit hooks and ``find -exec`` run ``datagate scan FILE`` once per file, so start-up is most
of their cost, and importing typer (with click and its parameter machinery) and building the
command is about 50 ms of it. :func:`try_scan` parses the invocations whose meaning is
unambiguous (the scan options, each at most with a plain value, and the global ``-q``/``-v``)
and runs :func:`run_scan`, the same body the typer command runs, under the same error boundary
(:func:`datagate.cli.boundary.guarded`). Anything else (help, ``--``, an unknown option, a value
typer would reject or coerce differently) returns None, and the typer application handles it,
with its own messages. ``tests/integration/test_cli_fast_scan.py`` runs both paths over the
same inputs and compares stdout, stderr and exit codes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from datagate.cli.boundary import GLOBAL_FLAGS, guarded, hoist_global_flags
from datagate.report.formats import OutputFormat

__all__ = ["ScanArgs", "parse_scan", "run_scan", "try_scan"]

_VALUED = {"--format": "fmt", "-f": "fmt", "--output": "output", "-o": "output", "--fail-on": "fail_on", "--policy": "policy_file", "-p": "policy_file"}
_FORMATS = {f.value: f for f in OutputFormat}


@dataclass
class ScanArgs:
    """A parsed ``datagate scan`` invocation."""

    path: str
    fmt: OutputFormat = OutputFormat.TEXT
    output: Path | None = None
    fail_on: str | None = None
    policy_file: Path | None = None
    strict: bool = False
    quiet: bool = False
    verbose: bool = False


def parse_scan(argv: list[str]) -> ScanArgs | None:
    """Return the scan invocation ``argv`` (the arguments after ``datagate``), or None.

    None means: not a plain ``scan`` invocation; the typer application decides (and reports).
    """
    args = hoist_global_flags(argv)
    if "--" in args:
        return None
    flags = [a for a in args if a in GLOBAL_FLAGS]
    rest = args[len(flags) :]
    if not rest or rest[0] != "scan":
        return None
    values: dict[str, str] = {}
    strict = False
    positional: list[str] = []
    i = 1
    while i < len(rest):
        a = rest[i]
        i += 1
        if a == "--strict":
            strict = True
            continue
        if not a.startswith("-") or a == "-":
            positional.append(a)
            continue
        name, value = a, None
        if a.startswith("--") and "=" in a:
            name, value = a.split("=", 1)
        elif not a.startswith("--") and len(a) > 2:
            name, value = a[:2], a[2:]
        if name not in _VALUED:
            return None  # -h, --help, --engine, a typo: typer's answer
        if value is None:
            if i >= len(rest):
                return None
            value = rest[i]
            i += 1
            if value.startswith("-") and value != "-":
                return None
        if not value:
            return None
        values[_VALUED[name]] = value
    if len(positional) != 1:
        return None
    fmt = values.get("fmt", "text").lower()
    if fmt not in _FORMATS:
        return None
    return ScanArgs(
        path=positional[0],
        fmt=_FORMATS[fmt],
        output=Path(values["output"]) if "output" in values else None,
        fail_on=values.get("fail_on"),
        policy_file=Path(values["policy_file"]) if "policy_file" in values else None,
        strict=strict,
        quiet="-q" in flags or "--quiet" in flags,
        verbose="-v" in flags or "--verbose" in flags,
    )


def run_scan(a: ScanArgs, *, engine: Any = None, ray_address: str | None = None, own_process: bool = False) -> int:
    """Scan ``a.path``, write the report, and return the gate's exit code (0 or 1).

    ``engine``: the typer command's ``--engine`` choice (an ``EngineChoice``; None or ``local``:
    this machine's processes). ``own_process``: the console script's typer-free path, whose
    process ends with the scan: what start-up made is frozen out of the garbage collector's
    later passes (never in a host process: the typer command, tests, a library caller). Raises
    :class:`~datagate.errors.DatagateError` for bad input (the boundary prints it).
    """
    from datagate.acquire import local_copy
    from datagate.cli.progress_bridge import progress_sink
    from datagate.config import load_policy
    from datagate.errors import UsageError
    from datagate.gate import decide
    from datagate.models import Severity
    from datagate.report import write_output
    from datagate.report.formats import ReportKind, render
    from datagate.scan import scan

    if own_process:
        import gc

        gc.freeze()  # modules and classes made by start-up stay out of later collections
    policy = load_policy(a.policy_file)
    if a.fail_on is not None:
        try:
            policy = replace(policy, fail_on=Severity.parse(a.fail_on))
        except ValueError as exc:
            raise UsageError(f"--fail-on: {exc}") from None
    with _engine(engine, ray_address) as eng, progress_sink(a.quiet) as sink:
        root, acquired = local_copy(a.path, progress=sink)
        report = scan(root, policy=policy, strict=a.strict, progress=sink, engine=eng)
    if acquired is not None:
        # the Hub source as the user named it, and its integrity findings with the scan's
        report = replace(report, target=a.path, findings=(*acquired.findings, *report.findings))
    decision = decide(policy, findings=report.findings)
    write_output(render(a.fmt, ReportKind.SCAN, report, decision), a.output)
    return decision.exit_code


@contextmanager
def _engine(choice: Any, address: str | None) -> Iterator[Any]:
    if choice is None:
        yield None
        return
    from datagate.cli.engine_options import map_engine

    with map_engine(choice, address) as eng:
        yield eng


def try_scan(argv: list[str], *, own_process: bool = False) -> int | None:
    """Run ``argv`` if it is a plain scan invocation and return its exit code, else None.
    ``own_process``: called by the console script, whose process ends with the scan (see
    :func:`run_scan`)."""
    parsed = parse_scan(argv)
    if parsed is None:
        return None
    from datagate.errors import clear_breadcrumb

    clear_breadcrumb()
    return guarded(lambda: run_scan(parsed, own_process=own_process), name="scan", args=hoist_global_flags(argv), verbose=parsed.verbose)
