"""``datagate audit``: re-verify records, signatures and data of a store, refs or a DVC repo."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from datagate.cli.app import app
from datagate.cli.helptext import AUDIT_EPILOG, AUDIT_HELP

__all__ = ["AuditFormat", "audit_command"]


class AuditFormat(str, enum.Enum):
    """Output formats of ``datagate audit``."""

    text = "text"
    json = "json"
    markdown = "markdown"
    html = "html"

    def render(self, report: dict[str, object]) -> str:
        """Return ``report`` rendered in this format."""
        from typing import assert_never

        from datagate.report import audit as r

        if self is AuditFormat.text:
            return r.audit_text(report)
        if self is AuditFormat.json:
            return r.audit_json(report)
        if self is AuditFormat.markdown:
            return r.audit_markdown(report)
        if self is AuditFormat.html:
            return r.audit_html(report)
        assert_never(self)


@app.command("audit", help=AUDIT_HELP, epilog=AUDIT_EPILOG)
def audit_command(
    refs: Annotated[
        list[str] | None,
        typer.Argument(help="NAME@VERSION (or NAME) to audit; default: every record in the store.", metavar="[REF]...", show_default=False),
    ] = None,
    store: Annotated[Path | None, typer.Option("--store", help="Lineage store directory (default: ./.datagate).")] = None,
    dvc: Annotated[Path | None, typer.Option("--dvc", help="Audit every datagate-recorded .dvc output under this DVC repo.")] = None,
    remote: Annotated[bool, typer.Option("--remote", help="Check Hub datasets against their pinned commit (lists files, downloads nothing).")] = False,
    public_key: Annotated[
        list[Path] | None, typer.Option("--public-key", help="Records must be signed by this key (PEM; repeatable).")
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Also exit 1 when anything could not be verified.")] = False,
    fmt: Annotated[AuditFormat, typer.Option("--format", "-f", help="text, json, markdown or html.")] = AuditFormat.text,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report to FILE.")] = None,
) -> None:
    from datagate.errors import UsageError
    from datagate.lineage.audit import audit_dvc, audit_store
    from datagate.lineage.signing import key_fingerprint
    from datagate.report import write_output

    trusted: set[str] | None = None
    if public_key:
        trusted = set()
        for p in public_key:
            try:
                trusted.add(key_fingerprint(p.read_bytes()))
            except OSError as exc:
                raise UsageError(f"{p}: cannot read public key ({exc.strerror})") from exc
    if dvc is not None:
        if refs or store is not None:
            raise UsageError("--dvc audits the records its .dvc files point to; drop REF/--store")
        report = audit_dvc(dvc, trusted_keys=trusted, remote=remote)
    else:
        report = audit_store(store, refs or (), trusted_keys=trusted, remote=remote)
    write_output(fmt.render(report.to_dict()), output)
    raise typer.Exit(report.exit_code(strict=strict))
