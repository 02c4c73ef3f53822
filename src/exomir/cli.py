"""The ``exomir`` command line: one root app; each capability package registers its commands.

A capability exposes ``register(app: typer.Typer) -> None`` in its ``cli`` module. Only
packages that are present are registered, so ``exomir --help`` lists commands that work.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from typer.core import TyperGroup

from exomir import __version__
from exomir.core.errors import ExomirError


class _ExomirGroup(TyperGroup):
    """Root command group: an :class:`ExomirError` becomes one line on stderr and its exit code
    (2 for bad input), for the installed script and for in-process callers alike."""

    def invoke(self, ctx: Any) -> object:
        try:
            return super().invoke(ctx)
        except ExomirError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None


err_console = Console(stderr=True)
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
    "exomir.calibrate.cli",
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
        Path | None,
        typer.Option("--db", help="Knowledge-base file or SQLAlchemy URL (default: EXOMIR_DB or "
                     "the user data directory).", envvar="EXOMIR_DB"),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True,
                           help="Print the version and exit.")
    ] = False,
) -> None:
    """exomir: an open workbench for exosome-based miRNA therapies."""
    if db is not None:
        os.environ["EXOMIR_DB"] = str(db)


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
    """Entry point: run the app and turn exomir errors into one line and an exit code."""
    try:
        app()
    except ExomirError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
