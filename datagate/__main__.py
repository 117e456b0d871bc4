"""``python -m datagate``: the same as the ``datagate`` console script."""

from __future__ import annotations

from datagate._entry import run

if __name__ == "__main__":
    run()
