"""Hugging Face Hub datasets as a :class:`~datagate.acquire.interface.Source`: pinned and verified.

>>> src = HubSource.from_uri("hf://datasets/acme/reviews@v1.0")
>>> src.describe().uri, src.describe().requested_revision
('hf://datasets/acme/reviews', 'v1.0')

:meth:`HubSource.acquire` resolves the requested branch or tag to its 40-hex commit (both are
recorded), lists the files of that commit with the hashes the Hub publishes (SHA-256 for LFS
files, the git blob id for small files), downloads each file with the real ``huggingface_hub``
client pinned to the commit, and re-hashes every downloaded byte: a mismatch is a critical
``integrity.hub_mismatch`` finding, a listed file that cannot be fetched is
``integrity.hub_missing``. The Hub's own security-scan status of each file and the repo's trust
signals are recorded, and the trust policy (:mod:`datagate.acquire.trust`) turns them into findings.

:func:`check_local_against_hub` verifies a folder downloaded earlier against the listing of a
pinned revision without downloading anything.

Every client failure becomes an :class:`~datagate.errors.AcquireError` whose one-line message
names the repo and revision. Tokens are passed to the client only; they never appear in a
message, a record or a finding.
"""

from __future__ import annotations

import copy
import datetime as _dt
import fnmatch
import hashlib
import os
import re
import shutil
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from datagate.acquire.interface import Acquired, Source, SourceInfo
from datagate.acquire.trust import (
    TrustPolicy,
    TrustSignals,
    card_licenses,
    evaluate,
    evaluate_security,
)
from datagate.errors import AcquireError, UsageError
from datagate.models import Finding, Severity
from datagate.progress import NULL_PROGRESS, ProgressSink, ProgressTask

if TYPE_CHECKING:
    from huggingface_hub import HfApi

__all__ = [
    "PARQUET_EXPORT_REVISION",
    "HubFile",
    "HubSource",
    "check_local_against_hub",
    "git_blob_id",
    "parse_hf_uri",
    "remote_listing",
]

PARQUET_EXPORT_REVISION = "refs/convert/parquet"
"""The ref under which the Hub publishes its automatic Parquet conversion of a dataset."""

_URI = re.compile(r"^hf://datasets/(?P<owner>[^/@]+)/(?P<name>[^/@]+)(?:@(?P<rev>.+))?$")
_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?$")
_HEX40 = re.compile(r"^[0-9a-f]{40}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_REV = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/+-]{0,254}$")
_CLIENT_META = PurePosixPath(".cache/huggingface")
_CHUNK = 1 << 20


def parse_hf_uri(text: str) -> tuple[str, str | None]:
    """Return ``(OWNER/NAME, revision or None)`` for ``hf://datasets/OWNER/NAME[@REVISION]``.

    Raises :class:`~datagate.errors.UsageError` naming the text when it is not such a URI or the
    owner, name or revision has characters the Hub does not allow.
    """
    m = _URI.match(text.strip())
    if m is None:
        raise UsageError(
            f"{text!r} is not a Hub dataset URI",
            hint="write hf://datasets/OWNER/NAME or hf://datasets/OWNER/NAME@REVISION",
        )
    owner, name, rev = m.group("owner"), m.group("name"), m.group("rev")
    for part in (owner, name):
        if not _NAME.match(part) or "--" in part or ".." in part:
            raise UsageError(f"{text!r}: {part!r} is not a valid Hub owner or dataset name")
    if rev is not None:
        _check_revision(rev, text)
    return f"{owner}/{name}", rev


def _check_revision(rev: str, where: str) -> None:
    if not _REV.match(rev) or ".." in rev or rev.endswith("/"):
        raise UsageError(
            f"{where}: {rev!r} is not a valid revision (a branch, tag or 40-hex commit)"
        )


def git_blob_id(path: Path) -> tuple[int, str, str]:
    """Return ``(size, sha256 hex, git blob id hex)`` of the regular file at ``path``, streaming.

    The git blob id is ``sha1(b"blob <size>\\0" + content)``, which the Hub publishes for non-LFS
    files. Raises OSError when the file cannot be read.
    """
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        sha256 = hashlib.sha256()
        # git blob ids are SHA-1 by definition; for non-LFS files the Hub publishes nothing stronger
        sha1 = hashlib.sha1(b"blob %d\0" % size)  # noqa: S324
        read = 0
        while chunk := fh.read(_CHUNK):
            sha256.update(chunk)
            sha1.update(chunk)
            read += len(chunk)
    if (
        read != size
    ):  # the file changed while we read it: hash what git would have seen is impossible
        raise OSError(f"{path} changed size while being hashed")
    return size, sha256.hexdigest(), sha1.hexdigest()


@dataclass(frozen=True)
class HubFile:
    """One file of a Hub revision as the Hub lists it."""

    path: str
    """Path in the repo, POSIX separators."""
    size: int
    """Size of the content in bytes."""
    blob_id: str
    """Git blob id (for LFS files: of the pointer, so not a hash of the content)."""
    sha256: str | None
    """SHA-256 of the content for LFS files, else None."""
    security: str | None = None
    """The Hub's security-scan status (``safe``, ``unsafe``, ``caution``...), None when not given."""
    security_detail: Mapping[str, Any] | None = None
    """The Hub's security-scan detail (antivirus, pickle imports) when given."""

    def to_record(self) -> dict[str, Any]:
        """Return what the remote published, JSON-serialisable, for :attr:`Acquired.remote_files`."""
        out: dict[str, Any] = {
            "size": self.size,
            "git_blob_id": self.blob_id,
            "lfs": self.sha256 is not None,
        }
        if self.sha256 is not None:
            out["sha256"] = self.sha256
        out["security_status"] = self.security
        if self.security_detail is not None:
            out["security"] = dict(self.security_detail)
        return out


def _is_hex40(text: str | None) -> bool:
    return text is not None and bool(_HEX40.match(text))


def _selected(path: str, include: Sequence[str], exclude: Sequence[str]) -> bool:
    def match(pattern: str) -> bool:
        if pattern.endswith("/"):
            pattern += "*"
        return fnmatch.fnmatchcase(path, pattern)

    if include and not any(match(p) for p in include):
        return False
    return not any(match(p) for p in exclude)


def _safe_relpath(path: str) -> bool:
    p = PurePosixPath(path)
    return (
        bool(path)
        and not p.is_absolute()
        and "\\" not in path
        and all(part not in ("", ".", "..") for part in path.split("/"))
        and "\x00" not in path
        and not (len(p.parts) >= 2 and PurePosixPath(*p.parts[:2]) == _CLIENT_META)
    )


class _ProgressBar:
    """A tqdm stand-in the Hub client writes to; forwards byte counts to a datagate progress task."""

    task: ProgressTask | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        return None

    def __enter__(self) -> _ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: float | None = 1) -> None:
        """Forward ``n`` downloaded bytes (negative corrections are ignored)."""
        if self.task is not None and n is not None and n > 0:
            self.task.advance(0, int(n))

    def close(self) -> None:
        """Do nothing (the datagate task is closed by the caller)."""
        return None


def _bar_class(task: ProgressTask) -> type[_ProgressBar]:
    return type("_BoundProgressBar", (_ProgressBar,), {"task": task})


class _Client:
    """The Hub calls datagate makes, with every client exception translated to AcquireError."""

    def __init__(
        self, repo_id: str, revision: str, *, endpoint: str, token: str | bool | None
    ) -> None:
        from huggingface_hub import HfApi

        from datagate import __version__

        self.repo_id = repo_id
        self.revision = revision
        self.endpoint = endpoint
        self.token = token
        self.where = f"hf://datasets/{repo_id}@{revision}"
        self.api: HfApi = HfApi(
            endpoint=endpoint, token=token, library_name="datagate", library_version=__version__
        )

    def fail(self, exc: BaseException, doing: str) -> AcquireError:
        """Return the AcquireError for ``exc`` raised while ``doing`` (caller raises it ``from exc``)."""
        import httpx2
        from huggingface_hub import errors as hf

        where = self.where
        status = (
            exc.response.status_code
            if isinstance(exc, hf.HfHubHTTPError) and exc.response is not None
            else None
        )
        if isinstance(exc, hf.GatedRepoError) or status in (401, 403):
            return AcquireError(
                f"{where}: the repo is gated or private and the Hub refused access (HTTP {status or 401})"
                f" while {doing}; set HF_TOKEN to a token that has access",
                hint="accept the dataset's conditions on the Hub, then export HF_TOKEN=... (or run `hf auth login`)",
            )
        if isinstance(exc, hf.RevisionNotFoundError) or (
            status == 404
            and not isinstance(exc, (hf.RepositoryNotFoundError, hf.EntryNotFoundError))
            and doing in ("reading the repo info", "listing the files")
            and self._repo_exists()
        ):
            # a bare 404 for a revision of a repo that exists is a missing revision too,
            # not a transient failure worth re-running
            return AcquireError(
                f"{where}: revision not found: {self.revision!r} does not exist in the repo; "
                f"{self.nearby_refs()}",
                hint="pass one of the refs above or a 40-hex commit id",
            )
        if isinstance(exc, hf.RepositoryNotFoundError):
            return AcquireError(
                f"{where}: dataset repo not found on {_public(self.endpoint)}",
                hint="check OWNER/NAME; a private repo also needs HF_TOKEN",
            )
        if isinstance(exc, hf.DisabledRepoError):
            return AcquireError(f"{where}: the Hub has disabled this repo")
        if isinstance(exc, hf.OfflineModeIsEnabled):
            return AcquireError(
                f"{where}: HF_HUB_OFFLINE is set, cannot reach the Hub while {doing}"
            )
        if isinstance(exc, hf.HfHubHTTPError):
            return AcquireError(
                f"{where}: the Hub answered HTTP {status or '?'} while {doing}",
                hint="re-run later; files already verified are kept and not downloaded again",
            )
        if isinstance(
            exc,
            (httpx2.HTTPError, hf.LocalEntryNotFoundError, hf.FileMetadataError, ConnectionError),
        ):
            return AcquireError(
                f"{where}: cannot reach the Hub at {_public(self.endpoint)} while {doing} ({type(exc).__name__})",
                hint="check the network (or HF_ENDPOINT) and re-run; a re-run resumes",
            )
        if isinstance(exc, OSError):
            return AcquireError(
                f"{where}: local I/O failed while {doing}: {exc.strerror or type(exc).__name__}"
            )
        return AcquireError(
            f"{where}: unexpected Hub client failure while {doing} ({type(exc).__name__})"
        )

    def _repo_exists(self) -> bool:
        """Return True when the repo answers at its default revision (never raises)."""
        try:
            self.api.dataset_info(self.repo_id, timeout=30)
        except Exception:  # noqa: BLE001  any failure: not known to exist
            return False
        return True

    def nearby_refs(self, limit: int = 8) -> str:
        """Return ``"nearby refs: v1.0 (tag), main (branch), ..."``: the repo's branches and tags
        closest to the requested revision first; never raises (says so when they cannot be
        listed)."""
        import difflib

        try:
            refs = self.api.list_repo_refs(self.repo_id, repo_type="dataset")
        except Exception:  # noqa: BLE001  the refs are a hint; the error is already known
            return "its refs could not be listed"
        named = [(r.name, "branch") for r in refs.branches] + [(t.name, "tag") for t in refs.tags]
        if not named:
            return "the repo has no branches or tags"
        wanted = str(self.revision)
        close = difflib.get_close_matches(wanted, [n for n, _ in named], n=limit, cutoff=0.0)
        order = {n: i for i, n in enumerate(close)}
        named.sort(key=lambda nk: (order.get(nk[0], len(order)), nk[0]))
        shown = ", ".join(f"{n} ({k})" for n, k in named[:limit])
        more = f" and {len(named) - limit} more" if len(named) > limit else ""
        return f"nearby refs: {shown}{more}"

    def info(self) -> Any:
        """Return the DatasetInfo of the revision; raises AcquireError."""
        try:
            return self.api.dataset_info(self.repo_id, revision=self.revision, timeout=30)
        except Exception as e:  # translated at the edge (STYLE 4)
            raise self.fail(e, "reading the repo info") from e

    def listing(self, commit: str) -> list[HubFile]:
        """Return every file of ``commit`` with its Hub hashes; raises AcquireError."""
        from huggingface_hub.hf_api import RepoFile

        out: list[HubFile] = []
        try:
            entries = list(
                self.api.list_repo_tree(
                    self.repo_id, repo_type="dataset", revision=commit, recursive=True, expand=True
                )
            )
        except Exception as e:
            raise self.fail(e, "listing the files") from e
        for entry in entries:
            if not isinstance(entry, RepoFile):
                continue
            sha256 = entry.lfs.sha256 if entry.lfs is not None else None
            if sha256 is not None and not _HEX64.match(sha256):
                raise AcquireError(
                    f"{self.where}: the Hub listed {entry.path} with a malformed LFS sha256"
                )
            if not _HEX40.match(entry.blob_id or ""):
                raise AcquireError(
                    f"{self.where}: the Hub listed {entry.path} with a malformed git blob id"
                )
            sec = entry.security
            out.append(
                HubFile(
                    path=entry.path,
                    size=int(entry.lfs.size if entry.lfs is not None else entry.size),
                    blob_id=entry.blob_id,
                    sha256=sha256,
                    security=sec.status if sec is not None else None,
                    security_detail=(
                        {
                            "status": sec.status,
                            "av_scan": sec.av_scan,
                            "pickle_import_scan": sec.pickle_import_scan,
                        }
                        if sec is not None
                        else None
                    ),
                )
            )
        return sorted(out, key=lambda f: f.path.encode())

    def account_created_at(self, owner: str) -> tuple[str | None, _dt.datetime | None]:
        """Return ``(user|org|None, creation date or None)`` of ``owner``; never raises for Hub errors."""
        import httpx2
        from huggingface_hub import errors as hf

        for kind, call in (
            ("user", self.api.get_user_overview),
            ("org", self.api.get_organization_overview),
        ):
            try:
                overview = call(owner)
            except (hf.HfHubHTTPError, httpx2.HTTPError, ValueError, KeyError, TypeError):
                continue  # best effort: the account age is a signal, not a requirement
            created = getattr(overview, "createdAt", None) or getattr(overview, "created_at", None)
            when: _dt.datetime | None = None
            if isinstance(created, str):
                try:
                    when = _dt.datetime.fromisoformat(created.replace("Z", "+00:00"))
                except ValueError:
                    when = None
            elif isinstance(created, _dt.datetime):
                when = created
            return kind, when
        return None, None


def _signals(
    repo_id: str, info: Any, files: Sequence[HubFile], account: tuple[str | None, Any]
) -> TrustSignals:
    owner, name = repo_id.split("/", 1)
    gated = getattr(info, "gated", None)
    tags = getattr(info, "tags", None) or []
    return TrustSignals(
        repo_id=repo_id,
        owner=owner,
        name=name,
        author=getattr(info, "author", None),
        author_type=account[0],
        account_created_at=account[1],
        repo_created_at=getattr(info, "created_at", None),
        last_modified=getattr(info, "last_modified", None),
        downloads=getattr(info, "downloads", None),
        downloads_all_time=getattr(info, "downloads_all_time", None),
        likes=getattr(info, "likes", None),
        gated=gated if isinstance(gated, (str, bool)) else None,
        private=getattr(info, "private", None),
        disabled=getattr(info, "disabled", None),
        licenses=card_licenses(getattr(info, "card_data", None)),
        card_present=any(f.path == "README.md" for f in files),
        tags=tuple(sorted(t for t in tags if isinstance(t, str))),
    )


def _verify(
    root: Path, files: Iterable[HubFile], where: str
) -> tuple[list[Finding], dict[str, bool]]:
    """Hash every listed file under ``root`` and compare with the Hub; return findings and per-path ok."""
    findings: list[Finding] = []
    ok: dict[str, bool] = {}
    for f in files:
        local = root / f.path
        try:
            st = local.lstat()
        except FileNotFoundError:
            st = None
        if st is None or not stat.S_ISREG(st.st_mode):
            ok[f.path] = False
            findings.append(
                Finding(
                    path=f.path,
                    rule="integrity.hub_missing",
                    category="integrity",
                    severity=Severity.HIGH,
                    message=f"{where}: {f.path} is listed by the Hub but "
                    + ("missing locally" if st is None else "is not a regular file locally"),
                    evidence={
                        "expected_size": f.size,
                        "expected_sha256": f.sha256,
                        "expected_git_blob_id": f.blob_id,
                    },
                )
            )
            continue
        size, sha256, blob = git_blob_id(local)
        expected = f.sha256 if f.sha256 is not None else f.blob_id
        actual = sha256 if f.sha256 is not None else blob
        good = size == f.size and actual == expected
        ok[f.path] = good
        if not good:
            findings.append(
                Finding(
                    path=f.path,
                    rule="integrity.hub_mismatch",
                    category="integrity",
                    severity=Severity.CRITICAL,
                    message=f"{where}: {f.path} does not match the Hub's "
                    + ("LFS sha256" if f.sha256 is not None else "git blob id")
                    + " (tampered or corrupted download)",
                    evidence={
                        "algorithm": "sha256" if f.sha256 is not None else "git-blob-sha1",
                        "expected": expected,
                        "actual": actual,
                        "expected_size": f.size,
                        "actual_size": size,
                    },
                )
            )
    return findings, ok


def _local_files(root: Path) -> tuple[list[str], list[str]]:
    """Return (regular files, other entries incl. symlinks) under ``root``, relative, client metadata excluded."""
    files: list[str] = []
    odd: list[str] = []
    if not root.exists():
        return files, odd
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        rel_dir = Path(dirpath).relative_to(root)
        for d in list(dirnames):
            rel = (rel_dir / d).as_posix()
            if PurePosixPath(rel) == _CLIENT_META:
                dirnames.remove(d)
            elif (Path(dirpath) / d).is_symlink():
                odd.append(rel)
                dirnames.remove(d)
        for name in filenames:
            rel = (rel_dir / name).as_posix()
            st = (Path(dirpath) / name).lstat()
            (files if stat.S_ISREG(st.st_mode) else odd).append(rel)
    return sorted(files), sorted(odd)


def _default_dest(repo_id: str, commit: str) -> Path:
    base = os.environ.get("DATAGATE_HUB_DIR")
    if base:
        root = Path(base)
    else:
        root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "datagate" / "hub"
    owner, name = repo_id.split("/", 1)
    return root / "datasets" / owner / name / commit


def _resolve_endpoint(endpoint: str | None) -> str:
    """Return the endpoint: explicit, else ``HF_ENDPOINT`` read now (not at import), else the Hub."""
    if endpoint:
        return endpoint.rstrip("/")
    env = os.environ.get("HF_ENDPOINT")
    if env:
        return env.rstrip("/")
    return "https://huggingface.co"


def _public(url: str) -> str:
    """Return ``url`` without any ``user:password@`` part, for messages and records."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _resolve_cache_dir(cache_dir: Path | None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir)
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]) / "hub"
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


class HubSource(Source):
    """A dataset repo on the Hugging Face Hub, acquired at a pinned commit and verified byte for byte.

    ``revision`` is a branch, tag or 40-hex commit (default ``main``); ``include``/``exclude`` are
    fnmatch globs on repo paths (a pattern ending in ``/`` matches a folder); ``token`` is passed
    to the client only (None: the client's own lookup, ``HF_TOKEN`` first; False: anonymous);
    ``parquet_export`` acquires ``refs/convert/parquet`` instead; ``endpoint`` defaults to
    ``HF_ENDPOINT`` read at call time. ``trust_policy`` is the policy's ``trust:`` mapping.
    """

    def __init__(
        self,
        repo_id: str,
        revision: str | None = None,
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
        token: str | bool | None = None,
        parquet_export: bool = False,
        endpoint: str | None = None,
        *,
        cache_dir: Path | None = None,
        trust_policy: TrustPolicy | Mapping[str, Any] | None = None,
        now: _dt.datetime | None = None,
    ) -> None:
        owner_name = repo_id.split("/")
        if len(owner_name) != 2:
            raise UsageError(f"{repo_id!r} is not a Hub dataset id (OWNER/NAME)")
        parse_hf_uri(f"hf://datasets/{repo_id}")
        if parquet_export and revision not in (None, PARQUET_EXPORT_REVISION):
            raise UsageError(
                f"hf://datasets/{repo_id}: --parquet-export acquires {PARQUET_EXPORT_REVISION} at its own commit;"
                f" it cannot be combined with revision {revision!r}"
            )
        if revision is not None:
            _check_revision(revision, f"hf://datasets/{repo_id}")
        self.repo_id = repo_id
        self.revision = PARQUET_EXPORT_REVISION if parquet_export else revision
        self.include = tuple(include)
        self.exclude = tuple(exclude)
        self._token = token
        self.parquet_export = parquet_export
        self.endpoint = endpoint
        self.cache_dir = cache_dir
        self.trust_policy = TrustPolicy.from_mapping(trust_policy)
        self.now = now

    def __repr__(self) -> str:  # never show the token
        return f"HubSource({self.repo_id!r}, revision={self.revision!r}, include={self.include!r}, exclude={self.exclude!r})"

    def with_trust_policy(self, trust: TrustPolicy | Mapping[str, Any] | None) -> HubSource:
        """Return a copy of this source that evaluates ``trust`` (the policy's ``trust:`` mapping).

        Raises :class:`~datagate.errors.ConfigError` when the mapping is invalid.
        """
        clone = copy.copy(self)
        clone.trust_policy = TrustPolicy.from_mapping(trust)
        return clone

    @classmethod
    def from_uri(
        cls,
        text: str,
        *,
        revision: str | None = None,
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
        parquet_export: bool = False,
        **kwargs: Any,
    ) -> HubSource:
        """Return the source for ``hf://datasets/OWNER/NAME[@REVISION]``.

        ``revision`` (``--revision``) may repeat the URI's ``@REVISION``; two different revisions
        are a :class:`~datagate.errors.UsageError`. Other keywords go to the constructor
        (``token``, ``endpoint``, ``cache_dir``, ``trust_policy``).
        """
        repo_id, uri_rev = parse_hf_uri(text)
        if uri_rev is not None and revision is not None and uri_rev != revision:
            raise UsageError(
                f"{text!r}: the URI names revision {uri_rev!r} but --revision says {revision!r}"
            )
        return cls(
            repo_id,
            revision=revision or uri_rev,
            include=include,
            exclude=exclude,
            parquet_export=parquet_export,
            **kwargs,
        )

    @property
    def requested_revision(self) -> str:
        """Return the revision that will be resolved (``main`` when none was given)."""
        return self.revision or "main"

    def describe(self) -> SourceInfo:
        """Return the source's identity without touching the network (resolved revision unknown yet)."""
        return SourceInfo(
            kind="hf",
            uri=f"hf://datasets/{self.repo_id}",
            requested_revision=self.requested_revision,
        )

    def acquire(self, dest: Path | None, *, progress: ProgressSink = NULL_PROGRESS) -> Acquired:
        """Download the pinned, filtered file set into ``dest`` and verify every byte against the Hub.

        ``dest`` None picks ``$DATAGATE_HUB_DIR`` (or ``~/.cache/datagate/hub``)
        ``/datasets/OWNER/NAME/COMMIT``. ``dest`` must be empty or hold only files of this listing
        (a re-run resumes: files already complete are not fetched again, and everything is
        re-verified). Returns an :class:`Acquired` whose findings hold integrity mismatches,
        missing files, Hub scan verdicts and trust-policy hits.

        Raises :class:`~datagate.errors.AcquireError` (one line naming repo and revision) when the
        repo, revision or network fails, access is refused, or ``dest`` holds foreign files.
        """
        requested = self.requested_revision
        client = _Client(
            self.repo_id, requested, endpoint=_resolve_endpoint(self.endpoint), token=self._token
        )
        where = client.where
        info = client.info()
        commit = getattr(info, "sha", None)
        if not _is_hex40(commit):
            raise AcquireError(
                f"{where}: the Hub did not return a 40-hex commit id for the revision"
            )
        assert commit is not None
        if _is_hex40(requested) and commit != requested:
            raise AcquireError(
                f"{where}: the Hub resolved the pinned commit to a different commit {commit}"
            )
        pinned = f"hf://datasets/{self.repo_id}@{commit}"
        client.where = pinned if requested == commit else f"{where} ({commit[:12]})"
        where = client.where

        listing = client.listing(commit)
        files = [f for f in listing if _selected(f.path, self.include, self.exclude)]
        if not files:
            raise AcquireError(
                f"{where}: no files to acquire ({len(listing)} listed, none match --include/--exclude)"
            )
        unsafe = [f.path for f in files if not _safe_relpath(f.path)]
        if unsafe:
            raise AcquireError(
                f"{where}: the Hub listed unsafe paths {unsafe[:3]!r}; refusing to download"
            )

        root = Path(dest) if dest is not None else _default_dest(self.repo_id, commit)
        present, odd = _local_files(root)
        wanted = {f.path for f in files}
        foreign = [p for p in present if p not in wanted] + odd
        if foreign:
            raise AcquireError(
                f"{where}: destination {root} holds {len(foreign)} entries that are not files of this revision"
                f" (e.g. {foreign[0]}); use an empty --dest",
            )
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise AcquireError(f"{where}: cannot create destination {root}: {e.strerror}") from e

        account = client.account_created_at(self.repo_id.split("/", 1)[0])
        signals = _signals(self.repo_id, info, listing, account)

        findings: list[Finding] = []
        # files already here with exactly the published bytes (a re-run, or datagate's Hub cache
        # for scan/check) are not fetched again; everything is verified again below anyway
        present_ok = [f for f in files if (root / f.path).is_file() and (root / f.path).stat().st_size == f.size]
        _, done = _verify(root, present_ok, where) if present_ok else ([], {})
        to_fetch = [f for f in files if not done.get(f.path)]
        findings.extend(self._download(client, commit, to_fetch, root, progress))
        try:
            verified, ok = _verify(root, files, where)
        except OSError as e:
            raise AcquireError(
                f"{where}: cannot read a downloaded file to verify it: {e.strerror or e}"
            ) from e
        reported = {f.path for f in findings}  # a download-time verdict already names these files
        findings.extend(f for f in verified if f.path not in reported)
        findings.extend(
            evaluate_security(self.repo_id, {f.path: f.security for f in files}, self.trust_policy)
        )
        findings.extend(evaluate(signals, self.trust_policy, now=self.now))
        shutil.rmtree(root / _CLIENT_META, ignore_errors=True)
        try:
            (root / ".cache").rmdir()
        except OSError:
            pass

        remote: dict[str, dict[str, Any]] = {}
        for f in files:
            rec = f.to_record()
            rec["verified"] = ok.get(f.path, False)
            remote[f.path] = rec
        trust = signals.to_dict()
        trust["endpoint"] = _public(client.endpoint)
        if self.include or self.exclude:
            trust["selection"] = {
                "include": list(self.include),
                "exclude": list(self.exclude),
                "listed": len(listing),
            }
        return Acquired(
            root=root,
            source=SourceInfo(
                kind="hf",
                uri=f"hf://datasets/{self.repo_id}",
                requested_revision=requested,
                resolved_revision=commit,
            ),
            findings=tuple(sorted(findings, key=lambda f: (f.path, f.rule))),
            trust=trust,
            remote_files=remote,
        )

    def _download(
        self,
        client: _Client,
        commit: str,
        files: Sequence[HubFile],
        root: Path,
        progress: ProgressSink,
    ) -> list[Finding]:
        from huggingface_hub import errors as hf
        from huggingface_hub import hf_hub_download

        from datagate import __version__

        cache_dir = _resolve_cache_dir(self.cache_dir)
        findings: list[Finding] = []
        task = progress.task(
            f"download {client.where}", total=len(files), total_bytes=sum(f.size for f in files)
        )
        bar = _bar_class(task)
        try:
            for f in files:
                try:
                    hf_hub_download(
                        self.repo_id,
                        f.path,
                        repo_type="dataset",
                        revision=commit,
                        local_dir=root,
                        cache_dir=cache_dir,
                        endpoint=client.endpoint,
                        token=self._token,
                        library_name="datagate",
                        library_version=__version__,
                        tqdm_class=bar,  # duck-typed: the client calls non-tqdm classes plainly
                    )
                except hf.RemoteEntryNotFoundError:
                    findings.append(
                        Finding(
                            path=f.path,
                            rule="integrity.hub_missing",
                            category="integrity",
                            severity=Severity.HIGH,
                            message=f"{client.where}: {f.path} is listed by the Hub but could not be downloaded (404)",
                            evidence={"expected_size": f.size, "expected_sha256": f.sha256},
                        )
                    )
                except OSError as e:
                    if str(e).startswith("Consistency check failed"):
                        # The server sent a complete response of the wrong size: the listing and the bytes
                        # disagree, which is what tampering looks like.
                        findings.append(
                            Finding(
                                path=f.path,
                                rule="integrity.hub_mismatch",
                                category="integrity",
                                severity=Severity.CRITICAL,
                                message=f"{client.where}: {f.path} was served with a size other than the Hub lists",
                                evidence={"expected_size": f.size},
                            )
                        )
                    else:
                        raise client.fail(e, f"downloading {f.path}") from e
                except Exception as e:
                    raise client.fail(e, f"downloading {f.path}") from e
                task.advance(1, 0)
        finally:
            task.close()
        return findings


def check_local_against_hub(
    local_dir: Path | str,
    repo_id: str,
    revision: str,
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    endpoint: str | None = None,
    token: str | bool | None = None,
) -> list[Finding]:
    """Verify a folder downloaded earlier against the Hub listing of ``revision``, downloading nothing.

    Returns findings sorted by path: ``integrity.hub_mismatch`` (critical) for a file whose bytes
    differ from the Hub's hash, ``integrity.hub_missing`` (high) for a listed file that is absent,
    ``integrity.hub_extra`` (high) for a local file the revision does not have. An empty list means
    every listed (and selected) file is present and byte-identical. The client's own metadata
    folder ``.cache/huggingface`` is ignored.

    Raises :class:`~datagate.errors.AcquireError` when the folder does not exist or the Hub cannot
    be asked (unknown repo or revision, refused access, no network).
    """
    root = Path(local_dir)
    _check_revision(revision, f"hf://datasets/{repo_id}")
    parse_hf_uri(f"hf://datasets/{repo_id}")
    if not root.is_dir():
        raise AcquireError(
            f"{root}: not a directory to check against hf://datasets/{repo_id}@{revision}"
        )
    client = _Client(repo_id, revision, endpoint=_resolve_endpoint(endpoint), token=token)
    info = client.info()
    commit = getattr(info, "sha", None)
    if not _is_hex40(commit):
        raise AcquireError(
            f"{client.where}: the Hub did not return a 40-hex commit id for the revision"
        )
    assert commit is not None
    files = [f for f in client.listing(commit) if _selected(f.path, include, exclude)]
    findings, _ = _verify(root, files, client.where)
    present, odd = _local_files(root)
    wanted = {f.path for f in files}
    for p in [p for p in present if p not in wanted and _selected(p, include, exclude)] + odd:
        findings.append(
            Finding(
                path=p,
                rule="integrity.hub_extra",
                category="integrity",
                severity=Severity.HIGH,
                message=f"{client.where}: {p} is not a file of this revision (added locally)",
                evidence={"resolved_revision": commit},
            )
        )
    return sorted(findings, key=lambda f: (f.path, f.rule))


def remote_listing(
    repo_id: str, commit: str, *, endpoint: str | None = None, token: str | bool | None = None
) -> list[HubFile]:
    """Return every file the Hub lists at ``commit`` (paths, sizes, git blob ids, LFS sha256),
    downloading nothing. Raises AcquireError naming repo and commit when the Hub cannot answer."""
    client = _Client(repo_id, commit, endpoint=_resolve_endpoint(endpoint), token=token)
    return client.listing(commit)
