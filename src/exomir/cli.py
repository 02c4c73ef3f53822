"""The ``exomir`` command line: one root app; each capability package registers its commands.

A capability exposes ``register(app: typer.Typer) -> None`` in its ``cli`` module. Only
packages that are present are registered, so ``exomir --help`` lists commands that work.

Errors have one printer, :func:`print_error`: an :class:`~exomir.core.ExomirError` (exit code 2
for bad input), a bad option or argument (Click's usage errors, exit code 2) and, as a last
resort, an unexpected exception (exit code 1, traceback only with ``EXOMIR_DEBUG=1``) each
become one line on stderr, plus an optional ``hint:`` line. The text is printed as plain text,
never as rich markup, so a value such as ``[/x]``, ``[red]`` or ``:x:`` is shown as typed.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import traceback
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text
from typer._click import exceptions as click_exc
from typer.core import TyperGroup

from exomir import __version__
from exomir.core.errors import MESSAGE_CHARS, ExomirError, short

err_console = Console(stderr=True, emoji=False, markup=False, highlight=False)


def print_error(message: str, *, hint: str | None = None, label: str = "error") -> None:
    """Print ``error: message`` (one line) and ``hint: ...`` (one line) on stderr, unformatted."""
    line = " ".join(str(message).split())
    line = line if len(line) <= MESSAGE_CHARS else line[: MESSAGE_CHARS - 3] + "..."
    err_console.print(Text.assemble((f"{label}: ", "bold red"), line), soft_wrap=True,
                      highlight=False, markup=False, emoji=False)
    if hint:
        err_console.print(Text.assemble(("hint: ", "bold"), " ".join(hint.split())),
                          soft_wrap=True, highlight=False, markup=False, emoji=False)


def _report_exomir(exc: ExomirError) -> int:
    print_error(exc.one_line(), hint=exc.hint)
    return exc.exit_code


def _report_usage(exc: click_exc.ClickException) -> int:
    ctx = getattr(exc, "ctx", None)
    hint = None
    if ctx is not None:
        hint = f"see '{ctx.command_path} --help'"
    print_error(exc.format_message(), hint=hint)
    return exc.exit_code


def _report_unexpected(exc: BaseException) -> int:
    if os.environ.get("EXOMIR_DEBUG") == "1":
        traceback.print_exception(exc)
    print_error(f"internal error ({type(exc).__name__}: {short(str(exc), 200)})",
                hint="this is a bug in exomir: please report it with the command you ran "
                "(EXOMIR_DEBUG=1 shows the traceback)")
    return 1


def _is_validation_error(exc: BaseException) -> bool:
    return type(exc).__name__ == "ValidationError" and type(exc).__module__.startswith(
        "pydantic")


class _ExomirGroup(TyperGroup):
    """Root command group: every error leaves through :func:`print_error` with its exit code,
    for the installed script and for in-process callers (typer's CliRunner) alike."""

    def invoke(self, ctx: Any) -> object:
        try:
            return super().invoke(ctx)
        except ExomirError as exc:
            raise typer.Exit(_report_exomir(exc)) from None
        except ValueError as exc:
            if not _is_validation_error(exc):
                raise
            from exomir.core.errors import from_validation

            raise typer.Exit(_report_exomir(from_validation(exc))) from None

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             windows_expand_args: bool = True, **extra: Any) -> Any:
        try:
            rv = super().main(args=args, prog_name=prog_name, complete_var=complete_var,
                              standalone_mode=False, windows_expand_args=windows_expand_args,
                              **extra)
        except click_exc.NoArgsIsHelpError as exc:
            exc.show()
            code = 2
        except click_exc.ClickException as exc:
            code = _report_usage(exc)
        except typer.Abort:
            print_error("aborted")
            code = 1
        except ExomirError as exc:
            code = _report_exomir(exc)
        except typer.Exit as exc:
            code = exc.exit_code
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:
            if _is_validation_error(exc):  # a domain type refused a value: bad input
                from exomir.core.errors import from_validation

                code = _report_exomir(from_validation(exc))
            elif not standalone_mode:
                raise
            else:
                code = _report_unexpected(exc)
        else:
            if not standalone_mode:
                return rv
            code = rv if isinstance(rv, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code


app = typer.Typer(
    name="exomir",
    cls=_ExomirGroup,
    help="Design and evaluate exosome-based miRNA therapies: evidence, cargo, release, "
    "body simulation, quality and manufacturing.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Capability command modules, in the order they appear in --help.
CAPABILITY_CLIS = [
    "exomir.design.cli",
    "exomir.kb.cli",
    "exomir.formats.cli",
    "exomir.evidence.cli",
    "exomir.cargo.cli",
    "exomir.release.cli",
    "exomir.body.cli",
    "exomir.quality.cli",
    "exomir.web.cli",
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"exomir {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    db: Annotated[
        str | None,
        typer.Option("--db", help="Knowledge-base file or SQLAlchemy URL such as "
                     "postgresql://user@host/db (default: EXOMIR_DB or the user data "
                     "directory).", envvar="EXOMIR_DB"),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True,
                           help="Print the version and exit.")
    ] = False,
) -> None:
    """exomir: an open workbench for exosome-based miRNA therapies."""
    if db is not None:  # kept as text: a URL's "//" must survive (exomir.kb.store._as_url)
        os.environ["EXOMIR_DB"] = db


def _register_capabilities() -> None:
    for mod_name in CAPABILITY_CLIS:
        if importlib.util.find_spec(mod_name.rsplit(".", 1)[0]) is None:
            continue
        if importlib.util.find_spec(mod_name) is None:
            continue
        module = importlib.import_module(mod_name)
        module.register(app)


_register_capabilities()


def main() -> None:
    """Entry point: run the app; errors become one line and an exit code (see module doc)."""
    app()


if __name__ == "__main__":
    main()
