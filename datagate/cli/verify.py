"""``datagate verify``: re-hash a tree and compare it with a recorded manifest or the Hub."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from datagate.cli.app import app, options
from datagate.cli.helptext import VERIFY_EPILOG, VERIFY_HELP
from datagate.errors import UsageError

__all__ = ["VerifyFormat", "verify_command"]


class VerifyFormat(str, enum.Enum):
    """Output formats of ``datagate verify``."""

    text = "text"
    json = "json"


def _manifest_from_dvc(path: Path) -> tuple[Path, Path]:
    """Return (data path, manifest file) for a DVC-tracked ``path`` or its ``.dvc`` file."""
    from datagate.lineage.dvc import dvc_output_for_path, manifest_path_for_dvc_path

    out = dvc_output_for_path(path)
    if out is None:
        raise UsageError(
            f"{path}: no --manifest given and no {path}.dvc file tracks it",
            hint="pass --manifest FILE (from `datagate hash -o FILE`) or --against hf://...",
        )
    manifest = manifest_path_for_dvc_path(out.path)
    if manifest is None:
        raise UsageError(
            f"{out.dvc_file}: has no datagate pointer for {out.path}",
            hint=f"run `datagate record {out.path}` once to record what was vetted",
        )
    return out.path, manifest


def _manifest_from_store(ref: str, store: Path | None) -> Path:
    """Return the manifest file of the stored version ``ref`` (``NAME`` = its latest passed
    version, ``NAME@VERSION``), checked against the sha256 in its record."""
    from datagate.lineage.record import validate_dataset_name
    from datagate.lineage.store import Store

    st = Store.open(store, create=False)
    if "@" in ref:
        rec = st.resolve(ref)
    else:
        validate_dataset_name(ref)
        found = st.latest(ref, passed_only=True)
        if found is None:
            known = ", ".join(st.names()) or "none"
            raise UsageError(
                f"--record {ref!r}: no passed version of {ref!r} in the store at {st.root}",
                hint=f"datasets in the store: {known}; give NAME@VERSION for a failed one",
            )
        rec = found
    st.manifest(rec)  # raises when the manifest is missing or does not match its record
    return st.root / str(rec.data["content"]["manifest"]["path"])


@app.command("verify", help=VERIFY_HELP, epilog=VERIFY_EPILOG)
def verify_command(
    path: Annotated[
        Path,
        typer.Argument(
            help="Folder or file to verify (or a DVC-tracked path / its .dvc file).",
            metavar="PATH",
            show_default=False,
        ),
    ],
    manifest: Annotated[
        Path | None,
        typer.Option(
            "--manifest",
            "-m",
            help="Manifest written by `datagate hash -o FILE`. Default for a DVC-tracked "
            "PATH: the manifest its meta.datagate pointer names.",
        ),
    ] = None,
    against: Annotated[
        str | None,
        typer.Option(
            "--against",
            help="Compare with the files a Hub revision publishes (hf://datasets/OWNER/NAME@REV), "
            "downloading nothing.",
        ),
    ] = None,
    record: Annotated[
        str | None,
        typer.Option(
            "--record",
            metavar="NAME[@VERSION]",
            help="Compare with the manifest of a stored version: NAME alone is its latest passed "
            "version (what `ingest --dest` delivered); VERSION is a root digest or a prefix.",
        ),
    ] = None,
    store: Annotated[
        Path | None, typer.Option("--store", help="--record: the lineage store (default: ./.datagate).")
    ] = None,
    fmt: Annotated[
        VerifyFormat, typer.Option("--format", "-f", help="text or json.")
    ] = VerifyFormat.text,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to FILE instead of stdout.")
    ] = None,
    signature: Annotated[
        Path | None,
        typer.Option("--signature", help="Check this model-signing signature over PATH (with a trust option)."),
    ] = None,
    public_key: Annotated[
        Path | None, typer.Option("--public-key", help="--signature: the signer's public key (PEM).")
    ] = None,
    certificate_chain: Annotated[
        list[Path] | None,
        typer.Option("--certificate-chain", help="--signature: CA certificates the signing certificate must chain to (repeatable)."),
    ] = None,
    identity: Annotated[
        str | None, typer.Option("--identity", help="--signature: keyless Sigstore signer identity (with --issuer).")
    ] = None,
    issuer: Annotated[
        str | None, typer.Option("--issuer", help="--signature: OIDC issuer of --identity.")
    ] = None,
    trust_config: Annotated[
        Path | None, typer.Option("--trust-config", help="--signature: Sigstore ClientTrustConfig JSON (keyless).")
    ] = None,
) -> None:
    from datagate.cli.progress_bridge import progress_sink
    from datagate.report import inventory as render
    from datagate.report import write_output

    if sum(x is not None for x in (manifest, against, record)) > 1:
        raise UsageError("--manifest, --against and --record are alternatives; give one")
    if signature is not None:
        from datagate.cli.authenticity import trust_option

        if manifest is not None or against is not None:
            raise UsageError("--signature is checked on its own; drop --manifest/--against")
        from datagate.lineage.signing import verify_tree
        from datagate.report.authenticity import signature_json, signature_text

        trust = trust_option(public_key, certificate_chain, identity, issuer, trust_config)
        check = verify_tree(path, signature, trust).to_dict()
        text = signature_json(str(path), check) if fmt is VerifyFormat.json else signature_text(str(path), check)
        write_output(text, output)
        raise typer.Exit(0 if check["verified"] else 1)
    if against is not None:
        from datagate.acquire.hub import check_local_against_hub, parse_hf_uri

        repo, rev = parse_hf_uri(against)
        if rev is None:
            raise UsageError(
                f"{against}: name the revision that was vetted",
                hint="append @<40-hex commit> (or a tag) to the URI",
            )
        findings = check_local_against_hub(path, repo, rev)
        text = (
            render.hub_verify_json(str(path), against, findings)
            if fmt is VerifyFormat.json
            else render.hub_verify_text(str(path), against, findings)
        )
        write_output(text, output)
        raise typer.Exit(1 if findings else 0)

    from datagate.inventory import verify

    if record is not None:
        manifest = _manifest_from_store(record, store)
    elif manifest is None:
        path, manifest = _manifest_from_dvc(path)
    with progress_sink(options.quiet) as sink:
        result = verify(path, manifest, progress=sink)
    text = render.verify_json(result) if fmt is VerifyFormat.json else render.verify_text(result)
    write_output(text, output)
    raise typer.Exit(0 if result.matches else 1)
