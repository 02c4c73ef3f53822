"""``exomir design SPEC.yaml`` and ``exomir demo``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from exomir.design.pipeline import DesignResult, run_design
from exomir.design.spec import DesignSpec, example_spec, load_design

console = Console()


def _run(spec: DesignSpec, out: Path) -> DesignResult:
    start = time.perf_counter()
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("starting", total=None)
        result = run_design(spec, progress=lambda msg: bar.update(task, description=msg))
    paths = result.write(out)
    summary = result.report.sections[0]
    console.print(f"[bold]{result.report.title}[/]")
    for b in summary.blocks:
        console.print(getattr(b, "text", ""))
    for w in result.report.sections[-1].data["warnings"]:
        if w["severity"] == "critical":
            console.print(f"[red]critical:[/] {w['message']}")
    console.print(f"report: {paths['html']}\ndata:   {paths['json']}\nfigures: {paths['figures']}"
                  f"\n({time.perf_counter() - start:.1f} s)")
    return result


def design(spec: Annotated[Path, typer.Argument(help="design spec (YAML or JSON)")],
           out: Annotated[Path, typer.Option("--out", "-o", help="output directory")]
           = Path("exomir-out")) -> None:
    """Compare candidate therapy designs for an indication and write the report."""
    _run(load_design(spec), out)


def demo(indication: Annotated[str, typer.Option(help="neuropathic_pain | diabetic_wound")]
         = "diabetic_wound",
         out: Annotated[Path, typer.Option("--out", "-o", help="output directory")]
         = Path("exomir-out")) -> None:
    """Run the bundled example design on the embedded defaults (offline) and write the report."""
    _run(example_spec(indication), out)


def register(app: typer.Typer) -> None:
    app.command("design")(design)
    app.command("demo")(demo)
