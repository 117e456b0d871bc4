"""Fuzz the pickle analyser: random and mutated bytes never raise and always finish quickly."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datagate.errors import DatagateError
from datagate.models import Finding
from datagate.scan import pickles
from datagate.scan.interface import Blob, ContentKind, Limits, ScanContext
from datagate.scan.pickles import (
    PICKLE_SCANNER,
    PickleAnalysis,
    analyse,
    analyse_npy,
    looks_like_pickle,
)
from tests.unit.scan._pickle_helpers import EDITS, built, mutate, payload_bytes

_ROOT: Path | None = None
_LIMITS = Limits(max_pickle_ops=200_000)


def _corpus(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    global _ROOT
    if _ROOT is None:
        _ROOT = tmp_path_factory.mktemp("pickles-fuzz")
    out = []
    for s in built(_ROOT):
        data = payload_bytes(s, _ROOT)
        if len(data) <= 64 * 1024:
            out.append(data)
    out.append(pickle.dumps({"a": [1, 2.5, "x", b"y", (None, True)]}, protocol=0))
    return out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    return _corpus(tmp_path_factory)


def _check(data: bytes) -> None:
    try:
        # Work is bounded by steps, not wall clock (issue 14): every opcode consumes at least
        # one byte, so the walk is linear in the input and never passes its end.
        result = analyse(data, limits=_LIMITS)
        assert result.ops <= max(len(data), 1) and result.end <= len(data)
        analyse_npy(b"\x93NUMPY" + data[:200], limits=_LIMITS)
        looks_like_pickle(data)
        blob = Blob("f.bin", data, name="f.bin", kind=ContentKind.PICKLE)
        items = list(PICKLE_SCANNER.scan(blob, ScanContext(limits=_LIMITS)))
    except DatagateError:
        return
    assert all(isinstance(i, Finding) for i in items)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048))
def test_random_bytes_never_escape(data: bytes) -> None:
    _check(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=512))
def test_random_bytes_after_proto_never_escape(data: bytes) -> None:
    _check(b"\x80\x04" + data)
    _check(b"\x80\x05\x95" + len(data).to_bytes(8, "little") + data)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.data(), EDITS)
def test_mutated_fixtures_never_escape(
    corpus: list[bytes], data: st.DataObject, edits: list[tuple[str, int, int]]
) -> None:
    _check(mutate(data.draw(st.sampled_from(corpus)), edits))


def test_adversarial_shapes_finish() -> None:
    deep = b"\x80\x04" + b"(" * 200_000 + b"."
    wide = b"\x80\x04" + b"N" * 300_000 + b"."
    dup = b"\x80\x04]" + b"2" * 300_000 + b"."
    long_line = b"S'" + b"a" * 2_000_000
    for data in (deep, wide, dup, long_line):
        result = analyse(data)
        assert result.ops <= len(data) and result.end <= len(data)  # linear in the input


# ------------------------------------------------------------------- opcode runs (fast path)
#
# Runs of BININT1/BININT2/BININT/BINFLOAT are pushed in one step (pickles._Walker._run), and a
# list literal of such numbers is walked in one step (number_list, matched by _NUMBER_LIST). The
# analysis must be exactly the one the per-opcode loop gives: same issues (offsets included),
# globals, opcode count, end and completeness, also when a FRAME ends inside a run, the data
# is truncated inside one, or an opcode or stack limit is reached inside one.


def _per_opcode(monkeypatch: pytest.MonkeyPatch, data: bytes, limits: Limits) -> PickleAnalysis:
    with monkeypatch.context() as m:
        m.setattr(pickles._Walker, "_run", lambda self, op, stack, pos, ops, *a: (pos, ops))
        m.setattr(pickles, "_NUMBER_LIST", re.compile(rb"(?!)"))  # never matches
        return analyse(data, limits=limits)


_RUN_TOKENS = st.one_of(
    st.builds(lambda n, b: (b"K" + bytes([b])) * n, st.integers(1, 40), st.integers(0, 255)),
    st.builds(lambda n, b: (b"M" + b) * n, st.integers(1, 40), st.binary(min_size=2, max_size=2)),
    st.builds(lambda n, b: (b"J" + b) * n, st.integers(1, 40), st.binary(min_size=4, max_size=4)),
    st.builds(lambda n, b: (b"G" + b) * n, st.integers(1, 40), st.binary(min_size=8, max_size=8)),
    st.sampled_from([b"(", b"]", b"e", b"a", b"N", b"\x94", b"q\x00", b"h\x00", b"t", b"0", b".",
                     b"]\x94(", b"]q\x07(", b"]r\x01\x00\x00\x00(", b"](", b"]\x94", b"}\x94("]),
    st.builds(lambda n: b"\x95" + n.to_bytes(8, "little"), st.integers(0, 400)),
    st.binary(max_size=3),
)


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.lists(_RUN_TOKENS, max_size=40), st.sampled_from([3, 17, 64, 200_000]))
def test_opcode_runs_are_walked_exactly_like_single_opcodes(
    monkeypatch: pytest.MonkeyPatch, tokens: list[bytes], max_ops: int
) -> None:
    data = b"\x80\x04" + b"".join(tokens)
    limits = Limits(max_pickle_ops=max_ops)
    assert analyse(data, limits=limits) == _per_opcode(monkeypatch, data, limits)


@pytest.mark.parametrize("small_limits", [False, True], ids=["limits", "tiny-memo-and-stack"])
def test_opcode_runs_in_real_pickles_and_fixtures(
    monkeypatch: pytest.MonkeyPatch, corpus: list[bytes], small_limits: bool
) -> None:
    if small_limits:  # memo and stack limits reached inside runs and list literals
        monkeypatch.setattr(pickles, "_MAX_MEMO", 5)
        monkeypatch.setattr(pickles, "_MAX_MEMO_HARD", 9)
        monkeypatch.setattr(pickles, "_MAX_STACK", 40)
    samples = [
        pickle.dumps(obj, protocol=p)
        for p in range(2, 6)
        for obj in (
            list(range(300)),
            list(range(60_000, 60_300)),
            [1 << 20] * 50 + [-5] * 10,
            [0.5] * 100,
            {f"k{i}": [float(i)] * 9 for i in range(40)},
            [list(range(j, j + 40)) for j in range(30)],
            [[1 << 20] * 7, [0.25] * 30, [300] * 12, []],
            [list(range(256, 256 + i)) for i in range(12)] * 2,
        )
    ]
    # a list literal under many MARKs (the MARK limit), under a nearly full stack
    for depth in (38, 39, 40, 41, 45):
        samples.append(b"\x80\x04" + b"(" * depth + b"]\x94(" + b"K\x01" * 3 + b"e.")
        samples.append(b"\x80\x04" + b"N" * depth + b"]\x94(" + b"K\x01" * 3 + b"e.")
    # a FRAME that ends at every byte of a run, the stream cut at every byte of one
    for run in (b"K\x07" * 12, b"M\x01\x02" * 12, b"J\x00\x00\x01\x00" * 12, b"G" + b"\x00" * 8):
        body = b"]q\x00(" + run * 3 + b"e."
        for cut in range(1, len(body) + 1):
            frame = b"\x95" + cut.to_bytes(8, "little")
            samples.append(b"\x80\x04" + frame + body)
            samples.append(b"\x80\x04" + body[:cut])
    for data in samples + corpus:
        for max_ops in (7, 50, 200_000):
            limits = Limits(max_pickle_ops=max_ops)
            assert analyse(data, limits=limits) == _per_opcode(monkeypatch, data, limits)
