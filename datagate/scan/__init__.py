"""Scan a dataset for anything that can execute: pickles, archives, executables, scripts, ...

Every file is sniffed by content (never by its extension), handed to the registered scanners,
and containers are read in memory (never extracted) down to a set depth. Nothing inspected is
ever loaded, imported, unpickled or run.

>>> import tempfile, pathlib
>>> import datagate.scan
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "train.csv").write_text("text,label\\nhello,1\\n")
>>> _ = (d / "model.bin").write_bytes(b"\\x80\\x02cposix\\nsystem\\nX\\x04\\x00\\x00\\x00echoq\\x85R.")
>>> report = datagate.scan.scan(d)
>>> sorted({f.path for f in report.findings if f.severity.value in ("high", "critical")})
['model.bin']
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from datagate import _callable_module
from datagate.models import ScanReport
from datagate.progress import NULL_PROGRESS, ProgressSink
from datagate.scan.interface import Blob, ContentKind, Limits, ScanContext, Scanner

if TYPE_CHECKING:
    from collections.abc import Iterable

    from datagate.config import Policy
    from datagate.engine import Engine
    from datagate.models import Manifest

__all__ = [
    "Blob",
    "ContentKind",
    "Limits",
    "ScanContext",
    "Scanner",
    "limits_from_policy",
    "scan",
]

_LIMIT_KEYS = frozenset(Limits.__dataclass_fields__)


def limits_from_policy(policy: Policy | None, base: Limits) -> Limits:
    """Return ``base`` with the ``scan.limits`` overrides of ``policy`` applied.

    Raises ConfigError naming the policy file for an unknown limit or a non-numeric value.
    """
    if policy is None:
        return base
    raw: Any = policy.scan.get("limits") if policy.scan else None
    if not raw:
        return base
    from dataclasses import replace

    from datagate.errors import ConfigError

    where = policy.source or "policy"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: scan.limits must be a mapping")
    problems = [f"unknown limit {k!r}" for k in raw if k not in _LIMIT_KEYS]
    problems += [
        f"scan.limits.{k} must be a positive number"
        for k, v in raw.items()
        if k in _LIMIT_KEYS and (isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0)
    ]
    if problems:
        raise ConfigError(f"{where}: " + "; ".join(problems))
    return replace(base, **{k: type(getattr(base, k))(v) for k, v in raw.items()})


def scan(
    path: Path | str,
    *,
    policy: Policy | None = None,
    limits: Limits = Limits(),  # noqa: B008 - Limits is a frozen dataclass, safe as a default
    manifest: Manifest | None = None,
    strict: bool = False,
    progress: ProgressSink = NULL_PROGRESS,
    workers: int | None = None,
    engine: Engine | None = None,
) -> ScanReport:
    """Scan ``path`` (a folder or one file) and return the :class:`~datagate.models.ScanReport`.

    ``manifest`` reuses an inventory already taken of ``path`` (else it is hashed first);
    ``policy`` applies its waivers (waived findings stay in the report, marked) and its
    ``scan.strict`` / ``scan.limits`` settings; ``strict`` grades unknown content one step higher.
    ``workers``: None scans trees of 2,000+ files or 512+ MiB with one process per CPU, started
    before any file is read; 1 keeps the whole scan in this process; n asks for n processes.
    ``engine``: a non-local :class:`~datagate.engine.Engine` (Ray) hashes and scans on its
    workers instead, results in path order; the ``local`` engine (or None) is the above.

    Raises InventoryError when ``path`` cannot be inventoried, ConfigError for invalid scan
    settings in the policy, ScanError when the scan cannot run at all. Hostile or malformed files
    never raise: they are findings or skipped entries.
    """
    from datagate.scan.engine import parallel_workers, scan_tree, start_pool
    from datagate.scan.registry import default_scanners

    root = Path(path)
    strict = strict or bool(policy is not None and policy.scan and policy.scan.get("strict"))
    ctx = ScanContext(limits=limits_from_policy(policy, limits), strict=strict)
    scanners = default_scanners()
    pool = None
    tree_workers = workers
    if engine is not None and engine.name == "local":
        engine = None  # this machine's processes: the scan's own pool, as without an engine
    if manifest is None and engine is None:
        # A large tree is scanned by worker processes, started here, before the inventory or
        # the scan reads a byte of any file (the audit-hook test holds us to it); a small one
        # entirely in this process.
        n = 1 if workers == 1 else parallel_workers(*_rough_size(root), workers)
        if n > 1:
            pool = start_pool(n, ctx, scanners)
        tree_workers = 1
    try:
        if manifest is None:
            from datagate.inventory import hash_tree

            # Hashing stays in this process: a scan starts no process but its own workers.
            # Names that cannot be manifest lines are findings, not a reason to scan nothing.
            manifest = hash_tree(root, progress=progress, workers=1, skip_bad_names=True, engine=engine)
        report = scan_tree(
            root, manifest, ctx=ctx, scanners=scanners, progress=progress,
            workers=tree_workers, pool=pool, engine=engine,
        )  # fmt: skip
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    if policy is not None and policy.waivers:
        from dataclasses import replace

        from datagate.gate import apply_waivers

        report = replace(report, findings=apply_waivers(report.findings, manifest, policy))
    return report


def _rough_size(root: Path) -> tuple[int, int]:
    """Return (files, bytes) of the tree at ``root`` from its directory entries, stopping once
    the counts decide that worker processes pay off. Reads no file content; never raises.

    Folders are listed, and their entries lstat'ed, by the inventory's C accelerator where it is
    built (one call per folder, about half the time of a stat per file in Python)."""
    import os
    import stat

    from datagate.inventory.walk import list_folder
    from datagate.scan.engine import PARALLEL_MIN_BYTES, PARALLEL_MIN_FILES

    files = size = 0
    try:
        if not root.is_dir() or root.is_symlink():
            return 1, 0
    except OSError:
        return 1, 0
    stack = [str(root)]
    while stack and files < PARALLEL_MIN_FILES and size < PARALLEL_MIN_BYTES:
        folder = stack.pop()
        try:
            names, dirs = list_folder(folder)
        except (OSError, UnicodeError):
            continue
        stack.extend(os.path.join(folder, d) for d in dirs)
        for mode, nbytes in _modes_and_sizes(folder, names):
            if stat.S_ISREG(mode):
                files += 1
                size += nbytes
    return files, size


def _modes_and_sizes(folder: str, names: list[str]) -> Iterable[tuple[int, int]]:
    """(st_mode, st_size) of each of ``names`` in ``folder``, not following links: one C call
    where the accelerator is built and takes them all, else one lstat each (names that vanished
    or cannot be lstat'ed are left out)."""
    import array
    import os

    from datagate.inventory.native import native

    packed = native.lstat_keys(folder.rstrip("/") + "/", names) if native is not None and names else None
    if packed is not None:
        keys = array.array("q")
        keys.frombytes(packed)
        return zip(keys[0::6], keys[5::6], strict=True)
    out = []
    for name in names:
        try:
            st = os.lstat(os.path.join(folder, name))
        except OSError:
            continue
        out.append((st.st_mode, st.st_size))
    return out


# `import datagate.scan` binds the package attribute to this module: keep `datagate.scan(...)` working.
_callable_module(__name__)
