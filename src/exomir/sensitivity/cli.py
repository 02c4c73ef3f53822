"""``exomir sensitivity``: which assumptions drive each answer (Sobol', Morris, eFAST)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from exomir.core import InputError
from exomir.sensitivity.text import ordinal

console = Console()


def _split(values: list[str] | None) -> list[str]:
    return [v.strip() for x in values or [] for v in x.split(",") if v.strip()]


def _fmt(v: Any, c: Any = None) -> str:
    """``0.571 ± 0.178`` (index ± half-width of its 95 % CI)."""
    if v is None or (isinstance(v, float) and v != v):
        return "—"
    if c is None or c != c:
        return f"{v:.3g}"
    return f"{v:.3f} ± {c:.3f}"


def print_result(res: Any, top: int = 8) -> None:
    """The result as rich tables: summary first, then per output, then distributions."""
    from exomir.sensitivity.report import summary_text

    p = res.problem
    n_assumed = sum(1 for f in p.factors if f.origin.startswith("assumption"))
    console.print(f"[bold]{res.model.get('name', 'model')}[/]: {summary_text(res)}")
    if n_assumed:
        console.print(f"[yellow]note:[/] {n_assumed} of the {p.k} uncertain inputs are "
                      "flagged assumptions (a plausible range, no measured value); the indices show how much each "
                      "answer rests on them.")
    for note in res.notes:
        console.print(f"[dim]{note}[/]")
    if p.fixed:
        console.print(f"[dim]{len(p.fixed)} parameters held at their values (no range, or "
                      "left out); see --format json 'problem.fixed'[/]")
    stats = {} if res.output_stats is None else {
        r["output"]: r for r in res.output_stats.to_dict("records")}
    for c in res.columns:
        conv = res.converged.get(c.name)
        detail = res.convergence_detail(c.name)
        verdict = ""
        if conv is not None and detail is not None:
            change, stable = detail
            verdict = (f" (converged: n/2 vs n, largest change {change:.3f})" if conv else
                       f" [red](NOT converged: largest change {change:.3f} between n/2 and n "
                       f"(> 0.05); five leading {'unchanged' if stable else 'changed'}; "
                       "raise --n)[/]")
        tab = Table(title=f"{c.label} ({c.unit}){verdict}", title_justify="left")
        morris = res.method == "morris"
        for h in (["parameter" if res.by == "parameter" else "group", "group"]
                  + (["mu* ± 95 % CI", "sigma"] if morris else ["S1 ± 95 % CI",
                                                                 "ST ± 95 % CI"])):
            tab.add_column(h)
        groups = {f.name: f.group for f in p.factors}
        for r in res.top(c.name, top).to_dict("records"):
            lab = str(r["label"])
            if morris:
                vals = [_fmt(r["mu_star"], r["mu_star_conf"]), _fmt(r["sigma"])]
            else:
                vals = [_fmt(r["S1"], r["S1_conf"]), _fmt(r["ST"], r["ST_conf"])]
            tab.add_row(lab, groups.get(lab, ""), *vals)
        console.print(tab)
        s = stats.get(c.name)
        if s is not None:
            console.print(f"  over the parameter draws (typical subject): 5-95 % "
                          f"{s['p05']:.4g}-{s['p95']:.4g} {c.unit}, median {s['p50']:.4g}; "
                          f"nominal {s['nominal']:.4g} at the {ordinal(s['nominal_percentile'])} "
                          "percentile")
    if res.second is not None and len(res.columns):
        first = res.columns[0].name
        s2 = res.second[res.second["output"] == first].sort_values("S2", ascending=False)
        if not s2.empty:
            pairs = "; ".join(f"{r.a} x {r.b} {_fmt(r.S2, r.S2_conf)}"
                              for r in s2.head(3).itertuples())
            console.print(f"largest interactions (S2) for {res.columns[0].label}: {pairs}")
    dist = Table(title="distributions used", title_justify="left")
    for h in ("parameter", "group", "distribution", "origin"):
        dist.add_column(h)
    for f in p.factors:
        dist.add_row(f.name, f.group, f.describe(), f.origin)
    console.print(dist)


def uncertainty_for_cli(model: Any, n_draws: int, n_subjects: int, seed: int, rtol: float,
                        quiet: bool = False) -> Any:
    """Uncertainty bands for ``exomir simulate --uncertainty N`` (with a progress bar)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from exomir.sensitivity.engine import get_engine
    from exomir.sensitivity.uncertainty import uncertainty_bands

    eng = get_engine(None)
    try:
        with Progress(TextColumn("uncertainty draws"), BarColumn(),
                      TextColumn("{task.completed}/{task.total} subjects"),
                      TimeElapsedColumn(), console=Console(stderr=True),
                      disable=quiet) as prog:
            task = prog.add_task("unc", total=(n_draws + 1) * n_subjects)
            return uncertainty_bands(model, n_draws=n_draws, n_subjects=n_subjects, seed=seed,
                                     rtol=rtol, engine=eng,
                                     progress=lambda d, t: prog.update(task, completed=d))
    finally:
        eng.close()


def print_uncertainty(unc: Any) -> None:
    """Bands table (variability, uncertainty, combined), the headline statement, drivers."""
    tab = Table(title=f"parameter uncertainty ({unc.n_draws} draws x {unc.n_subjects} "
                      "subjects) next to between-subject variability: 5-95 %",
                title_justify="left")
    for h in ("output", "unit", "nominal median", "variability", "uncertainty (median)",
              "combined", "nominal at"):
        tab.add_column(h)
    for r in unc.bands.to_dict("records"):
        tab.add_row(r["label"], r["unit"], f"{r['nominal_median']:.4g}",
                    f"{r['var_p05']:.4g}-{r['var_p95']:.4g}",
                    f"{r['unc_p05']:.4g}-{r['unc_p95']:.4g}",
                    f"{r['comb_p05']:.4g}-{r['comb_p95']:.4g}",
                    f"{ordinal(r['nominal_percentile'])} pct")
    console.print(tab)
    console.print(f"[yellow]uncertainty:[/] {unc.statement()}")
    for c in unc.columns[1:]:
        d = unc.drivers.get(c.name, [])
        if d:
            console.print(f"  {c.label}: dominated by " + ", ".join(
                f"{x['parameter']} (rho {x['spearman']:+.2f})" for x in d[:3]))
    for note in unc.notes:
        console.print(f"[dim]{note}[/]")


def sensitivity_cmd(
    spec: Annotated[Path, typer.Argument(help="Therapy spec (YAML or JSON).")],
    method: Annotated[str, typer.Option(help="sobol (S1, ST, S2 with bootstrap CIs), morris "
                                        "(screening) or efast.")] = "sobol",
    n: Annotated[int, typer.Option("--n", help="Base samples (sobol: a power of 2), "
                                   "trajectories (morris) or points per curve (efast).")] = 512,
    outputs: Annotated[list[str] | None, typer.Option(
        help="Comma-separated: outcome, gain, knockdown, exposure (default: these four), "
             "attribution (miRNA/vesicle/vehicle contributions, 8 x the runs).")] = None,
    day: Annotated[float | None, typer.Option(help="Outcome day (default 14 wound, 21 pain).")
                   ] = None,
    group: Annotated[list[str] | None, typer.Option(
        help="Only these parameter groups (comma-separated), e.g. 'cell uptake,RISC' (the "
             "table's group column).")] = None,
    param: Annotated[list[str] | None, typer.Option(
        help="Only these parameters (comma-separated).")] = None,
    by_group: Annotated[bool, typer.Option("--by-group", help="One index per parameter "
                                           "group instead of per parameter.")] = False,
    calibration: Annotated[Path | None, typer.Option(
        help="Calibrated-parameter file: its CIs/covariance replace the table's ranges.")
                           ] = None,
    scheduler: Annotated[str | None, typer.Option(
        help="Dask scheduler tcp://HOST:PORT (default: $EXOMIR_DASK_SCHEDULER, else local).")
                         ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the design and the bootstrap.")] = 0,
    second_order: Annotated[bool, typer.Option(
        "--second-order/--no-second-order", help="Sobol' S2 for the headline output "
        "(doubles the runs).")] = True,
    convergence: Annotated[bool, typer.Option(
        "--convergence/--no-convergence", help="Compare indices at n/2 and n.")] = True,
    screen: Annotated[bool, typer.Option(
        "--screen/--no-screen", help="Leave out parameters with no effect on any output "
        "(one at a time from 4 base points; mostly ones the model does not read).")] = True,
    chunk_size: Annotated[int, typer.Option(help="Samples per task.")] = 256,
    rtol: Annotated[float, typer.Option(help="Relative tolerance of the solver.")] = 1e-5,
    top: Annotated[int, typer.Option(help="Rows per output table.")] = 8,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    out: Annotated[Path | None, typer.Option(help="Write the result as JSON.")] = None,
    plot: Annotated[Path | None, typer.Option(help="Folder for SVG bar plots.")] = None,
) -> None:
    """Global sensitivity: which uncertain parameters drive each output, with CIs."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from exomir.sensitivity.api import analyze_spec

    if fmt not in ("table", "json"):
        raise InputError("unknown format", field="--format", value=fmt, accepted="table, json")
    outs = _split(outputs) or None
    with Progress(TextColumn("{task.description}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total} runs"), TimeElapsedColumn(),
                  console=Console(stderr=True), disable=fmt == "json") as prog:
        tasks: dict[str, Any] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = prog.add_task(stage, total=total)
            prog.update(tasks[stage], completed=done, total=total)

        kw: dict[str, Any] = {} if outs is None else {"outputs": outs}
        res = analyze_spec(spec, method=method, n=n, day=day, groups=_split(group) or None,
                           names=_split(param) or None,
                           by="group" if by_group else "parameter", calibration=calibration,
                           scheduler=scheduler, seed=seed, second_order=second_order,
                           convergence=convergence, screen_inert=screen,
                           chunk_size=chunk_size, rtol=rtol, progress=progress, **kw)
    files = []
    if out is not None:
        files.append(str(res.save(out)))
    if plot is not None:
        from exomir.sensitivity.plots import indices_bar

        plot.mkdir(parents=True, exist_ok=True)
        for c in res.columns:
            svg = plot / f"sensitivity_{c.name}.svg"
            svg.write_text(indices_bar(res, c.name, top), encoding="utf-8")
            files.append(str(svg))
    if fmt == "json":
        typer.echo(json.dumps({"spec": str(spec), **res.to_dict(), "files": files}, indent=1))
        return
    print_result(res, top)
    for name in files:
        console.print(f"wrote {name}")


def register(app: typer.Typer) -> None:
    """Add ``sensitivity`` to the root app."""
    app.command("sensitivity")(sensitivity_cmd)
