"""Report section 1, "Decision": the answer first.

Recommended design(s) or "indistinguishable"; the expected outcome with its band; how much of
the gain is the miRNA; what would separate tied candidates (loading, dose, vehicle), computed;
the dominant assumptions; and the next experiment. Everything here is read from the other
sections' data or computed by :func:`separation`; nothing is settled by list order.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from exomir.design.arms import (
    ArmSet,
    band,
    candidate_body_spec,
    outcome_at,
    simulate_arm,
)
from exomir.design.cargo_part import CargoPlan
from exomir.design.compare import MID, Ranking, paired, verdict
from exomir.design.spec import DesignSpec
from exomir.report import Section, TableBlock, TextBlock, Warning_

SMALL_SHARE = 0.10  # below this fraction of the gain, a part is called "almost nothing"
CEILING_SHARE = 0.5  # at least this share of subjects at the read-out's maximum: a ceiling


def _b(m: dict[str, float], signed: bool = False, unit: str = "") -> str:
    f = "{:+.3g}" if signed else "{:.3g}"
    u = f" {unit}" if unit else ""
    return f"{f.format(m['median'])}{u} [{f.format(m['p05'])} to {f.format(m['p95'])}]"


def _names(xs: list[str]) -> str:
    q = [f"'{x}'" for x in xs]
    return q[0] if len(q) == 1 else ", ".join(q[:-1]) + " and " + q[-1]


def dose_separation(tied: list[str], dose_outcomes: dict[str, Any] | None, mid: MID
                    ) -> list[dict[str, Any]]:
    """For each pair of tied candidates, the doses of the dose-response grid (the same
    subjects at every dose) at which the paired difference separates them."""
    if not dose_outcomes or len(tied) < 2:
        return []
    doses = dose_outcomes["doses"]
    by = dose_outcomes["by_candidate"]
    out = []
    for i, a in enumerate(tied):
        for b in tied[i + 1:]:
            hits = []
            for d, ya, yb in zip(doses, by[a], by[b], strict=True):
                diff = paired(ya, yb)
                v = verdict(diff, mid.value)
                if v != "indistinguishable":
                    hits.append({"dose": float(d), "better": a if v == "better" else b,
                                 "difference": diff})
            out.append({"a": a, "b": b, "separating_doses": hits})
    return out


def ceiling_share(arms: ArmSet, names: list[str], day: float) -> dict[str, float]:
    """Share of subjects at the read-out's ceiling (100 % closure; the von Frey cut-off when
    the body table carries one, ``pwt_cutoff``) for each named candidate."""
    out = {}
    by = {a.name: a for a in arms.candidates}
    for n in names:
        res = by[n].result
        y = outcome_at(res, day)
        cap = 100.0 if res.model.outcome == "wound_closure" else (
            res.params.get("pwt_cutoff"))
        if cap is None:
            continue
        out[n] = float(np.mean(y >= np.asarray(cap) * 0.995))
    return out


def separation(spec: DesignSpec, plan: CargoPlan, arms: ArmSet, designs: dict[str, Any],
               ranking: Ranking, mid: MID) -> list[dict[str, Any]]:
    """For tied candidates: would reaching the knockdown goal by loading separate them?

    For each tied candidate whose loading scan found the copies per vesicle for the goal, the
    candidate is simulated at that loading on the same subjects and compared, pair by pair,
    with the other tied candidates as specified.
    """
    day = spec.headline_day
    tied = ranking.recommended
    by_name = {a.name: a for a in arms.candidates}
    out = []
    for name in tied:
        load = designs["dose_response"][name]["loading"]
        item: dict[str, Any] = {"candidate": name, "copies_now": load["copies_now"],
                                "copies_needed": load["copies_needed"],
                                "reason": load["reason"], "limit": load.get("limit"),
                                "dose_needed": designs["dose_response"][name]["dose_for_goal"],
                                "vehicle": by_name[name].vehicle}
        if load["copies_needed"] is not None and len(tied) > 1:
            a = by_name[name]
            assert a.design is not None
            bs, _ = candidate_body_spec(spec, a.design, plan, loading=load["loading_factor"])
            y = outcome_at(simulate_arm(bs, spec.subjects, spec), day)
            y0 = outcome_at(arms.untreated.result, day)
            item["outcome_at_goal"] = band(y)
            item["gain_at_goal"] = band(y - y0)
            item["versus"] = {}
            for other in tied:
                if other == name:
                    continue
                d = paired(y, outcome_at(by_name[other].result, day))
                item["versus"][other] = {"difference": d, "verdict": verdict(d, mid.value)}
        out.append(item)
    return out


def _outcome_table(designs: dict[str, Any], rec: list[str], y0: np.ndarray, label: str,
                   day: float, tie: bool, analysis: Any = None) -> TableBlock:
    cands = designs["candidates"]
    unc = analysis.gain_bands if analysis is not None else {}
    rows = [["untreated", _b(band(y0)), "—", "—", "—", "—", "—"]]
    for v, vd in designs["vehicles"].items():
        rows.append([f"vehicle only: {v}", _b(vd["outcome"]), _b(vd["gain_vs_untreated"], True),
                     "—", _b(vd["gain_vs_untreated"], True), "—", "—"])
    for n in sorted(cands, key=lambda k: (k not in rec, k.lower(), k)):
        c = cands[n]
        at = c["attribution"]
        rows.append([("★ " if n in rec else "") + n, _b(c["outcome"]),
                     _b(c["gain_vs_untreated"], True),
                     (f"{unc[n]['p05']:+.3g} to {unc[n]['p95']:+.3g}" if n in unc
                      else "not computed"),
                     _b(at["vehicle"], True), _b(at["vesicle"], True), _b(at["mirna"], True)])
    note = ("Between-subject bands: 5th-95th percentile of subjects. Uncertainty: the 5th-95th "
            "percentile of the cohort-median gain over parameter draws (assumption ranges and "
            "sourced ranges; see 'Global sensitivity and uncertainty')." if unc else
            "Bands are between-subject variability only; parameter-uncertainty bands were not "
            "computed (spec 'sensitivity: false').")
    return TableBlock(
        f"Expected {label} at day {day:g}, median [5th to 95th percentile of subjects]; "
        + ("★ tied for first" if tie else "★ recommended"),
        ["arm", label, "gain vs untreated", "gain over parameter uncertainty",
         "of which vehicle", "vesicle (cargo-independent)", "miRNA"], rows,
        provenance="exomir.design.arms (paired arms) + exomir.body.attribution (Shapley); "
                   "exomir.sensitivity.uncertainty_bands", note=note)


def _separation_table(spec: DesignSpec, sep: list[dict[str, Any]], label: str, unit: str,
                      tie: bool) -> TableBlock:
    rows = []
    for s in sep:
        if s["copies_needed"] is not None:
            txt = (f"{s['copies_needed']:.3g} copies/EV (now {s['copies_now']:.3g})")
            then = "—"
            if s.get("versus"):
                then = f"{_b(s['outcome_at_goal'])}; " + "; ".join(
                    f"vs '{o}' {_b(x['difference'], True, unit)}: "
                    + {"better": "then better", "worse": "then worse"}.get(
                        x["verdict"], "still indistinguishable")
                    for o, x in s["versus"].items())
        else:
            txt, then = f"not reachable: {s['reason']}", "—"
        dose = (f"{s['dose_needed']:.3g}" if s["dose_needed"]
                else f"not reached up to {spec.dose_range_particles[1]:.3g}")
        rows.append([s["candidate"], s["vehicle"] or "none", dose, txt, then])
    return TableBlock(
        ("What would separate them: " if tie else "What it takes: ")
        + f"{spec.knockdown_goal:.0%} median peak knockdown of the targets",
        ["candidate", "vehicle", "particles per administration needed (at its loading)",
         "miRNA loading needed (at its dose)", f"{label} at that loading, and vs the others"],
        rows, provenance="exomir.design.simulate_part.loading_for_goal + "
                         "exomir.design.decision_part.separation (same subjects)")


def decision_section(spec: DesignSpec, arms: ArmSet, designs: dict[str, Any], ranking: Ranking,
                     mid: MID, sep: list[dict[str, Any]], *, best_cargo: str,
                     evidence: dict[str, Any], analysis: Any = None,
                     dose_sep: list[dict[str, Any]] | None = None) -> Section:
    """``analysis``: :class:`exomir.design.uncertainty_part.GlobalAnalysis` or None."""
    day = spec.headline_day
    unit = designs["unit"]
    du = "points" if unit == "%" else unit  # unit of a difference (percentage points)
    label = designs["outcome"]
    short = label.split(" (")[0]
    cands = designs["candidates"]
    rec = ranking.recommended
    tie = ranking.tie
    sec = Section("Decision")
    data: dict[str, Any] = {"recommended": rec, "tie": tie,
                            "answer": "indistinguishable" if tie else "recommended",
                            "best_candidate": None if tie else rec[0],
                            "best_cargo": best_cargo, "day": day, "unit": unit}
    y0 = outcome_at(arms.untreated.result, day)

    # The answer.
    above_untreated = [n for n in rec if cands[n]["gain_vs_untreated"]["p05"] > 0
                       and cands[n]["gain_vs_untreated"]["median"] >= mid.value]
    by_unc: list[dict[str, Any]] = []
    if tie:
        by_unc = [p for p in ranking.pairs if p["a"] in rec and p["b"] in rec
                  and p["why"].startswith("its band over parameter uncertainty")]
        if by_unc:
            p0 = max(by_unc, key=lambda p: (abs(p["difference"]["median"]), p["a"].lower()))
            a, b = (p0["a"], p0["b"]) if p0["difference"]["median"] > 0 else (p0["b"], p0["a"])
            u = p0["uncertainty"]
            sign = 1.0 if a == p0["a"] else -1.0
            lo, hi = sorted((sign * u["p05"], sign * u["p95"]))
            head = (f"Indistinguishable once parameter uncertainty is counted: {_names(rec)}. "
                    f"On the same subjects at the nominal parameters '{a}' beats '{b}' by "
                    f"{abs(p0['difference']['median']):.3g} {du}, but over the parameter "
                    f"uncertainty that difference runs from {lo:+.3g} to {hi:+.3g} {du} "
                    "(5th-95th percentile): the assumptions, not the designs, decide it. None is "
                    "recommended over the others.")
        else:
            head = (f"Indistinguishable: {_names(rec)} give the same {short} at day {day:g} "
                    f"(paired differences below the minimal important difference of "
                    f"{mid.value:.3g} {du}, or with a 90 % band spanning zero). None is "
                    "recommended over the others.")
    elif len(cands) == 1:
        c = cands[rec[0]]
        head = (f"One candidate, '{rec[0]}': {short} at day {day:g} "
                f"{_b(c['outcome'], unit=unit)}, {c['gain_vs_untreated']['median']:+.3g} {du} "
                "over untreated; add candidates to compare designs.")
    else:
        c = cands[rec[0]]
        head = (f"Recommended: '{rec[0]}': {short} at day {day:g} "
                f"{_b(c['outcome'], unit=unit)}, {c['gain_vs_untreated']['median']:+.3g} {du} "
                f"over untreated; it beats every other candidate on the same subjects by at "
                f"least the minimal important difference ({mid.value:.3g} {du}).")
    if not above_untreated:
        head += (" Not even the best is distinguishable from untreated by the minimal important "
                 "difference.")
    elif tie:
        g = [cands[n]["gain_vs_untreated"]["median"] for n in rec]
        head += (f" Each gains {min(g):+.3g} to {max(g):+.3g} {du} over untreated "
                 f"({short} {_b(band(y0), unit=unit)} untreated).")
    data["headline"] = head
    data["distinguishable_from_untreated"] = above_untreated

    # How much of it is the miRNA.
    shares = []
    for n in rec:
        c = cands[n]
        g = c["gain_vs_untreated"]["median"]
        at = c["attribution"]
        shares.append({"candidate": n, "gain": g, "mirna": at["mirna"]["median"],
                       "vesicle": at["vesicle"]["median"], "vehicle": at["vehicle"]["median"],
                       "mirna_fraction": at["mirna"]["median"] / g if abs(g) > 1e-12 else 0.0})
    data["mirna_share"] = shares
    top_m = max(shares, key=lambda x: (abs(x["mirna_fraction"]), x["candidate"]))
    veh = max(x["vehicle"] for x in shares)
    ves = max(x["vesicle"] for x in shares)
    small = abs(top_m["mirna_fraction"]) < SMALL_SHARE

    # Separation and next steps (computed before writing, so the next steps come first).
    at_goal = [x for s in sep for x in s.get("versus", {}).values()]
    steps: list[str] = []
    reach = [s for s in sep if s["copies_needed"] is not None]
    if reach:
        s = min(reach, key=lambda x: (x["copies_needed"] / max(x["copies_now"], 1e-12),
                                      x["candidate"].lower()))
        steps.append(
            f"Loading is the lever: '{s['candidate']}' needs about {s['copies_needed']:.3g} "
            f"miRNA copies per vesicle (now {s['copies_now']:.3g}) for "
            f"{spec.knockdown_goal:.0%} target knockdown at its dose. Measure the preparation's "
            "copies per vesicle (RT-qPCR against particle count) and, at that loading, the "
            "target knockdown in the target tissue: the model's least-tested link.")
    grouped: dict[str, list[str]] = {}
    for s in sep:
        if s["copies_needed"] is None:
            fix = ("choose a cargo with stronger validated repression of the intended targets "
                   "(see 'Cargo')" if s.get("limit") in ("repression", "no_target") else
                   "loading alone cannot get there at this dose and route: more exposure of the "
                   "target tissue (dose, release from the vehicle, or route) is needed")
            grouped.setdefault(f"{s['reason']}; {fix}.", []).append(s["candidate"])
    for text, names in grouped.items():
        steps.append(f"{_names(names)}: {text}")
    no_dose = [s["candidate"] for s in sep if s["dose_needed"] is None]
    if no_dose:
        who = "no candidate" if len(no_dose) == len(sep) else _names(no_dose)
        steps.append(f"Dose does not get there: {who} reaches {spec.knockdown_goal:.0%} "
                     f"knockdown at doses up to {spec.dose_range_particles[1]:.3g} particles "
                     "per administration at the loading specified.")
    if tie and at_goal and all(x["verdict"] == "indistinguishable" for x in at_goal):
        biggest = max(abs(x["difference"]["median"]) for x in at_goal)
        controls = "untreated and vehicle-only control arms" if arms.vehicles else \
            "an untreated control arm"
        steps.append(f"Even at that loading the designs stay indistinguishable (paired "
                     f"differences up to {biggest:.3g} {du}, each below the minimal important "
                     "difference or with a band spanning zero): choose between them on route, "
                     f"vehicle, dose, cost and manufacturability, with {controls} in the "
                     "experiment.")
    elif tie and any(x["verdict"] == "better" for x in at_goal):
        steps.append("Loaded to the knockdown goal, the designs separate on the same subjects "
                     "at the nominal parameters (table below): run that loading experiment.")
    if tie:
        ceil = ceiling_share(arms, rec, day)
        capped = {n: f for n, f in ceil.items() if f >= CEILING_SHARE}
        data["ceiling_share"] = ceil
        if capped:
            steps.append(
                "The read-out is at its ceiling: " + ", ".join(
                    f"{f:.0%} of subjects for '{n}'" for n, f in sorted(capped.items()))
                + f" reach the assay's maximum at day {day:g}, so the designs cannot differ "
                "there; compare them at a lower dose or an earlier day.")
        data["dose_separation"] = dose_sep or []
        lo_d, hi_d = spec.dose_range_particles
        if dose_sep:
            sep_d = [x for x in dose_sep if x["separating_doses"]]
            if sep_d:
                parts = []
                for x in sep_d:
                    h = x["separating_doses"][0]
                    worse = x["b"] if h["better"] == x["a"] else x["a"]
                    parts.append(f"{h['dose']:.3g} particles '{h['better']}' beats '{worse}' "
                                 f"by {abs(h['difference']['median']):.3g} {du}")
                steps.append("A lower dose separates them at the nominal parameters: at an "
                             "equal dose of " + "; ".join(parts) + " (dose-response grid, the "
                             "same subjects at every dose). A low-dose comparison is an "
                             "experiment that tells them apart.")
            else:
                steps.append(f"No dose from {lo_d:.3g} to {hi_d:.3g} particles per "
                             "administration separates the tied designs (dose-response grid, "
                             "paired subjects).")
    drivers = analysis.drivers(3) if analysis is not None else []
    if drivers:
        d0 = drivers[0]
        conf = f" ± {d0['conf']:.2f}" if d0["conf"] is not None else ""
        what = f" ({d0['description']})" if d0.get("description") else ""
        steps.append(
            f"The assumption that moves the gain most is {d0['parameter']}{what}: largest total "
            f"Sobol index, {d0['index']} {d0['value']:.2f}{conf}; today "
            f"{d0['distribution']} ({d0['origin']}). The experiment that measures it reduces "
            "the uncertainty of this answer most." if d0["index"] == "ST" else
            f"The assumption that moves the gain most is {d0['parameter']}{what} "
            f"({d0['index']} {d0['value']:.2f}{conf}; today {d0['distribution']}, "
            f"{d0['origin']}): measure it first.")
    elif analysis is None:
        steps.append("Run the global sensitivity analysis (spec 'sensitivity: true' or "
                     "'exomir sensitivity'): it names the assumption whose measurement would "
                     "most reduce the uncertainty of this answer.")
    ddiff = analysis.difference_drivers(1) if analysis is not None else []
    if tie and by_unc and ddiff:
        # the tie comes from parameter uncertainty: what decides between the designs first
        d1 = ddiff[0]
        if drivers and drivers[0]["parameter"] == d1["parameter"]:
            steps.pop(steps.index(next(x for x in steps if x.startswith(
                "The assumption that moves the gain most"))))
        steps.insert(0, (
            f"What decides between '{analysis.subject}' and '{analysis.comparator}' is "
            f"{d1['parameter']} (largest total Sobol index of their difference, "
            f"{d1['value']:.2f}" + (f" ± {d1['conf']:.2f}" if d1["conf"] is not None else "")
            + "): measure it first; with it known the designs may separate."))
    data["next_steps"] = steps

    sec.blocks.append(TextBlock(head, kind="headline"))
    sec.blocks.append(TextBlock("What to do next", kind="next", items=steps))
    if small:
        sec.blocks.append(Warning_(
            f"The miRNA contributes almost nothing: at most {top_m['mirna']:+.3g} {du} of a "
            f"{top_m['gain']:+.3g} {du} gain ({top_m['mirna_fraction']:.1%}, "
            f"'{top_m['candidate']}'). The modelled gain is "
            + (f"the vehicle (up to {veh:+.3g} {du}) and " if veh > 0 else "")
            + f"the cargo-independent vesicle effect (up to {ves:+.3g} {du}), "
            + ("both calibrated assumptions" if veh > 0 else "a calibrated assumption")
            + " (docs/body.md): a choice between these designs is not a choice of miRNA.",
            severity="critical"))
    else:
        sec.blocks.append(TextBlock("How much of the gain is the miRNA: " + "; ".join(
            f"'{x['candidate']}' {x['mirna']:+.3g} of {x['gain']:+.3g} {du} "
            f"({x['mirna_fraction']:.0%})" for x in shares) + "."))
    sec.blocks.append(_outcome_table(designs, rec, y0, label, day, tie, analysis))
    if sep:
        sec.blocks.append(_separation_table(spec, sep, label, du, tie))
    data["separation"] = sep
    vehicles = {s["vehicle"] for s in sep}
    if tie and len(vehicles) > 1:
        vs = "; ".join(f"{v}: {_b(designs['vehicles'][v]['gain_vs_untreated'], True, du)}"
                       for v in sorted(x for x in vehicles if x) if v in designs["vehicles"])
        sec.blocks.append(TextBlock(
            "The tied candidates differ in vehicle; the vehicle alone gives " + (vs or "nothing")
            + " over untreated."))

    # Dominant assumptions.
    if drivers:
        top = "; ".join(
            f"{d['parameter']} ({d['index']} {d['value']:.2f}"
            + (f" ± {d['conf']:.2f}" if d["conf"] is not None else "") + f", {d['origin']})"
            for d in drivers)
        ddiff = analysis.difference_drivers(3)
        txt = f"Dominant assumptions (global sensitivity of the gain; see 'Global sensitivity and uncertainty'): {top}."
        if ddiff:
            txt += (f" The difference between '{analysis.subject}' and "
                    f"'{analysis.comparator}' is driven by " + ", ".join(
                        f"{d['parameter']} ({d['value']:.2f})" for d in ddiff) + ".")
        if analysis.uncertainty and rec:
            u = analysis.gain_bands.get(rec[0])
            if u:
                txt += (f" Over parameter uncertainty the gain of '{rec[0]}' would be "
                        f"{u['p05']:+.3g} to {u['p95']:+.3g} {du} (5th-95th percentile).")
        sec.blocks.append(TextBlock(txt))
        data["dominant_assumptions"] = drivers
    else:
        sec.blocks.append(Warning_(
            "Dominant assumptions: not computed (spec 'sensitivity: false'). Which assumptions "
            "drive this answer needs the global sensitivity analysis over the assumption "
            "ranges. The minimal important difference"
            + (" is itself an assumption (half-SD rule; see 'Designs compared')." if mid.assumption
               else f" comes from: {mid.source}."), severity="caution"))
        data["dominant_assumptions"] = None
    if evidence.get("headline"):
        kept = evidence.get("kept_out") or []
        sec.blocks.append(TextBlock(
            "Evidence behind it (see 'Evidence'): " + str(evidence["headline"])
            + (" Kept out of synthesis: " + "; ".join(
                f"{x['study']} ({x['label']})" for x in kept) + "." if kept else "")))
    data["evidence"] = evidence
    sec.data = data
    return sec
