"""``exomir simulate``: run the body simulator on a therapy spec."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from exomir.core import InputError

console = Console()


def _params_table(indication: str, species: str) -> Table:
    from exomir.body.params import parameter_table

    tab = Table(title=f"body parameters ({indication}, {species})")
    for c in ("name", "value", "unit", "cv", "source / range"):
        tab.add_column(c)
    for p in parameter_table(indication, species):
        src = p.source or f"assumption {p.low:g}-{p.high:g}"
        tab.add_row(p.name, f"{p.value:.4g}", p.unit, "" if p.cv is None else f"{p.cv:g}", src)
    return tab


def simulate_cmd(
    spec: Annotated[Path | None, typer.Argument(help="Therapy spec (YAML or JSON).")] = None,
    subjects: Annotated[int, typer.Option("--subjects", "-n", help="Virtual subjects.")] = 200,
    days: Annotated[float | None, typer.Option(help="Simulated days (default: spec).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed of the parameter draws.")] = 0,
    out: Annotated[Path | None, typer.Option(help="Trajectories to .parquet or .csv.")] = None,
    plot: Annotated[Path | None, typer.Option(help="Folder for PNG plots.")] = None,
    export_sbml: Annotated[Path | None, typer.Option("--export-sbml",
                                                     help="SBML L3 of one subject.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    param_table: Annotated[bool, typer.Option("--param-table", help="Print the parameter "
                                              "table with sources (for the spec, or "
                                              "mouse/wound).")] = False,
    params: Annotated[Path | None, typer.Option("--params", help="Calibrated-parameter file "
                                                "(exomir calibrate): its values, and for "
                                                "several subjects correlated draws from its "
                                                "covariance.")] = None,
    rtol: Annotated[float, typer.Option(help="Relative tolerance of the solver.")] = 1e-5,
    engine: Annotated[str, typer.Option(help="auto, compiled (numba; compiled once per model "
                                        "structure and cached) or numpy.")] = "auto",
    threads: Annotated[int | None, typer.Option(help="Worker threads of the compiled "
                                                "engine (default: all CPUs).")] = None,
) -> None:
    """Simulate a therapy over a virtual population: exposure, copies per cell, knockdown,
    outcome (median and 5-95 % band)."""
    from exomir.body.sbml import to_sbml
    from exomir.body.simulate import UNCERTAINTY_NOTE, simulate
    from exomir.body.spec import load_spec

    if fmt not in ("table", "json"):
        raise InputError("unknown format", field="--format", value=fmt, accepted="table, json")
    if spec is None:
        if param_table:
            console.print(_params_table("diabetic_wound", "mouse"))
            console.print(_params_table("neuropathic_pain", "rat"))
            return
        raise InputError("a therapy spec file is required", field="SPEC")
    s = load_spec(spec)
    if param_table:
        sp = s.therapy.subject.species.value if s.therapy.subject.species else "mouse"
        console.print(_params_table(s.therapy.indication.value, sp))
        return
    if out is not None and out.suffix.lower() not in (".parquet", ".csv"):
        raise InputError("unknown output type", field="--out", value=str(out),
                         accepted=".parquet, .csv")
    horizon = float(days if days is not None else s.therapy.days)
    with Progress(TextColumn("simulating"), BarColumn(), TextColumn("day {task.completed:.1f}"),
                  TimeElapsedColumn(), console=Console(stderr=True),
                  disable=fmt == "json") as prog:
        task = prog.add_task("sim", total=horizon)
        calibration = None
        if params is not None:
            from exomir.core.calibrated import load_calibrated

            calibration = load_calibrated(params)
        result = simulate(s, subjects, days=horizon, seed=seed, rtol=rtol,
                          engine=engine, threads=threads,  # type: ignore[arg-type]
                          calibration=calibration,
                          progress=lambda t: prog.update(task, completed=t))
    summ = result.summary()
    if out is not None:
        frame = result.to_frame()
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix.lower() == ".csv":
            frame.to_csv(out, index=False)
        else:
            frame.to_parquet(out, index=False)
    if export_sbml is not None:
        export_sbml.write_text(to_sbml(result.model), encoding="utf-8")
    plots = []
    if plot is not None:
        from exomir.body.plots import write_plots

        plots = [str(p) for p in write_plots(result, plot)]
    if fmt == "json":
        typer.echo(json.dumps({"spec": str(spec), "subjects": subjects, "days": horizon,
                               "calibration": None if params is None else str(params),
                               "note": UNCERTAINTY_NOTE, "summary": summ.to_dict("records"),
                               "plots": plots}, indent=1))
        return
    tab = Table(title=f"{s.therapy.name}: {subjects} subjects, {horizon:g} days")
    for c in ("metric", "unit", "median", "5%", "95%"):
        tab.add_column(c)
    for r in summ.itertuples():
        tab.add_row(str(r.metric), str(r.unit), f"{r.median:.4g}", f"{r.p05:.4g}",
                    f"{r.p95:.4g}")
    console.print(tab)
    st = result.stats
    console.print(f"solver: {st.engine} engine, steps per subject "
                  + (f"mean {st.mean_steps:.0f}, max {st.steps}" if st.engine == "compiled"
                     else f"{st.steps} (shared)") + f", rtol {rtol:g}")
    console.print(f"[yellow]note:[/] {UNCERTAINTY_NOTE}")
    for p in plots:
        console.print(f"plot: {p}")


def register(app: typer.Typer) -> None:
    """Add ``simulate`` to the root app."""
    app.command("simulate")(simulate_cmd)
