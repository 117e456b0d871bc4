"""The C plain-data check (``_pickleplain.c``) against the full walk it lets the scanner skip.

Its one promise: when ``plain_data`` answers True, :func:`analyse` reports nothing for the
stream (no issue, no global). These tests hold it to that on real pickles of plain data, on
every fixture of the pickle corpus (hostile ones included), and on mutated and random streams
built from opcodes; and they check that it does answer True where it should, so the scanner
really skips the walk for ordinary data.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datagate import _plain as plain_mod
from datagate.scan.interface import Limits
from datagate.scan.pickles import analyse
from tests.unit.scan._pickle_helpers import EDITS, built, mutate, payload_bytes, scan_bytes

needs_check = pytest.mark.skipif(
    plain_mod.plain_data is None, reason=f"plain-data check {plain_mod.status}"
)
_MAX_OPS = Limits().max_pickle_ops


def plain(data: bytes | memoryview, max_ops: int = _MAX_OPS) -> bool:
    assert plain_mod.plain_data is not None
    return plain_mod.plain_data(data, max_ops)


def test_check_is_built_here() -> None:
    """The build (``pip install -e .``, as ``make test`` runs it) compiles the extension."""
    if os.environ.get("DATAGATE_PURE_PYTHON", "") not in ("", "0"):
        pytest.skip("DATAGATE_PURE_PYTHON is set")
    assert plain_mod.status == "on"


def test_status_says_why_the_check_is_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAGATE_PURE_PYTHON", "1")
    assert plain_mod._load() == (None, "off (DATAGATE_PURE_PYTHON is set)")


def _reports_nothing(data: bytes, limits: Limits | None = None) -> bool:
    result = analyse(data, limits=limits)
    return not result.issues and not result.globals


def _plain_values(protocol: int = 5) -> list[object]:
    """Values whose pickles in ``protocol`` use no global (bytes need protocol 3, sets 4 and
    bytearray 5; before that the pickler reconstructs them through builtins)."""
    text = "naïve café, 日本語, emoji \U0001f600"
    values: list[object] = [
        None, True, False, 0, -1, 255, 256, 65535, 65536, -(2**31), 2**31, 2**64, -(2**200),
        0.5, float("inf"), "", "x" * 300, text, [], (), {}, (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4),
        list(range(1000)), [0.25] * 100, {f"k{i}": [i, float(i), str(i)] for i in range(200)},
        [{"a": i, "b": [1.5] * 10} for i in range(50)], {"nested": {"deep": [[[]]], "t": (text,)}},
        {1: "int key", (1, 2): "tuple key", None: 2.5}, "x" * 70_000,
    ]  # fmt: skip
    if protocol >= 3:
        values += [b"", b"\x00\xff" * 200, [b"y" * 70_000], {"b": b"bytes"}]
    if protocol >= 4:
        values += [set(), frozenset({1, 2}), {"s": {1, 2, 3}}]
    if protocol >= 5:
        values += [bytearray(b"ab")]
    return values


@needs_check
@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_plain_data_is_recognised_and_the_walk_agrees(protocol: int) -> None:
    for value in _plain_values(protocol):
        data = pickle.dumps(value, protocol=protocol)
        assert _reports_nothing(data), value
        assert plain(data), (protocol, value)
        assert scan_bytes(data) == []
    for value in _plain_values(5):  # with globals in older protocols: never a wrong True
        data = pickle.dumps(value, protocol=protocol)
        if plain(data):
            assert _reports_nothing(data), value


@needs_check
@pytest.mark.parametrize("protocol", [0, 1])
def test_text_protocols_take_the_walk(protocol: int) -> None:
    """Protocol 0/1 opcodes (INT, STRING, PUT ...) are left to the walk; never a wrong True."""
    for value in _plain_values():
        data = pickle.dumps(value, protocol=protocol)
        if plain(data):
            assert _reports_nothing(data), value


@needs_check
def test_shared_containers_and_objects_take_the_walk() -> None:
    shared = [1, 2, 3]
    for value in ([shared, shared], {"a": shared, "b": shared}, OrderedDict(a=1), Path("p")):
        data = pickle.dumps(value, protocol=4)
        assert not plain(data), value  # memo re-use of a container; a global


@needs_check
def test_limits_and_stream_shape_take_the_walk() -> None:
    data = pickle.dumps(list(range(100)), protocol=4)
    assert plain(data)
    assert not plain(data, 50)  # the opcode limit is near: the walk reports it
    assert not _reports_nothing(data, Limits(max_pickle_ops=50))
    assert not plain(data + data)  # stacked streams
    assert not plain(data + b"\x00")  # trailing data
    assert not plain(data[:-1])  # no STOP
    assert not plain(b"")
    assert not plain(b"\x80\x06N.")  # unknown protocol
    assert not plain(b"\x80\x04\x8c\x02\xed\xa0\x94.")  # a surrogate: not strict UTF-8
    assert plain(memoryview(data))  # any buffer, as the engine's mmap views


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    root = tmp_path_factory.mktemp("pickleplain")
    return [payload_bytes(s, root) for s in built(root)]


@needs_check
def test_every_fixture_with_a_finding_takes_the_walk(corpus: list[bytes]) -> None:
    assert len(corpus) > 50
    for data in corpus:
        if plain(data):
            assert _reports_nothing(data)
    hostile = [d for d in corpus if any(f.severity.value in ("high", "critical") for f in scan_bytes(d))]
    assert hostile and not any(plain(d) for d in hostile)


# Streams built from the opcodes the check accepts, plus a few it refuses, in any order: a True
# must always mean the walk reports nothing. Most such streams are malformed, which is the point.
_TOKENS = st.one_of(
    st.sampled_from([
        b"(", b"]", b"}", b")", b"\x8f", b"N", b"\x88", b"\x89", b"\x94", b"\x85", b"\x86", b"\x87",
        b"a", b"e", b"s", b"u", b"\x90", b"l", b"t", b"d", b"\x91", b"0", b"1", b"2", b".",
        b"K\x05", b"M\x01\x02", b"J\x01\x00\x00\x00", b"G" + b"\x00" * 8, b"\x8a\x01\x05",
        b"\x8c\x01a", b"\x8c\x02\xc3\xa9", b"\x8c\x02\xc3(", b"X\x01\x00\x00\x00b", b"U\x01c",
        b"C\x01d", b"B\x01\x00\x00\x00e", b"q\x00", b"q\x01", b"h\x00", b"h\x01", b"h\x07",
        b"r\x02\x00\x00\x00", b"j\x02\x00\x00\x00", b"\x80\x04", b"\x80\x09",
        b"\x8c\x08builtins\x94\x8c\x04list\x94\x93", b"R", b"b", b"\x81",
    ]),
    st.builds(lambda n: b"\x95" + n.to_bytes(8, "little"), st.integers(0, 60)),
    st.binary(max_size=2),
)  # fmt: skip


@needs_check
@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_TOKENS, max_size=30), st.sampled_from([b"", b"\x80\x04", b"\x80\x02"]))
def test_a_true_answer_always_means_the_walk_reports_nothing(tokens: list[bytes], head: bytes) -> None:
    data = head + b"".join(tokens)
    if plain(data):
        assert _reports_nothing(data), data


# Near-valid programs: a random value tree written as opcodes (memoised or not, lists, dicts,
# tuples, sets, memo reads), inside a FRAME of random length, then edited at the token level
# (a token dropped, repeated, swapped, or one inserted). Every check of the C code (underflow,
# MARKs, pairs, memo, FRAME ends, the STOP) is reached by such small edits of valid streams.
_LEAVES = [b"N", b"\x88", b"K\x05", b"M\x01\x02", b"J\xff\xff\xff\xff", b"G" + bytes(8),
           b"\x8a\x01\x05", b"\x8c\x01a", b"\x8c\x02\xc3\xa9", b"X\x02\x00\x00\x00bc",
           b"U\x01c", b"C\x01d", b"h\x00", b"h\x01", b"j\x02\x00\x00\x00"]  # fmt: skip


def _memo(tokens: list[bytes], store: int) -> list[bytes]:
    return tokens + [[], [b"\x94"], [b"q\x01"], [b"r\x02\x00\x00\x00"]][store]


_TREE = st.recursive(
    st.builds(lambda t, m: _memo([t], m), st.sampled_from(_LEAVES), st.integers(0, 3)),
    lambda inner: st.one_of(
        st.builds(lambda xs, m: _memo([b"]"], m) + [b"("] + sum(xs, []) + [b"e"],
                  st.lists(inner, max_size=4), st.integers(0, 3)),
        st.builds(lambda x, m: _memo([b"]"], m) + x + [b"a"], inner, st.integers(0, 3)),
        st.builds(lambda kvs, m: _memo([b"}"], m) + [b"("] + sum(kvs, []) + [b"u"],
                  st.lists(st.builds(lambda k, v: k + v, inner, inner), max_size=3), st.integers(0, 3)),
        st.builds(lambda k, v: [b"}"] + k + v + [b"s"], inner, inner),
        st.builds(lambda xs, m: _memo([b"("] + sum(xs, []) + [b"t"], m), st.lists(inner, max_size=4),
                  st.integers(0, 3)),
        st.builds(lambda xs: sum(xs, []) + [bytes([0x84 + len(xs)])], st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda xs: [b"\x8f", b"("] + sum(xs, []) + [b"\x90"], st.lists(inner, max_size=3)),
        st.builds(lambda xs: [b"("] + sum(xs, []) + [b"\x91"], st.lists(inner, max_size=3)),
        st.builds(lambda xs: [b"("] + sum(xs, []) + [b"d"], st.lists(inner, max_size=4)),
        st.builds(lambda xs: [b"("] + sum(xs, []) + [b"l"], st.lists(inner, max_size=4)),
        st.builds(lambda x: x + [b"N", b"0"], inner),
        st.builds(lambda x: [b"("] + x + [b"1", b"N"], inner),
    ),
    max_leaves=12,
)  # fmt: skip
_EDITS = st.lists(
    st.tuples(st.sampled_from(["drop", "repeat", "swap", "insert"]), st.integers(0, 1000),
              st.sampled_from([*_LEAVES, b"(", b"e", b"u", b"s", b"a", b"t", b"0", b"1", b"\x94", b"."])),
    max_size=2,
)  # fmt: skip


@needs_check
@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_TREE, _EDITS, st.one_of(st.none(), st.integers(0, 80)), st.sampled_from([b"\x80\x04", b""]))
def test_edited_programs(
    tree: list[bytes], edits: list[tuple[str, int, bytes]], frame: int | None, head: bytes
) -> None:
    tokens = [*tree, b"."]
    for kind, where, token in edits:
        i = where % len(tokens)
        if kind == "drop":
            del tokens[i]
        elif kind == "repeat":
            tokens.insert(i, tokens[i])
        elif kind == "swap" and i + 1 < len(tokens):
            tokens[i], tokens[i + 1] = tokens[i + 1], tokens[i]
        elif kind == "insert":
            tokens.insert(i, token)
        if not tokens:
            return
    body = b"".join(tokens)
    framed = b"" if frame is None else b"\x95" + frame.to_bytes(8, "little")
    data = head + framed + body
    if plain(data):
        assert _reports_nothing(data), data


@needs_check
def test_a_frame_ending_anywhere() -> None:
    """Every FRAME length over real plain pickles: one that ends inside an opcode is the walk's."""
    taken = 0
    for value in _plain_values(5)[:25]:
        body = pickle.dumps(value, protocol=4)[11:]  # after PROTO and the pickler's own FRAME
        for length in range(len(body) + 2):
            data = b"\x80\x04\x95" + length.to_bytes(8, "little") + body
            if plain(data):
                taken += 1
                assert _reports_nothing(data), data
            for cut in (length - 1, length, length + 1):  # a FRAME inside, at, after the end
                split = b"\x80\x04\x95" + length.to_bytes(8, "little") + body[:cut]
                rest = body[cut:]
                data = split + b"\x95" + len(rest).to_bytes(8, "little") + rest
                if plain(data):
                    taken += 1
                    assert _reports_nothing(data), data
    assert taken > 25


@needs_check
@settings(
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.data(), EDITS)
def test_mutated_real_pickles(
    corpus: list[bytes], data: st.DataObject, edits: list[tuple[str, int, int]]
) -> None:
    seeds = corpus + [pickle.dumps(v, protocol=p) for v in _plain_values()[:30] for p in (2, 5)]
    mutated = mutate(data.draw(st.sampled_from(seeds)), edits[:4])
    if plain(mutated):
        assert _reports_nothing(mutated), mutated


def test_pure_python_scan_gives_the_same_report(tmp_path: Path) -> None:
    """End to end, in fresh interpreters: a folder of pickles scanned with and without the
    check prints the same JSON report."""
    for i, value in enumerate(_plain_values()[:20]):
        (tmp_path / f"p{i}.pkl").write_bytes(pickle.dumps(value, protocol=2 + i % 4))
    (tmp_path / "np.pkl").write_bytes(pickle.dumps(OrderedDict(a=1), protocol=2))
    (tmp_path / "bad.pkl").write_bytes(b"\x80\x04cposix\nsystem\n\x8c\x02id\x85R.")
    outs = []
    for pure in ("0", "1"):
        env = {**os.environ, "DATAGATE_PURE_PYTHON": pure}
        cmd = [sys.executable, "-m", "datagate", "scan", str(tmp_path), "--format", "json"]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        assert proc.returncode == 1, proc.stderr
        outs.append(proc.stdout)
    assert outs[0] == outs[1]
    assert '"pickle.call.dangerous"' in outs[0]
