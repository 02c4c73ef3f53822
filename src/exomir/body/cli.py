"""``exomir simulate``: run the body simulator on a therapy spec."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from exomir.core import InputError

console = Console()


def _params_table(indication: str, species: str) -> Table:
    from exomir.body.params import parameter_table

    tab = Table(title=f"body parameters ({indication}, {species})")
    for c in ("name", "group", "value", "unit", "cv", "provenance / range"):
        tab.add_column(c)
    for p in parameter_table(indication, species):
        if p.assumption:
            src = f"assumption {p.low:g}-{p.high:g}"
        elif p.calibrated:
            src = f"calibrated: {p.calibrated}"
        else:
            src = p.source or ""
        cv = "" if p.cv is None else f"{p.cv:g}" + ("" if p.cv_source else
                                                    f" (assumed {p.cv_low:g}-{p.cv_high:g})")
        tab.add_row(p.name, p.group or "", f"{p.value:.4g}", p.unit, cv, escape(src))
    return tab


def _release_option(preset: str | None, profile: Path | None) -> Any:
    if preset is not None and profile is not None:
        raise InputError("give one of --release-preset or --release-profile",
                         field="--release-preset", value=preset,
                         accepted="--release-preset NAME or --release-profile FILE")
    if preset is not None:
        from exomir.release.depot import ENDPOINTS
        from exomir.release.profile import vehicle_preset

        try:
            return vehicle_preset(preset)
        except InputError:
            raise InputError("unknown release preset", field="--release-preset",
                             value=preset, accepted=", ".join(ENDPOINTS)) from None
    if profile is not None:
        from exomir.release.profile import load_profile

        return load_profile(profile)
    return None


def simulate_cmd(
    spec: Annotated[Path | None, typer.Argument(help="Therapy spec (YAML or JSON).")] = None,
    subjects: Annotated[int, typer.Option("--subjects", "-n", help="Virtual subjects.")] = 200,
    days: Annotated[float | None, typer.Option(help="Simulated days (default: spec).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed of the parameter draws (>= 0).")] = 0,
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
    rtol: Annotated[float, typer.Option(help="Relative tolerance of the solver "
                                        "(1e-12..1e-2).")] = 1e-5,
    engine: Annotated[str, typer.Option(help="auto, compiled (numba; compiled once per model "
                                        "structure and cached) or numpy.")] = "auto",
    threads: Annotated[int | None, typer.Option(help="Worker threads of the compiled "
                                                "engine (default: all CPUs).")] = None,
    release_preset: Annotated[str | None, typer.Option(
        "--release-preset", help="Vehicle release preset of exomir.release (see 'exomir "
        "release simulate --help').")] = None,
    release_profile: Annotated[Path | None, typer.Option(
        "--release-profile", help="Release profile file from 'exomir release fit "
        "--profile-out'.")] = None,
    attribution: Annotated[bool, typer.Option(
        "--attribution/--no-attribution", help="Split the gain over untreated into miRNA, "
        "vesicle and vehicle shares (8 x the subjects).")] = True,
    attribution_day: Annotated[float | None, typer.Option(
        "--attribution-day", help="Read-out day of the attribution (default 14 wound, "
        "21 pain).")] = None,
    uncertainty: Annotated[int | None, typer.Option(
        help="Also draw N parameter sets from the uncertain parameters' ranges: uncertainty "
             "bands next to the variability bands (exomir.sensitivity).")] = None,
    uncertainty_subjects: Annotated[int, typer.Option(
        help="Subjects per uncertainty draw (the same cohort for every draw).")] = 50,
) -> None:
    """Simulate a therapy over a virtual population: where the benefit comes from (miRNA,
    vesicle, vehicle), exposure, copies per cell, knockdown, outcome (median, 5-95 % band)."""
    from exomir.body.attribution import attribute
    from exomir.body.model import build_model
    from exomir.body.sbml import to_sbml
    from exomir.body.simulate import UNCERTAINTY_NOTE, simulate
    from exomir.body.spec import dose_conversion, load_spec

    if fmt not in ("table", "json"):
        raise InputError("unknown format", field="--format", value=fmt, accepted="table, json")
    if spec is None:
        if param_table:
            console.print(_params_table("diabetic_wound", "mouse"))
            console.print(_params_table("neuropathic_pain", "rat"))
            return
        raise InputError("a therapy spec file is required", field="SPEC")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        s = load_spec(spec)
    spec_warnings = [str(w.message) for w in caught]
    if param_table:
        console.print(_params_table(s.therapy.indication.value, s.species))
        return
    if out is not None and out.suffix.lower() not in (".parquet", ".csv"):
        raise InputError("unknown output type", field="--out", value=str(out),
                         accepted=".parquet, .csv")
    from exomir.core.files import check_output, check_output_dir

    if export_sbml is not None:  # outputs checked before the simulation runs
        check_output(export_sbml, field="--export-sbml", suffixes=(".xml", ".sbml"))
    if plot is not None:
        check_output_dir(plot, field="--plot")
    if out is not None:
        check_output_dir(out.parent if str(out.parent) else Path("."), field="--out")
    rel = _release_option(release_preset, release_profile)
    if rel is not None and not s.route.is_vehicle:
        raise InputError("a release profile needs a vehicle route", field="delivery.route",
                         value=s.route.value, accepted="hydrogel, microneedle, scaffold, decm")
    if days is not None:
        s = s.model_copy(update={"therapy": s.therapy.model_copy(update={"days": days})})
    model = build_model(s, rel)
    horizon = float(days if days is not None else s.therapy.days)
    with Progress(TextColumn("simulating"), BarColumn(), TextColumn("day {task.completed:.1f}"),
                  TimeElapsedColumn(), console=Console(stderr=True),
                  disable=fmt == "json", transient=True) as prog:
        task = prog.add_task("sim", total=horizon)
        from exomir.core.calibrated import load_calibrated

        cal_file = params if params is not None else s.body.calibration
        calibration = None if cal_file is None else load_calibrated(cal_file)
        result = simulate(model, subjects, days=horizon, seed=seed, rtol=rtol,
                          engine=engine, threads=threads,  # type: ignore[arg-type]
                          calibration=calibration,
                          progress=lambda t: prog.update(task, completed=t))
        att = None
        if attribution:
            prog.update(task, description="attribution")
            cal_over = None
            if calibration is not None:  # the same calibrated subjects in every arm
                from exomir.body.simulate import draw_parameters

                names = {c.name for c in calibration.parameters}
                cal_over = {k: v for k, v in draw_parameters(
                    model, subjects, seed, True, calibration).items() if k in names}
            att = attribute(model, subjects, seed, day=attribution_day, rtol=rtol,
                            overrides=cal_over, threads=threads,
                            engine=engine)  # type: ignore[arg-type]
    summ = result.summary()
    conv = dose_conversion(s)
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
    unc = None
    if uncertainty is not None:  # parameter uncertainty (exomir.sensitivity)
        from exomir.sensitivity.cli import print_uncertainty, uncertainty_for_cli

        unc = uncertainty_for_cli(model, uncertainty, uncertainty_subjects, seed, rtol,
                                  quiet=fmt == "json")
    notes = [*spec_warnings, *model.notes]
    if model.release_note:
        notes.append(f"release: {model.release_note}")
    if model.vehicle_type is not None:
        notes.append(f"vehicle type {model.vehicle_type}: own effect from "
                     f"{model.vehicle_param}")
    if fmt == "json":
        typer.echo(json.dumps({
            "spec": str(spec), "subjects": subjects, "days": horizon, "seed": seed,
            "calibration": None if params is None else str(params),
            "attribution": att.to_dict() if att is not None else None,
            "dose": conv, "notes": notes, "note": UNCERTAINTY_NOTE,
            "summary": summ.to_dict("records"), "plots": plots,
            "sbml": str(export_sbml) if export_sbml is not None else None,
            **({} if unc is None else {"uncertainty": unc.to_dict()})}, indent=1,
            default=float))
        return
    if att is not None:
        console.print("[bold]Where the predicted benefit comes from[/] (Shapley shares of "
                      "the gain over untreated, median [5-95 %]):")
        for line in att.statements():
            console.print("  " + escape(line))
    dose_line = f"dose: {conv['value']:g} {conv['unit']}"
    if conv["particles_per_ug"] is not None:
        dose_line += (f" = {conv['particles']:.3g} particles at {conv['particles_per_ug']:.3g} "
                      f"particles/ug ({conv['ratio_source']})")
    console.print(escape(dose_line))
    for n in notes:
        console.print(f"[yellow]note:[/] {escape(n)}")
    tab = Table(title=f"{escape(s.therapy.name)}: {subjects} subjects, {horizon:g} days")
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
    if export_sbml is not None:
        console.print(f"SBML written to {escape(str(export_sbml))}", soft_wrap=True)
    if unc is not None:
        print_uncertainty(unc)
    for p in plots:
        console.print(f"plot: {escape(p)}")


def register(app: typer.Typer) -> None:
    """Add ``simulate`` to the root app."""
    app.command("simulate")(simulate_cmd)
