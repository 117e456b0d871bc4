"""The C one-pass walk (``_picklewalk.c``) against the full walk in Python it stands in for.

Its one promise: :func:`analyse`, which takes the C pass where it answers, gives exactly the
analysis of the full walk (:func:`walk`): the same issues with the same offsets, globals, opcode
count and end, strict or not. These tests hold it to that on real pickles (plain data, numpy,
pandas and stdlib objects), on every fixture of the pickle corpus (hostile ones included), and on
mutated and random streams built from opcodes; and they check that the C pass does answer where
it should, so ordinary files really skip the Python walk.
"""

from __future__ import annotations

import datetime
import decimal
import os
import pickle
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datagate import _accel
from datagate.scan.interface import Limits
from datagate.scan.pickles import analyse, walk
from tests.unit.scan._pickle_helpers import EDITS, built, mutate, payload_bytes, scan_bytes

needs_c = pytest.mark.skipif(_accel.summarise is None, reason=f"pickle walk accelerator {_accel.status}")
_MAX_OPS = Limits().max_pickle_ops


def summary(data: bytes | memoryview, max_ops: int = _MAX_OPS) -> _accel.Summary | None:
    assert _accel.summarise is not None
    return _accel.summarise(data, max_ops)


def same(data: bytes, limits: Limits | None = None) -> bool:
    """Assert that analyse() and the full walk agree on ``data``; return whether C answered."""
    for strict in (False, True):
        assert analyse(data, limits=limits, strict=strict) == walk(data, limits=limits, strict=strict), data
    return summary(data, (limits or Limits()).max_pickle_ops) is not None


def test_accelerator_is_built_here() -> None:
    """The build (``pip install -e .``, as ``make test`` runs it) compiles the extension."""
    if os.environ.get("DATAGATE_PURE_PYTHON", "") not in ("", "0"):
        pytest.skip("DATAGATE_PURE_PYTHON is set")
    assert _accel.status == "on"


def test_status_says_why_it_is_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAGATE_PURE_PYTHON", "1")
    assert _accel._load() == (None, "off (DATAGATE_PURE_PYTHON is set)")


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


def _objects() -> list[object]:
    """Objects pickled through allowlisted reconstructors (numpy, datetime, decimal, OrderedDict)."""
    return [
        np.arange(10.0), np.zeros((3, 4), dtype=np.int32), np.array(["a", "bc"]), np.float64(2.5),
        [np.arange(3), np.arange(3)], {"x": np.ones(5), "y": np.ones(5, dtype=np.float32)},
        datetime.date(2024, 1, 2), datetime.datetime(2024, 1, 2, 3, 4, 5), datetime.timedelta(3),
        decimal.Decimal("1.5"), OrderedDict(a=1, b=[1, 2]), complex(1, 2), range(5),
    ]  # fmt: skip


@needs_c
@pytest.mark.parametrize("protocol", [0, 1, 2, 3, 4, 5])
def test_real_pickles_agree_and_take_the_c_pass(protocol: int) -> None:
    answered = 0
    for value in _plain_values(protocol):
        data = pickle.dumps(value, protocol=protocol)
        answered += same(data)
        assert scan_bytes(data) == []
        if protocol >= 2:
            assert summary(data) is not None, (protocol, value)
    for value in _plain_values(5) + _objects():  # globals in older protocols; objects
        answered += same(pickle.dumps(value, protocol=protocol))
    assert answered > (0 if protocol < 2 else 40)


@needs_c
def test_objects_take_the_c_pass_with_their_globals() -> None:
    data = pickle.dumps(np.arange(10.0), protocol=4)
    s = summary(data)
    assert s is not None
    names = {(m, n): (via, called) for m, n, _, via, called in s[1]}
    assert names[("numpy", "ndarray")] == ("STACK_GLOBAL", False)
    assert names[("numpy._core.multiarray", "_reconstruct")] == ("STACK_GLOBAL", True)
    assert same(data)
    assert [f.rule for f in scan_bytes(data)] == ["pickle.global.allowlisted"]


def _call_expansion(levels: int = 24) -> bytes:
    """OrderedDict(((x, x),)) nested ``levels`` deep through the memo (2**levels elements), in a
    list (where the walk weighs what is added)."""
    out = b"\x80\x04\x8c\x0bcollections\x94\x8c\x0bOrderedDict\x94\x93\x94N\x94"  # memo 0-3
    for i in range(levels):
        out += b"h\x02(h" + bytes([3 + i]) + b"h" + bytes([3 + i]) + b"t\x85R\x94"
    return out + b"]h" + bytes([3 + levels]) + b"a."


@needs_c
def test_what_the_c_pass_leaves_to_the_walk() -> None:
    shared = [1, 2, 3]
    for value in ([shared, shared], {"a": shared, "b": shared}):  # a container re-used
        assert not same(pickle.dumps(value, protocol=4))
    data = pickle.dumps(list(range(100)), protocol=4)
    assert same(data)
    assert not same(data, Limits(max_pickle_ops=50))  # the opcode limit is near
    unsafe = b"\x80\x04\x8c\x05posix\x8c\x06system\x93\x8c\x02id\x85R."
    assert same(unsafe) and analyse(unsafe).issues  # summarised; judged not allowlisted: walked
    for bad in (data + data, data + b"\x00", data[:-1], b"", b"\x80\x06N.",
                b"\x80\x04\x8c\x02\xed\xa0\x94.",  # a surrogate: not strict UTF-8
                b"\x80\x04N\x8c\x02id\x85R.",  # a call of a computed object
                b"\x80\x04\x8c\x08builtins\x8c\x04list\x93]a.",  # a write into a global
                b"\x80\x02c\xff\nx\n.",  # a GLOBAL name that is not UTF-8
                b"\x80\x04X\x01\x04\x00\x00" + b"m" * 1025 + b"\x8c\x01x\x93.",  # a long name
                _call_expansion()):  # a call result re-used through the memo
        assert not same(bad), bad
    assert any(i.rule == "pickle.expansion" for i in analyse(_call_expansion()).issues)
    assert summary(memoryview(data)) is not None  # any buffer, as the engine's mmap views


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    root = tmp_path_factory.mktemp("pickleplain")
    return [payload_bytes(s, root) for s in built(root)]


@needs_c
def test_every_fixture_agrees(corpus: list[bytes]) -> None:
    assert len(corpus) > 50
    assert sum(same(data) for data in corpus) > 0


# Streams built from the opcodes the C pass reads, plus a few it refuses, in any order. Most
# such streams are malformed, which is the point.
_TOKENS = st.one_of(
    st.sampled_from([
        b"(", b"]", b"}", b")", b"\x8f", b"N", b"\x88", b"\x89", b"\x94", b"\x85", b"\x86", b"\x87",
        b"a", b"e", b"s", b"u", b"\x90", b"l", b"t", b"d", b"\x91", b"0", b"1", b"2", b".",
        b"K\x05", b"M\x01\x02", b"J\x01\x00\x00\x00", b"G" + b"\x00" * 8, b"\x8a\x01\x05",
        b"\x8c\x01a", b"\x8c\x02\xc3\xa9", b"\x8c\x02\xc3(", b"X\x01\x00\x00\x00b", b"U\x01c",
        b"C\x01d", b"B\x01\x00\x00\x00e", b"q\x00", b"q\x01", b"h\x00", b"h\x01", b"h\x07",
        b"r\x02\x00\x00\x00", b"j\x02\x00\x00\x00", b"\x80\x04", b"\x80\x09",
        b"\x8c\x08builtins\x94\x8c\x04list\x94\x93", b"R", b"b", b"\x81", b"\x92", b"\x93",
        b"c__builtin__\nset\n", b"cos\nsystem\n", b"\x8c\x05posix", b"\x8c\x06system",
    ]),
    st.builds(lambda n: b"\x95" + n.to_bytes(8, "little"), st.integers(0, 60)),
    st.binary(max_size=2),
)  # fmt: skip


@needs_c
@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_TOKENS, max_size=30), st.sampled_from([b"", b"\x80\x04", b"\x80\x02"]))
def test_random_opcode_streams(tokens: list[bytes], head: bytes) -> None:
    same(head + b"".join(tokens))


# Near-valid programs: a random value tree written as opcodes (memoised or not, lists, dicts,
# tuples, sets, memo reads), inside a FRAME of random length, then edited at the token level
# (a token dropped, repeated, swapped, or one inserted). Every check of the C code (underflow,
# MARKs, pairs, memo, FRAME ends, the STOP) is reached by such small edits of valid streams.
_LEAVES = [b"N", b"\x88", b"K\x05", b"M\x01\x02", b"J\xff\xff\xff\xff", b"G" + bytes(8),
           b"\x8a\x01\x05", b"\x8c\x01a", b"\x8c\x02\xc3\xa9", b"X\x02\x00\x00\x00bc",
           b"U\x01c", b"C\x01d", b"h\x00", b"h\x01", b"j\x02\x00\x00\x00"]  # fmt: skip
_GLOBALS = [b"\x8c\x0bcollections\x94\x8c\x0bOrderedDict\x94\x93", b"c__builtin__\nset\n",
            b"\x8c\x08builtins\x8c\x07complex\x93", b"cdatetime\ndate\n", b"cos\nsystem\n",
            b"\x8c\x05numpy\x8c\x07ndarray\x93", b"\x8c\x08builtins\x8c\x07getattr\x93"]  # fmt: skip


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
        st.builds(lambda g, xs, op: [g, b"("] + sum(xs, []) + [b"t", op], st.sampled_from(_GLOBALS),
                  st.lists(inner, max_size=3), st.sampled_from([b"R", b"\x81"])),
        st.builds(lambda g, x: [g, b")", b"}", b"\x92"] + x, st.sampled_from(_GLOBALS), inner),
        st.builds(lambda x, y: x + y + [b"b"], inner, inner),
        st.builds(lambda g, m: _memo([g], m), st.sampled_from(_GLOBALS), st.integers(0, 3)),
    ),
    max_leaves=12,
)  # fmt: skip
_EDITS = st.lists(
    st.tuples(st.sampled_from(["drop", "repeat", "swap", "insert"]), st.integers(0, 1000),
              st.sampled_from([*_LEAVES, b"(", b"e", b"u", b"s", b"a", b"t", b"0", b"1", b"\x94", b"."])),
    max_size=2,
)  # fmt: skip


@needs_c
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
    same(head + framed + body)


@needs_c
def test_a_frame_ending_anywhere() -> None:
    """Every FRAME length over real plain pickles: one that ends inside an opcode is the walk's."""
    taken = 0
    for value in _plain_values(5)[:25]:
        body = pickle.dumps(value, protocol=4)[11:]  # after PROTO and the pickler's own FRAME
        for length in range(len(body) + 2):
            data = b"\x80\x04\x95" + length.to_bytes(8, "little") + body
            taken += same(data)
            for cut in (length - 1, length, length + 1):  # a FRAME inside, at, after the end
                split = b"\x80\x04\x95" + length.to_bytes(8, "little") + body[:cut]
                rest = body[cut:]
                taken += same(split + b"\x95" + len(rest).to_bytes(8, "little") + rest)
    assert taken > 25


@needs_c
@settings(
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.data(), EDITS)
def test_mutated_real_pickles(
    corpus: list[bytes], data: st.DataObject, edits: list[tuple[str, int, int]]
) -> None:
    values = _plain_values()[:30] + _objects()
    seeds = corpus + [pickle.dumps(v, protocol=p) for v in values for p in (2, 5)]
    same(mutate(data.draw(st.sampled_from(seeds)), edits[:4]))


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
