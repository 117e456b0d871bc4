"""Every command's --help has a one-line purpose and a worked example."""

from __future__ import annotations

import contextlib
import io

import pytest
import typer

from datagate.cli import helptext

COMMANDS = (
    "hash",
    "verify",
    "sign",
    "scan",
    "check",
    "suggest",
    "ingest",
    "log",
    "show",
    "diff",
    "record",
    "status",
    "init",
    "audit",
    "lineage",
)


def test_every_command_has_help_and_epilog_constants() -> None:
    assert tuple(helptext.COMMAND_HELP) == COMMANDS
    for name in COMMANDS:
        assert getattr(helptext, f"{name.upper()}_HELP") == helptext.COMMAND_HELP[name][0]
        assert getattr(helptext, f"{name.upper()}_EPILOG") == helptext.COMMAND_HELP[name][1]


@pytest.mark.parametrize("name", COMMANDS)
def test_purpose_is_one_short_line_and_examples_name_the_command(name: str) -> None:
    help_text, epilog = helptext.COMMAND_HELP[name]
    purpose = help_text.split("\n\n", 1)[0]
    assert "\n" not in purpose and purpose.endswith(".") and len(purpose) <= 66, purpose
    examples = [line.strip() for line in epilog.splitlines() if line.strip().startswith("$ ")]
    assert examples, f"{name}: no example"
    assert any(e.startswith(f"$ datagate {name}") for e in examples)
    for line in epilog.split("\n\n"):
        assert line.startswith("\b\n"), "each paragraph must keep click from rewrapping it"


def test_examples_print_verbatim_in_help() -> None:
    """Rendered by typer/click the way datagate's app is configured, example lines stay whole."""
    app = typer.Typer(
        rich_markup_mode=None, add_completion=False, context_settings={"max_content_width": 100}
    )
    for name, (h, e) in helptext.COMMAND_HELP.items():
        app.command(name, help=h, epilog=e)(lambda: None)
    for name, (_, epilog) in helptext.COMMAND_HELP.items():
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            app([name, "--help"], prog_name="datagate", standalone_mode=False)
        shown = buf.getvalue()
        for line in epilog.splitlines():
            if line.strip() and line != "\b":
                assert line.strip() in shown, f"{name}: {line!r} was rewrapped"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        app(["--help"], prog_name="datagate", standalone_mode=False)
    for h, _ in helptext.COMMAND_HELP.values():
        assert h.split("\n\n", 1)[0] in buf.getvalue()  # the purpose is not truncated in the list


def test_registered_commands_have_a_purpose_and_an_example() -> None:
    """Whatever commands the CLI registers show a one-line purpose and a `datagate NAME` example."""
    from datagate.cli import typer_app

    app = typer_app()

    group = typer.main.get_command(app)
    commands = getattr(group, "commands", {})
    assert commands, "no command registered"
    for name, cmd in commands.items():
        assert cmd.help and cmd.help.strip(), f"{name}: no help"
        assert cmd.epilog and f"datagate {name}" in cmd.epilog, (
            f"{name}: no worked example in the epilog"
        )
