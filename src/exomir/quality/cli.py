"""CLI: ``exomir quality ...``, ``exomir dose ...``, ``exomir manufacture ...``."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import track
from rich.table import Table
from rich.text import Text

from exomir.core.errors import InputError
from exomir.core.files import check_option

console = Console()


class Fmt(StrEnum):
    table = "table"
    json = "json"


FormatOpt = Annotated[Fmt, typer.Option("--format", help="table (human) or json (machines)")]


def _json(obj: object) -> None:
    typer.echo(json.dumps(obj, indent=2, default=str))


quality_app = typer.Typer(help="MISEV reporting check, NTA size data, purity and batch release.",
                          no_args_is_help=True)
dose_app = typer.Typer(help="Dose conversions and human-equivalent dose, with assumptions shown.",
                       no_args_is_help=True)
manufacture_app = typer.Typer(help="Production plan: cells, culture surface, medium, batches.",
                              no_args_is_help=True)


# --- quality ----------------------------------------------------------------------------------


def _misev_table(title: str, report: object) -> None:
    from exomir.quality.misev import MisevReport

    assert isinstance(report, MisevReport)
    met, total = report.mandatory_met
    c_met, c_total = report.if_applicable_met
    cond = f", if applicable {c_met}/{c_total}" if c_total else ""
    t = Table(title=Text(f"{title}: {report.completeness_pct:.0f}% complete "
                         f"(mandatory {met}/{total}{cond})"))
    for col in ("item", "level", "status", "evidence", "why it matters"):
        t.add_column(col, overflow="fold")
    for r in report.items:
        status = Text("n/a") if not r.applicable else (Text("met", style="green") if r.met
                                                       else Text("missing", style="red"))
        t.add_row(r.key, r.level.replace("_", " "), status, Text(r.evidence),
                  "" if r.met or not r.applicable else r.why)
    console.print(t)


@quality_app.command("misev")
def misev_cmd(record: Path, fmt: FormatOpt = Fmt.table) -> None:
    """Check a characterization record (YAML) against MISEV2018/2023 minimal requirements."""
    from exomir.quality.misev import evaluate, load_record

    rep = evaluate(load_record(record))
    if fmt is Fmt.json:
        _json(rep.to_dict())
    else:
        _misev_table(rep.record_id, rep)
        console.print("Sources: MISEV2018 doi:10.1080/20013078.2018.1535750; MISEV2023 "
                      "doi:10.1002/jev2.12404; score as in EV-METRIC doi:10.1038/nmeth.4185")


@quality_app.command("studies")
def studies_cmd(indication: Annotated[str | None, typer.Option(help="filter by indication")]
                = None, fmt: FormatOpt = Fmt.table) -> None:
    """MISEV completeness of the curated knowledge-base studies (unknown = not reported)."""
    try:
        from exomir.kb import open_kb
    except ImportError:
        raise InputError("the knowledge base (exomir.kb) is not part of this build") from None
    from exomir.quality.misev import score_studies

    studies = open_kb().studies(indication=indication)
    reps = score_studies(studies)
    rows = [{"study": r.record_id, "completeness_pct": round(r.completeness_pct, 1),
             "mandatory_met": r.mandatory_met[0], "mandatory_total": r.mandatory_met[1],
             "missing": [m.key for m in r.missing]} for r in reps]
    if fmt is Fmt.json:
        _json(rows)
        return
    t = Table(title=f"MISEV completeness of {len(rows)} curated studies")
    for col in ("study", "complete %", "mandatory", "missing"):
        t.add_column(col, overflow="fold")
    for row in sorted(rows, key=lambda r: -float(r["completeness_pct"])):  # type: ignore[arg-type]
        t.add_row(str(row["study"]), f"{row['completeness_pct']:.0f}",
                  f"{row['mandatory_met']}/{row['mandatory_total']}",
                  ", ".join(row["missing"]))  # type: ignore[arg-type]
    console.print(t)


def _stats_row(s: object) -> list[str]:
    from exomir.quality.nta import SizeStats

    assert isinstance(s, SizeStats)
    conc = "-" if s.total_per_ml is None else f"{s.total_per_ml:.3g}"
    if s.total_sd_per_ml is not None:
        conc += f" ± {s.total_sd_per_ml:.2g}"
    return [s.name, conc, f"{s.mean_nm:.1f}", f"{s.mode_nm:.1f}", f"{s.d10_nm:.1f}",
            f"{s.d50_nm:.1f}", f"{s.d90_nm:.1f}", f"{s.span:.2f}", str(s.n_captures),
            f"{100 * s.fraction_above_200nm:.1f}", "; ".join(s.flags)]


@quality_app.command("nta")
def nta_cmd(
    files: Annotated[list[Path], typer.Argument(help="NTA/TRPS/DLS exports")],
    dilution: Annotated[list[float] | None, typer.Option(
        help="dilution factor (sample = measured x dilution); once for all files or once per "
             "file")] = None,
    plot: Annotated[Path | None, typer.Option(help="overlay plot (.png/.svg/.pdf)")] = None,
    normalise: Annotated[bool, typer.Option(help="plot fractions instead of particles/mL")]
    = False,
    fmt: FormatOpt = Fmt.table,
) -> None:
    """Size statistics (concentration, mean, mode, D10/D50/D90, span, per-capture SD)."""
    from exomir.quality.nta import SizeDistribution, overlay_plot, read_size_file, size_stats

    if plot is not None:
        from exomir.core.files import FIGURE_SUFFIXES, check_output

        check_output(plot, field="--plot", suffixes=FIGURE_SUFFIXES)
    dil = list(dilution or [1.0])
    if len(dil) == 1:
        dil = dil * len(files)
    if len(dil) != len(files):
        raise InputError(f"{len(dil)} dilution factors for {len(files)} files", field="dilution",
                         accepted="one --dilution for all files, or one per file")
    dists: list[SizeDistribution] = []
    out: list[dict[str, object]] = []
    summaries: list[dict[str, object]] = []
    for f, d in track(list(zip(files, dil, strict=True)), description="reading",
                      disable=len(files) < 3 or fmt is Fmt.json, transient=True,
                      console=Console(stderr=True)):
        r = read_size_file(f, dilution=d)
        if isinstance(r, SizeDistribution):
            dists.append(r)
            out.append(size_stats(r).to_dict())
        else:
            summaries.append({"name": r.name, "summary": r.values, "dilution": r.dilution})
    if plot is not None:
        if not dists:
            raise InputError("no size-bin table to plot (summary files only)", field="plot")
        overlay_plot(dists, plot, normalise=normalise)
    if fmt is Fmt.json:
        _json({"distributions": out, "summaries": summaries,
               "plot": None if plot is None else str(plot)})
        return
    if dists:
        from exomir.terminal import Column, print_table

        cols = [Column("sample")] + [Column(c, justify="right") for c in (
            "particles/mL ± SD", "mean nm", "mode nm", "D10", "D50", "D90", "span",
            "captures", "% >200 nm")] + [Column("flags")]
        print_table(console, "Size statistics (number-weighted unless flagged)", cols,
                    [_stats_row(size_stats(r2)) for r2 in dists])
    for s in summaries:
        console.print(f"{s['name']} (instrument summary): " + ", ".join(
            f"{k}={v:.4g}" for k, v in s["summary"].items()),  # type: ignore[attr-defined]
            markup=False, highlight=False)
    if plot is not None:
        console.print(f"overlay plot written to {plot}", markup=False, highlight=False)


@quality_app.command("compare")
def compare_cmd(
    a: Path, b: Path,
    dilution_a: Annotated[float, typer.Option(help="dilution factor of A")] = 1.0,
    dilution_b: Annotated[float, typer.Option(help="dilution factor of B")] = 1.0,
    n_tracks: Annotated[int, typer.Option(
        help="particles tracked per sample, for the KS p-value")] = 1000,
    fmt: FormatOpt = Fmt.table,
) -> None:
    """Compare two batches: Wasserstein distance, KS test, D50 and concentration."""
    from exomir.quality.nta import SizeDistribution, compare, read_size_file

    if n_tracks < 2:
        raise InputError("n-tracks must be >= 2", field="n_tracks", value=n_tracks)
    da, db = read_size_file(a, dilution=dilution_a), read_size_file(b, dilution=dilution_b)
    for f, d in ((a, da), (b, db)):
        if not isinstance(d, SizeDistribution):
            raise InputError("comparison needs a size-bin table, not a summary", source=f)
    assert isinstance(da, SizeDistribution) and isinstance(db, SizeDistribution)
    c = compare(da, db, n_tracks=(n_tracks, n_tracks))
    if fmt is Fmt.json:
        _json(c.to_dict())
        return
    t = Table(title=Text(f"{c.a} vs {c.b}"))
    t.add_column("measure")
    t.add_column("value")
    t.add_row("Wasserstein-1 distance", f"{c.wasserstein_nm:.2f} nm")
    t.add_row("KS statistic D", f"{c.ks_statistic:.3f}")
    t.add_row(f"KS p-value (n={n_tracks} each)", f"{c.ks_pvalue:.3g}")
    t.add_row("D50 difference (B - A)", f"{c.d50_difference_nm:.1f} nm")
    t.add_row("concentration ratio B/A",
              "-" if c.concentration_ratio is None else f"{c.concentration_ratio:.3f}")
    console.print(t)
    console.print(c.note)


@quality_app.command("release")
def release_cmd(spec: Path, batch: Path, fmt: FormatOpt = Fmt.table) -> None:
    """Check a batch record against a release specification; exit 1 when the batch fails."""
    from exomir.quality.batch import check_release, load_batch, load_spec

    rep = check_release(load_spec(spec), load_batch(batch), base_dir=batch.parent)
    if fmt is Fmt.json:
        _json(rep.to_dict())
    else:
        title = Text(f"{rep.batch_id} against '{rep.spec}': ")
        title.append("PASS" if rep.passed else "FAIL", style="green" if rep.passed else "red")
        t = Table(title=title)
        for col in ("item", "requirement", "observed", "result", "reason"):
            t.add_column(col, overflow="fold")
        for c in rep.checks:
            t.add_row(Text(c.item), Text(c.requirement), Text(c.observed),
                      Text("pass", style="green") if c.passed else Text("FAIL", style="red"),
                      Text(c.reason))
        console.print(t)
        for n in rep.notes:
            console.print(f"note: {n}", markup=False, highlight=False)
    if not rep.passed:
        raise typer.Exit(code=1)


@quality_app.command("purity")
def purity_cmd(
    particles_per_ml: Annotated[float, typer.Option(help="NTA concentration")],
    protein_ug_per_ml: Annotated[float, typer.Option(help="protein (e.g. BCA), ug/mL")],
    fmt: FormatOpt = Fmt.table,
) -> None:
    """Particles per ug protein and the Webber & Clayton 2013 purity class."""
    from exomir.quality.purity import classify_purity, particles_per_ug

    r = classify_purity(particles_per_ug(particles_per_ml, protein_ug_per_ml))
    if fmt is Fmt.json:
        _json(r.__dict__)
    else:
        console.print(f"{r.particles_per_ug:.3g} particles/ug: {r.purity_class} ({r.rule}; "
                      f"{r.source})")


# --- dose -------------------------------------------------------------------------------------


def _print_conversion(title: str, c: object, fmt: Fmt) -> None:
    from exomir.quality.dose import Conversion

    assert isinstance(c, Conversion)
    if fmt is Fmt.json:
        _json(c.to_dict())
        return
    console.print(f"[bold]{title}: {c.value:.4g} {c.unit}[/]", highlight=False)
    for s in c.steps:
        console.print(f"  step: {s}", highlight=False)
    for a in c.assumptions:
        console.print(f"  assumption: {a}", highlight=False)


@dose_app.command("convert")
def dose_convert_cmd(
    value: Annotated[float, typer.Option(help="dose value")],
    unit: Annotated[str, typer.Option(help="e.g. particles, ug, copies, particles/kg, ug/cm^2")],
    to: Annotated[str, typer.Option(help="target unit")],
    particles_per_ug: Annotated[float | None, typer.Option(help="particles per ug protein")]
    = None,
    copies_per_particle: Annotated[float | None, typer.Option(help="miRNA copies per particle")]
    = None,
    body_weight_kg: Annotated[float | None, typer.Option(help="body weight, kg")] = None,
    wound_area_cm2: Annotated[float | None, typer.Option(help="wound area, cm^2")] = None,
    fmt: FormatOpt = Fmt.table,
) -> None:
    """Convert a dose; every factor used is printed as an assumption."""
    from exomir.quality.dose import convert

    c = convert(value, unit, to, particles_per_ug=particles_per_ug,
                copies_per_particle=copies_per_particle, body_weight_kg=body_weight_kg,
                wound_area_cm2=wound_area_cm2)
    _print_conversion(f"{value:g} {unit}", c, fmt)


@dose_app.command("hed")
def dose_hed_cmd(
    dose: Annotated[float, typer.Option(help="animal dose per kg")],
    unit: Annotated[str, typer.Option(help="per-kg unit, e.g. mg/kg, particles/kg")] = "mg/kg",
    species: Annotated[str, typer.Option("--from", help="mouse or rat")] = "mouse",
    human_weight_kg: Annotated[float | None, typer.Option(
        help="also give the total dose for this body weight (FDA reference 60 kg)")] = None,
    fmt: FormatOpt = Fmt.table,
) -> None:
    """Human-equivalent dose by body-surface-area scaling (FDA 2005 Km factors)."""
    from exomir.quality.dose import hed

    c = hed(dose, unit, species, human_weight_kg=human_weight_kg)
    _print_conversion(f"HED from {species} {dose:g} {unit}", c, fmt)


# --- manufacture ------------------------------------------------------------------------------


def _apply_sets(sets: list[str] | None, secretion: float | None) -> object:
    from exomir.quality.params import MANUFACTURING

    values: dict[str, float] = {}
    for s in sets or []:
        name, sep, val = s.partition("=")
        if not sep or name.strip() not in MANUFACTURING:
            raise InputError("expected NAME=VALUE with a known parameter", field="set", value=s,
                             accepted=", ".join(p.name for p in MANUFACTURING))
        try:
            values[name.strip()] = float(val)
        except ValueError:
            raise InputError("not a number", field=f"--set {name}", value=val) from None
    if secretion is not None:
        values["secretion_particles_per_cell_per_day"] = secretion
    for k, v in values.items():
        if k == "overage_fraction":  # no overage is a plan too
            check_option(v, field=f"--set {k}", lo=0, hi=100)
        else:  # >= 1e-9: denormal inputs (1e-320) overflow the plan's divisions
            check_option(v, field=f"--set {k}" if k != "secretion_particles_per_cell_per_day"
                         or secretion is None else "--secretion", lo=1e-9, hi=1e15)
        q = MANUFACTURING[k]
        if k.startswith("yield_") and v > 1:
            raise InputError("a yield is a fraction", field=f"--set {k}", value=v,
                             accepted="a number > 0 and <= 1")
        if q.unit in ("day", "days", "d") and v > 3650:
            raise InputError("out of range", field=f"--set {k}", value=v,
                             accepted="a number of days > 0 and <= 3650")
    return MANUFACTURING.replace(**values) if values else MANUFACTURING


@manufacture_app.command("plan")
def plan_cmd(
    subjects: Annotated[int, typer.Option(help="number of subjects")],
    doses: Annotated[int, typer.Option(help="doses per subject")],
    particles_per_dose: Annotated[float, typer.Option(help="particles per dose")],
    method: Annotated[str, typer.Option(
        help="ultracentrifugation, sec, tff or precipitation")] = "tff",
    secretion: Annotated[float | None, typer.Option(
        help="particles secreted per cell per day (measured; overrides the assumption)")] = None,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="override a parameter, NAME=VALUE (see 'manufacture parameters')")] = None,
    fmt: FormatOpt = Fmt.table,
) -> None:
    """Cells, culture surface (T175) or bioreactor volume, medium, batches and days."""
    from exomir.core.params import ParameterTable
    from exomir.quality.manufacture import scenarios, sensitivity, tradeoffs

    params = _apply_sets(set_, secretion)
    assert isinstance(params, ParameterTable)
    sc = scenarios(subjects, doses, particles_per_dose, method, params)
    sens = sensitivity(subjects, doses, particles_per_dose, method, params)
    if fmt is Fmt.json:
        _json({"scenarios": {k: v.to_dict() for k, v in sc.items()},
               "tradeoffs_held_central": tradeoffs(sens),
               "sensitivity": [dict(s.__dict__, surface_fold=s.surface_fold,
                                    days_fold=s.days_fold) for s in sens],
               "assumptions": [p.name for p in params.assumptions()]})
        return
    t = Table(title=f"Production plan: {subjects} subjects x {doses} doses x "
                    f"{particles_per_dose:.3g} particles ({sc['central'].method})")
    t.add_column("quantity")
    for k in ("low", "central", "high"):
        t.add_column(k, justify="right")
    rows = [("particles to deliver", "particles_final", "{:.3g}"),
            ("particles to secrete", "particles_secreted", "{:.3g}"),
            ("producer cells", "cells", "{:.3g}"), ("culture surface cm^2", "surface_cm2",
                                                     "{:.3g}"),
            ("T175 flasks", "t175_flasks", "{}"), ("or bioreactor L", "bioreactor_l", "{:.3g}"),
            ("medium L", "medium_l", "{:.3g}"), ("batches", "batches", "{}"),
            ("days", "days", "{:g}")]
    for label, attr, f in rows:
        t.add_row(label, *(f.format(getattr(sc[k], attr)) for k in ("low", "central", "high")))
    console.print(t)
    for step in sc["central"].steps:
        console.print(f"  {step}", highlight=False)
    st = Table(title="One-at-a-time sensitivity (others central)")
    for col in ("parameter", "low", "high", "surface fold", "days fold"):
        st.add_column(col)
    for s in sens:
        st.add_row(s.parameter, f"{s.low:g}", f"{s.high:g}", f"{s.surface_fold:.2f}",
                   f"{s.days_fold:.2f}")
    console.print(st)
    if sens:
        console.print(f"dominant assumption: [bold]{sens[0].parameter}[/] "
                      f"({sens[0].surface_fold:.1f}-fold range in culture surface)")
    trade = tradeoffs(sens)
    console.print("low/high: every parameter at the end of its range that needs the least/most "
                  "culture surface and days"
                  + (f"; {', '.join(trade)} trade surface against days and stay central"
                     if trade else "")
                  + ". Assumed (unsourced) parameters: "
                  + ", ".join(p.name for p in params.assumptions()), highlight=False)


@manufacture_app.command("parameters")
def parameters_cmd(fmt: FormatOpt = Fmt.table) -> None:
    """The manufacturing parameter table with sources and ranges."""
    from exomir.quality.params import MANUFACTURING

    if fmt is Fmt.json:
        _json(MANUFACTURING.to_records())
    else:
        typer.echo(MANUFACTURING.to_markdown())


def register(app: typer.Typer) -> None:
    """Add the ``quality``, ``dose`` and ``manufacture`` groups to the root app."""
    app.add_typer(quality_app, name="quality")
    app.add_typer(dose_app, name="dose")
    app.add_typer(manufacture_app, name="manufacture")
