"""Report section 2: which miRNAs repress the indication's targets, and which cargo to load."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from exomir.core import Cargo, CargoKind, CargoMode, GeneSet
from exomir.design.spec import CandidateDesign, DesignSpec
from exomir.report import Section, TableBlock, TextBlock, Warning_

# Maximal repression of a validated target at saturating RISC occupancy when no predicted
# context++ score is available: miRNA repression is mostly below 2-fold (Selbach 2008
# doi:10.1038/nature07228, Baek 2008 doi:10.1038/nature07242), so 0.5 is the upper end.
VALIDATED_MAX_REPRESSION = 0.5
VALIDATED_MAX_REPRESSION_RANGE = (0.2, 0.5)


@dataclass
class CargoPlan:
    """What the cargo analysis hands to the simulator: genes each miRNA represses."""

    interactions: pd.DataFrame
    profile: dict[str, Any]
    best: list[str]
    targets: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # mirna -> targets


def targets_for(plan: CargoPlan, mirnas: list[str]) -> list[dict[str, Any]]:
    """Body-simulator targets for a cargo: intended genes hit, with maximal repression.

    A predicted context++ score gives 1 - 2**score; a validated interaction without one gets
    :data:`VALIDATED_MAX_REPRESSION` (assumption). Several miRNAs on one gene: the strongest.
    """
    from exomir.cargo.evidence import canonical_name

    want = {g["gene"].upper() for g in plan.profile.get("repress", [])}
    known = set(plan.interactions["mirna"])
    best: dict[str, float] = {}
    for m in mirnas:
        name = canonical_name(m, "hsa", known)
        sub = plan.interactions[(plan.interactions["mirna"] == name)
                                & plan.interactions["gene"].isin(want)]
        for r in sub.itertuples(index=False):
            cs = float(r.context_score)  # type: ignore[arg-type]
            rep = (1 - 2 ** min(0.0, cs)) if cs == cs else VALIDATED_MAX_REPRESSION
            best[str(r.gene)] = max(best.get(str(r.gene), 0.0), rep)
    return [{"gene": g, "max_repression": round(v, 6)} for g, v in sorted(best.items())]


def _gene_sets(spec: DesignSpec) -> tuple[list[GeneSet], str]:
    if spec.gene_sets:
        from exomir.formats import read_gmt

        return list(read_gmt(Path(spec.gene_sets))), spec.gene_sets
    from exomir.kb import open_kb

    sets = open_kb().gene_sets()
    return sets, "knowledge base gene sets"


def cargo_section(spec: DesignSpec) -> tuple[Section, CargoPlan]:
    from exomir.cargo.enrich import enrich
    from exomir.cargo.evidence import gather
    from exomir.cargo.rank import exosome_motifs, profile, rank_cargo

    sec = Section("Cargo")
    inter, mature = gather(prefix="hsa")
    prof = profile(spec.indication.value)
    ranked = rank_cargo(inter, spec.indication.value, k=spec.cargo_k, mature=mature, top=10)
    plan = CargoPlan(interactions=inter, profile=prof, best=list(ranked[1][0].mirnas))
    sec.blocks.append(TextBlock(
        f"{prof.get('description', '')} Candidates are scored by weighted coverage of the "
        "genes to repress minus repression of genes to spare (weights are assumptions, range "
        "0.25-1.0; see docs/cargo.md). Evidence: curated studies, landmark papers and the "
        "knowledge base; add genome-wide predictions with 'exomir cargo rank --mirna ... "
        "--utr ...'."))
    sec.data["ranking"] = {}
    for size, cands in ranked.items():
        rows = []
        for c in cands:
            d = c.to_dict()
            why = "; ".join(f"{x['gene']} {x['contribution']:+.2f}" for x in d["contributions"])
            levels = sorted({b["evidence"] for x in d["contributions"] for b in x.get("by", [])})
            motifs = "; ".join(f"{m}: {','.join(exosome_motifs(mature.get(m, ''))) or '-'}"
                               for m in c.mirnas)
            rows.append([" + ".join(c.mirnas), d["score"], d["benefit"], d["spare_penalty"],
                         why, ", ".join(levels), motifs])
        sec.blocks.append(TableBlock(
            f"Best cargo of {size} miRNA(s)",
            ["miRNAs", "score", "benefit", "spare penalty", "per-gene contributions",
             "evidence", "EXOmotif (GGAG)"], rows,
            provenance=f"exomir.cargo.rank.rank_cargo(k={spec.cargo_k})"))
        sec.data["ranking"][str(size)] = [c.to_dict() for c in cands]
    # Enrichment of the best miRNA's targets.
    sets, origin = _gene_sets(spec)
    best = plan.best[0]
    genes = sorted(set(inter.loc[inter["mirna"] == best, "gene"]))
    if sets and genes:
        background = sorted({g for s in sets for g in s.genes} | set(inter["gene"]))
        res = enrich(genes, sets, background=background)
        top = res.head(8)
        sec.blocks.append(TableBlock(
            f"Pathway enrichment of {best} targets ({len(genes)} genes; {origin})",
            list(map(str, top.columns)), top.values.tolist(),
            provenance="exomir.cargo.enrich.enrich (hypergeometric, Benjamini-Hochberg)"))
        sec.data["enrichment"] = top.to_dict("records")
    else:
        sec.blocks.append(Warning_(
            f"Pathway enrichment not run: no gene-set collection installed ({origin}). Import "
            "one with 'exomir kb import FILE.gmt' or name it in the spec (gene_sets: PATH).",
            severity="info"))
        sec.data["enrichment"] = None
    return sec, plan


def resolve_cargo(c: CandidateDesign, plan: CargoPlan) -> list[Cargo]:
    """The candidate's cargo, or the best-ranked single miRNA (native loading) when omitted."""
    if c.cargo:
        return c.cargo
    return [Cargo(kind=CargoKind.MIRNA, name=plan.best[0], mode=CargoMode.NATIVE)]
