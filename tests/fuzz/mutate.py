"""Seed files and byte mutators for fuzzing the CLI (issue 14).

Seven format families, each with valid seed files written by the real libraries (pyarrow,
zipfile, tarfile, pickle): ``parquet``, ``arrow``, ``csv``, ``jsonl``, ``zip``, ``tar``,
``pickle``. :func:`mutate` applies a few random byte-level edits chosen for binary formats:
bit flips, "interesting" integers (0, -1, 2**31-1, ...) written over 1/2/4/8 bytes (lengths and
offsets in Arrow/parquet/zip headers are such integers), inserted, deleted and duplicated runs,
and truncation. :func:`run_one` feeds one file to ``scan``, ``check`` and optionally ``ingest``
through :func:`datagate.cli.main` in this process and returns what it saw.
"""

from __future__ import annotations

import contextlib
import io
import json
import pickle
import random
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["FAMILIES", "EXTENSIONS", "Outcome", "mutate", "run_one", "seeds"]

FAMILIES = ("parquet", "arrow", "csv", "jsonl", "zip", "tar", "pickle")
"""The format families fuzzed."""

EXTENSIONS = {
    "parquet": "train.parquet",
    "arrow": "train.arrow",
    "csv": "train.csv",
    "jsonl": "train.jsonl",
    "zip": "bundle.zip",
    "tar": "bundle.tar",
    "pickle": "model.pkl",
}
"""The file name each family's inputs are written under (the CLI sniffs content anyway)."""

TABULAR = frozenset({"parquet", "arrow", "csv", "jsonl"})
"""Families that ``check`` reads."""


def _rows(n: int = 24) -> dict[str, list[object]]:
    return {
        "text": [f"review {i}: {'good' if i % 3 else 'bad'} value, é{i}" for i in range(n)],
        "label": [i % 3 for i in range(n)],
        "score": [i * 0.5 if i % 7 else None for i in range(n)],
        "tags": [[i, i + 1] for i in range(n)],
    }


def _parquet_seeds() -> list[bytes]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = []
    table = pa.table(_rows())
    table = table.append_column("kind", pa.array(["a", "b", "a", "c"] * 6).dictionary_encode())
    for kw in ({"compression": "none"}, {"compression": "snappy", "row_group_size": 8}, {"compression": "zstd", "use_dictionary": False}):
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, **kw)
        out.append(sink.getvalue().to_pybytes())
    return out


def _arrow_seeds() -> list[bytes]:
    import pyarrow as pa

    table = pa.table(_rows())
    table = table.append_column("kind", pa.array(["a", "b", "a", "c"] * 6).dictionary_encode())
    out = []
    for new in (pa.ipc.new_file, pa.ipc.new_stream):
        sink = pa.BufferOutputStream()
        with new(sink, table.schema) as w:
            for batch in table.to_batches(max_chunksize=8):
                w.write_batch(batch)
        out.append(sink.getvalue().to_pybytes())
    return out


def _csv_seeds() -> list[bytes]:
    rows = _rows()
    lines = ["text,label,score"] + [
        f'"{t}",{lab},{"" if s is None else s}' for t, lab, s in zip(rows["text"], rows["label"], rows["score"], strict=True)
    ]
    return ["\n".join(lines).encode("utf-8") + b"\n", "\t".join(["a", "b"]).encode() + b"\n1\t2\n"]


def _jsonl_seeds() -> list[bytes]:
    rows = _rows()
    recs = [dict(zip(rows, vals, strict=True)) for vals in zip(*rows.values(), strict=True)]
    return ["".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs).encode("utf-8")]


def _pickle_seeds() -> list[bytes]:
    data = {"weights": [0.5, 1.5], "names": ("a", "b"), "nested": {"k": [1, 2, {3}]}, "blob": b"\x00\x01"}
    return [pickle.dumps(data, protocol=p) for p in (0, 2, 4, 5)]


def _zip_seeds() -> list[bytes]:
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("data/train.csv", _csv_seeds()[0])
        z.writestr("model.pkl", _pickle_seeds()[1])
    outer = io.BytesIO()
    with zipfile.ZipFile(outer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("inner.zip", inner.getvalue())
        z.writestr("README.md", "# data\n")
        z.writestr("stored.pkl", _pickle_seeds()[2], compress_type=zipfile.ZIP_STORED)
    return [inner.getvalue(), outer.getvalue()]


def _tar_seeds() -> list[bytes]:
    out = []
    for mode in ("w", "w:gz"):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode=mode) as t:
            for name, data in (("train.jsonl", _jsonl_seeds()[0]), ("model.pkl", _pickle_seeds()[3]), ("inner.zip", _zip_seeds()[0])):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
        out.append(buf.getvalue())
    return out


_SEEDS: dict[str, Callable[[], list[bytes]]] = {
    "parquet": _parquet_seeds,
    "arrow": _arrow_seeds,
    "csv": _csv_seeds,
    "jsonl": _jsonl_seeds,
    "zip": _zip_seeds,
    "tar": _tar_seeds,
    "pickle": _pickle_seeds,
}
_CACHE: dict[str, list[bytes]] = {}


def seeds(family: str) -> list[bytes]:
    """Return the valid seed files of ``family`` (built once per process)."""
    if family not in _CACHE:
        _CACHE[family] = _SEEDS[family]()
    return _CACHE[family]


_INTERESTING = (0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF,
                0x7FFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF, 4096, 1 << 20, 1 << 30)


def mutate(data: bytes, rng: random.Random, edits: int | None = None) -> bytes:
    """Return ``data`` with 1-4 random byte-level edits (``edits`` of them when given)."""
    buf = bytearray(data)
    for _ in range(edits if edits is not None else rng.randint(1, 4)):
        if not buf:
            buf.extend(rng.randbytes(rng.randint(1, 16)))
            continue
        op = rng.randrange(7)
        pos = rng.randrange(len(buf))
        if op == 0:  # bit flip
            buf[pos] ^= 1 << rng.randrange(8)
        elif op == 1:  # random byte
            buf[pos] = rng.randrange(256)
        elif op == 2:  # interesting integer over 1/2/4/8 bytes
            width = rng.choice((1, 2, 4, 8))
            value = rng.choice(_INTERESTING) & ((1 << (8 * width)) - 1)
            buf[pos : pos + width] = value.to_bytes(width, rng.choice(("little", "big")))
        elif op == 3:  # insert random bytes
            buf[pos:pos] = rng.randbytes(rng.randint(1, 32))
        elif op == 4:  # delete a run
            del buf[pos : pos + rng.randint(1, 64)]
        elif op == 5:  # duplicate a run
            run = bytes(buf[pos : pos + rng.randint(1, 256)])
            at = rng.randrange(len(buf) + 1)
            buf[at:at] = run
        else:  # truncate
            del buf[rng.randrange(len(buf)) :]
    return bytes(buf)


@dataclass
class Outcome:
    """What one input did to each command."""

    codes: dict[str, int] = field(default_factory=dict)
    """Exit code per command."""
    problems: list[str] = field(default_factory=list)
    """A bad exit code, a traceback or an internal error, one line each."""


def _main(argv: list[str]) -> tuple[int, str]:
    from datagate.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, err.getvalue()


def run_one(family: str, data: bytes, workdir: Path, *, ingest: bool = False) -> Outcome:
    """Write ``data`` as a ``family`` file under ``workdir`` and run the CLI on it in-process.

    ``scan`` always, ``check`` for tabular families, ``ingest`` (into a fresh store) when asked.
    Returns the exit codes and any problem: an exit code outside {0, 1, 2}, a traceback, or
    an ``internal error`` line (an exception the library did not expect).
    """
    import shutil

    shutil.rmtree(workdir, ignore_errors=True)
    ds = workdir / "ds"
    ds.mkdir(parents=True)
    (ds / EXTENSIONS[family]).write_bytes(data)
    runs = [("scan", ["-q", "scan", str(ds), "--format", "json"])]
    if family in TABULAR:
        runs.append(("check", ["-q", "check", str(ds), "--format", "json"]))
    if ingest:
        runs.append(("ingest", ["-q", "ingest", str(ds), "--store", str(workdir / "store"), "--no-cache", "--name", "fuzz"]))
    outcome = Outcome()
    for name, argv in runs:
        code, err = _main(argv)
        outcome.codes[name] = code
        if code not in (0, 1, 2):
            outcome.problems.append(f"{name}: exit {code}: {err.strip()[-300:]}")
        if "Traceback" in err or "internal error" in err:
            outcome.problems.append(f"{name}: {err.strip().splitlines()[-1][:300]}")
    return outcome
