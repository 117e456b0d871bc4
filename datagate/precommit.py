"""The pre-commit hook: ``datagate scan`` on each staged data file.

pre-commit runs the ``datagate-scan`` hook of ``.pre-commit-hooks.yaml`` with the staged files
that match its ``files`` pattern as arguments; this entry point (``datagate-pre-commit``) scans
each one with the policy ``datagate scan`` would use (``./datagate.yaml`` or ``pyproject.toml``
``[tool.datagate]`` in the repository root, else the defaults), prints the text report of every
file that has findings, and exits 1 when any file fails the gate (so the commit is refused), 2
on an operational error, else 0. Nothing it inspects is run, imported or unpickled.

    # .pre-commit-config.yaml of a data repository
    repos:
      - repo: https://example.invalid/datagate   # this repository
        rev: v0.1.0
        hooks:
          - id: datagate-scan
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Scan every file named in ``argv`` (default ``sys.argv[1:]``) and return the exit code.

    ``--strict`` and ``--policy FILE`` are passed on as ``datagate scan`` takes them. Never
    raises for a DatagateError: it is printed as one line and the exit code is 2.
    """
    from pathlib import Path

    from datagate.config import load_policy
    from datagate.errors import DatagateError
    from datagate.gate import decide
    from datagate.report.text import render_scan
    from datagate.scan import scan

    args = list(sys.argv[1:] if argv is None else argv)
    strict = "--strict" in args
    policy_file: str | None = None
    files: list[str] = []
    it = iter(a for a in args if a != "--strict")
    for a in it:
        if a == "--policy":
            policy_file = next(it, None)
        elif a.startswith("--policy="):
            policy_file = a.split("=", 1)[1]
        else:
            files.append(a)
    worst = 0
    try:
        policy = load_policy(policy_file)
        for path in files:
            report = scan(Path(path), policy=policy, strict=strict)
            decision = decide(policy, findings=report.findings)
            if report.findings or report.skipped:
                print(render_scan(report, decision), end="")
            worst = max(worst, decision.exit_code)
    except DatagateError as exc:
        print(f"datagate: error: {exc.diagnostics()}", file=sys.stderr)
        return 2
    return worst


if __name__ == "__main__":
    raise SystemExit(main())
