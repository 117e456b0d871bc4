"""Repo-level hazards: escaping symlinks, Git LFS pointers, extension/content mismatches, .gitattributes.

* :func:`symlink_findings` judges one manifest symlink entry: lexically (absolute targets,
  ``..`` climbing out of the root) and by :func:`os.path.realpath` relative to the real root
  (chains that resolve outside, dangling links, loops), using only ``readlink``/``stat``; the
  target's content is never read (THREATS.md B13).
* :data:`REPO_SCANNER` sees every blob and reports a Git LFS pointer standing where content
  should be (``repo.lfs_pointer``, B16), a data extension whose sniffed content is something else
  (``repo.extension_mismatch``, medium: the scanner of the real content carries the severity,
  B17), a ``.gitattributes`` that routes code through LFS or filter drivers
  (``repo.gitattributes``), and a ``.gitmodules`` with command transports or escaping paths
  (``repo.gitmodules``).

>>> from datagate.scan.interface import Blob, ContentKind, ScanContext
>>> blob = Blob("t.parquet", b"a,b\\n1,2\\n", name="t.parquet", kind=ContentKind.CSV)
>>> [f.rule for f in REPO_SCANNER.scan(blob, ScanContext())]
['repo.extension_mismatch']
"""

from __future__ import annotations

import errno
import os
import posixpath
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from datagate.models import EntryKind, FileEntry, Finding, Manifest, Severity, Skip
from datagate.scan._patterns import lazy_compile
from datagate.scan.executables import EXECUTABLE_KINDS, SCRIPT_KINDS
from datagate.scan.interface import Blob, ContentKind, ScanContext, ScanItem
from datagate.scan.registry import FAMILY_KINDS, ScannerName

__all__ = [
    "EXPECTED_KINDS",
    "REPO_SCANNER",
    "RepoScanner",
    "expected_kinds",
    "name_findings",
    "parse_lfs_pointer",
    "symlink_findings",
]

# ---------------------------------------------------------------------------------------------
# symlinks


def _f(
    path: str, rule: str, sev: Severity, msg: str, ev: dict[str, Any], member: str | None = None
) -> Finding:
    return Finding(path, rule, "repo", sev, msg, member, ev)


def name_findings(manifest: Manifest) -> tuple[list[Finding], list[Skip]]:
    """Return ``repo.name.undecodable`` findings (high) for names that are not UTF-8 or hold
    control or invisible characters, and the skips for those the inventory had to leave out.

    A name that is not UTF-8 (or holds a line break) cannot be a manifest line, so the file (or
    folder) is not scanned: the finding says so, with the raw bytes escaped, and the rest of the
    tree is scanned as usual (one such name must not keep a repo from being scanned). A valid
    UTF-8 name with control characters (terminal escapes, bidi overrides) is scanned and flagged.
    """
    from datagate.inventory.walk import escape_name

    findings: list[Finding] = []
    skips: list[Skip] = []
    for shown, problem in manifest.unlisted:
        findings.append(
            _f(shown, "repo.name.undecodable", Severity.HIGH,
               f"file name {problem}; it was not scanned (raw bytes shown escaped)",
               {"escaped": shown, "problem": problem})
        )
        skips.append(Skip(shown, f"name {problem}"))
    for entry in manifest.entries:
        if not entry.path.isprintable():
            shown = escape_name(entry.path)
            findings.append(
                _f(shown, "repo.name.undecodable", Severity.HIGH,
                   "file name contains control or invisible characters (shown escaped); "
                   "it can disguise the name in terminals and reviews",
                   {"escaped": shown, "problem": "contains control or invisible characters"})
            )
    return findings, skips


def symlink_findings(entry: FileEntry, root: Path) -> list[Finding]:
    """Return findings for a symlink entry of the tree rooted at ``root``.

    A link outside the root (absolute target, relative target climbing out with ``..``, or a
    chain whose real path lies outside) is ``repo.symlink.escape`` (high); a dangling link or a
    loop is ``repo.symlink.dangling`` (low); a link inside the root is ``repo.symlink`` (info).
    Directory links are marked in the evidence. Only ``readlink`` and ``stat`` are used; the
    target's content is never read. Returns ``[]`` for regular files. Never raises.
    """
    if entry.kind is not EntryKind.SYMLINK:
        return []
    link = root / entry.path
    target = entry.target
    if target is None:
        try:
            target = os.readlink(link)
        except OSError as e:
            return [
                _f(
                    entry.path,
                    "repo.symlink.unreadable",
                    Severity.MEDIUM,
                    f"{entry.path} is a symlink whose target could not be read ({e.strerror})",
                    {"error": str(e)},
                )
            ]
    ev: dict[str, Any] = {"target": target}
    reasons: list[str] = []
    if (
        target.startswith(("/", "\\"))
        or re.match(r"^[A-Za-z]:[\\/]", target) is not None
        or os.path.isabs(target)
    ):
        reasons.append("absolute target")
    else:
        joined = posixpath.normpath(
            posixpath.join(posixpath.dirname(entry.path), target.replace("\\", "/"))
        )
        ev["lexical"] = joined
        if joined == ".." or joined.startswith("../"):
            reasons.append("relative target climbs out of the root")
    try:
        real_root = os.path.realpath(root)
        real = os.path.realpath(link)
    except (OSError, ValueError) as e:  # pragma: no cover - realpath is non-strict
        real_root, real = str(root), ""
        ev["realpath_error"] = str(e)
    loop = dangling = False
    is_dir = False
    if real:
        try:
            inside = os.path.commonpath([real_root, real]) == real_root
        except ValueError:
            inside = False
        if inside:
            ev["resolved"] = os.path.relpath(real, real_root).replace(os.sep, "/")
        else:
            ev["resolved"] = real
            if not reasons:
                reasons.append("resolves outside the root through a chain of links")
        try:
            is_dir = stat.S_ISDIR(os.stat(link).st_mode)  # stat follows the link; no read
        except OSError as e:
            if e.errno == errno.ELOOP:
                loop = True
            else:
                dangling = True
    if is_dir:
        ev["directory"] = True
    if loop:
        ev["loop"] = True
    if dangling:
        ev["dangling"] = True
    kind = "directory symlink" if is_dir else "symlink"
    if reasons:
        ev["reasons"] = reasons
        return [
            _f(
                entry.path,
                "repo.symlink.escape",
                Severity.HIGH,
                f"{entry.path} is a {kind} pointing outside the dataset ({reasons[0]}: {target}); "
                "loaders that follow it read files outside the repo",
                ev,
            )
        ]
    if loop or dangling:
        return [
            _f(
                entry.path,
                "repo.symlink.dangling",
                Severity.LOW,
                f"{entry.path} is a {'looping' if loop else 'dangling'} symlink ({target})",
                ev,
            )
        ]
    return [
        _f(
            entry.path,
            "repo.symlink",
            Severity.INFO,
            f"{entry.path} is a {kind} to {target} inside the dataset (not followed)",
            ev,
        )
    ]


# ---------------------------------------------------------------------------------------------
# LFS pointers

_LFS_PREFIXES = (
    b"version https://git-lfs.github.com/spec/",
    b"version https://hawser.github.com/spec/",
)
_ABSURD_SIZE = 1 << 40  # 1 TiB: no single dataset file in a Hub repo is this large


def parse_lfs_pointer(data: bytes | memoryview) -> dict[str, Any] | None:
    """Return the fields of a Git LFS pointer, or None when ``data`` is not one.

    The result holds ``version``, ``oid_algo``/``oid`` (lower-case hex), ``size`` (int) and a
    list of ``problems`` (missing or malformed fields, absurd sizes). Never raises.
    """
    head = bytes(data[:2048])
    if not head.startswith(_LFS_PREFIXES):
        return None
    out: dict[str, Any] = {"problems": []}
    text = head.decode("utf-8", "replace")
    saw_size = False
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key == "version":
            out["version"] = value.strip()
        elif key == "oid":
            algo, _, digest = value.strip().partition(":")
            out["oid_algo"] = algo
            out["oid"] = digest.lower()
            if algo != "sha256" or re.fullmatch(r"[0-9a-fA-F]{64}", digest) is None:
                out["problems"].append("oid is not sha256:<64 hex>")
        elif key == "size":
            saw_size = True
            try:
                size = int(value.strip())
            except ValueError:
                out["problems"].append(f"size is not an integer ({value.strip()[:40]!r})")
                continue
            out["size"] = size
            if size < 0:
                out["problems"].append("negative size")
            elif size > _ABSURD_SIZE:
                out["problems"].append(f"absurd size ({size} bytes)")
    if "oid" not in out:
        out["problems"].append("no oid line")
    if not saw_size:
        out["problems"].append("no size line")
    if len(data) > 1024:
        out["problems"].append(f"pointer file is {len(data)} bytes (the spec allows 1024)")
    return out


# ---------------------------------------------------------------------------------------------
# extension / content mismatch

_TEXTY = frozenset(
    {ContentKind.CSV, ContentKind.TEXT, ContentKind.JSON, ContentKind.JSONL, ContentKind.YAML,
     ContentKind.EMPTY}
)  # fmt: skip
EXPECTED_KINDS: dict[str, frozenset[ContentKind]] = {
    "parquet": frozenset({ContentKind.PARQUET}),
    "arrow": frozenset({ContentKind.ARROW, ContentKind.ARROW_STREAM}),
    "feather": frozenset({ContentKind.ARROW, ContentKind.ARROW_STREAM}),
    "csv": _TEXTY,
    "tsv": _TEXTY,
    "json": _TEXTY,
    "jsonl": _TEXTY,
    "ndjson": _TEXTY,
    "txt": _TEXTY,
    "md": _TEXTY | {ContentKind.HTML},
    "yaml": _TEXTY,
    "yml": _TEXTY,
    "xml": _TEXTY | {ContentKind.HTML, ContentKind.SVG},
    "npy": frozenset({ContentKind.NUMPY}),
    "npz": frozenset({ContentKind.ZIP}),
    "png": frozenset({ContentKind.IMAGE}),
    "jpg": frozenset({ContentKind.IMAGE}),
    "jpeg": frozenset({ContentKind.IMAGE}),
    "gif": frozenset({ContentKind.IMAGE}),
    "webp": frozenset({ContentKind.IMAGE}),
    "bmp": frozenset({ContentKind.IMAGE}),
    "tif": frozenset({ContentKind.IMAGE}),
    "tiff": frozenset({ContentKind.IMAGE}),
    "svg": frozenset({ContentKind.SVG}),
    "wav": frozenset({ContentKind.AUDIO}),
    "mp3": frozenset({ContentKind.AUDIO}),
    "flac": frozenset({ContentKind.AUDIO}),
    "ogg": frozenset({ContentKind.AUDIO, ContentKind.VIDEO}),
    "opus": frozenset({ContentKind.AUDIO}),
    "mp4": frozenset({ContentKind.VIDEO, ContentKind.AUDIO}),
    "webm": frozenset({ContentKind.VIDEO, ContentKind.AUDIO}),
    "h5": frozenset({ContentKind.HDF5, ContentKind.MATLAB, ContentKind.NETCDF}),
    "hdf5": frozenset({ContentKind.HDF5, ContentKind.MATLAB, ContentKind.NETCDF}),
    "mat": frozenset({ContentKind.MATLAB}),
    "nc": frozenset({ContentKind.NETCDF, ContentKind.HDF5}),
    "orc": frozenset({ContentKind.ORC}),
    "avro": frozenset({ContentKind.AVRO}),
    "fits": frozenset({ContentKind.FITS}),
    "safetensors": frozenset({ContentKind.SAFETENSORS}),
    "gguf": frozenset({ContentKind.GGUF}),
    "pdf": frozenset({ContentKind.PDF}),
    # compressed / archived data: the container scanner looks inside
    "gz": frozenset({ContentKind.GZIP}),
    "tgz": frozenset({ContentKind.GZIP}),
    "bz2": frozenset({ContentKind.BZIP2}),
    "xz": frozenset({ContentKind.XZ, ContentKind.LZMA}),
    "lzma": frozenset({ContentKind.LZMA, ContentKind.XZ}),
    "zst": frozenset({ContentKind.ZSTD}),
    "zstd": frozenset({ContentKind.ZSTD}),
    "lz4": frozenset({ContentKind.LZ4}),
    "zip": frozenset({ContentKind.ZIP, ContentKind.OFFICE, ContentKind.TORCH_ZIP}),
    "tar": frozenset({ContentKind.TAR}),
    "7z": frozenset({ContentKind.SEVENZ}),
}
"""Data extensions (lower case, no dot) and the sniffed kinds their content may have."""

_NOTABLE = EXECUTABLE_KINDS | SCRIPT_KINDS | frozenset(
    {ContentKind.PICKLE, ContentKind.TORCH_ZIP, ContentKind.TORCH_LEGACY, ContentKind.NOTEBOOK,
     ContentKind.HTML, ContentKind.ZIP, ContentKind.TAR, ContentKind.SEVENZ, ContentKind.RAR}
)  # fmt: skip


def expected_kinds(name: str) -> tuple[str, frozenset[ContentKind]] | None:
    """Return (extension, allowed kinds) for a data-looking file name, or None.

    Only the last extension counts (``train.csv.gz`` must be gzip; the container scanner then
    sniffs what is inside). Never raises.
    """
    base = name.rsplit("/", 1)[-1].lower()
    if "." not in base.lstrip("."):
        return None
    ext = base.rsplit(".", 1)[-1]
    allowed = EXPECTED_KINDS.get(ext)
    return (ext, allowed) if allowed is not None else None


# ---------------------------------------------------------------------------------------------
# .gitattributes

_CODE_PATTERN = lazy_compile(
    r"\.(py|pyw|pyc|pth|sh|bash|zsh|bat|cmd|ps1|psm1|ipynb|so|dll|dylib|exe|js|vbs|hta|jar|whl|"
    r"toml|cfg)\]?\}?$|(^|/)(setup\.py|conftest\.py|sitecustomize\.py|requirements[^/]*\.txt)$",
    re.IGNORECASE,
)
_CATCH_ALL = lazy_compile(r"^(/?\*\*?(/\*\*?)*|/?\*\.\*|.*/\*\*|.*/)$")


def _gitattributes(blob: Blob, name: str) -> Iterator[Finding]:
    text = bytes(blob.data[: 1024 * 1024]).decode("utf-8", "replace")
    entries: list[dict[str, Any]] = []
    worst = Severity.INFO
    for i, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#") or line.startswith("[attr]"):
            continue
        parts = line.split()
        pattern, attrs = parts[0], parts[1:]
        code = _CODE_PATTERN.search(pattern) is not None
        catch_all = _CATCH_ALL.match(pattern) is not None
        for attr in attrs:
            key, _, value = attr.partition("=")
            sev: Severity | None = None
            why = ""
            if key == "filter" and value == "lfs":
                if code:
                    sev, why = (
                        Severity.MEDIUM,
                        "code routed through Git LFS (review diffs show a pointer)",
                    )
                elif catch_all:
                    sev, why = Severity.LOW, "whole tree or directory routed through Git LFS"
            elif key == "filter" and value:
                sev, why = (
                    Severity.MEDIUM,
                    f"custom filter driver {value!r} rewrites content on checkout",
                )
            elif key in ("diff", "merge") and value and value not in ("lfs", "binary", "text"):
                sev, why = Severity.LOW, f"custom {key} driver {value!r}"
            elif (attr in ("-diff", "binary") or key == "linguist-generated") and code:
                sev, why = Severity.MEDIUM, "code hidden from review diffs"
            elif key == "ident" and code:
                sev, why = Severity.LOW, "ident expansion on code"
            if sev is not None:
                entries.append({"line": i, "pattern": pattern, "attribute": attr, "why": why})
                if sev > worst:
                    worst = sev
    if entries:
        yield _f(
            blob.path,
            "repo.gitattributes",
            worst,
            f"{name} routes paths through LFS or filter drivers ({entries[0]['pattern']} "
            f"{entries[0]['attribute']}: {entries[0]['why']})",
            {"entries": entries[:50]},
            blob.member,
        )


_SUBMODULE_BAD = lazy_compile(
    r"^[ \t]*(url|path)[ \t]*=[ \t]*(?P<v>(?:ext::|fd::|file::|-).*|.*(?:^|/)\.\.(?:/|$).*|/.*)$",
    re.MULTILINE | re.IGNORECASE,
)
_SUBMODULE_ANY = lazy_compile(r"^[ \t]*\[submodule\b", re.MULTILINE | re.IGNORECASE)


def _gitmodules(blob: Blob, name: str) -> Iterator[Finding]:
    text = bytes(blob.data[: 1024 * 1024]).decode("utf-8", "replace")
    if not _SUBMODULE_ANY.search(text):
        return
    bad = [
        {"line": text.count("\n", 0, m.start()) + 1, "text": m.group(0).strip()[:200]}
        for m in _SUBMODULE_BAD.finditer(text)
    ]
    if bad:
        yield _f(
            blob.path,
            "repo.gitmodules",
            Severity.HIGH,
            f"{name} declares submodules with command transports, option-like or escaping "
            f"URLs/paths ({bad[0]['text']})",
            {"entries": bad[:50]},
            blob.member,
        )
    else:
        yield _f(
            blob.path,
            "repo.gitmodules",
            Severity.LOW,
            f"{name} declares git submodules (a recursive clone fetches more code)",
            {"submodules": len(_SUBMODULE_ANY.findall(text))},
            blob.member,
        )


# ---------------------------------------------------------------------------------------------
# the scanner


class RepoScanner:
    """Scanner for repo-level hazards carried by a blob's name and kind (see the module docstring).

    Works the same for outer files and container members. Never raises for hostile content.
    """

    name = "repo"
    kinds: frozenset[ContentKind] = FAMILY_KINDS[ScannerName.REPO]

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterator[ScanItem]:
        """Yield ``repo.lfs_pointer``, ``repo.extension_mismatch`` and ``repo.gitattributes``."""
        name = blob.name or blob.path.rsplit("/", 1)[-1]
        kind = blob.kind
        if kind is ContentKind.LFS_POINTER or (
            blob.size <= 4096 and bytes(blob.data[:8]) == b"version "
        ):
            pointer = parse_lfs_pointer(blob.data)
            if pointer is not None:
                yield self._lfs(blob, name, pointer)
                return
        if name == ".gitattributes":
            yield from _gitattributes(blob, name)
            return
        if name == ".gitmodules":
            yield from _gitmodules(blob, name)
            return
        if kind is None:
            return
        exp = expected_kinds(name)
        if exp is None:
            return
        ext, allowed = exp
        if kind in allowed:
            return
        if kind is ContentKind.EMPTY:
            sev = Severity.LOW
        elif kind is ContentKind.BINARY:
            sev = Severity.LOW
        else:
            sev = Severity.MEDIUM
        ev: dict[str, Any] = {
            "extension": ext,
            "expected": sorted(k.value for k in allowed),
            "actual": kind.value,
        }
        if blob.detail:
            ev["detail"] = blob.detail
        note = " (the finding on its real content carries the severity)" if kind in _NOTABLE else ""
        yield _f(
            blob.path,
            "repo.extension_mismatch",
            sev,
            f"{name} is named .{ext} but its content is {kind.value}{note}",
            ev,
            blob.member,
        )

    @staticmethod
    def _lfs(blob: Blob, name: str, pointer: dict[str, Any]) -> Finding:
        size = pointer.get("size")
        oid = str(pointer.get("oid", ""))
        problems: list[str] = pointer["problems"]
        claimed = f" (claims {size} bytes, oid sha256:{oid[:12]}...)" if size is not None else ""
        msg = (
            f"{name} is a Git LFS pointer, not the data it names{claimed}; fetch the LFS object "
            "and verify it against the pointer's oid and size"
        )
        if problems:
            msg += f"; pointer problems: {', '.join(problems)}"
        return _f(blob.path, "repo.lfs_pointer", Severity.HIGH, msg, dict(pointer), blob.member)


REPO_SCANNER = RepoScanner()
"""The module-level scanner instance the registry uses."""
