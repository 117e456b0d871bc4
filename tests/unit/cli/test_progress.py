"""Progress bars: drawn on a real terminal (a pty), silent on pipes, files and under --quiet."""

from __future__ import annotations

import io
import os
import select
import threading
import time

from datagate.cli.progress import RichProgress, make_progress
from datagate.progress import NULL_PROGRESS


def test_quiet_and_non_terminals_get_the_null_sink(tmp_path: object) -> None:
    assert make_progress(True) is NULL_PROGRESS
    assert make_progress(False, stream=io.StringIO()) is NULL_PROGRESS
    r, w = os.pipe()
    with os.fdopen(w, "w") as pipe:
        assert make_progress(False, stream=pipe) is NULL_PROGRESS
    os.close(r)
    master, slave = os.openpty()
    try:
        with os.fdopen(slave, "w", closefd=False) as tty:
            assert make_progress(True, stream=tty) is NULL_PROGRESS
    finally:
        os.close(master)
        os.close(slave)


def _drain(fd: int, stop: threading.Event, out: list[bytes]) -> None:
    while not stop.is_set():
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                out.append(os.read(fd, 65536))
            except OSError:
                return


def test_bars_with_file_and_byte_counts_on_a_terminal() -> None:
    master, slave = os.openpty()
    chunks: list[bytes] = []
    stop = threading.Event()
    reader = threading.Thread(target=_drain, args=(master, stop, chunks))
    reader.start()
    try:
        with os.fdopen(slave, "w", closefd=False) as tty:
            sink = make_progress(False, stream=tty)
            assert isinstance(sink, RichProgress)
            task = sink.task("hashing", total=4, total_bytes=4_000_000)
            for _ in range(4):
                task.advance(1, 1_000_000)
                time.sleep(0.12)
            task.close()
            task.close()  # idempotent
            other = sink.task("scanning")  # no totals: pulses, still counts
            other.advance(3, 0)
            other.close()
            rows = sink.task("checking train", unit="rows")  # the check stage counts rows
            rows.advance(65_536, 0)
            time.sleep(0.12)
            rows.close()
            sink.close()
            tty.flush()
        time.sleep(0.2)
    finally:
        stop.set()
        reader.join()
        os.close(master)
        os.close(slave)
    screen = b"".join(chunks).decode("utf-8", "replace")
    assert "hashing" in screen and "scanning" in screen
    assert "4/4 files" in screen
    assert "4.0/4.0 MB" in screen
    assert "3 files" in screen
    assert "65,536 rows" in screen and "65,536 files" not in screen


def test_many_small_updates_are_cheap() -> None:
    """100k advances cost little: counts are pushed to the display at most every 0.1 s."""
    master, slave = os.openpty()
    chunks: list[bytes] = []
    stop = threading.Event()
    reader = threading.Thread(target=_drain, args=(master, stop, chunks))
    reader.start()
    try:
        with os.fdopen(slave, "w", closefd=False) as tty:
            sink = make_progress(False, stream=tty)
            task = sink.task("hashing", total=100_000, total_bytes=100_000 * 512)
            start = time.perf_counter()
            for _ in range(100_000):
                task.advance(1, 512)
            elapsed = time.perf_counter() - start
            task.close()
            tty.flush()
    finally:
        stop.set()
        reader.join()
        os.close(master)
        os.close(slave)
    assert elapsed < 1.0, f"100k advances took {elapsed:.2f}s"
