"""Keras, TensorFlow SavedModel and HDF5: model configs that name code, attributes that hide it.

A Keras model file is a description of objects to rebuild, and rebuilding can run code:

* ``.keras`` (Keras 3) is a zip holding ``config.json`` — the container scanner hands that member
  on as JSON and this scanner judges every JSON that is a Keras config;
* legacy ``.h5`` holds the same JSON in the ``model_config`` root attribute (read with h5py,
  which parses HDF5 and runs no code; without h5py the file is reported as skipped, with the
  ``pip install`` hint);
* a TF SavedModel's ``saved_model.pb`` / ``keras_metadata.pb`` are protobufs: they are walked
  here by a small wire-format reader (no TensorFlow) for graph ops and the Keras JSON metadata.

:data:`MODEL_SCANNER` reports

* ``keras.lambda`` — a ``Lambda`` layer: critical when it carries marshalled bytecode (Keras
  rebuilds and runs it: CVE-2024-3660 when ``safe_mode`` is off, always for legacy ``.h5``),
  high when it names a function;
* ``keras.module`` (high) — a ``module`` outside Keras' own packages: deserialising imports it and
  calls what ``class_name`` names (CVE-2025-1550);
* ``keras.custom_object`` (medium) — a ``registered_name`` of a package other than Keras: it only
  loads where that package registered it, but its code then runs;
* ``keras.tf_op`` (high) — a ``TFOpLambda`` calling file-system, ``py_function`` or raw ops;
* ``savedmodel.op`` (high) — graph ops that read or write files or call back into Python
  (``ReadFile``, ``WriteFile``, ``PyFunc`` ...); ``savedmodel.malformed`` (medium);
* ``hdf5.unreadable`` — medium for an HDF5 file h5py cannot open, high when the HDF5 library
  hangs or crashes on it (it runs in a helper process that is killed, see ``_h5child``);
  attributes that are pickles or marshalled code are handed on like other embedded payloads.

>>> import json
>>> from datagate.scan.interface import Blob, ContentKind, ScanContext
>>> cfg = {"class_name": "Sequential", "config": {"layers": [
...     {"class_name": "Lambda", "config": {"function": ["4wEAAAAAAAAA", None, None]}}]}}
>>> blob = Blob("m.json", json.dumps(cfg).encode(), kind=ContentKind.JSON)
>>> [f.rule for f in MODEL_SCANNER.scan(blob, ScanContext())]
['keras.lambda']
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from datagate.models import Finding, Severity, Skip
from datagate.scan._payloads import embedded_payloads, is_marshal, json_payloads
from datagate.scan._protobuf import PbError, looks_like_savedmodel, pb_fields, sub_messages
from datagate.scan.interface import Blob, ContentKind, ScanContext, ScanItem
from datagate.scan.registry import FAMILY_KINDS, ScannerName

__all__ = ["DANGEROUS_TF_OPS", "MODEL_SCANNER", "ModelScanner", "keras_config_findings"]

_KERAS_MODULES = ("keras", "tf_keras")
"""Top-level packages whose objects a Keras config may name without a finding."""

DANGEROUS_TF_OPS = frozenset(
    {"ReadFile", "WriteFile", "MatchingFiles", "PyFunc", "PyFuncStateless", "EagerPyFunc",
     "DebugIdentityV3", "ImmutableConst", "LoadAndRemapMatrix", "Save", "SaveV2", "SaveSlices",
     "Restore", "RestoreV2", "RestoreSlice", "MergeV2Checkpoints", "DeleteFile", "CreateSummaryFileWriter",
     "WriteAudioSummary", "WriteSummary", "PrintV2"}
)  # fmt: skip
"""Graph ops that touch the file system or call Python; modelscan flags ReadFile/WriteFile too."""
_CHECKPOINT_OPS = frozenset(
    {"Save", "SaveV2", "SaveSlices", "Restore", "RestoreV2", "RestoreSlice", "MergeV2Checkpoints"}
)
"""Every SavedModel has these (variables are restored from ``variables/``): not reported."""
_TF_OP_RISKY = (
    "io.",
    "raw_ops.",
    "py_function",
    "numpy_function",
    "py_func",
    "compat.v1.py_func",
    "debugging.",
)

_MAX_OBJECTS = 100_000
_HDF5_SECONDS = 30.0
"""Budget for the HDF5 helper process to read one file's attributes."""


def _f(blob: Blob, rule: str, sev: Severity, message: str, **evidence: Any) -> Finding:
    return Finding(blob.path, rule, rule.split(".", 1)[0], sev, message, blob.member, evidence)


# ============================================================================ Keras configs


def _is_keras_config(doc: Any) -> bool:
    if not isinstance(doc, dict):
        return False
    if "class_name" in doc and "config" in doc:
        return True
    return (
        isinstance(doc.get("model_config"), dict)
        or isinstance(doc.get("config"), dict)
        and "layers" in doc["config"]
    )


def keras_config_findings(blob: Blob, doc: Any, where: str) -> Iterator[ScanItem]:
    """Yield findings for the Keras objects a parsed config ``doc`` (found at ``where``) names.

    Raises nothing.
    """
    lambdas: list[dict[str, Any]] = []
    modules: list[dict[str, Any]] = []
    custom: list[dict[str, Any]] = []
    tf_ops: list[dict[str, Any]] = []
    stack: list[tuple[str, Any]] = [("", doc)]
    budget = _MAX_OBJECTS
    while stack and budget:
        budget -= 1
        path, v = stack.pop()
        if isinstance(v, list):
            stack.extend((f"{path}[{i}]", x) for i, x in enumerate(v))
            continue
        if not isinstance(v, dict):
            continue
        stack.extend((f"{path}.{k}" if path else str(k), x) for k, x in v.items())
        cls = v.get("class_name")
        cfg = v.get("config")
        name = cfg.get("name") if isinstance(cfg, dict) else None
        if cls == "Lambda" and isinstance(cfg, dict):
            bytecode = _has_bytecode(cfg.get("function"))
            lambdas.append({"at": path, "layer": name, "bytecode": bytecode})
        if cls == "TFOpLambda" and isinstance(cfg, dict):
            fn = str(cfg.get("function", ""))
            if any(fn.startswith(p) or f".{p}" in fn for p in _TF_OP_RISKY):
                tf_ops.append({"at": path, "layer": name, "function": fn[:200]})
        module = v.get("module")
        if isinstance(module, str) and "class_name" in v:
            top = module.split(".", 1)[0]
            if top not in _KERAS_MODULES:
                modules.append({"at": path, "module": module[:200], "class_name": str(cls)[:200]})
        reg = v.get("registered_name")
        if isinstance(reg, str) and ">" in reg:
            package = reg.split(">", 1)[0]
            if package.split(".", 1)[0] not in _KERAS_MODULES:
                custom.append({"at": path, "registered_name": reg[:200]})
    if lambdas:
        with_code = [x for x in lambdas if x["bytecode"]]
        yield _f(
            blob,
            "keras.lambda",
            Severity.CRITICAL if with_code else Severity.HIGH,
            f"{where} has {len(lambdas)} Keras Lambda layer(s)"
            + (
                f", {len(with_code)} carrying marshalled Python bytecode that Keras rebuilds and "
                "runs when the model is loaded (CVE-2024-3660)"
                if with_code
                else " naming Python functions to call"
            ),
            layers=lambdas[:20],
        )
    if modules:
        yield _f(
            blob,
            "keras.module",
            Severity.HIGH,
            f"{where} names {len(modules)} object(s) from modules outside Keras "
            f"({', '.join(sorted({m['module'] for m in modules})[:5])}); deserialising imports "
            "them and calls what they name (CVE-2025-1550)",
            objects=modules[:20],
        )
    if custom:
        yield _f(
            blob,
            "keras.custom_object",
            Severity.MEDIUM,
            f"{where} uses {len(custom)} custom object(s) registered by other packages; their "
            "code runs when the model is loaded where they are registered",
            objects=custom[:20],
        )
    if tf_ops:
        yield _f(
            blob,
            "keras.tf_op",
            Severity.HIGH,
            f"{where} calls TensorFlow functions that touch files or run Python "
            f"({', '.join(sorted({t['function'] for t in tf_ops})[:5])})",
            layers=tf_ops[:20],
        )


def _has_bytecode(fn: Any) -> bool:
    """True when a Lambda's serialised function carries marshalled code (Keras 2 or 3 layout)."""
    import base64
    import binascii

    candidates: list[Any] = []
    if isinstance(fn, list) and fn:
        candidates.append(fn[0])
    elif isinstance(fn, dict):
        cfg = fn.get("config")
        if isinstance(cfg, dict):
            candidates.append(cfg.get("code"))
        candidates.append(cfg)
    elif isinstance(fn, str):
        candidates.append(fn)
    for c in candidates:
        if not isinstance(c, str) or len(c) < 8:
            continue
        try:
            raw = base64.b64decode(c + "=" * (-len(c) % 4))
        except (binascii.Error, ValueError):
            continue
        if raw[:1] in (b"\xe3", b"c") and (is_marshal(raw) or len(raw) < 20):
            return True
    return False


# ============================================================================ the scanner


class ModelScanner:
    """Scanner for Keras configs (JSON), HDF5 attributes and TF SavedModel protobufs."""

    name = "models"
    kinds: frozenset[ContentKind] = FAMILY_KINDS[ScannerName.MODELS]

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterator[ScanItem]:
        """Yield findings, skips and child blobs for ``blob`` (see the module docstring)."""
        if blob.kind is ContentKind.JSON:
            yield from self._json(blob, ctx)
        elif blob.kind is ContentKind.TF_SAVEDMODEL:
            yield from self._savedmodel(blob)
        elif _hdf5_offset(blob.data) is not None:
            yield from self._hdf5(blob, ctx)

    # -- JSON ---------------------------------------------------------------------------------

    def _json(self, blob: Blob, ctx: ScanContext) -> Iterator[ScanItem]:
        head = bytes(blob.data[:65536])
        if b'"class_name"' not in head or blob.size > ctx.limits.max_text_bytes:
            return
        try:
            doc = json.loads(bytes(blob.data).decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            return
        if not _is_keras_config(doc):
            return
        yield from keras_config_findings(blob, doc, "the Keras config")
        yield from json_payloads(blob, "keras config", doc)

    # -- SavedModel ---------------------------------------------------------------------------

    def _savedmodel(self, blob: Blob) -> Iterator[ScanItem]:
        data = bytes(blob.data)
        kind = looks_like_savedmodel(data)
        ops: dict[str, int] = {}
        metadata: list[tuple[str, bytes]] = []
        try:
            if kind == "keras_metadata":
                for node in sub_messages(data, 1):
                    for field, wire, value in pb_fields(node):
                        if field == 5 and wire == 2:
                            metadata.append(("keras_metadata", value))
            else:
                for meta_graph in sub_messages(data, 2):
                    graph_nodes = list(sub_messages(meta_graph, 2, 1))
                    graph_nodes += list(
                        sub_messages(meta_graph, 2, 2, 1, 3)
                    )  # library.function.node_def
                    for node in graph_nodes:
                        for field, wire, value in pb_fields(node):
                            if field == 2 and wire == 2:
                                op = value.decode("utf-8", "replace")
                                ops[op] = ops.get(op, 0) + 1
                    for obj in sub_messages(
                        meta_graph, 7, 1, 4
                    ):  # object_graph_def.nodes.user_object
                        for field, wire, value in pb_fields(obj):
                            if field == 3 and wire == 2 and value:
                                metadata.append(("object graph", value))
        except PbError as exc:
            yield _f(
                blob,
                "savedmodel.malformed",
                Severity.MEDIUM,
                f"the SavedModel protobuf does not parse ({exc}); it was not fully inspected",
            )
            return
        risky = {
            op: c for op, c in ops.items() if op in DANGEROUS_TF_OPS and op not in _CHECKPOINT_OPS
        }
        if risky:
            yield _f(
                blob,
                "savedmodel.op",
                Severity.HIGH,
                f"the TensorFlow graph uses ops that touch files or call Python: "
                f"{', '.join(sorted(risky))}",
                ops=risky,
            )
        for where, raw in metadata[:_MAX_OBJECTS]:
            try:
                doc = json.loads(raw)
            except (ValueError, RecursionError):
                continue
            yield from keras_config_findings(
                blob, doc, f"the SavedModel's Keras metadata ({where})"
            )
            yield from json_payloads(blob, f"{where} metadata", doc)

    # -- HDF5 ---------------------------------------------------------------------------------

    def _hdf5(self, blob: Blob, ctx: ScanContext) -> Iterator[ScanItem]:
        from datagate.scan._h5child import h5py_available, read_attributes

        if not h5py_available():
            from datagate.extras import missing_extra_message

            hint = missing_extra_message("h5py", "scan") or "h5py is not installed"
            yield Skip(
                blob.path,
                f"HDF5 attributes not inspected (Keras model_config, pickled attributes): {hint}",
                blob.member,
            )
            return
        timeout = min(_HDF5_SECONDS, ctx.limits.max_seconds_per_file)
        result = read_attributes(blob.data, timeout)
        if result.failure:
            yield _f(
                blob,
                "hdf5.unreadable",
                Severity.HIGH,
                f"the HDF5 library {'did not finish within ' + str(int(timeout)) + ' s' if result.failure == 'timeout' else 'crashed'} "
                "reading this file's attributes (malformed or hostile); they were not inspected",
                failure=result.failure,
            )
            return
        if result.error:
            yield _f(
                blob,
                "hdf5.unreadable",
                Severity.MEDIUM,
                f"HDF5 file could not be read ({result.error}); its attributes were not inspected",
            )
            return
        if result.unreadable or result.cut:
            yield Skip(
                blob.path,
                f"{len(result.unreadable)} HDF5 attribute(s) could not be read "
                f"{result.unreadable[:5]}{'; object/attribute budget reached' if result.cut else ''}",
                blob.member,
            )
        for path, key, values in result.attrs:
            where = f"{path}@{key}"
            for raw in values:
                if key in ("model_config", "training_config") and path == "/":
                    try:
                        doc = json.loads(raw)
                    except (ValueError, RecursionError, UnicodeDecodeError):
                        doc = None
                    if doc is not None:
                        yield from keras_config_findings(blob, doc, f"the HDF5 {key} attribute")
                yield from embedded_payloads(blob, where, raw)


def _hdf5_offset(data: bytes | memoryview) -> int | None:
    for off in (0, 512, 1024, 2048, 4096, 8192, 16384, 32768):
        if bytes(data[off : off + 8]) == b"\x89HDF\r\n\x1a\n":
            return off
    return None


MODEL_SCANNER = ModelScanner()
"""The module-level scanner instance the registry uses."""
