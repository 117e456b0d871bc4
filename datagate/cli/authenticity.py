"""Option parsing shared by the commands that check signatures (verify, audit, ingest)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from datagate.errors import UsageError

if TYPE_CHECKING:
    from datagate.lineage.signing import Trust

__all__ = ["trust_option"]


def trust_option(
    public_key: Path | None,
    chain: Sequence[Path] | None,
    identity: str | None,
    issuer: str | None,
    trust_config: Path | None,
) -> Trust:
    """Return the one trust anchor the options name; raise UsageError unless exactly one is given."""
    from datagate.lineage.signing import CertificateChain, PublicKey, SigstoreIdentity

    given = [public_key is not None, bool(chain), identity is not None or issuer is not None]
    if sum(given) != 1:
        raise UsageError(
            "--signature needs exactly one trust option",
            hint="--public-key PUB.pem, --certificate-chain CA.pem, or --identity ID --issuer URL",
        )
    if public_key is not None:
        return PublicKey(public_key)
    if chain:
        return CertificateChain(tuple(chain))
    if not identity or not issuer:
        raise UsageError("keyless verification needs both --identity and --issuer")
    return SigstoreIdentity(identity, issuer, trust_config=trust_config)
