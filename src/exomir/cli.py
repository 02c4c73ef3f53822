"""The ``exomir`` command line: one root app; each capability package registers its commands.

A capability exposes ``register(app: typer.Typer) -> None`` in its ``cli`` module. Only
packages that are present are listed, so ``exomir --help`` lists commands that work.

Start-up: a capability's ``cli`` module is imported only when one of its commands runs
(``COMMANDS`` names each top-level command, its module and its one-line help, so that
``exomir --help`` imports none of them); ``tests/test_cli_startup.py`` checks the table
against what the modules register.
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
from typer.core import TyperCommand, TyperGroup

from exomir.core.errors import ExomirError


class _LazyCommand(TyperCommand):
    """Stands for a capability command in ``--help`` without importing its module; the
    module is imported (and the real command built) when the command is invoked."""

    def __init__(self, name: str, module: str, help_text: str) -> None:
        super().__init__(name, help=help_text)
        self.module = module
        self._real: Any = None

    def real(self) -> Any:
        if self._real is None:
            self._real = _load(self.module)[str(self.name)]
        return self._real

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None,
                     **extra: Any) -> Any:
        return self.real().make_context(info_name, args, parent=parent, **extra)

    def invoke(self, ctx: Any) -> Any:
        return self.real().invoke(ctx)


_LOADED: dict[str, dict[str, Any]] = {}


def _load(module: str) -> dict[str, Any]:
    """The click commands a capability module registers (imports it once)."""
    if module not in _LOADED:
        sub = typer.Typer()

        @sub.callback()
        def _group() -> None:  # a callback keeps typer from collapsing one command
            pass

        importlib.import_module(module).register(sub)
        group = typer.main.get_command(sub)
        assert isinstance(group, TyperGroup)
        _LOADED[module] = dict(group.commands)
    return _LOADED[module]


class _ExomirGroup(TyperGroup):
    """Root command group: an :class:`ExomirError` becomes one line on stderr and its exit code
    (2 for bad input), for the installed script and for in-process callers alike; capability
    commands are listed from ``COMMANDS`` and imported on use."""

    def invoke(self, ctx: Any) -> object:
        try:
            return super().invoke(ctx)
        except ExomirError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None

    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *(n for n, _, _ in _present())]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        cmd = super().get_command(ctx, cmd_name)
        if cmd is not None:
            return cmd
        for name, module, help_text in _present():
            if name == cmd_name:
                return _LazyCommand(name, module, help_text)
        return None


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

# Top-level commands (as ``exomir --help`` lists them: commands, then groups), the module that
# registers each and its one-line help. Keep in step with the modules (a test compares them).
COMMANDS: list[tuple[str, str, str]] = [
    ("design", "exomir.design.cli",
     "Compare candidate therapy designs for an indication and write the report."),
    ("demo", "exomir.design.cli",
     "Run the bundled example design on the embedded defaults (offline) and write the report."),
    ("simulate", "exomir.body.cli",
     "Simulate a therapy over a virtual population: where the benefit comes from (miRNA, "
     "vesicle, vehicle), exposure, copies per cell, knockdown, outcome (median, 5-95 % band)."),
    ("serve", "exomir.web.cli",
     "Open the workbench in a browser: evidence, meta-analysis, cargo, release, designs and "
     "simulations with live progress, quality and dose, and the JSON API (/api/docs). Writes "
     "(kb import, deleting runs) need EXOMIR_TOKEN set."),
    ("sensitivity", "exomir.sensitivity.cli",
     "Global sensitivity: which uncertain parameters drive each output, with CIs."),
    ("kb", "exomir.kb.cli",
     "Query and curate the knowledge base of studies, miRNAs, interactions and trials."),
    ("data", "exomir.formats.cli",
     "Reference data: download official releases (miRBase, TargetScan, miRTarBase, pathway "
     "GMT) and list what is installed."),
    ("evidence", "exomir.evidence.cli",
     "Evidence synthesis: effect sizes, meta-analysis (metafor conventions), small-study "
     "effects, risk of bias, plots."),
    ("cargo", "exomir.cargo.cli",
     "Cargo design: miRNA target sites, context++ scores, pathway enrichment and cargo "
     "ranking."),
    ("release", "exomir.release.cli",
     "Vehicle release kinetics: fit, compare and simulate release curves (hydrogels, "
     "microneedles, scaffolds)."),
    ("quality", "exomir.quality.cli",
     "MISEV reporting check, NTA size data, purity and batch release."),
    ("dose", "exomir.quality.cli",
     "Dose conversions and human-equivalent dose, with assumptions shown."),
    ("manufacture", "exomir.quality.cli",
     "Production plan: cells, culture surface, medium, batches."),
]

# Capability command modules (every module of COMMANDS).
CAPABILITY_CLIS = [
    "exomir.design.cli",
    "exomir.kb.cli",
    "exomir.formats.cli",
    "exomir.evidence.cli",
    "exomir.cargo.cli",
    "exomir.release.cli",
    "exomir.body.cli",
    "exomir.sensitivity.cli",
    "exomir.quality.cli",
    "exomir.web.cli",
]


def _version(value: bool) -> None:
    if value:
        from exomir import __version__

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


def _present() -> list[tuple[str, str, str]]:
    """The rows of COMMANDS whose capability package is installed (no module is imported)."""
    return [row for row in COMMANDS
            if importlib.util.find_spec(row[1].rsplit(".", 1)[0]) is not None]


def main() -> None:
    """Entry point: run the app and turn exomir errors into one line and an exit code."""
    try:
        app()
    except ExomirError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
