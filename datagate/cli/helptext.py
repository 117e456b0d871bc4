"""Help and epilog text for every command: a one-line purpose and worked examples.

Command modules use them as ``@app.command("hash", help=HASH_HELP, epilog=HASH_EPILOG)``. The
first line of each ``*_HELP`` is the purpose shown in ``datagate --help``; each ``*_EPILOG``
starts with click's ``\\b`` marker so the example lines are printed as written, not rewrapped.
Examples use the repository's own paths (``data/``, ``fixtures/build/sample``) so they can be
tried as shown. A unit test checks every command has both, and that each example names its
command.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "AUDIT_EPILOG",
    "AUDIT_HELP",
    "CHECK_EPILOG",
    "CHECK_HELP",
    "COMMAND_HELP",
    "DIFF_EPILOG",
    "DIFF_HELP",
    "HASH_EPILOG",
    "HASH_HELP",
    "INGEST_EPILOG",
    "INGEST_HELP",
    "INIT_EPILOG",
    "INIT_HELP",
    "LOG_EPILOG",
    "LOG_HELP",
    "RECORD_EPILOG",
    "RECORD_HELP",
    "SCAN_EPILOG",
    "SCAN_HELP",
    "SHOW_EPILOG",
    "SHOW_HELP",
    "SIGN_EPILOG",
    "SIGN_HELP",
    "STATUS_EPILOG",
    "STATUS_HELP",
    "SUGGEST_EPILOG",
    "SUGGEST_HELP",
    "VERIFY_EPILOG",
    "VERIFY_HELP",
]


def _examples(*lines: str) -> str:
    """Return an epilog: ``Examples:`` then the lines as given, blank lines between groups.

    Each paragraph starts with click's ``\\b`` marker, which stops click from rewrapping it.
    """
    groups: list[list[str]] = [[]]
    for line in lines:
        if line:
            groups[-1].append(f"  {line}")
        elif groups[-1]:
            groups.append([])
    groups[0].insert(0, "Examples:")
    return "\n\n".join("\b\n" + "\n".join(g) for g in groups if g)


HASH_HELP = (
    "Hash a dataset's files and print its version id (dirHash)."
    "\n\n"
    "Records SHA-256, size and mode per file. Symlinks are recorded with their target and never followed; an unchanged tree is re-read from the stat cache unless --no-cache."
)
HASH_EPILOG = _examples(
    "# Version id and per-file SHA-256 of the bundled sample:",
    "$ datagate hash fixtures/build/sample",
    "",
    "# Write the manifest (sorted JSON Lines) for a later `datagate verify`:",
    "$ datagate hash data/ --format json --output data.manifest.jsonl",
    "",
    "# Add DVC's MD5s and .dir id, to match a .dvc / dvc.lock entry:",
    "$ datagate hash data/ --dvc",
)

VERIFY_HELP = (
    "Re-hash a dataset and list every change since its manifest."
    "\n\n"
    "Bypasses the stat cache. Exit 0 when everything matches, 1 on any difference."
)
VERIFY_EPILOG = _examples(
    "# Check a workspace against the manifest written by `datagate hash`:",
    "$ datagate verify data/ --manifest data.manifest.jsonl",
    "",
    "# The same, as JSON for a script:",
    "$ datagate verify data/ -m data.manifest.jsonl --format json",
    "",
    "# A DVC-tracked folder recorded with `datagate record data/`:",
    "$ datagate verify data/",
    "",
    "# A folder `ingest --dest` delivered, against the manifest in the store:",
    "$ datagate verify data/reviews --record reviews",
    "",
    "# A Hub download against the revision it came from (downloads nothing):",
    "$ datagate verify data/reviews --against hf://datasets/acme/reviews@3f2c9e1",
)

SCAN_HELP = (
    "Find anything in a dataset that can execute when it is loaded."
    "\n\n"
    "Pickles, executables, scripts, notebooks and archives are recognised by their content, never their name; nothing is loaded, imported or extracted. Exit 1 when an unwaived finding is at or above --fail-on."
)
SCAN_EPILOG = _examples(
    "# Human summary; fails on high and critical findings:",
    "$ datagate scan data/",
    "",
    "# SARIF for GitHub code scanning, failing on medium and above:",
    "$ datagate scan data/ --format sarif --output datagate.sarif --fail-on medium",
    "",
    "# Apply the waivers and threshold of a policy file; one file works too:",
    "$ datagate scan data/raw/model.pt --policy datagate.yaml --format json",
)

CHECK_HELP = (
    "Check quality: schema, labels, duplicates, leakage, outliers."
    "\n\n"
    "Reads parquet, CSV, JSON Lines and Arrow splits in streaming batches. Exit 1 when a check fails at or above the policy's threshold."
)
CHECK_EPILOG = _examples(
    "# All built-in checks on the bundled sample, label column found automatically:",
    "$ datagate check fixtures/build/sample",
    "",
    "# Name the label and key columns, catch near-duplicate text across splits:",
    "$ datagate check data/ --label label --key id --text text",
    "",
    "# Compare with an earlier version and run a Great Expectations suite:",
    "$ datagate check data/ --baseline data-v1/ --suite expectations/sample.json",
    "",
    "# An HTML report with charts (label distribution, drift, nulls, outliers):",
    "$ datagate check data/ --format html --output check-report.html",
)

SUGGEST_HELP = (
    "Draft a Great Expectations suite from the data, for review."
    "\n\n"
    "Records column types, value sets of low-cardinality columns and observed ranges."
)
SUGGEST_EPILOG = _examples(
    "# Draft a suite from the bundled sample, then review it:",
    "$ datagate suggest fixtures/build/sample --output expectations/sample.json",
    "",
    "# Use it on the next delivery:",
    "$ datagate check data/ --suite expectations/sample.json --label label",
)

INGEST_HELP = (
    "Run the whole gate on a source and record its lineage."
    "\n\n"
    "Hash, scan, check, record, decide. SOURCE is a local folder or hf://datasets/OWNER/NAME[@REVISION]. The record lands in the project's store next to DVC; exit 1 when the gate fails."
)
INGEST_EPILOG = _examples(
    "# Vet the bundled sample under a name and keep its record:",
    "$ datagate ingest fixtures/build/sample --name sample",
    "",
    "# A local delivery, moved to data/vetted/reviews only if it passes:",
    "$ datagate ingest data/raw --name reviews --dest data/vetted/reviews",
    "",
    "# A Hub dataset pinned to a revision, with an HTML report:",
    "$ datagate ingest hf://datasets/OWNER/NAME --revision v1.0 --format html -o intake.html",
    "",
    "# Markdown for a pull-request comment or $GITHUB_STEP_SUMMARY:",
    '$ datagate ingest data/ --name reviews --format markdown >> "$GITHUB_STEP_SUMMARY"',
)

LOG_HELP = "List the recorded versions of a dataset, newest first."
LOG_EPILOG = _examples(
    "$ datagate log reviews",
    "$ datagate log sample --format json",
)

SHOW_HELP = "Show one recorded version: source, digest, scan and checks."
SHOW_EPILOG = _examples(
    "# By root digest prefix, by NAME@PREFIX, or NAME for its latest version:",
    "$ datagate show 9c1e4b",
    "$ datagate show reviews@9c1e --format json",
    "$ datagate show reviews",
)

DIFF_HELP = "Compare two recorded versions: files, schema, label counts."
DIFF_EPILOG = _examples(
    "$ datagate diff reviews@9c1e reviews@77ab",
    "$ datagate diff reviews@9c1e reviews --format json",
)

RECORD_HELP = (
    "Record lineage for a folder tracked with `dvc add`."
    "\n\n"
    "Writes the record and a meta.datagate pointer in the .dvc file naming the DVC MD5 it describes."
)
RECORD_EPILOG = _examples(
    "$ dvc add data/",
    "$ datagate record data/ --name reviews",
    "$ git add data.dvc .datagate/",
)

STATUS_HELP = "List .dvc pointers whose data changed since it was recorded."
STATUS_EPILOG = _examples(
    "# After editing data/ and `dvc add data`, see what needs a new `datagate record`:",
    "$ datagate status",
    "$ datagate status data.dvc --format json",
)

INIT_HELP = (
    "Write a commented starter policy file to edit and commit."
    "\n\n"
    "Covers the fail threshold, per-check thresholds, waivers and trust rules."
)
INIT_EPILOG = _examples(
    "# Create datagate.yaml in the current folder, then edit it:",
    "$ datagate init",
    "",
    "# Also add an intake stage for data/raw to dvc.yaml, then run it:",
    "$ datagate init --dvc --source data/raw",
    "$ dvc repro",
)

SIGN_HELP = (
    "Sign a dataset folder (OpenSSF model-signing format)."
    "\n\n"
    "Writes a Sigstore bundle whose DSSE envelope lists every file's SHA-256 (git metadata and the "
    "signature itself excluded), the format `model_signing sign/verify` reads and writes. Sign with "
    "an elliptic-curve key (--key), a key plus its X.509 certificate (--certificate), or keyless "
    "with Sigstore (--sigstore; needs the network). Check it with `datagate verify PATH --signature FILE`."
)
SIGN_EPILOG = _examples(
    "# Sign a folder with a P-256 key (openssl ecparam -name prime256v1 -genkey -noout -out key.pem):",
    "$ datagate sign data/ --key key.pem --signature data.sig",
    "",
    "# With a signing certificate issued by your CA:",
    "$ datagate sign data/ --key key.pem --certificate signer.crt --certificate-chain ca.crt",
    "",
    "# Keyless, in CI with an OIDC identity:",
    "$ datagate sign data/ --sigstore --signature data.sigstore.json",
)

LINEAGE_HELP = (
    "Send or list OpenLineage events an endpoint did not take."
    "\n\n"
    "An unreachable or refusing endpoint never stops an ingest: its events are spooled in the "
    "store and the ingest warns. The endpoint is the one each event was meant for; "
    "$OPENLINEAGE_API_KEY is read at send time."
)
LINEAGE_EPILOG = _examples(
    "$ datagate lineage pending",
    "$ datagate lineage flush --store .datagate",
)

AUDIT_HELP = (
    "Re-verify recorded datasets: records, signatures and bytes."
    "\n\n"
    "For a store (default), NAME@VERSION refs, or a DVC repo (--dvc): checks each record's digests and "
    "signatures (--public-key: must be this key), the stored manifest, and that the data still has "
    "those bytes (the local folder, the DVC workspace or cache, or the pinned Hub commit with --remote). "
    "One row per dataset. Exit 1 when anything is broken (with --strict also when something could not "
    "be verified), naming the file."
)
AUDIT_EPILOG = _examples(
    "# Everything in ./.datagate, as a Markdown report:",
    "$ datagate audit --format markdown -o audit.md",
    "",
    "# Two versions, records must be signed by the team key:",
    "$ datagate audit reviews@9c1e imdb --public-key keys/datagate.pub",
    "",
    "# A DVC repo's recorded outputs, Hub sources against their pinned commits:",
    "$ datagate audit --dvc . --remote --format html -o audit.html",
)

COMMAND_HELP: Mapping[str, tuple[str, str]] = {
    "hash": (HASH_HELP, HASH_EPILOG),
    "verify": (VERIFY_HELP, VERIFY_EPILOG),
    "sign": (SIGN_HELP, SIGN_EPILOG),
    "scan": (SCAN_HELP, SCAN_EPILOG),
    "check": (CHECK_HELP, CHECK_EPILOG),
    "suggest": (SUGGEST_HELP, SUGGEST_EPILOG),
    "ingest": (INGEST_HELP, INGEST_EPILOG),
    "log": (LOG_HELP, LOG_EPILOG),
    "show": (SHOW_HELP, SHOW_EPILOG),
    "diff": (DIFF_HELP, DIFF_EPILOG),
    "record": (RECORD_HELP, RECORD_EPILOG),
    "status": (STATUS_HELP, STATUS_EPILOG),
    "init": (INIT_HELP, INIT_EPILOG),
    "audit": (AUDIT_HELP, AUDIT_EPILOG),
    "lineage": (LINEAGE_HELP, LINEAGE_EPILOG),
}
"""Command name -> (help, epilog), for tests and docs."""
