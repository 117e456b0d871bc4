"""Native and bytecode executables found by content, under any name; data files with an exec bit.

:data:`EXECUTABLE_SCANNER` recognises ELF (class, byte order, machine, type, interpreter), PE
(DOS ``MZ`` stub with or without a ``PE`` header: machine, DLL/EXE, subsystem, .NET), Mach-O
thin (four magics) and fat/universal (architecture list), WebAssembly, Java class files,
Android DEX, compiled Python (``.pyc``), Windows Installer (OLE2 with the MSI CLSID), Debian and
RPM packages and ``ar`` archives of object files. Header-only stubs (``MZ`` or a Mach-O magic plus padding) are still executables
(THREATS.md B17). Everything is read from a bounded number of header bytes; nothing is loaded,
mapped for execution or run.

Its ``kinds`` cover every :class:`~datagate.scan.interface.ContentKind`, so the engine hands it
every blob: for executable kinds it parses the header; for any other kind it re-checks the magic
(so a sniffing gap cannot hide an executable) and reports a data file whose permission bits carry
an exec bit (``executable.mode_bit``). :func:`exec_bit_findings` exposes that last check alone.

>>> from datagate.scan.interface import Blob, ContentKind, ScanContext
>>> blob = Blob("x.parquet", b"\\x7fELF" + bytes(60), name="x.parquet", kind=ContentKind.ELF)
>>> [f.rule for f in EXECUTABLE_SCANNER.scan(blob, ScanContext())]
['executable.disguised']
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from datagate.models import Finding, Severity
from datagate.scan.interface import Blob, ContentKind, ScanContext, ScanItem
from datagate.scan.registry import FAMILY_KINDS, ScannerName

__all__ = [
    "DATA_EXTENSIONS",
    "EXECUTABLE_KINDS",
    "EXECUTABLE_SCANNER",
    "SCRIPT_KINDS",
    "ExecutableInfo",
    "ExecutableScanner",
    "exec_bit_findings",
    "has_data_extension",
    "identify_executable",
]

DATA_EXTENSIONS: frozenset[str] = frozenset(
    {
        # tabular / text data
        "parquet", "arrow", "feather", "csv", "tsv", "json", "jsonl", "ndjson", "txt", "xml",
        "yaml", "yml", "md", "tfrecord", "avro", "orc", "lance", "db", "sqlite",
        # arrays and weights
        "npy", "npz", "h5", "hdf5", "safetensors", "gguf", "onnx", "bin", "pt", "pth", "ckpt",
        "pkl", "pickle", "joblib", "msgpack",
        # media
        "jpg", "jpeg", "png", "gif", "bmp", "webp", "tif", "tiff", "svg", "ico",
        "wav", "mp3", "flac", "ogg", "opus", "m4a", "mp4", "webm", "avi", "mkv", "mov", "pdf",
    }
)  # fmt: skip
"""Extensions of files a data repo holds as data (lower case, without the dot)."""

EXECUTABLE_KINDS: frozenset[ContentKind] = frozenset(
    {
        ContentKind.ELF,
        ContentKind.PE,
        ContentKind.MACHO,
        ContentKind.MACHO_FAT,
        ContentKind.WASM,
        ContentKind.JAVA_CLASS,
    }
)
"""Content kinds that are native or bytecode executables."""

SCRIPT_KINDS: frozenset[ContentKind] = frozenset(
    {
        ContentKind.SHEBANG,
        ContentKind.PYTHON,
        ContentKind.SHELL,
        ContentKind.BATCH,
        ContentKind.POWERSHELL,
    }
)
"""Content kinds that are scripts (an exec bit on these is expected, not a data anomaly)."""

_HEADER_LIMIT = 1 << 20
"""Most bytes read from a header region (program headers, fat arch tables)."""


def has_data_extension(name: str) -> bool:
    """Return True when ``name`` ends in a data-looking extension (``.parquet``, ``.jpg`` ...).

    Compression suffixes are looked through: ``train.csv.gz`` counts as ``.csv``.
    """
    parts = name.lower().rsplit("/", 1)[-1].split(".")
    if len(parts) < 2:
        return False
    exts = parts[1:]
    while len(exts) > 1 and exts[-1] in {"gz", "bz2", "xz", "zst", "zstd", "lz4"}:
        exts = exts[:-1]
    return exts[-1] in DATA_EXTENSIONS


@dataclass(frozen=True)
class ExecutableInfo:
    """What a header says about an executable."""

    format: str
    """``elf``, ``pe``, ``macho``, ``macho-fat``, ``wasm``, ``java-class`` or ``dex``."""
    evidence: Mapping[str, Any]
    """JSON-serialisable header facts (machine, type, interpreter, archs, ...)."""


# ---------------------------------------------------------------------------------------------
# ELF

_ELF_TYPES = {0: "none", 1: "relocatable", 2: "exec", 3: "shared-object", 4: "core"}
_ELF_MACHINES = {
    0x03: "x86",
    0x08: "mips",
    0x14: "ppc",
    0x15: "ppc64",
    0x16: "s390",
    0x28: "arm",
    0x2B: "sparcv9",
    0x32: "ia64",
    0x3E: "x86-64",
    0xB7: "aarch64",
    0xF3: "riscv",
    0xF7: "bpf",
    0x102: "loongarch",
}


def _u(data: bytes, fmt: str, offset: int) -> int | None:
    """Return one unpacked integer at ``offset``, or None when it lies past the end."""
    size = struct.calcsize(fmt)
    if offset < 0 or offset + size > len(data):
        return None
    value: int = struct.unpack_from(fmt, data, offset)[0]
    return value


def _elf(data: bytes) -> ExecutableInfo:
    ev: dict[str, Any] = {"magic": "7f454c46"}
    ei_class = data[4] if len(data) > 4 else 0
    ei_data = data[5] if len(data) > 5 else 0
    ev["class"] = {1: "ELF32", 2: "ELF64"}.get(ei_class, f"unknown({ei_class})")
    ev["byte_order"] = {1: "little", 2: "big"}.get(ei_data, f"unknown({ei_data})")
    end = ">" if ei_data == 2 else "<"
    e_type = _u(data, end + "H", 16)
    e_machine = _u(data, end + "H", 18)
    if e_type is None or e_machine is None:
        ev["truncated"] = True
        return ExecutableInfo("elf", ev)
    ev["type"] = _ELF_TYPES.get(e_type, f"0x{e_type:x}")
    ev["machine"] = _ELF_MACHINES.get(e_machine, f"0x{e_machine:x}")
    if ei_class == 2:
        phoff, phentsize, phnum = (
            _u(data, end + "Q", 32),
            _u(data, end + "H", 54),
            _u(data, end + "H", 56),
        )
        off_fmt, off_at, sz_at = "Q", 8, 32
    else:
        phoff, phentsize, phnum = (
            _u(data, end + "I", 28),
            _u(data, end + "H", 42),
            _u(data, end + "H", 44),
        )
        off_fmt, off_at, sz_at = "I", 4, 16
    if phoff is None or phentsize is None or phnum is None:
        ev["truncated"] = True
        return ExecutableInfo("elf", ev)
    interp: str | None = None
    for i in range(min(phnum, 512)):
        base = phoff + i * phentsize
        if phentsize < 8 or base > _HEADER_LIMIT:
            break
        p_type = _u(data, end + "I", base)
        if p_type is None:
            ev["truncated"] = True
            break
        if p_type == 3:  # PT_INTERP
            p_offset = _u(data, end + off_fmt, base + off_at)
            p_filesz = _u(data, end + off_fmt, base + sz_at)
            if p_offset is not None and p_filesz is not None and 0 < p_filesz <= 4096:
                raw = data[p_offset : p_offset + p_filesz]
                interp = raw.split(b"\0", 1)[0].decode("utf-8", "replace")
            break
    if interp:
        ev["interpreter"] = interp
        if e_type == 3:
            ev["type"] = "pie-executable"
    return ExecutableInfo("elf", ev)


# ---------------------------------------------------------------------------------------------
# PE

_PE_MACHINES = {
    0x014C: "i386",
    0x8664: "amd64",
    0x01C0: "arm",
    0x01C4: "armnt",
    0xAA64: "arm64",
    0x0200: "ia64",
    0x5064: "riscv64",
    0x0EBC: "efi-bytecode",
}
_PE_SUBSYSTEMS = {1: "native", 2: "windows-gui", 3: "windows-console", 10: "efi-application"}


def _pe(data: bytes) -> ExecutableInfo:
    ev: dict[str, Any] = {"magic": "4d5a"}
    lfanew = _u(data, "<I", 0x3C)
    if lfanew is None or lfanew + 24 > len(data) or data[lfanew : lfanew + 4] != b"PE\0\0":
        ev["pe_header"] = False
        ev["note"] = "DOS MZ header without a PE header (stub or DOS program)"
        return ExecutableInfo("pe", ev)
    ev["pe_header"] = True
    coff = lfanew + 4
    machine = _u(data, "<H", coff) or 0
    characteristics = _u(data, "<H", coff + 18) or 0
    ev["machine"] = _PE_MACHINES.get(machine, f"0x{machine:x}")
    ev["type"] = "dll" if characteristics & 0x2000 else "exe"
    opt = coff + 20
    magic = _u(data, "<H", opt)
    if magic in (0x10B, 0x20B):
        ev["optional_header"] = "PE32+" if magic == 0x20B else "PE32"
        subsystem = _u(data, "<H", opt + 68)
        if subsystem is not None:
            ev["subsystem"] = _PE_SUBSYSTEMS.get(subsystem, str(subsystem))
        n_dirs_at, dirs_at = (opt + 108, opt + 112) if magic == 0x20B else (opt + 92, opt + 96)
        n_dirs = _u(data, "<I", n_dirs_at)
        clr_size = _u(data, "<I", dirs_at + 14 * 8 + 4)
        ev["dotnet"] = bool(n_dirs is not None and n_dirs > 14 and clr_size)
    else:
        ev["truncated"] = True
    return ExecutableInfo("pe", ev)


# ---------------------------------------------------------------------------------------------
# Mach-O

_MACHO_CPUS = {
    7: "x86",
    0x01000007: "x86_64",
    12: "arm",
    0x0100000C: "arm64",
    0x0200000C: "arm64_32",
    18: "ppc",
    0x01000012: "ppc64",
}
_MACHO_TYPES = {
    1: "object",
    2: "execute",
    4: "core",
    6: "dylib",
    7: "dylinker",
    8: "bundle",
    9: "dylib-stub",
    0xB: "kext",
}
_MACHO_THIN = {
    b"\xfe\xed\xfa\xce": (">", "32-bit big-endian"),
    b"\xce\xfa\xed\xfe": ("<", "32-bit little-endian"),
    b"\xfe\xed\xfa\xcf": (">", "64-bit big-endian"),
    b"\xcf\xfa\xed\xfe": ("<", "64-bit little-endian"),
}


def _macho(data: bytes) -> ExecutableInfo:
    end, flavour = _MACHO_THIN[data[:4]]
    ev: dict[str, Any] = {"magic": data[:4].hex(), "flavour": flavour}
    cpu = _u(data, end + "I", 4)
    ftype = _u(data, end + "I", 12)
    if cpu is None or ftype is None:
        ev["truncated"] = True
        return ExecutableInfo("macho", ev)
    ev["cpu"] = _MACHO_CPUS.get(cpu, f"0x{cpu:x}")
    ev["type"] = _MACHO_TYPES.get(ftype, f"0x{ftype:x}")
    return ExecutableInfo("macho", ev)


def _fat_count(data: bytes) -> int | None:
    """Return the fat arch count when ``data`` is a Mach-O fat header, else None (Java class)."""
    n = _u(data, ">I", 4)
    if n is None:
        return 0
    # Java class files share CAFEBABE; their next 4 bytes are minor/major >= 45 (as in file(1)).
    return n if n < 45 else None


def _macho_fat(data: bytes) -> ExecutableInfo:
    is64 = data[:4] == b"\xca\xfe\xba\xbf"
    ev: dict[str, Any] = {"magic": data[:4].hex(), "fat64": is64}
    n = _u(data, ">I", 4)
    if n is None:
        ev["truncated"] = True
        return ExecutableInfo("macho-fat", ev)
    ev["nfat_arch"] = n
    size = 32 if is64 else 20
    archs: list[str] = []
    for i in range(min(n, 64)):
        cpu = _u(data, ">I", 8 + i * size)
        if cpu is None:
            ev["truncated"] = True
            break
        archs.append(_MACHO_CPUS.get(cpu, f"0x{cpu:x}"))
    ev["archs"] = archs
    return ExecutableInfo("macho-fat", ev)


def _java(data: bytes) -> ExecutableInfo:
    minor, major = _u(data, ">H", 4), _u(data, ">H", 6)
    ev: dict[str, Any] = {"magic": "cafebabe"}
    if major is not None and minor is not None:
        ev["version"] = f"{major}.{minor}"
        if major >= 45:
            ev["java"] = f"Java {major - 44}" if major >= 49 else "Java 1.x"
    return ExecutableInfo("java-class", ev)


_MAGICS = frozenset(
    {b"\x7fELF", b"\xca\xfe\xba\xbf", b"\xca\xfe\xba\xbe", b"\0asm", b"dex\n", *_MACHO_THIN}
)


_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_MSI_CLSIDS = (
    bytes.fromhex("84100c0000000000c000000000000046"),  # installer package (.msi)
    bytes.fromhex("86100c0000000000c000000000000046"),  # patch package (.msp)
)
"""CLSIDs of the root storage of Windows Installer packages (000C1084/000C1086-...-46)."""


def _pyc(head: bytes) -> ExecutableInfo | None:
    """Compiled Python bytecode: a 2-byte magic (3000-3999 for Python 3) + CRLF + code object."""
    if len(head) < 17 or head[16] not in (0x63, 0xE3):  # marshal TYPE_CODE (with FLAG_REF)
        return None
    number = struct.unpack_from("<H", head, 0)[0]
    return ExecutableInfo("pyc", {"magic": head[:4].hex(), "magic_number": number})


def _msi(data: bytes | memoryview) -> ExecutableInfo | None:
    """A Windows Installer package: OLE2 whose root entry carries the MSI CLSID."""
    head = bytes(data[: 1 << 20])
    if len(head) < 8 or head[:8] != _OLE_MAGIC:
        return None
    for clsid in _MSI_CLSIDS:
        if clsid in head:
            return ExecutableInfo("msi", {"magic": _OLE_MAGIC.hex(), "clsid": clsid.hex()})
    return None


def _ar(head: bytes) -> ExecutableInfo | None:
    """A Unix ``ar`` archive: a Debian package (``debian-binary`` first) or a static library."""
    if not head.startswith(b"!<arch>\n"):
        return None
    first = head[8:24].rstrip(b" /").decode("latin-1", "replace")
    if first == "debian-binary":
        return ExecutableInfo("deb", {"magic": "213c617263683e0a", "first_member": first})
    return ExecutableInfo("ar", {"magic": "213c617263683e0a", "first_member": first})


def _mostly_binary(data: bytes) -> bool:
    """Return True when the first bytes are not printable text (a stub's zero padding)."""
    head = data[:256]
    if not head:
        return False
    printable = sum(1 for b in head if 32 <= b < 127 or b in (9, 10, 13))
    return printable < len(head) * 0.9


def identify_executable(
    data: bytes | memoryview, *, trusted: bool = False
) -> ExecutableInfo | None:
    """Return the executable format and header facts of ``data``, or None when it is not one.

    ``trusted`` means the sniffer already said this is an executable: two-byte magics (``MZ``)
    are accepted as they are. Otherwise a bare ``MZ`` must come with a ``PE`` header or with
    non-text padding, so a text file that happens to start with ``MZ`` is not an executable.
    Never raises for malformed or truncated content (a truncated header is reported as such).
    """
    magic = bytes(data[:4])
    if len(magic) == 4 and magic[2:4] == b"\r\n" and 0x0B <= magic[1] <= 0x0E:
        return _pyc(bytes(data[:32]))
    if magic == _OLE_MAGIC[:4]:
        return _msi(data)
    if magic == b"!<ar":
        return _ar(bytes(data[:4096]))
    if magic == b"\xed\xab\xee\xdb":
        return ExecutableInfo(
            "rpm", {"magic": magic.hex(), "note": "RPM package (install scriptlets)"}
        )
    if magic[:2] not in (b"MZ", b"ZM") and magic not in _MAGICS:
        return None
    head = bytes(data[:_HEADER_LIMIT])
    if head[:4] == b"\x7fELF":
        return _elf(head)
    if head[:4] in _MACHO_THIN:
        return _macho(head)
    if head[:4] == b"\xca\xfe\xba\xbf":
        return _macho_fat(head)
    if head[:4] == b"\xca\xfe\xba\xbe":
        if _fat_count(head) is not None:
            return _macho_fat(head)
        return _java(head)
    if head[:4] == b"\0asm":
        version = _u(head, "<I", 4)
        return ExecutableInfo("wasm", {"magic": "0061736d", "version": version})
    if head[:4] == b"dex\n" and head[7:8] == b"\0":
        return ExecutableInfo(
            "dex", {"magic": head[:8].hex(), "version": head[4:7].decode("ascii", "replace")}
        )
    if head[:2] in (b"MZ", b"ZM"):
        info = _pe(head)
        if trusted or info.evidence.get("pe_header") or (len(head) >= 64 and _mostly_binary(head)):
            return info
    return None


# ---------------------------------------------------------------------------------------------
# the scanner

_FORMAT_NAMES = {
    "elf": "ELF",
    "pe": "PE/MZ",
    "macho": "Mach-O",
    "macho-fat": "Mach-O universal (fat)",
    "wasm": "WebAssembly",
    "java-class": "Java class",
    "dex": "Android DEX",
    "pyc": "compiled Python bytecode (.pyc)",
    "msi": "Windows Installer package",
    "deb": "Debian package (runs maintainer scripts on install)",
    "rpm": "RPM package (runs scriptlets on install)",
    "ar": "ar archive of object files (static library)",
}
_RULES = {
    "elf": "executable.elf",
    "pe": "executable.pe",
    "macho": "executable.macho",
    "macho-fat": "executable.macho",
    "wasm": "executable.wasm",
    "java-class": "executable.java_class",
    "dex": "executable.dex",
    "pyc": "executable.pyc",
    "msi": "executable.msi",
    "deb": "executable.package",
    "rpm": "executable.package",
    "ar": "executable.ar",
}


def _exec_bit(mode: int | None) -> bool:
    return mode is not None and bool(mode & 0o111)


def exec_bit_findings(blob: Blob) -> list[Finding]:
    """Return an ``executable.mode_bit`` finding when a data blob carries an exec permission bit.

    Only blobs whose sniffed kind is neither an executable nor a script qualify (a script with an
    exec bit is expected; its own scanner reports it). Severity is low for recognised data and
    medium for unrecognised bytes. Returns an empty list when ``blob.mode`` is unknown. Never
    raises. :data:`EXECUTABLE_SCANNER` already runs this check for every blob it is handed.
    """
    if not _exec_bit(blob.mode) or blob.kind is None:
        return []
    if blob.kind in EXECUTABLE_KINDS or blob.kind in SCRIPT_KINDS or blob.kind is ContentKind.EMPTY:
        return []
    assert blob.mode is not None
    severity = Severity.MEDIUM if blob.kind is ContentKind.BINARY else Severity.LOW
    return [
        Finding(
            path=blob.path,
            member=blob.member,
            rule="executable.mode_bit",
            category="executable",
            severity=severity,
            message=(
                f"{blob.name or blob.path} is {blob.kind.value} data but has an execute permission "
                f"bit (mode {blob.mode & 0o7777:04o}); clear it (chmod -x)"
            ),
            evidence={"mode": f"{blob.mode & 0o7777:04o}", "kind": blob.kind.value},
        )
    ]


class ExecutableScanner:
    """Scanner for native/bytecode executables by content, and exec bits on data.

    ``scan`` yields one finding per executable blob (``executable.<format>`` high, or
    ``executable.disguised`` critical under a data-looking name) and the ``executable.mode_bit``
    finding of :func:`exec_bit_findings`. Never raises for hostile content.
    """

    name = "executables"
    kinds: frozenset[ContentKind] = FAMILY_KINDS[ScannerName.EXECUTABLES]

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterator[ScanItem]:
        """Yield executable findings for ``blob``; see the class docstring."""
        trusted = blob.kind in EXECUTABLE_KINDS
        info = identify_executable(blob.data, trusted=trusted)
        if info is None and trusted:
            # The sniffer said executable but the magic does not match: report what it said.
            assert blob.kind is not None
            info = ExecutableInfo(
                blob.kind.value, {"sniffed": blob.kind.value, "detail": blob.detail}
            )
        if info is not None:
            yield self._finding(blob, info)
        else:
            yield from exec_bit_findings(blob)

    @staticmethod
    def _finding(blob: Blob, info: ExecutableInfo) -> Finding:
        fmt = _FORMAT_NAMES.get(info.format, info.format)
        name = blob.name or blob.path.rsplit("/", 1)[-1]
        evidence: dict[str, Any] = {"format": info.format, **info.evidence}
        if _exec_bit(blob.mode):
            assert blob.mode is not None
            evidence["mode"] = f"{blob.mode & 0o7777:04o}"
        if blob.size:
            evidence["size"] = blob.size
        if has_data_extension(name):
            return Finding(
                path=blob.path,
                member=blob.member,
                rule="executable.disguised",
                category="executable",
                severity=Severity.CRITICAL,
                message=f"{name} is named like data but is a {fmt} executable",
                evidence=evidence,
            )
        return Finding(
            path=blob.path,
            member=blob.member,
            rule=_RULES.get(info.format, "executable.unknown"),
            category="executable",
            severity=Severity.HIGH,
            message=f"{name} is a {fmt} executable; a dataset should not ship executables",
            evidence=evidence,
        )


EXECUTABLE_SCANNER = ExecutableScanner()
"""The module-level scanner instance the registry uses."""
