"""The README's ``--help`` excerpts match what the CLI prints.

An excerpt is a fenced code block in README.md whose first line is ``$ datagate [COMMAND] --help``;
the rest of the block must equal the output of ``datagate.cli.main([COMMAND, "--help"])`` at a
fixed terminal width of :data:`COLUMNS` (trailing spaces and trailing blank lines ignored).

To rewrite every excerpt from the real output::

    python -m tests.integration.test_readme_help --update
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import io
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
COLUMNS = 80
"""Terminal width the excerpts are rendered at (click wraps help text to it)."""

_FENCE = re.compile(
    r"^(?P<fence>`{3,}|~{3,})(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$", re.M | re.S
)
_COMMAND = re.compile(r"^\$ datagate((?: [A-Za-z0-9_-]+)*) (?:--help|-h)[ \t]*$")


@dataclass(frozen=True)
class Excerpt:
    """One help excerpt: where its body is in the README and the command it shows."""

    args: tuple[str, ...]
    """Arguments before ``--help`` (empty for the top-level help)."""
    body: str
    """The recorded output (the block minus its command line)."""
    start: int
    """Offset of the body in the README text."""
    end: int
    """Offset just past the body."""

    @property
    def command(self) -> str:
        """Return the command line as written in the README."""
        return " ".join(("$ datagate", *self.args, "--help"))


def excerpts(text: str) -> list[Excerpt]:
    """Return every ``$ datagate ... --help`` block of ``text`` in order."""
    found = []
    for m in _FENCE.finditer(text):
        body = m.group("body")
        first, _, rest = body.partition("\n")
        cmd = _COMMAND.match(first.strip())
        if cmd is None:
            continue
        start = m.start("body") + len(first) + 1
        found.append(Excerpt(tuple(cmd.group(1).split()), rest, start, m.end("body")))
    return found


@contextlib.contextmanager
def _columns(width: int) -> Iterator[None]:
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(width)
    try:
        yield
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old


def help_output(args: tuple[str, ...]) -> str:
    """Return what ``datagate ARGS --help`` prints, at :data:`COLUMNS` columns."""
    from datagate.cli import main

    out, err = io.StringIO(), io.StringIO()
    with _columns(COLUMNS), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([*args, "--help"])
    if code != 0:
        raise AssertionError(
            f"datagate {' '.join(args)} --help exited {code}: {err.getvalue().strip()}"
        )
    return out.getvalue()


def _normalise(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines())


def stale(text: str) -> list[tuple[Excerpt, str]]:
    """Return each excerpt whose body differs from the real output, with that output."""
    out = []
    for ex in excerpts(text):
        real = help_output(ex.args)
        if _normalise(ex.body) != _normalise(real):
            out.append((ex, real))
    return out


def update(text: str) -> tuple[str, int]:
    """Return ``text`` with every excerpt body replaced by the real output, and how many changed."""
    changes = stale(text)
    for ex, real in sorted(changes, key=lambda c: c[0].start, reverse=True):
        text = text[: ex.start] + _normalise(real) + "\n" + text[ex.end :]
    return text, len(changes)


def test_readme_has_help_excerpts() -> None:
    found = excerpts(README.read_text(encoding="utf-8"))
    assert found, (
        "README.md has no `--help` excerpt: add a fenced block whose first line is "
        "`$ datagate --help` (or `$ datagate scan --help`, ...), then run "
        "`python -m tests.integration.test_readme_help --update` to fill it in"
    )


def test_readme_help_excerpts_match_the_cli() -> None:
    text = README.read_text(encoding="utf-8")
    problems = stale(text)
    if problems:
        report = []
        for ex, real in problems:
            line = text.count("\n", 0, ex.start) + 1
            diff = difflib.unified_diff(
                _normalise(ex.body).splitlines(),
                _normalise(real).splitlines(),
                "README.md",
                "real output",
                lineterm="",
                n=1,
            )
            report.append(f"README.md:{line}: `{ex.command}` is out of date:\n" + "\n".join(diff))
        raise AssertionError(
            f"{len(problems)} README help excerpt(s) out of date "
            "(fix: python -m tests.integration.test_readme_help --update):\n\n"
            + "\n\n".join(report)
        )


def test_a_stale_excerpt_is_detected_and_updated() -> None:
    """The checker really compares: an edited excerpt is reported, and --update repairs it."""
    real = help_output(())
    doc = f"# x\n\n```console\n$ datagate --help\n{real.replace('Usage:', 'Usage (old):')}```\n\n```sh\n$ datagate hash data/\n```\n"
    assert len(excerpts(doc)) == 1
    assert len(stale(doc)) == 1
    fixed, n = update(doc)
    assert n == 1 and stale(fixed) == []
    assert fixed.endswith("```\n\n```sh\n$ datagate hash data/\n```\n")


def main(argv: list[str] | None = None) -> int:
    """Check (default) or ``--update`` README.md's help excerpts; return the exit code."""
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--update", action="store_true", help="rewrite out-of-date excerpts in place")
    ap.add_argument("--readme", type=Path, default=README)
    args = ap.parse_args(argv)
    text = args.readme.read_text(encoding="utf-8")
    if args.update:
        new, n = update(text)
        if n:
            args.readme.write_text(new, encoding="utf-8")
        print(f"{args.readme}: {n} of {len(excerpts(text))} help excerpt(s) updated")
        return 0
    problems = stale(text)
    for ex, _ in problems:
        print(f"out of date: {ex.command}", file=sys.stderr)
    print(f"{args.readme}: {len(excerpts(text))} help excerpt(s), {len(problems)} out of date")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
