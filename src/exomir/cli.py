"""The ``exomir`` command line: one root app; each capability package registers its commands.

A capability exposes ``register(app: typer.Typer) -> None`` in its ``cli`` module. Only
packages that are present are listed, so ``exomir --help`` lists commands that work.

Start-up: a capability's ``cli`` module is imported only when one of its commands runs
(``COMMANDS`` names each top-level command, its module and its one-line help, so that
``exomir --help`` imports none of them); ``tests/test_cli_startup.py`` checks the table
against what the modules register.

Errors have one printer, :func:`print_error`: an :class:`~exomir.core.ExomirError` (exit code 2
for bad input), a pydantic validation error (exit 2), a bad option or argument (Click's usage
errors, exit code 2) and, as a last resort, an unexpected exception (exit code 1, traceback
only with ``EXOMIR_DEBUG=1``) each become one line on stderr, plus an optional ``hint:`` line.
The text is printed as plain text, never as rich markup, so a value such as ``[/x]``,
``[red]`` or ``:x:`` is shown as typed.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import os
import sys
import traceback
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text
from typer._click import exceptions as click_exc
from typer.core import TyperCommand, TyperGroup

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
        for cmd in group.commands.values():
            _guard_numbers(cmd)
        _LOADED[module] = dict(group.commands)
    return _LOADED[module]


#: Largest integer any option accepts (beyond it, C code and numpy overflow); floats must be
#: finite. Commands set tighter, meaningful ranges themselves.
MAX_OPTION_INT = 10**15


def _check_number(opt: str, value: object) -> None:
    from exomir.core.errors import InputError

    if isinstance(value, list | tuple):
        for v in value:
            _check_number(opt, v)
        return
    if isinstance(value, bool):
        return
    if isinstance(value, int) and abs(value) > MAX_OPTION_INT:
        raise InputError("out of range", field=opt, value=value,
                         accepted=f"an integer within +-{MAX_OPTION_INT:.0e}")
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError("not a finite number", field=opt, value=value,
                         accepted="a finite decimal number")


def _guard_numbers(cmd: Any) -> None:
    """Every numeric option of every command is checked before the command runs: finite
    floats and integers a C long holds (``--mask-5p 99999...`` or ``--days nan`` are one-line
    errors, never an OverflowError deep inside)."""
    import functools

    if isinstance(cmd, TyperGroup):
        for sub in cmd.commands.values():
            _guard_numbers(sub)
        return
    callback = cmd.callback
    if callback is None or getattr(callback, "_exomir_guarded", False):
        return
    names = {p.name: (p.opts[0] if getattr(p, "opts", None) else p.name) for p in cmd.params}

    @functools.wraps(callback)
    def checked(*args: Any, **kwargs: Any) -> Any:
        for name, value in kwargs.items():
            _check_number(str(names.get(name, name)), value)
        return callback(*args, **kwargs)

    checked._exomir_guarded = True  # type: ignore[attr-defined]
    cmd.callback = checked


class _ExomirGroup(TyperGroup):
    """Root command group: every error leaves through :func:`print_error` with its exit code,
    for the installed script and for in-process callers (typer's CliRunner) alike; capability
    commands are listed from ``COMMANDS`` and imported on use."""

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
    ("calibrate", "exomir.calibrate.cli",
     "Fit body-model parameters to data: multistart, Fisher SEs, profile likelihoods, "
     "identifiability; writes the calibrated-parameter file, a fit report and the PEtab "
     "files."),
    ("validate", "exomir.calibrate.cli",
     "Run every validation case: calibration target or held out, exomir's value, the "
     "published value, the acceptance band, pass/fail."),
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
    "exomir.calibrate.cli",
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


def _present() -> list[tuple[str, str, str]]:
    """The rows of COMMANDS whose capability package is installed (no module is imported)."""
    return [row for row in COMMANDS
            if importlib.util.find_spec(row[1].rsplit(".", 1)[0]) is not None]


def main() -> None:
    """Entry point: run the app; errors become one line and an exit code (see module doc)."""
    app()


if __name__ == "__main__":
    main()
