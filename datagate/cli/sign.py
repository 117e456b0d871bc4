"""``datagate sign PATH``: sign a dataset folder in the OpenSSF model-signing format."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from datagate.cli.app import app
from datagate.cli.helptext import SIGN_EPILOG, SIGN_HELP

__all__ = ["sign_command"]


@app.command("sign", help=SIGN_HELP, epilog=SIGN_EPILOG)
def sign_command(
    path: Annotated[Path, typer.Argument(help="Folder (or file) to sign.", metavar="PATH", show_default=False)],
    key: Annotated[Path | None, typer.Option("--key", "-k", help="Elliptic-curve private key (PEM).")] = None,
    signature: Annotated[
        Path | None, typer.Option("--signature", "-s", help="Where to write the signature (default: PATH.sig beside PATH).")
    ] = None,
    certificate: Annotated[
        Path | None, typer.Option("--certificate", help="Signing certificate (PEM) for --key: certificate-based signing.")
    ] = None,
    chain: Annotated[
        list[Path] | None, typer.Option("--certificate-chain", help="Intermediate/CA certificate to embed (repeatable).")
    ] = None,
    sigstore: Annotated[
        bool, typer.Option("--sigstore", help="Keyless Sigstore signing (needs the network and an OIDC identity).")
    ] = False,
    identity_token: Annotated[
        str | None, typer.Option("--identity-token", envvar="SIGSTORE_ID_TOKEN", help="OIDC token for --sigstore.")
    ] = None,
    staging: Annotated[bool, typer.Option("--staging", help="Sigstore staging instance (testing).")] = False,
    trust_config: Annotated[
        Path | None, typer.Option("--trust-config", help="Sigstore ClientTrustConfig JSON (private deployment).")
    ] = None,
    password_env: Annotated[
        str | None, typer.Option("--password-env", help="Read the key's password from this environment variable.")
    ] = None,
) -> None:
    import os

    from datagate.errors import UsageError
    from datagate.lineage import signing

    if sigstore == (key is not None):
        raise UsageError("give --key PRIVATE.pem or --sigstore (one of them)")
    password = None
    if password_env is not None:
        password = os.environ.get(password_env)
        if password is None:
            raise UsageError(f"--password-env {password_env}: variable is not set")
    signer: signing.Signer
    if sigstore:
        signer = signing.SigstoreSigner(identity_token, staging, trust_config)
    elif certificate is not None:
        assert key is not None
        signer = signing.CertificateSigner(key, certificate, tuple(chain or ()))
    else:
        assert key is not None
        if chain:
            raise UsageError("--certificate-chain needs --certificate")
        signer = signing.PrivateKey(key, password)
    out = signature if signature is not None else path.parent / (path.resolve().name + ".sig")
    files = signing.sign_tree(path, out, signer)
    typer.echo(f"signed {files} files of {path} -> {out}")
