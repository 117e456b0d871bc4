"""Magic-byte recognition of scientific and media formats, and content types for the report.

Split out of :mod:`datagate.scan.sniff` to keep that shared module small. Two entry points:

* :func:`strong` — formats with a real signature (MATLAB v5/v7.3 header, NetCDF ``CDF\\x01``,
  IDL ``SR\\x00\\x04``, ORC, Avro ``Obj\\x01``, FITS ``SIMPLE  =``, OGG, ID3-tagged MP3, AIFF);
  called before the HDF5 check, because a MATLAB v7.3 file is an HDF5 file behind a 512-byte
  text header.
* :func:`weak` — formats without a magic number, accepted only when their structure checks out:
  TFRecord (the length's masked CRC-32C must match), MATLAB v4 (every matrix header must be
  sane and the matrices must tile the file exactly), bare MPEG audio (two consecutive valid
  frame headers). Called after every other binary check.

:func:`content_type` names a sniffed kind as a MIME-style content type for the JSON report.

>>> strong(b"CDF\\x01" + bytes(60), 64)
(<ContentKind.NETCDF: 'netcdf'>, 'NetCDF classic format data')
>>> content_type(ContentKind.NETCDF, "NetCDF classic format data")
'application/x-netcdf'
"""

from __future__ import annotations

import struct

from datagate.scan.interface import ContentKind

__all__ = ["content_type", "strong", "weak"]

_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def _hdf5_at(head: bytes, off: int) -> bool:
    return head[off : off + 8] == _HDF5_MAGIC


def strong(head: bytes, n: int) -> tuple[ContentKind, str] | None:
    """Return (kind, description) for a format with a signature at offset 0, else None.

    ``head`` is the leading bytes of an ``n``-byte sequence. Raises nothing.
    """
    if head[:7] == b"MATLAB " and len(head) >= 128 and head[126:128] in (b"IM", b"MI"):
        text = head[:116].split(b"\x00", 1)[0].decode("latin-1", "replace").strip()
        version = text.split(" ", 2)[1] if text.count(" ") >= 1 else "?"
        if _hdf5_at(head, 512):
            return ContentKind.MATLAB, f"MATLAB {version} MAT-file (HDF5)"
        return ContentKind.MATLAB, f"MATLAB {version} MAT-file"
    if head[:3] == b"CDF" and len(head) >= 4 and head[3] in (1, 2, 5):
        variant = {1: "classic", 2: "64-bit offset", 5: "CDF-5 (64-bit data)"}[head[3]]
        return ContentKind.NETCDF, f"NetCDF {variant} format data"
    if _hdf5_at(head, 0) and b"_NCProperties" in head:
        return ContentKind.NETCDF, "NetCDF-4 data (HDF5)"
    if head[:3] == b"SR\x00" and head[3:4] in (b"\x04", b"\x06") and len(head) >= 8:
        packed = ", compressed" if head[3] == 6 else ""
        return ContentKind.IDL_SAVE, f"IDL save file{packed}"
    if head[:3] == b"ORC" and n >= 16:
        return ContentKind.ORC, "Apache ORC"
    if head[:4] == b"Obj\x01":
        return ContentKind.AVRO, "Apache Avro object container file"
    if head[:9] == b"SIMPLE  =" and len(head) >= 80 and head[29:30] in (b"T", b"F"):
        return ContentKind.FITS, "FITS image data"
    if head[:5] == b"OggS\x00":
        codec = "Ogg data"
        for name, label in (
            (b"\x01vorbis", "Vorbis"),
            (b"OpusHead", "Opus"),
            (b"\x7fFLAC", "FLAC"),
        ):
            if name in head[28:40]:
                codec = f"Ogg data, {label} audio"
        if b"\x80theora" in head[28:40]:
            return ContentKind.VIDEO, "Ogg data, Theora video"
        return ContentKind.AUDIO, codec
    if (
        head[:3] == b"ID3"
        and len(head) >= 10
        and 2 <= head[3] <= 4
        and all(b < 0x80 for b in head[6:10])
    ):
        return ContentKind.AUDIO, f"Audio file with ID3 version 2.{head[3]}"
    if head[:4] == b"RIFF" and head[8:12] == b"ACON":
        return ContentKind.IMAGE, "RIFF (little-endian) data, animated cursor"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return ContentKind.VIDEO, "RIFF (little-endian) data, AVI video"
    if head[:4] in (b"RIFX", b"RF64") and head[8:12] == b"WAVE":
        return ContentKind.AUDIO, f"{head[:4].decode()} data, WAVE audio"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return ContentKind.AUDIO, "IFF data, AIFF audio"
    if head[:4] == b".snd" and len(head) >= 24:
        return ContentKind.AUDIO, "Sun/NeXT audio data"
    return None


# --------------------------------------------------------------------------------- TFRecord

_CRC32C_TABLE: list[int] = []


def _crc32c(data: bytes) -> int:
    if not _CRC32C_TABLE:
        for i in range(256):
            c = i
            for _ in range(8):
                c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
            _CRC32C_TABLE.append(c)
    crc = 0xFFFFFFFF
    for b in data:
        crc = _CRC32C_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _masked_crc(data: bytes) -> int:
    crc = _crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _tfrecord(head: bytes, n: int) -> bool:
    if len(head) < 16:
        return False
    length = int(struct.unpack_from("<Q", head, 0)[0])
    if length + 16 > n:
        return False
    return int(struct.unpack_from("<I", head, 8)[0]) == _masked_crc(head[:8])


# --------------------------------------------------------------------------------- MATLAB v4

_V4_ELEM = {0: 8, 1: 4, 2: 4, 3: 2, 4: 2, 5: 1}
"""MATLAB v4 precision digit P -> bytes per element (double, single, int32, int16, uint16, uint8)."""


def _matlab_v4(data: bytes | memoryview, n: int) -> bool:
    """True when ``data`` is a sequence of MATLAB v4 matrices that ends exactly at EOF."""
    pos = 0
    matrices = 0
    while pos < n:
        if matrices >= 10_000 or pos + 20 > n:
            return False
        raw = bytes(data[pos : pos + 20])
        for fmt in ("<5i", ">5i"):
            mopt, mrows, ncols, imagf, namlen = struct.unpack(fmt, raw)
            if 0 <= mopt < 5000 and (mopt // 1000 == 0) == (fmt == "<5i"):
                break
        else:
            return False
        m, rest = divmod(mopt, 1000)
        o, rest = divmod(rest, 100)
        p, t = divmod(rest, 10)
        if m > 1 or o != 0 or p not in _V4_ELEM or t > 2 or (t == 2 and p != 0):
            return False
        if mrows < 0 or ncols < 0 or imagf not in (0, 1) or not 2 <= namlen <= 64:
            return False
        name = bytes(data[pos + 20 : pos + 20 + namlen])
        if len(name) != namlen or name[-1] != 0:
            return False
        ident = name[:-1]
        if not ident.isascii() or not (ident[:1].isalpha() or ident[:1] == b"_"):
            return False
        if not all(c == 0x5F or chr(c).isalnum() for c in ident):
            return False
        size = mrows * ncols * _V4_ELEM[p] * (1 + imagf)
        pos += 20 + namlen + size
        matrices += 1
    return pos == n and matrices > 0


# --------------------------------------------------------------------------------- MPEG audio

_MP3_BITRATES = {
    (3, 1): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (3, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (3, 3): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (2, 1): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (2, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (2, 3): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
}
_MP3_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _mpeg_frame_len(h: bytes) -> int:
    """Return the length of the MPEG audio frame whose 4-byte header is ``h``; 0 if invalid."""
    if len(h) < 4 or h[0] != 0xFF or h[1] & 0xE0 != 0xE0:
        return 0
    version = (h[1] >> 3) & 3  # 3 = MPEG-1, 2 = MPEG-2, 0 = MPEG-2.5, 1 reserved
    layer_bits = (h[1] >> 1) & 3  # 1 = layer III, 2 = II, 3 = I
    bri = h[2] >> 4
    sri = (h[2] >> 2) & 3
    if version == 1 or layer_bits == 0 or bri in (0, 15) or sri == 3:
        return 0
    layer = 4 - layer_bits
    table = _MP3_BITRATES[(3 if version == 3 else 2, layer)]
    bitrate = table[bri] * 1000
    rate = _MP3_RATES[version][sri]
    pad = (h[2] >> 1) & 1
    if layer == 1:
        return (12 * bitrate // rate + pad) * 4
    if layer == 3 and version != 3:
        return 72 * bitrate // rate + pad
    return 144 * bitrate // rate + pad


def _mpeg_audio(head: bytes) -> bool:
    first = _mpeg_frame_len(head[:4])
    return first > 4 and _mpeg_frame_len(head[first : first + 4]) > 4


def _fortran_records(data: bytes | memoryview, n: int) -> bool:
    """True when ``data`` is Fortran sequential records (4-byte length, body, same length)
    tiling the file exactly."""
    pos = 0
    records = 0
    while pos < n:
        if records >= 100_000 or pos + 8 > n:
            return False
        length = int(struct.unpack_from("<I", data, pos)[0])
        end = pos + 4 + length
        if length == 0 or end + 4 > n or bytes(data[end : end + 4]) != bytes(data[pos : pos + 4]):
            return False
        pos = end + 4
        records += 1
    return records > 0


def weak(head: bytes, data: bytes | memoryview, n: int) -> tuple[ContentKind, str] | None:
    """Return (kind, description) for a format recognised by structure alone, else None.

    Raises nothing.
    """
    if _tfrecord(head, n):
        return ContentKind.TFRECORD, "TFRecord (length-prefixed records with masked CRC-32C)"
    if head[:1] in (b"\x08", b"\x0a"):
        from datagate.scan._protobuf import looks_like_savedmodel

        pb = looks_like_savedmodel(data)
        if pb is not None:
            what = "TensorFlow SavedModel" if pb == "saved_model" else "Keras SavedModel metadata"
            return ContentKind.TF_SAVEDMODEL, f"{what} (protobuf)"
    if len(head) >= 20 and n <= 1 << 32 and _matlab_v4(data, n):
        return ContentKind.MATLAB, "MATLAB 4 MAT-file"
    if _mpeg_audio(head):
        return ContentKind.AUDIO, "MPEG audio (MP3 frames)"
    if n >= 8 and _fortran_records(data, n):
        return ContentKind.FORTRAN, "Fortran unformatted sequential records"
    return None


# --------------------------------------------------------------------------------- content types

_KIND_TYPES: dict[ContentKind, str] = {
    ContentKind.EMPTY: "application/x-empty",
    ContentKind.PICKLE: "application/x-python-pickle",
    ContentKind.TORCH_ZIP: "application/x-pytorch",
    ContentKind.TORCH_LEGACY: "application/x-pytorch",
    ContentKind.NUMPY: "application/x-npy",
    ContentKind.ZIP: "application/zip",
    ContentKind.TAR: "application/x-tar",
    ContentKind.SEVENZ: "application/x-7z-compressed",
    ContentKind.RAR: "application/vnd.rar",
    ContentKind.GZIP: "application/gzip",
    ContentKind.BZIP2: "application/x-bzip2",
    ContentKind.XZ: "application/x-xz",
    ContentKind.LZMA: "application/x-lzma",
    ContentKind.ZSTD: "application/zstd",
    ContentKind.LZ4: "application/x-lz4",
    ContentKind.ZLIB: "application/zlib",
    ContentKind.ELF: "application/x-elf",
    ContentKind.PE: "application/vnd.microsoft.portable-executable",
    ContentKind.MACHO: "application/x-mach-binary",
    ContentKind.MACHO_FAT: "application/x-mach-binary",
    ContentKind.WASM: "application/wasm",
    ContentKind.JAVA_CLASS: "application/java-vm",
    ContentKind.SHEBANG: "text/x-script",
    ContentKind.PYTHON: "text/x-python",
    ContentKind.SHELL: "text/x-shellscript",
    ContentKind.BATCH: "text/x-msdos-batch",
    ContentKind.POWERSHELL: "text/x-powershell",
    ContentKind.NOTEBOOK: "application/x-ipynb+json",
    ContentKind.HTML: "text/html",
    ContentKind.SVG: "image/svg+xml",
    ContentKind.LFS_POINTER: "text/x-git-lfs-pointer",
    ContentKind.PARQUET: "application/vnd.apache.parquet",
    ContentKind.ARROW: "application/vnd.apache.arrow.file",
    ContentKind.ARROW_STREAM: "application/vnd.apache.arrow.stream",
    ContentKind.HDF5: "application/x-hdf5",
    ContentKind.MATLAB: "application/x-matlab-data",
    ContentKind.NETCDF: "application/x-netcdf",
    ContentKind.IDL_SAVE: "application/x-idl-save",
    ContentKind.ORC: "application/vnd.apache.orc",
    ContentKind.AVRO: "application/vnd.apache.avro",
    ContentKind.TFRECORD: "application/x-tfrecord",
    ContentKind.FITS: "application/fits",
    ContentKind.FORTRAN: "application/x-fortran-unformatted",
    ContentKind.TF_SAVEDMODEL: "application/x-tensorflow-savedmodel",
    ContentKind.SAFETENSORS: "application/x-safetensors",
    ContentKind.GGUF: "application/x-gguf",
    ContentKind.ONNX: "application/x-onnx",
    ContentKind.IMAGE: "image/x-unknown",
    ContentKind.AUDIO: "audio/x-unknown",
    ContentKind.VIDEO: "video/x-unknown",
    ContentKind.PDF: "application/pdf",
    ContentKind.OFFICE: "application/x-office",
    ContentKind.JSON: "application/json",
    ContentKind.JSONL: "application/jsonl",
    ContentKind.CSV: "text/csv",
    ContentKind.TEXT: "text/plain",
    ContentKind.YAML: "application/yaml",
    ContentKind.BINARY: "application/octet-stream",
}

_DETAIL_TYPES: tuple[tuple[str, str], ...] = (
    ("PNG", "image/png"),
    ("JPEG", "image/jpeg"),
    ("GIF", "image/gif"),
    ("RIFF (little-endian) data, Web/P", "image/webp"),
    ("RIFF (little-endian) data, WAVE", "audio/wav"),
    ("RIFX data, WAVE", "audio/wav"),
    ("RF64 data, WAVE", "audio/wav"),
    ("FLAC", "audio/flac"),
    ("Ogg data, Opus", "audio/opus"),
    ("Ogg data, Theora", "video/ogg"),
    ("RIFF (little-endian) data, AVI", "video/x-msvideo"),
    ("RIFF (little-endian) data, animated cursor", "application/x-navi-animation"),
    ("Ogg data", "audio/ogg"),
    ("Audio file with ID3", "audio/mpeg"),
    ("MPEG audio", "audio/mpeg"),
    ("IFF data, AIFF", "audio/aiff"),
    ("Sun/NeXT audio", "audio/basic"),
    ("OpenDocument", "application/vnd.oasis.opendocument"),
    ("Microsoft OOXML", "application/vnd.openxmlformats"),
    ("Composite Document File", "application/x-ole-storage"),
)


def content_type(kind: ContentKind, detail: str, mime: str = "") -> str:
    """Return the MIME-style content type reported for bytes sniffed as ``kind``.

    ``mime`` is libmagic's answer when libmagic was consulted; it wins for images, audio, video
    and office files, whose kind alone is generic. Raises nothing.
    """
    if kind in (ContentKind.IMAGE, ContentKind.AUDIO, ContentKind.VIDEO, ContentKind.OFFICE):
        if mime and mime != "application/octet-stream":
            return mime
        for prefix, ctype in _DETAIL_TYPES:
            if detail.startswith(prefix):
                return ctype
    return _KIND_TYPES.get(kind, "application/octet-stream")
