"""The fit report of a calibration: one :class:`exomir.report.Section` (HTML + JSON via report).

What the data identify comes first (warnings), then the parameter table with intervals and
verdicts, data vs fit per arm, residuals, the waterfall of starts, the profiles and the
correlation matrix. Everything is read from the result; nothing re-runs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from exomir.calibrate import plots
from exomir.calibrate.result import CalibrationResult
from exomir.report import Figure, Report, Section, TableBlock, TextBlock, Warning_, write_report


def _warnings(res: CalibrationResult) -> list[Warning_]:
    out: list[Warning_] = []
    pr = res.problem
    unident = [n for n in res.names if res.verdict(n) not in ("identifiable", "not profiled")]
    if unident:
        out.append(Warning_(
            f"{len(unident)} of {len(res.names)} estimated parameters are not identified by "
            f"these data ({', '.join(f'{n}: {res.verdict(n)}' for n in unident)}). They are "
            "kept at their stated values with their ranges and flagged as uncertain in the "
            "calibrated-parameter file.", "critical"))
    if not res.profiles:
        out.append(Warning_("no profile likelihoods computed (run with --profile): intervals "
                            "are Fisher (local, symmetric on the estimation scale) and no "
                            "identifiability verdict is given", "caution"))
    n_ok = res.n_converged
    if n_ok < max(2, len(res.starts) // 10):
        out.append(Warning_(f"only {n_ok} of {len(res.starts)} starts reached the best "
                            "optimum: the optimum may not be global", "caution"))
    r = np.asarray(res.predictions.get("residual", []), dtype=float)
    big = int(np.sum(np.abs(r) > 2.0))
    if big:
        out.append(Warning_(f"{big} of {r.size} weighted residuals exceed 2 in magnitude: the "
                            "model does not follow these data within their noise", "caution"))
    for n in pr.notes:
        out.append(Warning_(n, "info"))
    return out


def calibration_section(res: CalibrationResult) -> Section:
    pr = res.problem
    sec = Section(title=f"Calibration: {pr.title}", data=res.to_dict())
    sec.blocks.extend(_warnings(res))
    rows = []
    for r in res.table().itertuples():
        rows.append([r.parameter, r.kind, r.unit, r.value, r.ci_low, r.ci_high, r.ci_method,
                     r.identifiability, r.nominal, f"{r.lower:g}-{r.upper:g}", r.scale])
    sec.blocks.append(TableBlock(
        "Estimated parameters (95 % intervals)",
        ["parameter", "kind", "unit", "best fit", "CI low", "CI high", "interval", "verdict",
         "stated value", "bounds", "scale"], rows,
        provenance="exomir.calibrate.calibrate -> CalibrationResult.table",
        note="open interval ends (—) reach the bounds; verdicts from profile likelihoods"))
    if res.final:
        sec.blocks.append(TextBlock(
            f"Refit with the non-identified parameters fixed at their stated values "
            f"({', '.join(res.final['fixed'])}): NLL {res.final['nll']:.6g} "
            f"(full fit {res.nll:.6g}); values: "
            + ", ".join(f"{k} = {v:.4g}" for k, v in res.final["values"].items()
                        if k not in res.final["fixed"])))
    fit = res.fit_frame()
    frows = [[r.simulationConditionId, r.observable, r.time, r.measurement, r.fit, r.sigma,
              r.residual, r.role, r.source] for r in fit.itertuples()]
    sec.blocks.append(TableBlock("Data vs fit", ["arm", "observable", "time (d)", "measured",
                                                 "fit", "σ", "residual", "role", "source"],
                                 frows, provenance="CalibrationResult.fit_frame"))
    sec.blocks.append(Figure("Data and fitted curves per arm", "fits.svg", plots.fits(res),
                             provenance="exomir.calibrate.plots.fits",
                             caption="error bars ±1.96 σ; hollow points are held out"))
    sec.blocks.append(Figure("Weighted residuals", "residuals.svg", plots.residuals(res),
                             provenance="exomir.calibrate.plots.residuals"))
    sec.blocks.append(Figure("Waterfall of the multistart", "waterfall.svg",
                             plots.waterfall(res), provenance="exomir.calibrate.plots.waterfall"))
    if res.profiles:
        sec.blocks.append(Figure("Profile likelihoods", "profiles.svg", plots.profiles(res),
                                 provenance="exomir.calibrate.plots.profiles",
                                 caption="dashed: chi-square(1) 95 % threshold 3.84; red: "
                                         "interval ends"))
    if len(res.names) > 1:
        sec.blocks.append(Figure("Parameter correlation (Fisher information)",
                                 "correlation.svg", plots.correlation(res),
                                 provenance="exomir.calibrate.plots.correlation"))
    srows = [[s.index, s.nll, s.nll0, s.n_eval, s.seconds, s.converged, s.message]
             for s in res.starts[:10]]
    sec.blocks.append(TableBlock("Best starts", ["start", "final NLL", "start NLL",
                                                 "evaluations", "seconds", "converged",
                                                 "message"], srows,
                                 provenance="exomir.calibrate.optimize.multistart"))
    st = res.settings
    sec.blocks.append(TextBlock(
        f"{st.get('n_starts')} starts ({st.get('sampler')}, seed {st.get('seed')}), optimiser "
        f"{st.get('optimizer')}, {st.get('fd')} finite differences (step {st.get('fd_step')}), "
        f"solver rtol {st.get('rtol')}; {res.timings.get('total_s', 0.0):.1f} s in all. "
        f"Data sources: {'; '.join(pr.sources) or '—'}."))
    return sec


def write_fit_report(res: CalibrationResult, out_dir: Path) -> dict[str, Path]:
    rep = Report(title=f"exomir calibration: {res.problem.id}", subtitle=res.problem.title,
                 sections=[calibration_section(res)],
                 meta={"problem": res.problem.id, "file": res.problem.file})
    return write_report(rep, out_dir)
