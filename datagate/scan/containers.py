"""Container readers: ZIP, TAR, 7z and single compressed streams, read in memory, never extracted.

Each reader yields a child :class:`~datagate.scan.interface.Blob` for every member it can read
(the engine sniffs and scans it in turn), plus findings for everything that lets an archive hide
or smuggle content:

* **ZIP** (``container.zip.*``): the local file headers are walked byte by byte *and* the central
  directory is read, so members that only one of Python's ``zipfile``, PyTorch's reader or a
  streaming unzipper would see are all scanned (THREATS.md B3): encrypted/unusual flag bits on
  plain data, local/central name mismatches (scanned under both names), bad CRCs, several
  end-of-central-directory records, prepended or appended data, a leading spanned-archive marker,
  members missing from either directory, overlapping members (non-recursive bombs).
* **TAR** plain or gzip/bzip2/xz/zstd/lz4-compressed, streamed with :mod:`tarfile` (headers only;
  nothing is ever extracted) and **7z** through py7zr's in-memory writer factory.
* **Path abuse** in any archive (``container.path.*``, B13): ``..`` components, absolute and
  backslash paths, links whose target is absolute or escapes, device and FIFO members, set-uid.
* **Bombs** (``container.bomb.*``, B12): member size, decompression ratio, total bytes and member
  count are enforced *while* decompressing (bounded reads), never by inflating first. A member over
  a limit is reported and skipped. Member count, expanded bytes and the expansion ratio are also
  budgeted across the **whole tree** (an archive and everything nested in it share one
  :class:`_Tree`; the engine's per-file time budget covers the same tree): the first bomb limit hit
  anywhere in the tree is one finding and the whole tree stops there, so a nested bomb (zips of
  zips of zeros) ends early with one ``container.bomb.*`` finding instead of one per member.
* A container that cannot be opened is ``container.unreadable``; a stream broken part-way is
  reported and what was decoded before the break is still scanned (B1).

>>> import io, zipfile
>>> from datagate.scan.interface import Blob, ContentKind, ScanContext
>>> buf = io.BytesIO()
>>> with zipfile.ZipFile(buf, "w") as zf:
...     zf.writestr("a.csv", "x,y\\n1,2\\n")
>>> items = list(CONTAINER_SCANNER.scan(Blob("d.zip", buf.getvalue(), name="d.zip"), ScanContext()))
>>> [(i.member, bytes(i.data)) for i in items if isinstance(i, Blob)]
[('a.csv', b'x,y\\n1,2\\n')]
"""

from __future__ import annotations

import bz2
import io
import lzma
import posixpath
import re
import stat
import struct
import tarfile
import zlib
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any, cast

from datagate.models import Finding, Severity, Skip
from datagate.scan.interface import Blob, ContentKind, Limits, ScanContext, ScanItem
from datagate.scan.registry import FAMILY_KINDS, ScannerName
from datagate.scan.sniff import find_eocd

__all__ = [
    "ARCHIVE_KINDS",
    "CONTAINER_SCANNER",
    "STREAM_KINDS",
    "ContainerScanner",
    "member_path_findings",
]

STREAM_KINDS: frozenset[ContentKind] = frozenset(
    {
        ContentKind.GZIP,
        ContentKind.BZIP2,
        ContentKind.XZ,
        ContentKind.LZMA,
        ContentKind.ZSTD,
        ContentKind.LZ4,
        ContentKind.ZLIB,
    }
)
"""Single compressed streams: one child (or the members of a compressed tar)."""

ARCHIVE_KINDS: frozenset[ContentKind] = FAMILY_KINDS[ScannerName.CONTAINERS] - STREAM_KINDS
"""Multi-member archives."""

_RATIO_MIN_OUTPUT = 16 << 20
"""The ratio limit applies once a member has produced this many bytes: sparse arrays and
repetitive text legitimately compress past the ratio, and below this size inflating costs
nothing worth stopping (the size and total limits still bound everything)."""
_CHUNK = 1 << 20
_CATEGORY = "container"


# ================================================================================ plumbing


class _LimitHit(Exception):
    """A bomb limit was reached while decompressing."""

    def __init__(self, rule: str, message: str, evidence: Mapping[str, Any]) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message
        self.evidence = dict(evidence)


TREE_RATIO_MIN_BYTES = _RATIO_MIN_OUTPUT
"""The whole-tree ratio limit applies once the tree has expanded to this many bytes."""


class _Tree:
    """The budget an archive and everything nested in it share (one top-level file)."""

    def __init__(self, limits: Limits, outer_size: int) -> None:
        self.limits = limits
        self.outer_size = max(outer_size, 1)
        self.total = 0
        self.members = 0
        self.hit: _LimitHit | None = None
        """The first tree limit reached (set once)."""
        self.stopped = False
        """True once a bomb limit was reported anywhere in the tree: nothing more is opened."""

    def charge(self, nbytes: int) -> None:
        """Count ``nbytes`` more expanded bytes; raise _LimitHit when the tree is over budget."""
        self.total += nbytes
        hit = None
        if self.total > self.limits.max_total_bytes:
            hit = _LimitHit(
                "container.bomb.total",
                f"the archive and everything nested in it decompress to more than "
                f"{self.limits.max_total_bytes} bytes",
                {"limit": self.limits.max_total_bytes, "decompressed_at_least": self.total, "scope": "tree"},
            )
        elif self.total > TREE_RATIO_MIN_BYTES and self.total > self.limits.max_ratio * self.outer_size:
            hit = _LimitHit(
                "container.bomb.ratio",
                f"the archive and everything nested in it expand more than {self.limits.max_ratio:g} "
                f"times its {self.outer_size} bytes",
                {"limit": self.limits.max_ratio, "decompressed_at_least": self.total,
                 "compressed": self.outer_size, "scope": "tree"},
            )
        if hit is not None:
            self.hit = self.hit or hit
            raise hit

    def count_member(self) -> bool:
        """Count one more member; return False once the tree holds more than the member limit."""
        self.members += 1
        if self.members > self.limits.max_members and self.hit is None:
            self.hit = _LimitHit(
                "container.bomb.members",
                f"the archive and everything nested in it hold more than {self.limits.max_members} "
                "members; the rest were not inspected",
                {"limit": self.limits.max_members, "scope": "tree"},
            )
        return self.members <= self.limits.max_members


def _tree(blob: Blob, ctx: ScanContext) -> _Tree:
    """Return the budget of the tree ``blob`` belongs to (a new one for a top-level file)."""
    trees = ctx.trees
    tree = trees.get(blob.path) if blob.depth > 0 or blob.member is not None else None
    if tree is None:
        trees.clear()  # top-level files are scanned one after another: keep only this one
        tree = trees[blob.path] = _Tree(ctx.limits, len(blob.data))
    assert isinstance(tree, _Tree)
    return tree


class _Budget:
    """Accounting of one container: decompressed total and member count against the limits,
    also charged to the whole tree's budget."""

    def __init__(self, limits: Limits, compressed: int, tree: _Tree | None = None) -> None:
        self.limits = limits
        self.compressed = compressed
        self.total = 0
        self.members = 0
        self.tree = tree

    def charge(self, nbytes: int) -> None:
        self.total += nbytes
        if self.total > self.limits.max_total_bytes:
            raise _LimitHit(
                "container.bomb.total",
                f"decompressed volume exceeds {self.limits.max_total_bytes} bytes",
                {"limit": self.limits.max_total_bytes, "decompressed_at_least": self.total},
            )
        if self.tree is not None:
            self.tree.charge(nbytes)

    def count_member(self) -> bool:
        """Count one more member; return False once the member limit is exceeded."""
        self.members += 1
        if self.tree is not None and (self.tree.stopped or not self.tree.count_member()):
            return False
        return self.members <= self.limits.max_members


class _MemReader(io.RawIOBase):
    """A seekable, read-only file object over a buffer, without copying it."""

    def __init__(self, data: bytes | memoryview) -> None:
        super().__init__()
        self._mv = memoryview(data).cast("B") if not isinstance(data, bytes) else memoryview(data)
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        n = min(len(b), len(self._mv) - self._pos)
        if n <= 0:
            return 0
        b[:n] = self._mv[self._pos : self._pos + n]
        self._pos += n
        return n

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence == 0:
            self._pos = offset
        elif whence == 1:
            self._pos += offset
        else:
            self._pos = len(self._mv) + offset
        self._pos = max(0, self._pos)
        return self._pos

    def tell(self) -> int:
        return self._pos


class _ZlibReader(io.RawIOBase):
    """A bounded-output reader over a zlib/raw-deflate stream (``wbits`` as in :mod:`zlib`)."""

    def __init__(self, raw: _MemReader, wbits: int) -> None:
        super().__init__()
        self._raw = raw
        self._d = zlib.decompressobj(wbits)
        self._pending = b""

    def readable(self) -> bool:
        return True

    @property
    def eof(self) -> bool:
        return self._d.eof

    def consumed(self) -> int:
        """Compressed bytes used so far (excluding input read ahead but not decoded)."""
        return self._raw.tell() - len(self._pending) - len(self._d.unused_data)

    def unused(self) -> bytes:
        return self._d.unused_data

    def readinto(self, b: Any) -> int:
        want = len(b)
        while True:
            if self._d.eof:
                return 0
            if not self._pending:
                self._pending = self._raw.read(1 << 16) or b""
                if not self._pending:
                    raise EOFError("compressed stream ends before its end marker")
            out = self._d.decompress(self._pending, want)
            self._pending = self._d.unconsumed_tail
            if out:
                b[: len(out)] = out
                return len(out)


def _as_io(raw: _MemReader) -> IO[bytes]:
    """Return ``raw`` typed as the binary file object the stdlib and zstandard readers accept."""
    return cast("IO[bytes]", raw)


def _open_stream(kind: ContentKind, raw: _MemReader) -> Any:
    """Return a decompressing file object (with ``read(n)``) for a single-stream ``kind``."""
    if kind is ContentKind.GZIP:
        import gzip

        return gzip.GzipFile(fileobj=raw, mode="rb")
    if kind is ContentKind.BZIP2:
        return bz2.BZ2File(raw, "rb")
    if kind is ContentKind.XZ or kind is ContentKind.LZMA:
        return lzma.LZMAFile(_as_io(raw), "rb")
    if kind is ContentKind.ZSTD:
        import zstandard

        return zstandard.ZstdDecompressor().stream_reader(_as_io(raw), read_across_frames=True)
    if kind is ContentKind.LZ4:
        import lz4.frame

        return lz4.frame.LZ4FrameFile(raw, "rb")
    if kind is ContentKind.ZLIB:
        return _ZlibReader(raw, 15)
    raise ValueError(f"not a stream kind: {kind}")


def _decode_errors() -> tuple[type[BaseException], ...]:
    errs: list[type[BaseException]] = [
        zlib.error,
        OSError,
        EOFError,
        lzma.LZMAError,
        ValueError,
        RuntimeError,
        struct.error,
        tarfile.TarError,
        NotImplementedError,
        IndexError,
        KeyError,
        TypeError,
        MemoryError,
    ]
    try:
        import zstandard

        errs.append(zstandard.ZstdError)
    except ImportError:  # pragma: no cover - zstandard is a declared dependency
        pass
    return tuple(errs)


_DECODE_ERRORS = _decode_errors()


@dataclass
class _Read:
    """Output of one bounded decompression."""

    data: bytes | memoryview
    """Decoded bytes; a zero-copy view of the archive for stored members."""
    error: str | None = None
    limit: _LimitHit | None = None


def _read_bounded(
    stream: Any,
    *,
    member_limit: int,
    budget: _Budget,
    consumed: Callable[[], int],
    initial: bytes = b"",
) -> _Read:
    """Read ``stream`` to its end under the limits; never raises for bad or hostile data."""
    out = bytearray(initial)
    limits = budget.limits
    try:
        while True:
            room = member_limit - len(out) + 1
            chunk = stream.read(min(_CHUNK, max(room, 1)))
            if not chunk:
                break
            out += chunk
            budget.charge(len(chunk))
            if len(out) > member_limit:
                raise _LimitHit(
                    "container.bomb.size",
                    f"member decompresses to more than {member_limit} bytes",
                    {"limit": member_limit, "decompressed_at_least": len(out)},
                )
            if len(out) >= _RATIO_MIN_OUTPUT:
                used = max(consumed(), 1)
                if len(out) > limits.max_ratio * used:
                    raise _LimitHit(
                        "container.bomb.ratio",
                        f"decompression ratio exceeds {limits.max_ratio:g}",
                        {
                            "limit": limits.max_ratio,
                            "decompressed_at_least": len(out),
                            "compressed_read": used,
                            "ratio_at_least": round(len(out) / used, 1),
                        },
                    )
    except _LimitHit as hit:
        return _Read(bytes(out), limit=hit)
    except _DECODE_ERRORS as exc:
        return _Read(bytes(out), error=f"{type(exc).__name__}: {exc}")
    return _Read(bytes(out))


def _encrypted_severity(ctx: ScanContext) -> Severity:
    """Encrypted members cannot be inspected, and nothing opens them without a password: medium,
    high with ``--strict`` (issue 15)."""
    return Severity.HIGH if ctx.strict else Severity.MEDIUM


def _finding(
    blob: Blob,
    rule: str,
    severity: Severity,
    message: str,
    *,
    member: str | None = None,
    evidence: Mapping[str, Any] | None = None,
) -> Finding:
    """A container finding; ``member`` names a member of ``blob`` (else the blob itself)."""
    chain = blob.member
    if member is not None:
        chain = member if chain is None else f"{chain}/{member}"
    return Finding(
        path=blob.path,
        rule=rule,
        category=_CATEGORY,
        severity=severity,
        message=message,
        member=chain,
        evidence=dict(evidence or {}),
    )


def _skip(blob: Blob, member: str | None, reason: str) -> Skip:
    chain = blob.member
    if member is not None:
        chain = member if chain is None else f"{chain}/{member}"
    return Skip(path=blob.path, reason=reason, member=chain)


def _limit_items(blob: Blob, member: str, hit: _LimitHit) -> Iterator[ScanItem]:
    yield _finding(
        blob,
        hit.rule,
        Severity.HIGH,
        f"possible decompression bomb: {hit.message}; the member was not inspected",
        member=member,
        evidence=hit.evidence,
    )
    yield _skip(blob, member, f"{hit.rule}: {hit.message}")


# ================================================================================ path checks

_DRIVE = re.compile(r"^[A-Za-z]:")


def member_path_findings(blob: Blob, name: str, *, archive: str) -> list[Finding]:
    """Return path-abuse findings for member ``name`` of ``blob`` (THREATS.md B13).

    ``..`` components, absolute paths (POSIX, drive letter, UNC) and backslash separators are
    reported; nothing is resolved against the real file system. Raises nothing.
    """
    out: list[Finding] = []
    if "\\" in name:
        out.append(
            _finding(
                blob,
                "container.path.backslash",
                Severity.MEDIUM,
                f"{archive} member name uses backslashes, which Windows extractors treat as separators",
                member=name,
                evidence={"name": name},
            )
        )
    norm = name.replace("\\", "/")
    if norm.startswith("/") or _DRIVE.match(norm):
        out.append(
            _finding(
                blob,
                "container.path.absolute",
                Severity.HIGH,
                f"{archive} member has an absolute path; extracting it writes outside the target folder",
                member=name,
                evidence={"name": name},
            )
        )
    if ".." in norm.split("/"):
        out.append(
            _finding(
                blob,
                "container.path.traversal",
                Severity.HIGH,
                f"{archive} member path climbs out with '..'; extracting it writes outside the target folder",
                member=name,
                evidence={"name": name},
            )
        )
    if any(ord(c) < 32 for c in name):
        out.append(
            _finding(
                blob,
                "container.path.control_chars",
                Severity.MEDIUM,
                f"{archive} member name contains control characters",
                member=name,
                evidence={"name": name},
            )
        )
    return out


def _link_escapes(name: str, target: str, *, hard: bool) -> bool:
    """True when a link at ``name`` pointing at ``target`` resolves outside the archive root."""
    t = target.replace("\\", "/")
    if t.startswith("/") or _DRIVE.match(t):
        return True
    base = "" if hard else posixpath.dirname(name.replace("\\", "/"))
    depth = 0
    for part in posixpath.join(base, t).split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        else:
            depth += 1
    return False


def _link_findings(
    blob: Blob, name: str, target: str, *, hard: bool, archive: str
) -> list[Finding]:
    kind = "hard link" if hard else "symlink"
    rule_kind = "hardlink" if hard else "symlink"
    ev = {"name": name, "target": target, "type": rule_kind}
    t = target.replace("\\", "/")
    if t.startswith("/") or _DRIVE.match(t):
        return [
            _finding(
                blob,
                f"container.path.{rule_kind}_absolute",
                Severity.HIGH,
                f"{archive} {kind} member points at the absolute path {target!r}",
                member=name,
                evidence=ev,
            )
        ]
    if _link_escapes(name, target, hard=hard):
        return [
            _finding(
                blob,
                f"container.path.{rule_kind}_escape",
                Severity.HIGH,
                f"{archive} {kind} member points outside the archive ({target!r})",
                member=name,
                evidence=ev,
            )
        ]
    return [
        _finding(
            blob,
            f"container.path.{rule_kind}",
            Severity.LOW,
            f"{archive} holds a {kind} member (to {target!r}); extraction recreates the link",
            member=name,
            evidence=ev,
        )
    ]


def _mode_findings(blob: Blob, name: str, mode: int, *, archive: str) -> list[Finding]:
    if mode & (stat.S_ISUID | stat.S_ISGID):
        return [
            _finding(
                blob,
                "container.path.setuid",
                Severity.HIGH,
                f"{archive} member carries set-uid/set-gid permission bits",
                member=name,
                evidence={"name": name, "mode": oct(mode & 0o7777)},
            )
        ]
    return []


# ================================================================================ ZIP

_LOCAL = b"PK\x03\x04"
_CENTRAL = b"PK\x01\x02"
_EOCD = b"PK\x05\x06"
_DESCRIPTOR = b"PK\x07\x08"
_STRUCTURE_SIGS = (
    b"PK\x01\x02",
    b"PK\x05\x06",
    b"PK\x06\x06",
    b"PK\x06\x07",
    b"PK\x05\x05",
    b"PK\x06\x08",
)
_ALLOWED_FLAGS = 0x0002 | 0x0004 | 0x0008 | 0x0010 | 0x0800
_METHOD_NAMES = {
    0: "stored",
    8: "deflate",
    9: "deflate64",
    12: "bzip2",
    14: "lzma",
    93: "zstd",
    95: "xz",
}


@dataclass
class _Local:
    offset: int
    name: str
    flags: int
    method: int
    crc: int
    csize: int
    usize: int
    data_start: int
    data_end: int | None = None
    """End of the compressed data; None when unknown until decoded."""
    descriptor_crc: int | None = None


@dataclass
class _Central:
    name: str
    flags: int
    method: int
    crc: int
    csize: int
    usize: int
    offset: int
    made_by: int
    ext_attr: int
    eocd: int


@dataclass
class _Member:
    local: _Local | None
    centrals: list[_Central] = field(default_factory=list)


def _u16(b: bytes | memoryview, off: int) -> int:
    return int(struct.unpack_from("<H", b, off)[0])


def _u32(b: bytes | memoryview, off: int) -> int:
    return int(struct.unpack_from("<I", b, off)[0])


def _u64(b: bytes | memoryview, off: int) -> int:
    return int(struct.unpack_from("<Q", b, off)[0])


def _zip_name(raw: bytes, flags: int) -> str:
    if flags & 0x800:
        return raw.decode("utf-8", "replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp437")


def _zip64_extra(extra: bytes, want: list[str]) -> dict[str, int]:
    """Parse the ZIP64 extra field (0x0001) for the fields in ``want`` (in spec order)."""
    out: dict[str, int] = {}
    pos = 0
    while pos + 4 <= len(extra):
        hid, hlen = _u16(extra, pos), _u16(extra, pos + 2)
        body = extra[pos + 4 : pos + 4 + hlen]
        if hid == 1:
            off = 0
            for key in want:
                if off + 8 > len(body):
                    break
                out[key] = _u64(body, off)
                off += 8
            break
        pos += 4 + hlen
    return out


def _parse_local(mv: memoryview, pos: int) -> _Local | None:
    n = len(mv)
    if pos < 0 or pos + 30 > n or bytes(mv[pos : pos + 4]) != _LOCAL:
        return None
    h = bytes(mv[pos : pos + 30])
    flags, method = _u16(h, 6), _u16(h, 8)
    crc, csize, usize = _u32(h, 14), _u32(h, 18), _u32(h, 22)
    nlen, elen = _u16(h, 26), _u16(h, 28)
    if pos + 30 + nlen + elen > n:
        return None
    name = _zip_name(bytes(mv[pos + 30 : pos + 30 + nlen]), flags)
    extra = bytes(mv[pos + 30 + nlen : pos + 30 + nlen + elen])
    want = [k for k, v in (("usize", usize), ("csize", csize)) if v == 0xFFFFFFFF]
    if want:
        z = _zip64_extra(extra, want)
        usize, csize = z.get("usize", usize), z.get("csize", csize)
    start = pos + 30 + nlen + elen
    loc = _Local(pos, name, flags, method, crc, csize, usize, start)
    if not flags & 0x8 or csize:
        if start + csize <= n:
            loc.data_end = start + csize
    return loc


def _parse_central(mv: memoryview, start: int, end: int, count: int, eocd: int) -> list[_Central]:
    out: list[_Central] = []
    pos = start
    while pos + 46 <= end and bytes(mv[pos : pos + 4]) == _CENTRAL and len(out) < count:
        h = bytes(mv[pos : pos + 46])
        nlen, elen, clen = _u16(h, 28), _u16(h, 30), _u16(h, 32)
        flags = _u16(h, 8)
        name = _zip_name(bytes(mv[pos + 46 : pos + 46 + nlen]), flags)
        csize, usize, offset = _u32(h, 20), _u32(h, 24), _u32(h, 42)
        extra = bytes(mv[pos + 46 + nlen : pos + 46 + nlen + elen])
        want = [
            k
            for k, v in (("usize", usize), ("csize", csize), ("offset", offset))
            if v == 0xFFFFFFFF
        ]
        if want:
            z = _zip64_extra(extra, want)
            usize, csize, offset = (
                z.get("usize", usize),
                z.get("csize", csize),
                z.get("offset", offset),
            )
        out.append(
            _Central(
                name,
                flags,
                _u16(h, 10),
                _u32(h, 16),
                csize,
                usize,
                offset,
                _u16(h, 4),
                _u32(h, 38),
                eocd,
            )
        )
        pos += 46 + nlen + elen + clen
    return out


@dataclass
class _ZipLayout:
    centrals: list[_Central]
    delta: int
    eocds: list[tuple[int, int, int, int]]
    end_of_zip: int
    """Offset just past the last EOCD record and its comment."""


def _member_span(mv: memoryview, c: _Central, delta: int) -> tuple[int, int] | None:
    """The byte range (local header .. end of data) a central entry claims, if it parses."""
    for off in (c.offset + delta, c.offset):
        loc = _parse_local(mv, off)
        if loc is not None:
            size = loc.csize if loc.data_end is not None else c.csize
            return off, loc.data_start + size
    return None


def _read_central_dirs(mv: memoryview) -> _ZipLayout:
    """Read the central directories of every end record that is not inside a member's data.

    End records are taken last first (as ``zipfile`` does). An earlier record that lies inside
    the data of a member already known belongs to a nested (stored) archive and is ignored; one
    outside every member is an extra end record, whose directory is read too (THREATS.md B3).
    """
    n = len(mv)
    tail = bytes(mv[max(0, n - (65535 + 22 + 4096)) :])
    candidates = find_eocd(tail, n)
    centrals: list[_Central] = []
    accepted: list[tuple[int, int, int, int]] = []
    spans: list[tuple[int, int]] = []
    deltas: list[int] = []
    end_of_zip = 0
    for rec in candidates:
        pos, entries, cd_size, cd_off = rec
        if any(a <= pos < b for a, b in spans):
            continue
        clen = _u16(mv, pos + 20) if pos + 22 <= n else 0
        found: list[_Central] = []
        delta = 0
        end = pos
        loc = bytes(mv[max(pos - 20, 0) : pos])
        if loc[:4] == b"PK\x06\x07":
            # ZIP64: the sizes and offsets live in the zip64 record just before the locator
            # (written by zip64 archives and by streaming writers such as `zip - -`).
            for z64pos in (pos - 20 - 56, _u64(loc, 8)):
                if 0 <= z64pos and bytes(mv[z64pos : z64pos + 4]) == b"PK\x06\x06":
                    rec64 = bytes(mv[z64pos : z64pos + 56])
                    if len(rec64) == 56:
                        entries, cd_size, cd_off = _u64(rec64, 32), _u64(rec64, 40), _u64(rec64, 48)
                        end = z64pos
                        break
        if entries == 0 and cd_size == 0:
            pass  # an empty end record: nothing to read, but it still counts (THREATS.md B3)
        else:
            for cd_start in (end - cd_size, cd_off):
                if 0 <= cd_start < n and bytes(mv[cd_start : cd_start + 4]) == _CENTRAL:
                    delta = cd_start - cd_off
                    found = _parse_central(mv, cd_start, end, entries, pos)
                    break
            if not found:
                continue  # not an end record of this archive: its directory is not where it says
        accepted.append(rec)
        end_of_zip = max(end_of_zip, pos + 22 + clen)
        if found:
            deltas.append(delta)
        centrals += found
        for c in found:
            span = _member_span(mv, c, delta)
            if span is not None:
                spans.append(span)
    delta = max(deltas) if deltas else 0
    return _ZipLayout(centrals, delta, accepted, end_of_zip)


def _find_stored_end(mv: memoryview, start: int) -> tuple[int, int] | None:
    """For a stored member with a data descriptor and no known size: (end, crc) or None.

    The end is the first descriptor signature whose recorded size equals its distance from the
    data start; the buffer is searched once, chunk by chunk.
    """
    n = len(mv)
    step = 1 << 22
    pos = start
    while pos < n:
        chunk = bytes(mv[pos : min(n, pos + step + 3)])
        i = chunk.find(_DESCRIPTOR)
        while 0 <= i < step:
            at = pos + i
            if at + 16 <= n and _u32(mv, at + 8) == at - start:
                return at, _u32(mv, at + 4)
            i = chunk.find(_DESCRIPTOR, i + 1)
        pos += step
    return None


def _find(mv: memoryview, needle: bytes, start: int) -> int:
    """Find ``needle`` in ``mv`` from ``start`` without copying the whole buffer at once."""
    n = len(mv)
    step = 1 << 22
    pos = start
    while pos < n:
        chunk = bytes(mv[pos : min(n, pos + step + len(needle) - 1)])
        i = chunk.find(needle)
        if i >= 0:
            return pos + i
        pos += step
    return -1


def _descriptor_end(mv: memoryview, end: int) -> tuple[int, int | None]:
    """Skip an optional data descriptor at ``end``; return (next offset, crc in it or None)."""
    n = len(mv)
    if end + 4 <= n and bytes(mv[end : end + 4]) == _DESCRIPTOR:
        crc = _u32(mv, end + 4) if end + 8 <= n else None
        # 16 bytes, or 24 with zip64 sizes: prefer whichever is followed by a signature.
        for size in (16, 24):
            if bytes(mv[end + size : end + size + 2]) == b"PK" or end + size == n:
                return end + size, crc
        return end + 16, crc
    if (
        end + 12 <= n
        and bytes(mv[end + 12 : end + 14]) == b"PK"
        and bytes(mv[end : end + 2]) != b"PK"
    ):
        return end + 12, _u32(mv, end)
    return end, None


class _ZipReader:
    """Walks one ZIP blob; see the module docstring."""

    def __init__(self, blob: Blob, ctx: ScanContext) -> None:
        self.blob = blob
        self.ctx = ctx
        self.mv = memoryview(blob.data) if isinstance(blob.data, bytes) else blob.data
        self.budget = _Budget(ctx.limits, len(self.mv), _tree(blob, ctx))
        self.overlapping: set[int] = set()
        """Local-header offsets of members whose data lies inside another member's."""

    # ---------------------------------------------------------------- structure
    def scan(self) -> Iterator[ScanItem]:
        blob, mv = self.blob, self.mv
        n = len(mv)
        layout = _read_central_dirs(mv)
        yield from self._structure_findings(layout)

        locals_: dict[int, _Local] = {}
        walk_order: list[int] = []
        pos = 0
        head = bytes(mv[:4])
        if head == _DESCRIPTOR:
            yield _finding(
                blob,
                "container.zip.spanned_marker",
                Severity.MEDIUM,
                "ZIP starts with a spanned-archive marker (PK\\x07\\x08) that routes around signature checks",
                evidence={"offset": 0},
            )
            pos = 4
        elif head != _LOCAL:
            starts = [
                c.offset + layout.delta for c in layout.centrals if 0 <= c.offset + layout.delta < n
            ]
            pos = min(starts) if starts else _find(mv, _LOCAL, 0)
            if pos < 0:
                pos = n
        gaps: list[tuple[int, int]] = []
        while pos < n:
            sig = bytes(mv[pos : pos + 4])
            if sig == _LOCAL:
                loc = _parse_local(mv, pos)
                if loc is None:
                    break
                self._resolve_end(loc, layout)
                locals_[pos] = loc
                walk_order.append(pos)
                if loc.data_end is None:
                    break
                pos, dcrc = _descriptor_end(mv, loc.data_end)
                loc.descriptor_crc = dcrc
                if len(walk_order) > self.ctx.limits.max_members:
                    break
                continue
            if sig in _STRUCTURE_SIGS:
                break
            if sig == _DESCRIPTOR:
                pos += 16
                continue
            nxt = _find(mv, _LOCAL, pos + 1)
            cd_starts = [e[0] - e[2] for e in layout.eocds]
            stop = min([p for p in cd_starts if p > pos] + [n])
            if nxt < 0 or nxt >= stop:
                if stop > pos and stop != n:
                    gaps.append((pos, stop))
                break
            gaps.append((pos, nxt))
            pos = nxt
        for start, end in gaps:
            yield _finding(
                blob,
                "container.zip.hidden_bytes",
                Severity.MEDIUM,
                f"{end - start} bytes between ZIP records belong to no member",
                evidence={"offset": start, "length": end - start},
            )

        # Join the central directory to local headers by offset.
        members: dict[int, _Member] = {off: _Member(loc) for off, loc in locals_.items()}
        missing: list[_Central] = []
        for c in layout.centrals:
            off = c.offset + layout.delta
            if off not in members and c.offset in locals_:
                off = c.offset
            if off not in members:
                loc = _parse_local(mv, off)
                if loc is None and layout.delta:
                    off = c.offset
                    loc = _parse_local(mv, off)
                if loc is None:
                    missing.append(c)
                    continue
                self._resolve_end(loc, layout)
                members[off] = _Member(loc)
            members[off].centrals.append(c)
        for c in missing:
            yield _finding(
                blob,
                "container.zip.missing_local",
                Severity.MEDIUM,
                "a central-directory entry points at no local header; loaders disagree on its content",
                member=c.name,
                evidence={"name": c.name, "offset": c.offset},
            )
            yield _skip(blob, c.name, "central-directory entry without a local header")
        if layout.centrals:
            for off in walk_order:
                m = members[off]
                if not m.centrals:
                    assert m.local is not None
                    yield _finding(
                        blob,
                        "container.zip.local_only",
                        Severity.HIGH,
                        "a member has a local header but no central-directory entry: zipfile and "
                        "PyTorch do not list it, streaming extractors do",
                        member=m.local.name,
                        evidence={"name": m.local.name, "offset": off},
                    )
        if not members and not layout.centrals:
            yield _finding(
                blob,
                "container.unreadable",
                Severity.HIGH,
                "ZIP signature but no readable member or central directory",
                evidence={"size": n},
            )
            return
        yield from self._overlaps(members)
        seen: dict[str, int] = {}
        for c in layout.centrals:
            seen[c.name] = seen.get(c.name, 0) + 1
        dupes = sorted(name for name, count in seen.items() if count > 1)
        if dupes:
            yield _finding(
                blob,
                "container.zip.duplicate_name",
                Severity.MEDIUM,
                f"{len(dupes)} member names occur more than once; readers pick different copies "
                "(every copy was scanned)",
                evidence={"names": dupes[:20]},
            )
        ordered = sorted(members.items())
        if len(ordered) > self.ctx.limits.max_members:
            yield _finding(
                blob,
                "container.bomb.members",
                Severity.HIGH,
                f"ZIP holds more than {self.ctx.limits.max_members} members; the rest were not inspected",
                evidence={"limit": self.ctx.limits.max_members, "members": len(ordered)},
            )
            yield _skip(
                blob, None, f"members beyond the first {self.ctx.limits.max_members} not inspected"
            )
            ordered = ordered[: self.ctx.limits.max_members]
        for _off, m in ordered:
            yield from self._member(m)

    def _structure_findings(self, layout: _ZipLayout) -> Iterator[ScanItem]:
        blob, n = self.blob, len(self.mv)
        if not layout.eocds:
            yield _finding(
                blob,
                "container.zip.no_central_directory",
                Severity.MEDIUM,
                "ZIP has no end-of-central-directory record (truncated or stream-only); members "
                "were found by walking local headers",
            )
        elif len(layout.eocds) > 1:
            yield _finding(
                blob,
                "container.zip.multiple_eocd",
                Severity.HIGH,
                f"ZIP has {len(layout.eocds)} end-of-central-directory records; readers pick "
                "different ones and list different members",
                evidence={
                    "offsets": sorted(e[0] for e in layout.eocds),
                    "entries": [e[1] for e in sorted(layout.eocds)],
                },
            )
        if layout.delta > 0:
            yield _finding(
                blob,
                "container.zip.prepended",
                Severity.MEDIUM,
                f"{layout.delta} bytes precede the ZIP data; a loader reading from offset 0 sees "
                "something else (polyglot)",
                evidence={"prepended_bytes": layout.delta},
            )
        if layout.eocds and layout.end_of_zip < n:
            yield _finding(
                blob,
                "container.zip.appended",
                Severity.MEDIUM,
                f"{n - layout.end_of_zip} bytes follow the end of the ZIP archive",
                evidence={"appended_bytes": n - layout.end_of_zip, "offset": layout.end_of_zip},
            )

    def _resolve_end(self, loc: _Local, layout: _ZipLayout) -> None:
        if loc.data_end is not None:
            return
        for c in layout.centrals:
            if c.offset + layout.delta == loc.offset or c.offset == loc.offset:
                if loc.data_start + c.csize <= len(self.mv):
                    loc.csize = c.csize
                    loc.data_end = loc.data_start + c.csize
                    return
        if loc.method == 0:
            found = _find_stored_end(self.mv, loc.data_start)
            if found is not None:
                loc.data_end = found[0]
                loc.csize = found[0] - loc.data_start
        elif loc.method == 8:
            raw = _MemReader(self.mv[loc.data_start :])
            z = _ZlibReader(raw, -15)
            budget = _Budget(self.ctx.limits, len(self.mv), _tree(self.blob, self.ctx))
            _read_bounded(
                z, member_limit=self.ctx.limits.max_member_bytes, budget=budget, consumed=z.consumed
            )
            if z.eof:
                loc.csize = z.consumed()
                loc.data_end = loc.data_start + loc.csize

    def _overlaps(self, members: dict[int, _Member]) -> Iterator[ScanItem]:
        spans = sorted(
            (m.local.offset, m.local.data_end, m.local.name)
            for m in members.values()
            if m.local is not None and m.local.data_end is not None
        )
        overlapping: list[str] = []
        reach = -1
        for start, end, name in spans:
            if start < reach:
                overlapping.append(name)
                self.overlapping.add(start)
            reach = max(reach, end)
        if overlapping:
            yield _finding(
                self.blob,
                "container.zip.overlap",
                Severity.HIGH,
                f"{len(overlapping)} ZIP members overlap other members' data (non-recursive zip bomb "
                "or parser-confusion trick)",
                evidence={"overlapping_members": len(overlapping), "examples": overlapping[:5]},
            )

    # ---------------------------------------------------------------- members
    def _member(self, m: _Member) -> Iterator[ScanItem]:
        blob = self.blob
        loc = m.local
        assert loc is not None
        cen = m.centrals[0] if m.centrals else None
        names: list[str] = []
        for c in m.centrals:
            if c.name not in names:
                names.append(c.name)
        if loc.name not in names:
            if names:
                yield _finding(
                    blob,
                    "container.zip.name_mismatch",
                    Severity.HIGH,
                    "local header and central directory name this member differently; it was "
                    "scanned under both names",
                    member=names[0],
                    evidence={"local_name": loc.name, "central_names": names},
                )
            names.append(loc.name)
        display = names[0]
        if not self.budget.count_member():
            return
        for nm in names:
            yield from member_path_findings(blob, nm, archive="ZIP")

        flags = loc.flags | (cen.flags if cen else 0)
        odd = flags & ~_ALLOWED_FLAGS & 0xFFFF
        mode: int | None = None
        is_link = False
        if cen is not None and cen.made_by >> 8 == 3 and cen.ext_attr >> 16:
            st_mode = cen.ext_attr >> 16
            is_link = stat.S_ISLNK(st_mode)
            mode = st_mode & 0o7777
            for nm in names[:1]:
                yield from _mode_findings(blob, nm, st_mode, archive="ZIP")
            if (
                stat.S_ISCHR(st_mode)
                or stat.S_ISBLK(st_mode)
                or stat.S_ISFIFO(st_mode)
                or stat.S_ISSOCK(st_mode)
            ):
                # Unlike tar, ZIP extractors write such members as regular files (`zip - -`
                # marks stdin as a FIFO), so this is a curiosity, not a device being created.
                yield _finding(
                    blob,
                    "container.zip.special_file",
                    Severity.LOW,
                    "ZIP member's Unix mode says device, FIFO or socket; its bytes were scanned",
                    member=display,
                    evidence={"mode": oct(st_mode)},
                )

        if loc.offset in self.overlapping:
            yield _skip(
                blob,
                display,
                "member overlaps another member's data (zip bomb); not decompressed again",
            )
            return
        if loc.data_end is None:
            yield _finding(
                blob,
                "container.zip.truncated",
                Severity.MEDIUM,
                "member data runs past the end of the file or its size is unknown",
                member=display,
                evidence={"offset": loc.offset},
            )
            yield _skip(blob, display, "member data truncated or of unknown size")
            return
        if display.endswith("/") and (loc.csize == 0 or loc.usize == 0) and not is_link:
            return

        read = self._decode(loc, display)
        if read is None:
            yield _finding(
                blob,
                "container.zip.unsupported_method",
                Severity.HIGH,
                f"member uses compression method {loc.method}, which datagate cannot read",
                member=display,
                evidence={"method": loc.method},
            )
            yield _skip(blob, display, f"unsupported compression method {loc.method}")
            return
        if read.limit is not None:
            yield from _limit_items(blob, display, read.limit)
            return
        expected = loc.crc
        if loc.flags & 0x8 and not expected:
            expected = (
                loc.descriptor_crc if loc.descriptor_crc is not None else (cen.crc if cen else 0)
            )
        actual = zlib.crc32(read.data)
        plain_ok = read.error is None and (
            actual == expected or (cen is not None and actual == cen.crc)
        )
        if flags & 0x1 and not plain_ok:
            yield _finding(
                blob,
                "container.zip.encrypted",
                _encrypted_severity(self.ctx),
                "member is encrypted; its content cannot be inspected (nothing opens it without "
                "the password)",
                member=display,
                evidence={"flags": hex(flags), "method": loc.method},
            )
            yield _skip(blob, display, "encrypted member")
            return
        if odd:
            yield _finding(
                blob,
                "container.zip.flag_bits",
                Severity.HIGH,
                "member sets general-purpose flag bits (encrypted/patched/strong-encryption or "
                "reserved) on data that is not encrypted; scanners and loaders disagree on it",
                member=display,
                evidence={"flags": hex(flags), "unusual_bits": hex(odd)},
            )
        if read.error is not None:
            yield _finding(
                blob,
                "container.zip.corrupt_member",
                Severity.MEDIUM,
                "member's compressed data is corrupt; the bytes decoded before the error were scanned",
                member=display,
                evidence={"error": read.error, "decoded_bytes": len(read.data)},
            )
        elif actual != expected or (cen is not None and actual != cen.crc):
            yield _finding(
                blob,
                "container.zip.bad_crc",
                Severity.MEDIUM,
                "member's CRC-32 does not match its data; strict readers refuse it, lenient loaders do not",
                member=display,
                evidence={
                    "crc_local": f"{loc.crc:08x}",
                    "crc_central": f"{cen.crc:08x}" if cen else None,
                    "crc_actual": f"{actual:08x}",
                },
            )
        if is_link:
            target = bytes(read.data[:4096]).decode("utf-8", "replace")
            yield from _link_findings(blob, display, target, hard=False, archive="ZIP")
            return
        if not read.data and read.error is not None:
            yield _skip(blob, display, f"member could not be decoded ({read.error})")
            return
        for nm in names:
            yield blob.child(nm, read.data, mode=mode)

    def _decode(self, loc: _Local, display: str) -> _Read | None:
        assert loc.data_end is not None
        payload = self.mv[loc.data_start : loc.data_end]
        limits = self.ctx.limits
        member_limit = limits.max_member_bytes
        if loc.method == 0:
            # Stored: a zero-copy view of bytes already on disk; nothing is inflated, so the
            # size and volume limits (which bound decompression) do not apply.
            return _Read(payload)
        raw = _MemReader(payload)
        stream: Any
        if loc.method == 8:
            stream = _ZlibReader(raw, -15)
        elif loc.method == 12:
            stream = bz2.BZ2File(raw, "rb")
        elif loc.method == 14:
            head = bytes(payload[:4])
            if len(head) < 4:
                return _Read(b"", error="truncated LZMA header")
            plen = _u16(head, 2)
            props = bytes(payload[4 : 4 + plen])
            try:
                filt = lzma._decode_filter_properties(lzma.FILTER_LZMA1, props)  # type: ignore[attr-defined]  # no public API decodes raw LZMA1 properties
            except (lzma.LZMAError, ValueError) as exc:
                return _Read(b"", error=f"bad LZMA properties: {exc}")
            raw.seek(4 + plen)
            stream = lzma.LZMAFile(_as_io(raw), "rb", format=lzma.FORMAT_RAW, filters=[filt])
        elif loc.method == 95:
            stream = lzma.LZMAFile(_as_io(raw), "rb")
        elif loc.method == 93:
            import zstandard

            stream = zstandard.ZstdDecompressor().stream_reader(
                _as_io(raw), read_across_frames=True
            )
        else:
            return None
        return _read_bounded(
            stream, member_limit=member_limit, budget=self.budget, consumed=raw.tell
        )


# ================================================================================ TAR


def _is_tar_header(h: bytes) -> bool:
    if len(h) < 512:
        return False
    if h[257:262] == b"ustar":
        return True
    if h[0] == 0:
        return False
    field_ = h[148:156].replace(b"\x00", b" ").strip()
    if not field_ or not all(48 <= c <= 55 for c in field_):
        return False
    return int(field_, 8) == sum(h[:148]) + 256 + sum(h[156:512])


class _LimitedStream(io.RawIOBase):
    """Counts bytes read out of a decompressing stream against the container's budget and ratio."""

    def __init__(self, inner: Any, raw: _MemReader, budget: _Budget, prefix: bytes = b"") -> None:
        super().__init__()
        self.inner = inner
        self.raw = raw
        self.budget = budget
        self.prefix = prefix
        self.produced = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        if self.prefix:
            n = min(len(b), len(self.prefix))
            b[:n] = self.prefix[:n]
            self.prefix = self.prefix[n:]
            return n
        chunk = self.inner.read(len(b))
        if not chunk:
            return 0
        n = len(chunk)
        b[:n] = chunk
        self.produced += n
        self.budget.charge(n)
        limits = self.budget.limits
        if self.produced >= _RATIO_MIN_OUTPUT and self.produced > limits.max_ratio * max(
            self.raw.tell(), 1
        ):
            raise _LimitHit(
                "container.bomb.ratio",
                f"decompression ratio exceeds {limits.max_ratio:g}",
                {
                    "limit": limits.max_ratio,
                    "decompressed_at_least": self.produced,
                    "compressed_read": self.raw.tell(),
                },
            )
        return n


def _scan_tar(
    blob: Blob,
    ctx: ScanContext,
    fileobj: Any,
    *,
    budget: _Budget,
    direct: memoryview | None,
) -> Iterator[ScanItem]:
    """Yield the members of a tar read from ``fileobj`` (streaming unless ``direct`` is given)."""
    limits = ctx.limits
    try:
        tf = tarfile.open(fileobj=fileobj, mode="r:" if direct is not None else "r|")
    except _LimitHit as hit:
        yield from _limit_items(blob, "<stream>", hit)
        return
    except _DECODE_ERRORS as exc:
        yield _finding(
            blob,
            "container.unreadable",
            Severity.HIGH,
            "tar archive cannot be opened; its content was not inspected",
            evidence={"error": f"{type(exc).__name__}: {exc}"},
        )
        yield _skip(blob, None, "unreadable tar archive")
        return
    count = 0
    try:
        while True:
            try:
                info = tf.next()
            except _LimitHit as hit:
                yield from _limit_items(blob, "<stream>", hit)
                return
            except _DECODE_ERRORS as exc:
                yield _finding(
                    blob,
                    "container.tar.corrupt",
                    Severity.MEDIUM,
                    "tar archive is corrupt after its first members; later members were not inspected",
                    evidence={"error": f"{type(exc).__name__}: {exc}", "members_read": count},
                )
                yield _skip(
                    blob, None, "corrupt tar archive: members after the error not inspected"
                )
                return
            if info is None:
                break
            count += 1
            if count > limits.max_members:
                yield _finding(
                    blob,
                    "container.bomb.members",
                    Severity.HIGH,
                    f"tar holds more than {limits.max_members} members; the rest were not inspected",
                    evidence={"limit": limits.max_members},
                )
                yield _skip(
                    blob, None, f"members beyond the first {limits.max_members} not inspected"
                )
                return
            yield from _tar_member(blob, tf, info, budget=budget, limits=limits, direct=direct)
        if direct is not None:
            end = tf.offset
            rest = direct[end:]
            if len(rest) and bytes(rest[: 1 << 20]).strip(b"\x00"):
                yield _finding(
                    blob,
                    "container.tar.trailing_data",
                    Severity.MEDIUM,
                    f"{len(rest)} non-zero bytes follow the end of the tar archive; some extractors read on",
                    evidence={"offset": end, "length": len(rest)},
                )
    finally:
        try:
            tf.close()
        except Exception:  # noqa: BLE001, S110 - closing a read-only in-memory archive cannot matter
            pass


def _tar_member(
    blob: Blob,
    tf: tarfile.TarFile,
    info: tarfile.TarInfo,
    *,
    budget: _Budget,
    limits: Limits,
    direct: memoryview | None,
) -> Iterator[ScanItem]:
    name = info.name
    yield from member_path_findings(blob, name, archive="tar")
    yield from _mode_findings(blob, name, info.mode, archive="tar")
    if info.issym() or info.islnk():
        yield from _link_findings(blob, name, info.linkname, hard=info.islnk(), archive="tar")
        return
    if info.ischr() or info.isblk() or info.isfifo():
        yield _finding(
            blob,
            "container.path.device",
            Severity.HIGH,
            "tar member is a device node or FIFO; extracting it creates one",
            member=name,
            evidence={"type": info.type.decode("latin-1", "replace"), "name": name},
        )
        return
    if info.isdir():
        return
    if not info.isfile():
        yield _finding(
            blob,
            "container.tar.unknown_member",
            Severity.MEDIUM,
            "tar member has an unknown type; it was not inspected",
            member=name,
            evidence={"type": info.type.decode("latin-1", "replace")},
        )
        yield _skip(blob, name, "tar member of unknown type")
        return
    if not budget.count_member():
        return
    if direct is None and info.size > limits.max_member_bytes:
        hit = _LimitHit(
            "container.bomb.size",
            f"member is larger than {limits.max_member_bytes} bytes",
            {"limit": limits.max_member_bytes, "size": info.size},
        )
        yield from _limit_items(blob, name, hit)
        return
    try:
        if direct is not None and not info.issparse():
            start = info.offset_data
            data: bytes | memoryview = direct[start : start + info.size]
            if len(data) < info.size:
                yield _finding(
                    blob,
                    "container.tar.truncated",
                    Severity.MEDIUM,
                    "tar member is cut short by the end of the archive; its start was scanned",
                    member=name,
                    evidence={"declared": info.size, "present": len(data)},
                )
        else:
            f = tf.extractfile(info)
            data = f.read(info.size) if f is not None else b""
    except _LimitHit as hit:
        yield from _limit_items(blob, name, hit)
        return
    except _DECODE_ERRORS as exc:
        yield _finding(
            blob,
            "container.tar.corrupt",
            Severity.MEDIUM,
            "tar member could not be read completely",
            member=name,
            evidence={"error": f"{type(exc).__name__}: {exc}"},
        )
        yield _skip(blob, name, "tar member unreadable")
        return
    yield blob.child(name, data, mode=info.mode)


# ================================================================================ 7z


class _SevenZipCollector:
    """A py7zr writer factory that keeps members in memory, bounded per member."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.products: dict[str, _SevenZipBuffer] = {}

    def create(self, filename: str) -> _SevenZipBuffer:
        buf = _SevenZipBuffer(self.limit)
        self.products[filename] = buf
        return buf


class _SevenZipBuffer:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.buf = io.BytesIO()
        self.over = False

    def write(self, s: bytes | bytearray) -> int:
        room = self.limit - self.buf.tell()
        if len(s) > room:
            self.over = True
            s = s[: max(room, 0)]
        return self.buf.write(s)

    def read(self, size: int | None = None) -> bytes:
        return self.buf.read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.buf.seek(offset, whence)

    def flush(self) -> None:
        return None

    def size(self) -> int:
        return len(self.buf.getbuffer())

    def close(self) -> None:
        return None


def _scan_7z(blob: Blob, ctx: ScanContext) -> Iterator[ScanItem]:
    limits = ctx.limits
    try:
        import py7zr
    except ImportError:  # pragma: no cover - py7zr is a declared dependency
        yield _finding(
            blob, "container.unsupported", Severity.HIGH, "7z archive, but py7zr is not installed"
        )
        yield _skip(blob, None, "7z reader unavailable")
        return
    try:
        archive = py7zr.SevenZipFile(_MemReader(blob.data), mode="r")  # type: ignore[arg-type]  # a readable, seekable binary file object
    except Exception as exc:  # noqa: BLE001 - py7zr raises many types for bad input
        if "password" in str(exc).lower() or type(exc).__name__ == "PasswordRequired":
            yield _finding(
                blob,
                "container.7z.encrypted",
                _encrypted_severity(ctx),
                "7z archive is encrypted; its content cannot be inspected (nothing opens it "
                "without the password)",
            )
            yield _skip(blob, None, "encrypted 7z archive")
            return
        yield _finding(
            blob,
            "container.unreadable",
            Severity.HIGH,
            "7z archive cannot be opened; its content was not inspected",
            evidence={"error": f"{type(exc).__name__}: {exc}"},
        )
        yield _skip(blob, None, "unreadable 7z archive")
        return
    try:
        if archive.needs_password():
            yield _finding(
                blob,
                "container.7z.encrypted",
                _encrypted_severity(ctx),
                "7z archive is encrypted; its content cannot be inspected (nothing opens it "
                "without the password)",
            )
            yield _skip(blob, None, "encrypted 7z archive")
            return
        infos = archive.list()
        if len(infos) > limits.max_members:
            yield _finding(
                blob,
                "container.bomb.members",
                Severity.HIGH,
                f"7z holds more than {limits.max_members} members; it was not inspected",
                evidence={"limit": limits.max_members, "members": len(infos)},
            )
            yield _skip(blob, None, "too many members")
            return
        declared = sum(int(i.uncompressed or 0) for i in infos)
        if declared > limits.max_total_bytes or (
            declared >= _RATIO_MIN_OUTPUT and declared > limits.max_ratio * max(len(blob.data), 1)
        ):
            rule = (
                "container.bomb.total"
                if declared > limits.max_total_bytes
                else "container.bomb.ratio"
            )
            yield from _limit_items(
                blob,
                "<archive>",
                _LimitHit(
                    rule,
                    f"7z declares {declared} decompressed bytes",
                    {"declared": declared, "compressed": len(blob.data)},
                ),
            )
            return
        targets: list[str] = []
        modes: dict[str, int | None] = {}
        for info in infos:
            name = info.filename
            problems = member_path_findings(blob, name, archive="7z")
            yield from problems
            if info.is_directory:
                continue
            if getattr(info, "is_symlink", False):
                targets.append(name)
                continue
            if problems:
                yield _skip(blob, name, "member path is unsafe; py7zr refuses to decode it")
                continue
            if int(info.uncompressed or 0) > limits.max_member_bytes:
                yield from _limit_items(
                    blob,
                    name,
                    _LimitHit(
                        "container.bomb.size",
                        f"member is larger than {limits.max_member_bytes} bytes",
                        {"limit": limits.max_member_bytes, "size": int(info.uncompressed or 0)},
                    ),
                )
                continue
            targets.append(name)
        collector = _SevenZipCollector(limits.max_member_bytes)
        factory: Any = collector
        archive.max_extract_size = limits.max_total_bytes
        try:
            archive.extract(targets=targets, factory=factory)
        except Exception as exc:  # noqa: BLE001 - corrupt/unsupported 7z content
            yield _finding(
                blob,
                "container.7z.corrupt",
                Severity.HIGH,
                "7z members could not be decoded completely; what was decoded was scanned",
                evidence={"error": f"{type(exc).__name__}: {exc}"},
            )
        by_name = {i.filename: i for i in infos}
        for key, buf in sorted(collector.products.items()):
            data = buf.buf.getvalue()
            member_info = by_name.get(key)
            if buf.over:
                yield from _limit_items(
                    blob,
                    key,
                    _LimitHit(
                        "container.bomb.size",
                        f"member decompresses to more than {limits.max_member_bytes} bytes",
                        {"limit": limits.max_member_bytes},
                    ),
                )
                continue
            if member_info is not None and getattr(member_info, "is_symlink", False):
                yield from _link_findings(
                    blob, key, data[:4096].decode("utf-8", "replace"), hard=False, archive="7z"
                )
                continue
            yield blob.child(key, data, mode=modes.get(key))
        for name in targets:
            if name not in collector.products and not getattr(
                by_name.get(name), "is_symlink", False
            ):
                if int(getattr(by_name.get(name), "uncompressed", 0) or 0) == 0:
                    yield blob.child(name, b"")
                else:
                    yield _skip(blob, name, "7z member was not decoded")
    finally:
        try:
            archive.close()
        except Exception:  # noqa: BLE001, S110 - closing an in-memory archive cannot matter
            pass


# ================================================================================ streams

_SUFFIXES = {
    ".tgz": ".tar",
    ".taz": ".tar",
    ".tbz": ".tar",
    ".tbz2": ".tar",
    ".txz": ".tar",
    ".tzst": ".tar",
    ".gz": "",
    ".gzip": "",
    ".bz2": "",
    ".xz": "",
    ".lzma": "",
    ".zst": "",
    ".zstd": "",
    ".lz4": "",
    ".z": "",
    ".zz": "",
    ".zlib": "",
}


def _stream_child_name(name: str) -> str:
    low = name.lower()
    for suffix, repl in _SUFFIXES.items():
        if low.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)] + repl
    return "<stream>"


def _scan_stream(blob: Blob, ctx: ScanContext) -> Iterator[ScanItem]:
    assert blob.kind is not None
    kind = blob.kind if blob.kind in STREAM_KINDS else None
    if kind is None:
        return
    limits = ctx.limits
    budget = _Budget(limits, len(blob.data), _tree(blob, ctx))
    raw = _MemReader(blob.data)
    try:
        inner = _open_stream(kind, raw)
    except _DECODE_ERRORS as exc:
        yield _finding(
            blob,
            "container.unreadable",
            Severity.HIGH,
            f"{kind.value} stream cannot be opened; its content was not inspected",
            evidence={"error": f"{type(exc).__name__}: {exc}"},
        )
        yield _skip(blob, None, f"unreadable {kind.value} stream")
        return
    child_name = _stream_child_name(blob.name)
    # Peek at the first block: a compressed tar is walked member by member, streaming.
    head = bytearray()
    error: str | None = None
    try:
        while len(head) < 512:
            chunk = inner.read(512 - len(head))
            if not chunk:
                break
            head += chunk
    except _DECODE_ERRORS as exc:
        error = f"{type(exc).__name__}: {exc}"
    if error is None and _is_tar_header(bytes(head)):
        budget.charge(len(head))
        stream = _LimitedStream(inner, raw, budget, prefix=bytes(head))
        yield from _scan_tar(blob, ctx, stream, budget=budget, direct=None)
        return
    if error is None:
        budget.charge(len(head))
        read = _read_bounded(
            inner,
            member_limit=limits.max_member_bytes,
            budget=budget,
            consumed=raw.tell,
            initial=bytes(head),
        )
    else:
        read = _Read(bytes(head), error=error)
    if read.limit is not None:
        yield from _limit_items(blob, child_name, read.limit)
        return
    if read.error is not None:
        if not read.data:
            yield _finding(
                blob,
                "container.unreadable",
                Severity.HIGH,
                f"{kind.value} stream cannot be decoded; its content was not inspected",
                evidence={"error": read.error},
            )
            yield _skip(blob, None, f"undecodable {kind.value} stream")
            return
        yield _finding(
            blob,
            "container.stream.corrupt",
            Severity.MEDIUM,
            f"{kind.value} stream is truncated or corrupt; the {len(read.data)} bytes decoded before "
            "the error were scanned",
            evidence={"error": read.error, "decoded_bytes": len(read.data)},
        )
    if isinstance(inner, _ZlibReader) and inner.eof:
        extra = len(blob.data) - inner.consumed()
        if extra > 0:
            yield _finding(
                blob,
                "container.stream.trailing_data",
                Severity.MEDIUM,
                f"{extra} bytes follow the end of the zlib stream",
                evidence={"trailing_bytes": extra},
            )
    yield blob.child(child_name, read.data)


# ================================================================================ scanner


class ContainerScanner:
    """Reads archives and compressed streams in memory and yields their members as child blobs.

    Never raises for malformed or hostile input: every problem is a finding or a skip.
    """

    name = "containers"
    kinds: frozenset[ContentKind] = FAMILY_KINDS[ScannerName.CONTAINERS]

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterator[ScanItem]:
        """Yield findings, skips and member blobs for ``blob`` (see the module docstring).

        The first bomb limit reached anywhere in ``blob``'s tree is reported once and stops the
        whole tree: this container and every other one nested in the same top-level file.
        """
        tree = _tree(blob, ctx)
        if tree.stopped:
            return
        items = self._scan(blob, ctx)
        try:
            for item in items:
                if tree.stopped:  # a container nested in this one hit a bomb limit
                    return
                if isinstance(item, Finding) and item.rule.startswith("container.bomb."):
                    tree.stopped = True
                    yield item
                    after = next(items, None)  # the skip of the member the limit stopped
                    if isinstance(after, Skip):
                        yield after
                    yield _skip(blob, None, f"{item.rule}: the rest of this archive tree was not inspected")
                    return
                yield item
                if tree.hit is not None and not tree.stopped:
                    break
            if tree.hit is not None and not tree.stopped:
                tree.stopped = True
                yield _finding(
                    blob, tree.hit.rule, Severity.HIGH,
                    f"possible decompression bomb: {tree.hit.message}", evidence=tree.hit.evidence,
                )
                yield _skip(blob, None, f"{tree.hit.rule}: the rest of this archive tree was not inspected")
        finally:
            items.close()

    def _scan(self, blob: Blob, ctx: ScanContext) -> Generator[ScanItem, None, None]:
        kind = blob.kind
        if kind is None:
            from datagate.scan.sniff import sniff

            kind = sniff(blob.data)[0]
            blob = Blob(blob.path, blob.data, blob.member, blob.depth, blob.mode, blob.name, kind)
        data = blob.data
        zip_like = kind in (ContentKind.ZIP, ContentKind.TORCH_ZIP) or (
            kind not in self.kinds and len(data) >= 22
        )
        if zip_like:
            yield from _ZipReader(blob, ctx).scan()
        elif kind is ContentKind.TAR:
            mv = memoryview(data) if isinstance(data, bytes) else data
            budget = _Budget(ctx.limits, len(mv), _tree(blob, ctx))
            yield from _scan_tar(blob, ctx, _MemReader(mv), budget=budget, direct=mv)
        elif kind is ContentKind.SEVENZ:
            yield from _scan_7z(blob, ctx)
        elif kind is ContentKind.RAR:
            yield _finding(
                blob,
                "container.unsupported",
                Severity.HIGH,
                "RAR archive: datagate cannot read RAR, so its members were not inspected",
            )
            yield _skip(blob, None, "RAR archives are not supported")
        elif kind in STREAM_KINDS:
            yield from _scan_stream(blob, ctx)


CONTAINER_SCANNER = ContainerScanner()
"""The container scanner instance the registry uses."""
