"""glibc's malloc gives large freed blocks back to the system in datagate's processes.

Each case runs in a fresh interpreter: the setting is process-wide, and the contrast needs a
process where it was never made.
"""

from __future__ import annotations

import ctypes
import json
import subprocess
import sys

import pytest

_PROBE = r"""
import ctypes, json, sys
import numpy as np

class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
if sys.argv[1] == "set":
    from datagate._system import return_large_frees
    assert return_large_frees()
big = np.ones(24 << 20, dtype=np.uint8)  # served by mmap either way (above the starting threshold)
del big                                  # glibc's dynamic threshold now rises to 24 MiB, unless fixed
mid = np.ones(16 << 20, dtype=np.uint8)
print(json.dumps({"mmapped": libc.mallinfo2().hblkhd}))
"""


def _glibc_mallinfo2() -> bool:
    try:
        return hasattr(ctypes.CDLL(None), "mallinfo2")
    except OSError:
        return False


@pytest.mark.skipif(not _glibc_mallinfo2(), reason="needs glibc 2.33+ (mallinfo2)")
def test_large_blocks_stay_mmapped_after_a_larger_one_is_freed() -> None:
    def mmapped(mode: str) -> int:
        out = subprocess.run([sys.executable, "-c", _PROBE, mode], capture_output=True, text=True, check=True, timeout=120)
        return int(json.loads(out.stdout.strip().splitlines()[-1])["mmapped"])

    # without the setting the 16 MiB array comes from the heap (and would stay resident when
    # freed); with it, from mmap (returned to the system when freed)
    assert mmapped("default") < 16 << 20 <= mmapped("set")


_TRIM_PROBE = r"""
import json, sys
import numpy as np

def rss_kb():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS"))

from datagate._system import return_large_frees, trim_heap
return_large_frees()
blocks = [np.ones(1 << 20, dtype=np.uint8) for _ in range(200)]  # 200 MiB of heap blocks (< 8 MiB)
pin = bytearray(200_000)  # a heap block above them: the heap's top cannot shrink on its own
del blocks
before = rss_kb()
if sys.argv[1] == "trim":
    trim_heap()
print(json.dumps({"freed_kb": before - rss_kb()}))
"""


@pytest.mark.skipif(not _glibc_mallinfo2(), reason="needs glibc")
def test_trim_heap_gives_free_heap_pages_back() -> None:
    def freed(mode: str) -> int:
        out = subprocess.run([sys.executable, "-c", _TRIM_PROBE, mode], capture_output=True, text=True, check=True, timeout=120)
        return int(json.loads(out.stdout.strip().splitlines()[-1])["freed_kb"])

    # the freed 1 MiB blocks stay resident in the heap until trimmed
    assert freed("none") < 20 << 10
    assert freed("trim") > 150 << 10
