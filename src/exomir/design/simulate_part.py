"""Report section "Designs compared": every arm on the same subjects, gains against a true
untreated arm with the vehicle's, the vesicle's and the miRNA's share, paired comparisons,
time courses, dose-response with the reference arms, and what it takes to reach the knockdown
goal (dose and loading), computed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from exomir.core import ReleaseProfile
from exomir.design import figures
from exomir.design.arms import (
    Arm,
    ArmSet,
    attribution,
    band,
    candidate_body_spec,
    outcome_at,
    outcome_key,
    release_for,
    simulate_arm,
    untreated_spec,
    vehicle_only_spec,
)
from exomir.design.cargo_part import CargoPlan
from exomir.design.compare import MID, Ranking
from exomir.design.spec import CandidateDesign, DesignSpec
from exomir.report import Figure, Section, TableBlock, TextBlock, Warning_

__all__ = ["CandidateRun", "designs_section", "dose_for_goal", "loading_for_goal",
           "outcome_at", "outcome_key", "peak_knockdown", "release_for", "runs_from_arms"]

Progress = Any  # callable(str) -> None
SHARE_LABELS = {"vehicle": "vehicle", "vesicle": "vesicle (cargo-independent)",
                "mirna": "miRNA"}  # Shapley shares (exomir.body.attribution)


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

    @property
    def dose_particles(self) -> float:
        return float(self.body_spec.dose_particles)


def runs_from_arms(spec: DesignSpec, arms: ArmSet) -> list[CandidateRun]:
    out = []
    for a in arms.candidates:
        assert a.design is not None
        targets = [t.model_dump(exclude_none=True) for t in a.body_spec.body.targets]
        out.append(CandidateRun(a.design, a.body_spec, a.release, a.result,
                                a.result.summary([spec.headline_day]), targets,
                                float(a.body_spec.copies_per_vesicle)))
    return out


def peak_knockdown(result: Any) -> np.ndarray:
    """Per subject, the largest peak knockdown over the target genes (0 without targets)."""
    obs = result.observables()
    kds = [obs[f"knockdown_{g}"].max(axis=1) for g in result.model.genes]
    return np.max(kds, axis=0) if kds else np.zeros(result.Y.shape[0])


def _log_interp(x: np.ndarray, y: np.ndarray, goal: float) -> float | None:
    """Smallest x (log-interpolated) where the increasing series y reaches ``goal``."""
    if y[-1] < goal:
        return None
    if y[0] >= goal:
        return float(x[0])
    i = int(np.argmax(y >= goal))
    x0, x1 = np.log10(x[i - 1]), np.log10(x[i])
    y0, y1 = y[i - 1], y[i]
    return float(10 ** (x0 + (goal - y0) * (x1 - x0) / (y1 - y0)))


def dose_for_goal(doses: np.ndarray, med: np.ndarray, goal: float) -> float | None:
    """Smallest dose (log-interpolated) whose median peak knockdown reaches ``goal``."""
    return _log_interp(np.asarray(doses, float), np.asarray(med, float), goal)


def loading_ceiling(arm: Arm) -> tuple[float, str]:
    """The largest loading factor the body model accepts for this cargo (every miRNA at most
    ``max_copies_per_vesicle``, the lumen volume of a 100 nm vesicle) and its statement."""
    table = arm.result.model.table
    cmax = float(table.value("max_copies_per_vesicle"))
    from exomir.body.spec import NATIVE_COPIES_PER_VESICLE

    per = [m.copies_per_vesicle if m.copies_per_vesicle is not None
           else NATIVE_COPIES_PER_VESICLE for m in arm.body_spec.mirnas]
    top = max(per, default=0.0)
    return (cmax / top if top > 0 else 0.0,
            f"{cmax:.3g} copies per vesicle (max_copies_per_vesicle)")


def loading_for_goal(spec: DesignSpec, arm: Arm, plan: CargoPlan, goal: float,
                     n: int) -> dict[str, Any]:
    """miRNA copies per vesicle needed at the candidate's dose for a median peak knockdown of
    ``goal``: every cargo miRNA's loading scaled by one factor, one decade at a time from the
    candidate's loading up to the physical ceiling (:func:`loading_ceiling`), the bracketing
    decade refined once at its geometric midpoint, log-interpolated."""
    assert arm.design is not None
    targets = arm.body_spec.targets
    rmax = max((t.rmax for t in targets), default=0.0)
    c0 = float(arm.body_spec.copies_per_vesicle)
    fmax, ceiling = loading_ceiling(arm)
    out: dict[str, Any] = {"copies_now": c0, "max_repression": rmax, "scan": [],
                           "copies_needed": None, "loading_factor": None, "reason": None,
                           "limit": None,
                           "ceiling": ceiling, "copies_ceiling": c0 * fmax}
    if not targets:
        out["reason"] = "its cargo hits none of the indication's intended targets"
        out["limit"] = "no_target"
        return out
    if rmax <= goal:
        out["limit"] = "repression"
        out["reason"] = (f"the strongest target repression the interaction data allow is "
                         f"{rmax:.0%}, not above the goal of {goal:.0%}: no loading reaches it")
        return out
    grid = [10.0 ** k for k in range(0, 12) if 10.0 ** k <= fmax]
    if not grid or grid[-1] < fmax:
        grid.append(fmax)
    design = arm.design

    def kd_at(f: float) -> float:
        bs, _ = candidate_body_spec(spec, design, plan, loading=f)
        return float(np.median(peak_knockdown(simulate_arm(bs, n, spec))))

    xs, ys = [], []
    for f in grid:
        xs.append(f)
        ys.append(kd_at(f))
        if ys[-1] >= goal:
            break
    if len(xs) >= 2 and ys[-1] >= goal > ys[-2]:  # refine the bracketing decade once
        mid_x = float(np.sqrt(xs[-2] * xs[-1]))
        mid_y = kd_at(mid_x)
        xs.insert(-1, mid_x)
        ys.insert(-1, mid_y)
    out["scan"] = [[c0 * x, y] for x, y in zip(xs, ys, strict=True)]
    need = _log_interp(np.array(xs), np.array(ys), goal)
    if need is not None:
        out["loading_factor"] = need
        out["copies_needed"] = c0 * need
    else:
        out["limit"] = "ceiling"
        out["reason"] = (f"not reached up to the physical ceiling of {ceiling} (median peak "
                         f"knockdown {ys[-1]:.1%} there)")
    return out


def _metric(summary: Any, name: str) -> tuple[float, float, float] | None:
    row = summary[summary["metric"] == name]
    if row.empty:
        return None
    r = row.iloc[0]
    return float(r["median"]), float(r["p05"]), float(r["p95"])


def _b(m: tuple[float, float, float] | dict[str, float] | None, signed: bool = False) -> str:
    if m is None:
        return "—"
    if isinstance(m, dict):
        m = (m["median"], m["p05"], m["p95"])
    f = "{:+.3g}" if signed else "{:.3g}"
    return f"{f.format(m[0])} [{f.format(m[1])} to {f.format(m[2])}]"


def _route_text(a: Arm) -> str:
    d = a.design
    if d is None:
        return a.vehicle or "none"
    s = a.vehicle or d.route.value
    return s + (f" + {d.targeting_ligand}" if d.targeting_ligand else "")


def designs_section(spec: DesignSpec, plan: CargoPlan, arms: ArmSet, mid: MID,
                    ranking: Ranking, progress: Progress,
                    extra: dict[str, Any] | None = None) -> Section:
    """``extra`` (optional) receives per-subject results that are not part of report.json:
    ``dose_outcomes`` = {doses, by_candidate: name -> [outcome per subject at each dose]}."""
    sec = Section("Designs compared")
    day = spec.headline_day
    key, unit, label = outcome_key(arms.untreated.result)
    base_out = outcome_at(arms.untreated.result, day)
    who = {"mouse": "mice", "rat": "rats", "human": "humans"}[spec.species.value]
    sec.blocks.append(TextBlock(
        f"Every arm holds the same {spec.subjects} virtual {who} (lognormal between-subject "
        f"variability, seed {spec.seed}; identical parameter draws checked), so gains and "
        "differences are per subject. Values are median [5th to 95th percentile]. The untreated "
        "arm has no product, no vehicle and no dose; each vehicle used is also simulated alone. "
        "A candidate's gain over untreated is split over the body model's three mechanisms "
        "(miRNA knockdown, cargo-independent vesicle bioactivity, vehicle) by the Shapley value "
        "of their on/off switches (exomir.body.attribution; docs/body.md): the three shares add "
        "up to the gain for every subject, whatever the order of switching."))
    data: dict[str, Any] = {"day": day, "unit": unit, "outcome": label,
                            "untreated_outcome": band(base_out), "vehicles": {},
                            "candidates": {}}
    rows: list[list[Any]] = [[arms.untreated.name, "none", "none", 0,
                              _b(band(base_out)), "—", "—", "—", "—"]]
    for lab, va in arms.vehicles.items():
        y = outcome_at(va.result, day)
        g = band(y - base_out)
        data["vehicles"][lab] = {"outcome": band(y), "gain_vs_untreated": g}
        days = ",".join(f"{t:g}" for t in va.body_spec.therapy.regimen.times_days or [])
        rows.append([va.name, f"{lab}, days {days}", "none", 0, _b(band(y)), _b(g, True),
                     _b(g, True), "—", "—"])
    for a in arms.candidates:
        assert a.design is not None
        parts = attribution(arms, a, day)
        y = outcome_at(a.result, day)
        s = a.result.summary([day])
        tgt = a.result.model.target
        item = {
            "route": a.design.route.value, "vehicle": a.vehicle,
            "targeting_ligand": a.design.targeting_ligand,
            "dose_particles": float(a.body_spec.dose_particles),
            "times_days": a.design.times_days,
            "copies_per_vesicle": float(a.body_spec.copies_per_vesicle),
            "target_tissue": tgt,
            "targets": [t.model_dump(exclude_none=True) for t in a.body_spec.body.targets],
            "exposure_auc_pct_id_day": _metric(s, f"auc_{tgt}"),
            "peak_risc_copies_per_cell": _metric(s, f"peak_{tgt}_mirna_risc"),
            "peak_knockdown": {g: _metric(s, f"peak_knockdown_{g}")
                               for g in a.result.model.genes},
            "outcome": {"day": day, "unit": unit, **band(y)},
            "gain_vs_untreated": band(parts["total"]),
            "attribution": {k: band(v) for k, v in parts.items()
                            if k in ("mirna", "vesicle", "vehicle")},
            "attribution_residual": float(np.max(np.abs(parts["shapley_total"]
                                                        - parts["total"]))),
            "summary": s.to_dict("records"),
        }
        data["candidates"][a.name] = item
        at = item["attribution"]
        rows.append([a.name, f"{_route_text(a)}, days "
                     + ",".join(f"{t:g}" for t in a.design.times_days),
                     f"{item['dose_particles']:.3g}", item["copies_per_vesicle"],
                     _b(item["outcome"]),
                     _b(item["gain_vs_untreated"], True), _b(at["vehicle"], True),
                     _b(at["vesicle"], True), _b(at["mirna"], True)])
    sec.blocks.append(TableBlock(
        f"Arms: {label} at day {day:g} and the gain over untreated, with its parts",
        ["arm", "route / vehicle, dose days", "particles per dose", "miRNA copies/EV",
         f"{label}", "gain vs untreated", "of which vehicle", "vesicle (cargo-independent)",
         "miRNA"], rows,
        provenance="exomir.design.arms.run_arms (body.simulate per arm) + "
                   "exomir.body.attribution.attribute"))

    kd_rows = []
    for a in arms.candidates:
        it = data["candidates"][a.name]
        kd_text = "; ".join(f"{g} {_b(v)}" for g, v in it["peak_knockdown"].items()) \
            or "no intended target hit"
        kd_rows.append([a.name, f"{it['target_tissue']}: {_b(it['exposure_auc_pct_id_day'])}",
                        _b(it["peak_risc_copies_per_cell"]), kd_text])
    sec.blocks.append(TableBlock(
        "Exposure, miRNA copies and knockdown",
        ["candidate", "target-tissue exposure (AUC, %ID·day)", "peak RISC-loaded copies/cell",
         "peak knockdown (fraction)"], kd_rows,
        provenance="exomir.body.simulate.simulate(...).summary()"))

    # Paired comparisons.
    mid_text = (f"Minimal important difference: {mid.value:.3g} {unit} ({mid.basis}; "
                f"{mid.source})" + (f" -- an assumption, range {mid.low:.3g}-{mid.high:.3g} "
                                    f"{unit}" if mid.assumption else "") + ".")
    sec.blocks.append(TextBlock(
        "Candidates are compared subject by subject: one is better than another only when the "
        "90 % band of the paired difference lies above zero and its median reaches the minimal "
        f"important difference; otherwise they are indistinguishable. {mid_text}"))
    if mid.assumption:
        sec.blocks.append(Warning_(
            "No published minimal important difference for this preclinical outcome was found; "
            f"the {mid.value:.3g} {unit} used here is the half-SD rule transferred from "
            "quality-of-life research, an assumption. Give 'minimal_important_difference: "
            "{value, source}' in the spec if your team has one.", severity="caution"))
    sec.blocks.append(TableBlock(
        "Paired differences between candidates",
        ["A", "B", f"A - B ({unit}), median [90 % band]", "subjects with A > B", "verdict",
         "why"],
        [[p["a"], p["b"], _b(p["difference"], True), f"{p['difference']['share_a_better']:.0%}",
          {"better": "A better", "worse": "B better"}.get(p["verdict"], "indistinguishable"),
          p["why"]] for p in ranking.pairs],
        provenance="exomir.design.compare.rank (per-subject differences of paired arms)",
        note="Only between-subject variability is in these bands; parameter uncertainty "
             "(global sensitivity, 'exomir sensitivity') is not yet included."))
    data["minimal_important_difference"] = mid.to_dict()
    data["ranking"] = ranking.to_dict()

    # Time courses with population bands and the reference arms.
    t = arms.untreated.result.times
    refs = {arms.untreated.name: arms.untreated.result.observables()[key]}
    refs.update({va.name: va.result.observables()[key] for va in arms.vehicles.values()})
    outs = {a.name: a.result.observables()[key] for a in arms.candidates}
    sec.blocks.append(Figure(f"{label} over time", "outcome_time.svg",
                             figures.bands(t, outs, ylabel=label, title=label, refs=refs),
                             provenance="exomir.body.simulate.Result.observables",
                             caption="Candidates: median and 5-95 % band across virtual "
                                     "subjects; black and grey lines: untreated and "
                                     "vehicle-only medians."))
    attr = {SHARE_LABELS[k]: [data["candidates"][a.name]["attribution"][k]["median"]
                              for a in arms.candidates] for k in SHARE_LABELS}
    sec.blocks.append(Figure(
        f"Where the gain comes from ({label}, day {day:g})", "attribution.svg",
        figures.attribution_bars([a.name for a in arms.candidates], attr,
                                 xlabel=f"gain over untreated ({unit}), median of each part",
                                 title="gain over untreated by part"),
        provenance="exomir.body.attribution.attribute (Shapley over the mechanism switches)",
        caption="Medians of the per-subject shares; the shares of one subject add up to its "
                "gain, their medians need not add up to the median gain."))
    kd_series = {}
    for a in arms.candidates:
        if a.result.model.genes:
            g = a.result.model.genes[0]
            kd_series[f"{a.name}: {g}"] = a.result.observables()[f"knockdown_{g}"]
    if kd_series:
        sec.blocks.append(Figure("Target knockdown over time", "knockdown_time.svg",
                                 figures.bands(t, kd_series, ylabel="knockdown (fraction)",
                                               title="protein knockdown of the first target",
                                               hline=spec.knockdown_goal, hlabel="goal"),
                                 provenance="exomir.body.simulate.Result.observables"))
    risc = {a.name: a.result.state(f"{a.result.model.target}_mirna_risc")
            for a in arms.candidates}
    sec.blocks.append(Figure("miRNA copies per target cell", "copies_time.svg",
                             figures.bands(t, risc, ylabel="RISC-loaded copies per cell",
                                           title="RISC-loaded miRNA per target cell"),
                             provenance="exomir.body.simulate.Result.state"))
    data.update(_dose_response(spec, plan, arms, sec, progress, extra))
    sec.data = data
    return sec


def _pct3(y: np.ndarray) -> tuple[float, float, float]:
    lo, med, hi = np.percentile(y, [5, 50, 95])
    return float(lo), float(med), float(hi)


def _dose_response(spec: DesignSpec, plan: CargoPlan, arms: ArmSet, sec: Section,
                   progress: Progress, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    day = spec.headline_day
    _, _, label = outcome_key(arms.untreated.result)
    n = spec.dose_response_subjects
    lo, hi = spec.dose_range_particles
    doses = np.logspace(np.log10(lo), np.log10(hi), spec.dose_response_points)
    # Reference arms with the dose-response subjects (the same subjects as every dose).
    refs: dict[str, tuple[float, float, float]] = {}
    ub = untreated_spec(spec)
    y0 = outcome_at(simulate_arm(ub, n, spec, None), day)
    refs["untreated"] = _pct3(y0)
    seen: set[str] = set()
    for a in arms.candidates:
        if a.vehicle and a.vehicle not in seen:
            seen.add(a.vehicle)
            assert a.design is not None
            yv = outcome_at(simulate_arm(vehicle_only_spec(spec, a.design, plan), n, spec), day)
            refs[f"vehicle only: {a.vehicle}"] = _pct3(yv)
    kd_curves: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    out_curves: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    need_rows = []
    dr: dict[str, Any] = {}
    below: list[str] = []
    per_subject: dict[str, list[np.ndarray]] = {}  # the same dose-response subjects per dose
    for a in arms.candidates:
        assert a.design is not None
        progress(f"dose-response: {a.name}")
        kd_pct, out_pct, below_untreated = [], [], 0.0
        for d in doses:
            bs, _ = candidate_body_spec(spec, a.design, plan, dose=float(d))
            res = simulate_arm(bs, n, spec)
            kd_pct.append(np.percentile(peak_knockdown(res), [5, 50, 95]))
            y = outcome_at(res, day)
            per_subject.setdefault(a.name, []).append(y)
            out_pct.append(np.percentile(y, [5, 50, 95]))
            below_untreated = min(below_untreated, float(np.min(y - y0)))
        if below_untreated < -1e-6 * max(1.0, float(np.abs(y0).max())):
            below.append(a.name)
        k = np.array(kd_pct).T
        o = np.array(out_pct).T
        kd_curves[a.name] = (k[0], k[1], k[2])
        out_curves[a.name] = (o[0], o[1], o[2])
        need = dose_for_goal(doses, k[1], spec.knockdown_goal)
        progress(f"loading needed for the knockdown goal: {a.name}")
        load = loading_for_goal(spec, a, plan, spec.knockdown_goal, n)
        need_rows.append([
            a.name, float(a.body_spec.copies_per_vesicle),
            need if need is not None else f"not reached up to {hi:.3g}", float(k[1][-1]),
            load["copies_needed"] if load["copies_needed"] is not None else load["reason"],
            load["max_repression"]])
        dr[a.name] = {"doses": doses.tolist(), "peak_knockdown": k.tolist(),
                      "outcome": o.tolist(), "dose_for_goal": need, "loading": load,
                      "min_paired_gain_over_untreated": below_untreated}
    sec.blocks.append(Figure("Dose-response: peak knockdown", "dose_knockdown.svg",
                             figures.dose_response(doses, kd_curves,
                                                   ylabel="peak knockdown (fraction)",
                                                   title="peak knockdown vs dose",
                                                   goal=spec.knockdown_goal),
                             provenance="exomir.design.simulate_part (body.simulate per dose)",
                             caption=f"{n} subjects per dose; knockdown of the most-repressed "
                                     "target gene per subject"))
    sec.blocks.append(Figure(f"Dose-response: {label} at day {day:g}", "dose_outcome.svg",
                             figures.dose_response(doses, out_curves, ylabel=label,
                                                   title=f"{label} at day {day:g} vs dose",
                                                   refs=refs),
                             provenance="exomir.design.simulate_part (body.simulate per dose)",
                             caption="Horizontal lines: untreated and vehicle-only arms of the "
                                     "same subjects (median; shaded: 5-95 %)."))
    sec.blocks.append(TableBlock(
        f"What it takes to reach a median peak knockdown of {spec.knockdown_goal:.0%}",
        ["candidate", "miRNA copies/EV now", "particles per administration needed (at this "
         "loading)", "median peak knockdown at the top dose",
         "miRNA copies/EV needed (at this dose)", "strongest target repression allowed"],
        need_rows,
        provenance="exomir.design.simulate_part.dose_for_goal and loading_for_goal "
                   "(log interpolation over simulated grids)"))
    if below:
        sec.blocks.append(Warning_(
            "At some dose these candidates do worse than untreated for some subjects: "
            + ", ".join(below) + ". Check the vehicle and route assumptions.",
            severity="caution"))
    if extra is not None:
        extra["dose_outcomes"] = {"doses": doses, "by_candidate": per_subject}
    return {"dose_response": dr, "knockdown_goal": spec.knockdown_goal,
            "dose_response_refs": {k: list(v) for k, v in refs.items()}}
