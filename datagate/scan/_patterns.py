"""Regular expressions compiled on first use, so importing a scanner does not compile them all.

The scanner modules hold about a hundred module-level patterns; compiling them at import was
~15 ms of every ``datagate scan`` start-up, though a scan of pickles uses only a few of them.
``re.compile`` runs no code of the scanned data and raises no audit event, so compiling half-way
through a scan is safe.

>>> rx = lazy_compile(r"\\bfoo(\\d+)")
>>> rx.search("a foo42").group(1), rx.pattern
('42', '\\\\bfoo(\\\\d+)')
"""

from __future__ import annotations

import re
from typing import Any, AnyStr, cast

__all__ = ["lazy_compile"]

_FORWARDED = (
    "search", "match", "fullmatch", "finditer", "findall", "sub", "subn", "split", "scanner",
    "pattern", "flags", "groups", "groupindex",
)  # fmt: skip


class _LazyPattern:
    """Stands for ``re.compile(pattern, flags)``; compiles on the first attribute look-up."""

    def __init__(self, pattern: str | bytes, flags: int) -> None:
        self._source: tuple[Any, int] = (pattern, flags)  # Any: re.compile is typed per AnyStr

    def __getattr__(self, name: str) -> Any:
        # Only reached for attributes not (yet) on the instance: compile, then put the compiled
        # pattern's methods and attributes on the instance, so later look-ups never come here.
        compiled = re.compile(*self._source)
        for attr in _FORWARDED:
            self.__dict__[attr] = getattr(compiled, attr)
        return getattr(compiled, name)

    def __repr__(self) -> str:
        return f"lazy_compile({self._source[0]!r}, {self._source[1]!r})"


def lazy_compile(pattern: AnyStr, flags: int | re.RegexFlag = 0) -> re.Pattern[AnyStr]:
    """Return an object that behaves as ``re.compile(pattern, flags)``, compiled on first use.

    It has every method and attribute of a compiled pattern, but is not an instance of
    ``re.Pattern``: do not hand it to ``re.search`` and friends. Raises ``re.error`` for an
    invalid pattern on first use (patterns here are constants, covered by the tests).
    """
    return cast("re.Pattern[AnyStr]", _LazyPattern(pattern, int(flags)))
