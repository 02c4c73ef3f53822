"""Start-up: the root CLI lists capability commands without importing them, and its table of
commands matches what the capability modules register."""

from __future__ import annotations

import importlib
import subprocess
import sys

import typer
from typer.testing import CliRunner

from exomir.cli import CAPABILITY_CLIS, COMMANDS, app

HEAVY = ("pandas", "matplotlib", "scipy", "numba", "numpy", "sqlalchemy", "pint", "pydantic")


def _loaded_after(code: str) -> list[str]:
    probe = f"\nimport sys\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code + probe], capture_output=True, text=True,
                         check=True)
    return out.stdout.splitlines()[-1].split() if out.stdout.strip() else []


def test_root_cli_imports_no_capability() -> None:
    code = ("import sys\nsys.argv = ['exomir', '--help']\nfrom exomir.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "assert not [m for m in sys.modules if m.endswith('.cli') and m != 'exomir.cli']\n"
            "print()")
    assert _loaded_after(code) == []


def test_light_command_modules_load_no_heavy_library() -> None:
    light = _loaded_after("import exomir.cargo.cli, exomir.quality.cli, exomir.formats.cli")
    assert set(light) <= {"pydantic"}
    assert set(_loaded_after("import exomir.kb.cli")) <= {"sqlalchemy", "pydantic"}


def test_driver_priming_starts_before_the_simulator_stack_loads() -> None:
    """exomir demo starts compiling the body driver (on a fresh machine) before it imports the
    simulator: measured 1.4 s off the fresh demo (14.7 -> 13.2 s, 3 runs each). Importing the
    driver module and the body package loads none of the heavy libraries."""
    code = ("import exomir.body, exomir.body.driver\n"
            "from exomir.body.driver import prime_in_background\n")
    assert _loaded_after(code) == []


def test_body_simulate_stays_the_function_after_its_module_is_imported() -> None:
    code = ("import exomir.body.simulate\nimport exomir.body as b\n"
            "from exomir.body import simulate\nimport exomir.body.simulate as s\n"
            "assert callable(simulate) and simulate is b.simulate is s\n"
            "assert simulate.__module__ == 'exomir.body.simulate'\n"
            "assert b.build_model.__name__ == 'build_model'\n"
            "print()")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_units_load_pint_without_dask_and_dask_still_works() -> None:
    """pint would import dask.base at start-up (0.15 s of every command); exomir's registry
    loads pint without it, and dask stays importable (for exomir sensitivity --scheduler)."""
    code = ("import sys\nimport exomir.core.units as u\nassert 'dask' not in sys.modules\n"
            "import dask.base\nprint(u.Q_(1, 'ug').to('mg').magnitude)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert float(out.stdout.strip()) == 0.001


def test_command_table_matches_the_modules() -> None:
    """COMMANDS (read by --help) must list exactly what each module registers, with its help."""
    registered = []
    for mod in CAPABILITY_CLIS:
        sub = typer.Typer()

        @sub.callback()
        def _cb() -> None:
            pass

        importlib.import_module(mod).register(sub)
        group = typer.main.get_command(sub)
        for name, cmd in group.commands.items():  # type: ignore[attr-defined]
            text = " ".join((cmd.short_help or cmd.help or "").split("\n\n")[0].split())
            registered.append((name, mod, text))
    assert sorted(registered) == sorted(COMMANDS), (
        "update exomir.cli.COMMANDS to what the modules register")
    assert sorted({m for _, m, _ in COMMANDS}) == sorted(CAPABILITY_CLIS)


def test_lazy_commands_run_and_show_help() -> None:
    runner = CliRunner()
    r = runner.invoke(app, ["--help"])
    assert r.exit_code == 0
    for name, _, _ in COMMANDS:
        assert name in r.output
    r = runner.invoke(app, ["dose", "hed", "--dose", "10", "--unit", "mg/kg", "--from", "mouse"])
    assert r.exit_code == 0 and "mg/kg" in r.output
    r = runner.invoke(app, ["cargo", "--help"])
    assert r.exit_code == 0 and "scan" in r.output
    r = runner.invoke(app, ["nosuchcommand"])
    assert r.exit_code == 2
