"""``datagate diff V1 V2``: files, schema and label counts between two stored versions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from datagate.cli.app import app
from datagate.cli.helptext import DIFF_EPILOG, DIFF_HELP

__all__ = ["diff_command"]


@app.command("diff", help=DIFF_HELP, epilog=DIFF_EPILOG)
def diff_command(
    old: Annotated[str, typer.Argument(help="Older version (digest prefix, NAME@PREFIX or NAME).", metavar="V1", show_default=False)],
    new: Annotated[str, typer.Argument(help="Newer version.", metavar="V2", show_default=False)],
    store: Annotated[Path | None, typer.Option("--store", help="Lineage store directory (default: ./.datagate).")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
) -> None:
    from datagate.errors import UsageError
    from datagate.lineage.diff import diff_versions
    from datagate.lineage.store import Store
    from datagate.report import write_output

    if fmt not in ("text", "json"):
        raise UsageError(f"--format {fmt!r} is not available for diff", hint="use text or json")
    d = diff_versions(Store.open(store), old, new)
    if fmt == "json":
        write_output(json.dumps(d.to_dict(), sort_keys=True, indent=2) + "\n", None)
        return
    lines = [f"{d.old.name}@{d.old.version[7:19]} -> {d.new.name}@{d.new.version[7:19]}"]
    if d.same_content:
        lines.append("same content")
    for tag, paths in (("+", d.added), ("-", d.removed), ("~", d.changed)):
        lines += [f"  {tag} {p}" for p in paths]
    lines.append(f"files: {len(d.added)} added, {len(d.removed)} removed, {len(d.changed)} changed")
    for split, delta in d.schema.items():
        lines.append(f"schema {split}: " + json.dumps(delta, sort_keys=True))
    for split, labels in d.labels.items():
        lines.append(f"labels {split}: " + ", ".join(f"{k} {a}->{b}" for k, (a, b) in labels.items()))
    write_output("\n".join(lines) + "\n", None)
