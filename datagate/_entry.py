"""The ``datagate`` console script: answers ``datagate --version`` without loading the CLI.

Pre-commit hooks and ``find -exec`` run datagate once per file, so start-up is most of their
cost. ``--version`` alone is answered here from :data:`datagate.__version__` (the same string as
the distribution's metadata) without importing typer, the command modules or
``importlib.metadata``. A plain ``datagate scan`` invocation runs without typer
(:mod:`datagate.cli.fast`, the same command body and error boundary); everything else goes to
:func:`datagate.cli.main`.
"""

from __future__ import annotations

import sys

__all__ = ["main"]


def main() -> int:
    """Run ``datagate`` with ``sys.argv`` and return the exit code."""
    if sys.argv[1:] == ["--version"]:
        from datagate import __version__
        from datagate.inventory.native import status

        print(f"datagate {__version__} (inventory accelerator: {status})")
        return 0
    if "scan" in sys.argv[1:]:
        from datagate.cli.fast import try_scan

        code = try_scan(sys.argv[1:])
        if code is not None:
            return code
    from datagate.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":  # pragma: no cover - ``python -m datagate`` goes through __main__
    sys.exit(main())
