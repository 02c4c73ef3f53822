"""Report section 1: what the curated evidence says for the indication."""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path
from typing import Any

from exomir.core import Indication, Route, Study
from exomir.design.spec import DesignSpec
from exomir.report import Figure, Section, TableBlock, TextBlock, Warning_

# The main outcome pooled for each indication, as stored in ArmOutcome.measure.
MAIN_OUTCOME = {Indication.DIABETIC_WOUND: "wound_closure",
                Indication.NEUROPATHIC_PAIN: "paw_withdrawal_threshold"}


def evidence_section(spec: DesignSpec, studies: list[Study]) -> Section:
    from exomir.evidence.arms import arm_table
    from exomir.evidence.effects import escalc
    from exomir.evidence.meta import rma
    from exomir.evidence.plots import forest

    sec = Section("Evidence")
    rows = [[s.id, s.citation, s.product.source_cell or "NR",
             "; ".join(c.name for c in s.cargo) or (s.cargo_text or "NR")[:60],
             ";".join(s.target_genes) or "NR",
             s.delivery.route.value if s.delivery.route else "NR",
             s.subject.species.value if s.subject.species else "NR",
             s.confidence.value if s.confidence else "NR",
             s.source.key or "", s.source.link or ""] for s in studies]
    sec.blocks.append(TableBlock(
        f"Curated studies for {spec.indication.value} ({len(studies)})",
        ["id", "study", "exosome source", "cargo", "targets", "route/vehicle", "species",
         "confidence", "source", "url"], rows, links={"source": "url"},
        provenance="exomir.kb.open_kb().studies(indication=...)", collapsed=True))
    sec.data["studies"] = [r[0] for r in rows]

    # Evidence gaps: vehicles and routes with no curated study.
    counts = {r.value: 0 for r in Route}
    for s in studies:
        if s.delivery.route:
            counts[s.delivery.route.value] += 1
    unreported = sum(1 for s in studies if s.delivery.route is None)
    sec.blocks.append(TableBlock(
        "Studies by route or vehicle", ["route/vehicle", "studies"],
        [[k, v] for k, v in sorted(counts.items(), key=lambda kv: -kv[1])]
        + [["not reported", unreported]], provenance="count over Study.delivery.route"))
    gaps = [k for k, v in counts.items() if v == 0]
    sec.data["route_counts"] = counts
    sec.data["gaps"] = gaps
    if gaps:
        sec.blocks.append(Warning_(
            "Evidence gaps: no curated study for " + ", ".join(gaps)
            + f"; {unreported} studies do not report the route.", severity="info"))

    # Pooled effect on the main outcome where arm-level data exist.
    outcome = MAIN_OUTCOME[spec.indication]
    table = arm_table(studies, outcome)
    report: dict[str, Any] = table.report()
    sec.data["pooled_source"] = report
    sec.blocks.append(TextBlock(
        f"Pooling '{outcome}': {report['studies_pooled']} of {report['studies_considered']} "
        f"studies have arm-level numbers ({report['comparisons']} treatment-vs-control "
        f"comparisons); {report['studies_considered'] - report['studies_pooled']} studies left "
        "out entirely, most because the publication "
        "reports no arm-level mean/SD or median/IQR in the text read. No missing SD or n was "
        "filled by assumption."))
    for note in report["notes"]:
        sec.blocks.append(TextBlock(note))
    if table.data.empty:
        sec.blocks.append(Warning_(f"No pooled effect: no study has usable arm-level data "
                                   f"for {outcome}.", severity="caution"))
        sec.data["pooled"] = None
        return sec
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        es = escalc("SMD", table.data)
        fit = rma(es["yi"], es["vi"], method="REML", slab=es["study"].astype(str).tolist())
    pooled = fit.to_dict()
    sec.data["pooled"] = pooled
    sec.data["pooled_warnings"] = [str(w.message) for w in caught]
    n_studies = int(es["study"].nunique())
    sec.data["pooled_studies"] = n_studies
    if n_studies < 3:
        sec.blocks.append(Warning_(
            f"Only {n_studies} {'study' if n_studies == 1 else 'studies'} with arm-level data: "
            + ("a single study is not a meta-analysis; its effect is shown as that study's own "
               "estimate" if n_studies == 1 else "fewer than 3 studies give no usable estimate "
               "of between-study heterogeneity")
            + ". Do not read the pooled number as the evidence for this indication.",
            severity="caution"))
    sec.blocks.append(TableBlock(
        (f"Single study {es['study'].iloc[0]} on {outcome} (SMD, Hedges' g; not a meta-analysis)"
         if n_studies == 1 else
         f"Random-effects meta-analysis of {outcome} (SMD, Hedges' g; REML; "
         f"{n_studies} studies)"),
        ["k", "estimate", "ci_lb", "ci_ub", "pi_lb", "pi_ub", "tau2", "i2 (%)", "pval"],
        [[pooled["k"], pooled["estimate"], pooled["ci_lb"], pooled["ci_ub"],
          pooled.get("pi_lb"), pooled.get("pi_ub"), pooled["tau2"], pooled["i2"],
          pooled["pval"]]],
        provenance="exomir.evidence.arms.arm_table -> effects.escalc('SMD') -> meta.rma("
                   "method='REML')",
        note="Comparisons from one study share its control arm (split as documented in "
             "docs/evidence.md); with few studies the pooled SMD mostly shows that the "
             "reported effects are large relative to their SDs, not a dose-matched effect."))
    for msg in sec.data["pooled_warnings"]:
        sec.blocks.append(Warning_(msg, severity="info"))
    with tempfile.TemporaryDirectory() as tmp:
        path = forest(fit, Path(tmp) / "forest.svg", measure="SMD",
                      title=f"{outcome}: treatment vs control (SMD)")
        svg = Path(path).read_text(encoding="utf-8")
    sec.blocks.append(Figure("Forest plot", "evidence_forest.svg", svg,
                             provenance="exomir.evidence.plots.forest",
                             caption="Squares: comparisons (area ~ weight); diamond: pooled "
                                     "REML estimate; bar: 95 % prediction interval."))
    return sec
