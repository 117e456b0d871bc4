"""``datagate check``: data-quality checks over a dataset's splits, gated by severity."""

from __future__ import annotations

from dataclasses import replace
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from datagate.cli.app import app, options
from datagate.cli.engine_options import EngineChoice, EngineOption, RayAddressOption, open_engine
from datagate.report.formats import OutputFormat

__all__ = ["LabelTypeChoice", "check_command"]


class LabelTypeChoice(str, Enum):
    """The values of ``--label-type`` (``datagate.check.labels.LABEL_TYPES``)."""

    CLASS = "class"
    REGRESSION = "regression"


@app.command(
    "check",
    help=(
        "Check a dataset's quality, streaming every split once: schema (vs --baseline and any "
        "--suite), label distribution and drift, exact duplicates and leakage between splits, "
        "text near-duplicates (MinHash LSH), outliers, null spikes and conflicting labels; "
        "each --suite (Great Expectations 1.x JSON) runs through GX itself.\n\n"
        "Exit 0 when no failed check is at or above the threshold, 1 when the gate fails, "
        "2 on usage or operational errors."
    ),
    epilog=(
        "Example: datagate check data/ --label label --text text --baseline v1/ "
        "--suite expectations/sample.json --format json"
    ),
)
def check_command(
    path: Annotated[
        str,
        typer.Argument(
            help="Dataset folder or data file, or hf://datasets/OWNER/NAME[@REVISION] (pinned, "
            "downloaded to datagate's Hub cache and verified, as ingest does).",
            metavar="PATH",
            show_default=False,
        ),
    ],
    label: Annotated[
        str | None, typer.Option("--label", help="Label column (default: a ClassLabel feature, else label/target/class...).")
    ] = None,
    no_label: Annotated[
        bool, typer.Option("--no-label", help="The dataset has no label column: skip the label checks (else they warn when none is found).")
    ] = False,
    label_type: Annotated[
        LabelTypeChoice | None,
        typer.Option("--label-type", metavar="KIND", case_sensitive=False, help="class or regression: what the label is (default: inferred from its type and values)."),
    ] = None,
    key: Annotated[
        list[str] | None, typer.Option("--key", metavar="COL", help="Row-key column for duplicates and leakage (repeatable; default: all but id-like columns).")
    ] = None,
    text: Annotated[
        list[str] | None, typer.Option("--text", metavar="COL", help="Text column for near-duplicates (repeatable; default: long string columns).")
    ] = None,
    encoding: Annotated[
        str, typer.Option("--encoding", metavar="CODEC", help="Text encoding of CSV/TSV/JSON files (bytes that do not decode are a read error).")
    ] = "utf-8",
    csv_delimiter: Annotated[
        str | None, typer.Option("--csv-delimiter", metavar="CHAR", help="CSV/TSV field delimiter (default: detected per file; '\\t' for tab).")
    ] = None,
    null_values: Annotated[
        str | None, typer.Option("--null-values", metavar="LIST", help="Comma-separated CSV/TSV tokens read as null in every column (default: empty, NA, N/A, NULL, null, NaN, None, ...).")
    ] = None,
    baseline: Annotated[
        Path | None, typer.Option("--baseline", metavar="PATH", help="Earlier version: a dataset folder or a saved profile JSON.")
    ] = None,
    suite: Annotated[
        list[Path] | None, typer.Option("--suite", metavar="FILE", help="Great Expectations 1.x suite JSON to run (repeatable).")
    ] = None,
    policy_file: Annotated[
        Path | None, typer.Option("--policy", "-p", help="Policy YAML: fail_on, per-check thresholds and severities.")
    ] = None,
    fmt: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Output format.", case_sensitive=False)
    ] = OutputFormat.TEXT,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report to FILE (atomically) instead of stdout.")
    ] = None,
    fail_on: Annotated[
        str | None,
        typer.Option("--fail-on", metavar="SEVERITY", help="Fail on checks at or above: info, low, medium, high, critical (default: the policy's, else high)."),
    ] = None,
    save_profile: Annotated[
        Path | None, typer.Option("--save-profile", metavar="FILE", help="Also write this version's profile JSON (usable as a later --baseline).")
    ] = None,
    engine: EngineOption = EngineChoice.local,
    ray_address: RayAddressOption = None,
) -> None:
    from datagate.check import run_checks
    from datagate.check.load import CsvOptions
    from datagate.cli.progress_bridge import progress_sink
    from datagate.config import load_policy
    from datagate.errors import UsageError
    from datagate.gate import decide
    from datagate.models import Severity
    from datagate.report import write_output
    from datagate.report.formats import ReportKind, render
    from datagate.report.json import dumps

    policy = load_policy(policy_file)
    if fail_on is not None:
        try:
            policy = replace(policy, fail_on=Severity.parse(fail_on))
        except ValueError as exc:
            raise UsageError(f"--fail-on: {exc}") from None
    from datagate.acquire import local_copy
    from datagate.errors import AcquireError

    with open_engine(engine, ray_address) as eng, progress_sink(options.quiet) as sink:
        root, acquired = local_copy(path, progress=sink)
        if acquired is not None:
            bad = [f for f in acquired.findings if f.category == "integrity" and f.severity >= Severity.HIGH]
            if bad:  # fail closed: never check bytes that are not what the Hub publishes
                raise AcquireError(
                    f"{path}: {len(bad)} file(s) do not match what the Hub publishes ({bad[0].rule}: {bad[0].path})",
                    hint="run `datagate scan` on it for every finding",
                )
        outcome = run_checks(
            root,
            label=label,
            no_label=no_label,
            label_type=label_type.value if label_type is not None else None,
            keys=tuple(key or ()),
            text=tuple(text or ()),
            baseline=baseline,
            suites=tuple(suite or ()),
            policy=policy,
            progress=sink,
            encoding=encoding,
            csv=CsvOptions.parse(csv_delimiter, null_values),
            engine=eng,
        )
    if save_profile is not None:
        write_output(dumps(outcome.profile.to_dict()) + "\n", save_profile)
    decision = decide(policy, checks=outcome.report.checks)
    report = replace(outcome.report, dataset=path) if acquired is not None else outcome.report
    write_output(render(fmt, ReportKind.CHECK, report, decision), output)
    raise typer.Exit(decision.exit_code)
