"""Find a dataset's splits and stream its rows as Arrow record batches.

>>> layout = discover(Path("fixtures/build/sample"))        # doctest: +SKIP
>>> [s.name for s in layout.splits]                           # doctest: +SKIP
['train', 'validation', 'test']

Formats: parquet, CSV/TSV, JSON Lines and JSON arrays, Arrow IPC file and stream (including
``datasets.save_to_disk`` folders), each optionally gzip/zstd/bz2/xz compressed. Everything is
read with pyarrow (or the standard library's ``json`` for JSON arrays); nothing is imported,
unpickled or executed, and dataset loading scripts are ignored.

Split discovery, in order: a ``datasets.save_to_disk`` folder (``dataset_dict.json`` /
``state.json``); the ``configs:`` ``data_files`` of the dataset card's YAML front matter
(``README.md``); else the Hub's file-name conventions (``data/train-*.parquet``, ``train/``,
``test.csv``, ``*-validation.jsonl`` ...); else every data file is one ``train`` split.

Errors: :func:`discover` raises :class:`~datagate.errors.CheckError` when the path does not
exist or holds no data file; reading a shard raises :class:`ShardError` (naming the file), which
the check stage turns into a check ``error``.

Validation before use (hostile or broken files must never crash the process): every record
batch of every format is fully validated (``RecordBatch.validate(full=True)``: offsets,
dictionary indices, UTF-8) before anything touches its values, since pyarrow trusts Arrow IPC
buffers and would otherwise read out of bounds; a parquet footer is checked (magic, metadata
size against :data:`MAX_PARQUET_METADATA_BYTES` and the file size) before pyarrow parses it, and
its row groups' row counts must add up; CSV/JSON text that does not decode in the
shard's ``encoding`` (UTF-8 unless told otherwise) is a :class:`ShardError` naming the line and
byte offset of the first bad byte.
"""

from __future__ import annotations

import bz2
import codecs
import dataclasses
import fnmatch
import gzip
import io
import json
import lzma
import queue
import re
import threading
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, cast

import pyarrow as pa

from datagate.errors import CheckError, breadcrumb

__all__ = [
    "BATCH_ROWS",
    "CSV_NULL_VALUES",
    "CsvDialect",
    "CsvOptions",
    "DEFAULT_ENCODING",
    "LABEL_NAMES",
    "MAX_IN_MEMORY_BYTES",
    "MAX_PARQUET_METADATA_BYTES",
    "SPLIT_ORDER",
    "DatasetLayout",
    "Shard",
    "ShardError",
    "Split",
    "discover",
    "iter_batches",
    "parquet_row_groups",
    "read_schema",
    "resolve_label",
    "split_schema",
    "sniff_dialect",
    "split_sort_key",
    "type_family",
    "validate_csv_options",
    "validate_encoding",
]

BATCH_ROWS = 65_536
"""Rows per record batch when streaming."""

CSV_BLOCK_BYTES = 4 << 20
"""Bytes per CSV/JSON block handed to pyarrow's streaming readers."""

DEFAULT_ENCODING = "utf-8"
"""Text encoding of CSV/TSV/JSON shards unless ``--encoding`` says otherwise."""

MAX_PARQUET_METADATA_BYTES = 64 << 20
"""Largest parquet footer metadata read (a footer may declare gigabytes: issue 14)."""

MAX_IN_MEMORY_BYTES = 1 << 30
"""Largest decompressed size of a compressed parquet/Arrow shard (read into memory for random
access); a bigger one is a read error rather than an unbounded allocation."""

from datagate.check.label_columns import LABEL_NAMES  # noqa: E402  (re-exported; one list)

SPLIT_ORDER = ("train", "validation", "test")
"""Canonical split order: duplicates and leakage count rows of later splits against earlier ones.
Other split names follow, sorted."""

_SPLIT_KEYWORDS: Mapping[str, tuple[str, ...]] = {
    "train": ("train", "training"),
    "validation": ("validation", "valid", "val", "dev"),
    "test": ("test", "testing", "eval", "evaluation"),
}

_COMPRESSIONS = {".gz": "gzip", ".gzip": "gzip", ".zst": "zstd", ".zstd": "zstd", ".bz2": "bz2", ".xz": "xz"}
_FORMATS = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".arrow": "arrow",
    ".feather": "arrow",
    ".ipc": "arrow",
}
_METADATA_FILES = {"dataset_info.json", "state.json", "dataset_dict.json", "dataset_infos.json"}


class ShardError(Exception):
    """A shard could not be read; ``message`` names the file and says why."""

    def __init__(self, relpath: str, reason: str) -> None:
        super().__init__(f"{relpath}: {reason}")
        self.relpath = relpath
        """The shard's path relative to the dataset root."""
        self.reason = reason
        """Why it could not be read."""


CSV_NULL_VALUES = (
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
)
"""Field values read as null in every CSV/TSV column, strings included (pandas' and pyarrow's
usual tokens), so a CSV and the parquet written from the same data give the same nulls."""

CSV_SNIFF_BYTES = 64 << 10
"""Bytes of a CSV/TSV file's start from which its dialect is detected."""

_CSV_DELIMITERS = (",", ";", "\t", "|")


@dataclass(frozen=True)
class CsvOptions:
    """What the user says about CSV/TSV files (``--csv-delimiter``, ``--null-values``); None
    fields are detected from each file."""

    delimiter: str | None = None
    """Field delimiter (one character; ``\\t`` for tab), or None to detect it."""
    null_values: tuple[str, ...] | None = None
    """Tokens read as null (the empty field always is), or None for :data:`CSV_NULL_VALUES`."""

    @classmethod
    def parse(cls, delimiter: str | None, null_values: str | None) -> CsvOptions | None:
        """Return the options of ``--csv-delimiter`` and ``--null-values`` (comma-separated), or
        None when neither is given. Raises UsageError for a bad delimiter."""
        if delimiter is None and null_values is None:
            return None
        nulls = None if null_values is None else tuple(t.strip() for t in null_values.split(","))
        return validate_csv_options(cls(delimiter, nulls))


@dataclass(frozen=True)
class CsvDialect:
    """How one CSV/TSV file is read; reported per file in the check report."""

    delimiter: str
    """Field delimiter."""
    quotechar: str
    """Quote character."""
    header: bool
    """True when the first row names the columns (else they are named f0, f1, ...)."""
    null_values: tuple[str, ...] = CSV_NULL_VALUES
    """Tokens read as null in every column."""
    detected: tuple[str, ...] = ()
    """Which of delimiter/quotechar/header were detected from the file (the rest were given or
    are the format's default)."""

    def describe(self) -> dict[str, Any]:
        """Return the JSON-ready summary the report shows."""
        return {
            "delimiter": self.delimiter,
            "quotechar": self.quotechar,
            "header": self.header,
            "null_values": "default" if self.null_values == CSV_NULL_VALUES else list(self.null_values),
            "detected": list(self.detected),
        }


@dataclass(frozen=True)
class Shard:
    """One data file of a split."""

    path: Path
    """Absolute path."""
    relpath: str
    """Path relative to the dataset root, POSIX separators."""
    format: str
    """parquet, csv, tsv, jsonl, json or arrow."""
    compression: str | None = None
    """gzip, zstd, bz2, xz, or None."""
    encoding: str = DEFAULT_ENCODING
    """Text encoding of CSV/TSV/JSON content (ignored for parquet and Arrow)."""
    dialect: CsvDialect | None = None
    """How a CSV/TSV shard is read (set by :func:`discover`; None: the format's defaults)."""


@dataclass(frozen=True)
class Split:
    """A named split and its shards, in file order."""

    name: str
    """Split name (train, validation, test, or the dataset's own)."""
    shards: tuple[Shard, ...]
    """Its data files, sorted by path."""


@dataclass(frozen=True)
class DatasetLayout:
    """What :func:`discover` found: the splits and the metadata that names features."""

    root: Path
    """The dataset folder (or the single file's parent)."""
    splits: tuple[Split, ...]
    """Splits in canonical order (train, validation, test, then others sorted)."""
    class_names: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """ClassLabel features declared in the dataset's metadata: column -> class names."""
    source: str = "files"
    """How splits were found: save_to_disk, card, files, single."""


def _strip_compression(name: str) -> tuple[str, str | None]:
    lower = name.lower()
    for ext, comp in _COMPRESSIONS.items():
        if lower.endswith(ext):
            return name[: -len(ext)], comp
    return name, None


def _shard_for(root: Path, path: Path) -> Shard | None:
    base, comp = _strip_compression(path.name)
    fmt = _FORMATS.get(Path(base).suffix.lower())
    if fmt is None:
        return None
    if path.name in _METADATA_FILES:
        return None
    rel = path.relative_to(root).as_posix() if path != root else path.name
    return Shard(path=path, relpath=rel, format=fmt, compression=comp)


def _data_files(root: Path) -> list[Path]:
    out: list[Path] = []
    for p in sorted(root.rglob("*")):
        rel_parts = p.relative_to(root).parts
        if any(part.startswith(".") for part in rel_parts):
            continue
        if p.is_symlink() or not p.is_file():
            continue
        if _shard_for(root, p) is not None:
            out.append(p)
    return out


def split_sort_key(name: str) -> tuple[int, str]:
    """Return the sort key that puts splits in canonical order (train, validation, test, rest)."""
    return (SPLIT_ORDER.index(name), "") if name in SPLIT_ORDER else (len(SPLIT_ORDER), name)


def _split_from_path(rel: str) -> str | None:
    parts = rel.lower().split("/")
    for part in parts[:-1]:
        for split, words in _SPLIT_KEYWORDS.items():
            if part in words:
                return split
    stem = _strip_compression(parts[-1])[0]
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    tokens = [t for t in re.split(r"[-_. ]+", stem) if t]
    for split, words in _SPLIT_KEYWORDS.items():
        if any(t in words for t in tokens):
            return split
    return None


def _front_matter(readme: Path) -> dict[str, Any] | None:
    try:
        text = readme.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    if not text.startswith("---"):
        return None
    end = text.find("\n---", 3)
    if end < 0:
        return None
    import yaml  # local: only needed when a card exists

    try:
        data = yaml.safe_load(text[3:end])
    except yaml.YAMLError:
        return None
    return data if isinstance(data, dict) else None


def _class_names_from_features(features: Any) -> dict[str, tuple[str, ...]]:
    """Collect ClassLabel names from a ``features`` block (datasets JSON or card YAML)."""
    out: dict[str, tuple[str, ...]] = {}
    if isinstance(features, dict):  # dataset_info.json: {"label": {"_type": "ClassLabel", "names": [...]}}
        for name, spec in features.items():
            if isinstance(spec, dict) and spec.get("_type") == "ClassLabel" and isinstance(spec.get("names"), list):
                out[str(name)] = tuple(str(x) for x in spec["names"])
    elif isinstance(features, list):  # card YAML: [{"name": "label", "dtype": {"class_label": {"names": {"0": "a"}}}}]
        for spec in features:
            if not isinstance(spec, dict):
                continue
            dtype = spec.get("dtype")
            if isinstance(dtype, dict) and isinstance(dtype.get("class_label"), dict):
                names = dtype["class_label"].get("names")
                if isinstance(names, dict):
                    ordered = sorted(names.items(), key=lambda kv: int(kv[0]))
                    out[str(spec.get("name"))] = tuple(str(v) for _, v in ordered)
                elif isinstance(names, list):
                    out[str(spec.get("name"))] = tuple(str(v) for v in names)
    return out


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _save_to_disk_split(root: Path, folder: Path) -> tuple[list[Shard], dict[str, tuple[str, ...]]]:
    state = _read_json(folder / "state.json")
    files: list[Path] = []
    if isinstance(state, dict) and isinstance(state.get("_data_files"), list):
        for item in state["_data_files"]:
            if isinstance(item, dict) and isinstance(item.get("filename"), str):
                candidate = folder / item["filename"]
                if candidate.resolve().parent == folder.resolve() and candidate.is_file():
                    files.append(candidate)
    if not files:
        files = sorted(folder.glob("data-*.arrow"))
    info = _read_json(folder / "dataset_info.json")
    names = _class_names_from_features(info.get("features")) if isinstance(info, dict) else {}
    shards = [s for s in (_shard_for(root, f) for f in files) if s is not None]
    return shards, names


def _discover_save_to_disk(root: Path) -> DatasetLayout | None:
    dd = _read_json(root / "dataset_dict.json")
    if isinstance(dd, dict) and isinstance(dd.get("splits"), list):
        splits = []
        names: dict[str, tuple[str, ...]] = {}
        for name in dd["splits"]:
            sub = root / str(name)
            if not sub.is_dir():
                continue
            shards, cn = _save_to_disk_split(root, sub)
            names.update(cn)
            splits.append(Split(str(name), tuple(shards)))
        return DatasetLayout(root, tuple(sorted(splits, key=lambda s: split_sort_key(s.name))), names, "save_to_disk")
    if (root / "state.json").is_file() and any(root.glob("*.arrow")):
        shards, cn = _save_to_disk_split(root, root)
        return DatasetLayout(root, (Split("train", tuple(shards)),), cn, "save_to_disk")
    return None


def _card_config(card: dict[str, Any]) -> dict[str, Any] | None:
    configs = card.get("configs")
    if not isinstance(configs, list) or not configs:
        return None
    chosen = None
    for cfg in configs:
        if isinstance(cfg, dict) and (cfg.get("default") is True or cfg.get("config_name") == "default"):
            chosen = cfg
            break
    if chosen is None and isinstance(configs[0], dict):
        chosen = configs[0]
    return chosen


def _card_info_features(card: dict[str, Any], config_name: str | None) -> dict[str, tuple[str, ...]]:
    info = card.get("dataset_info")
    infos = info if isinstance(info, list) else [info]
    for item in infos:
        if not isinstance(item, dict):
            continue
        if config_name is not None and item.get("config_name") not in (None, config_name):
            continue
        return _class_names_from_features(item.get("features"))
    return {}


def _glob(root: Path, pattern: str) -> list[Path]:
    pattern = pattern.lstrip("/")
    if ".." in Path(pattern).parts:
        return []
    found = []
    for p in _data_files(root):
        rel = p.relative_to(root).as_posix()
        if fnmatch.fnmatchcase(rel, pattern) or fnmatch.fnmatchcase(rel, pattern.replace("**/", "")):
            found.append(p)
    return found


def _discover_card(root: Path, card: dict[str, Any]) -> DatasetLayout | None:
    cfg = _card_config(card)
    if cfg is None:
        return None
    data_files = cfg.get("data_files")
    if data_files is None:
        return None
    entries: list[tuple[str, list[str]]] = []
    if isinstance(data_files, str):
        entries.append(("train", [data_files]))
    elif isinstance(data_files, list):
        for item in data_files:
            if isinstance(item, str):
                entries.append(("train", [item]))
            elif isinstance(item, dict):
                paths = item.get("path")
                pats = [paths] if isinstance(paths, str) else [str(x) for x in paths or []]
                entries.append((str(item.get("split", "train")), pats))
    elif isinstance(data_files, dict):
        for split, paths in data_files.items():
            pats = [paths] if isinstance(paths, str) else [str(x) for x in paths or []]
            entries.append((str(split), pats))
    merged: dict[str, list[Path]] = {}
    for split, pats in entries:
        for pat in pats:
            merged.setdefault(split, []).extend(_glob(root, pat))
    splits = []
    for name, files in merged.items():
        uniq = sorted(set(files))
        shards = tuple(s for s in (_shard_for(root, f) for f in uniq) if s is not None)
        splits.append(Split(name, shards))
    cname = cfg.get("config_name")
    names = _card_info_features(card, str(cname) if cname is not None else None)
    return DatasetLayout(root, tuple(sorted(splits, key=lambda s: split_sort_key(s.name))), names, "card")


def validate_encoding(encoding: str) -> str:
    """Return the codec name of ``encoding`` (``latin-1`` -> ``iso8859-1``).

    Raises UsageError naming the value when Python knows no such text encoding.
    """
    from datagate.errors import UsageError

    try:
        info = codecs.lookup(encoding)
    except LookupError:
        raise UsageError(f"--encoding {encoding!r}: unknown text encoding (e.g. utf-8, latin-1, cp1252)") from None
    if not getattr(info, "_is_text_encoding", True):
        raise UsageError(f"--encoding {encoding!r}: not a text encoding")
    return info.name


def discover(path: Path, *, encoding: str = DEFAULT_ENCODING, csv: CsvOptions | None = None) -> DatasetLayout:
    """Return the splits of the dataset at ``path`` (a folder or a single data file).

    ``encoding`` is the text encoding of its CSV/TSV/JSON files; each CSV/TSV file's dialect
    (delimiter, quoting, header) is detected from its first :data:`CSV_SNIFF_BYTES` unless
    ``csv`` gives it. Raises CheckError when ``path`` does not exist or holds no readable data
    file, UsageError for an unknown encoding or a bad ``csv`` option.
    """
    layout = _discover(Path(path))
    codec = validate_encoding(encoding)
    opts = validate_csv_options(csv or CsvOptions())

    def prepared(sh: Shard) -> Shard:
        sh = dataclasses.replace(sh, encoding=codec) if codec != DEFAULT_ENCODING else sh
        if sh.format in ("csv", "tsv"):
            sh = dataclasses.replace(sh, dialect=sniff_dialect(sh, opts))
        return sh

    splits = tuple(Split(sp.name, tuple(prepared(sh) for sh in sp.shards)) for sp in layout.splits)
    return dataclasses.replace(layout, splits=splits)


def validate_csv_options(opts: CsvOptions) -> CsvOptions:
    """Return ``opts`` with ``\\t``/``tab`` spelled as a tab and the empty token added to the
    null values. Raises UsageError for a delimiter that is not one character."""
    from datagate.errors import UsageError

    delim = opts.delimiter
    if delim is not None:
        delim = {"\\t": "\t", "tab": "\t", "TAB": "\t"}.get(delim, delim)
        if len(delim) != 1 or delim in ('"', "\n", "\r"):
            raise UsageError(f"--csv-delimiter {opts.delimiter!r}: one character expected (e.g. ';', '|', '\\t')")
    nulls = opts.null_values
    if nulls is not None and "" not in nulls:
        nulls = ("", *nulls)
    return CsvOptions(delim, nulls)


def _split_fields(line: str, delim: str, quote: str) -> list[str]:
    """Split one line on ``delim`` outside ``quote``d parts (a sample line, never a whole file)."""
    fields: list[str] = []
    cur: list[str] = []
    inside = False
    for ch in line:
        if ch == quote:
            inside = not inside
        elif ch == delim and not inside:
            fields.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    fields.append("".join(cur))
    return fields


def _is_number(text: str) -> bool:
    try:
        float(text.strip().strip('"'))
    except ValueError:
        return False
    return bool(text.strip())


def sniff_dialect(shard: Shard, opts: CsvOptions = CsvOptions()) -> CsvDialect:
    """Return how to read the CSV/TSV ``shard``: the given options, the rest detected from its
    first bytes. The delimiter is the candidate (``,`` ``;`` tab ``|``) that splits the sample's
    lines into the same number (> 1) of fields most consistently; the header is present unless
    every field of the first row is a number. Never raises: an unreadable sample falls back to
    the format's defaults (the read then reports the problem)."""
    default_delim = "\t" if shard.format == "tsv" else ","
    nulls = opts.null_values if opts.null_values is not None else CSV_NULL_VALUES
    try:
        with _open_raw(shard) as fh:
            raw = fh.read(CSV_SNIFF_BYTES)
    except Exception:  # noqa: BLE001  the read itself reports what is wrong with the file
        raw = b""
    text = raw.decode(shard.encoding, "replace")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(raw) == CSV_SNIFF_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    lines = lines[:200]
    detected: list[str] = []
    quote = '"'
    if "'" in text and '"' not in text and re.search(r"(^|[,;\t|])'", text, re.M):
        quote = "'"
        detected.append("quotechar")
    delim = opts.delimiter
    if delim is None and lines:
        best: tuple[float, int, str] | None = None
        for cand in _CSV_DELIMITERS:
            counts = [len(_split_fields(ln, cand, quote)) for ln in lines]
            mode = Counter(counts).most_common(1)[0][0]
            if mode < 2:
                continue
            score = (sum(c == mode for c in counts) / len(counts), mode, cand)
            # the format's own delimiter wins ties: a .tsv stays tab-separated
            key = (score[0], 1 if cand == default_delim else 0, score[1])
            if best is None or key > (best[0], 1 if best[2] == default_delim else 0, best[1]):
                best = score
        if best is not None:
            delim = best[2]
            detected.append("delimiter")
    delim = delim or default_delim
    header = True
    if lines:
        first = _split_fields(lines[0], delim, quote)
        if all(_is_number(f) for f in first):
            header = False
        detected.append("header")
    return CsvDialect(delim, quote, header, tuple(nulls), tuple(detected))


def _discover(path: Path) -> DatasetLayout:
    if not path.exists():
        raise CheckError(f"{path}: no such file or directory")
    if path.is_file():
        shard = _shard_for(path.parent, path)
        if shard is None:
            raise CheckError(f"{path}: not a data file datagate can read (parquet, csv, tsv, jsonl, json, arrow)")
        name = _split_from_path(path.name) or "train"
        return DatasetLayout(path.parent, (Split(name, (shard,)),), {}, "single")
    layout = _discover_save_to_disk(path)
    card = _front_matter(path / "README.md") if (path / "README.md").is_file() else None
    if layout is None and card is not None:
        layout = _discover_card(path, card)
    if layout is None:
        files = _data_files(path)
        groups: dict[str, list[Path]] = {}
        for f in files:
            split = _split_from_path(f.relative_to(path).as_posix())
            groups.setdefault(split or "", []).append(f)
        if set(groups) - {""}:
            # files that name no split are ignored only when others do; report them as train otherwise
            unnamed = groups.pop("", [])
            if unnamed and "train" not in groups:
                groups["train"] = unnamed
            elif unnamed:
                groups["train"].extend(unnamed)
        elif "" in groups:
            groups = {"train": groups.pop("")}
        splits = [
            Split(name, tuple(s for s in (_shard_for(path, f) for f in sorted(fs)) if s is not None))
            for name, fs in groups.items()
        ]
        layout = DatasetLayout(path, tuple(sorted(splits, key=lambda s: split_sort_key(s.name))), {}, "files")
    if card is not None and not layout.class_names:
        cfg = _card_config(card)
        cname = cfg.get("config_name") if cfg else None
        names = _card_info_features(card, str(cname) if cname is not None else None)
        if names:
            layout = DatasetLayout(layout.root, layout.splits, names, layout.source)
    if not layout.class_names:
        info = _read_json(path / "dataset_info.json")
        if isinstance(info, dict):
            names = _class_names_from_features(info.get("features"))
            if names:
                layout = DatasetLayout(layout.root, layout.splits, names, layout.source)
    if not any(s.shards for s in layout.splits):
        raise CheckError(f"{path}: no data files found (parquet, csv, tsv, jsonl, json, arrow)")
    return layout


# -- reading -------------------------------------------------------------------------------


def _open_raw(shard: Shard) -> IO[bytes]:
    if shard.compression == "gzip":
        return cast(IO[bytes], gzip.open(shard.path, "rb"))
    if shard.compression == "bz2":
        return cast(IO[bytes], bz2.open(shard.path, "rb"))
    if shard.compression == "xz":
        return cast(IO[bytes], lzma.open(shard.path, "rb"))
    if shard.compression == "zstd":
        import zstandard

        return zstandard.ZstdDecompressor().stream_reader(open(shard.path, "rb"), closefd=True)  # noqa: SIM115
    return open(shard.path, "rb")  # noqa: SIM115  (closed by the caller)


def _native_utf8(shard: Shard) -> bool:
    return shard.encoding == DEFAULT_ENCODING


def _decode_problem(encoding: str, exc: UnicodeDecodeError, base: int, line: int) -> str:
    """The one-line description of ``exc``: line, absolute byte offset and the bad byte."""
    at = base + exc.start
    prefix = exc.object[: exc.start]
    line += bytes(prefix).decode(encoding, "replace").count("\n")
    bad = bytes(exc.object[exc.start : exc.start + 1])
    shown = f" 0x{bad[0]:02x}" if bad else ""
    hint = " (set --encoding if the file is not UTF-8)" if encoding == DEFAULT_ENCODING else ""
    return f"line {line}, byte {at}: not valid {encoding} ({exc.reason}{shown}){hint}"


class _Transcoded(io.RawIOBase):
    """The shard's text decoded from its ``encoding`` and handed on as UTF-8 (pyarrow's readers
    take only UTF-8); a byte that does not decode raises ShardError with its line and offset."""

    def __init__(self, raw: IO[bytes], shard: Shard) -> None:
        super().__init__()
        self._raw = raw
        self._shard = shard
        self._decoder = codecs.getincrementaldecoder(shard.encoding)("strict")
        self._out = b""
        self._offset = 0
        self._line = 1
        self._eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._out and not self._eof:
            chunk = self._raw.read(1 << 20)
            pending = len(self._decoder.getstate()[0])
            try:
                text = self._decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as e:
                raise ShardError(
                    self._shard.relpath, _decode_problem(self._shard.encoding, e, self._offset - pending, self._line)
                ) from None
            self._offset += len(chunk)
            self._line += text.count("\n")
            self._out = text.encode("utf-8")
            self._eof = not chunk
        view = memoryview(buffer).cast("B")
        n = min(len(view), len(self._out))
        view[:n] = self._out[:n]
        self._out = self._out[n:]
        return n

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


def _locate_decode_error(shard: Shard) -> str | None:
    """Return where the shard's text first fails to decode (line and byte), None if it decodes."""
    decoder = codecs.getincrementaldecoder(shard.encoding)("strict")
    offset, line = 0, 1
    try:
        with _open_raw(shard) as fh:
            while True:
                chunk = fh.read(1 << 20)
                pending = len(decoder.getstate()[0])
                try:
                    text = decoder.decode(chunk, final=not chunk)
                except UnicodeDecodeError as e:
                    return _decode_problem(shard.encoding, e, offset - pending, line)
                if not chunk:
                    return None
                offset += len(chunk)
                line += text.count("\n")
    except Exception:  # noqa: BLE001  unreadable bytes are reported by the caller's own error
        return None


def _input(shard: Shard) -> pa.NativeFile:
    if not _native_utf8(shard) and shard.format in ("csv", "tsv", "jsonl", "json"):
        return pa.PythonFile(_Transcoded(_open_raw(shard), shard), mode="r")
    if shard.compression is None:
        return pa.OSFile(str(shard.path), "rb")
    return pa.PythonFile(_open_raw(shard), mode="r")


def _read_capped(fh: IO[bytes], shard: Shard) -> bytes:
    data = fh.read(MAX_IN_MEMORY_BYTES + 1)
    if len(data) > MAX_IN_MEMORY_BYTES:
        raise ShardError(
            shard.relpath, f"decompresses to more than {MAX_IN_MEMORY_BYTES >> 20} MiB (the limit for compressed {shard.format})"
        )
    return data


def _random_access(shard: Shard) -> pa.NativeFile:
    """Parquet and Arrow files need random access: a plain file (not a memory map, whose touched
    pages would count as resident memory for the whole file), or decompress into memory (at
    most :data:`MAX_IN_MEMORY_BYTES`)."""
    if shard.compression is None:
        return pa.OSFile(str(shard.path), "rb")
    with _open_raw(shard) as fh:
        return pa.BufferReader(_read_capped(fh, shard))


def _check_parquet_footer(source: pa.NativeFile, shard: Shard) -> None:
    """Raise ShardError unless the parquet footer is sane: magic bytes, and metadata no larger
    than the file or :data:`MAX_PARQUET_METADATA_BYTES` (checked before pyarrow allocates it)."""
    size = source.size()
    if size < 12:
        raise ShardError(shard.relpath, f"not a parquet file ({size} bytes, too short for a footer)")
    source.seek(size - 8)
    tail = source.read(8)
    source.seek(0)
    head = source.read(4)
    source.seek(0)
    if tail[4:] == b"PARE":
        raise ShardError(shard.relpath, "encrypted parquet footer (not supported)")
    if head != b"PAR1" or tail[4:] != b"PAR1":
        raise ShardError(shard.relpath, "not a parquet file (no PAR1 magic at both ends)")
    declared = int.from_bytes(tail[:4], "little")
    if declared > size - 12:
        raise ShardError(shard.relpath, f"parquet footer declares {declared} bytes of metadata, but the file has {size} bytes")
    if declared > MAX_PARQUET_METADATA_BYTES:
        raise ShardError(
            shard.relpath,
            f"parquet footer metadata of {declared} bytes exceeds the limit of {MAX_PARQUET_METADATA_BYTES} bytes",
        )


def _check_row_groups(pf: Any, size: int, shard: Shard) -> None:
    """Raise ShardError unless the row groups' row counts are sane and add up to the footer's.

    Column chunks are deliberately not inspected here: pyarrow's Python accessor for a column
    chunk's metadata (``RowGroupMetaData.column``) aborts the whole process on a corrupt
    size-statistics histogram (a C++ exception thrown through a noexcept frame; found by the
    fuzz suite), whereas the reading path reports the same corruption, and chunks that lie
    outside the file, as ordinary errors.
    """
    md = pf.metadata
    total = 0
    for i in range(md.num_row_groups):
        rows = md.row_group(i).num_rows
        if rows < 0:
            raise ShardError(shard.relpath, f"row group {i} declares {rows} rows")
        total += rows
    if total != md.num_rows:
        raise ShardError(shard.relpath, f"row groups hold {total} rows but the footer declares {md.num_rows}")


def _parquet_file(source: pa.NativeFile, shard: Shard, **kw: Any) -> Any:
    import pyarrow.parquet as pq

    _check_parquet_footer(source, shard)
    pf = pq.ParquetFile(source, **kw)
    _check_row_groups(pf, source.size(), shard)
    _check_columns(pf.schema_arrow, shard)
    return pf


def parquet_row_groups(shard: Shard) -> list[int] | None:
    """Return the row count of each row group of a parquet shard (validated like a read), or
    None when it is not an uncompressed parquet file or cannot be read (reading it says why)."""
    if shard.format != "parquet" or shard.compression is not None:
        return None
    try:
        with _random_access(shard) as source:
            md = _parquet_file(source, shard, pre_buffer=False).metadata
            return [md.row_group(g).num_rows for g in range(md.num_row_groups)]
    except (ShardError, pa.ArrowException, OSError, ValueError):
        return None


def _check_columns(schema: pa.Schema, shard: Shard) -> None:
    dup = sorted(n for n, k in Counter(schema.names).items() if k > 1)
    if dup:
        raise ShardError(shard.relpath, f"duplicate column names: {', '.join(map(repr, dup[:5]))}")


def _validated(batch: pa.RecordBatch, shard: Shard) -> pa.RecordBatch:
    """Return ``batch`` once fully validated; raise ShardError before anything reads bad data."""
    try:
        batch.validate(full=True)
    except (pa.ArrowException, ValueError) as e:
        where = _locate_decode_error(shard) if shard.format in ("csv", "tsv", "jsonl", "json") else None
        raise ShardError(shard.relpath, where or f"invalid data: {_describe(e)}") from e
    if shard.format in ("csv", "tsv") and _native_utf8(shard):
        # pyarrow types a CSV column that is not valid UTF-8 as binary instead of failing
        if any(pa.types.is_binary(t) or pa.types.is_large_binary(t) for t in batch.schema.types):
            where = _locate_decode_error(shard)
            if where is not None:
                raise ShardError(shard.relpath, where)
    return batch


def _arrow_batches(shard: Shard, batch_rows: int) -> Iterator[pa.RecordBatch]:
    with _random_access(shard) as source:
        head = source.read(6)
        source.seek(0)
        if head == b"ARROW1":
            reader = pa.ipc.open_file(source)
            _check_columns(reader.schema, shard)
            for i in range(reader.num_record_batches):
                yield from _rechunk(_validated(reader.get_batch(i), shard), batch_rows)
        else:
            stream = pa.ipc.open_stream(source)
            _check_columns(stream.schema, shard)
            for batch in stream:
                yield from _rechunk(_validated(batch, shard), batch_rows)


def _rechunk(batch: pa.RecordBatch, batch_rows: int) -> Iterator[pa.RecordBatch]:
    if batch.num_rows <= batch_rows:
        yield batch
        return
    for start in range(0, batch.num_rows, batch_rows):
        yield batch.slice(start, batch_rows)


def _json_batches(shard: Shard, batch_rows: int) -> Iterator[pa.RecordBatch]:
    with _open_raw(shard) as fh:
        head = fh.read(1 << 16)
    stripped = head.lstrip()
    if stripped.startswith(b"["):
        with _open_raw(shard) as fh:
            raw = _read_capped(fh, shard)
        try:
            text = raw.decode(shard.encoding)
        except UnicodeDecodeError as e:
            raise ShardError(shard.relpath, _decode_problem(shard.encoding, e, 0, 1)) from None
        try:
            data = json.loads(text)
        except ValueError as e:
            raise ShardError(shard.relpath, f"invalid JSON: {e}") from e
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise ShardError(shard.relpath, "a JSON array of objects was expected")
        table = pa.Table.from_pylist(data)
        for batch in table.to_batches(max_chunksize=batch_rows):
            yield _validated(batch, shard)
        return
    yield from _jsonl_batches(shard, batch_rows)


def _jsonl_batches(shard: Shard, batch_rows: int) -> Iterator[pa.RecordBatch]:
    import pyarrow.json as pj

    with _input(shard) as src:
        reader = pj.open_json(src, read_options=pj.ReadOptions(block_size=CSV_BLOCK_BYTES))
        _check_columns(reader.schema, shard)
        for batch in reader:
            yield from _rechunk(_validated(batch, shard), batch_rows)


def _open_csv(shard: Shard, src: pa.NativeFile) -> Any:
    import pyarrow.csv as pcsv

    d = shard.dialect or CsvDialect("\t" if shard.format == "tsv" else ",", '"', True)
    return pcsv.open_csv(
        src,
        read_options=pcsv.ReadOptions(block_size=CSV_BLOCK_BYTES, autogenerate_column_names=not d.header),
        parse_options=pcsv.ParseOptions(delimiter=d.delimiter, quote_char=d.quotechar),
        # empty fields and the usual null tokens are nulls in string columns too, as parquet has them
        convert_options=pcsv.ConvertOptions(
            null_values=list(d.null_values), strings_can_be_null=True, quoted_strings_can_be_null=True
        ),
    )


def _csv_batches(shard: Shard, batch_rows: int) -> Iterator[pa.RecordBatch]:
    with _input(shard) as src:
        reader = _open_csv(shard, src)
        _check_columns(reader.schema, shard)
        for batch in reader:
            yield from _rechunk(_validated(batch, shard), batch_rows)


def _raw_batches(
    shard: Shard, batch_rows: int, columns: Sequence[str] | None, row_groups: tuple[int, int] | None = None
) -> Iterator[pa.RecordBatch]:
    if shard.format == "parquet":
        with _random_access(shard) as source:
            # no pre-buffering: it caches whole row groups in the memory pool (measured: RSS
            # grows with the file); reading column chunks on demand keeps memory flat
            pf = _parquet_file(source, shard, pre_buffer=False)
            groups = range(*row_groups) if row_groups is not None else None
            for batch in pf.iter_batches(batch_size=batch_rows, row_groups=groups, columns=list(columns) if columns is not None else None):
                yield _validated(batch, shard)
        return
    if shard.format == "arrow":
        batches: Iterator[pa.RecordBatch] = _arrow_batches(shard, batch_rows)
    elif shard.format in ("csv", "tsv"):
        batches = _csv_batches(shard, batch_rows)
    elif shard.format == "jsonl":
        batches = _jsonl_batches(shard, batch_rows)
    else:
        batches = _json_batches(shard, batch_rows)
    for batch in batches:
        yield batch.select(list(columns)) if columns is not None else batch


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]


PREFETCH_BATCHES = 2
"""Batches decoded ahead by a reader thread (pyarrow decodes without the GIL), so reading
overlaps with the checks' numpy work; 0 reads in the calling thread."""


def _prefetched(it: Iterator[pa.RecordBatch], depth: int) -> Iterator[pa.RecordBatch]:
    """Yield ``it``'s items, produced ``depth`` ahead by a daemon thread; errors re-raise here."""
    q: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def work() -> None:
        try:
            for item in it:
                while not stop.is_set():
                    try:
                        q.put(("item", item), timeout=0.05)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(("end", None))
        except BaseException as e:  # noqa: BLE001  handed to the consumer, which re-raises it
            q.put(("error", e))
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()

    th = threading.Thread(target=work, name="datagate-reader", daemon=True)
    th.start()
    try:
        while True:
            kind, value = q.get()
            if kind == "item":
                yield value
            elif kind == "end":
                return
            else:
                raise value
    finally:
        stop.set()
        while th.is_alive():
            try:
                q.get(timeout=0.05)
            except queue.Empty:
                pass


def iter_batches(
    shard: Shard,
    *,
    schema: pa.Schema | None = None,
    columns: Sequence[str] | None = None,
    batch_rows: int = BATCH_ROWS,
    prefetch: int = PREFETCH_BATCHES,
    row_groups: tuple[int, int] | None = None,
) -> Iterator[pa.RecordBatch]:
    """Yield the shard's rows as record batches in file order, cast to ``schema`` when given.

    ``row_groups`` = ``(first, end)`` reads only those row groups of a parquet shard (the
    engine's work items cut large files this way).

    Raises ShardError (naming the file) when the shard is corrupt, truncated, ragged or does not
    match ``schema``.
    """
    breadcrumb("check", shard.relpath)
    raw = _raw_batches(shard, batch_rows, columns, row_groups)
    it = _prefetched(raw, prefetch) if prefetch > 0 else raw
    while True:
        try:
            batch = next(it)
        except StopIteration:
            return
        except ShardError:
            raise
        except (pa.ArrowException, OSError, ValueError, EOFError, KeyError, lzma.LZMAError) as e:
            raise ShardError(shard.relpath, _describe(e)) from e
        except Exception as e:  # noqa: BLE001  third-party decoders (zstandard) raise their own types
            raise ShardError(shard.relpath, _describe(e)) from e
        if schema is not None:
            target = schema if columns is None else pa.schema([schema.field(c) for c in columns])
            if batch.schema != target:
                try:
                    batch = _conform(batch, target)
                except (pa.ArrowException, ValueError, KeyError) as e:
                    raise ShardError(shard.relpath, f"does not match the split's schema: {_describe(e)}") from e
        yield batch


def _conform(batch: pa.RecordBatch, target: pa.Schema) -> pa.RecordBatch:
    arrays = []
    for fld in target:
        idx = batch.schema.get_field_index(fld.name)
        if idx < 0:
            raise KeyError(f"column {fld.name!r} missing")
        col = batch.column(idx)
        arrays.append(col if col.type == fld.type else col.cast(fld.type))
    return pa.RecordBatch.from_arrays(arrays, schema=target)


def read_schema(shard: Shard) -> pa.Schema:
    """Return the shard's Arrow schema (reading at most its first batch for text formats).

    Raises ShardError naming the file when it cannot be read.
    """
    breadcrumb("check", shard.relpath)
    try:
        if shard.format == "parquet":
            with _random_access(shard) as source:
                return cast(pa.Schema, _parquet_file(source, shard).schema_arrow)
        if shard.format == "arrow":
            with _random_access(shard) as source:
                head = source.read(6)
                source.seek(0)
                sch = pa.ipc.open_file(source).schema if head == b"ARROW1" else pa.ipc.open_stream(source).schema
                _check_columns(sch, shard)
                return sch
        if shard.format in ("csv", "tsv") and _native_utf8(shard):
            with _input(shard) as src:
                sch = _open_csv(shard, src).schema
            _check_columns(sch, shard)
            if not any(pa.types.is_binary(t) for t in sch.types):
                return sch
            # a column that is not valid UTF-8: read the first batch, which names the bad byte
    except ShardError:
        raise
    except Exception as e:  # noqa: BLE001  any decoder failure (pyarrow, zstandard, lzma) is this shard's error
        raise ShardError(shard.relpath, _describe(e)) from e
    for batch in iter_batches(shard, batch_rows=1024):
        return batch.schema
    raise ShardError(shard.relpath, "no rows, so no columns")


def _family(t: pa.DataType) -> str:
    if pa.types.is_integer(t):
        return "int"
    if pa.types.is_floating(t):
        return "float"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "string"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return "binary"
    if pa.types.is_dictionary(t):
        return _family(t.value_type)
    return str(t)


def type_family(t: pa.DataType) -> str:
    """Return the coarse type name used to compare schemas: int, float, string, binary, bool,
    null, or Arrow's own name for anything else (so int32 vs int64 is not a change)."""
    return _family(t)


def split_schema(split: Split) -> tuple[pa.Schema | None, list[ShardError]]:
    """Return the split's unified schema and the shards that could not join it.

    Shards must have the same column names; numeric widths and all-null columns are promoted.
    A shard whose columns differ, whose types cannot be unified, or that cannot be read at all is
    returned as a ShardError (naming the file and the columns) and left out of the split.
    """
    problems: list[ShardError] = []
    good: list[tuple[Shard, pa.Schema]] = []
    for shard in split.shards:
        try:
            good.append((shard, read_schema(shard)))
        except ShardError as e:
            problems.append(e)
    if not good:
        return None, problems
    first_shard, first = good[0]
    schemas = [first]
    for shard, sch in good[1:]:
        if set(sch.names) != set(first.names):
            missing = sorted(set(first.names) - set(sch.names))
            extra = sorted(set(sch.names) - set(first.names))
            problems.append(
                ShardError(
                    shard.relpath,
                    f"conflicting schema with {first_shard.relpath}: missing columns {missing}, extra columns {extra}",
                )
            )
            continue
        try:
            pa.unify_schemas([first, sch], promote_options="permissive")
        except (pa.ArrowException, TypeError) as e:
            diff = [
                f"{n} ({first.field(n).type} vs {sch.field(n).type})"
                for n in first.names
                if type_family(first.field(n).type) != type_family(sch.field(n).type)
            ]
            problems.append(
                ShardError(shard.relpath, f"conflicting schema with {first_shard.relpath}: column types differ: {', '.join(diff) or e}")
            )
            continue
        schemas.append(sch)
    unified = pa.unify_schemas(schemas, promote_options="permissive")
    # the first shard's metadata is kept: it carries ``datasets``' features (ClassLabel names)
    unified = pa.schema([unified.field(n) for n in first.names], metadata=first.metadata)
    return unified, problems


def resolve_label(
    layout: DatasetLayout, columns: Sequence[str], label: str | None
) -> tuple[str | None, str | None]:
    """Return ``(label column, how it was chosen)``: ``--label``, ``ClassLabel`` or ``name``.

    Raises UsageError (naming the column and the available ones) when ``label`` is given but is
    not a column of the dataset.
    """
    from datagate.errors import UsageError

    if label is not None:
        if label not in columns:
            raise UsageError(
                f"--label {label!r} is not a column of {layout.root}; available columns: {', '.join(columns)}"
            )
        return label, "--label"
    for name in layout.class_names:
        if name in columns:
            return name, "ClassLabel"
    lowered = {c.lower(): c for c in columns}
    for name in LABEL_NAMES:
        if name in lowered:
            return lowered[name], "name"
    return None, None
