"""Tests for datagate.scan.pickles: the static pickle analyser (THREATS.md B1-B12)."""

from __future__ import annotations

import datetime
import io
import mmap
import pickle
import struct
import zoneinfo
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from datagate import _accel
from datagate.models import Severity
from datagate.scan.interface import ContentKind, Limits, ScanContext, Scanner
from datagate.scan.pickles import (
    PICKLE_SCANNER,
    analyse,
    analyse_npy,
    is_allowlisted,
    is_dangerous,
    looks_like_pickle,
    walk,
)
from fixtures.gen.common import Sample
from fixtures.gen.pickles import SYSTEM, C, G, dumps, encode
from tests.unit.scan._pickle_helpers import built, payload_bytes, scan_bytes, scan_sample


@pytest.fixture(scope="module")
def fx(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, tuple[Sample, ...]]:
    root = tmp_path_factory.mktemp("pickles")
    return root, built(root)


def _by_name(fx: tuple[Path, tuple[Sample, ...]], name: str) -> bytes:
    root, samples = fx
    return payload_bytes(next(s for s in samples if s.name == name), root)


def _rules(data: bytes) -> dict[str, Severity]:
    out: dict[str, Severity] = {}
    for i in analyse(data).issues:
        out[i.rule] = max(out.get(i.rule, Severity.INFO), i.severity)
    return out


# ---- the fixture corpus ----------------------------------------------------------------------


def test_every_hostile_sample_is_flagged(fx: tuple[Path, tuple[Sample, ...]]) -> None:
    root, samples = fx
    hostile = [s for s in samples if s.hostile]
    assert len(hostile) >= 90
    failures: list[tuple[str, str, list[str]]] = []
    for s in hostile:
        findings = scan_sample(s, root)
        worst = max((f.severity for f in findings), default=None)
        if worst is None or worst < Severity.parse(s.min_severity):
            failures.append((s.name, str(worst), [f.rule for f in findings]))
        elif s.rule_prefix and not any(f.rule.startswith(s.rule_prefix) for f in findings):
            failures.append((s.name, s.rule_prefix, [f.rule for f in findings]))
    assert failures == []


def test_every_benign_sample_stays_below_high(fx: tuple[Path, tuple[Sample, ...]]) -> None:
    root, samples = fx
    benign = [s for s in samples if not s.hostile]
    assert len(benign) >= 35
    loud = [
        (s.name, f.rule, f.message)
        for s in benign
        for f in scan_sample(s, root)
        if f.severity >= Severity.HIGH
    ]
    assert loud == []


def test_every_b4_callable_has_a_sample(fx: tuple[Path, tuple[Sample, ...]]) -> None:
    names = {s.name for s in fx[1]}
    for expected in (
        "b4_pip_main", "b4_runpy_run_code", "b4_bdb_run", "b4_timeit_timeit", "b4_cprofile_run",
        "b4_profile_runctx", "b4_trace_run", "b4_code_interactive_runcode",
        "b4_doctest_debug_script", "b4_idlelib_calltip_fetch_tip", "b4_lib2to3_make_label",
        "b4_numpy_testing_runstring", "b4_numpy_f2py_getlincoef", "b4_pty_spawn",
        "b4_pydoc_pipepager", "b4_venv_create", "b4_uuid_get_command_stdout",
        "b4_imaplib_imap4_stream", "b4_ensurepip_run_pip", "b4_pickle_loads",
        "b4_ctypes_cdll", "b4_ssl_get_server_certificate", "b4_types_codetype",
        "b4_functools_partial_system", "b4_operator_attrgetter_import",
        "b4_operator_methodcaller_locate", "b4_pkgutil_resolve_name",
        "b4_torch_jit_execwrapper", "b4_weakref_finalize", "b4_atexit_register",
    ):  # fmt: skip
        assert expected in names


def test_scanner_contract() -> None:
    assert isinstance(PICKLE_SCANNER, Scanner)
    assert PICKLE_SCANNER.name == "pickles"
    assert PICKLE_SCANNER.kinds == frozenset(
        {ContentKind.PICKLE, ContentKind.TORCH_LEGACY, ContentKind.NUMPY}
    )


def test_findings_name_the_callable_and_carry_evidence() -> None:
    data = dumps(C(SYSTEM, ("echo hi",)), 2)
    (f,) = [f for f in scan_bytes(data, "m.bin") if f.severity is Severity.CRITICAL]
    assert f.path == "d/m.bin" and f.member is None and f.category == "pickle"
    assert f.rule == "pickle.call.dangerous"
    assert "posix.system" in f.message and "shell command" in f.message
    assert f.evidence["globals"] == ["posix.system"]
    assert f.evidence["calls"] == ["posix.system"]
    assert f.evidence["offset"] == 17  # the STACK_GLOBAL that imports it


# ---- individual threats ------------------------------------------------------------------------


def test_b1_globals_before_a_parse_error_are_reported(fx: tuple[Path, tuple[Sample, ...]]) -> None:
    a = analyse(_by_name(fx, "b1_nullifai_broken_stream"))
    rules = {i.rule: i.severity for i in a.issues}
    assert rules["pickle.malformed"] is Severity.HIGH
    assert rules["pickle.call.dangerous"] is Severity.CRITICAL
    assert not a.complete
    assert a.calls == ("posix.system",)


def test_malformed_without_unsafe_globals_is_medium() -> None:
    for data in (b"", b"\x80\x04", b"\x80\x04K", b"\x80\x04]\xff", pickle.dumps([1, 2])[:-1]):
        assert _rules(data) == {"pickle.malformed": Severity.MEDIUM}, data


def test_b5_dotted_names_are_split_part_by_part(fx: tuple[Path, tuple[Sample, ...]]) -> None:
    assert is_dangerous("pathlib", "os.system")
    assert is_dangerous("builtins", "eval.__call__")
    assert is_dangerous("asyncio.unix_events", "_UnixSubprocessTransport._start")
    assert not is_dangerous("pandas.core.indexes.base", "_new_Index")
    assert _rules(_by_name(fx, "b5_dotted_attribute"))["pickle.call.dangerous"] is Severity.CRITICAL
    refs = {g.dotted for g in analyse(_by_name(fx, "b5_exact_vs_substring")).globals}
    assert refs == {"builtins.eval.__call__"}


def test_allowlist_is_exact() -> None:
    assert is_allowlisted("numpy", "ndarray")
    assert is_allowlisted("__builtin__", "set")  # protocol-2 spelling
    assert is_allowlisted("copy_reg", "_reconstructor")
    assert not is_allowlisted("numpy", "ndarray.__init__")
    assert not is_allowlisted("numpyx", "ndarray")
    for name in ("eval", "exec", "getattr", "__import__", "open", "compile"):
        assert not is_allowlisted("builtins", name)


def test_b5_resolver_chain_is_critical(fx: tuple[Path, tuple[Sample, ...]]) -> None:
    rules = _rules(_by_name(fx, "b5_resolver_chain"))
    assert rules["pickle.call.dynamic"] is Severity.CRITICAL
    assert rules["pickle.call.dangerous"] is Severity.CRITICAL


def test_b6_memo_indirection_resolves_the_real_names(fx: tuple[Path, tuple[Sample, ...]]) -> None:
    a = analyse(_by_name(fx, "b6_memo_indirection"))
    assert {g.dotted for g in a.globals} == {"os.system"}
    assert a.calls == ("os.system",)


def test_b6_non_constant_operands_are_dynamic(fx: tuple[Path, tuple[Sample, ...]]) -> None:
    for name in ("b6_memo_missing_key", "b6_type_confusion", "b6_module_attr_overwrite"):
        assert _rules(_by_name(fx, name))["pickle.global.dynamic"] is Severity.CRITICAL, name
    # the payload before the missing memo key is still reported
    assert _rules(_by_name(fx, "b6_memo_missing_key"))["pickle.call.dangerous"]
    assert "pickle.global.mutated" in _rules(_by_name(fx, "b6_module_attr_overwrite"))


def test_b6_protocol0_string_operands_count_as_strings(fx: tuple[Path, tuple[Sample, ...]]) -> None:
    a = analyse(_by_name(fx, "b6_string_operands"))
    assert a.calls == ("os.system",)


def test_b7_obj_then_pop_is_a_call(fx: tuple[Path, tuple[Sample, ...]]) -> None:
    assert analyse(_by_name(fx, "b7_obj_pop")).calls == ("posix.system",)


def test_b8_frame_divergence_is_critical_and_names_the_hidden_call(
    fx: tuple[Path, tuple[Sample, ...]],
) -> None:
    a = analyse(_by_name(fx, "b8_frame_divergence"))
    rules = {i.rule for i in a.issues}
    assert {"pickle.frame.inconsistent", "pickle.nested", "pickle.call.dangerous"} <= rules
    assert "posix.system" in a.calls


def test_frame_overlap_is_inconsistent() -> None:
    rest = b"N\x95" + struct.pack("<Q", 1) + b"N0."
    body = b"\x80\x05\x95" + struct.pack("<Q", len(rest)) + rest
    assert _rules(body)["pickle.frame.inconsistent"] is Severity.CRITICAL


def test_well_framed_protocol5_pickles_are_consistent() -> None:
    big = {"a": list(range(50_000)), "b": "x" * 200_000, "c": b"y" * 300_000}
    for proto in (4, 5):
        assert analyse(pickle.dumps(big, protocol=proto)).issues == ()


def test_b10_stacked_legacy_streams_are_each_analysed(fx: tuple[Path, tuple[Sample, ...]]) -> None:
    a = analyse(_by_name(fx, "b10_legacy_magic_reduce"))
    assert a.streams == 5
    assert set(a.calls) == {"builtins.eval", "posix.system"}
    benign = analyse(_by_name(fx, "benign_torch_legacy"))
    assert benign.streams == 5
    assert benign.max_severity is Severity.LOW


def test_b9_polyglot_leading_pickle_is_analysed(fx: tuple[Path, tuple[Sample, ...]]) -> None:
    data = _by_name(fx, "b9_pickle_zip_polyglot")
    assert looks_like_pickle(data)
    rules = _rules(data)
    assert rules["pickle.trailing_data"] is Severity.LOW
    assert rules["pickle.call.dangerous"] is Severity.CRITICAL


def test_b12_expansion_is_detected_without_expanding(fx: tuple[Path, tuple[Sample, ...]]) -> None:
    assert _rules(_by_name(fx, "b12_memo_expansion")) == {"pickle.expansion": Severity.MEDIUM}
    shared = [[1.5] * 1000] * 50  # ordinary sharing stays quiet
    assert analyse(pickle.dumps(shared, protocol=4)).issues == ()


def test_op_limit_is_a_high_finding() -> None:
    data = pickle.dumps(list(range(5000)), protocol=4)
    a = analyse(data, limits=Limits(max_pickle_ops=100))
    assert [i.rule for i in a.issues] == ["pickle.limit"]
    assert a.max_severity is Severity.HIGH and not a.complete


def test_persistent_ids_are_data(fx: tuple[Path, tuple[Sample, ...]]) -> None:
    a = analyse(_by_name(fx, "benign_torch_zip_data_pkl"))
    assert a.max_severity is Severity.INFO
    assert {g.dotted for g in a.globals} == {
        "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch.FloatStorage",
    }  # fmt: skip
    assert analyse(b"\x80\x02(X\x01\x00\x00\x000tQ.").issues == ()
    assert analyse(b"(S'x'\nP0\nt.").issues == ()


def test_calling_a_persistent_object_is_not_flagged_but_calling_a_call_result_is() -> None:
    called = dumps(C(C(G("collections", "OrderedDict")), ()))
    assert _rules(called)["pickle.call.dynamic"] is Severity.CRITICAL


def test_getattr_on_an_allowlisted_class_is_resolved() -> None:
    data = pickle.dumps(zoneinfo.ZoneInfo("Europe/Paris"), protocol=2)
    a = analyse(data)
    assert a.max_severity is Severity.INFO
    assert "zoneinfo.ZoneInfo._unpickle" in {g.dotted for g in a.globals}
    hostile = dumps(C(C(G("builtins", "getattr"), (G("os", "path"), "join")), ("a", "b")))
    assert _rules(hostile)["pickle.call.dangerous"] is Severity.CRITICAL


def test_uncalled_unknown_global_is_high_and_strict_makes_it_critical() -> None:
    data = dumps(G("mypkg.models", "Thing"))
    assert _rules(data) == {"pickle.global.unsafe": Severity.HIGH}
    strict = analyse(data, strict=True)
    assert strict.max_severity is Severity.CRITICAL


def test_dangerous_global_is_critical_even_uncalled() -> None:
    assert _rules(dumps(G("subprocess", "Popen"))) == {"pickle.global.dangerous": Severity.CRITICAL}


def test_reconstructor_class_argument_counts_as_called() -> None:
    data = b"ccopy_reg\n_reconstructor\n(cmypkg\nEvil\nc__builtin__\nobject\nNtR."
    assert _rules(data)["pickle.call.unsafe"] is Severity.CRITICAL


def test_protocol0_inst_and_text_opcodes() -> None:
    data = b"(S'ls'\nI1\nL5L\nF1.5\nV\\u00e9\np0\ng0\nimypkg\nThing\np1\n."
    a = analyse(data)
    assert a.calls == ("mypkg.Thing",)
    assert a.complete


def test_extension_codes_are_flagged() -> None:
    assert _rules(b"\x80\x02\x82\x01)R.")["pickle.global.extension"] is Severity.HIGH


def test_benign_protocols_of_data_objects_are_quiet() -> None:
    frame = pd.DataFrame({"a": [1, 2], "t": pd.date_range("2020", periods=2, tz="UTC")})
    for proto in range(6):
        for obj in ([1, "a", None], {"k": (1.5, b"x")}, np.arange(6.0), frame):
            a = analyse(pickle.dumps(obj, protocol=proto))
            assert a.max_severity in (None, Severity.INFO), (proto, a.issues)


# ---- looks_like_pickle ------------------------------------------------------------------------


def test_looks_like_pickle() -> None:
    for proto in range(6):
        assert looks_like_pickle(pickle.dumps({"a": [1, 2]}, protocol=proto))
    assert looks_like_pickle(pickle.dumps("x" * 10_000, protocol=0))
    for data in (b"", b"a,b\n1,2\n", b'{"a": 1}', b"\x89PNG\r\n\x1a\n", b"PK\x03\x04",
                 b"Id,name\n1,x\n", b"(hello world)"):  # fmt: skip
        assert not looks_like_pickle(data), data


# ---- numpy ------------------------------------------------------------------------------------


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=True)
    return buf.getvalue()


def test_numeric_npy_is_quiet_and_object_npy_is_reported(
    fx: tuple[Path, tuple[Sample, ...]],
) -> None:
    assert analyse_npy(_npy(np.arange(10.0))).issues == ()
    assert analyse_npy(_npy(np.zeros(2, dtype=[("a", "<i4"), ("b", "<f8")]))).issues == ()
    obj = analyse_npy(_npy(np.array([{"a": 1}, None], dtype=object)))
    assert obj.issues[0].rule == "numpy.object_array"
    assert obj.max_severity is Severity.MEDIUM
    nested = analyse_npy(_npy(np.zeros(1, dtype=[("a", "<i4"), ("b", "O")])))
    assert nested.issues[0].rule == "numpy.object_array"
    hostile = analyse_npy(_by_name(fx, "b2_object_npy"))
    assert "posix.system" in hostile.calls
    assert hostile.max_severity is Severity.CRITICAL


def test_malformed_npy_header() -> None:
    for data in (
        b"\x93NUMPY",
        b"\x93NUMPY\x01\x00\x10\x00{'descr': __import__",
        b"\x93NUMPY\x09\x00xx",
    ):
        a = analyse_npy(data)
        assert [i.rule for i in a.issues] == ["numpy.malformed"]


# ---- big inputs -------------------------------------------------------------------------------


def test_mmap_input_is_accepted(tmp_path: Path) -> None:
    p = tmp_path / "a.pkl"
    p.write_bytes(dumps(C(SYSTEM, ("echo x",))))
    with p.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        view = memoryview(mm)
        try:
            assert analyse(view).calls == ("posix.system",)
            assert looks_like_pickle(view)
        finally:
            view.release()


@pytest.mark.slow
def test_100mb_float_array_pickle_is_walked_not_read() -> None:
    arr = np.zeros(100 * 1024 * 1024 // 8)
    for proto in (2, 4, 5):
        data = pickle.dumps(arr, protocol=proto)
        a = analyse(memoryview(data))
        assert a.complete and a.ops < 200
        assert a.max_severity is Severity.INFO
        del data


def test_assembler_roundtrip() -> None:
    # the fixture assembler emits what pickle itself understands
    value = [1, -5, 2**80, 1.5, "é", b"x" * 300, (1, 2), {"a": None}, True]
    assert pickle.loads(b"\x80\x04" + encode(value) + b".") == value
    assert analyse(dumps(value)).issues == ()
    _ = ScanContext


def test_time_budget_is_a_high_finding() -> None:
    data = pickle.dumps(list(range(200_000)), protocol=4)
    a = walk(data, limits=Limits(max_seconds_per_file=0.0))
    assert [i.rule for i in a.issues] == ["pickle.limit"]
    assert "s spent on one file" in a.issues[0].message
    # The C pass (where built) reads such a stream whole in about a millisecond: nothing is
    # left unread, so there is no limit to report; its own bound is the opcode limit.
    fast = analyse(data, limits=Limits(max_seconds_per_file=0.0))
    if _accel.summarise is not None:
        assert fast.complete and fast.end == len(data) and not fast.issues


def test_memo_limits_keep_names_and_fail_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    import datagate.scan.pickles as mod

    monkeypatch.setattr(mod, "_MAX_MEMO", 50)
    monkeypatch.setattr(mod, "_MAX_MEMO_HARD", 120)
    # over the soft limit: containers are dropped, names kept, the stream stays judged correctly
    soft = pickle.dumps([[i] for i in range(80)] + [datetime.date(2020, 1, 1)] * 3, protocol=4)
    assert _rules(soft) == {"pickle.limit": Severity.LOW, "pickle.global.allowlisted": Severity.INFO}
    # over the hard limit: a memoised callable comes back unknown, and calling it is critical
    strings = b"".join(encode(str(i)) + b"\x94" for i in range(200))  # memo 0..199
    hostile = b"\x80\x04](" + strings + b"e" + encode(SYSTEM) + b"\x94" + b"0"  # memo 200
    hostile += b"j" + struct.pack("<I", 200) + encode(("echo x",)) + b"R."
    rules = _rules(hostile)
    assert rules["pickle.limit"] is Severity.MEDIUM
    assert rules["pickle.call.dynamic"] is Severity.CRITICAL


_JOBLIB_DUMPS = """
import io, sys, zlib, joblib, numpy as np, pandas as pd
value = {
    "f": np.arange(6.0).reshape(2, 3),
    "u": np.array(["ab", "c"]),
    "e": np.zeros((0, 3)),
    "rec": np.zeros(4, dtype=[("a", "<i4"), ("b", "<f8")]),
    "big": np.ones((200, 200)),
    "frame": pd.DataFrame({"a": [1, 2]}),
}
out = []
for compress in (0, 3):
    buf = io.BytesIO()
    joblib.dump(value, buf, compress=compress)
    raw = buf.getvalue()
    out.append((zlib.decompress(raw) if compress else raw).hex())
sys.stdout.write(" ".join(out))
"""


def test_real_joblib_dumps_are_walked_past_their_array_bytes() -> None:
    pytest.importorskip("joblib")
    # Dump in a fresh interpreter: importing `datasets` (as other tests do) installs dill's
    # reducers process-wide, after which pandas objects pickle through dill._dill._load_type,
    # which the analyser rightly treats as critical. The bytes under test must not depend on
    # what an earlier test imported.
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", _JOBLIB_DUMPS], capture_output=True, text=True, check=True, timeout=120
    )
    for dump in done.stdout.split():
        a = analyse(bytes.fromhex(dump))
        assert a.complete and a.max_severity is Severity.INFO, a.issues
    joblib = pytest.importorskip("joblib")
    # object arrays: joblib writes a whole pickle inline, which is analysed like the rest
    buf = io.BytesIO()
    joblib.dump({"o": np.array([{"k": 1}, None], dtype=object)}, buf)
    a = analyse(buf.getvalue())
    assert a.complete and a.max_severity is Severity.INFO


def test_joblib_wrapper_without_a_readable_dtype_is_malformed() -> None:
    wrapper = G("joblib.numpy_pickle", "NumpyArrayWrapper")
    data = b"\x80\x04" + encode(wrapper) + b")\x81" + encode({"dtype": 3}) + b"b."
    assert _rules(data)["pickle.malformed"] is Severity.MEDIUM


def test_stacked_protocol0_pickle_is_analysed_not_trailing() -> None:
    data = pickle.dumps([1, 2], protocol=0) + b"cposix\nsystem\n(S'echo x'\ntR."
    a = analyse(data)
    assert a.streams == 2 and a.calls == ("posix.system",)
    zip_tail = pickle.dumps([1, 2], protocol=2) + b"PK\x03\x04" + bytes(100)
    assert _rules(zip_tail) == {"pickle.trailing_data": Severity.LOW}


def test_opcode_table_is_pickletools_own() -> None:
    import pickletools

    from datagate.scan.pickles import _OPCODES

    assert frozenset(ord(op.code) for op in pickletools.opcodes) == _OPCODES
