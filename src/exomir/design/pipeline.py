"""Run a design: evidence -> cargo -> simulated candidates -> product -> provenance -> report."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from exomir import __version__
from exomir.core import CargoMode
from exomir.design.cargo_part import cargo_section
from exomir.design.evidence_part import evidence_section
from exomir.design.product_part import product_section
from exomir.design.provenance_part import provenance_section
from exomir.design.simulate_part import (
    CandidateRun,
    designs_section,
    run_candidates,
    untreated,
)
from exomir.design.spec import DesignSpec
from exomir.report import Report, Section, TextBlock, Warning_, write_report

NEGLIGIBLE_KNOCKDOWN = 0.05  # below this peak knockdown a design is reported as without effect


@dataclass
class DesignResult:
    spec: DesignSpec
    report: Report
    runs: list[CandidateRun]

    def write(self, out_dir: Path) -> dict[str, Path]:
        return write_report(self.report, out_dir)


def _science_warnings(spec: DesignSpec, runs: list[CandidateRun], designs: Section,
                      product_warnings: list[tuple[str, str]]) -> list[Warning_]:
    out: list[Warning_] = []
    cands = designs.data["candidates"]
    for r in runs:
        name = r.design.name
        native = any(c.mode is CargoMode.NATIVE for c in (r.design.cargo or [])) \
            or r.design.cargo is None
        if r.copies_per_vesicle < 1:
            out.append(Warning_(
                f"{name}: {r.copies_per_vesicle:.3g} miRNA copies per vesicle, i.e. one copy "
                f"per {1 / max(r.copies_per_vesicle, 1e-12):,.0f} vesicles"
                + (" (native stoichiometry, Chevillet 2014 doi:10.1073/pnas.1408301111)"
                   if native else "") + ": most target cells receive no copy of this miRNA.",
                severity="critical"))
        kd = cands[name]["peak_knockdown"]
        best = max((v[0] for v in kd.values() if v is not None), default=0.0)
        if best < NEGLIGIBLE_KNOCKDOWN:
            out.append(Warning_(
                f"{name}: median peak knockdown {best:.1%} of every target: any benefit of this "
                "design in the model comes from vesicle effects other than this miRNA, which "
                "the model does not claim to capture.", severity="caution"))
        if not r.targets:
            out.append(Warning_(f"{name}: its cargo hits none of the indication's intended "
                                "targets in the interaction data.", severity="caution"))
    for sev, w in product_warnings:
        out.append(Warning_(w, severity=sev))
    out.append(Warning_(
        "Pathway and outcome links are assumptions calibrated to a few published group means; "
        "exposure and knockdown rest on sourced pharmacokinetics but cell-level uptake and RISC "
        "parameters are partly assumed (section 5).", severity="caution"))
    return out


def run_design(spec: DesignSpec, progress: Callable[[str], None] | None = None) -> DesignResult:
    """Compute every section of the design report (no files written)."""
    from exomir.kb import open_kb

    say = progress or (lambda _msg: None)
    say("evidence: querying the knowledge base and pooling arm-level data")
    studies = open_kb().studies(indication=spec.indication)
    ev = evidence_section(spec, studies)
    say("cargo: ranking miRNAs and combinations")
    cargo, plan = cargo_section(spec)
    runs = run_candidates(spec, plan, say)
    base = untreated(spec, plan, say)
    designs = designs_section(spec, plan, runs, base, say)
    say("product: doses, human-equivalent dose, production plan")
    product, pw = product_section(spec, runs)
    say("assumptions: parameter table and sensitivity")
    prov = provenance_section(spec, plan, runs, say)
    warns = Section("Warnings", blocks=list(_science_warnings(spec, runs, designs, pw)))
    warns.data["warnings"] = [{"severity": w.severity, "message": w.message}
                              for w in warns.blocks if isinstance(w, Warning_)]
    head = designs.data["candidates"]
    best = max(head, key=lambda n: head[n]["gain_vs_untreated"]["median"])
    summary = Section("Summary", blocks=[TextBlock(
        f"Indication {spec.indication.value}, {spec.species.value}: {len(studies)} curated "
        f"studies; best single cargo miRNA {plan.best[0]}; of {len(runs)} candidate designs, "
        f"'{best}' gives the largest modelled gain in the outcome at day "
        f"{spec.headline_day:g} ({head[best]['gain_vs_untreated']['median']:+.3g} "
        f"{head[best]['outcome']['unit']} vs untreated, median). Read the warnings: they say "
        "which links of this answer rest on assumptions.")],
        data={"best_candidate": best, "best_cargo": plan.best[0]})
    report = Report(
        title=f"exomir design report: {spec.name}",
        subtitle=f"{spec.indication.value.replace('_', ' ')} · {spec.species.value} · "
                 f"{spec.subjects} virtual subjects per design · {spec.days:g} days",
        sections=[summary, ev, cargo, designs, product, prov, warns],
        meta={"version": __version__,
              "generated": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
              "spec": spec.model_dump(mode="json")})
    return DesignResult(spec=spec, report=report, runs=runs)


def to_json(result: DesignResult) -> dict[str, Any]:
    return result.report.to_json()
