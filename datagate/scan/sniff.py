"""Content sniffing: decide what a byte sequence is from its bytes alone, never its name.

datagate's own magic checks run first for every format that matters to the gate (pickles,
archives and compressed streams, executables, scripts, notebooks, columnar and tensor formats);
libmagic (python-magic, one instance per process, on a head slice only) decides the rest (images,
audio, video, office files, plain text). Only the head (and, for ZIP and Parquet-like formats,
the tail) of a file is looked at, so sniffing a large data file costs a few page reads.

A file can be two things at once (a pickle with a ZIP appended, a PE self-extractor): the
primary kind is what a loader reading from offset 0 sees, and :attr:`Sniffed.also` lists the
other kinds the engine must scan it as too (THREATS.md B9).

>>> sniff(b"\\x80\\x04\\x95\\x05\\x00\\x00\\x00\\x00\\x00\\x00\\x00N.")[0]
<ContentKind.PICKLE: 'pickle'>
>>> sniff(b"a,b\\n1,2\\n3,4\\n")[0]
<ContentKind.CSV: 'csv'>
"""

from __future__ import annotations

import ast
import csv
import io
import json
import os
import re
import struct
import sys
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from datagate.scan import _sciformats
from datagate.scan._patterns import lazy_compile
from datagate.scan.interface import ContentKind

__all__ = [
    "HEAD_BYTES",
    "LIBMAGIC_CANDIDATES",
    "Sniffed",
    "content_type",
    "find_eocd",
    "import_magic",
    "libmagic_path",
    "npy_header",
    "npy_is_numeric",
    "sniff",
    "sniff_full",
]

HEAD_BYTES = 64 * 1024
"""How many leading bytes the own checks look at."""
_MAGIC_BYTES = 16 * 1024
"""How many leading bytes libmagic is given."""
_TAIL_BYTES = 65535 + 22 + 1024
"""Trailing bytes searched for a ZIP end-of-central-directory record (max comment + record)."""
_FULL_PARSE_LIMIT = 1 << 20
"""Text up to this size is parsed whole (JSON, Python); larger text is judged by its head."""

_TORCH_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


@dataclass(frozen=True)
class Sniffed:
    """The outcome of sniffing one byte sequence."""

    kind: ContentKind
    """The primary kind: what a loader reading from offset 0 sees."""
    detail: str
    """A human description (libmagic's when libmagic was consulted)."""
    also: frozenset[ContentKind] = field(default_factory=frozenset)
    """Further kinds the bytes are valid as (polyglots); the engine scans these too."""
    mime: str = ""
    """libmagic's MIME type when libmagic was consulted, else empty."""

    @property
    def content_type(self) -> str:
        """The MIME-style content type reported for these bytes (see :func:`content_type`)."""
        return content_type(self.kind, self.detail, self.mime)


content_type = _sciformats.content_type


# --------------------------------------------------------------------------------- libmagic

LIBMAGIC_CANDIDATES: tuple[str, ...] = (
    "libmagic.so.1",  # the soname: the dynamic linker's own search (ld.so.cache, no process)
    "/usr/lib/x86_64-linux-gnu/libmagic.so.1",
    "/usr/lib/aarch64-linux-gnu/libmagic.so.1",
    "/usr/lib64/libmagic.so.1",
    "/usr/lib/libmagic.so.1",
    "/lib/libmagic.so.1",
    "/usr/local/lib/libmagic.so.1",
    "/opt/homebrew/lib/libmagic.dylib",
    "/usr/local/lib/libmagic.dylib",
    "/opt/local/lib/libmagic.dylib",
    "libmagic.dylib",
    "libmagic-1.dll",
)
"""Where libmagic is looked for, in order: by soname, then at the usual install paths."""

_IMPORT_LOCK = threading.Lock()


def libmagic_path() -> str | None:
    """Return the first of :data:`LIBMAGIC_CANDIDATES` that loads, or None.

    Never starts a process: ``ctypes.util.find_library`` (which python-magic calls) runs
    ``ldconfig -p`` and compilers to search, so a scan would not be process-free (issue 14).
    """
    import ctypes

    for candidate in LIBMAGIC_CANDIDATES:
        if "/" in candidate and not os.path.exists(candidate):
            continue
        try:
            ctypes.CDLL(candidate)
        except OSError:
            continue
        return candidate
    return None


def import_magic() -> Any:
    """Import python-magic with libmagic found by :func:`libmagic_path`, never by a process.

    python-magic's loader asks ``ctypes.util.find_library('magic')`` first; for the duration of
    the import that function answers from :func:`libmagic_path` (None for any other library).
    Raises ImportError when libmagic cannot be loaded.
    """
    import ctypes.util

    with _IMPORT_LOCK:
        if "magic" in sys.modules:
            return sys.modules["magic"]
        found = libmagic_path()
        real = ctypes.util.find_library

        def no_process(name: str) -> str | None:
            return found if name == "magic" else None

        ctypes.util.find_library = no_process
        try:
            import magic
        finally:
            ctypes.util.find_library = real
        return magic


class _Magic:
    """Lazily created python-magic objects, one pair per process, guarded by a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._mime: Any = None
        self._desc: Any = None
        self._failed = False

    def identify(self, head: bytes) -> tuple[str, str]:
        """Return (mime type, description) of ``head``; ("", "") if libmagic is unusable."""
        with self._lock:
            if self._failed:
                return "", ""
            try:
                if self._mime is None:
                    magic = import_magic()  # libmagic loads only when first needed
                    self._mime = magic.Magic(mime=True)
                    self._desc = magic.Magic()
                mime = str(self._mime.from_buffer(head))
                # The description costs a second full pass over libmagic's database; for bytes
                # it cannot place at all it would only say "data", so skip it there.
                desc = "data" if mime == "application/octet-stream" else str(self._desc.from_buffer(head))
            except Exception:  # noqa: BLE001 - libmagic missing or failing: fall back to own checks
                self._failed = True
                return "", ""
        return mime, desc


_MAGIC = _Magic()


# --------------------------------------------------------------------------------- helpers


def _u16(b: bytes, off: int) -> int:
    return int(struct.unpack_from("<H", b, off)[0])


def _u32(b: bytes, off: int) -> int:
    return int(struct.unpack_from("<I", b, off)[0])


def find_eocd(tail: bytes, total_len: int) -> list[tuple[int, int, int, int]]:
    """Return every plausible ZIP end-of-central-directory record in ``tail``.

    ``tail`` is the last bytes of a ``total_len``-byte sequence. Each result is
    ``(absolute offset, entries, cd_size, cd_offset)``, last record first. Raises nothing.
    """
    out: list[tuple[int, int, int, int]] = []
    base = total_len - len(tail)
    pos = tail.rfind(b"PK\x05\x06")
    while pos >= 0:
        if pos + 22 <= len(tail):
            entries = _u16(tail, pos + 10)
            cd_size = _u32(tail, pos + 12)
            cd_off = _u32(tail, pos + 16)
            if base + pos - cd_size >= 0 or cd_size == 0xFFFFFFFF:
                out.append((base + pos, entries, cd_size, cd_off))
        pos = tail.rfind(b"PK\x05\x06", 0, pos)
    return out


def _zip_cd_valid(data: bytes | memoryview, eocd: tuple[int, int, int, int]) -> bool:
    """Return True when the EOCD record points at a central directory (or is an empty zip)."""
    pos, entries, cd_size, cd_off = eocd
    if cd_size == 0xFFFFFFFF or cd_off == 0xFFFFFFFF:
        return pos >= 20 and bytes(data[pos - 20 : pos - 16]) == b"PK\x06\x07"
    start = pos - cd_size
    if entries == 0 and cd_size == 0:
        return True
    if start < 0 or entries == 0:
        return False
    return bytes(data[start : start + 4]) == b"PK\x01\x02"


_CALL_OPS = frozenset({"REDUCE", "OBJ", "INST", "NEWOBJ", "NEWOBJ_EX", "BUILD"})
_GLOBAL_OPS = frozenset({"GLOBAL", "STACK_GLOBAL", "INST"})

_looks_like_pickle: Callable[[bytes], bool] | None = None
_looks_resolved = False


def _external_pickle_check() -> Callable[[bytes], bool] | None:
    """Return datagate.scan.pickles.looks_like_pickle when that module provides it."""
    global _looks_like_pickle, _looks_resolved
    if not _looks_resolved:
        _looks_resolved = True
        try:
            from datagate.scan import pickles

            fn = getattr(pickles, "looks_like_pickle", None)
            _looks_like_pickle = fn if callable(fn) else None
        except ImportError:
            _looks_like_pickle = None
    return _looks_like_pickle


def _own_low_protocol_pickle(head: bytes, truncated: bool) -> bool:
    """Heuristic for protocol 0/1 pickles (no PROTO opcode): opcodes must parse as a pickle."""
    if not head or head[0:1] not in b"(]}cNIJKLMFSVXUTGh)\x88\x89\x8a.":
        return False
    import pickletools  # only without datagate.scan.pickles (its own check is used otherwise)

    ops = 0
    saw_global = False
    pos = 0
    try:
        for op, _arg, pos_ in pickletools.genops(io.BytesIO(head)):
            pos = pos_ or 0
            ops += 1
            if op.name in _GLOBAL_OPS:
                saw_global = True
            if saw_global and op.name in _CALL_OPS:
                return True
            if op.name == "STOP":
                return ops >= 2
            if ops > 100_000:
                return True
    except Exception:  # noqa: BLE001 - any parse failure means "not a pickle by this heuristic"
        return truncated and ops >= 64 and pos > len(head) - 4096
    return truncated and ops >= 64


def _is_pickle_low_protocol(head: bytes, truncated: bool) -> bool:
    ext = _external_pickle_check()
    if ext is not None:
        try:
            if ext(head):
                return True
        except Exception:  # noqa: BLE001, S110 - a sibling's bug must not break sniffing
            pass
    return _own_low_protocol_pickle(head, truncated)


def _tar_checksum_ok(h: bytes) -> bool:
    if len(h) < 512 or h[0] == 0:
        return False
    field_ = h[148:156].replace(b"\x00", b" ").strip()
    if not field_ or not all(48 <= c <= 55 for c in field_):
        return False
    want = int(field_, 8)
    total = sum(h[:148]) + 8 * 32 + sum(h[156:512])
    return want == total


def _zlib_ok(head: bytes) -> bool:
    if len(head) < 2 or head[0] != 0x78 or head[1] not in (0x01, 0x5E, 0x9C, 0xDA):
        return False
    if (head[0] * 256 + head[1]) % 31 != 0:
        return False
    try:
        zlib.decompressobj().decompress(head[:4096], 1024)
    except zlib.error:
        return False
    return True


def _lzma_alone_ok(head: bytes) -> bool:
    if len(head) < 13 or head[0] >= 225:
        return False
    if head[0] != 0x5D:  # lc=3 lp=0 pb=2, what every common encoder writes
        return False
    dict_size = _u32(head, 1)
    if dict_size < 4096 or dict_size > (1 << 30):
        return False
    usize = int(struct.unpack_from("<Q", head, 5)[0])
    return usize == 0xFFFFFFFFFFFFFFFF or usize < (1 << 48)


def npy_header(data: bytes | memoryview) -> dict[str, Any] | None:
    """Return the parsed header dict of a ``.npy`` byte sequence, or None if it has none.

    The header is a Python literal parsed with :func:`ast.literal_eval` (never eval). Raises
    nothing.
    """
    head = bytes(data[:10])
    if len(head) < 10 or head[:6] != b"\x93NUMPY":
        return None
    major = head[6]
    if major == 1:
        hlen = _u16(head, 8)
        start = 10
    else:
        more = bytes(data[:12])
        if len(more) < 12:
            return None
        hlen = _u32(more, 8)
        start = 12
    if hlen > 1 << 20:
        return None
    try:
        text = bytes(data[start : start + hlen]).decode("latin-1")
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
        return None
    return value if isinstance(value, dict) else None


def npy_is_numeric(data: bytes | memoryview) -> bool:
    """Return True when ``data`` is a ``.npy`` whose dtype holds no Python objects."""
    header = npy_header(data)
    if header is None:
        return False
    descr = header.get("descr")

    def plain(d: object) -> bool:
        if isinstance(d, str):
            return "O" not in d
        if isinstance(d, list):
            return all(isinstance(f, tuple) and len(f) >= 2 and plain(f[1]) for f in d)
        return False

    return plain(descr)


# --------------------------------------------------------------------------------- binary magic


def _binary(head: bytes, data: bytes | memoryview, tail: bytes) -> tuple[ContentKind, str] | None:
    """Own checks for binary formats, most security-relevant first. None when undecided."""
    n = len(data)
    b0 = head[:1]
    if b0 == b"\x80" and len(head) >= 2 and 2 <= head[1] <= 5:
        if (
            len(head) >= 14
            and head[2] == 0x8A
            and head[3] == 10
            and int.from_bytes(head[4:14], "little") == _TORCH_LEGACY_MAGIC
        ):
            return ContentKind.TORCH_LEGACY, "PyTorch legacy serialization (stacked pickles)"
        return ContentKind.PICKLE, f"Python pickle, protocol {head[1]}"
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08", b"PK00"):
        return _zip_kind(head, tail)
    if head[:6] == b"7z\xbc\xaf\x27\x1c":
        return ContentKind.SEVENZ, "7-zip archive"
    if head[:6] == b"Rar!\x1a\x07":
        return ContentKind.RAR, "RAR archive"
    if head[:2] == b"\x1f\x8b":
        return ContentKind.GZIP, "gzip compressed data"
    if (
        head[:3] == b"BZh"
        and len(head) >= 10
        and 0x31 <= head[3] <= 0x39
        and head[4:10]
        in (
            b"1AY&SY",
            b"\x17rE8P\x90",
        )
    ):
        return ContentKind.BZIP2, "bzip2 compressed data"
    if head[:6] == b"\xfd7zXZ\x00":
        return ContentKind.XZ, "XZ compressed data"
    if head[:4] == b"\x28\xb5\x2f\xfd":
        return ContentKind.ZSTD, "Zstandard compressed data"
    if head[:4] == b"\x04\x22\x4d\x18":
        return ContentKind.LZ4, "LZ4 frame compressed data"
    if head[:4] == b"\x7fELF":
        return ContentKind.ELF, "ELF executable"
    if head[:2] == b"MZ" and len(head) >= 64:
        lfanew = _u32(head, 0x3C)
        if lfanew + 4 <= len(head) and head[lfanew : lfanew + 4] == b"PE\x00\x00":
            return ContentKind.PE, "PE executable (MS Windows)"
        if b"\x00" in head[:64]:
            return ContentKind.PE, "MS-DOS executable (MZ stub)"
    if head[:4] in (
        b"\xfe\xed\xfa\xce",
        b"\xce\xfa\xed\xfe",
        b"\xfe\xed\xfa\xcf",
        b"\xcf\xfa\xed\xfe",
    ):
        return ContentKind.MACHO, "Mach-O executable"
    if head[:4] in (b"\xca\xfe\xba\xbe", b"\xca\xfe\xba\xbf") and len(head) >= 8:
        count = int(struct.unpack_from(">I", head, 4)[0])
        if head[3] == 0xBE and count >= 43:
            return ContentKind.JAVA_CLASS, "compiled Java class data"
        if 0 < count < 43:
            return ContentKind.MACHO_FAT, f"Mach-O universal binary with {count} architectures"
    if head[:4] == b"\x00asm":
        return ContentKind.WASM, "WebAssembly (wasm) binary module"
    if head[:6] == b"\x93NUMPY":
        return ContentKind.NUMPY, "NumPy array data"
    if head[:4] == b"PAR1":
        if tail[-4:] == b"PAR1" and n >= 12:
            return ContentKind.PARQUET, "Apache Parquet"
        return None
    if head[:6] == b"ARROW1":
        return ContentKind.ARROW, "Apache Arrow IPC file"
    if head[:4] == b"\xff\xff\xff\xff" and len(head) >= 8:
        meta = _u32(head, 4)
        if 0 < meta < n and meta % 8 == 0:
            return ContentKind.ARROW_STREAM, "Apache Arrow IPC stream"
    science = _sciformats.strong(head, n)
    if science is not None:
        return science
    for off in (0, 512, 1024, 2048, 4096, 8192, 16384, 32768):
        if head[off : off + 8] == b"\x89HDF\r\n\x1a\n":
            return ContentKind.HDF5, "Hierarchical Data Format (HDF5)"
    if head[:4] == b"GGUF" and len(head) >= 8 and 1 <= _u32(head, 4) <= 16:
        return ContentKind.GGUF, "GGUF model"
    if head[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return ContentKind.OFFICE, "Composite Document File V2 (OLE2)"
    if len(head) >= 10 and head[8:9] == b"{":
        hlen = int(struct.unpack_from("<Q", head, 0)[0])
        if 2 <= hlen <= n - 8 and hlen <= 100 * 1024 * 1024:
            header = bytes(data[8 : 8 + hlen]).rstrip(b" ")
            if header.endswith(b"}"):
                try:
                    if isinstance(json.loads(header), dict):
                        return ContentKind.SAFETENSORS, "safetensors"
                except ValueError:
                    pass
        if head[8:10] == b'{"' and hlen < 1 << 48 and (hlen > n - 8 or hlen > 100 * 1024 * 1024):
            # a safetensors header that claims more bytes than exist: the safetensors scanner
            # reports it (a loader would read past the end), rather than "unrecognised"
            return ContentKind.SAFETENSORS, "safetensors (header length past the end of the data)"
    if _zlib_ok(head):
        return ContentKind.ZLIB, "zlib compressed data"
    if _lzma_alone_ok(head):
        return ContentKind.LZMA, "LZMA compressed data (alone)"
    if len(head) >= 512 and (head[257:262] == b"ustar" or _tar_checksum_ok(head[:512])):
        return ContentKind.TAR, "POSIX tar archive" if head[
            257:262
        ] == b"ustar" else "tar archive (v7)"
    if head[:5] == b"%PDF-" or (b"%PDF-" in head[:1024] and b"\x00" not in head[:5]):
        return ContentKind.PDF, "PDF document"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return ContentKind.IMAGE, "PNG image data"
    if head[:3] == b"\xff\xd8\xff":
        return ContentKind.IMAGE, "JPEG image data"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return ContentKind.IMAGE, "GIF image data"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ContentKind.IMAGE, "RIFF (little-endian) data, Web/P image"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return ContentKind.AUDIO, "RIFF (little-endian) data, WAVE audio"
    if head[:4] == b"fLaC":
        return ContentKind.AUDIO, "FLAC audio"
    if (
        len(head) >= 8
        and head[0] == 0x08
        and 1 <= head[1] <= 15
        and head[2] == 0x12
        and 0 < head[3] < 64
        and head[4 : 4 + head[3]].isascii()
        and b"\x00" not in head[4 : 4 + head[3]]
        and b"ai.onnx" in head + tail
    ):
        return ContentKind.ONNX, "ONNX model"
    return _sciformats.weak(head, data, n)


def _zip_kind(head: bytes, tail: bytes) -> tuple[ContentKind, str]:
    names = head + tail
    if head[:4] == b"PK\x03\x04" and len(head) >= 30:
        nlen = _u16(head, 26)
        first = head[30 : 30 + nlen]
        if first == b"mimetype" and b"application/vnd.oasis.opendocument" in head[:200]:
            return ContentKind.OFFICE, "OpenDocument (zip)"
        if first.endswith(b"data.pkl") or first.endswith(b"/version") and b"data.pkl" in names:
            return ContentKind.TORCH_ZIP, "PyTorch zip checkpoint"
    if b"[Content_Types].xml" in names and (
        b"word/" in names or b"xl/" in names or b"ppt/" in names
    ):
        return ContentKind.OFFICE, "Microsoft OOXML document (zip)"
    if b"/data.pkl" in tail and b"PK\x01\x02" in tail:
        return ContentKind.TORCH_ZIP, "PyTorch zip checkpoint"
    if head[:4] == b"PK\x07\x08":
        return ContentKind.ZIP, "Zip archive (spanned-archive marker)"
    if head[:4] == b"PK\x05\x06":
        return ContentKind.ZIP, "Zip archive (empty)"
    return ContentKind.ZIP, "Zip archive data"


# --------------------------------------------------------------------------------- text


_PY_HINT = lazy_compile(
    r"^[ \t]*(import[ \t]+[A-Za-z_]|from[ \t]+[\w.]+[ \t]+import\b|def[ \t]+\w+[ \t]*\(|"
    r"class[ \t]+\w+[ \t]*[(:]|async[ \t]+def\b|if[ \t]+__name__[ \t]*==|"
    r"(exec|eval|__import__|compile)[ \t]*\()",
    re.MULTILINE,
)
_PS_HINT = lazy_compile(
    r"^[ \t]*(Invoke-Expression\b|iex[ \t]*[(\$]|Invoke-WebRequest\b|Start-Process\b|"
    r"Set-ExecutionPolicy\b|\$\w+[ \t]*=[ \t]*New-Object\b|New-Object[ \t]+(System\.)?Net\.WebClient|"
    r"\[System\.Convert\]::FromBase64String)",
    re.MULTILINE | re.IGNORECASE,
)
_YAML_LINE = lazy_compile(r"^[ \t]*(- |-$|[\w\"'./ -]+:([ \t]|$))")
_HTML_START = (
    "<!doctype html",
    "<html",
    "<head",
    "<body",
    "<script",
    "<iframe",
    "<meta ",
    "<style",
    "<object",
    "<embed",
)


def _decode_text(head: bytes, truncated: bool) -> str | None:
    if b"\x00" in head:
        return None
    raw = head[3:] if head.startswith(b"\xef\xbb\xbf") else head
    for cut in range(0, 4 if truncated else 1):
        try:
            return raw[: len(raw) - cut].decode("utf-8")
        except UnicodeDecodeError:
            continue
    return None


def _json_kind(text: str, full: str | None, head_truncated: bool) -> tuple[ContentKind, str] | None:
    if full is not None:
        try:
            json.loads(full)
            return ContentKind.JSON, "JSON data"
        except (ValueError, RecursionError):
            pass
        lines = [ln for ln in full.splitlines() if ln.strip()]
        if lines and all(_json_line(ln) for ln in lines[:1000]):
            return ContentKind.JSONL, "JSON Lines text"
        return None
    lines = text.splitlines()
    if head_truncated and lines:
        lines = lines[:-1]
    lines = [ln for ln in lines if ln.strip()]
    if len(lines) >= 2 and all(_json_line(ln) for ln in lines[:200]):
        return ContentKind.JSONL, "JSON Lines text"
    if len(lines) == 1 or head_truncated:
        return ContentKind.JSON, "JSON data"
    return None


def _json_line(line: str) -> bool:
    s = line.strip()
    if not s or s[0] not in "{[":
        return False
    try:
        json.loads(s)
    except (ValueError, RecursionError):
        return False
    return True


def _is_python(text: str, full: str | None) -> bool:
    if not _PY_HINT.search(text):
        return False
    src = full if full is not None else text[: text.rfind("\n") + 1]
    try:
        ast.parse(src)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return full is None  # a large file with Python statements whose head does not parse alone
    return True


def _is_csv(text: str, truncated: bool) -> bool:
    lines = text.splitlines()
    if truncated and lines:
        lines = lines[:-1]
    lines = [ln for ln in lines[:50] if ln.strip()]
    if len(lines) < 2:
        return False
    for delim in (",", "\t", ";", "|"):
        if delim not in lines[0]:
            continue
        try:
            rows = list(csv.reader(lines, delimiter=delim))
        except csv.Error:
            continue
        widths = {len(r) for r in rows}
        if len(widths) == 1 and widths.pop() >= 2:
            return True
    return False


def _is_yaml(text: str) -> bool:
    s = text.lstrip()
    if s.startswith("---") or s.startswith("%YAML"):
        return True
    lines = [ln for ln in text.splitlines()[:100] if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        return False
    hits = sum(1 for ln in lines if _YAML_LINE.match(ln))
    return hits >= max(1, int(0.8 * len(lines))) and any(":" in ln for ln in lines)


def _text(
    head: bytes, data: bytes | memoryview, tail: bytes, truncated: bool
) -> tuple[ContentKind, str] | None:
    text = _decode_text(head, truncated)
    if text is None:
        return None
    s = text.lstrip("\ufeff \t\r\n")
    if not s:
        return ContentKind.TEXT, "whitespace text"
    if s.startswith("#!"):
        return ContentKind.SHEBANG, "script text with a #! interpreter line: " + s.split("\n", 1)[
            0
        ][:80]
    if s.startswith("version https://git-lfs.github.com/spec/") or s.startswith(
        "version https://hawser.github.com/spec/"
    ):
        return ContentKind.LFS_POINTER, "Git LFS pointer"
    full: str | None = None
    if not truncated:
        full = text
    elif len(data) <= _FULL_PARSE_LIMIT:
        try:
            full = bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError:
            full = None
    if s[0] in "{[":
        if (
            s[0] == "{"
            and (b'"nbformat"' in head or b'"nbformat"' in tail)
            and (b'"cells"' in head or b'"cells"' in tail or b'"worksheets"' in head)
        ):
            return ContentKind.NOTEBOOK, "Jupyter notebook (JSON)"
        found = _json_kind(text, full, truncated)
        if found is not None:
            return found
    low = s[:2048].lower()
    if (
        low.startswith("<?xml")
        or low.startswith("<!--")
        or low.startswith("<svg")
        or low.startswith("<!doctype svg")
    ):
        if "<svg" in s[:8192].lower():
            return ContentKind.SVG, "SVG Scalable Vector Graphics image"
    if any(low.startswith(t) for t in _HTML_START) or (
        low.startswith("<!--") and ("<html" in low or "<script" in low)
    ):
        return ContentKind.HTML, "HTML document"
    if low.startswith("@echo off"):
        return ContentKind.BATCH, "DOS batch file"
    if _is_python(text, full):
        return ContentKind.PYTHON, "Python script text"
    if _PS_HINT.search(text):
        return ContentKind.POWERSHELL, "PowerShell script text"
    if _is_csv(
        text if full is None else full[:HEAD_BYTES],
        truncated or (full is not None and len(full) > HEAD_BYTES),
    ):
        return ContentKind.CSV, "CSV text"
    if _is_yaml(text):
        return ContentKind.YAML, "YAML text"
    if all(c.isprintable() or c in "\t\r\n\f\v" for c in text[:4096]):
        return ContentKind.TEXT, "Unicode text, UTF-8" if not text.isascii() else "ASCII text"
    return None


_MIME_KINDS: tuple[tuple[str, ContentKind], ...] = (
    ("image/svg", ContentKind.SVG),
    ("audio/", ContentKind.AUDIO),
    ("video/", ContentKind.VIDEO),
    ("application/pdf", ContentKind.PDF),
    ("application/x-hdf", ContentKind.HDF5),
    ("application/msword", ContentKind.OFFICE),
    ("application/vnd.ms-", ContentKind.OFFICE),
    ("application/vnd.openxmlformats", ContentKind.OFFICE),
    ("application/vnd.oasis.opendocument", ContentKind.OFFICE),
    ("application/x-ole-storage", ContentKind.OFFICE),
    ("application/rtf", ContentKind.OFFICE),
    ("text/rtf", ContentKind.OFFICE),
    ("text/html", ContentKind.HTML),
    ("text/x-shellscript", ContentKind.SHELL),
    ("text/x-msdos-batch", ContentKind.BATCH),
    ("application/x-dosexec", ContentKind.PE),
    ("application/x-mach-binary", ContentKind.MACHO),
    ("application/x-executable", ContentKind.ELF),
    ("application/x-sharedlib", ContentKind.ELF),
    ("application/x-pie-executable", ContentKind.ELF),
    ("application/x-java-applet", ContentKind.JAVA_CLASS),
    ("application/x-rar", ContentKind.RAR),
    ("application/vnd.rar", ContentKind.RAR),
    ("application/x-7z-compressed", ContentKind.SEVENZ),
    ("application/x-tar", ContentKind.TAR),
    ("application/zip", ContentKind.ZIP),
    ("application/json", ContentKind.JSON),
    ("text/", ContentKind.TEXT),
)


_IMAGE_MIMES = frozenset(
    {
        "image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/x-ms-bmp",
        "image/tiff", "image/x-icon", "image/vnd.microsoft.icon", "image/heic", "image/heif",
        "image/avif", "image/jp2", "image/jxl", "image/x-portable-pixmap",
        "image/x-portable-graymap", "image/x-portable-bitmap", "image/x-exr",
    }
)  # fmt: skip
"""Image types libmagic recognises by a strong signature (weak ones such as Targa are not trusted)."""


def _mime_kind(mime: str) -> ContentKind | None:
    if mime.startswith("image/") and not mime.startswith("image/svg"):
        return ContentKind.IMAGE if mime in _IMAGE_MIMES else None
    for prefix, kind in _MIME_KINDS:
        if mime.startswith(prefix):
            return kind
    return None


# --------------------------------------------------------------------------------- entry points


def sniff_full(data: bytes | memoryview) -> Sniffed:
    """Return the primary kind, a description and any secondary (polyglot) kinds of ``data``.

    Looks at the head (and tail) only. Raises nothing: unrecognised bytes are BINARY.
    """
    n = len(data)
    if n == 0:
        return Sniffed(ContentKind.EMPTY, "empty")
    head = bytes(data[:HEAD_BYTES])
    truncated = n > HEAD_BYTES
    tail = (
        bytes(data[-_TAIL_BYTES:]) if n > _TAIL_BYTES else (head if not truncated else bytes(data))
    )
    found = _binary(head, data, tail)
    if found is None and head[:1] != b"\x80" and _is_pickle_low_protocol(head, truncated):
        found = (ContentKind.PICKLE, "Python pickle, protocol 0/1")
    if found is None:
        found = _text(head, data, tail, truncated)
    mime = ""
    if found is None:
        mime, desc = _MAGIC.identify(head[:_MAGIC_BYTES])
        kind = _mime_kind(mime) or ContentKind.BINARY
        if kind is ContentKind.PE and head[:2] != b"MZ":
            # libmagic's "DOS executable (COM)" is a guess from one jump opcode byte (COM files
            # have no signature): random bytes match it. Real PE/MZ files are caught above.
            kind, desc = ContentKind.BINARY, f"unrecognised bytes (libmagic guessed: {desc})"
        found = (kind, desc or ("data" if kind is ContentKind.BINARY else kind.value))
    kind, detail = found
    also: set[ContentKind] = set()
    if kind not in (ContentKind.ZIP, ContentKind.TORCH_ZIP, ContentKind.OFFICE):
        eocds = [e for e in find_eocd(tail, n) if _zip_cd_valid(data, e)]
        if eocds and any(e[1] > 0 for e in eocds):
            zkind, _ = _zip_kind(b"", tail)
            if kind in (ContentKind.BINARY, ContentKind.TEXT):
                kind, detail = zkind, "Zip archive, with extra data prepended"
            else:
                also.add(zkind)
                detail += ", with a Zip archive appended"
    elif kind is not ContentKind.ZIP and head[:2] == b"PK":
        also.add(ContentKind.ZIP)
    return Sniffed(kind, detail, frozenset(also), mime)


def sniff(data: bytes | memoryview) -> tuple[ContentKind, str]:
    """Return ``(kind, description)`` of ``data`` decided by content only.

    Raises nothing: unrecognised bytes are :attr:`ContentKind.BINARY`.
    """
    s = sniff_full(data)
    return s.kind, s.detail
