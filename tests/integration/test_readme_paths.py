"""Every path and file name README.md mentions exists (or is made by what the README says).

Inline code spans and links are read (fenced blocks are commands and --help text, checked by
test_readme_help.py). A token is a repository path when its first segment is a top-level entry
of the repository; it must then exist (``{a,b}`` and ``*`` expanded). Files of the lineage store
(``.datagate/...``) are created at run time: their names must be ones datagate's code writes.
Relative links must point inside the repository at something that exists. Tokens that name
the user's own data (``data/reviews``, ``train/``) are examples and not checked.
"""

from __future__ import annotations

import glob
import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
REPO = README.parent

# Made by a command the README names, never committed: the prefix and the file that makes it.
GENERATED = {
    "fixtures/build/": "Makefile",  # `make demo` (DEMO := fixtures/build)
    ".dvc/cache": ".dvc/config",  # DVC's own cache, made by `dvc repro`
}

# Paths inside *other* projects the README cites (benchmark corpora), not this repository's.
OTHER_PROJECTS = {
    "tests/data": "picklescan's test corpus (benchmarks/bench_corpora.py)",
    "tests/data2": "picklescan's test corpus (benchmarks/bench_corpora.py)",
}

_PATHLIKE = re.compile(r"[\w.@{}*,/~$-]+")
_FILE_EXT = re.compile(r"\.(py|pyx|c|json|jsonl|yaml|yml|toml|md|txt|csv|sarif|html|cfg|sh)$")


def _inline_tokens(text: str) -> list[str]:
    prose = re.sub(r"^(`{3,}|~{3,}).*?^\1", "", text, flags=re.M | re.S)
    return re.findall(r"`([^`\n]+)`", prose)


def _links(text: str) -> list[str]:
    prose = re.sub(r"^(`{3,}|~{3,}).*?^\1", "", text, flags=re.M | re.S)
    return [u for u in re.findall(r"\]\(([^)\s]+)\)", prose) if not re.match(r"^[a-z]+://|^#|^mailto:", u)]


def _expand(token: str) -> list[str]:
    m = re.search(r"\{([^{}]+)\}", token)
    if not m:
        return [token]
    return [x for alt in m.group(1).split(",") for x in _expand(token[: m.start()] + alt + token[m.end() :])]


def _source_text() -> str:
    return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in (REPO / "datagate").rglob("*.py"))


def repo_paths(text: str) -> list[str]:
    """Return the inline tokens of ``text`` that name paths inside the repository."""
    top = {p.name for p in REPO.iterdir() if p.name not in (".git", ".venv")}
    out = []
    for raw in _inline_tokens(text):
        token = raw.strip().rstrip(".,;:")
        if not _PATHLIKE.fullmatch(token) or not ("/" in token or _FILE_EXT.search(token)):
            continue
        token = token.removeprefix("./")
        first = token.split("/", 1)[0]
        if first in top or first == ".datagate":
            out.append(token)
    return out


def test_readme_mentions_real_paths() -> None:
    text = README.read_text(encoding="utf-8")
    source = _source_text()
    checked = 0
    missing = []
    for token in repo_paths(text):
        if token.startswith(".datagate"):
            name = [p for p in token.split("/") if p][-1]
            if name != ".datagate" and f'"{name}"' not in source and f"/ \"{name}\"" not in source:
                missing.append(f"{token} (no datagate code writes {name!r})")
            checked += 1
            continue
        if token in OTHER_PROJECTS:
            continue
        gen = next((g for g in GENERATED if token.startswith(g) or token == g.rstrip("/")), None)
        if gen is not None:
            assert (REPO / GENERATED[gen]).exists()
            if GENERATED[gen] == "Makefile":
                assert gen.rstrip("/") in (REPO / "Makefile").read_text()
            continue
        for path in _expand(token):
            checked += 1
            if not glob.glob(str(REPO / path)):
                missing.append(path)
    assert not missing, f"README.md names paths that do not exist: {missing}"
    assert checked >= 15  # the test reads what it should (README has many such paths)


def test_readme_links_stay_inside_the_repository() -> None:
    text = README.read_text(encoding="utf-8")
    bad = []
    for link in _links(text):
        target = (REPO / link.split("#", 1)[0]).resolve()
        if REPO.resolve() not in (target, *target.parents) or not target.exists():
            bad.append(link)
    assert not bad, f"README.md links outside the repository or to nothing: {bad}"


def test_the_checker_catches_drift() -> None:
    """It flags what it is for: a moved file, a stale store file name, an escaping link."""
    sample = "See `datagate/no_such_module.py`, `.datagate/events.jsonl` and `fixtures/gen/{sample,nope}.py`."
    tokens = repo_paths(sample)
    assert tokens == ["datagate/no_such_module.py", ".datagate/events.jsonl", "fixtures/gen/{sample,nope}.py"]
    assert _expand(tokens[2]) == ["fixtures/gen/sample.py", "fixtures/gen/nope.py"]
    assert '"events.jsonl"' not in _source_text()
    assert _links("[x](../shared/THREATS.md) [y](https://example.org)") == ["../shared/THREATS.md"]
