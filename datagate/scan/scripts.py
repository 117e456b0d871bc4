"""Scripts in a data repo: shebang files, shell, batch, PowerShell, Python, install hooks.

:data:`SCRIPT_SCANNER` inspects every blob it is handed but acts only on scripts: blobs sniffed as
a script kind, files whose *name* makes some tool run them (``*.py``, ``setup.py``, ``*.pth``,
``requirements.txt``, ``pyproject.toml``, ``package.json`` install hooks, ``.vscode/tasks.json``
run-on-open tasks, ``.Rprofile``, ``*.bat``, ``*.ps1``, ``*.vbs``, ``*.R`` ...), and text whose
content is unmistakably a script under a data name (a shebang, Python that parses and imports or
defines something, ``@echo off``) - THREATS.md B14 and B17.

Python is parsed with :func:`ast.parse` and never imported or executed. :func:`analyse_python`
reports process, network, exec/eval/dynamic import, dynamic attribute tricks, obfuscation,
file writes outside the dataset and credential reads, each with its line number. Source that
does not parse is a finding (``script.python.unparseable``), never silence; text above
``Limits.max_text_bytes`` is skipped with a reason and still reported as a script.

>>> from datagate.scan.interface import Blob, ContentKind, ScanContext
>>> src = b"import os\\nos.system('echo hi')\\n"
>>> blob = Blob("run.py", src, name="run.py", kind=ContentKind.PYTHON)
>>> sorted(f.rule for f in SCRIPT_SCANNER.scan(blob, ScanContext()))
['script.python', 'script.python.process']
"""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from datagate.models import Finding, Severity, Skip
from datagate.scan._patterns import lazy_compile
from datagate.scan.executables import has_data_extension
from datagate.scan.interface import Blob, ContentKind, ScanContext, ScanItem
from datagate.scan.registry import FAMILY_KINDS, ScannerName

__all__ = [
    "SCRIPT_SCANNER",
    "PythonAnalysis",
    "PythonHit",
    "ScriptScanner",
    "analyse_python",
    "python_hit_findings",
    "shell_pattern_hits",
]

# ---------------------------------------------------------------------------------------------
# Python analysis

_PROCESS_EXACT = frozenset(
    {
        "os.system", "os.popen", "os.popen2", "os.popen3", "os.popen4", "os.fork", "os.forkpty",
        "os.startfile", "os.posix_spawn", "os.posix_spawnp", "os.execl", "os.execle", "os.execlp",
        "os.execlpe", "os.execv", "os.execve", "os.execvp", "os.execvpe", "os.spawnl", "os.spawnle",
        "os.spawnlp", "os.spawnlpe", "os.spawnv", "os.spawnve", "os.spawnvp", "os.spawnvpe",
        "pty.spawn", "pty.fork", "platform.popen", "asyncio.create_subprocess_exec",
        "asyncio.create_subprocess_shell", "posix.system", "nt.system", "posix.popen",
    }
)  # fmt: skip
_PROCESS_PREFIX = ("subprocess.", "commands.", "popen2.", "pexpect.", "sh.", "plumbum.")
_NETWORK_PREFIX = (
    "socket.", "urllib.request.", "urllib.urlopen", "urllib.urlretrieve", "urllib2.",
    "requests.", "httpx.", "http.client.", "httplib.", "ftplib.", "smtplib.", "telnetlib.",
    "paramiko.", "aiohttp.", "urllib3.", "websocket.", "websockets.", "pycurl.", "xmlrpc.client.",
    "poplib.", "imaplib.", "nntplib.", "asyncio.open_connection", "ssl.wrap_socket",
)  # fmt: skip
_NETWORK_EXACT = frozenset({"socket", "urllib.request.urlopen"})
_EXEC_EXACT = frozenset(
    {
        "exec", "eval", "compile", "execfile", "__import__", "builtins.exec", "builtins.eval",
        "builtins.compile", "builtins.__import__", "importlib.import_module",
        "importlib.__import__", "imp.load_source", "imp.load_module", "imp.load_compiled",
        "imp.load_dynamic", "code.interact", "types.FunctionType", "types.CodeType",
        "pickle.load", "pickle.loads", "pickle.Unpickler", "cPickle.load", "cPickle.loads",
        "_pickle.load", "_pickle.loads", "dill.load", "dill.loads", "cloudpickle.load",
        "cloudpickle.loads", "joblib.load", "pandas.read_pickle", "torch.load", "marshal.loads",
        "marshal.load", "yaml.unsafe_load", "shelve.open",
    }
)  # fmt: skip
_EXEC_PREFIX = ("importlib.util.", "importlib.machinery.", "runpy.", "ctypes.", "cffi.", "_ctypes.",
                "code.InteractiveInterpreter", "code.InteractiveConsole")  # fmt: skip
_DECODE_EXACT = frozenset(
    {
        "codecs.decode", "binascii.unhexlify", "binascii.a2b_base64", "binascii.a2b_hex",
        "binascii.a2b_uu", "bytes.fromhex", "bytearray.fromhex", "zlib.decompress",
        "gzip.decompress", "bz2.decompress", "lzma.decompress", "marshal.loads",
    }
)  # fmt: skip
_DELETE_EXACT = frozenset(
    {"os.remove", "os.unlink", "os.rmdir", "os.removedirs", "shutil.rmtree", "shutil.move"}
)
_DUNDER_ATTRS = frozenset(
    {"__globals__", "__code__", "__subclasses__", "__builtins__", "__getattribute__",
     "f_globals", "f_locals", "f_builtins", "gi_frame", "tb_frame"}
)  # fmt: skip
_BUILTINS = frozenset({"exec", "eval", "compile", "execfile", "__import__", "getattr", "open",
                       "chr", "globals", "locals", "vars", "setattr", "input"})  # fmt: skip
_BUILTIN_NAMES = frozenset(dir(builtins))
_RISKY_ATTRS = frozenset(
    {"system", "popen", "exec", "eval", "spawn", "execv", "execve", "execl", "execvp", "run",
     "call", "check_call", "check_output", "Popen", "getoutput", "load", "loads", "__import__",
     "import_module", "compile"}
)  # fmt: skip
_SECRET_KEY = lazy_compile(
    r"TOKEN|KEY|SECRET|PASSW|CREDENTIAL|AUTH|SESSION|COOKIE|^AWS_|^HF_|HUGGING|GITHUB|PRIVATE",
    re.IGNORECASE,
)
_SECRET_PATH = lazy_compile(
    r"\.ssh\b|id_rsa|id_ed25519|\.aws/|\.aws\b|\.netrc|\.git-credentials|\.gitconfig|"
    r"\.huggingface|huggingface/token|\.kube/config|\.docker/config|\.pypirc|/etc/passwd|"
    r"/etc/shadow|\.bash_history|\.gnupg|Login Data|\.config/gcloud|keychain",
    re.IGNORECASE,
)
_B64_BLOB = lazy_compile(r"[A-Za-z0-9+/=_\-\s]{512,}")
_HEX_BLOB = lazy_compile(r"(?:[0-9a-fA-F]{2}|\\x[0-9a-fA-F]{2}){256,}")
_LOADER_BASES = ("GeneratorBasedBuilder", "ArrowBasedBuilder", "DatasetBuilder", "BeamBasedBuilder")

_RULE_FOR = {
    "process": "script.python.process",
    "network": "script.python.network",
    "exec": "script.python.exec",
    "dynamic": "script.python.dynamic",
    "obfuscation": "script.python.obfuscation",
    "filesystem": "script.python.filesystem",
    "credentials": "script.python.credentials",
}
_WHAT = {
    "process": "starts processes",
    "network": "opens network connections",
    "exec": "executes or loads code dynamically",
    "dynamic": "resolves functions through dynamic attribute tricks",
    "obfuscation": "decodes or hides code",
    "filesystem": "writes or deletes files outside the dataset",
    "credentials": "reads credentials or secrets",
}


@dataclass(frozen=True)
class PythonHit:
    """One suspicious construct found in Python source."""

    category: str
    """process, network, exec, dynamic, obfuscation, filesystem or credentials."""
    name: str
    """The resolved callable or construct (``os.system``, ``getattr(__import__(...))`` ...)."""
    line: int
    """1-based line number in the analysed source (after any offset)."""
    severity: Severity
    """How bad this construct is on its own."""
    scope: str = "<module>"
    """The enclosing function or class (``MyBuilder._info``), or ``<module>``."""


@dataclass(frozen=True)
class PythonAnalysis:
    """What :func:`analyse_python` found in one piece of Python source."""

    parsed: bool
    """False when the source did not parse (see ``error``)."""
    error: str | None = None
    """The parse error (message and line) when ``parsed`` is False."""
    hits: tuple[PythonHit, ...] = ()
    """Suspicious constructs in source order."""
    loader_classes: tuple[str, ...] = ()
    """Classes deriving from a ``datasets`` builder (Hub loading scripts, B14)."""
    imports: tuple[str, ...] = ()
    """Modules imported anywhere in the source."""
    defines_code: bool = False
    """True when the module imports, defines a function/class or calls something at top level."""


@dataclass
class _Ctx:
    aliases: dict[str, str] = field(default_factory=dict)
    star: list[str] = field(default_factory=list)
    local_defs: set[str] = field(default_factory=set)


def _dotted(node: ast.AST) -> str | None:
    """Return ``a.b.c`` for a Name/Attribute chain, else None."""
    parts: list[str] = []
    cur = node
    while isinstance(cur, ast.Attribute):
        parts.append(cur.attr)
        cur = cur.value
    if isinstance(cur, ast.Name):
        parts.append(cur.id)
        return ".".join(reversed(parts))
    if isinstance(cur, ast.Call):
        inner = _dotted(cur.func)
        if inner is not None and parts:
            # os.popen(...).read -> keep the call's target visible
            return inner + "()." + ".".join(reversed(parts))
    return None


def _resolve(name: str, ctx: _Ctx) -> str:
    head, _, rest = name.partition(".")
    if head in ctx.aliases:
        base = ctx.aliases[head]
        return f"{base}.{rest}" if rest else base
    if head in ctx.local_defs:
        return name
    if head in ("__builtins__", "builtins"):
        return f"builtins.{rest}" if rest else "builtins"
    return name


def _classify(resolved: str) -> tuple[str, Severity] | None:
    """Return (category, severity) for a resolved dotted name, or None when harmless."""
    if resolved in _PROCESS_EXACT or resolved.startswith(_PROCESS_PREFIX):
        return "process", Severity.HIGH
    if resolved in _EXEC_EXACT or resolved.startswith(_EXEC_PREFIX):
        return "exec", Severity.HIGH
    if resolved in _NETWORK_EXACT or resolved.startswith(_NETWORK_PREFIX):
        return "network", Severity.HIGH
    if resolved.startswith("base64.") and ("decode" in resolved or resolved.endswith("b64decode")):
        return "obfuscation", Severity.MEDIUM
    if resolved in _DECODE_EXACT:
        return "obfuscation", Severity.MEDIUM
    if resolved in _DELETE_EXACT:
        return "filesystem", Severity.MEDIUM
    return None


def _const_str(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _collect(tree: ast.AST, ctx: _Ctx) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """First pass: imports, aliases, locally defined names and classes with their bases."""
    imports: list[str] = []
    classes: list[tuple[str, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                imports.append(a.name)
                if a.asname:
                    ctx.aliases[a.asname] = a.name
                else:
                    top = a.name.split(".", 1)[0]
                    ctx.aliases[top] = top
        elif isinstance(node, ast.ImportFrom):
            mod = ("." * node.level) + (node.module or "")
            imports.append(mod)
            for a in node.names:
                if a.name == "*":
                    ctx.star.append(mod)
                else:
                    ctx.aliases[a.asname or a.name] = f"{mod}.{a.name}"
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            ctx.local_defs.add(node.name)
        elif isinstance(node, ast.ClassDef):
            ctx.local_defs.add(node.name)
            bases = [b for b in (_dotted(x) for x in node.bases) if b is not None]
            classes.append((node.name, bases))
    return imports, classes


def _loader_classes(classes: list[tuple[str, list[str]]], ctx: _Ctx) -> list[str]:
    found: set[str] = set()
    changed = True
    while changed:
        changed = False
        for name, bases in classes:
            if name in found:
                continue
            for b in bases:
                resolved = _resolve(b, ctx)
                last = resolved.rsplit(".", 1)[-1]
                if last in _LOADER_BASES or b in found:
                    found.add(name)
                    changed = True
                    break
    return sorted(found)


def _is_write_mode(call: ast.Call) -> bool:
    mode: ast.AST | None = call.args[1] if len(call.args) > 1 else None
    for kw in call.keywords:
        if kw.arg == "mode":
            mode = kw.value
    text = _const_str(mode)
    return text is not None and any(c in text for c in "wax+")


def _outside_path(node: ast.AST | None) -> bool:
    """Return True when a path expression points outside the dataset (absolute, ~, .., home)."""
    if node is None:
        return False
    for sub in ast.walk(node):
        text = _const_str(sub)
        if text is not None and (
            text.startswith(("/", "~", "\\")) or ".." in text or re.match(r"^[A-Za-z]:[\\/]", text)
        ):
            return True
        if isinstance(sub, ast.Attribute) and sub.attr in ("expanduser", "home", "gettempdir"):
            return True
    return False


def _is_chr_join(node: ast.Call) -> bool:
    """``"".join(chr(...) ...)`` or ``"".join(map(chr, ...))``."""
    if not (isinstance(node.func, ast.Attribute) and node.func.attr == "join" and node.args):
        return False
    for sub in ast.walk(node.args[0]):
        if isinstance(sub, ast.Name) and sub.id == "chr":
            return True
    return False


def _chr_concat(node: ast.BinOp) -> int:
    """Count chr(...) calls in a chain of ``+`` (``chr(111)+chr(115)``...)."""
    count = 0
    stack: list[ast.AST] = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, ast.BinOp) and isinstance(cur.op, ast.Add):
            stack.extend((cur.left, cur.right))
        elif isinstance(cur, ast.Call) and isinstance(cur.func, ast.Name) and cur.func.id == "chr":
            count += 1
    return count


_MAX_HITS = 10_000


def analyse_python(source: bytes | str, *, line_offset: int = 0) -> PythonAnalysis:
    """Parse Python ``source`` with :mod:`ast` (never executing it) and return what it does.

    ``line_offset`` is added to every reported line (for a notebook cell or a ``.pth`` line).
    Never raises: source that does not parse (syntax error, null bytes, nesting too deep for the
    parser) returns ``PythonAnalysis(parsed=False, error=...)``.
    """
    try:
        tree = ast.parse(source, filename="<datagate>", mode="exec")
    except SyntaxError as e:
        line = (e.lineno or 0) + line_offset
        return PythonAnalysis(parsed=False, error=f"{e.msg} (line {line})")
    except (ValueError, RecursionError, MemoryError, OverflowError) as e:
        return PythonAnalysis(parsed=False, error=f"{type(e).__name__}: {e}"[:200])
    ctx = _Ctx()
    imports, classes = _collect(tree, ctx)
    loaders = _loader_classes(classes, ctx)
    hits: list[PythonHit] = []
    defines_code = any(
        isinstance(n, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef,
                       ast.ClassDef))
        or (isinstance(n, ast.Expr) and isinstance(n.value, ast.Call))
        for n in tree.body
    )  # fmt: skip

    def add(cat: str, name: str, node: ast.AST, sev: Severity, scope: str) -> None:
        if len(hits) < _MAX_HITS:
            line = getattr(node, "lineno", 0) + line_offset
            hits.append(PythonHit(cat, name, line, sev, scope))

    # iterative walk carrying (scope, inside-exec-argument, is-attribute-base)
    stack: list[tuple[ast.AST, str, bool, bool]] = [(tree, "<module>", False, False)]
    inner_adds: set[int] = set()  # nested ``+`` nodes already counted by their top-most chain
    while stack:
        node, scope, in_exec, is_base = stack.pop()
        child_scope = scope
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            child_scope = node.name if scope == "<module>" else f"{scope}.{node.name}"
        child_exec = in_exec
        if isinstance(node, ast.Call):
            child_exec = _visit_call(node, ctx, scope, in_exec, add) or in_exec
        elif isinstance(node, (ast.Attribute, ast.Name)) and not is_base:
            if isinstance(getattr(node, "ctx", None), ast.Load):
                _visit_ref(node, ctx, scope, add)
        elif isinstance(node, ast.Subscript):
            _visit_subscript(node, ctx, scope, add)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            for side in (node.left, node.right):
                if isinstance(side, ast.BinOp) and isinstance(side.op, ast.Add):
                    inner_adds.add(id(side))
            n = 0 if id(node) in inner_adds else _chr_concat(node)
            if n >= 4:
                add(
                    "obfuscation",
                    f"chr() concatenation x{n}",
                    node,
                    Severity.CRITICAL if in_exec else Severity.MEDIUM,
                    scope,
                )
        elif isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)):
            _visit_const(node, scope, in_exec, add)
        if isinstance(node, ast.Attribute) and node.attr in _DUNDER_ATTRS:
            add("dynamic", f"attribute {node.attr}", node, Severity.HIGH, scope)
        for child in reversed(list(ast.iter_child_nodes(node))):
            base = isinstance(node, ast.Attribute) and child is node.value
            if isinstance(node, ast.Call) and child is node.func:
                base = True  # the call already classified its target
            stack.append((child, child_scope, child_exec, base))

    # a decode or chr-join whose result reaches exec/eval is the classic payload shape
    if any(h.category == "exec" for h in hits):
        for i, h in enumerate(hits):
            if (
                h.category == "obfuscation"
                and h.severity is Severity.MEDIUM
                and h.name.startswith("large ")
            ):
                hits[i] = PythonHit(h.category, h.name, h.line, Severity.HIGH, h.scope)
    if any(h.category == "network" for h in hits):
        for i, h in enumerate(hits):
            if h.category == "credentials":
                hits[i] = PythonHit(h.category, h.name, h.line, Severity.CRITICAL, h.scope)
    hits.sort(key=lambda h: (h.line, h.category, h.name))
    return PythonAnalysis(
        parsed=True,
        hits=tuple(hits),
        loader_classes=tuple(loaders),
        imports=tuple(sorted(set(imports))),
        defines_code=defines_code,
    )


def _visit_call(node: ast.Call, ctx: _Ctx, scope: str, in_exec: bool, add: Any) -> bool:
    """Classify one call; return True when its arguments feed code execution."""
    name = _dotted(node.func)
    resolved = _resolve(name, ctx) if name is not None else None
    if (
        ctx.star
        and resolved is not None
        and "." not in resolved
        and resolved not in ctx.aliases
        and resolved not in ctx.local_defs
        and resolved not in _BUILTIN_NAMES
    ):
        # a bare name from a star import: from subprocess import * ; call(...)
        for mod in ctx.star:
            if _classify(f"{mod}.{resolved}") is not None:
                resolved = f"{mod}.{resolved}"
                break
    feeds_exec = False
    if resolved is not None and "." not in resolved and resolved in ctx.local_defs:
        resolved = None  # a function the file defines itself (def compile(...)), not the builtin
    if resolved is not None:
        cls = _classify(resolved)
        if cls is not None:
            cat, sev = cls
            if cat == "obfuscation" and in_exec:
                sev = Severity.CRITICAL
            add(cat, resolved, node, sev, scope)
            feeds_exec = cat == "exec"
        elif resolved == "getattr" and node.args:
            target = node.args[0]
            tname = _dotted(target.func) if isinstance(target, ast.Call) else _dotted(target)
            tres = _resolve(tname, ctx) if tname else ""
            if isinstance(target, ast.Call) and tres in (
                "__import__",
                "importlib.import_module",
                "builtins.__import__",
                "globals",
                "locals",
                "vars",
            ):
                add("dynamic", f"getattr({tres}(...), ...)", node, Severity.HIGH, scope)
            elif tres in ("builtins", "__builtins__") or tres.startswith("builtins"):
                add("dynamic", "getattr(builtins, ...)", node, Severity.HIGH, scope)
            elif (
                len(node.args) > 1
                and _const_str(node.args[1]) is None
                and tres in ctx.aliases.values()
            ):
                add("dynamic", f"getattr({tres}, <computed>)", node, Severity.HIGH, scope)
            elif len(node.args) > 1:
                attr = _const_str(node.args[1])
                if attr is not None and tres:
                    cls2 = _classify(f"{tres}.{attr}")
                    if cls2 is not None:
                        add(cls2[0], f"getattr({tres}, {attr!r})", node, Severity.HIGH, scope)
        elif (
            resolved == "open"
            and _is_write_mode(node)
            and node.args
            and _outside_path(node.args[0])
        ):
            add("filesystem", "open(<outside path>, write)", node, Severity.HIGH, scope)
        elif resolved in ("os.getenv", "os.environ.get", "os.environ.pop", "os.getenvb"):
            key = _const_str(node.args[0]) if node.args else None
            if key is not None and _SECRET_KEY.search(key):
                add("credentials", f"{resolved}({key!r})", node, Severity.HIGH, scope)
        elif resolved in ("os.environ.copy", "os.environ.items", "os.environ.values"):
            add("credentials", resolved, node, Severity.MEDIUM, scope)
        elif resolved in ("setattr", "builtins.setattr") and node.args:
            tname = _dotted(node.args[0])
            if tname and _resolve(tname, ctx).startswith("builtins"):
                add("dynamic", "setattr(builtins, ...)", node, Severity.HIGH, scope)
        elif resolved in ("operator.methodcaller", "operator.attrgetter") and node.args:
            attr = _const_str(node.args[0])
            risky = attr is None or attr.split(".")[-1] in _RISKY_ATTRS
            add(
                "dynamic",
                f"{resolved}({attr!r})" if attr is not None else f"{resolved}(<computed>)",
                node,
                Severity.HIGH if risky else Severity.MEDIUM,
                scope,
            )
    if _is_chr_join(node):
        add(
            "obfuscation",
            "''.join(chr(...))",
            node,
            Severity.CRITICAL if in_exec else Severity.MEDIUM,
            scope,
        )
    return feeds_exec


def _visit_ref(node: ast.AST, ctx: _Ctx, scope: str, add: Any) -> None:
    """A dangerous callable referenced without a call (``f = os.system``; ``map(eval, ...)``)."""
    name = _dotted(node)
    if name is None or "." not in name and name not in ("exec", "eval", "compile", "__import__"):
        return
    resolved = _resolve(name, ctx)
    if name in ("exec", "eval", "compile", "__import__") and name in ctx.local_defs:
        return
    cls = _classify(resolved)
    if cls is not None and cls[0] in ("process", "exec"):
        add(cls[0], f"reference to {resolved}", node, cls[1], scope)
    elif resolved in ("os.environ",):
        pass


def _visit_subscript(node: ast.Subscript, ctx: _Ctx, scope: str, add: Any) -> None:
    value = node.value
    key = _const_str(node.slice)
    if isinstance(value, ast.Call):
        fname = _dotted(value.func)
        if fname in ("globals", "locals", "vars"):
            add("dynamic", f"{fname}()[...]", node, Severity.HIGH, scope)
            return
    vname = _dotted(value)
    if vname is None:
        return
    resolved = _resolve(vname, ctx)
    if resolved in ("builtins.__dict__", "builtins", "__builtins__") or vname == "__builtins__":
        add("dynamic", f"{vname}[...]", node, Severity.HIGH, scope)
    elif resolved == "sys.modules" and isinstance(node.ctx, ast.Load):
        add("dynamic", "sys.modules[...]", node, Severity.MEDIUM, scope)
    elif resolved == "os.environ" and key is not None and _SECRET_KEY.search(key):
        add("credentials", f"os.environ[{key!r}]", node, Severity.HIGH, scope)


def _visit_const(node: ast.Constant, scope: str, in_exec: bool, add: Any) -> None:
    value = node.value
    if isinstance(value, str):
        text = value
    elif isinstance(value, bytes):
        text = value.decode("latin-1")
    else:
        return
    secret = _SECRET_PATH.search(text) if len(text) >= 3 else None
    if secret is not None:
        add("credentials", f"path {secret.group(0)!r}", node, Severity.HIGH, scope)
    if len(text) >= 512:
        compact = "".join(text.split())
        if len(compact) >= 512 and (_B64_BLOB.fullmatch(text) or _HEX_BLOB.fullmatch(compact)):
            add(
                "obfuscation",
                f"large encoded constant ({len(text)} chars)",
                node,
                Severity.CRITICAL if in_exec else Severity.MEDIUM,
                scope,
            )


def python_hit_findings(
    hits: Iterable[PythonHit],
    *,
    path: str,
    member: str | None,
    rule_for: dict[str, str] | None = None,
    subject: str = "",
    category: str = "script",
    extra: dict[str, Any] | None = None,
) -> list[Finding]:
    """Group ``hits`` by category into one finding each (rule ``script.python.<category>``).

    Each finding's severity is the worst of its hits; evidence lists the hits (name, line, scope).
    ``rule_for`` overrides the rule per category (notebooks use ``notebook.code...``). Never raises.
    """
    rules = rule_for or _RULE_FOR
    by_cat: dict[str, list[PythonHit]] = {}
    for h in hits:
        by_cat.setdefault(h.category, []).append(h)
    out: list[Finding] = []
    for cat in sorted(by_cat):
        group = by_cat[cat]
        sev = max((h.severity for h in group), key=lambda s: s.rank)
        shown = group[:50]
        names = sorted({h.name for h in group})
        lines = ", ".join(str(h.line) for h in shown[:8])
        evidence: dict[str, Any] = {
            "count": len(group),
            "calls": [{"name": h.name, "line": h.line, "scope": h.scope} for h in shown],
        }
        if extra:
            evidence.update(extra)
        out.append(
            Finding(
                path=path,
                member=member,
                rule=rules.get(cat, f"script.python.{cat}"),
                category=category,
                severity=sev,
                message=(
                    f"{subject or path} {_WHAT.get(cat, cat)}: {', '.join(names[:5])}"
                    f"{' ...' if len(names) > 5 else ''} (line {lines})"
                ),
                evidence=evidence,
            )
        )
    return out


# ---------------------------------------------------------------------------------------------
# shell, batch, PowerShell


@dataclass(frozen=True)
class _Pattern:
    """A dangerous construct in shell/batch/PowerShell text.

    Matching runs on lower-cased text and only when one of ``keywords`` occurs in it (a C-speed
    substring test), so a large script without them costs one pass of ``str.lower``. When
    ``confirm`` is set, ``rx`` anchors on a rare token and ``confirm`` must match the same line
    before it (no unbounded look-behind scans on hostile input).
    """

    label: str
    rx: re.Pattern[str]
    severity: Severity
    keywords: tuple[str, ...]
    confirm: re.Pattern[str] | None = None


def _p(
    label: str, rx: str, sev: Severity, keywords: tuple[str, ...], confirm: str | None = None
) -> _Pattern:
    assert re.search(r"\\[A-Z]", rx) is None, "patterns run on lower-cased text"
    return _Pattern(
        label,
        lazy_compile(rx.lower(), re.MULTILINE),
        sev,
        keywords,
        lazy_compile(confirm) if confirm else None,
    )


_SHELL_PATTERNS: tuple[_Pattern, ...] = (
    _p("download piped to a shell", r"\|[ \t]*(sudo[ \t]+)?(ba|z|k|da|c)?sh\b", Severity.CRITICAL, ("sh",), r"\b(curl|wget|fetch)\b"),
    _p("reverse shell", r"/dev/(tcp|udp)/|\bbash[ \t]+-i\b", Severity.CRITICAL, ("/dev/tcp", "/dev/udp", "bash")),
    _p("reverse shell", r"[ \t]-[ce][ \t]", Severity.CRITICAL, ("nc",), r"\bnc(at)?\b"),
    _p("reverse shell", r"\bexec", Severity.CRITICAL, ("socat",), r"\bsocat\b"),
    _p("base64 decode", r"base64[ \t]+(-d|--decode)\b", Severity.HIGH, ("base64",)),
    _p("recursive delete of / or ~", r"\brm[ \t]+-(?=[a-z]{0,10}r)[a-z]{1,10}[ \t]+(/|~|\$home)", Severity.HIGH, ("rm",)),
    _p("credential path", r"~/\.ssh|\.ssh/id_|\.aws/credentials|/etc/shadow|/etc/passwd|\.netrc|\.git-credentials|huggingface/token", Severity.HIGH, (".ssh", ".aws", "/etc/", ".netrc", "credentials", "huggingface")),
    _p("persistence", r"\bcrontab\b|\bsystemctl[ \t]+enable\b|\.(bashrc|profile|zshrc)\b|authorized_keys", Severity.HIGH, ("crontab", "systemctl", "bashrc", "profile", "zshrc", "authorized_keys")),
    _p("network download", r"\b(curl|wget|scp|rsync|ftp|nc)\b", Severity.MEDIUM, ("curl", "wget", "scp", "rsync", "ftp", "nc")),
    _p("eval", r"\beval\b", Severity.MEDIUM, ("eval",)),
    _p("inline interpreter", r"\b(python[23]?|perl|ruby|node)[ \t]+-(c|e)\b", Severity.MEDIUM, ("python", "perl", "ruby", "node")),
    _p("chmod +x", r"\bchmod[ \t]+(\+x|[0-7]{0,3}[1357][0-7]{0,3}\b)", Severity.MEDIUM, ("chmod",)),
)  # fmt: skip
_BATCH_PATTERNS: tuple[_Pattern, ...] = (
    _p("powershell invocation", r"\bpowershell(\.exe)?\b", Severity.HIGH, ("powershell",)),
    _p("LOLBin download", r"\bbitsadmin\b|\bmshta\b|\brundll32\b", Severity.HIGH, ("bitsadmin", "mshta", "rundll32")),
    _p("LOLBin download", r"-urlcache", Severity.HIGH, ("certutil",), r"\bcertutil\b"),
    _p("LOLBin download", r"/i:", Severity.HIGH, ("regsvr32",), r"\bregsvr32\b"),
    _p("script host", r"\b(wscript|cscript)\b", Severity.HIGH, ("wscript", "cscript")),
    _p("registry or scheduled task", r"\breg[ \t]+add\b|\bschtasks\b|\bvssadmin\b", Severity.HIGH, ("reg", "schtasks", "vssadmin")),
    _p("forced delete", r"\b(del|erase)[ \t]+/[fsq]|\brd[ \t]+/s\b|\bformat[ \t]+[a-z]:", Severity.HIGH, ("del", "erase", "rd", "format")),
    _p("network download", r"\b(curl|wget|ftp)\b|\bstart[ \t]+https?:", Severity.MEDIUM, ("curl", "wget", "ftp", "http")),
)  # fmt: skip
_PS_PATTERNS: tuple[_Pattern, ...] = (
    _p("Invoke-Expression", r"\binvoke-expression\b|\biex\b", Severity.HIGH, ("invoke-expression", "iex")),
    _p("download", r"downloadstring|downloadfile|downloaddata|invoke-webrequest|\biwr\b|invoke-restmethod|\birm\b|net\.webclient|start-bitstransfer", Severity.HIGH, ("download", "invoke-webrequest", "iwr", "invoke-restmethod", "irm", "webclient", "bitstransfer")),
    _p("encoded command", r"[ \t]-e(nc(odedcommand)?)?[ \t]+[a-z0-9+/=]{16,}|frombase64string", Severity.HIGH, ("-e", "frombase64string")),
    _p("process start", r"\bstart-process\b|\binvoke-item\b|\[diagnostics\.process\]", Severity.HIGH, ("start-process", "invoke-item", "diagnostics.process")),
    _p("native code", r"\badd-type\b|reflection\.assembly|\bdllimport\b|virtualalloc", Severity.HIGH, ("add-type", "reflection.assembly", "dllimport", "virtualalloc")),
    _p("defence tampering", r"set-mppreference|add-mppreference|executionpolicy[ \t]+bypass|-ep[ \t]+bypass|amsiutils", Severity.HIGH, ("mppreference", "bypass", "amsiutils")),
    _p("credential access", r"get-credential|convertto-securestring|\$env:\w{0,64}(token|key|secret)", Severity.HIGH, ("get-credential", "securestring", "$env:")),
)  # fmt: skip

_LANG_PATTERNS = {"shell": _SHELL_PATTERNS, "batch": _BATCH_PATTERNS, "powershell": _PS_PATTERNS}
_MAX_CONFIRM_TRIES = 200


def shell_pattern_hits(text: str, lang: str = "shell") -> list[dict[str, Any]]:
    """Return dangerous-pattern hits (pattern, line, severity, text) in ``text`` for ``lang``.

    ``lang`` is ``shell``, ``batch`` or ``powershell``; an unknown language returns ``[]``.
    Each regex is applied once (first match per pattern). Never raises.
    """
    patterns = _LANG_PATTERNS.get(lang)
    return _pattern_hits(text, patterns) if patterns else []


def _pattern_hits(text: str, patterns: tuple[_Pattern, ...]) -> list[dict[str, Any]]:
    low = text.lower()
    if len(low) != len(text):  # a few non-ASCII characters change length when lowered
        low = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for pat in patterns:
        if pat.label in seen or not any(k in low for k in pat.keywords):
            continue
        found = None
        for n, m in enumerate(pat.rx.finditer(low)):
            if pat.confirm is None:
                found = m
                break
            if n >= _MAX_CONFIRM_TRIES:
                break
            line_start = low.rfind("\n", max(0, m.start() - 2000), m.start()) + 1
            if pat.confirm.search(low, max(line_start, m.start() - 2000), m.start()):
                found = m
                break
        if found is None:
            continue
        seen.add(pat.label)
        start = found.start()
        if pat.confirm is not None:
            start = low.rfind("\n", 0, start) + 1
        line = text.count("\n", 0, found.start()) + 1
        snippet = text[start : start + 120].split("\n", 1)[0]
        out.append(
            {"pattern": pat.label, "line": line, "severity": pat.severity.value, "text": snippet}
        )
    return out


# ---------------------------------------------------------------------------------------------
# classification of blobs

_SHELL_INTERP = frozenset(
    {"sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "busybox", "fish", "csh", "tcsh"}
)
_PY_INTERP = lazy_compile(r"^(python|pypy|ipython)[0-9.]*$")
_PY_NAMES = frozenset({"setup.py", "conftest.py", "sitecustomize.py", "usercustomize.py",
                       "__init__.py", "noxfile.py", "fabfile.py", "dodo.py", "manage.py"})  # fmt: skip
_PKG_NAMES = frozenset({"pyproject.toml", "setup.cfg", "pipfile", "pipfile.lock", "environment.yml",
                        "environment.yaml", "tox.ini", "poetry.lock", "meta.yaml", "conda.yaml"})  # fmt: skip
_OTHER_LANG_EXT = frozenset(
    {"r", "rmd", "jl", "pl", "pm", "rb", "php", "lua", "tcl", "mjs", "cjs", "ts", "groovy", "scala",
     "kts", "swift", "applescript", "scpt", "ahk", "au3", "nsi", "iss"}
)  # fmt: skip
"""Source in other interpreted languages: a script in a data repo, run only when invoked."""
_AUTORUN_NAMES = frozenset({".rprofile", "rprofile.site", "startup.jl", ".juliarc.jl", "_rprofile"})
"""Files an interpreter runs automatically when started in the folder (R, Julia)."""
_WSH_EXT = frozenset({"vbs", "vbe", "jse", "wsf", "wsh", "hta", "sct", "wsc", "ps1xml", "msc"})
_PY_HINT = lazy_compile(
    rb"^(?:import[ \t]+[A-Za-z_][\w.]*|from[ \t]+[A-Za-z_.][\w.]*[ \t]+import[ \t]|"
    rb"def[ \t]+\w+[ \t]*\(|class[ \t]+\w+[ \t]*[(:]|exec[ \t]*\(|eval[ \t]*\()",
    re.MULTILINE,
)
# Only the start of the file counts: CSV/text datasets of code legitimately contain batch lines.
_BATCH_HINT = lazy_compile(rb"\A(?:\xef\xbb\xbf)?\s*@echo\s+off\b", re.IGNORECASE)
_SNIFF_PREFIX = 64 * 1024
_NPM_HOOK = lazy_compile(rb'"(preinstall|install|postinstall|prepare|preprepare|postprepare)"\s*:')
_VSCODE_AUTORUN = lazy_compile(r'"runOn"\s*:\s*"folderOpen"')
_REQ_REMOTE = lazy_compile(
    r"^[ \t]*(-i|--index-url|--extra-index-url|--trusted-host|-f|--find-links|-e|--editable|"
    r"-r|--requirement|-c|--constraint)\b|(git|hg|svn|bzr)\+|https?://|ftp://|file:|\s@\s",
    re.IGNORECASE,
)


def _ext(name: str) -> str:
    base = name.lower()
    return base.rsplit(".", 1)[-1] if "." in base else ""


def _is_requirements(name: str, path: str) -> bool:
    low = name.lower()
    return (
        (low.startswith("requirements") and low.endswith((".txt", ".in")))
        or (low.endswith(".txt") and "/requirements/" in f"/{path.lower()}")
        or low in ("constraints.txt", "dev-requirements.txt")
    )


def _interpreter(first_line: str) -> tuple[str, str]:
    """Return (interpreter basename, full shebang) of a ``#!`` line."""
    line = first_line[2:].strip()
    parts = line.split()
    if not parts:
        return "", line
    prog = parts[0].rsplit("/", 1)[-1]
    if prog == "env":
        args = [p for p in parts[1:] if not p.startswith("-") and "=" not in p]
        prog = args[0].rsplit("/", 1)[-1] if args else "env"
    return prog, line


class ScriptScanner:
    """Scanner for scripts in data repos (see the module docstring).

    Yields a role finding per script (``script.python`` medium, ``script.python.loader`` high,
    ``script.python.setup``/``.startup`` high, ``script.pth``, ``script.requirements[.remote]``,
    ``script.packaging``, ``script.shell``/``batch``/``powershell``/``shebang``/``wsh``),
    behaviour findings (``script.python.<category>`` with line numbers, ``script.<lang>.dangerous``),
    ``script.disguised`` (high) when a script sits under a data-looking name, and a
    :class:`~datagate.models.Skip` for text above ``max_text_bytes``. Never raises.
    """

    name = "scripts"
    kinds: frozenset[ContentKind] = FAMILY_KINDS[ScannerName.SCRIPTS]

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterator[ScanItem]:
        """Yield script findings for ``blob``; see the class docstring."""
        name = blob.name or blob.path.rsplit("/", 1)[-1]
        low = name.lower()
        ext = _ext(low)
        lang = self._language(blob, low, ext)
        if lang is None:
            return
        # .pth is also PyTorch's weight extension; requirements*.txt is meant to be text
        disguised = lang not in (
            "pth",
            "requirements",
            "packaging",
            "npm",
            "vscode",
        ) and has_data_extension(low)
        if blob.size > ctx.limits.max_text_bytes:
            yield Skip(
                blob.path,
                f"{lang} script of {blob.size} bytes exceeds max_text_bytes "
                f"({ctx.limits.max_text_bytes}); not parsed",
                blob.member,
            )
            yield self._role(
                blob, name, lang, Severity.MEDIUM, {"parsed": False, "size": blob.size}
            )
            if disguised:
                yield self._disguised(blob, name, lang)
            return
        data = bytes(blob.data)
        if lang == "python":
            yield from self._python(blob, name, low, data)
        elif lang == "pth":
            yield from self._pth(blob, name, data)
        elif lang == "requirements":
            yield from self._requirements(blob, name, data)
        elif lang == "packaging":
            text = data.decode("utf-8", "replace")
            backend = re.search(r"build-backend\s*=\s*[\"']([^\"']+)", text)
            ev: dict[str, Any] = {"file": low}
            if backend:
                ev["build_backend"] = backend.group(1)
            if "backend-path" in text:
                ev["backend_path"] = True
            yield Finding(
                blob.path,
                "script.packaging",
                "script",
                Severity.MEDIUM,
                f"{name} is Python packaging metadata in a data repo; installing the repo "
                "runs its build hooks",
                blob.member,
                ev,
            )
        elif lang == "npm":
            hooks = sorted({m.group(1).decode() for m in _NPM_HOOK.finditer(data)})
            yield Finding(
                blob.path,
                "script.packaging",
                "script",
                Severity.HIGH,
                f"{name} defines npm lifecycle scripts ({', '.join(hooks)}) that run on npm install",
                blob.member,
                {"file": low, "hooks": hooks},
            )
        elif lang == "vscode":
            text = data.decode("utf-8", "replace")
            auto = _VSCODE_AUTORUN.search(text) is not None
            yield Finding(
                blob.path,
                "script.vscode_task",
                "script",
                Severity.HIGH if auto else Severity.MEDIUM,
                f"{name} defines VS Code tasks"
                + (" that run automatically when the folder is opened" if auto else ""),
                blob.member,
                {"run_on_folder_open": auto},
            )
        elif lang in ("other", "autorun"):
            auto = lang == "autorun"
            yield Finding(
                blob.path,
                "script.autorun" if auto else "script.other",
                "script",
                Severity.HIGH if auto else Severity.MEDIUM,
                f"{name} is "
                + (
                    "a startup file its interpreter runs automatically in this folder"
                    if auto
                    else f"a .{ext} script; a dataset should not ship code"
                ),
                blob.member,
                {"extension": ext},
            )
        elif lang == "wsh":
            sev = Severity.LOW if ext == "js" else Severity.HIGH
            yield Finding(
                blob.path,
                "script.wsh",
                "script",
                sev,
                f"{name} is a Windows Script Host / HTA script that runs when opened",
                blob.member,
                {"extension": ext},
            )
        else:
            yield from self._shellish(blob, name, lang, data)
        if disguised:
            yield self._disguised(blob, name, lang)

    # -- classification ------------------------------------------------------------------------

    def _language(self, blob: Blob, low: str, ext: str) -> str | None:
        kind = blob.kind
        head = bytes(blob.data[:2])
        if head == b"#!":
            first = bytes(blob.data[:512]).split(b"\n", 1)[0].decode("utf-8", "replace")
            prog, _ = _interpreter(first)
            if _PY_INTERP.match(prog):
                return "python"
            if prog in _SHELL_INTERP:
                return "shell"
            if prog.lower().startswith(("pwsh", "powershell")):
                return "powershell"
            return "shebang"
        if low.endswith(".pth"):
            return "pth"
        if ext in ("py", "pyw", "pyi") or low in _PY_NAMES:
            return "python"
        if _is_requirements(low, blob.path):
            return "requirements"
        if low in _PKG_NAMES:
            return "packaging"
        if low == "package.json" and _NPM_HOOK.search(bytes(blob.data[:_SNIFF_PREFIX])):
            return "npm"
        if low == "tasks.json" and "/.vscode/" in f"/{blob.member or blob.path}":
            return "vscode"
        if low == ".envrc":
            return "shell"
        if low in _AUTORUN_NAMES:
            return "autorun"
        if ext in _OTHER_LANG_EXT and kind in (ContentKind.TEXT, ContentKind.CSV, None):
            return "other"  # by name only when the bytes are text (.ts is also MPEG video)
        if ext in ("sh", "bash", "zsh", "ksh", "command"):
            return "shell"
        if ext in ("bat", "cmd"):
            return "batch"
        if ext in ("ps1", "psm1", "psd1"):
            return "powershell"
        if ext in _WSH_EXT or ext == "js" and kind in (ContentKind.TEXT, None):
            return "wsh"
        if kind is ContentKind.PYTHON:
            return "python"
        if kind is ContentKind.SHELL:
            return "shell"
        if kind is ContentKind.BATCH:
            return "batch"
        if kind is ContentKind.POWERSHELL:
            return "powershell"
        if kind is ContentKind.SHEBANG:
            return "shebang"
        if kind in (ContentKind.TEXT, ContentKind.CSV, ContentKind.BINARY, ContentKind.YAML, None):
            prefix = bytes(blob.data[:_SNIFF_PREFIX])
            if _BATCH_HINT.search(prefix):
                return "batch"
            if _PY_HINT.search(prefix) and blob.size <= 4 * 1024 * 1024:
                a = analyse_python(bytes(blob.data))
                if a.parsed and a.defines_code and (a.imports or a.hits or a.loader_classes):
                    return "python"
        return None

    # -- per language ---------------------------------------------------------------------------

    def _role(self, blob: Blob, name: str, lang: str, sev: Severity, ev: dict[str, Any]) -> Finding:
        rule = {
            "python": "script.python",
            "shell": "script.shell",
            "batch": "script.batch",
            "powershell": "script.powershell",
            "shebang": "script.shebang",
            "pth": "script.pth",
            "requirements": "script.requirements",
            "packaging": "script.packaging",
            "wsh": "script.wsh",
        }.get(lang, "script.other")
        what = {
            "python": "Python source",
            "shell": "a shell script",
            "batch": "a Windows batch file",
            "powershell": "a PowerShell script",
            "shebang": "a script with a #! line",
            "pth": "a .pth path-configuration file",
            "requirements": "a pip requirements file",
            "packaging": "packaging metadata",
            "wsh": "a Windows script",
        }.get(lang, lang)
        return Finding(
            blob.path,
            rule,
            "script",
            sev,
            f"{name} is {what}; a dataset should not ship code",
            blob.member,
            ev,
        )

    def _disguised(self, blob: Blob, name: str, lang: str) -> Finding:
        return Finding(
            blob.path,
            "script.disguised",
            "script",
            Severity.HIGH,
            f"{name} is named like data but is a {lang} script",
            blob.member,
            {"language": lang, "name": name},
        )

    def _python(self, blob: Blob, name: str, low: str, data: bytes) -> Iterator[Finding]:
        analysis = analyse_python(data)
        ev: dict[str, Any] = {"parsed": analysis.parsed}
        if data[:2] == b"#!":
            ev["shebang"] = data.split(b"\n", 1)[0][2:].decode("utf-8", "replace").strip()
        if analysis.imports:
            ev["imports"] = list(analysis.imports[:50])
        if not analysis.parsed:
            yield self._role(blob, name, "python", Severity.MEDIUM, ev)
            yield Finding(
                blob.path,
                "script.python.unparseable",
                "script",
                Severity.MEDIUM,
                f"{name} looks like Python but does not parse ({analysis.error}); "
                "it was not analysed",
                blob.member,
                {"error": analysis.error},
            )
            return
        if analysis.loader_classes:
            ev["builder_classes"] = list(analysis.loader_classes)
            yield Finding(
                blob.path,
                "script.python.loader",
                "script",
                Severity.HIGH,
                f"{name} is a Hub dataset loading script (builder "
                f"{', '.join(analysis.loader_classes)}); loaders that trust remote code "
                "run it",
                blob.member,
                ev,
            )
        elif low == "setup.py":
            yield Finding(
                blob.path,
                "script.python.setup",
                "script",
                Severity.HIGH,
                f"{name} runs on pip install of this repo",
                blob.member,
                ev,
            )
        elif low in ("sitecustomize.py", "usercustomize.py"):
            yield Finding(
                blob.path,
                "script.python.startup",
                "script",
                Severity.HIGH,
                f"{name} runs at every interpreter start when on sys.path",
                blob.member,
                ev,
            )
        elif low == "conftest.py":
            ev["note"] = "pytest imports conftest.py automatically"
            yield self._role(blob, name, "python", Severity.MEDIUM, ev)
        else:
            yield self._role(blob, name, "python", Severity.MEDIUM, ev)
        yield from python_hit_findings(
            analysis.hits, path=blob.path, member=blob.member, subject=name
        )

    def _pth(self, blob: Blob, name: str, data: bytes) -> Iterator[Finding]:
        text = data.decode("utf-8", "replace")
        code_lines: list[tuple[int, str]] = []
        for i, line in enumerate(text.splitlines(), 1):
            if line.startswith(("import ", "import\t")):
                code_lines.append((i, line))
        if not code_lines:
            yield Finding(
                blob.path,
                "script.pth",
                "script",
                Severity.LOW,
                f"{name} is a .pth file (adds paths to sys.path when installed)",
                blob.member,
                {"lines": len(text.splitlines())},
            )
            return
        yield Finding(
            blob.path,
            "script.pth",
            "script",
            Severity.HIGH,
            f"{name} is a .pth file with executable import lines; site.py runs them at "
            "every interpreter start",
            blob.member,
            {"code_lines": [{"line": i, "text": t[:200]} for i, t in code_lines[:20]]},
        )
        hits: list[PythonHit] = []
        for i, line in code_lines:
            a = analyse_python(line, line_offset=i - 1)
            hits.extend(a.hits)
        yield from python_hit_findings(hits, path=blob.path, member=blob.member, subject=name)

    def _requirements(self, blob: Blob, name: str, data: bytes) -> Iterator[Finding]:
        text = data.decode("utf-8", "replace")
        remote: list[dict[str, Any]] = []
        count = 0
        for i, raw in enumerate(text.splitlines(), 1):
            line = raw.split(" #", 1)[0].strip()
            if not line or line.startswith("#"):
                continue
            count += 1
            if _REQ_REMOTE.search(line):
                remote.append({"line": i, "text": line[:200]})
        if remote:
            yield Finding(
                blob.path,
                "script.requirements.remote",
                "script",
                Severity.HIGH,
                f"{name} installs from URLs, VCS or a custom index "
                f"(line {', '.join(str(r['line']) for r in remote[:8])})",
                blob.member,
                {"entries": remote[:50], "requirements": count},
            )
        else:
            yield Finding(
                blob.path,
                "script.requirements",
                "script",
                Severity.MEDIUM,
                f"{name} lists Python packages to install; a dataset should not need any",
                blob.member,
                {"requirements": count},
            )

    def _shellish(self, blob: Blob, name: str, lang: str, data: bytes) -> Iterator[Finding]:
        text = data.decode("utf-8", "replace")
        ev: dict[str, Any] = {}
        if data[:2] == b"#!":
            prog, line = _interpreter(text.split("\n", 1)[0])
            ev["interpreter"] = prog
            ev["shebang"] = line[:200]
        yield self._role(blob, name, lang, Severity.MEDIUM, ev)
        patterns = _LANG_PATTERNS.get(lang)
        if patterns is None:
            return
        hits = _pattern_hits(text, patterns)
        if hits:
            sev = max((Severity(h["severity"]) for h in hits), key=lambda s: s.rank)
            labels = ", ".join(h["pattern"] for h in hits[:5])
            yield Finding(
                blob.path,
                f"script.{lang}.dangerous",
                "script",
                sev,
                f"{name} contains {labels} (line {hits[0]['line']})",
                blob.member,
                {"patterns": hits},
            )


SCRIPT_SCANNER = ScriptScanner()
"""The module-level scanner instance the registry uses."""
