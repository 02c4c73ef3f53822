"""Report section: particles needed, human-equivalent dose, production plan, MISEV items."""

from __future__ import annotations

from typing import Any

from exomir.design.simulate_part import CandidateRun
from exomir.design.spec import DesignSpec
from exomir.report import Section, TableBlock, TextBlock, Warning_

HUMAN_WEIGHT_KG = 60.0  # FDA 2005 guidance reference adult
IMPRACTICAL_T175 = 1000  # flasks per cohort; assumption: beyond manual flask culture
IMPRACTICAL_BIOREACTOR_L = 200.0  # litres; assumption: beyond a single-use bioreactor run


def product_section(spec: DesignSpec, runs: list[CandidateRun]
                    ) -> tuple[Section, list[tuple[str, str]]]:
    from exomir.body.params import species_table
    from exomir.quality.dose import hed
    from exomir.quality.manufacture import plan, sensitivity
    from exomir.quality.misev import load_checklist

    sec = Section("Product and manufacturing")
    warnings: list[tuple[str, str]] = []  # (severity, message)
    bw = float(species_table()[spec.species.value]["body_weight_kg"])
    rows, hed_rows, plan_rows = [], [], []
    data: dict[str, Any] = {"body_weight_kg": bw, "candidates": {}}
    for r in runs:
        c = r.design
        dose = r.dose_particles  # the body spec's conversion (a dose in ug of protein too)
        n_doses = len(c.times_days)
        per_kg = dose / bw
        item: dict[str, Any] = {"particles_per_dose": dose, "doses": n_doses,
                                "particles_per_subject": dose * n_doses,
                                "particles_per_kg_per_dose": per_kg}
        rows.append([c.name, dose, n_doses, dose * n_doses, per_kg])
        if spec.species.value != "human":
            h = hed(per_kg, "particles/kg", spec.species.value, human_weight_kg=HUMAN_WEIGHT_KG)
            item["hed"] = h.to_dict()
            hed_rows.append([c.name, h.value, h.value * HUMAN_WEIGHT_KG, " | ".join(h.steps),
                             " | ".join(h.assumptions)])
            human_dose = h.value * HUMAN_WEIGHT_KG
        else:
            human_dose = dose
        pre = plan(spec.cohort_subjects, n_doses, dose, c.isolation_method)
        hum = plan(spec.cohort_subjects, n_doses, human_dose, c.isolation_method)
        sens = sensitivity(spec.cohort_subjects, n_doses, human_dose, c.isolation_method)
        item["plan_preclinical"] = pre.to_dict()
        item["plan_human"] = hum.to_dict()
        item["dominant_assumption"] = sens[0].parameter if sens else None
        item["sensitivity"] = [s.__dict__ for s in sens[:5]]
        for label, p in (("preclinical", pre), ("human (HED)", hum)):
            plan_rows.append([c.name, label, p.particles_final, p.cells, p.surface_cm2,
                              p.t175_flasks, p.medium_l, p.bioreactor_l, p.batches, p.days])
        if hum.t175_flasks > IMPRACTICAL_T175:
            warnings.append(("critical" if hum.bioreactor_l > IMPRACTICAL_BIOREACTOR_L
                             else "caution",
                f"{c.name}: a {spec.cohort_subjects}-subject human cohort at the HED needs "
                f"{hum.cells:.3g} producer cells ({hum.t175_flasks:,} T175 flasks or "
                f"{hum.bioreactor_l:.3g} L of bioreactor) at the central secretion rate: beyond "
                "flask culture, plan a bioreactor process; the secretion rate per cell "
                "dominates this estimate (see 'Assumptions and provenance')."))
        data["candidates"][c.name] = item
    sec.blocks.append(TableBlock(
        "Required particles", ["candidate", "particles/dose", "doses", "particles/subject",
                               f"particles/kg/dose ({spec.species.value}, {bw:g} kg)"], rows,
        provenance="dose x schedule; body weight from exomir.body.params.species_table"))
    if hed_rows:
        sec.blocks.append(TableBlock(
            "Human-equivalent dose (body-surface-area scaling)",
            ["candidate", "HED (particles/kg)", f"per {HUMAN_WEIGHT_KG:g} kg adult",
             "steps", "assumptions"], hed_rows, provenance="exomir.quality.dose.hed"))
    sec.blocks.append(TableBlock(
        f"Production plan for a {spec.cohort_subjects}-subject cohort (central assumptions)",
        ["candidate", "scale", "particles (with overage)", "producer cells", "surface (cm²)",
         "T175 flasks", "medium (L)", "or bioreactor (L)", "batches", "days"], plan_rows,
        provenance="exomir.quality.manufacture.plan",
        note="Secretion rate, yields and culture parameters are listed with sources or as "
             "assumptions in 'Assumptions and provenance'; 'exomir manufacture plan' shows low/high scenarios."))
    checklist = load_checklist()
    must = [[i.key, i.category, i.item, i.why] for i in checklist.items if i.level == "mandatory"]
    sec.blocks.append(TableBlock(
        "MISEV items the product must document", ["key", "category", "item", "why it matters"],
        must, provenance="exomir.quality.misev.load_checklist (Thery 2018; Welsh 2024)"))
    data["misev_mandatory"] = [m[0] for m in must]
    sec.blocks.append(TextBlock("Check a preparation with 'exomir quality misev RECORD.yaml' and "
                                "a batch with 'exomir quality release SPEC.yaml BATCH.yaml'."))
    for sev, w in warnings:
        sec.blocks.append(Warning_(w, severity=sev))
    sec.data = data
    return sec, warnings
