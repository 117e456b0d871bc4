"""The indented JSON writer of reports gives exactly what json.dumps gives."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from datagate.report.json import _indent2, dumps

_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(), st.sampled_from(["", "ä\u2028\"\\\n\x00", "日本"]),
)  # fmt: skip
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=8), inner, max_size=5)),
    max_leaves=40,
)


def _stdlib(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False)


@settings(max_examples=1500, deadline=None)
@given(_VALUES)
def test_same_bytes_as_json_dumps(obj: Any) -> None:
    assert _indent2(obj) == _stdlib(obj)


def test_what_is_not_plain_goes_to_json_dumps() -> None:
    class S(str):
        pass

    for odd in ({1: "int key"}, {1: "x", "b": 2}, [S("x")], (1, 2), {"a": [True, 1.5, {2: 3}]}, [math.pi, object()]):
        assert _indent2(odd) is None
    assert dumps({1: "x", "b": (1, 2)}) == json.dumps({"1": "x", "b": [1, 2]}, indent=2) + "\n"
    assert dumps({"deep": [[[]]], "e": {}}) == _stdlib({"deep": [[[]]], "e": {}}) + "\n"
