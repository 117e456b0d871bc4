"""The typer application object and global options shared by every command module."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

__all__ = ["GlobalOptions", "app", "options"]

try:
    # typer >= 0.2x coerces every option value through a pydantic TypeAdapter. Importing pydantic
    # and building the adapters is ~0.15-0.25 s, more than a scan of a small file takes, so the
    # plain cases below are coerced with typer's own helpers and only anything else (and every
    # error message) goes through typer's pydantic path. See _LazyCoercion.
    from typer._coercion import RuntimeParam, TypeDescriptor, build_runtime_param
    from typer._param_types import coerce_cli_choice, coerce_cli_path, routes_to_path
    from typer.core import _TyperParameter
except ImportError:  # pragma: no cover - another typer layout: typer's own coercion throughout
    _LAZY_COERCION = False
else:
    _LAZY_COERCION = True

_NOT_HANDLED: Any = object()


def _fast_coerce(desc: TypeDescriptor, value: Any, param: Any, ctx: Any) -> Any:
    """Return ``value`` coerced as typer would, or ``_NOT_HANDLED`` for typer to do it.

    Handles only the cases where typer's result is known to be the same: a ``str`` for a ``str``
    option, a valid choice of an ``Enum`` option, and a non-empty ``str`` for a plain ``Path``
    option (typer's own path checks still run). Raises whatever typer's path check raises.
    """
    info = desc.parameter_info
    if (
        desc.choices is not None
        and info.parser is None
        and not (desc.is_list or desc.is_tuple)
        and any(value is c for c in desc.choices)
    ):
        return value  # an Enum option's default: already the member typer would return
    if info.parser is not None or desc.is_list or desc.is_tuple or type(value) is not str:
        return _NOT_HANDLED
    annotation = desc.annotation
    if annotation is str:
        return value
    choices = desc.choices
    if choices is not None:
        try:
            return coerce_cli_choice(
                value, choices=choices, case_sensitive=desc.case_sensitive, ctx=ctx
            )
        except ValueError:
            return _NOT_HANDLED  # typer reports it, with its own message
    if value and routes_to_path(annotation, info):
        path_type: Any = info.path_type
        if path_type is None and isinstance(annotation, type) and issubclass(annotation, Path):
            path_type = annotation
        if isinstance(path_type, type) and issubclass(path_type, Path):
            return coerce_cli_path(
                path_type(value), info, path_type=path_type, param=param, ctx=ctx
            )
    return _NOT_HANDLED


if _LAZY_COERCION:

    @dataclass(frozen=True)
    class _LazyCoercion(RuntimeParam):
        """Typer's coercion of one parameter, without pydantic for the plain cases."""

        descriptor: TypeDescriptor

        def _coerce_value(self, value: Any, param: _TyperParameter, ctx: Any) -> Any:
            out = _fast_coerce(self.descriptor, value, param, ctx)
            if out is not _NOT_HANDLED:
                return out
            full = build_runtime_param(self.descriptor)
            return full._coerce_value(value, param=param, ctx=ctx)


def _prime(command: Any, ctx: Any) -> None:
    """Give each typer parameter of ``command`` (its help option too) the lazy coercion, once."""
    if not _LAZY_COERCION:
        return
    for param in command.get_params(ctx):
        try:
            if not isinstance(param, _TyperParameter) or param._runtime_param is not None:
                continue
            desc = param.type_descriptor
            if desc.file_annotation is not None:
                continue  # typer opens files itself, without pydantic
            param._runtime_param = _LazyCoercion(
                parameter_info=desc.parameter_info, annotation=desc.annotation, descriptor=desc
            )
        except (AttributeError, TypeError):  # pragma: no cover - typer's internals moved
            continue  # this parameter keeps typer's own coercion


class _Group(TyperGroup):
    """The root command group: primes each command's parameters before they are parsed."""

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        """Return the command named ``cmd_name`` (None when there is none), ready to parse."""
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            _prime(command, ctx)
        return command

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """Parse the group's own options (after priming them) and return the rest."""
        _prime(self, ctx)
        return super().parse_args(ctx, args)


app = typer.Typer(
    name="datagate",
    cls=_Group,
    help=(
        "Dataset intake gate: hash and version a dataset, flag anything that can execute, "
        "check its quality, record lineage next to DVC, and gate CI with the exit code.\n\n"
        "Exit codes: 0 pass, 1 the gate failed, 2 usage or operational error."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)


@dataclass
class GlobalOptions:
    """Options that apply to every command."""

    verbose: bool = False
    """Show tracebacks and debug detail."""
    quiet: bool = False
    """Show no progress and only the verdict line."""


options = GlobalOptions()
"""The global options of the current invocation (set by the callback)."""


def _print_version(value: bool) -> None:
    if value:
        from datagate._entry import version_line

        typer.echo(version_line())
        raise typer.Exit()


@app.callback()
def _callback(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True,
            help="Print the version (and whether the C accelerator is in use), then exit.",
        ),
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show tracebacks and debug detail.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bars; print only the result.")
    ] = False,
) -> None:
    options.verbose = verbose
    options.quiet = quiet
