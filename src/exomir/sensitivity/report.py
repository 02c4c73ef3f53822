"""Report sections from finished results (never re-runs anything).

``sensitivity_section(result)``: which assumptions drive each output, with indices and CIs,
figures, the distribution of every factor, convergence and screening. ``uncertainty_section``:
uncertainty bands next to variability bands and what dominates them. Both return an
:class:`exomir.report.Section` whose ``data`` is the result's ``to_dict()``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from exomir.report import Figure, Section, TableBlock, TextBlock, Warning_
from exomir.sensitivity.result import SensitivityResult


def _ci(v: Any, c: Any) -> str:
    """``index [low, high]`` of a 95 % CI given as a half-width."""
    if v is None or not np.isfinite(float(v)):
        return "—"
    v = float(v)
    if c is None or not np.isfinite(float(c)):
        return f"{v:.3f}"
    return f"{v:.3f} [{v - float(c):.3f}, {v + float(c):.3f}]"


def driver_rows(result: SensitivityResult, output: str, k: int = 8) -> list[list[Any]]:
    """Rows for a drivers table: label, group, index [95 % CI] columns."""
    groups = {f.name: f.group for f in result.problem.factors}
    rows = []
    for r in result.top(output, k).itertuples():
        label = str(r.label)
        grp = groups.get(label, label if result.by == "group" else "")
        if result.method == "morris":
            rows.append([label, grp, _ci(r.mu_star, r.mu_star_conf), f"{r.sigma:.3g}"])
        else:
            rows.append([label, grp, _ci(r.S1, r.S1_conf), _ci(r.ST, r.ST_conf)])
    return rows


def summary_text(result: SensitivityResult) -> str:
    """What was run, on what, and the leading driver of each output, in words."""
    p = result.problem
    n_assumed = sum(1 for f in p.factors if f.origin.startswith("assumption"))
    lead = []
    for c in result.columns:
        top = result.top(c.name, 1)
        if top.empty or bool(top["constant"].iloc[0]):
            lead.append(f"{c.label}: constant over the sample")
            continue
        r = top.iloc[0]
        idx = result.ranking_index
        lead.append(f"{c.label}: {r['label']} ({idx} {r[idx]:.2f})")
    return (f"{result.method} analysis over {p.k} uncertain parameters ({n_assumed} of them "
            f"assumptions), n = {result.n}, {result.runs} model runs ({result.simulations} "
            f"simulations) on {result.engine} in {result.wall_s:.1f} s. Leading driver: "
            + "; ".join(lead) + ".")


def sensitivity_section(result: SensitivityResult, title: str = "Global sensitivity",
                        k: int = 8) -> Section:
    """A report section: summary, convergence warning, per-output drivers and figures."""
    from exomir.sensitivity.plots import indices_bar

    sec = Section(title)
    sec.blocks.append(TextBlock(summary_text(result)))
    bad = []
    for c in result.columns:
        d = result.convergence_detail(c.name)
        if result.converged.get(c.name) is False and d is not None:
            bad.append(f"{c.label} (largest change {d[0]:.3f}; five leading "
                       f"{'unchanged' if d[1] else 'changed'})")
    if bad:
        sec.blocks.append(Warning_(
            "Not converged: an index changed by more than 0.05, or the five leading "
            f"parameters changed, between n/2 and n for: {'; '.join(bad)}. Run with a "
            "larger n before relying on their order.", severity="caution"))
    for note in result.notes:
        sec.blocks.append(TextBlock(note))
    heads = (["parameter" if result.by == "parameter" else "group", "group",
              "mu* [95 % CI]", "sigma"] if result.method == "morris" else
             ["parameter" if result.by == "parameter" else "group", "group",
              "S1 [95 % CI]", "ST [95 % CI]"])
    prov = f"exomir.sensitivity.run_sensitivity(method='{result.method}')"
    for c in result.columns:
        sec.blocks.append(TableBlock(f"What drives {c.label} ({c.unit})", heads,
                                     driver_rows(result, c.name, k), provenance=prov))
        sec.blocks.append(Figure(f"Sensitivity of {c.label}", f"sensitivity_{c.name}.svg",
                                 indices_bar(result, c.name, k), provenance=prov))
    if result.output_stats is not None:
        rows = [[r.label, r.unit, r.nominal, r.p05, r.p50, r.p95, r.nominal_percentile]
                for r in result.output_stats.itertuples()]
        sec.blocks.append(TableBlock(
            "Outputs over the parameter draws (typical subject)",
            ["output", "unit", "nominal", "5 %", "50 %", "95 %", "nominal at percentile"],
            rows, provenance=prov + ": A and B matrices of the Sobol' design"))
    sec.blocks.append(TableBlock(
        "Distributions used", ["parameter", "group", "distribution", "origin", "nominal",
                               "why this distribution"],
        [[f.name, f.group, f.describe(), f.origin, f.nominal, f.reason]
         for f in result.problem.factors],
        provenance="exomir.sensitivity.SensitivityProblem.from_table"))
    sec.data = result.to_dict()
    return sec


def uncertainty_section(unc: Any, title: str = "Uncertainty and variability") -> Section:
    """Bands (variability, uncertainty, combined), the headline at the 5th/95th percentile of
    uncertainty and its dominant parameters."""
    from exomir.sensitivity.plots import bands_plot

    sec = Section(title)
    sec.blocks.append(Warning_(unc.statement(), severity="caution"))
    for note in unc.notes:
        sec.blocks.append(TextBlock(note))
    rows = [[r.label, r.unit, r.nominal_median, f"{r.var_p05:.3g}-{r.var_p95:.3g}",
             f"{r.unc_p05:.3g}-{r.unc_p95:.3g}", f"{r.comb_p05:.3g}-{r.comb_p95:.3g}",
             r.nominal_percentile] for r in unc.bands.itertuples()]
    prov = "exomir.sensitivity.uncertainty_bands"
    sec.blocks.append(TableBlock(
        "Bands (5-95 %)", ["output", "unit", "nominal median", "between-subject variability",
                           "parameter uncertainty (median)", "combined",
                           "nominal at percentile"], rows, provenance=prov))
    sec.blocks.append(Figure("Uncertainty vs variability", "uncertainty_bands.svg",
                             bands_plot(unc), provenance=prov))
    drows = [[c.label, d["parameter"], d["group"], f"{d['spearman']:+.2f}", d["distribution"]]
             for c in unc.columns for d in unc.drivers.get(c.name, [])[:3]]
    sec.blocks.append(TableBlock("Parameters that dominate the uncertainty",
                                 ["output", "parameter", "group", "Spearman rho",
                                  "distribution"], drows, provenance=prov))
    sec.data = unc.to_dict()
    return sec
