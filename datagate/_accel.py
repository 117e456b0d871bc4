"""Loading datagate's optional C accelerators, and the pickle scanner's one-pass walk.

Each accelerator is an optional extension (setup.py): where it was not built, is stale or is
turned off (``DATAGATE_PURE_PYTHON=1``), datagate takes its Python code paths, with the same
results. :func:`load_extension` imports one and says in a few words why it is not in use.

:data:`summarise` (``_picklewalk.c``) walks, in one C pass, the common pickle stream: one that
builds data from constants and globals named by constant strings, well formed, ending on its last
byte. It returns the globals the stream names (where first, how, whether called), which
:mod:`datagate.scan.pickles` judges exactly as its full walk would; for anything else (unusual
opcodes, anything the walk would report as an issue of its own) it returns None and the full walk
runs. Tests compare the two on real, hostile and mutated pickles.

:data:`words` (``datagate/_words.c``) cuts a text column into words and hashes them for the
near-duplicate check, bit for bit as its numpy path does, reading the column's own buffers;
:data:`ascii_tokens` (the same file) cuts ASCII rows into backdoor_triggers' tokens exactly as its
regex split does, :data:`band_keys` computes the near-duplicate MinHash band keys row by row,
:data:`word_sets` sorts each row's word hashes, :data:`text_cells` counts backdoor_triggers' tokens
and bigrams once per row, and :data:`argsort_u64` sorts 64-bit keys by radix (the check stage's
reductions), and :data:`near_pairs` finds a near-duplicate reduce bucket's candidate pairs.

Cheap to import (no pickle or numpy machinery), so ``datagate --version`` can report the status
of each.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from types import ModuleType
from typing import Any

__all__ = ["ABI", "Summary", "argsort_u64", "ascii_tokens", "band_keys", "load_extension", "near_pairs", "status", "summarise", "text_cells", "word_sets", "words", "words_status"]

ABI = 1
"""The interface this code was written for (``DATAGATE_PICKLEWALK_ABI`` in _picklewalk.c)."""


def load_extension(name: str, abi: int) -> tuple[ModuleType | None, str]:
    """Import the accelerator ``name`` if it is built for interface ``abi``; return it (None:
    use the Python code paths) and ``"on"`` or why not."""
    if os.environ.get("DATAGATE_PURE_PYTHON", "") not in ("", "0"):
        return None, "off (DATAGATE_PURE_PYTHON is set)"
    try:
        mod = importlib.import_module(name)
    except ModuleNotFoundError:
        return None, "not built (no C compiler or Python headers at install time?)"
    except ImportError as exc:
        return None, f"unusable ({exc}); reinstall datagate"
    if getattr(mod, "ABI", None) != abi:
        return None, f"stale build (ABI {getattr(mod, 'ABI', None)}, want {abi}); reinstall datagate"
    return mod, "on"


Summary = tuple[int, tuple[tuple[str, str, int, str, bool], ...]]
"""(opcodes walked, per distinct global in the order first named: module, name, offset, via,
called)."""


def _load() -> tuple[Callable[[Any, int], Summary | None] | None, str]:
    mod, why = load_extension("datagate._picklewalk", ABI)
    return (mod.summarise if mod is not None else None), why


summarise, status = _load()
"""``summarise(data, max_ops) -> Summary | None`` (None: not built) and a word on why, for
--version."""


WORDS_ABI = 7
"""The interface of ``_words.c`` this code was written for (``DATAGATE_WORDS_ABI``)."""


_words_mod, words_status = load_extension("datagate._words", WORDS_ABI)


def _from_words(name: str) -> Any:
    """``_words.c``'s function ``name``, or None when the extension is not in use."""
    return getattr(_words_mod, name) if _words_mod is not None else None


words: Callable[[Any, Any, bytes], tuple[bytes, bytes, bytes, bytes, bytes]] | None = _from_words("words")
"""``words(offsets, data, table)``: the near-duplicate check's word cutter and hasher
(``datagate/_words.c``; None: not built); ``words_status`` says why, for --version."""

ascii_tokens: Callable[[Any, Any, int], tuple[bytes, bytes, bytes, bytes]] | None = _from_words("ascii_tokens")
"""``ascii_tokens(offsets, data, max_splits)``: backdoor_triggers' tokens of ASCII rows (same
extension and status as :data:`words`; None: not built)."""

band_keys: Callable[[Any, Any, Any, Any, int], bytes] | None = _from_words("band_keys")
"""``band_keys(offsets, hashes, rows, multipliers, bands)``: the near-duplicate check's MinHash
band keys (same extension and status as :data:`words`; None: not built)."""

word_sets: Callable[[Any, Any, int, int], tuple[bytes, bytes]] | None = _from_words("word_sets")
"""``word_sets(owner, hashes, rows, max_words)``: each row's sorted distinct word hashes for the
near-duplicate check (same extension and status as :data:`words`; None: not built)."""

text_cells: Callable[[Any, Any, int, Any, int, bool], tuple[bytes, bytes]] | None = _from_words("text_cells")
"""``text_cells(rows, codes, v, labels, n_labels, bigrams)``: backdoor_triggers' (feature, label)
cells of one text column, each feature once per row (same extension and status as
:data:`words`; None: not built)."""

argsort_u64: Callable[[Any], bytearray] | None = _from_words("argsort_u64")
"""``argsort_u64(keys)``: the stable sort permutation of uint64 keys, by radix sort (same
extension and status as :data:`words`; None: not built)."""

near_pairs: Callable[[Any, int, int, int], tuple[bytes, bytes, bytes, bytes, int, bool]] | None = _from_words("near_pairs")
"""``near_pairs(table, loc_shift, cap, max_partners)``: the first ``cap`` distinct candidate pairs
of a near-duplicate reduce bucket, by one pass over its rows in location order with a hash table of
band keys (same extension and status as :data:`words`; None: not built)."""
