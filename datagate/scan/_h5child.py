"""Read HDF5 attributes with h5py in a child process that can be killed.

h5py is a thin binding of the reference HDF5 C library; reading attributes runs no Python code
of the file (no pickling, no callbacks), but the C library can loop for minutes or crash on a
malformed file (a fuzzed Keras ``.h5`` hangs it inside ``H5Aread``), and neither a timer signal
nor a thread can interrupt C code. So the library runs in one long-lived helper process per scan
process, started the first time an HDF5 file is met; it imports nothing of datagate and never
sees a path: it asks for byte ranges (``R`` offset size) and the parent answers from the bytes it
already holds (a memory map or a decompressed member), so only the metadata HDF5 needs crosses
the pipe. A helper that misses the deadline or dies is killed and replaced; the file is then a
finding, never a pass.

>>> import io, h5py
>>> buf = io.BytesIO()
>>> with h5py.File(buf, "w") as f:
...     f.attrs["note"] = "hello"
>>> result = read_attributes(buf.getvalue(), timeout=60)
>>> result.attrs
[('/', 'note', [b'hello'])]
"""

from __future__ import annotations

import atexit
import base64
import json
import os
import select
import struct
import subprocess
import sys
import threading
from dataclasses import dataclass, field

__all__ = ["H5Result", "h5py_available", "read_attributes"]

_CHILD = r"""
import base64, io, json, struct, sys
out, inp = sys.stdout.buffer, sys.stdin.buffer
MAX_OBJECTS, MAX_ITEMS, MAX_BYTES = 100000, 10000, 64 << 20

def recv(n):
    b = inp.read(n)
    if len(b) != n:
        sys.exit(0)
    return b

class Remote(io.RawIOBase):
    def __init__(self, size):
        self.size, self.pos = size, 0
    def readable(self):
        return True
    def seekable(self):
        return True
    def seek(self, off, whence=0):
        self.pos = off if whence == 0 else self.pos + off if whence == 1 else self.size + off
        return self.pos
    def tell(self):
        return self.pos
    def readinto(self, b):
        n = min(len(b), max(0, self.size - self.pos))
        if n <= 0:
            return 0
        out.write(b"R" + struct.pack("<QI", self.pos, n))
        out.flush()
        b[:n] = recv(n)
        self.pos += n
        return n

def enc(v, np, sink, budget):
    if isinstance(v, (bytes, np.bytes_)):
        sink.append(base64.b64encode(bytes(v)).decode())
    elif isinstance(v, str):
        sink.append(base64.b64encode(v.encode("utf-8", "surrogateescape")).decode())
    elif isinstance(v, np.void):
        sink.append(base64.b64encode(v.tobytes()).decode())
    elif isinstance(v, np.ndarray) and v.dtype.kind in "OSUV":
        for i, item in enumerate(v.flat):
            if i >= MAX_ITEMS:
                break
            enc(item, np, sink, budget)

def walk(f, np):
    objects = [("/", f)]
    def visit(name, obj):
        if len(objects) < MAX_OBJECTS:
            objects.append(("/" + name, obj))
    f.visititems(visit)
    attrs, unreadable, total = [], [], 0
    for path, obj in objects:
        for key in list(obj.attrs.keys())[:MAX_ITEMS]:
            try:
                value = obj.attrs[key]
            except Exception:
                unreadable.append(path + "@" + str(key))
                continue
            sink = []
            enc(value, np, sink, None)
            total += sum(len(s) for s in sink)
            if total > MAX_BYTES:
                return attrs, unreadable, True
            if sink:
                attrs.append([path, str(key), sink])
    return attrs, unreadable, len(objects) >= MAX_OBJECTS

while True:
    head = inp.read(8)
    if len(head) < 8:
        break
    (size,) = struct.unpack("<Q", head)
    try:
        import h5py, numpy as np
        with h5py.File(Remote(size), "r") as f:
            attrs, unreadable, cut = walk(f, np)
        res = {"attrs": attrs, "unreadable": unreadable, "cut": cut}
    except Exception as exc:
        res = {"error": (type(exc).__name__ + ": " + str(exc))[:300]}
    data = json.dumps(res).encode()
    out.write(b"D" + struct.pack("<I", len(data)) + data)
    out.flush()
"""

_MAX_REQUEST = 256 << 20
"""Largest byte range the helper may ask for in one read (HDF5 metadata reads are small)."""


@dataclass
class H5Result:
    """What the helper read from one HDF5 file."""

    attrs: list[tuple[str, str, list[bytes]]] = field(default_factory=list)
    """(object path, attribute name, byte/string values) for every non-numeric attribute."""
    unreadable: list[str] = field(default_factory=list)
    """``path@name`` of attributes h5py could not read."""
    cut: bool = False
    """True when the object or byte budget ended the walk early."""
    error: str = ""
    """h5py's error when the file could not be opened."""
    failure: str = ""
    """``timeout`` or ``crashed`` when the helper had to be killed or died; else empty."""


def h5py_available() -> bool:
    """Return True when h5py can be imported (checked without importing it). Raises nothing."""
    if "h5py" in sys.modules:
        return sys.modules["h5py"] is not None
    try:
        import importlib.util

        return importlib.util.find_spec("h5py") is not None
    except (ImportError, ValueError):
        return False


class _Helper:
    """The long-lived child process and its pipe protocol; one request at a time."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        atexit.register(self.close)

    def _start(self) -> subprocess.Popen[bytes]:
        if self._proc is not None and self._proc.poll() is not None:
            self.close()  # died between requests: reap it, start a fresh one
        if self._proc is None:
            # -I: no user site, no PYTHON* variables; the helper runs only the code above
            self._proc = subprocess.Popen(
                [sys.executable, "-I", "-c", _CHILD],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        return self._proc

    def close(self) -> None:
        """Stop the helper (at exit, after a timeout or a protocol error)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            proc.kill()
        except OSError:
            pass
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()

    def request(self, data: bytes | memoryview, timeout: float) -> H5Result:
        with self._lock:
            proc = self._start()
            assert proc.stdin is not None and proc.stdout is not None
            view = memoryview(data).cast("B")
            deadline = _now() + timeout
            try:
                proc.stdin.write(struct.pack("<Q", len(view)))
                proc.stdin.flush()
                while True:
                    tag = _read(proc, 1, deadline)
                    if tag == b"R":
                        offset, size = struct.unpack("<QI", _read(proc, 12, deadline))
                        if size > _MAX_REQUEST:
                            raise _Broken("crashed")
                        chunk = bytes(view[offset : offset + size])
                        proc.stdin.write(chunk + bytes(size - len(chunk)))
                        proc.stdin.flush()
                    elif tag == b"D":
                        (size,) = struct.unpack("<I", _read(proc, 4, deadline))
                        doc = json.loads(_read(proc, size, deadline))
                        return _result(doc)
                    else:
                        raise _Broken("crashed")
            except _Broken as exc:
                self.close()
                return H5Result(failure=str(exc))
            except (BrokenPipeError, ValueError, OSError):
                self.close()
                return H5Result(failure="crashed")
            except BaseException:
                # the engine's per-file timer (or Ctrl-C) interrupted us mid-protocol
                self.close()
                raise


class _Broken(Exception):
    """The helper timed out or broke the protocol."""


def _now() -> float:
    import time

    return time.monotonic()


def _read(proc: subprocess.Popen[bytes], n: int, deadline: float) -> bytes:
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    parts: list[bytes] = []
    got = 0
    while got < n:
        left = deadline - _now()
        if left <= 0:
            raise _Broken("timeout")
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            raise _Broken("timeout")
        chunk = os.read(fd, n - got)
        if not chunk:
            raise _Broken("crashed")
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def _result(doc: object) -> H5Result:
    if not isinstance(doc, dict):
        return H5Result(failure="crashed")
    if doc.get("error"):
        return H5Result(error=str(doc["error"]))
    attrs = [
        (str(p), str(k), [base64.b64decode(v) for v in values])
        for p, k, values in doc.get("attrs", [])
    ]
    return H5Result(attrs, [str(u) for u in doc.get("unreadable", [])], bool(doc.get("cut")))


_HELPER = _Helper()


def read_attributes(data: bytes | memoryview, timeout: float) -> H5Result:
    """Return the attributes of the HDF5 bytes ``data``, read by the helper within ``timeout`` s.

    Raises nothing for bad files (see :class:`H5Result`); the engine's timer may interrupt it.
    """
    return _HELPER.request(data, timeout)
