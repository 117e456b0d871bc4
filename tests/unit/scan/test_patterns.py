"""Lazily compiled patterns behave as compiled ones, and every scanner pattern compiles."""

from __future__ import annotations

import dataclasses
import importlib
import re
from typing import Any

import pytest

from datagate.scan._patterns import _LazyPattern, lazy_compile


def test_lazy_pattern_behaves_as_the_compiled_one() -> None:
    lazy = lazy_compile(r"(?P<word>\bfo+)(\d*)", re.IGNORECASE)
    real = re.compile(r"(?P<word>\bfo+)(\d*)", re.IGNORECASE)
    text = "a FOO1 b foo22 c"
    assert lazy.search(text) is not None and lazy.search(text).span() == real.search(text).span()  # type: ignore[union-attr]  # checked
    assert [m.group("word") for m in lazy.finditer(text)] == ["FOO", "foo"]
    assert lazy.sub("x", text) == real.sub("x", text)
    assert lazy.findall(text) == real.findall(text)
    assert lazy.match(text) is None and lazy.fullmatch("foo") is not None
    assert (lazy.pattern, lazy.flags, lazy.groups, dict(lazy.groupindex)) == (
        real.pattern, real.flags, real.groups, dict(real.groupindex),
    )  # fmt: skip
    assert lazy_compile(rb"K.", re.DOTALL).match(b"K\n") is not None


def test_an_invalid_pattern_fails_on_first_use() -> None:
    bad = lazy_compile(r"(unclosed")
    with pytest.raises(re.error):
        bad.search("x")


def _lazy_patterns(value: Any, seen: set[int]) -> list[_LazyPattern]:
    if id(value) in seen:
        return []
    seen.add(id(value))
    if isinstance(value, _LazyPattern):
        return [value]
    if isinstance(value, (tuple, list, set, frozenset)):
        return [p for v in value for p in _lazy_patterns(v, seen)]
    if isinstance(value, dict):
        return [p for v in value.values() for p in _lazy_patterns(v, seen)]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [p for f in dataclasses.fields(value) for p in _lazy_patterns(getattr(value, f.name), seen)]
    return []


@pytest.mark.parametrize("module", ["markup", "scripts", "sniff", "repo", "notebooks"])
def test_every_scanner_pattern_compiles(module: str) -> None:
    mod = importlib.import_module(f"datagate.scan.{module}")
    found = _lazy_patterns(list(vars(mod).values()), set())
    assert found
    for p in found:
        assert isinstance(re.compile(p.pattern, p.flags), re.Pattern)  # compiles (first use)
