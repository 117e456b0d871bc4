"""``python -m datagate``: the same as the ``datagate`` console script."""

from __future__ import annotations

import sys

from datagate._entry import main

if __name__ == "__main__":
    sys.exit(main())
