"""``exomir release``: fit, compare, simulate and list release models."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from exomir.core.errors import InputError
from exomir.core.files import check_option
from exomir.release.compare import compare_profiles
from exomir.release.depot import ENDPOINTS
from exomir.release.fit import KP_LIMITS, fit_models
from exomir.release.io import ReleaseDataWarning, read_release_csv
from exomir.release.models import MODELS
from exomir.release.profile import (
    ModelProfile,
    from_fit,
    from_model,
    vehicle_preset,
    write_profile,
)

console = Console(width=None if Console().is_terminal else 180)
#: Longest horizon of ``release simulate`` (days; 100 years) and most output times.
MAX_DAYS = 36_525.0
MAX_POINTS = 100_000
MAX_BOOT = 100_000
MAX_TABLE_ROWS = 200
release_app = typer.Typer(help="Vehicle release kinetics: fit, compare and simulate release "
                          "curves (hydrogels, microneedles, scaffolds).", no_args_is_help=True)


def _fmt(v: float) -> str:
    return f"{v:.4g}" if np.isfinite(v) else "—"


def _check_format(fmt: str) -> None:
    if fmt not in ("table", "json"):
        raise InputError("unknown output format", field="--format", value=fmt,
                         accepted="table, json")


@release_app.command("fit")
def fit_cmd(
    data: Annotated[Path, typer.Option("--data", help="CSV: time, released [, sd, replicate, "
                                       "time_unit, released_unit].")],
    models: Annotated[str, typer.Option("--models", help="'all', 'base' or comma-separated "
                                        "names (see 'exomir release models').")] = "all",
    time_unit: Annotated[str | None, typer.Option("--time-unit", help="Time unit (h, day, "
                                                  "min, week) when the CSV has no time_unit "
                                                  "column; required then.")] = None,
    released_unit: Annotated[str, typer.Option("--released-unit", help="%, fraction or auto "
                                               "when the CSV has no released_unit column.")
                             ] = "auto",
    geometry: Annotated[str, typer.Option("--geometry", help="slab, cylinder or sphere "
                                          "(Korsmeyer-Peppas n interpretation).")] = "slab",
    fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table",
    plot: Annotated[Path | None, typer.Option("--plot", help="Write a figure (.png/.svg/.pdf)."
                                              )] = None,
    profile_out: Annotated[Path | None, typer.Option(
        "--profile-out", help="Write the recommended model as a release profile (JSON) for "
        "'exomir simulate --release-profile' or a spec's body.release_profile.")] = None,
) -> None:
    """Fit release models, rank them (AICc) and recommend one."""
    _check_format(fmt)
    if geometry not in KP_LIMITS:
        raise InputError("unknown geometry", field="--geometry", value=geometry,
                         accepted=", ".join(KP_LIMITS))
    if plot is not None:
        from exomir.core.files import FIGURE_SUFFIXES, check_output

        check_output(plot, field="--plot", suffixes=FIGURE_SUFFIXES)
    with warnings.catch_warnings():  # data warnings are printed as notes below, once
        warnings.simplefilter("ignore", ReleaseDataWarning)
        ds = read_release_csv(data, time_unit=time_unit, released_unit=released_unit)
    report = fit_models(ds, models, geometry=geometry)  # type: ignore[arg-type]
    if plot is not None:
        from exomir.release.plot import plot_fit

        plot_fit(report, plot)
    if profile_out is not None:
        write_profile(from_fit(report), profile_out)
    if fmt == "json":
        typer.echo(json.dumps(report.to_dict(), indent=2, default=float))
        return
    tab = Table(title=f"Release models fitted to {data.name} ({ds.n} observations; time in "
                "days, F as fraction)")
    for col in ("rank", "model", "parameters ± 95% CI", "R2", "adjR2", "AIC", "AICc", "BIC",
                "MSC"):
        tab.add_column(col, justify="left" if col in ("model", "parameters ± 95% CI")
                       else "right")
    for f in report.fits:
        params = "\n".join(f"{p.name}={_fmt(p.value)} [{_fmt(p.ci_low)}, {_fmt(p.ci_high)}]"
                           for p in f.params)
        name = f.name + (" *" if f is report.recommended else "")
        name += f" ({f.subset})" if f.subset != "all" else ""
        tab.add_row(str(f.rank or "—"), name, params, _fmt(f.r2), _fmt(f.r2_adj), _fmt(f.aic),
                    _fmt(f.aicc), _fmt(f.bic), _fmt(f.msc))
    console.print(tab)
    rec = report.recommended
    console.print(f"[bold]recommended:[/] {rec.name if rec else 'none'} — {report.reason}")
    for f in report.fits:
        if f.interpretation:
            console.print(f"{f.name}: {f.interpretation}")
    for m, why in report.skipped:
        console.print(f"skipped {m}: {why}")
    for note in ds.notes:
        console.print(f"note: {note}")
    if plot is not None:
        console.print(f"figure written to {plot}")
    if profile_out is not None:
        console.print(f"release profile written to {profile_out}")


@release_app.command("compare")
def compare_cmd(
    reference: Annotated[Path, typer.Argument(help="Reference profile CSV (A).")],
    test: Annotated[Path, typer.Argument(help="Test profile CSV (B).")],
    time_unit: Annotated[str | None, typer.Option("--time-unit", help="Time unit when the "
                                                  "CSVs have no time_unit column.")] = None,
    released_unit: Annotated[str, typer.Option("--released-unit")] = "auto",
    n_boot: Annotated[int, typer.Option("--bootstrap", help="Bootstrap resamples.")] = 1000,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    fmt: Annotated[str, typer.Option("--format")] = "table",
) -> None:
    """f1, f2 (regulatory conditions checked), bootstrap f2 CI and MDT of two profiles."""
    _check_format(fmt)
    if n_boot < 100:
        raise InputError("too few bootstrap resamples", field="--bootstrap", value=n_boot,
                         accepted=">= 100 (1000 or more recommended)")
    if n_boot > MAX_BOOT:
        raise InputError("too many bootstrap resamples", field="--bootstrap", value=n_boot,
                         accepted=f"100 to {MAX_BOOT}")
    with warnings.catch_warnings():  # data warnings are printed as notes below, once
        warnings.simplefilter("ignore", ReleaseDataWarning)
        a = read_release_csv(reference, time_unit=time_unit, released_unit=released_unit)
        b = read_release_csv(test, time_unit=time_unit, released_unit=released_unit)
    cmp = compare_profiles(a, b, n_boot=n_boot, seed=seed)
    cmp.notes[:0] = [*a.notes, *b.notes]
    if fmt == "json":
        typer.echo(json.dumps(cmp.to_dict(), indent=2))
        return
    tab = Table(title=f"{reference.name} (reference) vs {test.name} (test)")
    tab.add_column("quantity")
    tab.add_column("value", justify="right")
    tab.add_row("f1 (difference)", f"{cmp.f1:.2f}")
    tab.add_row("f2 (similarity)", f"{cmp.f2:.2f}")
    if cmp.bootstrap_ci90:
        tab.add_row("bootstrap f2 90% CI", f"{cmp.bootstrap_ci90[0]:.2f} – "
                    f"{cmp.bootstrap_ci90[1]:.2f}")
    tab.add_row("MDT reference (days)", _fmt(cmp.mdt_reference_days))
    tab.add_row("MDT test (days)", _fmt(cmp.mdt_test_days))
    console.print(tab)
    ctab = Table(title="f2 conditions (FDA 1997, EMA 2010)")
    for col in ("condition", "passed", "detail"):
        ctab.add_column(col)
    for cond in cmp.conditions:
        ctab.add_row(cond.name, "yes" if cond.passed else "NO", cond.detail)
    console.print(ctab)
    console.print(f"[bold]conclusion:[/] {cmp.conclusion()}")
    for n in cmp.notes:
        console.print(f"note: {n}")


def _float(text: str, item: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise InputError("parameter value is not a number", field="--param", value=item,
                         accepted="name=number") from None


def _parse_params(items: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for it in items:
        if "=" not in it:
            raise InputError("parameter must be name=value", field="--param", value=it,
                             accepted="e.g. --param a=2 --param b=0.8")
        k, v = it.split("=", 1)
        out[k.strip()] = check_option(_float(v, it), field=f"--param {k.strip()}",
                                      lo=-1e12, hi=1e12)
    return out


@release_app.command("simulate")
def simulate_cmd(
    model: Annotated[str | None, typer.Option("--model", help="Library model name.")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", help="name=value (time in "
                                                    "days), repeat per parameter.")] = None,
    preset: Annotated[str | None, typer.Option("--preset", help="Calibrated vehicle: " +
                                               ", ".join(ENDPOINTS))] = None,
    days: Annotated[float, typer.Option("--days", help="Horizon in days.")] = 14.0,
    step: Annotated[float, typer.Option("--step", help="Output step in days.")] = 1.0,
    fmt: Annotated[str, typer.Option("--format")] = "table",
) -> None:
    """Cumulative release of a library model or a calibrated vehicle preset over time."""
    _check_format(fmt)
    if (model is None) == (preset is None):
        raise InputError("give exactly one of --model or --preset", field="--model",
                         value=model or preset, accepted="--model NAME --param k=v | --preset")
    check_option(days, field="--days", lo=0, lo_open=True, hi=MAX_DAYS)
    check_option(step, field="--step", lo=0, lo_open=True, hi=MAX_DAYS)
    if days / step > MAX_POINTS:  # refused before anything is allocated
        raise InputError(f"--days / --step gives more than {MAX_POINTS:,} output times",
                         field="--step", value=step,
                         accepted=f"a step >= {days / MAX_POINTS:.3g} days for {days:g} days")
    if model is not None:
        prof: Any = from_model(model, _parse_params(param or []))
    else:
        assert preset is not None
        prof = vehicle_preset(preset)
    t = np.arange(0.0, days + 1e-9, step)
    if t[-1] < days - 1e-9:  # the horizon itself is always reported
        t = np.append(t, days)
    f = prof.fraction_released(t)
    info: dict[str, Any] = {"name": prof.name, "stability_loss_per_day":
                            prof.stability_loss_per_day, "sbml_infix": prof.sbml_infix("t"),
                            "t_days": t.tolist(), "fraction_released": f.tolist()}
    if isinstance(prof, ModelProfile):
        info["params"] = prof.params
    if fmt == "json":
        typer.echo(json.dumps(info, indent=2))
        return
    idx = np.arange(t.size)
    if t.size > MAX_TABLE_ROWS:  # evenly spaced rows (first and last kept); JSON has all
        idx = np.unique(np.linspace(0, t.size - 1, MAX_TABLE_ROWS).round().astype(int))
    title = f"Cumulative release: {prof.name}"
    if idx.size < t.size:
        title += f" ({idx.size} of {t.size} times; --format json lists all)"
    tab = Table(title=Text(title))
    tab.add_column("t (days)", justify="right")
    tab.add_column("released (%)", justify="right")
    for i in idx:
        tab.add_row(f"{t[i]:g}", f"{100 * f[i]:.2f}")
    console.print(tab)
    console.print(f"SBML infix: {info['sbml_infix']}", soft_wrap=True)


@release_app.command("models")
def models_cmd(fmt: Annotated[str, typer.Option("--format")] = "table") -> None:
    """List the release models with equations, parameters and references."""
    _check_format(fmt)
    if fmt == "json":
        typer.echo(json.dumps([{"name": m.name, "label": m.label, "equation": m.equation,
                                "params": [{"name": p.name, "unit": p.unit, "bounds":
                                            [p.lower, p.upper], "description": p.description}
                                           for p in m.params],
                                "valid": m.valid, "reference": m.reference}
                               for m in MODELS.values()], indent=2))
        return
    tab = Table(title="Release models (t in days, F = fraction released)")
    for c in ("name", "equation", "parameters", "valid range"):
        tab.add_column(c)
    for m in MODELS.values():
        tab.add_row(m.name, m.equation, ", ".join(f"{p.name} [{p.unit}]" for p in m.params),
                    m.valid)
    console.print(tab)


def register(app: typer.Typer) -> None:
    """Add the ``release`` command group to the root app."""
    app.add_typer(release_app, name="release")
