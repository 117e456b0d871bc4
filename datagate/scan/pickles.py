"""Static analysis of pickle streams (raw pickles, legacy PyTorch files, object ``.npy``).

The analyser walks the opcodes of protocols 0-5 itself and simulates the unpickler's stack, mark
stack and memo the way CPython's C unpickler reading a file would, without importing, calling or
materialising anything: byte and string payloads are skipped by offset, so a 100 MB array pickle
costs a handful of opcodes. What it reports (THREATS.md B1-B12):

* every global a stream imports, resolved through the memo (``BINGET``/``MEMOIZE``/``PUT``) and
  split on dots (``pathlib`` + ``os.system`` is ``os.system``); allowlisted data reconstructors
  (builtins containers, datetime, decimal, numpy, pandas, pyarrow, torch, joblib) are ``low``,
  anything else is ``high`` when imported and ``critical`` when called or on the danger list;
* ``STACK_GLOBAL`` whose operands are not two constant strings (``pickle.global.dynamic``), calls
  of computed objects (``pickle.call.dynamic``), writes into global objects (B6);
* malformed, truncated and stacked streams, trailing data, FRAME boundaries that the C unpickler
  and a static parser would read differently (B8, with the straddling literal scanned as a
  nested pickle), memo/DUP expansion (B12) and every resource limit hit.

Anything seen before a parse error is still reported (B1).

Where the optional C pass is built (``datagate/_picklewalk.c``, loaded by :mod:`datagate._accel`),
:func:`analyse` first lets it walk the stream: for an ordinary one (plain data, and objects made
by calling globals named by constant strings) it returns the globals, and when all are
allowlisted the result is built from them by the walk's own :meth:`_Walker.result`. Everything
else, and every stream the walk would report an issue of its own on, takes the full walk below
(:func:`walk`); tests compare the two.

>>> import pickle
>>> analyse(pickle.dumps([1, 2.5, "x"], protocol=5)).max_severity is None
True
>>> data = b"\\x80\\x02cposix\\nsystem\\nX\\x04\\x00\\x00\\x00echoq\\x00\\x85R."
>>> [i.rule for i in analyse(data).issues]
['pickle.call.dangerous']
"""

from __future__ import annotations

import ast
import codecs
import encodings.latin_1
import encodings.raw_unicode_escape
import encodings.utf_8
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

from datagate._accel import summarise
from datagate.models import Finding, Severity
from datagate.scan.interface import Blob, ContentKind, Limits, ScanContext, ScanItem
from datagate.scan.registry import FAMILY_KINDS, ScannerName

# The codecs used while walking are imported now, so a scan never triggers an import (and its
# ``exec`` audit event) half-way through hostile input.
_CODECS = (encodings.latin_1, encodings.raw_unicode_escape, encodings.utf_8)

__all__ = [
    "ALLOWLIST",
    "PICKLE_SCANNER",
    "GlobalRef",
    "PickleAnalysis",
    "PickleIssue",
    "PickleScanner",
    "SIDE_EFFECT_FREE",
    "analyse",
    "analyse_npy",
    "findings_for",
    "is_allowlisted",
    "is_dangerous",
    "is_model_class",
    "looks_like_pickle",
    "walk",
]

# --------------------------------------------------------------------------------------------
# Allowlist and danger list
# --------------------------------------------------------------------------------------------


def _names(module: str, *names: str) -> set[tuple[str, str]]:
    return {(module, n) for n in names}


_NP_SCALARS = (
    "bool_", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "longdouble", "complex64", "complex128", "clongdouble",
    "str_", "bytes_", "void", "datetime64", "timedelta64", "object_", "intc", "uintc",
)  # fmt: skip

_PANDAS_OFFSETS = (
    "Day", "Hour", "Minute", "Second", "Milli", "Micro", "Nano", "BusinessDay", "BusinessHour",
    "CustomBusinessDay", "CustomBusinessHour", "MonthEnd", "MonthBegin", "BusinessMonthEnd",
    "BusinessMonthBegin", "SemiMonthEnd", "SemiMonthBegin", "QuarterEnd", "QuarterBegin",
    "BQuarterEnd", "BQuarterBegin", "YearEnd", "YearBegin", "BYearEnd", "BYearBegin", "Week",
    "WeekOfMonth", "LastWeekOfMonth", "FY5253", "FY5253Quarter", "Easter", "DateOffset",
    "Tick", "CustomBusinessMonthEnd", "CustomBusinessMonthBegin", "YearEnd", "HalfYearEnd",
    "HalfYearBegin", "BHalfYearEnd", "BHalfYearBegin",
)  # fmt: skip

_PANDAS_TOP = (
    "DataFrame", "Series", "Index", "RangeIndex", "MultiIndex", "DatetimeIndex",
    "TimedeltaIndex", "PeriodIndex", "CategoricalIndex", "IntervalIndex", "Categorical",
    "CategoricalDtype", "DatetimeTZDtype", "PeriodDtype", "IntervalDtype", "SparseDtype",
    "StringDtype", "ArrowDtype", "BooleanDtype", "Int8Dtype", "Int16Dtype", "Int32Dtype",
    "Int64Dtype", "UInt8Dtype", "UInt16Dtype", "UInt32Dtype", "UInt64Dtype", "Float32Dtype",
    "Float64Dtype", "NA", "NaT", "Timestamp", "Timedelta", "Period", "Interval",
)  # fmt: skip

_PANDAS_ARRAYS = (
    "ArrowExtensionArray", "ArrowStringArray", "ArrowStringArrayNumpySemantics", "BooleanArray",
    "DatetimeArray", "FloatingArray", "IntegerArray", "IntervalArray", "PeriodArray",
    "SparseArray", "TimedeltaArray", "NumpyExtensionArray", "StringArray", "Categorical",
)  # fmt: skip

_PYARROW_LIB = (
    "_restore_array", "type_for_alias", "py_buffer", "chunked_array", "_reconstruct_table",
    "_reconstruct_record_batch", "schema", "field", "decimal32", "decimal64", "decimal128",
    "decimal256", "dictionary", "list_", "large_list", "list_view", "large_list_view",
    "fixed_size_list", "struct", "map_", "timestamp", "time32", "time64", "duration", "date32",
    "date64", "binary", "large_binary", "string", "large_string", "utf8", "scalar",
    "month_day_nano_interval", "run_end_encoded", "dense_union", "sparse_union", "Table",
    "RecordBatch", "KeyValueMetadata", "binary_view", "string_view", "null", "bool_", "int8",
    "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16", "float32",
    "float64", "_reconstruct_chunked_array",
)  # fmt: skip

_TORCH_STORAGES = (
    "FloatStorage", "DoubleStorage", "HalfStorage", "BFloat16Storage", "LongStorage",
    "IntStorage", "ShortStorage", "CharStorage", "ByteStorage", "BoolStorage",
    "ComplexFloatStorage", "ComplexDoubleStorage", "QInt8Storage", "QUInt8Storage",
    "QInt32Storage", "QUInt4x2Storage", "QUInt2x4Storage", "UntypedStorage",
)  # fmt: skip

_TORCH_DTYPES = (
    "float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8",
    "bool", "complex64", "complex128", "float", "double", "half", "long", "int", "short",
    "strided", "sparse_coo", "Size", "device", "contiguous_format", "channels_last",
    "preserve_format",
)  # fmt: skip

_SPARSE_FORMATS = ("csr", "csc", "coo", "bsr", "dia", "dok", "lil")

SIDE_EFFECT_FREE: frozenset[tuple[str, str]] = frozenset(
    # Pure functions of their (already unpickled) arguments: no I/O, no import, no attribute
    # lookup by name, and none of them calls a callable it is given, so none can turn data into
    # code; each returns a number, a bool or a str. (``map``, ``filter``, ``iter``, ``sorted``,
    # ``getattr``, ``pow``, ``format`` and ``operator.*`` stay off: they call what they are
    # handed, reach attributes, or can allocate without bound.)
    _names("builtins", "len", "abs", "min", "max", "sum", "all", "any", "round", "divmod",
           "chr", "ord", "hex", "oct", "bin", "isinstance", "issubclass", "callable", "hash")
    # Abstract base classes: importing collections.abc runs no code (it is loaded at start-up),
    # and calling one raises TypeError (abstract) or builds an empty object.
    | _names("collections.abc", "Iterable", "Iterator", "Reversible", "Generator", "Container",
             "Collection", "Sized", "Hashable", "Callable", "Set", "MutableSet", "Mapping",
             "MutableMapping", "MappingView", "KeysView", "ItemsView", "ValuesView", "Sequence",
             "MutableSequence", "ByteString", "Awaitable", "Coroutine", "AsyncIterable",
             "AsyncIterator", "AsyncGenerator", "Buffer")
    # Compiler feature flags: __future__ is a plain module of _Feature records (not callable).
    | _names("__future__", "annotations", "division", "absolute_import", "print_function",
             "unicode_literals", "generators", "nested_scopes", "with_statement",
             "generator_stop", "barry_as_FLUFL")
)  # fmt: skip
"""Side-effect-free builtins judged like the data allowlist (docs/THREATS-allowlist.md)."""

ALLOWLIST: frozenset[tuple[str, str]] = frozenset(
    _names(
        "builtins", "list", "dict", "set", "frozenset", "tuple", "bytearray", "bytes", "complex",
        "slice", "range", "object", "int", "float", "str", "bool", "Ellipsis", "NotImplemented",
    )
    | _names("collections", "OrderedDict", "defaultdict", "deque", "Counter")
    | _names("datetime", "datetime", "date", "time", "timedelta", "timezone")
    | _names("decimal", "Decimal")
    | _names("fractions", "Fraction")
    | _names("uuid", "UUID", "SafeUUID")
    | _names("zoneinfo", "ZoneInfo", "ZoneInfo._unpickle")
    # time zones of older pandas frames (name lookups inside the packages' own tz databases)
    | _names("pytz", "_p", "_UTC", "FixedOffset")
    | _names("dateutil.tz.tz", "tzutc", "tzoffset", "tzlocal", "tzfile", "_ttinfo")
    | _names("copyreg", "_reconstructor", "__newobj__", "__newobj_ex__")
    | _names("_codecs", "encode")
    | _names("re", "_compile")
    | _names("pathlib", "Path", "PosixPath", "WindowsPath", "PurePath", "PurePosixPath",
             "PureWindowsPath")
    # numpy (both the numpy 1 ``core`` and numpy 2 ``_core`` spellings)
    | _names("numpy", "ndarray", "dtype", *_NP_SCALARS)
    | _names("numpy.core.multiarray", "_reconstruct", "scalar")
    | _names("numpy._core.multiarray", "_reconstruct", "scalar")
    | _names("numpy.core.numeric", "_frombuffer")
    | _names("numpy._core.numeric", "_frombuffer")
    | _names("numpy.ma", "MaskedArray")
    | _names("numpy.ma.core", "MaskedArray", "_mareconstruct")
    | _names("numpy.random._pickle", "__generator_ctor", "__bit_generator_ctor",
             "__randomstate_ctor")
    | _names("numpy.random._pcg64", "PCG64", "PCG64DXSM")
    | _names("numpy.random._mt19937", "MT19937")
    | _names("numpy.random._philox", "Philox")
    | _names("numpy.random._sfc64", "SFC64")
    | _names("numpy.random.bit_generator", "SeedSequence", "__pyx_unpickle_SeedSequence")
    | _names("numpy.random._generator", "Generator")
    | _names("numpy.random.mtrand", "RandomState")
    | _names("numpy.dtypes", "Float64DType", "Int64DType", "StringDType", "ObjectDType")
    # pandas (what pandas 2 and 3 emit for frames, series, indexes and extension arrays)
    | _names("pandas", *_PANDAS_TOP)
    | _names("pandas.arrays", *_PANDAS_ARRAYS)
    | _names("pandas.core.frame", "DataFrame")
    | _names("pandas.core.series", "Series")
    | _names("pandas.core.internals.managers", "BlockManager", "SingleBlockManager")
    | _names("pandas.core.internals.blocks", "new_block", "Block", "ExtensionBlock",
             "DatetimeLikeBlock", "NumpyBlock", "ObjectBlock")
    | _names("pandas._libs.internals", "_unpickle_block", "BlockPlacement")
    | _names("pandas.core.indexes.base", "_new_Index", "Index")
    | _names("pandas.core.indexes.range", "RangeIndex")
    | _names("pandas.core.indexes.datetimes", "_new_DatetimeIndex", "DatetimeIndex")
    | _names("pandas.core.indexes.period", "_new_PeriodIndex", "PeriodIndex")
    | _names("pandas.core.indexes.multi", "MultiIndex")
    | _names("pandas.core.indexes.timedeltas", "_new_TimedeltaIndex", "TimedeltaIndex")
    | _names("pandas.core.indexes.interval", "_new_IntervalIndex", "IntervalIndex")
    | _names("pandas._libs.arrays", "__pyx_unpickle_NDArrayBacked")
    | _names("pandas._libs.interval", "__pyx_unpickle_IntervalMixin", "Interval")
    | _names("pandas._libs.sparse", "IntIndex", "BlockIndex")
    | _names("pandas._libs.tslibs.nattype", "_nat_unpickle")
    | _names("pandas._libs.tslibs.timedeltas", "_timedelta_unpickle", "Timedelta")
    | _names("pandas._libs.tslibs.timestamps", "_unpickle_timestamp", "Timestamp")
    | _names("pandas._libs.tslibs.period", "Period", "_period_unpickle")
    | _names("pandas._libs.tslibs.offsets", *_PANDAS_OFFSETS)
    | _names("pandas._libs.missing", "NA", "NAType")
    | _names("pandas.core.arrays.string_", "StringDtype", "StringArray")
    | _names("pandas.core.arrays.arrow.array", "ArrowExtensionArray")
    | _names("pandas.core.arrays.string_arrow", "ArrowStringArray")
    | _names("pandas.core.arrays.categorical", "Categorical")
    | _names("pandas.core.dtypes.dtypes", "CategoricalDtype", "DatetimeTZDtype", "PeriodDtype",
             "IntervalDtype", "SparseDtype", "ArrowDtype")
    # pyarrow
    | _names("pyarrow.lib", *_PYARROW_LIB)
    # torch (zip and legacy checkpoints; persistent ids carry the storages)
    | _names("torch._utils", "_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_tensor_v3",
             "_rebuild_parameter", "_rebuild_parameter_with_state", "_rebuild_qtensor",
             "_rebuild_sparse_tensor", "_rebuild_device_tensor_from_numpy",
             "_rebuild_meta_tensor_no_storage", "_rebuild_wrapper_subclass",
             "_rebuild_nested_tensor")
    | _names("torch._tensor", "_rebuild_from_type_v2")
    | _names("torch", *_TORCH_STORAGES, *_TORCH_DTYPES, "Tensor")
    | _names("torch.storage", "UntypedStorage", "TypedStorage")
    | _names("torch.nn.parameter", "Parameter")
    | _names("torch.serialization", "_get_layout")
    # joblib
    | _names("joblib.numpy_pickle", "NumpyArrayWrapper", "NDArrayWrapper")
    | _names("joblib.numpy_pickle_compat", "NDArrayWrapper")
    # numpy.matrix (joblib and numpy test data) and numpy 1.0's array reconstructor, which
    # builds an empty ndarray subclass exactly like multiarray._reconstruct
    | _names("numpy.matrixlib.defmatrix", "matrix")
    | _names("numpy", "matrix")
    | _names("numpy.core._internal", "_reconstruct")
    # scipy.sparse matrices and arrays: copyreg._reconstructor + BUILD of a plain __dict__
    | {(f"scipy.sparse.{mod}", f"{fmt}_{kind}")
       for fmt in _SPARSE_FORMATS for mod in (f"_{fmt}", fmt) for kind in ("matrix", "array")}
    | {("scipy.sparse", f"{fmt}_{kind}") for fmt in _SPARSE_FORMATS for kind in ("matrix", "array")}
    | SIDE_EFFECT_FREE
)  # fmt: skip
"""Exact ``(module, qualname)`` pairs that are safe for data. No prefix or substring matching."""

# Python 2 spellings the unpickler maps at protocols < 3 (``fix_imports``); applied always, so a
# ``__builtin__ eval`` is judged as ``builtins.eval`` whatever the declared protocol.
_COMPAT_MODULES = {
    "__builtin__": "builtins",
    "copy_reg": "copyreg",
    "cPickle": "pickle",
    "commands": "subprocess",
    "exceptions": "builtins",
    "UserDict": "collections",
    "UserList": "collections",
    "Queue": "queue",
    "urllib2": "urllib.request",
    "httplib": "http.client",
    "SocketServer": "socketserver",
    "cStringIO": "io",
    "StringIO": "io",
}
_COMPAT_NAMES = {
    ("builtins", "xrange"): ("builtins", "range"),
    ("builtins", "unicode"): ("builtins", "str"),
    ("builtins", "long"): ("builtins", "int"),
    ("builtins", "basestring"): ("builtins", "str"),
    ("builtins", "reduce"): ("functools", "reduce"),
}

# Any dotted sub-path of ``module.qualname`` found here makes a global dangerous (B4, B5).
_DANGEROUS_PATHS: frozenset[str] = frozenset(
    {
        # process, shell, code execution and loading
        "os", "posix", "nt", "subprocess", "pty", "runpy", "importlib", "pickle", "_pickle",
        "cPickle", "pickletools", "code", "codeop", "ctypes", "_ctypes", "socket", "_socket",
        "shutil", "webbrowser", "sys", "marshal", "pkgutil", "inspect", "types", "bdb", "pdb",
        "timeit", "cProfile", "_lsprof", "profile", "trace", "doctest", "idlelib", "lib2to3",
        "pydoc", "venv", "ensurepip", "pip", "_osx_support", "_aix_support", "imaplib",
        "_pyrepl", "test", "asyncio", "multiprocessing", "concurrent", "threading", "_thread",
        "signal", "http", "urllib", "urllib2", "requests", "aiohttp", "httpx", "ssl", "ftplib",
        "smtplib", "poplib", "nntplib", "telnetlib", "xmlrpc", "socketserver", "distutils",
        "setuptools", "logging", "glob", "dbm", "shelve", "weakref", "atexit", "tempfile",
        "zipimport", "imp", "platform", "sysconfig", "builtins.eval", "builtins.exec",
        "builtins.compile", "builtins.__import__", "builtins.getattr", "builtins.setattr",
        "builtins.delattr", "builtins.open", "builtins.input", "builtins.breakpoint",
        "builtins.globals", "builtins.locals", "builtins.vars", "builtins.help",
        "builtins.exit", "builtins.quit", "builtins.copyright", "builtins.license",
        "builtins.memoryview", "builtins.type", "builtins.super", "builtins.print",
        "builtins.__loader__", "builtins.__build_class__", "builtins.dir", "io.FileIO",
        "io.open", "io.open_code", "_io", "operator.attrgetter", "operator.methodcaller",
        "operator.itemgetter", "functools.partial", "functools.reduce", "functools.partialmethod",
        "copyreg.add_extension", "copy_reg.add_extension", "tarfile", "zipfile",
        "numpy.testing", "numpy.f2py", "numpy.load", "numpy.lib.npyio", "numpy.fromfile",
        "numpy.ctypeslib", "numpy.distutils", "pandas.read_pickle", "pandas.io", "pandas.eval",
        "pandas.read_csv", "pandas.read_json", "pandas.read_html", "pandas.read_parquet",
        "pandas.core.computation", "torch.load", "torch.hub", "torch.utils", "torch._dynamo",
        "torch.fx", "torch.jit", "torch._inductor", "torch.storage._load_from_bytes",
        "torch.serialization.load", "torch.ops", "torch.classes", "torch.package",
        "joblib.load", "joblib.numpy_pickle.load", "dill", "cloudpickle", "mlflow", "fickling",
        "yaml", "jinja2", "numexpr", "sympy", "IPython", "keras", "tensorflow",
        # bare callables under any module
        "eval", "exec", "execfile", "compile", "__import__", "system", "popen", "popen2",
        "popen3", "popen4", "spawn", "spawnl", "spawnle", "spawnlp", "spawnlpe", "spawnv",
        "spawnve", "spawnvp", "spawnvpe", "execl", "execle", "execlp", "execlpe", "execv",
        "execve", "execvp", "execvpe", "posix_spawn", "posix_spawnp", "fork", "forkpty",
        "Popen", "check_output", "check_call", "getoutput", "getstatusoutput", "run_path",
        "run_module", "_run_code", "_run_module_code", "runcode", "runsource", "runcommand",
        "runctx", "run_cprofile", "run_autograd_prof", "import_module", "getattr_static",
        "resolve_name", "loads", "load", "load_config", "CodeType", "FunctionType",
        "MethodType", "LambdaType", "ModuleType", "__reduce__", "__reduce_ex__", "__setstate__",
        "__getattribute__", "__globals__", "__code__", "__builtins__", "__subclasses__",
        "__class__", "__dict__", "__call__", "urlopen", "pipepager", "pipe_pager",
        "create_connection", "get_server_certificate", "write_file", "FileHandler",
        "_get_command_stdout", "_read_output", "_read_cmd_output", "IMAP4_stream",
        "assert_python_ok", "_run_pip", "compile_file", "execWrapper", "evaluate_guards_expression",
        "spawnv_passfds", "_run_entry_point", "finalize", "register", "debug_script",
        "make_label", "runstring", "getlincoef", "get_entity", "fetch_completions", "fetch_tip",
        "SetText", "basichandlers", "run_and_read_all", "CDLL", "PyDLL", "WinDLL", "LoadLibrary",
        "dlopen", "startfile", "unlink", "remove", "rmtree", "rmdir", "rename", "chmod",
        "chown", "putenv", "setattr", "delattr", "mkfifo", "mknod", "symlink", "link",
        "truncate", "kill", "killpg", "abort",
    }
)  # fmt: skip
"""Dotted names (module roots, ``module.name`` pairs and bare callable names) that raise a
non-allowlisted global to critical. The list only raises severity: everything off the allowlist
is already high (imported) or critical (called)."""

_WHAT_IT_DOES: dict[str, str] = {
    "system": "runs a shell command",
    "popen": "runs a shell command",
    "Popen": "starts a process",
    "check_output": "starts a process",
    "check_call": "starts a process",
    "call": "starts a process",
    "run": "runs code or a process",
    "spawn": "starts a process",
    "eval": "evaluates Python code",
    "exec": "executes Python code",
    "compile": "compiles Python code",
    "__import__": "imports an arbitrary module",
    "import_module": "imports an arbitrary module",
    "getattr": "reaches arbitrary attributes",
    "getattr_static": "reaches arbitrary attributes",
    "resolve_name": "resolves any importable name",
    "attrgetter": "reaches arbitrary attributes",
    "methodcaller": "calls arbitrary methods",
    "partial": "pre-binds a call to another callable",
    "loads": "unpickles or decodes embedded data",
    "load": "loads another file",
    "read_pickle": "unpickles another file",
    "open": "opens a file",
    "urlopen": "opens a network connection",
    "create_connection": "opens a network connection",
    "CDLL": "loads a native library",
    "CodeType": "builds a code object",
    "FunctionType": "builds a function from a code object",
}


# Known machine-learning libraries whose pickled estimators and models show up as "data"
# (pickle.model_class, high): a model, not data. Only class-like names qualify (CamelCase, or the
# Cython ``__pyx_unpickle_<Class>`` reconstructors); functions of these packages stay
# ``pickle.global.unsafe`` / ``pickle.call.unsafe``, and anything on the danger list stays critical.
_MODEL_MODULES: tuple[str, ...] = (
    "sklearn", "xgboost", "lightgbm", "catboost", "statsmodels", "imblearn", "skorch",
    "torch.nn.modules", "transformers", "sentence_transformers", "gensim", "hdbscan", "umap",
    "pmdarima", "prophet", "sktime", "category_encoders",
)  # fmt: skip
_MODEL_BAD_PARTS = frozenset({"_testing", "testing", "tests", "datasets", "externals", "utils"})
_CLASS_NAME = re.compile(r"(?:_?[A-Z][A-Za-z0-9_]*|__pyx_unpickle_[A-Za-z0-9_]+)\Z")


def is_model_class(module: str, name: str) -> bool:
    """Return True when ``module.name`` is a class of a known ML library (a pickled model).

    >>> is_model_class("sklearn.linear_model._logistic", "LogisticRegression")
    True
    >>> is_model_class("sklearn.utils._testing", "assert_run_python_script")
    False
    """
    if not any(module == m or module.startswith(m + ".") for m in _MODEL_MODULES):
        return False
    if _MODEL_BAD_PARTS.intersection(module.split(".")) or "." in name:
        return False
    return _CLASS_NAME.match(name) is not None


def _canonical(module: str, name: str) -> tuple[str, str]:
    module = _COMPAT_MODULES.get(module, module)
    return _COMPAT_NAMES.get((module, name), (module, name))


def is_allowlisted(module: str, name: str) -> bool:
    """Return True when the global ``module``.``name`` is on the data-safe allowlist (exactly)."""
    return _canonical(module, name) in ALLOWLIST


def is_dangerous(module: str, name: str) -> bool:
    """Return True when any dotted sub-path of ``module.name`` is on the danger list.

    Dotted names are split part by part, so ``pathlib`` + ``os.system`` and ``builtins`` +
    ``eval.__call__`` are both dangerous (THREATS.md B5).
    """
    module, name = _canonical(module, name)
    parts = [p for p in f"{module}.{name}".split(".") if p]
    n = len(parts)
    for i in range(n):
        for j in range(i + 1, n + 1):
            if ".".join(parts[i:j]) in _DANGEROUS_PATHS:
                return True
    return False


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GlobalRef:
    """One global a stream imports, after memo resolution and compatibility mapping."""

    module: str
    """Module part as the unpickler would import it (``builtins``, ``posix`` ...)."""
    name: str
    """Qualified name inside the module; may be dotted (resolved attribute by attribute)."""
    offset: int
    """Byte offset of the first opcode that produced it."""
    allowlisted: bool
    """True when the exact pair is on :data:`ALLOWLIST`."""
    dangerous: bool
    """True when a dotted sub-path is on the danger list."""
    called: bool
    """True when the stream invokes it (REDUCE, OBJ, INST, NEWOBJ, NEWOBJ_EX, a class handed to
    a reconstructor) or writes into it."""
    via: str
    """How it was reached: ``GLOBAL``, ``STACK_GLOBAL``, ``INST``, ``getattr``, ``EXT`` or
    ``nested`` (found in a literal that the C unpickler may execute)."""
    model: bool = False
    """True when it is a class of a known ML library (:func:`is_model_class`)."""

    @property
    def dotted(self) -> str:
        """Return ``module.name``."""
        return f"{self.module}.{self.name}"


@dataclass(frozen=True, slots=True)
class PickleIssue:
    """A finding about a stream, before it is attached to a file path."""

    rule: str
    """Rule id (``pickle.call.dangerous`` ...)."""
    severity: Severity
    """How bad it is."""
    message: str
    """One sentence a person can act on."""
    offset: int
    """Byte offset (in the analysed data) of the opcode concerned."""
    extra: tuple[tuple[str, Any], ...] = ()
    """Additional JSON-serialisable evidence as key/value pairs."""


@dataclass(frozen=True)
class PickleAnalysis:
    """Everything the analyser learnt about the pickle stream(s) in a byte sequence."""

    issues: tuple[PickleIssue, ...]
    """Findings, in stream order."""
    globals: tuple[GlobalRef, ...] = ()
    """Every distinct global imported, first occurrence order."""
    streams: int = 0
    """How many pickle streams were walked (legacy torch files stack several)."""
    ops: int = 0
    """Opcodes walked in total."""
    end: int = 0
    """Offset just past the last opcode walked."""
    complete: bool = True
    """False when a parse error or a limit stopped the walk before a final STOP."""

    @property
    def calls(self) -> tuple[str, ...]:
        """Return the dotted names of the globals that are invoked."""
        return tuple(g.dotted for g in self.globals if g.called)

    @property
    def max_severity(self) -> Severity | None:
        """Return the highest issue severity, or None when there is no issue."""
        return max((i.severity for i in self.issues), default=None)


# --------------------------------------------------------------------------------------------
# Simulated values
# --------------------------------------------------------------------------------------------

_K_STR = 1
_K_BYTES = 2
_K_SCALAR = 3
_K_CONTAINER = 4
_K_GLOBAL = 5
_K_CALL = 6
_K_PERS = 7
_K_UNKNOWN = 8
_K_LONGSTR = 9
_K_INT = 10

_MAX_DICT_KEEP = 32
_JOBLIB_WRAPPER = ("joblib.numpy_pickle", "NumpyArrayWrapper")
_DTYPE_CODE = re.compile(r"[<>|=]?([bifucOUSaVMm?])(\d*)\Z")

_MAX_STR_KEEP = 1024
_MAX_TUPLE_KEEP = 8
_WEIGHT_CAP = 1 << 62
_EXPANSION_MIN = 100_000
_EXPANSION_RATIO = 1_000
_MAX_STACK = 5_000_000
_MAX_MEMO = 2_000_000
_MAX_MEMO_HARD = 6_000_000
_MAX_NESTED_DEPTH = 3
_DUP_LIMIT = 100  # DUP opcodes per file before a pickle.expansion finding (fickling's default)
_NESTED_OPS_BUDGET = 200_000


class _Rec:
    """Mutable per-global record while walking."""

    __slots__ = ("allowlisted", "called", "dangerous", "module", "name", "offset", "used", "via")

    def __init__(self, module: str, name: str, offset: int, via: str) -> None:
        self.module = module
        self.name = name
        self.offset = offset
        self.via = via
        self.allowlisted = (module, name) in ALLOWLIST
        # the allowlist is exact and wins: numpy.random._pickle ctors are data reconstructors
        self.dangerous = not self.allowlisted and is_dangerous(module, name)
        self.called = False
        self.used = False  # used other than as a statically resolved getattr


class _V:
    """A simulated stack value; ``weight`` counts logical elements for expansion detection.

    ``value``: a str (or a lazily decoded ``(start, length)``) for strings, ``(start, length)``
    for byte literals. ``extra``: the :class:`_Rec` of a global, the items of a short tuple, the
    callee of a call result.
    """

    __slots__ = ("extra", "kind", "value", "weight")

    def __init__(self, kind: int, value: Any = None, weight: int = 1, extra: Any = None) -> None:
        self.kind = kind
        self.value = value
        self.weight = weight
        self.extra = extra


# Every opcode of protocols 0-5 (pickletools.opcodes; a test compares), written out so the
# scanner does not import pickletools and pickle.
_OPCODES = frozenset(
    b"().012BCFGIJKLMNPQRSTUVX]abcdeghijlopqrstu}\x80\x81\x82\x83\x84\x85\x86\x87\x88\x89"
    b"\x8a\x8b\x8c\x8d\x8e\x8f\x90\x91\x92\x93\x94\x95\x96\x97\x98"
)
_SCALAR = _V(_K_SCALAR)
_INTS = tuple(_V(_K_INT, i) for i in range(256))
_LONGSTR = _V(_K_LONGSTR)
_UNKNOWN = _V(_K_UNKNOWN)


class _Malformed(Exception):
    """Internal: the stream cannot be read further (the loader would stop here too)."""

    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(reason)
        self.offset = offset
        self.reason = reason
        self.truncated = "truncated" in reason


class _LimitHit(Exception):
    """Internal: a resource limit stopped the walk."""

    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(reason)
        self.offset = offset
        self.reason = reason


# --------------------------------------------------------------------------------------------
# The walker
# --------------------------------------------------------------------------------------------

_INT_LINE = re.compile(rb"[ \t]*[+-]?[0-9]+L?[ \t]*\Z")
_FLOAT_LINE = re.compile(
    rb"[ \t]*[+-]?([0-9]+\.?[0-9]*([eE][+-]?[0-9]+)?|\.[0-9]+([eE][+-]?[0-9]+)?|inf|nan|infinity)"
    rb"[ \t]*\Z",
    re.IGNORECASE,
)
_PICKLE_LOADERS = frozenset(
    {
        ("pickle", "loads"), ("_pickle", "loads"), ("pickle", "_loads"), ("dill", "loads"),
        ("dill._dill", "loads"), ("cloudpickle", "loads"), ("joblib", "loads"),
        ("torch.storage", "_load_from_bytes"), ("lib2to3.pgen2.grammar", "Grammar.loads"),
    }
)  # fmt: skip


# Runs of one fixed-size scalar opcode (the items of list and dict literals: most opcodes of a
# pickled list of numbers) are matched by these and pushed in one step (_Walker._run): opcode ->
# (pattern of a run, bytes per opcode). ``.`` must match a newline byte too.
_RUNS: dict[int, tuple[re.Pattern[bytes], int]] = {
    0x4B: (re.compile(rb"(?:K.)+", re.DOTALL), 2),  # BININT1
    0x4D: (re.compile(rb"(?:M..)+", re.DOTALL), 3),  # BININT2
    0x4A: (re.compile(rb"(?:J....)+", re.DOTALL), 5),  # BININT
    0x47: (re.compile(rb"(?:G.{8})+", re.DOTALL), 9),  # BINFLOAT
}


# A list literal of numbers after its EMPTY_LIST (see number_list in _Walker._stream): a memo
# store, MARK, up to 1,000 items of one opcode (a longer list has more batches: walked per opcode),
# APPENDS.
_NUMBER_LIST = re.compile(
    rb"(\x94|q.|r....)?\(((?:K.)+|(?:M..)+|(?:J....)+|(?:G.{8})+)e", re.DOTALL
)
_NUMBER_LIST_NEXT = frozenset(b"\x94qr(")


_OPNAMES = {
    0x65: "APPENDS", 0x75: "SETITEMS", 0x90: "ADDITEMS", 0x6C: "LIST", 0x74: "TUPLE",
    0x64: "DICT", 0x91: "FROZENSET",
}  # fmt: skip
_LEN_SIZES = {0x43: 1, 0x42: 4, 0x8E: 8, 0x96: 8, 0x82: 1, 0x83: 2, 0x84: 4}


class _Walker:
    """Walks one or more stacked pickle streams over ``mv`` and records what it sees."""

    def __init__(
        self,
        mv: memoryview,
        *,
        max_ops: int,
        max_seconds: float = 120.0,
        depth: int = 0,
        fragment: bool = False,
        base: int = 0,
    ) -> None:
        self.mv = mv
        self.n = len(mv)
        self.max_ops = max_ops
        self.max_seconds = max_seconds
        self.started = time.monotonic()
        self.depth = depth
        self.fragment = fragment
        self.base = base  # offset of mv inside the outermost data, for reporting
        self.recs: dict[tuple[str, str], _Rec] = {}
        self.issues: list[PickleIssue] = []
        self.ops = 0
        self.streams = 0
        self.end = 0
        self.complete = True
        self.first_error: int | None = None
        self._expansion_reported = False
        self.dups = 0
        self._frame_reported = False
        self._memo_limit_reported = False
        self._dynamic_offsets: set[int] = set()
        self._nested_budget = _NESTED_OPS_BUDGET

    # ---- helpers ---------------------------------------------------------------------------

    def _issue(self, rule: str, sev: Severity, msg: str, off: int, **extra: Any) -> None:
        self.issues.append(
            PickleIssue(rule, sev, msg, self.base + off, tuple(sorted(extra.items())))
        )

    def _global(self, module: str, name: str, off: int, via: str) -> _V:
        module, name = _canonical(module, name)
        key = (module, name)
        rec = self.recs.get(key)
        if rec is None:
            rec = _Rec(module, name, self.base + off, via)
            self.recs[key] = rec
        return _V(_K_GLOBAL, off, 1, rec)

    def _line(self, pos: int, what: str) -> tuple[bytes, int]:
        """Return (line without newline, position after it); only the first bytes are kept."""
        mv, n = self.mv, self.n
        p = pos
        step = 256
        while p < n:
            chunk = bytes(mv[p : p + step])
            i = chunk.find(b"\n")
            if i >= 0:
                end = p + i
                keep = bytes(mv[pos : min(end, pos + _MAX_STR_KEEP + 2)])
                return keep if end - pos <= _MAX_STR_KEEP + 2 else keep + b"\x00...", end + 1
            p += len(chunk)
            step = min(step * 4, 1 << 20)
        raise _Malformed(pos, f"{what}: line not terminated (pickle data was truncated)")

    def _need(self, pos: int, count: int, what: str) -> None:
        if count < 0 or pos + count > self.n:
            raise _Malformed(pos, f"{what}: pickle data was truncated")

    def _uint(self, pos: int, size: int, what: str) -> int:
        self._need(pos, size, what)
        return int.from_bytes(self.mv[pos : pos + size], "little")

    def _text(self, v: _V, off: int) -> str:
        """Return the text of a string value, decoding it on first use."""
        if isinstance(v.value, tuple):
            start, length = v.value
            try:
                v.value = bytes(self.mv[start : start + length]).decode("utf-8", "surrogatepass")
            except UnicodeDecodeError as e:
                raise _Malformed(off, "string is not valid UTF-8") from e
        return str(v.value)

    def _add_weight(self, target: _V, w: int, off: int, ops: int) -> None:
        if target.kind not in (_K_CONTAINER, _K_CALL, _K_PERS):
            return
        self.ops = ops
        nw = target.weight + w
        target.weight = nw if nw < _WEIGHT_CAP else _WEIGHT_CAP
        if (
            not self._expansion_reported
            and target.weight > _EXPANSION_MIN
            and target.weight > _EXPANSION_RATIO * max(self.ops, 1)
        ):
            self._expansion_reported = True
            self._issue(
                "pickle.expansion",
                Severity.MEDIUM,
                f"pickle builds {target.weight:,} logical elements from {self.ops:,} opcodes by "
                "re-using memoised objects (expansion attack); code that walks the result may "
                "exhaust memory",
                off,
                weight=target.weight,
                ops=self.ops,
            )

    def _dup_expansion(self, off: int) -> None:
        """Report a stream with more than ``_DUP_LIMIT`` DUP opcodes (once per walk).

        Python's pickler never writes DUP; each one adds a reference to the stack, so a run of
        them (or DUPs between LIST/TUPLE opcodes) is how memory-expansion pickles are built.
        The simulated stack itself stays bounded by ``_MAX_STACK`` (a ``pickle.limit``)."""
        if self._expansion_reported:
            return
        self._expansion_reported = True
        self._issue(
            "pickle.expansion",
            Severity.MEDIUM,
            f"pickle repeats the DUP opcode more than {_DUP_LIMIT} times (Python's pickler never "
            "writes DUP); duplicated references are how memory-expansion pickles are built",
            off,
            dups=_DUP_LIMIT + 1,
        )

    def _mark_called(self, v: _V) -> None:
        if v.kind == _K_GLOBAL:
            v.extra.called = True
            v.extra.used = True

    def _dynamic(self, off: int, what: str) -> None:
        if off in self._dynamic_offsets:
            return
        self._dynamic_offsets.add(off)
        self._issue(
            "pickle.global.dynamic",
            Severity.CRITICAL,
            f"pickle imports a global whose name is computed while loading ({what}); treat the "
            "file as hostile and do not load it",
            off,
        )

    def _call(self, callee: _V, args: _V | None, off: int, opname: str) -> _V:
        """Record a call of ``callee`` and return the simulated result."""
        res = _V(_K_CALL, args, 1 + (args.weight if args is not None else 0), callee)
        if callee.kind == _K_GLOBAL:
            rec: _Rec = callee.extra
            key = (rec.module, rec.name)
            items: tuple[_V, ...] | None = (
                args.extra if args is not None and args.kind == _K_CONTAINER else None
            )
            # getattr(<global>, "<const>") is resolved statically (zoneinfo and enum pickles).
            if key == ("builtins", "getattr") and items is not None and len(items) == 2:
                tgt, attr = items
                if tgt.kind == _K_GLOBAL and attr.kind == _K_STR:
                    return self._global(
                        tgt.extra.module,
                        f"{tgt.extra.name}.{self._text(attr, off)}",
                        off,
                        "getattr",
                    )
            rec.called = True
            rec.used = True
            # Globals handed to a data reconstructor are classes it instantiates (copyreg,
            # numpy, torch _rebuild_from_type_v2 ...) or factories it calls (defaultdict), so a
            # non-allowlisted one counts as called.
            if rec.allowlisted and items:
                for it in items:
                    if it.kind == _K_GLOBAL and not it.extra.allowlisted:
                        self._mark_called(it)
            if key in _PICKLE_LOADERS and items and self.depth < _MAX_NESTED_DEPTH:
                for it in items:
                    if it.kind == _K_BYTES and it.value is not None:
                        start, length = it.value
                        why = f"bytes handed to {rec.module}.{rec.name}"
                        self._nested(start, length, off, why)
                        break
        elif callee.kind == _K_PERS:
            pass  # persistent_load results are resolved by the loader's own allowlist
        else:
            if off not in self._dynamic_offsets:
                self._dynamic_offsets.add(off)
                self._issue(
                    "pickle.call.dynamic",
                    Severity.CRITICAL,
                    f"pickle calls an object computed while loading ({opname}); treat the file "
                    "as hostile and do not load it",
                    off,
                )
        return res

    def _nested(self, start: int, length: int, off: int, why: str, search: bool = True) -> None:
        """Analyse ``mv[start:start+length]`` as an embedded pickle; merge what it imports.

        With ``search`` the walk is also tried from the first bytes and from every
        ``GLOBAL``/``INST``-looking position (the literal's start may be filler)."""
        sub = self.mv[start : start + length]
        starts: list[int] = [0]
        if search and not (length > 0 and sub[0] == 0x80):
            starts = list(range(min(3, length)))
            text = bytes(sub[: 1 << 20])
            for m in re.finditer(rb"[ci][A-Za-z_][\w.]{0,200}\n[A-Za-z_][\w.]{0,200}\n", text):
                if len(starts) > 80:
                    break
                starts.append(m.start())
        seen: set[tuple[str, str]] = set()
        for s in sorted(set(starts)):
            if self._nested_budget <= 0:
                break
            w = _Walker(
                sub[s:], max_ops=min(20_000, self._nested_budget), depth=self.depth + 1,
                fragment=True, base=self.base + start + s,
            )  # fmt: skip
            w.run()
            self._nested_budget -= w.ops
            for key, rec in w.recs.items():
                if key in seen:
                    continue
                seen.add(key)
                mine = self.recs.get(key)
                if mine is None:
                    mine = _Rec(rec.module, rec.name, rec.offset, "nested")
                    self.recs[key] = mine
                mine.called = mine.called or rec.called
                mine.used = mine.used or rec.used
        if seen:
            names = sorted(f"{m}.{n}" for m, n in seen if (m, n) not in ALLOWLIST)
            if names:
                self._issue(
                    "pickle.nested",
                    Severity.CRITICAL,
                    f"a pickle hidden in a literal at offset {self.base + start} ({why}) "
                    f"imports {', '.join(names[:5])}",
                    off,
                    nested_offset=self.base + start,
                    nested_globals=names[:50],
                )

    # ---- the main loop ---------------------------------------------------------------------

    def run(self) -> None:
        """Walk every stacked stream; record issues instead of raising."""
        pos = 0
        if self.n == 0 and not self.fragment:
            self.complete = False
            self._malformed(0, "empty stream, no opcodes")
        while pos < self.n:
            if self.streams > 0:
                # Stacked pickles (legacy torch files, repeated pickle.load): PROTO-led streams,
                # or protocol 0/1 streams whose first opcodes parse; anything else is trailing.
                if not looks_like_pickle(self.mv[pos:]):
                    self._issue(
                        "pickle.trailing_data",
                        Severity.LOW,
                        f"{self.n - pos:,} bytes follow the last pickle STOP; they are not "
                        "unpickled by pickle.load but may be read by other loaders",
                        pos,
                        trailing_bytes=self.n - pos,
                    )
                    break
            self.first_error = None
            try:
                pos = self._stream(pos)
                self.streams += 1
            except _Malformed as e:
                self.complete = False
                self.streams += 1
                if not self.fragment and self.first_error is None:
                    self._malformed(e.offset, e.reason)
                break
            except _LimitHit as e:
                self.complete = False
                self.streams += 1
                self._issue(
                    "pickle.limit",
                    Severity.HIGH,
                    f"pickle analysis stopped early ({e.reason}); the rest of the stream was "
                    "not inspected",
                    e.offset,
                )
                break
            if self.fragment:
                break
        self.end = self.base + min(pos, self.n)

    def _malformed(self, off: int, reason: str) -> None:
        unsafe = any(not r.allowlisted for r in self.recs.values())
        if self.first_error is None:
            self.first_error = off
        self._issue(
            "pickle.malformed",
            Severity.HIGH if unsafe else Severity.MEDIUM,
            f"pickle stream is malformed at offset {self.base + off} ({reason}); loaders stop "
            "there, but everything before it runs"
            + (" and it imports unsafe globals" if unsafe else ""),
            off,
            reason=reason,
        )

    def _stream(self, pos: int, joblib: bool = True) -> int:  # noqa: C901 - one flat dispatch
        mv, n = self.mv, self.n
        stack: list[_V] = []
        marks: list[int] = []
        memo: dict[int, _V] = {}
        frame_end = -1
        max_ops = self.max_ops
        ops = self.ops
        deadline = self.started + self.max_seconds
        # The limits are checked at exactly the opcodes where one can first be reached (see the
        # loop head), not on every opcode: the stack grows by at most one item per opcode.
        check_at = ops + 1

        def underflow(off: int, what: str) -> None:
            raise _Malformed(off, f"{what}: unpickling stack underflow")

        def fence() -> int:
            return marks[-1] if marks else 0

        def pop(off: int, what: str) -> _V:
            if len(stack) <= fence():
                underflow(off, what)
            return stack.pop()

        def pop_mark(off: int, what: str) -> list[_V]:
            if not marks:
                raise _Malformed(off, f"{what}: could not find MARK")
            m = marks.pop()
            items = stack[m:]
            del stack[m:]
            return items

        dropped = [0]  # memo entries not kept because of the memo limits

        def memo_get(key: int, off: int) -> _V:
            v = memo.get(key)
            if v is None:
                if dropped[0]:
                    return _UNKNOWN  # possibly a dropped entry: judged as a computed value
                if self.fragment:
                    raise _Malformed(off, f"memo value not found at index {key}")
                # The loader stops here (B6 keyerror exploit); keep walking with an unknown
                # value so a STACK_GLOBAL fed by the missing slot is still judged.
                self.complete = False
                if self.first_error is None:
                    self._malformed(off, f"memo value not found at index {key}")
                return _UNKNOWN
            return v

        def memo_put(key: int, v: _V, off: int) -> None:
            if len(memo) < _MAX_MEMO or key in memo:
                memo[key] = v
                return
            # Over the soft limit only what can name or be a callable is kept: globals and
            # strings. Dropped containers and scalars come back as unknown values, which are
            # only ever judged when used as a callable or a global name (fail closed).
            if len(memo) < _MAX_MEMO_HARD and v.kind in (_K_GLOBAL, _K_STR):
                memo[key] = v
                return
            dropped[0] += 1
            if not self._memo_limit_reported:
                self._memo_limit_reported = True
                hard = len(memo) >= _MAX_MEMO_HARD
                self._issue(
                    "pickle.limit",
                    Severity.MEDIUM if hard else Severity.LOW,
                    f"pickle memo exceeds {len(memo):,} entries; later memoised "
                    + ("values" if hard else "containers and scalars")
                    + " are tracked as unknown values",
                    off,
                )

        def tuple_of(items: Sequence[_V]) -> _V:
            w = 1
            for it in items:
                w += it.weight
            return _V(
                _K_CONTAINER, None, w if w < _WEIGHT_CAP else _WEIGHT_CAP,
                tuple(items) if len(items) <= _MAX_TUPLE_KEEP else None,
            )  # fmt: skip

        def mutate_global(target: _V, off: int, opname: str) -> None:
            if target.kind == _K_GLOBAL:
                rec: _Rec = target.extra
                rec.used = True
                self._issue(
                    "pickle.global.mutated",
                    Severity.CRITICAL,
                    f"pickle overwrites attributes or items of the global {rec.module}.{rec.name}"
                    f" ({opname}), changing what later imports resolve to",
                    off,
                )

        def number_list(start: int, ops: int, check_at: int, frame_end: int) -> tuple[int, int]:
            """Walk a list literal of numbers after its EMPTY_LIST in one step; return the new
            ``(pos, ops)`` (unchanged when there is none, or when it must go opcode by opcode).

            The opcodes (a memo store, MARK, BININT1, BININT2, BININT or BINFLOAT items of one
            kind, APPENDS) leave the list on the stack, memoised, with its weight grown by the
            item count, and nothing else: the items are never looked at. Exact like _run: only
            whole opcodes before the current FRAME's end are taken, and only when no limit or
            time check falls on one of them (``check_at``); else the loop walks them.
            """
            m = _NUMBER_LIST.match(mv, start, frame_end if frame_end > start else n)
            if m is None or len(marks) >= _MAX_STACK:
                return start, ops
            first, last = m.span(2)
            items = (last - first) // _RUNS[mv[first]][1]
            stored = m.start(1) >= 0
            count = stored + items + 2  # (memo store,) MARK, items, APPENDS
            if ops + count >= check_at:
                return start, ops
            lst = stack[-1]
            if stored:
                code = mv[start]
                if code == 0x94:  # MEMOIZE
                    if len(memo) < _MAX_MEMO and not dropped[0]:
                        memo[len(memo)] = lst
                    else:
                        memo_put(len(memo) + dropped[0], lst, start)
                elif code == 0x71:  # BINPUT
                    memo_put(mv[start + 1], lst, start)
                else:  # LONG_BINPUT
                    memo_put(int.from_bytes(mv[start + 1 : start + 5], "little"), lst, start)
            end = m.end()
            # what APPENDS adds (never an expansion finding: one element per opcode walked)
            self._add_weight(lst, items, end - 1, ops + count)
            return end, ops + count

        try:
            while True:
                if pos >= n:
                    raise _Malformed(pos, "missing STOP (pickle data was truncated)")
                ops += 1
                if ops >= check_at:
                    if not ops & 0xFFFF and time.monotonic() > deadline:
                        raise _LimitHit(pos, f"more than {self.max_seconds:g} s spent on one file")
                    if ops > max_ops:
                        raise _LimitHit(pos, f"more than {max_ops:,} opcodes")
                    if len(stack) > _MAX_STACK:
                        raise _LimitHit(pos, f"simulated stack exceeds {_MAX_STACK:,} items")
                    # next: the next time check, the opcode past the limit, or the first opcode
                    # before which the stack could hold more than _MAX_STACK items
                    check_at = min(
                        (ops | 0xFFFF) + 1, max_ops + 1, ops + _MAX_STACK - len(stack) + 1
                    )
                off = pos
                op = mv[pos]
                pos += 1
                arg_end = pos  # updated by opcodes with arguments, for the frame check

                # ---- frequent data opcodes first ----
                if op == 0x94:  # MEMOIZE
                    if not stack:
                        underflow(off, "MEMOIZE")
                    if len(memo) < _MAX_MEMO and not dropped[0]:
                        memo[len(memo)] = stack[-1]
                    else:
                        memo_put(len(memo) + dropped[0], stack[-1], off)
                elif op == 0x8C:  # SHORT_BINUNICODE
                    if pos >= n or pos + 1 + mv[pos] > n:
                        raise _Malformed(off, "SHORT_BINUNICODE: pickle data was truncated")
                    ln = mv[pos]
                    stack.append(_V(_K_STR, (pos + 1, ln)))
                    pos = arg_end = pos + 1 + ln
                elif op == 0x4B:  # BININT1 'K'
                    if pos + 1 > n:
                        raise _Malformed(off, "BININT1: pickle data was truncated")
                    stack.append(_INTS[mv[pos]])
                    pos = arg_end = pos + 1
                    if pos < n and mv[pos] == 0x4B:  # a run (list literal): one step
                        pos, ops = self._run(0x4B, stack, pos, ops, frame_end, deadline)
                elif op == 0x4A:  # BININT 'J' (value decoded on demand, see _int_value)
                    if pos + 4 > n:
                        raise _Malformed(off, "BININT: pickle data was truncated")
                    stack.append(_V(_K_INT, -pos - 1))
                    pos = arg_end = pos + 4
                    if pos < n and mv[pos] == 0x4A:  # a run (list literal): one step
                        pos, ops = self._run(0x4A, stack, pos, ops, frame_end, deadline)
                elif op == 0x4D:  # BININT2 'M'
                    if pos + 2 > n:
                        raise _Malformed(off, "BININT2: pickle data was truncated")
                    stack.append(_V(_K_INT, mv[pos] | mv[pos + 1] << 8))
                    pos = arg_end = pos + 2
                    if pos < n and mv[pos] == 0x4D:  # a run (list literal): one step
                        pos, ops = self._run(0x4D, stack, pos, ops, frame_end, deadline)
                elif op == 0x47:  # BINFLOAT 'G'
                    if pos + 8 > n:
                        raise _Malformed(off, "BINFLOAT: pickle data was truncated")
                    stack.append(_SCALAR)
                    pos = arg_end = pos + 8
                    if pos < n and mv[pos] == 0x47:  # a run (list literal): one step
                        pos, ops = self._run(0x47, stack, pos, ops, frame_end, deadline)
                elif op in (0x4E, 0x88, 0x89):  # NONE, NEWTRUE, NEWFALSE
                    stack.append(_SCALAR)
                elif op == 0x71:  # BINPUT 'q'
                    if pos >= n:
                        raise _Malformed(pos, "BINPUT: pickle data was truncated")
                    key = mv[pos]
                    if not stack:
                        underflow(off, "BINPUT")
                    memo_put(key, stack[-1], off)
                    pos = arg_end = pos + 1
                elif op == 0x72:  # LONG_BINPUT 'r'
                    key = self._uint(pos, 4, "LONG_BINPUT")
                    if not stack:
                        underflow(off, "LONG_BINPUT")
                    memo_put(key, stack[-1], off)
                    pos = arg_end = pos + 4
                elif op == 0x68:  # BINGET 'h'
                    if pos >= n:
                        raise _Malformed(pos, "BINGET: pickle data was truncated")
                    key = mv[pos]
                    stack.append(memo_get(key, off))
                    pos = arg_end = pos + 1
                elif op == 0x6A:  # LONG_BINGET 'j'
                    key = self._uint(pos, 4, "LONG_BINGET")
                    stack.append(memo_get(key, off))
                    pos = arg_end = pos + 4
                elif op == 0x28:  # MARK '('
                    if len(marks) >= _MAX_STACK:
                        raise _LimitHit(off, "too many MARKs")
                    marks.append(len(stack))
                elif op == 0x7D:  # EMPTY_DICT: small dicts keep their string keys
                    stack.append(_V(_K_CONTAINER, {}))
                elif op == 0x5D or op == 0x8F:  # EMPTY_LIST, EMPTY_SET
                    stack.append(_V(_K_CONTAINER))
                    if op == 0x5D and pos < n and mv[pos] in _NUMBER_LIST_NEXT:
                        pos, ops = number_list(pos, ops, check_at, frame_end)
                elif op == 0x29:  # EMPTY_TUPLE
                    stack.append(tuple_of(()))
                elif op == 0x85 or op == 0x86 or op == 0x87:  # TUPLE1/2/3
                    k = op - 0x84
                    if len(stack) - fence() < k:
                        underflow(off, f"TUPLE{k}")
                    items = stack[-k:]
                    del stack[-k:]
                    stack.append(tuple_of(items))
                elif op == 0x61:  # APPEND 'a'
                    v = pop(off, "APPEND")
                    if len(stack) <= fence():
                        underflow(off, "APPEND")
                    tgt = stack[-1]
                    mutate_global(tgt, off, "APPEND")
                    self._add_weight(tgt, v.weight, off, ops)
                elif op == 0x65 or op == 0x75 or op == 0x90:  # APPENDS, SETITEMS, ADDITEMS
                    name = _OPNAMES[op]
                    items = pop_mark(off, name)
                    if not stack:
                        underflow(off, name)
                    if op == 0x75 and len(items) % 2:
                        raise _Malformed(off, "SETITEMS: odd number of items")
                    tgt = stack[-1]
                    mutate_global(tgt, off, name)
                    w = 0
                    for it in items:
                        w += it.weight
                    self._add_weight(tgt, w, off, ops)
                    if op == 0x75 and type(tgt.value) is dict:
                        self._dict_update(tgt, items, off)
                elif op == 0x73:  # SETITEM 's'
                    v = pop(off, "SETITEM")
                    k2 = pop(off, "SETITEM")
                    if len(stack) <= fence():
                        underflow(off, "SETITEM")
                    tgt = stack[-1]
                    mutate_global(tgt, off, "SETITEM")
                    self._add_weight(tgt, v.weight + k2.weight, off, ops)
                    if type(tgt.value) is dict:
                        self._dict_update(tgt, (k2, v), off)
                elif op == 0x58 or op == 0x8D:  # BINUNICODE 'X', BINUNICODE8
                    size = 4 if op == 0x58 else 8
                    ln = self._uint(pos, size, "BINUNICODE")
                    self._need(pos + size, ln, "BINUNICODE")
                    stack.append(_LONGSTR if ln > _MAX_STR_KEEP else _V(_K_STR, (pos + size, ln)))
                    pos = arg_end = pos + size + ln
                elif op in (
                    0x43,
                    0x42,
                    0x8E,
                    0x96,
                ):  # SHORT_BINBYTES, BINBYTES, BINBYTES8, BYTEARRAY8
                    size = _LEN_SIZES[op]
                    ln = self._uint(pos, size, "BINBYTES")
                    self._need(pos + size, ln, "BINBYTES")
                    b = _V(_K_BYTES, (pos + size, ln))
                    pos = arg_end = pos + size + ln
                    if off < frame_end < arg_end:  # never true without a FRAME (frame_end -1)
                        self._frame_straddle(off, frame_end, arg_end)
                        if self.depth < _MAX_NESTED_DEPTH:
                            self._nested(
                                pos - ln, ln, off, "a bytes literal that crosses a FRAME end"
                            )
                    stack.append(b)
                elif op == 0x54 or op == 0x55:  # BINSTRING 'T', SHORT_BINSTRING 'U'
                    if op == 0x54:
                        self._need(pos, 4, "BINSTRING")
                        ln = int.from_bytes(mv[pos : pos + 4], "little", signed=True)
                        if ln < 0:
                            raise _Malformed(off, "BINSTRING has a negative byte count")
                        hdr = 4
                    else:
                        ln = self._uint(pos, 1, "SHORT_BINSTRING")
                        hdr = 1
                    self._need(pos + hdr, ln, "BINSTRING")
                    if ln > _MAX_STR_KEEP:
                        stack.append(_LONGSTR)
                    else:
                        text = bytes(mv[pos + hdr : pos + hdr + ln]).decode("latin-1")
                        stack.append(_V(_K_STR, text))
                    pos = arg_end = pos + hdr + ln
                elif op == 0x8A or op == 0x8B:  # LONG1, LONG4
                    if op == 0x8A:
                        ln = self._uint(pos, 1, "LONG1")
                        hdr = 1
                    else:
                        self._need(pos, 4, "LONG4")
                        ln = int.from_bytes(mv[pos : pos + 4], "little", signed=True)
                        if ln < 0:
                            raise _Malformed(off, "LONG4 has a negative byte count")
                        hdr = 4
                    self._need(pos + hdr, ln, "LONG")
                    if ln <= 8:
                        raw = mv[pos + hdr : pos + hdr + ln]
                        value = int.from_bytes(raw, "little", signed=True)
                        stack.append(_V(_K_INT, value) if value >= 0 else _SCALAR)
                    else:
                        stack.append(_SCALAR)
                    pos = arg_end = pos + hdr + ln
                # ---- globals and calls ----
                elif op == 0x93:  # STACK_GLOBAL
                    name_v = pop(off, "STACK_GLOBAL")
                    mod_v = pop(off, "STACK_GLOBAL")
                    if mod_v.kind == _K_STR and name_v.kind == _K_STR:
                        mod_s, name_s = self._text(mod_v, off), self._text(name_v, off)
                        stack.append(self._global(mod_s, name_s, off, "STACK_GLOBAL"))
                    else:
                        self._dynamic(off, "STACK_GLOBAL operands are not two constant strings")
                        stack.append(_UNKNOWN)
                elif op == 0x63 or op == 0x69:  # GLOBAL 'c', INST 'i'
                    opname = "GLOBAL" if op == 0x63 else "INST"
                    mod_b, pos = self._line(pos, opname)
                    name_b, pos = self._line(pos, opname)
                    arg_end = pos
                    try:
                        mod_s, name_s = mod_b.decode("utf-8"), name_b.decode("utf-8")
                    except UnicodeDecodeError as e:
                        raise _Malformed(off, f"{opname}: name is not UTF-8") from e
                    g = self._global(mod_s, name_s, off, opname)
                    if op == 0x63:
                        stack.append(g)
                    else:
                        args = tuple_of(pop_mark(off, "INST"))
                        stack.append(self._call(g, args, off, "INST"))
                elif op == 0x52:  # REDUCE 'R'
                    args = pop(off, "REDUCE")
                    fn = pop(off, "REDUCE")
                    stack.append(self._call(fn, args, off, "REDUCE"))
                elif op == 0x81:  # NEWOBJ
                    args = pop(off, "NEWOBJ")
                    cls = pop(off, "NEWOBJ")
                    stack.append(self._call(cls, args, off, "NEWOBJ"))
                elif op == 0x92:  # NEWOBJ_EX
                    kw = pop(off, "NEWOBJ_EX")
                    args = pop(off, "NEWOBJ_EX")
                    cls = pop(off, "NEWOBJ_EX")
                    res = self._call(cls, args, off, "NEWOBJ_EX")
                    res.weight += kw.weight
                    stack.append(res)
                elif op == 0x6F:  # OBJ 'o'
                    items = pop_mark(off, "OBJ")
                    if not items:
                        underflow(off, "OBJ")
                    stack.append(self._call(items[0], tuple_of(items[1:]), off, "OBJ"))
                elif op == 0x62:  # BUILD 'b'
                    state = pop(off, "BUILD")
                    if len(stack) <= fence():
                        underflow(off, "BUILD")
                    tgt = stack[-1]
                    mutate_global(tgt, off, "BUILD")
                    self._add_weight(tgt, state.weight, off, ops)
                    if (
                        joblib
                        and tgt.kind == _K_CALL
                        and tgt.extra.kind == _K_GLOBAL
                        and (tgt.extra.extra.module, tgt.extra.extra.name) == _JOBLIB_WRAPPER
                    ):
                        # joblib writes the array's bytes (or, for object arrays, a whole
                        # protocol-2 pickle) right after the wrapper's BUILD; its unpickler
                        # reads them there (THREATS.md B11).
                        self.ops = ops
                        pos = self._joblib_array(state, pos, off)
                        ops = self.ops
                elif op == 0x82 or op == 0x83 or op == 0x84:  # EXT1/2/4
                    size = _LEN_SIZES[op]
                    code = self._uint(pos, size, "EXT")
                    pos = arg_end = pos + size
                    g = self._global("copyreg._extension_registry", str(code), off, "EXT")
                    self._issue(
                        "pickle.global.extension",
                        Severity.HIGH,
                        f"pickle imports extension code {code} through the copyreg registry; what it "
                        "names depends on the loading process",
                        off,
                    )
                    stack.append(g)
                elif op == 0x51:  # BINPERSID 'Q'
                    pop(off, "BINPERSID")
                    stack.append(_V(_K_PERS))
                elif op == 0x50:  # PERSID 'P'
                    _, pos = self._line(pos, "PERSID")
                    arg_end = pos
                    stack.append(_V(_K_PERS))
                # ---- stack shuffling ----
                elif op == 0x30:  # POP '0'
                    if marks and marks[-1] == len(stack):
                        marks.pop()
                    elif len(stack) <= fence():
                        underflow(off, "POP")
                    else:
                        stack.pop()
                elif op == 0x31:  # POP_MARK '1'
                    pop_mark(off, "POP_MARK")
                elif op == 0x32:  # DUP '2'
                    if not stack:
                        underflow(off, "DUP")
                    stack.append(stack[-1])
                    self.dups += 1
                    if self.dups == _DUP_LIMIT + 1:
                        self._dup_expansion(off)
                elif (
                    op == 0x6C or op == 0x74 or op == 0x64 or op == 0x91
                ):  # LIST, TUPLE, DICT, FROZENSET
                    name = _OPNAMES[op]
                    items = pop_mark(off, name)
                    if op == 0x64 and len(items) % 2:
                        raise _Malformed(off, "DICT: odd number of items")
                    if op == 0x74:
                        stack.append(tuple_of(items))
                    else:
                        c = _V(_K_CONTAINER, {} if op == 0x64 else None)
                        stack.append(c)
                        w = 0
                        for it in items:
                            w += it.weight
                        self._add_weight(c, w, off, ops)
                        if op == 0x64:
                            self._dict_update(c, items, off)
                # ---- protocol 0 text opcodes ----
                elif op == 0x49:  # INT 'I'
                    line, pos = self._line(pos, "INT")
                    arg_end = pos
                    if line not in (b"00", b"01") and not _INT_LINE.match(line):
                        raise _Malformed(off, "INT: invalid literal")
                    stack.append(_SCALAR)
                elif op == 0x4C:  # LONG 'L'
                    line, pos = self._line(pos, "LONG")
                    arg_end = pos
                    if not _INT_LINE.match(line):
                        raise _Malformed(off, "LONG: invalid literal")
                    stack.append(_SCALAR)
                elif op == 0x46:  # FLOAT 'F'
                    line, pos = self._line(pos, "FLOAT")
                    arg_end = pos
                    if not _FLOAT_LINE.match(line):
                        raise _Malformed(off, "FLOAT: invalid literal")
                    stack.append(_SCALAR)
                elif op == 0x53:  # STRING 'S'
                    line, pos = self._line(pos, "STRING")
                    arg_end = pos
                    line = line.rstrip(b" \t\r")
                    if len(line) < 2 or line[0] != line[-1] or line[0] not in b"'\"":
                        raise _Malformed(off, "STRING: the STRING opcode argument must be quoted")
                    if len(line) > _MAX_STR_KEEP:
                        stack.append(_LONGSTR)
                    else:
                        try:
                            text = codecs.escape_decode(line[1:-1])[0].decode("latin-1")
                        except (ValueError, UnicodeDecodeError) as e:
                            raise _Malformed(off, "STRING: invalid escape") from e
                        stack.append(_V(_K_STR, text))
                elif op == 0x56:  # UNICODE 'V'
                    line, pos = self._line(pos, "UNICODE")
                    arg_end = pos
                    if len(line) > _MAX_STR_KEEP:
                        stack.append(_LONGSTR)
                    else:
                        try:
                            stack.append(_V(_K_STR, line.decode("raw-unicode-escape")))
                        except UnicodeDecodeError as e:
                            raise _Malformed(off, "UNICODE: invalid escape") from e
                elif op == 0x67 or op == 0x70:  # GET 'g', PUT 'p'
                    opname = "GET" if op == 0x67 else "PUT"
                    line, pos = self._line(pos, opname)
                    arg_end = pos
                    if not re.fullmatch(rb"[0-9]{1,18}", line):
                        raise _Malformed(off, f"{opname}: invalid memo key")
                    key = int(line)
                    if op == 0x67:
                        stack.append(memo_get(key, off))
                    else:
                        if not stack:
                            underflow(off, "PUT")
                        memo_put(key, stack[-1], off)
                # ---- framing, protocol, buffers, stop ----
                elif op == 0x80:  # PROTO
                    proto = self._uint(pos, 1, "PROTO")
                    pos = arg_end = pos + 1
                    if proto > 5:
                        raise _Malformed(off, f"unsupported pickle protocol: {proto}")
                elif op == 0x95:  # FRAME
                    ln = self._uint(pos, 8, "FRAME")
                    pos = arg_end = pos + 8
                    if frame_end > off:
                        self._frame_nested(off, frame_end)
                    if pos + ln > n:
                        raise _Malformed(off, "FRAME: pickle data was truncated")
                    frame_end = pos + ln
                    continue
                elif op == 0x97:  # NEXT_BUFFER
                    stack.append(_V(_K_BYTES))
                elif op == 0x98:  # READONLY_BUFFER
                    if len(stack) <= fence():
                        underflow(off, "READONLY_BUFFER")
                elif op == 0x2E:  # STOP '.'
                    pop(off, "STOP")
                    if frame_end > pos:
                        self._frame_straddle(off, frame_end, pos)
                    return pos
                else:
                    raise _Malformed(off, f"invalid load key, {bytes([op])!r}")

                if off < frame_end < arg_end:  # never true without a FRAME (frame_end -1)
                    self._frame_straddle(off, frame_end, arg_end)
        finally:
            self.ops = ops

    def _run(
        self, op: int, stack: list[_V], pos: int, ops: int, frame_end: int, deadline: float
    ) -> tuple[int, int]:
        """Push the run of ``op`` opcodes that starts at ``pos`` in one step; return the new
        ``(pos, ops)``.

        Exact: only whole opcodes before the current FRAME's end (when it lies ahead) are taken,
        so one that straddles it is left to the per-opcode loop, which reports it; and at most
        as many as keep the opcode and stack counts at or under their limits, so the opcode
        that would exceed one is also left to the loop, which raises there as before.
        """
        pattern, size = _RUNS[op]
        m = pattern.match(self.mv, pos, frame_end if frame_end > pos else self.n)
        if m is None:
            return pos, ops
        count = min((m.end() - pos) // size, self.max_ops - ops, _MAX_STACK + 1 - len(stack))
        if count <= 0:
            return pos, ops
        if (ops + count) >> 16 != ops >> 16 and time.monotonic() > deadline:
            raise _LimitHit(pos, f"more than {self.max_seconds:g} s spent on one file")
        mv, end = self.mv, pos + size * count
        if op == 0x4B:
            stack.extend(map(_INTS.__getitem__, mv[pos + 1 : end : 2]))
        elif op == 0x47:
            stack.extend(repeat(_SCALAR, count))
        elif op == 0x4D:
            stack.extend([_V(_K_INT, mv[p] | mv[p + 1] << 8) for p in range(pos + 1, end, 3)])
        else:  # BININT: decoded on demand, like the loop does (see _int_value)
            stack.extend([_V(_K_INT, -p - 1) for p in range(pos + 1, end, 5)])
        return end, ops + count

    def _dict_update(self, d: _V, items: Sequence[_V], off: int) -> None:
        """Record string keys of a small dict (joblib wrapper state); stop past the limit."""
        keep: dict[str, _V] = d.value
        for i in range(0, len(items) - 1, 2):
            k = items[i]
            if len(keep) >= _MAX_DICT_KEEP:
                d.value = None
                return
            if k.kind == _K_STR:
                keep[self._text(k, off)] = items[i + 1]

    def _int_value(self, v: _V) -> int:
        """Return an int value; BININT values are stored as ``-offset - 1`` until needed."""
        if v.value < 0:
            at = -v.value - 1
            v.value = int.from_bytes(self.mv[at : at + 4], "little", signed=True)
            if v.value < 0:  # a negative BININT: remember it decoded
                v.kind = _K_SCALAR
        return int(v.value)

    def _joblib_array(self, state: _V, pos: int, off: int) -> int:
        """Return the offset after the array data joblib stores behind a NumpyArrayWrapper."""
        st = state.value if type(state.value) is dict else {}
        shape, dtype = st.get("shape"), st.get("dtype")
        align = st.get("numpy_array_alignment_bytes")
        code = ""
        if dtype is not None and dtype.kind == _K_CALL and dtype.value is not None:
            items = dtype.value.extra
            if items and items[0].kind == _K_STR:
                code = self._text(items[0], off)
        m = _DTYPE_CODE.match(code)
        has_padding = align is not None and align.kind == _K_INT
        if m is None:
            raise _Malformed(off, "joblib array wrapper without a readable dtype")
        kind, digits = m.group(1), m.group(2)
        inline_pickle = kind == "O" or (
            kind == "V" and pos + 1 < self.n and self.mv[pos] == 0x80 and self.mv[pos + 1] <= 5
        )
        if inline_pickle:
            return self._stream(pos, joblib=False)
        size = int(digits) if digits else 1
        itemsize = 4 * size if kind == "U" else 8 if kind in "Mm" else size
        count = 1
        dims = shape.extra if shape is not None and shape.kind == _K_CONTAINER else None
        if dims is None and shape is not None and shape.kind == _K_CONTAINER:
            raise _Malformed(off, "joblib array wrapper with an unreadable shape")
        for dim in dims or ():
            value = self._int_value(dim) if dim.kind == _K_INT else -1
            if value < 0:
                raise _Malformed(off, "joblib array wrapper with an unreadable shape")
            count *= value
        if pos >= self.n:
            raise _Malformed(pos, "joblib array data was truncated")
        first = self.mv[pos]
        if has_padding:
            pos += 1 + first
        end = pos + count * itemsize
        if end > self.n:
            raise _Malformed(pos, "joblib array data was truncated")
        if first not in _OPCODES:
            return end  # plain pickle.load stops at the padding byte; joblib reads the data
        # pickle.load (not joblib.load) would run these bytes as opcodes: judge them too
        if self.depth < _MAX_NESTED_DEPTH:
            self._nested(pos, end - pos, off, "array bytes behind a joblib wrapper", search=False)
        return end

    def _frame_straddle(self, off: int, frame_end: int, arg_end: int) -> None:
        if self._frame_reported:
            return
        self._frame_reported = True
        self._issue(
            "pickle.frame.inconsistent",
            Severity.CRITICAL,
            f"pickle FRAME ending at offset {self.base + frame_end} does not end on an opcode "
            "boundary; the C unpickler reading a file can run bytes that static parsers see as "
            "data (frame-boundary divergence)",
            off,
            frame_end=self.base + frame_end,
            opcode_end=self.base + arg_end,
        )

    def _frame_nested(self, off: int, frame_end: int) -> None:
        if self._frame_reported:
            return
        self._frame_reported = True
        self._issue(
            "pickle.frame.inconsistent",
            Severity.CRITICAL,
            f"pickle starts a new FRAME at offset {self.base + off} before the previous one ends "
            f"at {self.base + frame_end}; loaders disagree on such streams",
            off,
            frame_end=self.base + frame_end,
        )

    # ---- results ---------------------------------------------------------------------------

    def result(self, strict: bool = False) -> PickleAnalysis:
        """Return the analysis, with one issue per unsafe global and one for the allowlisted."""
        refs: list[GlobalRef] = []
        issues: list[PickleIssue] = []
        allowed: list[str] = []
        for rec in self.recs.values():
            if rec.module == "builtins" and rec.name == "getattr" and not rec.used:
                # only ever used as getattr(<global>, "<constant>"), resolved statically
                if any(r.via == "getattr" for r in self.recs.values()):
                    continue
            ref = GlobalRef(
                rec.module, rec.name, rec.offset, rec.allowlisted, rec.dangerous, rec.called,
                rec.via, not rec.allowlisted and not rec.dangerous
                and is_model_class(rec.module, rec.name),
            )  # fmt: skip
            refs.append(ref)
            if rec.allowlisted:
                allowed.append(ref.dotted)
                continue
            issues.append(_global_issue(ref, strict))
        if allowed:
            issues.append(
                PickleIssue(
                    "pickle.global.allowlisted",
                    Severity.LOW if strict else Severity.INFO,
                    (
                        "pickle also imports data-safe globals ("
                        if issues
                        else "pickle imports only data-safe globals ("
                    )
                    + ", ".join(allowed[:6])
                    + (", ..." if len(allowed) > 6 else "")
                    + "); prefer a non-executable format such as parquet or safetensors",
                    min(r.offset for r in refs if r.allowlisted) if refs else 0,
                    (("allowlisted", allowed),),
                )
            )
        out = tuple(self.issues) + tuple(issues)
        return PickleAnalysis(
            issues=out,
            globals=tuple(refs),
            streams=self.streams,
            ops=self.ops,
            end=self.end,
            complete=self.complete,
        )


def _global_issue(ref: GlobalRef, strict: bool) -> PickleIssue:
    last = ref.name.rsplit(".", 1)[-1]
    effect = _WHAT_IT_DOES.get(last)
    if ref.module in ("os", "posix", "nt") and last in ("system", "popen"):
        effect = "runs a shell command"
    if ref.model:
        sev = Severity.CRITICAL if strict else Severity.HIGH
        rule = "pickle.model_class"
        msg = (
            f"pickle {'builds' if ref.called else 'imports'} {ref.dotted}: a model, not data; "
            "prefer skops, ONNX or safetensors (loading it runs the library's code)"
        )
    elif ref.called:
        sev = Severity.CRITICAL
        rule = "pickle.call.dangerous" if ref.dangerous else "pickle.call.unsafe"
        what = effect or (
            "a known code-execution or I/O route" if ref.dangerous
            else "not on the data-safe allowlist"
        )  # fmt: skip
        msg = f"pickle calls {ref.dotted} when loaded ({what}); do not load this file"
    elif ref.dangerous:
        sev = Severity.CRITICAL
        rule = "pickle.global.dangerous"
        msg = (
            f"pickle imports {ref.dotted} ({effect or 'a known code-execution or I/O route'}); "
            "do not load this file"
        )
    else:
        sev = Severity.CRITICAL if strict else Severity.HIGH
        rule = "pickle.global.unsafe"
        msg = (
            f"pickle imports {ref.dotted}, which is not on the data-safe allowlist (importing it "
            "runs module code); review it before loading"
        )
    return PickleIssue(rule, sev, msg, ref.offset, (("global", ref.dotted),))


# --------------------------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------------------------


def _as_view(data: bytes | bytearray | memoryview) -> memoryview:
    mv = data if isinstance(data, memoryview) else memoryview(data)
    if mv.format != "B" or mv.ndim != 1:
        mv = mv.cast("B")
    return mv


def analyse(
    data: bytes | bytearray | memoryview,
    *,
    limits: Limits | None = None,
    strict: bool = False,
) -> PickleAnalysis:
    """Return the static analysis of the pickle stream(s) at the start of ``data``.

    Stacked PROTO-led pickles are each walked; other trailing bytes are a low finding. Never
    raises for hostile or malformed content (that is a ``pickle.malformed`` issue); raises
    nothing else.
    """
    lim = limits or Limits()
    mv = _as_view(data)
    fast = _summarised(mv, lim.max_pickle_ops, strict)
    return fast if fast is not None else walk(mv, limits=lim, strict=strict)


def walk(
    data: bytes | bytearray | memoryview, *, limits: Limits | None = None, strict: bool = False
) -> PickleAnalysis:
    """:func:`analyse` by the full walk in Python, always (tests compare it with the C pass)."""
    lim = limits or Limits()
    w = _Walker(_as_view(data), max_ops=lim.max_pickle_ops, max_seconds=lim.max_seconds_per_file)
    w.run()
    return w.result(strict)


# Globals the walk does more with than judge them against the allowlist: getattr(<global>,
# "<const>") is resolved statically, bytes handed to a pickle loader are walked as a nested
# pickle, and joblib's array data follows its wrapper's BUILD. A stream naming one takes the walk.
_WALK_ONLY = frozenset({("builtins", "getattr"), _JOBLIB_WRAPPER, *_PICKLE_LOADERS})


def _summarised(mv: memoryview, max_ops: int, strict: bool) -> PickleAnalysis | None:
    """The analysis of ``mv`` from the C one-pass walk (datagate/_accel.py), or None: take the
    full walk.

    The C pass returns only for a well-formed stream that names globals by constant strings and
    calls nothing else, with none of the walk's own issues (it answers None for those); what the
    walk would then report depends only on the globals, their first offsets and whether each is
    called. When every one is allowlisted (and none is in :data:`_WALK_ONLY`) the walk does
    nothing else with them, so the same records give the same :meth:`_Walker.result`.
    """
    if summarise is None:
        return None
    summary = summarise(mv, max_ops)
    if summary is None:
        return None
    key = (summary, len(mv), strict)
    if key in _SUMMARISED:
        return _SUMMARISED[key]
    ops, names = summary
    w = _Walker(mv, max_ops=max_ops)
    result: PickleAnalysis | None = None
    for module, name, offset, via, called in names:
        rec: _Rec = w._global(module, name, offset, via).extra
        if not rec.allowlisted or (rec.module, rec.name) in _WALK_ONLY:
            break
        if called:
            rec.called = rec.used = True
    else:
        w.ops, w.streams, w.end = ops, 1, len(mv)
        result = w.result(strict)
    if len(_SUMMARISED) >= 1024:
        _SUMMARISED.clear()
    _SUMMARISED[key] = result
    return result


# Results by (summary, length, strict): files saved by the same code (a folder of arrays, of
# model shards) share them. The analysis is frozen, so sharing one is safe.
_SUMMARISED: dict[tuple[object, int, bool], PickleAnalysis | None] = {}


def looks_like_pickle(data: bytes | bytearray | memoryview) -> bool:
    """Return True when ``data`` starts like a pickle stream (any protocol).

    Protocol 2+ streams start with PROTO; for protocols 0-1 the first opcodes of a 4 KiB window
    must parse. Never raises.
    """
    mv = _as_view(data)
    if len(mv) < 2:
        return False
    if mv[0] == 0x80:
        return mv[1] <= 5 and len(mv) >= 3
    if mv[0] not in b"(]}cNIJKLSVUTXGFl)dt":
        return False
    window = mv[:4096]
    w = _Walker(window, max_ops=64, fragment=True)
    try:
        w._stream(0)
    except _LimitHit:
        return True
    except _Malformed as e:
        # running off the end of the window is fine when the data goes on
        if e.truncated and len(window) < len(mv) and w.ops >= 1:
            return True
        # A stream that names a global and then ends or breaks (a string declared longer than
        # the file, a missing newline, an invalid opcode) is a pickle that fails closed: the
        # loader imports, and may call, what it named before the error (THREATS.md B1).
        return _names_a_global(w)
    return True


_IDENT = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*\Z")


def _known_roots() -> frozenset[str]:
    """Return the top-level module names a protocol-0 GLOBAL plausibly imports: the standard
    library, Python 2 spellings and every package named by the allowlists and the danger list."""
    import sys

    roots = set(sys.stdlib_module_names) | set(_COMPAT_MODULES)
    roots.update(m.split(".", 1)[0] for m, _ in ALLOWLIST)
    roots.update(m.split(".", 1)[0] for m in _MODEL_MODULES)
    roots.update(p.split(".", 1)[0] for p in _DANGEROUS_PATHS if "." in p)
    return frozenset(roots)


def _names_a_global(w: _Walker) -> bool:
    """Return True when the broken walk ``w`` named a global that makes it a pickle.

    The names must be dotted identifiers, and either the module is one a pickle plausibly
    imports (``os``, ``builtins``, ``numpy`` ...) or at least one more opcode parsed after the
    global (``cfoo\\nbar\\n(X...``). Two lines of words after a ``c`` are not enough."""
    global _ROOTS
    for rec in w.recs.values():
        if not (_IDENT.match(rec.module) and _IDENT.match(rec.name)):
            continue
        if _ROOTS is None:
            _ROOTS = _known_roots()
        if rec.module.split(".", 1)[0] in _ROOTS or w.ops >= 3:
            return True
    return False


_ROOTS: frozenset[str] | None = None


_NPY_MAGIC = b"\x93NUMPY"


def _descr_has_object(descr: Any) -> bool:
    if isinstance(descr, str):
        return descr.lstrip("<>|=").startswith("O")
    if isinstance(descr, (list, tuple)):
        for item in descr:
            if isinstance(item, (list, tuple)) and len(item) >= 2:
                if _descr_has_object(item[1]):
                    return True
            elif _descr_has_object(item):
                return True
    return False


def analyse_npy(
    data: bytes | bytearray | memoryview,
    *,
    limits: Limits | None = None,
    strict: bool = False,
) -> PickleAnalysis:
    """Return the analysis of a ``.npy`` file: nothing for numeric arrays; for object arrays a
    ``numpy.object_array`` issue plus the analysis of the embedded pickle. Never raises."""
    mv = _as_view(data)
    if bytes(mv[:6]) != _NPY_MAGIC or len(mv) < 10:
        return PickleAnalysis(
            (PickleIssue("numpy.malformed", Severity.MEDIUM,
                         "file starts like a .npy array but its header is truncated", 0),)
        )  # fmt: skip
    major = mv[6]
    if major == 1:
        hlen, hstart = int.from_bytes(mv[8:10], "little"), 10
    elif major in (2, 3) and len(mv) >= 12:
        hlen, hstart = int.from_bytes(mv[8:12], "little"), 12
    else:
        return PickleAnalysis(
            (PickleIssue("numpy.malformed", Severity.MEDIUM,
                         f".npy format version {major} is not supported; the file was not "
                         "inspected", 6),)
        )  # fmt: skip
    header_b = bytes(mv[hstart : hstart + min(hlen, 1 << 20)])
    try:
        if hstart + hlen > len(mv) or hlen > 1 << 20:
            raise ValueError("header length exceeds the file")
        header = ast.literal_eval(header_b.decode("utf-8" if major == 3 else "latin-1"))
        if not isinstance(header, dict) or "descr" not in header:
            raise ValueError("header is not a dict with 'descr'")
    except (ValueError, SyntaxError, UnicodeDecodeError, MemoryError, RecursionError) as e:
        return PickleAnalysis(
            (PickleIssue("numpy.malformed", Severity.MEDIUM,
                         f".npy header cannot be parsed ({str(e)[:80]}); numpy.load rejects it",
                         hstart),)
        )  # fmt: skip
    if not _descr_has_object(header["descr"]):
        return PickleAnalysis(())
    body = mv[hstart + hlen :]
    inner = analyse(body, limits=limits, strict=strict)
    shifted = tuple(
        PickleIssue(i.rule, i.severity, i.message, i.offset + hstart + hlen, i.extra)
        for i in inner.issues
    )
    head = PickleIssue(
        "numpy.object_array",
        Severity.MEDIUM,
        f"numpy array of dtype {header['descr']!r} stores its data as a pickle that "
        # Message text naming the loader a user must avoid; this module never calls numpy.load.
        "numpy.load(allow_pickle=True) unpickles",
        0,
        (("descr", repr(header["descr"])),),
    )
    return PickleAnalysis(
        (head, *shifted), inner.globals, inner.streams, inner.ops, inner.end, inner.complete
    )


# --------------------------------------------------------------------------------------------
# Scanner
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PickleScanner:
    """The ``pickles`` scanner: raw pickles, legacy torch files and ``.npy`` arrays."""

    name: str = "pickles"
    """Registry name."""
    kinds: frozenset[ContentKind] = field(default_factory=lambda: FAMILY_KINDS[ScannerName.PICKLES])
    """Content kinds handed to this scanner."""

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterator[ScanItem]:
        """Yield one finding per issue of :func:`analyse` / :func:`analyse_npy`. Never raises."""
        data = _as_view(blob.data)
        if bytes(data[:6]) == _NPY_MAGIC:
            result = analyse_npy(data, limits=ctx.limits, strict=ctx.strict)
        else:
            result = analyse(data, limits=ctx.limits, strict=ctx.strict)
        yield from findings_for(result, blob)


def findings_for(result: PickleAnalysis, blob: Blob) -> Iterator[Finding]:
    """Yield the findings of ``result`` attached to ``blob`` (path and member)."""
    names = sorted({g.dotted for g in result.globals})
    calls = sorted(set(result.calls))
    for issue in result.issues:
        evidence: dict[str, Any] = {"globals": names, "calls": calls, "offset": issue.offset}
        evidence.update(dict(issue.extra))
        yield Finding(
            path=blob.path,
            member=blob.member,
            rule=issue.rule,
            category="pickle",
            severity=issue.severity,
            message=issue.message,
            evidence=evidence,
        )


PICKLE_SCANNER = PickleScanner()
"""The scanner instance the registry uses."""
