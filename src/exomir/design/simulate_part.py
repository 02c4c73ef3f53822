"""Report section 3: the candidate designs simulated side by side, with population bands,
dose-response and the dose needed for the knockdown goal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from exomir.core import ReleaseProfile, Route
from exomir.design import figures
from exomir.design.cargo_part import CargoPlan, resolve_cargo, targets_for
from exomir.design.spec import DEPOT_ROUTES, CandidateDesign, DesignSpec
from exomir.report import Figure, Section, TableBlock, TextBlock, Warning_

Progress = Any  # callable(str) -> None


@dataclass
class CandidateRun:
    """A simulated candidate: its body spec, release profile and population result."""

    design: CandidateDesign
    body_spec: Any
    release: ReleaseProfile | None
    result: Any
    summary: Any
    targets: list[dict[str, Any]]
    copies_per_vesicle: float


def outcome_key(result: Any) -> tuple[str, str, str]:
    """(observable, unit, label) of the indication's outcome."""
    if result.model.outcome == "wound_closure":
        return "wound_closure_pct", "%", "wound closure (%)"
    return "paw_withdrawal_threshold_g", "g", "paw withdrawal threshold (g)"


def body_spec_for(spec: DesignSpec, c: CandidateDesign, plan: CargoPlan,
                  dose: float | None = None) -> tuple[Any, list[dict[str, Any]]]:
    from exomir.body.spec import parse_spec

    cargo = resolve_cargo(c, plan)
    targets = targets_for(plan, [x.name for x in cargo])
    data = {
        "name": c.name, "indication": spec.indication.value,
        "product": {"source_cell": c.source_cell, "isolation_method": c.isolation_method},
        "cargo": [{"kind": "mirna", "name": x.name, "mode": x.mode.value,
                   **({"copies_per_vesicle": x.copies_per_vesicle}
                      if x.copies_per_vesicle is not None else {})} for x in cargo],
        "delivery": {"route": c.route.value,
                     **({"targeting_ligand": c.targeting_ligand} if c.targeting_ligand else {})},
        "regimen": {"dose": {"value": dose if dose is not None else c.dose_particles,
                             "unit": "particles"}, "times_days": c.times_days},
        "subject": {"species": spec.species.value,
                    **({"disease_model": spec.disease_model} if spec.disease_model else {})},
        "days": spec.days,
        "body": {"targets": targets},
    }
    return parse_spec(data, source=f"design candidate '{c.name}'"), targets


def release_for(c: CandidateDesign) -> ReleaseProfile | None:
    if c.route not in DEPOT_ROUTES or c.release_preset is None:
        return None
    from exomir.release.profile import vehicle_preset

    return vehicle_preset(c.release_preset)


def outcome_at(result: Any, day: float) -> np.ndarray:
    key, _, _ = outcome_key(result)
    obs = result.observables()[key]
    return np.array([np.interp(day, result.times, row) for row in obs])


def peak_knockdown(result: Any) -> np.ndarray:
    """Per subject, the largest peak knockdown over the target genes (0 without targets)."""
    obs = result.observables()
    kds = [obs[f"knockdown_{g}"].max(axis=1) for g in result.model.genes]
    return np.max(kds, axis=0) if kds else np.zeros(result.Y.shape[0])


def dose_for_goal(doses: np.ndarray, med: np.ndarray, goal: float) -> float | None:
    """Smallest dose (log-interpolated) whose median peak knockdown reaches ``goal``."""
    if med[-1] < goal:
        return None
    if med[0] >= goal:
        return float(doses[0])
    i = int(np.argmax(med >= goal))
    x0, x1 = np.log10(doses[i - 1]), np.log10(doses[i])
    y0, y1 = med[i - 1], med[i]
    return float(10 ** (x0 + (goal - y0) * (x1 - x0) / (y1 - y0)))


def run_candidates(spec: DesignSpec, plan: CargoPlan, progress: Progress
                   ) -> list[CandidateRun]:
    from exomir.body.simulate import simulate

    runs = []
    for c in spec.candidates:
        progress(f"simulating {spec.subjects} subjects: {c.name}")
        bspec, targets = body_spec_for(spec, c, plan)
        rel = release_for(c)
        res = simulate(bspec, spec.subjects, seed=spec.seed, release=rel)
        runs.append(CandidateRun(c, bspec, rel, res, res.summary([spec.headline_day]),
                                 targets, float(bspec.copies_per_vesicle)))
    return runs


def untreated(spec: DesignSpec, plan: CargoPlan, progress: Progress) -> Any:
    """The same subjects without treatment (dose 0): the disease course to compare against."""
    from exomir.body.simulate import simulate

    progress("simulating the untreated disease course")
    bspec, _ = body_spec_for(spec, spec.candidates[0], plan, dose=0.0)
    return simulate(bspec, spec.subjects, seed=spec.seed, release=release_for(spec.candidates[0]))


def _metric(summary: Any, name: str) -> tuple[float, float, float] | None:
    row = summary[summary["metric"] == name]
    if row.empty:
        return None
    r = row.iloc[0]
    return float(r["median"]), float(r["p05"]), float(r["p95"])


def designs_section(spec: DesignSpec, plan: CargoPlan, runs: list[CandidateRun], base: Any,
                    progress: Progress) -> Section:
    from exomir.body.simulate import simulate

    sec = Section("Designs compared")
    day = spec.headline_day
    key, unit, label = outcome_key(runs[0].result)
    base_out = outcome_at(base, day)
    sec.blocks.append(TextBlock(
        f"{len(runs)} candidates, {spec.subjects} virtual "
        f"{ {'mouse': 'mice', 'rat': 'rats', 'human': 'humans'}[spec.species.value]} each "
        f"(lognormal between-subject variability; seed {spec.seed}); values are median "
        f"[5th-95th percentile]. Untreated at day {day:g}: {np.median(base_out):.3g} {unit}."))
    rows = []
    data: dict[str, Any] = {"untreated_outcome": {"median": float(np.median(base_out)),
                                                  "p05": float(np.percentile(base_out, 5)),
                                                  "p95": float(np.percentile(base_out, 95))}}
    cands: dict[str, Any] = {}
    for r in runs:
        tgt = r.result.model.target
        s = r.summary
        exp_ = _metric(s, f"auc_{tgt}") if tgt in r.result.model.species else None
        copies = _metric(s, f"peak_{tgt}_mirna_risc")
        kd = {g: _metric(s, f"peak_knockdown_{g}") for g in r.result.model.genes}
        out = outcome_at(r.result, day)
        gain = out - base_out
        item = {
            "route": r.design.route.value, "dose_particles": r.design.dose_particles,
            "times_days": r.design.times_days, "copies_per_vesicle": r.copies_per_vesicle,
            "target_tissue": tgt, "targets": r.targets,
            "exposure_auc_pct_id_day": exp_, "peak_risc_copies_per_cell": copies,
            "peak_knockdown": kd,
            "outcome": {"day": day, "unit": unit, "median": float(np.median(out)),
                        "p05": float(np.percentile(out, 5)), "p95": float(np.percentile(out, 95))},
            "gain_vs_untreated": {"median": float(np.median(gain)),
                                  "p05": float(np.percentile(gain, 5)),
                                  "p95": float(np.percentile(gain, 95))},
            "summary": s.to_dict("records"),
        }
        cands[r.design.name] = item

        def band(m: tuple[float, float, float] | None) -> str:
            return "—" if m is None else f"{m[0]:.3g} [{m[1]:.3g}-{m[2]:.3g}]"

        kd_text = "; ".join(f"{g} {band(v)}" for g, v in kd.items()) or "no intended target hit"
        rows.append([r.design.name, r.design.route.value, f"{r.design.dose_particles:.3g}",
                     ",".join(f"{t:g}" for t in r.design.times_days), r.copies_per_vesicle,
                     f"{tgt}: {band(exp_)}", band(copies), kd_text,
                     band((item["outcome"]["median"], item["outcome"]["p05"],
                           item["outcome"]["p95"])),
                     f"{item['gain_vs_untreated']['median']:+.3g}"])
    data["candidates"] = cands
    sec.blocks.append(TableBlock(
        "Side by side",
        ["candidate", "route", "particles/dose", "dose days", "miRNA copies/EV",
         "target-tissue exposure (AUC, %ID·day)", "peak RISC-loaded copies/cell",
         "peak knockdown (fraction)", f"{label} day {day:g}", "gain vs untreated"], rows,
        provenance="exomir.body.simulate.simulate(...).summary()"))
    sec.blocks.append(Warning_(
        "The pathway-to-outcome link (target knockdown -> pathway activity -> wound closure or "
        "paw-withdrawal threshold) is an assumption-based model calibrated to a few published "
        "group means (docs/body.md); treat outcome differences as a ranking of designs, not a "
        "prediction of effect size. Section 5 shows how much the headline depends on it.",
        severity="caution"))

    # Time courses with population bands.
    t = runs[0].result.times
    outs = {r.design.name: r.result.observables()[key] for r in runs}
    outs["untreated"] = base.observables()[key]
    sec.blocks.append(Figure(f"{label} over time", "outcome_time.svg",
                             figures.bands(t, outs, ylabel=label, title=label),
                             provenance="exomir.body.simulate.Result.observables",
                             caption="median and 5-95 % band across virtual subjects"))
    kd_series = {}
    for r in runs:
        obs = r.result.observables()
        if r.result.model.genes:
            g = r.result.model.genes[0]
            kd_series[f"{r.design.name}: {g}"] = obs[f"knockdown_{g}"]
    if kd_series:
        sec.blocks.append(Figure("Target knockdown over time", "knockdown_time.svg",
                                 figures.bands(t, kd_series, ylabel="knockdown (fraction)",
                                               title="protein knockdown of the first target",
                                               hline=spec.knockdown_goal, hlabel="goal"),
                                 provenance="exomir.body.simulate.Result.observables"))
    risc = {r.design.name: r.result.state(f"{r.result.model.target}_mirna_risc") for r in runs}
    sec.blocks.append(Figure("miRNA copies per target cell", "copies_time.svg",
                             figures.bands(t, risc, ylabel="RISC-loaded copies per cell",
                                           title="RISC-loaded miRNA per target cell"),
                             provenance="exomir.body.simulate.Result.state"))

    # Dose-response and dose needed for the knockdown goal.
    lo, hi = spec.dose_range_particles
    doses = np.logspace(np.log10(lo), np.log10(hi), spec.dose_response_points)
    kd_curves: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    out_curves: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    need_rows = []
    dr: dict[str, Any] = {}
    for r in runs:
        progress(f"dose-response: {r.design.name}")
        kd_pct, out_pct = [], []
        for d in doses:
            bspec, _ = body_spec_for(spec, r.design, plan, dose=float(d))
            res = simulate(bspec, spec.dose_response_subjects, seed=spec.seed, release=r.release)
            kd_pct.append(np.percentile(peak_knockdown(res), [5, 50, 95]))
            out_pct.append(np.percentile(outcome_at(res, day), [5, 50, 95]))
        k = np.array(kd_pct).T
        o = np.array(out_pct).T
        kd_curves[r.design.name] = (k[0], k[1], k[2])
        out_curves[r.design.name] = (o[0], o[1], o[2])
        need = dose_for_goal(doses, k[1], spec.knockdown_goal)
        need_rows.append([r.design.name, need if need is not None else
                          f"not reached up to {hi:.3g}", float(k[1][-1])])
        dr[r.design.name] = {"doses": doses.tolist(), "peak_knockdown": k.tolist(),
                             "outcome": o.tolist(), "dose_for_goal": need}
    data["dose_response"] = dr
    data["knockdown_goal"] = spec.knockdown_goal
    sec.blocks.append(Figure("Dose-response: peak knockdown", "dose_knockdown.svg",
                             figures.dose_response(doses, kd_curves,
                                                   ylabel="peak knockdown (fraction)",
                                                   title="peak knockdown vs dose",
                                                   goal=spec.knockdown_goal),
                             provenance="exomir.design.simulate_part (body.simulate per dose)",
                             caption=f"{spec.dose_response_subjects} subjects per dose; "
                                     "knockdown of the most-repressed target gene per subject"))
    sec.blocks.append(Figure(f"Dose-response: {label} at day {day:g}", "dose_outcome.svg",
                             figures.dose_response(doses, out_curves, ylabel=label,
                                                   title=f"{label} at day {day:g} vs dose"),
                             provenance="exomir.design.simulate_part (body.simulate per dose)"))
    sec.blocks.append(TableBlock(
        f"Dose needed for a median peak knockdown of {spec.knockdown_goal:.0%}",
        ["candidate", "particles per administration", "median peak knockdown at top dose"],
        need_rows, provenance="exomir.design.simulate_part.dose_for_goal (log interpolation)"))
    sec.data = data
    return sec


def is_depot(route: Route) -> bool:
    return route in DEPOT_ROUTES
