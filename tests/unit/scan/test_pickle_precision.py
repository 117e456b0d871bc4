"""Issue 15: the pickle VM fails closed on broken protocol-0 streams, bounds DUP/memo expansion,
and stays quiet on the data files that numpy, scipy and joblib ship in their wheels."""

from __future__ import annotations

import gzip
import importlib.util
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest

from datagate.models import Severity
from datagate.scan import scan
from datagate.scan.interface import ContentKind
from datagate.scan.pickles import SIDE_EFFECT_FREE, analyse, is_dangerous, looks_like_pickle
from datagate.scan.sniff import sniff
from fixtures.gen.common import Sample
from fixtures.gen.pickles import C, G, dumps
from tests.unit.scan._pickle_helpers import built, payload_bytes


@pytest.fixture(scope="module")
def fx(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, tuple[Sample, ...]]:
    root = tmp_path_factory.mktemp("pickles-precision")
    return root, built(root)


def _worst(data: bytes) -> Severity | None:
    return analyse(data).max_severity


# ---- part 1: fail closed ---------------------------------------------------------------------


def test_broken_protocol0_streams_are_sniffed_as_pickles_and_judged(
    fx: tuple[Path, tuple[Sample, ...]],
) -> None:
    root, samples = fx
    broken = [s for s in samples if s.name.startswith("b1_p0_")]
    assert len(broken) == 6
    for s in broken:
        data = payload_bytes(s, root)
        assert looks_like_pickle(data), s.name
        assert sniff(data)[0] is ContentKind.PICKLE, s.name
        a = analyse(data)
        assert not a.complete, s.name
        assert a.max_severity is not None and a.max_severity >= Severity.parse(s.min_severity)
        # the global named before the break keeps its own severity, next to pickle.malformed
        rules = {i.rule for i in a.issues}
        assert "pickle.malformed" in rules, s.name
        assert rules & {"pickle.global.dangerous", "pickle.call.dangerous",
                        "pickle.global.unsafe"}, s.name  # fmt: skip


def test_broken_streams_fail_closed_through_the_whole_scanner(
    fx: tuple[Path, tuple[Sample, ...]], tmp_path: Path
) -> None:
    root, samples = fx
    for s in samples:
        if s.name.startswith("b1_p0_"):
            (tmp_path / Path(s.relpath).name).write_bytes(payload_bytes(s, root))
    result = scan(tmp_path)
    worst: dict[str, Severity] = {}
    for f in result.findings:
        worst[f.path] = max(worst.get(f.path, Severity.INFO), f.severity)
    assert len(worst) == 6
    assert all(sev >= Severity.HIGH for sev in worst.values()), worst


def test_two_lines_of_words_are_not_a_pickle() -> None:
    for data in (b"cat\ndog\nmouse\n", b"cmod\n\xf8\n", b"cfoo\nbar\n", b"car\nbus\n",
                 b"cat\ndog\n", b"c 1\n2\n("):  # fmt: skip
        assert not looks_like_pickle(data), data
    # ... but a known module, or one more opcode after an unknown one, is
    assert looks_like_pickle(b"cos\nsystem\n")
    assert looks_like_pickle(b"cfoo\nbar\n(X\xff\x00\x00\x00")


def test_dup_runs_and_nested_dup_lists_are_an_expansion_finding(
    fx: tuple[Path, tuple[Sample, ...]],
) -> None:
    root, samples = fx
    for name in ("b12_dup_flat", "b12_dup_nested"):
        data = payload_bytes(next(s for s in samples if s.name == name), root)
        issues = [i for i in analyse(data).issues if i.rule == "pickle.expansion"]
        assert [i.severity for i in issues] == [Severity.MEDIUM], name
    # 100 DUPs (fickling's threshold) is not yet a finding; 101 is
    assert _worst(b"\x80\x04]" + b"2" * 100 + b".") is None
    assert _worst(b"\x80\x04]" + b"2" * 101 + b".") is Severity.MEDIUM


def test_a_megabyte_of_dups_is_bounded_by_the_stack_limit() -> None:
    a = analyse(b"\x80\x04]" + b"2" * 6_000_000 + b".")
    rules = {i.rule: i.severity for i in a.issues}
    assert rules["pickle.expansion"] is Severity.MEDIUM
    assert rules["pickle.limit"] is Severity.HIGH  # the simulated stack stopped at 5M items
    assert not a.complete


# ---- part 3: precision ----------------------------------------------------------------------


def test_side_effect_free_builtins_are_not_critical() -> None:
    assert _worst(dumps(C(G("builtins", "len"), ([],)), 2)) is Severity.INFO
    assert _worst(dumps(G("collections.abc", "Iterable"), 4)) is Severity.INFO
    assert _worst(dumps(G("__future__", "annotations"), 4)) is Severity.INFO
    for module, name in SIDE_EFFECT_FREE:
        assert not is_dangerous(module, name), (module, name)
    # the list is exact: what calls, reaches attributes or allocates without bound stays off
    for name in ("map", "filter", "iter", "sorted", "getattr", "pow", "format", "next"):
        assert ("builtins", name) not in SIDE_EFFECT_FREE
    assert _worst(dumps(C(G("builtins", "len"), (C(G("os", "system"), ("x",)),)), 2)) is (
        Severity.CRITICAL
    )


def test_numpy_matrix_and_legacy_reconstructor_are_data() -> None:
    with warnings.catch_warnings():  # numpy.matrix is pending deprecation
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        m = np.asmatrix(np.arange(4.0).reshape(2, 2))
    for proto in range(6):
        assert _worst(pickle.dumps(m, protocol=proto)) is Severity.INFO
    legacy = dumps(
        C(G("numpy.core._internal", "_reconstruct"), (G("numpy", "ndarray"), (0,), b"b")), 2
    )
    assert _worst(legacy) is Severity.INFO


def test_scipy_sparse_matrices_are_data() -> None:
    sp = pytest.importorskip("scipy.sparse")
    dense = np.eye(3)
    objs = [sp.csr_matrix(dense), sp.csc_matrix(dense), sp.coo_matrix(dense),
            sp.lil_matrix(dense), sp.dok_matrix(dense), sp.bsr_matrix(dense),
            sp.dia_matrix(dense), sp.csr_array(dense), sp.coo_array(dense)]  # fmt: skip
    for proto in (2, 4, 5):
        a = analyse(pickle.dumps(objs, protocol=proto))
        assert a.max_severity is Severity.INFO, a.issues


def test_model_classes_have_their_own_high_rule() -> None:
    sk = pytest.importorskip("sklearn.linear_model")
    model = sk.LogisticRegression().fit(np.arange(8.0).reshape(4, 2), [0, 1, 0, 1])
    a = analyse(pickle.dumps(model, protocol=4))
    models = [i for i in a.issues if i.rule == "pickle.model_class"]
    assert [i.severity for i in models] == [Severity.HIGH]
    assert "LogisticRegression" in models[0].message
    assert "a model, not data; prefer skops, ONNX or safetensors" in models[0].message
    assert a.max_severity is Severity.HIGH  # not critical: not a known-dangerous call
    # known-dangerous calls stay critical, and functions of the same packages are not "models"
    bad = dumps(C(G("sklearn.utils._testing", "assert_run_python_script"), ("x",)), 2)
    assert {i.rule for i in analyse(bad).issues} == {"pickle.call.unsafe"}


# ---- part 3: real data from the wheels -----------------------------------------------------


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent


def _wheel_pickles() -> list[Path]:
    out: list[Path] = []
    np_dir = _package_dir("numpy")
    if np_dir is not None:
        out += sorted((np_dir / "lib" / "tests" / "data").glob("*objarr*"))
        out += sorted((np_dir / "random" / "tests" / "data").glob("*.pkl.gz"))
    jl_dir = _package_dir("joblib")
    if jl_dir is not None:
        out += sorted((jl_dir / "test" / "data").glob("joblib_0.1*_pickle_py3*.pkl*"))
    return out


def test_real_wheel_test_data_is_not_high() -> None:
    files = _wheel_pickles()
    if len(files) < 5:
        pytest.skip("numpy/joblib wheels without their test data")
    names = {p.name for p in files}
    assert "py2-np0-objarr.npy" in names  # numpy.core._internal._reconstruct
    assert any("joblib_0.11.0_pickle" in n for n in names)  # numpy.matrix
    loud = []
    for p in files:
        result = scan(p)
        loud += [(p.name, f.rule, f.message) for f in result.findings
                 if f.severity >= Severity.HIGH]  # fmt: skip
    assert loud == []


def test_real_numpy_random_state_pickles_are_info_only() -> None:
    np_dir = _package_dir("numpy")
    files = sorted((np_dir / "random" / "tests" / "data").glob("*.pkl.gz")) if np_dir else []
    if not files:
        pytest.skip("numpy wheel without random/tests/data")
    for p in files:
        assert _worst(gzip.decompress(p.read_bytes())) is Severity.INFO, p.name
