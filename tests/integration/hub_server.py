"""A small, threaded, stdlib-only stand-in for the Hugging Face Hub, for tests.

It implements exactly the endpoints ``huggingface_hub`` (2.x) calls for dataset intake, with the
headers the real client needs, and serves repos built from folders or ``{path: bytes}`` mappings
with **real git ids**: blob ids are ``sha1("blob <len>\\0" + bytes)``, LFS files are stored as git-lfs
pointer blobs, trees and commits are hashed the way git hashes them.

Endpoints (``{repo}`` is ``OWNER/NAME``, ``{rev}`` one percent-encoded path segment):

* ``GET  /api/datasets/{repo}`` and ``/api/datasets/{repo}/revision/{rev}``: repo info
* ``GET  /api/datasets/{repo}/tree/{rev}[/{path}]?recursive=&expand=&cursor=``: listing with
  LFS info, optional ``lastCommit``/``securityFileStatus`` (``expand``), ``Link`` pagination
* ``POST /api/datasets/{repo}/paths-info/{rev}`` (form ``paths``, ``expand``)
* ``GET  /api/datasets/{repo}/refs``: branches, tags, converts
* ``HEAD|GET /datasets/{repo}/resolve/{rev}/{path}``: small files answered directly (``ETag`` =
  git blob id, ``X-Repo-Commit``, ``Content-Length``); LFS files answered with a 302 to a "CDN" on
  another origin (``localhost`` vs ``127.0.0.1``, same port) carrying ``X-Linked-Etag`` (sha256),
  ``X-Linked-Size`` and ``X-Repo-Commit``, like the real Hub. ``Range`` is honoured.
* ``GET  /api/users/{name}/overview`` and ``/api/organizations/{name}/overview``

No Xet headers are ever sent, so the client always uses plain HTTP downloads.

Fault switches (attributes of :class:`FakeHub`): ``tampered`` (serve other bytes of the same length),
``resized`` (serve the bytes with more appended, so the size differs from the listing),
``omitted`` (listed but the download answers 404 EntryNotFound), ``die_after`` (close the socket
after N bytes of a file: once, or then answer 503 until :meth:`FakeHub.revive`), gated repos (401
``GatedRepo`` on downloads without a valid token), private repos (401 on everything), unknown
repos and revisions (404 with the Hub's ``X-Error-Code``). Every request is logged (method, path,
whether it carried an Authorization header) so tests can assert what the client did.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

__all__ = ["FakeHub", "HubFile", "HubRepo", "RequestLog", "git_blob_id"]

LFS_SUFFIXES = (".parquet", ".arrow", ".bin", ".zip", ".gz", ".pkl", ".npy", ".safetensors")
"""Files with these suffixes are stored as LFS objects (like a ``.gitattributes`` would say)."""

_AUTHOR = "Fixture Author <fixture@example.invalid>"
_EPOCH = 1_700_000_000


def git_blob_id(data: bytes) -> str:
    """Return git's blob id (hex sha1) of ``data``."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _lfs_pointer(sha256: str, size: int) -> bytes:
    return (
        f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()
    )


@dataclass(frozen=True)
class HubFile:
    """One file of a commit as the Hub stores it."""

    path: str
    content: bytes
    lfs: bool
    security: Mapping[str, Any] | None = None

    @property
    def sha256(self) -> str:
        """Return the SHA-256 of the content."""
        return hashlib.sha256(self.content).hexdigest()

    @property
    def pointer(self) -> bytes:
        """Return the bytes git stores: the content, or the LFS pointer for LFS files."""
        return _lfs_pointer(self.sha256, len(self.content)) if self.lfs else self.content

    @property
    def oid(self) -> str:
        """Return the git blob id of what git stores (the pointer for LFS files)."""
        return git_blob_id(self.pointer)

    def entry(self, *, expand: bool, commit: Commit) -> dict[str, Any]:
        """Return the tree-listing JSON of this file."""
        out: dict[str, Any] = {
            "type": "file",
            "oid": self.oid,
            "size": len(self.content),
            "path": self.path,
        }
        if self.lfs:
            out["lfs"] = {
                "oid": self.sha256,
                "size": len(self.content),
                "pointerSize": len(self.pointer),
            }
        if expand:
            out["lastCommit"] = {"id": commit.oid, "title": commit.message, "date": commit.iso_date}
            out["securityFileStatus"] = (
                dict(self.security)
                if self.security is not None
                else {
                    "status": "safe",
                    "avScan": {"virusFound": False, "virusNames": None},
                    "pickleImportScan": None,
                }
            )
        return out


@dataclass(frozen=True)
class Commit:
    """A commit: its files, its tree and commit ids."""

    oid: str
    tree_oid: str
    files: Mapping[str, HubFile]
    message: str
    timestamp: int
    parent: str | None

    @property
    def iso_date(self) -> str:
        """Return the commit date in the Hub's ISO format."""
        import datetime as _dt

        return _dt.datetime.fromtimestamp(self.timestamp, _dt.timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%S.000Z"
        )

    def dirs(self) -> set[str]:
        """Return every folder path of the commit."""
        out: set[str] = set()
        for p in self.files:
            parts = p.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                out.add("/".join(parts[:i]))
        return out


def _tree_oid(files: Mapping[str, HubFile], prefix: str, trees: dict[str, str]) -> str:
    """Hash the git tree under ``prefix`` ('' for the root), filling ``trees`` with folder ids."""
    children: dict[str, tuple[str, bytes]] = {}  # name -> (mode, raw oid)
    subdirs: set[str] = set()
    for p, f in files.items():
        if prefix and not p.startswith(prefix + "/"):
            continue
        rest = p[len(prefix) + 1 :] if prefix else p
        if "/" in rest:
            subdirs.add(rest.split("/", 1)[0])
        else:
            children[rest] = ("100644", bytes.fromhex(f.oid))
    for d in subdirs:
        sub = f"{prefix}/{d}" if prefix else d
        oid = _tree_oid(files, sub, trees)
        trees[sub] = oid
        children[d] = ("40000", bytes.fromhex(oid))

    def sort_key(name: str) -> bytes:
        return (name + "/" if children[name][0] == "40000" else name).encode()

    body = b"".join(
        children[n][0].encode() + b" " + n.encode() + b"\0" + children[n][1]
        for n in sorted(children, key=sort_key)
    )
    return hashlib.sha1(b"tree %d\0" % len(body) + body).hexdigest()


def _commit_oid(tree: str, parent: str | None, message: str, ts: int) -> str:
    lines = [f"tree {tree}"]
    if parent:
        lines.append(f"parent {parent}")
    lines.append(f"author {_AUTHOR} {ts} +0000")
    lines.append(f"committer {_AUTHOR} {ts} +0000")
    body = ("\n".join(lines) + "\n\n" + message + "\n").encode()
    return hashlib.sha1(b"commit %d\0" % len(body) + body).hexdigest()


@dataclass
class HubRepo:
    """A dataset repo: commits, refs and the metadata the info endpoint returns."""

    repo_id: str
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    converts: dict[str, str] = field(default_factory=dict)
    trees: dict[str, dict[str, str]] = field(default_factory=dict)
    gated: bool = False
    private: bool = False
    meta: dict[str, Any] = field(default_factory=dict)

    def resolve(self, rev: str) -> Commit | None:
        """Return the commit ``rev`` (branch, tag, ``refs/convert/NAME`` or 40-hex id) names."""
        for table in (self.branches, self.tags):
            if rev in table:
                return self.commits[table[rev]]
        if rev.startswith("refs/heads/") and rev[11:] in self.branches:
            return self.commits[self.branches[rev[11:]]]
        if rev.startswith("refs/convert/") and rev[13:] in self.converts:
            return self.commits[self.converts[rev[13:]]]
        return self.commits.get(rev)


@dataclass(frozen=True)
class RequestLog:
    """One request the server received."""

    method: str
    path: str
    authorized: bool
    headers: Mapping[str, str]


class FakeHub:
    """The server. Use as a context manager; ``endpoint`` is the URL to hand to the client."""

    def __init__(self, *, page_size: int = 50) -> None:
        self.repos: dict[str, HubRepo] = {}
        self.tokens: set[str] = set()
        self.users: dict[str, dict[str, Any]] = {}
        self.orgs: dict[str, dict[str, Any]] = {}
        self.page_size = page_size
        self.tampered: set[tuple[str, str]] = set()
        self.omitted: set[tuple[str, str]] = set()
        self.resized: set[tuple[str, str]] = set()
        self.die_after: dict[tuple[str, str], tuple[int, str]] = {}
        self.down = False
        self.plain_revision_404 = False
        """Answer an unknown revision with a bare 404 (no ``X-Error-Code``), as some Hub
        endpoints and mirrors do."""
        self.log: list[RequestLog] = []
        self._lock = threading.Lock()
        self._clock = _EPOCH
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- building repos -------------------------------------------------------------------

    def add_repo(
        self,
        repo_id: str,
        files: Mapping[str, bytes] | Path,
        *,
        gated: bool = False,
        private: bool = False,
        lfs: tuple[str, ...] = LFS_SUFFIXES,
        security: Mapping[str, Mapping[str, Any]] | None = None,
        **meta: Any,
    ) -> str:
        """Create ``repo_id`` with one commit on ``main`` holding ``files``; return the commit id.

        ``files`` is a ``{relpath: bytes}`` mapping or a folder to read. ``meta`` keys are Hub info
        fields (``author``, ``createdAt``, ``downloads``, ``likes``, ``cardData`` ...).
        """
        repo = HubRepo(repo_id, gated=gated, private=private, meta=dict(meta))
        self.repos[repo_id] = repo
        return self.commit(repo_id, files, lfs=lfs, security=security, message="initial commit")

    def commit(
        self,
        repo_id: str,
        files: Mapping[str, bytes] | Path,
        *,
        branch: str = "main",
        lfs: tuple[str, ...] = LFS_SUFFIXES,
        security: Mapping[str, Mapping[str, Any]] | None = None,
        message: str = "update",
    ) -> str:
        """Add a commit holding exactly ``files`` on ``branch``; return its id."""
        repo = self.repos[repo_id]
        if isinstance(files, Path):
            files = {
                p.relative_to(files).as_posix(): p.read_bytes()
                for p in sorted(files.rglob("*"))
                if p.is_file()
            }
        sec = security or {}
        built = {
            p: HubFile(p, data, lfs=p.endswith(lfs), security=sec.get(p))
            for p, data in sorted(files.items())
        }
        trees: dict[str, str] = {}
        tree = _tree_oid(built, "", trees)
        self._clock += 3600
        parent = repo.branches.get(branch)
        oid = _commit_oid(tree, parent, message, self._clock)
        repo.commits[oid] = Commit(oid, tree, built, message, self._clock, parent)
        repo.trees[oid] = trees
        if branch.startswith("refs/convert/"):
            repo.converts[branch[13:]] = oid
        else:
            repo.branches[branch] = oid
        return oid

    def tag(self, repo_id: str, name: str, oid: str) -> None:
        """Point tag ``name`` at commit ``oid``."""
        self.repos[repo_id].tags[name] = oid

    def revive(self) -> None:
        """Bring the server back after a ``die_after(..., 'down')`` fault; clear that fault."""
        self.down = False
        self.die_after.clear()

    # -- lifecycle --------------------------------------------------------------------------

    def __enter__(self) -> FakeHub:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start serving on an ephemeral port of 127.0.0.1."""
        hub = self

        class Handler(_Handler):
            fake = hub

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fake-hub", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @property
    def port(self) -> int:
        """Return the listening port."""
        assert self._server is not None, "server not started"
        return int(self._server.server_address[1])

    @property
    def endpoint(self) -> str:
        """Return the Hub endpoint URL to give to the client."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def cdn(self) -> str:
        """Return the 'CDN' origin (same server, other host name, so the client treats it as off-Hub)."""
        return f"http://localhost:{self.port}"

    def paths_requested(self, method: str | None = None) -> list[str]:
        """Return the request paths seen so far (optionally only for ``method``)."""
        with self._lock:
            return [r.path for r in self.log if method is None or r.method == method]


class _Handler(BaseHTTPRequestHandler):
    fake: FakeHub
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # one small response must not wait for a delayed ACK
    timeout = 10
    server_version = "FakeHub/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (stdlib signature)
        return None

    # -- plumbing ---------------------------------------------------------------------------

    def _record(self) -> None:
        with self.fake._lock:
            self.fake.log.append(
                RequestLog(
                    self.command,
                    self.path,
                    "authorization" in {k.lower() for k in self.headers},
                    {k: v for k, v in self.headers.items() if k.lower() != "authorization"},
                )
            )

    def _token(self) -> str | None:
        auth = self.headers.get("Authorization", "")
        return auth[7:] if auth.startswith("Bearer ") else None

    def _send(
        self, status: int, body: bytes = b"", headers: Mapping[str, str] | None = None
    ) -> None:
        self.send_response(status)
        hdrs = dict(headers or {})
        hdrs.setdefault("Content-Length", str(len(body)))
        for k, v in hdrs.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def _json(self, obj: Any, headers: Mapping[str, str] | None = None) -> None:
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        self._send(200, json.dumps(obj).encode(), h)

    def _error(
        self, status: int, code: str | None, message: str, extra: Mapping[str, str] | None = None
    ) -> None:
        h = {"Content-Type": "application/json", "X-Error-Message": message}
        if code:
            h["X-Error-Code"] = code
        h.update(extra or {})
        self._send(status, json.dumps({"error": message}).encode(), h)

    def do_HEAD(self) -> None:  # noqa: N802  (stdlib naming)
        self._dispatch()

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch()

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch()

    def _dispatch(self) -> None:
        self._record()
        body = b""
        if self.command == "POST":
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.fake.down:
            self._error(503, None, "Service Unavailable")
            return
        split = urlsplit(self.path)
        segs = split.path.split("/")[1:]
        query = parse_qs(split.query)
        try:
            self._route(segs, query, body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _route(self, segs: list[str], query: dict[str, list[str]], body: bytes) -> None:
        if len(segs) >= 4 and segs[:2] == ["api", "datasets"]:
            repo_id = f"{unquote(segs[2])}/{unquote(segs[3])}"
            repo = self._repo(repo_id, listing=True)
            if repo is None:
                return
            rest = segs[4:]
            if not rest:
                self._info(repo, "main")
            elif rest[0] == "revision" and len(rest) == 2:
                self._info(repo, unquote(rest[1]))
            elif rest[0] == "tree" and len(rest) >= 2:
                self._tree(repo, unquote(rest[1]), "/".join(unquote(s) for s in rest[2:]), query)
            elif rest[0] == "paths-info" and len(rest) == 2 and self.command == "POST":
                self._paths_info(repo, unquote(rest[1]), parse_qs(body.decode()))
            elif rest == ["refs"]:
                self._refs(repo)
            else:
                self._error(404, None, "Not Found")
        elif len(segs) >= 6 and segs[0] == "datasets" and segs[3] == "resolve":
            repo_id = f"{unquote(segs[1])}/{unquote(segs[2])}"
            repo = self._repo(repo_id, listing=False)
            if repo is not None:
                self._resolve(repo, unquote(segs[4]), "/".join(unquote(s) for s in segs[5:]))
        elif len(segs) == 4 and segs[0] == "cdn":
            self._cdn(unquote(segs[1]), unquote(segs[2]), segs[3])
        elif len(segs) == 4 and segs[:2] == ["api", "users"] and segs[3] == "overview":
            self._overview(self.fake.users.get(unquote(segs[2])), "user")
        elif len(segs) == 4 and segs[:2] == ["api", "organizations"] and segs[3] == "overview":
            self._overview(self.fake.orgs.get(unquote(segs[2])), "org")
        else:
            self._error(404, None, "Not Found")

    def _repo(self, repo_id: str, *, listing: bool) -> HubRepo | None:
        repo = self.fake.repos.get(repo_id)
        if repo is None:
            self._error(404, "RepoNotFound", "Repository not found")
            return None
        authed = self._token() in self.fake.tokens
        if repo.private and not authed:
            # The real Hub answers 401 for private repos without a valid token.
            self._error(401, "RepoNotFound", "Repository not found")
            return None
        if repo.gated and not authed and not listing:
            self._error(
                401, "GatedRepo", "Access to this dataset is restricted. You must be authenticated."
            )
            return None
        return repo

    def _commit(self, repo: HubRepo, rev: str) -> Commit | None:
        commit = repo.resolve(rev)
        if commit is None:
            self._error(404, None if self.fake.plain_revision_404 else "RevisionNotFound", f"Invalid rev id: {rev}")
        return commit

    # -- API --------------------------------------------------------------------------------

    def _info(self, repo: HubRepo, rev: str) -> None:
        commit = self._commit(repo, rev)
        if commit is None:
            return
        owner = repo.repo_id.split("/")[0]
        info: dict[str, Any] = {
            "_id": hashlib.sha1(repo.repo_id.encode()).hexdigest()[:24],
            "id": repo.repo_id,
            "author": owner,
            "sha": commit.oid,
            "createdAt": "2024-01-01T00:00:00.000Z",
            "lastModified": commit.iso_date,
            "private": repo.private,
            "gated": "manual" if repo.gated else False,
            "disabled": False,
            "downloads": 0,
            "likes": 0,
            "tags": [],
            "siblings": [{"rfilename": p} for p in sorted(commit.files)],
        }
        info.update(repo.meta)
        self._json(info)

    def _entries(self, commit: Commit, repo: HubRepo, *, expand: bool) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for d in commit.dirs():
            out[d] = {"type": "directory", "oid": repo.trees[commit.oid][d], "size": 0, "path": d}
            if expand:
                out[d]["lastCommit"] = {
                    "id": commit.oid,
                    "title": commit.message,
                    "date": commit.iso_date,
                }
        for p, f in commit.files.items():
            out[p] = f.entry(expand=expand, commit=commit)
        return out

    def _tree(self, repo: HubRepo, rev: str, path: str, query: dict[str, list[str]]) -> None:
        commit = self._commit(repo, rev)
        if commit is None:
            return
        recursive = query.get("recursive", ["False"])[0].lower() in ("true", "1")
        expand = query.get("expand", ["False"])[0].lower() in ("true", "1")
        entries = self._entries(commit, repo, expand=expand)
        if path and path not in commit.dirs():
            self._error(404, "EntryNotFound", f"{path} does not exist on {rev}")
            return
        prefix = path + "/" if path else ""
        selected = [
            e
            for p, e in sorted(entries.items())
            if p.startswith(prefix) and (recursive or "/" not in p[len(prefix) :])
        ]
        start = int(query.get("cursor", ["0"])[0])
        page = selected[start : start + self.fake.page_size]
        headers: dict[str, str] = {}
        if start + self.fake.page_size < len(selected):
            q = f"recursive={recursive}&expand={expand}&cursor={start + self.fake.page_size}"
            url = f"{self.fake.endpoint}{urlsplit(self.path).path}?{q}"
            headers["Link"] = f'<{url}>; rel="next"'
        self._json(page, headers)

    def _paths_info(self, repo: HubRepo, rev: str, form: dict[str, list[str]]) -> None:
        commit = self._commit(repo, rev)
        if commit is None:
            return
        expand = form.get("expand", ["False"])[0].lower() in ("true", "1")
        entries = self._entries(commit, repo, expand=expand)
        self._json([entries[p] for p in form.get("paths", []) if p in entries])

    def _refs(self, repo: HubRepo) -> None:
        def refs(table: Mapping[str, str], kind: str) -> list[dict[str, str]]:
            return [
                {"name": n, "ref": f"refs/{kind}/{n}", "targetCommit": c}
                for n, c in sorted(table.items())
            ]

        self._json(
            {
                "branches": refs(repo.branches, "heads"),
                "tags": refs(repo.tags, "tags"),
                "converts": refs(repo.converts, "convert"),
                "pullRequests": [],
            }
        )

    def _overview(self, data: Mapping[str, Any] | None, kind: str) -> None:
        if data is None:
            self._error(404, None, f"{kind} not found")
        else:
            self._json(dict(data))

    # -- files ------------------------------------------------------------------------------

    def _resolve(self, repo: HubRepo, rev: str, path: str) -> None:
        commit = self._commit(repo, rev)
        if commit is None:
            return
        f = commit.files.get(path)
        if f is None or (repo.repo_id, path) in self.fake.omitted:
            self._error(
                404, "EntryNotFound", f"{path} does not exist", {"X-Repo-Commit": commit.oid}
            )
            return
        if f.lfs:
            self._send(
                302,
                b"",
                {
                    "Location": f"{self.fake.cdn}/cdn/{quote(repo.repo_id, safe='')}/{quote(path, safe='')}/{f.sha256}",
                    "X-Repo-Commit": commit.oid,
                    "X-Linked-Etag": f'"{f.sha256}"',
                    "X-Linked-Size": str(len(f.content)),
                    "ETag": f'"{f.oid}"',
                },
            )
            return
        self._content(repo.repo_id, f, {"X-Repo-Commit": commit.oid, "ETag": f'"{f.oid}"'})

    def _cdn(self, repo_id: str, path: str, sha256: str) -> None:
        # /cdn/{quoted repo id}/{quoted path}/{sha256}: the "CDN" serves LFS objects by content hash
        repo = self.fake.repos.get(repo_id)
        f = None
        if repo is not None:
            for c in repo.commits.values():
                cand = c.files.get(path)
                if cand is not None and cand.lfs and cand.sha256 == sha256:
                    f = cand
                    break
        if f is None:
            self._error(404, None, "Not Found")
            return
        self._content(repo_id, f, {"ETag": f'"{f.sha256}"'})

    def _content(self, repo_id: str, f: HubFile, headers: Mapping[str, str]) -> None:
        data = f.content
        if (repo_id, f.path) in self.fake.tampered:
            data = bytes(b ^ 0x20 for b in data[:16]) + data[16:] if data else b"x"
        if (repo_id, f.path) in self.fake.resized:
            data = data + b"\n# appended by a mirror\n"
        start = 0
        status = 200
        hdrs = dict(headers)
        hdrs["Accept-Ranges"] = "bytes"
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes="):
            first = rng[6:].split("-", 1)[0]
            start = int(first) if first else 0
            if start >= len(data) and data:
                self._send(416, b"", {"Content-Range": f"bytes */{len(data)}"})
                return
            status = 206
            hdrs["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        body = data[start:]
        if self.command == "HEAD":
            self._send(status, b"", {**hdrs, "Content-Length": str(len(body))})
            return
        die = self.fake.die_after.get((repo_id, f.path))
        if die is not None:
            limit, mode = die
            if start < limit or mode != "once":
                cut = max(0, limit - start)
                self.send_response(status)
                for k, v in {**hdrs, "Content-Length": str(len(body))}.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body[:cut])
                self.wfile.flush()
                self.close_connection = True
                if mode == "once":
                    self.fake.die_after.pop((repo_id, f.path), None)
                elif mode == "down":
                    self.fake.down = True
                return
        self._send(status, body, {**hdrs, "Content-Length": str(len(body))})


def iter_log(hub: FakeHub) -> Iterator[RequestLog]:
    """Yield a snapshot of the request log."""
    with hub._lock:
        yield from list(hub.log)
