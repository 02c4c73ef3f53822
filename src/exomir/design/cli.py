"""``exomir design SPEC.yaml`` and ``exomir demo``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

if TYPE_CHECKING:
    from exomir.design.pipeline import DesignResult
    from exomir.design.spec import DesignSpec

console = Console()


def _prime_body_engine() -> None:
    """Compile the body engine's driver in the background on a fresh machine (a no-op once
    cached), while the spec, knowledge base, evidence and cargo sections are prepared."""
    from exomir.body.driver import prime_in_background

    prime_in_background()


def _run(spec: DesignSpec, out: Path, kb: object = None) -> DesignResult:
    _prime_body_engine()
    from exomir.design.pipeline import run_design
    from exomir.report import TextBlock, Warning_

    start = time.perf_counter()
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("starting", total=None)
        result = run_design(spec, progress=lambda msg: bar.update(task, description=msg),
                            kb=kb, concurrent=True)
    paths = result.write(out)
    decision = result.report.sections[0]
    console.print(f"[bold]{escape(result.report.title)}[/]")
    for b in decision.blocks:
        if isinstance(b, TextBlock) and b.kind == "headline":
            console.print(f"[bold]{escape(b.text)}[/]")
        elif isinstance(b, TextBlock) and b.kind == "next":
            console.print(escape(b.text) + ":")
            for i, item in enumerate(b.items, 1):
                console.print(f"  {i}. {escape(item)}")
        elif isinstance(b, Warning_) and b.severity == "critical":
            console.print(f"[red]critical:[/] {escape(b.message)}")
    console.print(f"report: {paths['html']}\ndata:   {paths['json']}\nfigures: {paths['figures']}"
                  f"\ncandidates as simulate specs: {paths['candidates']}"
                  f"\n({time.perf_counter() - start:.1f} s)")
    return result


def design(spec: Annotated[Path, typer.Argument(help="design spec (YAML or JSON)")],
           out: Annotated[Path, typer.Option("--out", "-o", help="output directory")]
           = Path("exomir-out")) -> None:
    """Compare candidate therapy designs for an indication and write the report."""
    from exomir.design.spec import load_design

    _run(load_design(spec), out)


def demo(indication: Annotated[str, typer.Option(help="neuropathic_pain | diabetic_wound")]
         = "diabetic_wound",
         out: Annotated[Path, typer.Option("--out", "-o", help="output directory")]
         = Path("exomir-out"),
         show_spec: Annotated[bool, typer.Option("--show-spec", help="print the bundled "
                                                 "design spec (YAML) and exit")] = False
         ) -> None:
    """Run the bundled example design on the embedded defaults (offline) and write the report."""
    from exomir.design.spec import example_spec, example_text

    if show_spec:
        typer.echo(example_text(indication), nl=False)
        return
    _prime_body_engine()
    _run(example_spec(indication), out, kb=_embedded_kb())


def _embedded_kb() -> object:
    """The shipped knowledge base only (in memory, read-only), whatever the user imported."""
    from exomir.kb import embedded

    return embedded()


DESIGN_HELP = (
    "Compare candidate therapy designs for an indication and write the report.\n\n"
    "The spec names the indication, species and candidates; each candidate is written like a "
    "simulate spec (product, cargo, delivery, regimen), so it also runs alone with 'exomir "
    "simulate'. Spec reference: docs/design.md.\n\n"
    "Bundled examples: 'exomir demo --show-spec' prints the diabetic-wound spec, 'exomir demo "
    "--show-spec --indication neuropathic_pain' the pain spec; 'exomir demo' runs them.")


def register(app: typer.Typer) -> None:
    app.command("design", help=DESIGN_HELP)(design)
    app.command("demo")(demo)
