"""Report section: which miRNAs repress the indication's targets, and which cargo to load."""

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
    modality: dict[str, str] = field(default_factory=dict)  # mirna -> mimic | inhibitor
    mature: dict[str, str] = field(default_factory=dict)  # name -> sequence


def targets_for(plan: CargoPlan, mirnas: list[str]) -> list[dict[str, Any]]:
    """Body-simulator targets for a cargo: each (intended gene, cargo miRNA) pair the
    interaction data hold, with the maximal repression by that miRNA.

    A predicted context++ score gives 1 - 2**score; a validated interaction without one gets
    :data:`VALIDATED_MAX_REPRESSION` (assumption). ``mirna`` is the cargo name as written, so
    the body model gives each miRNA its own RISC-loaded pool (docs/body.md).
    """
    from exomir.cargo.evidence import canonical_name

    want = {g["gene"].upper() for g in plan.profile.get("repress", [])}
    known: Any = plan.mature or set(plan.interactions["mirna"])
    out: dict[tuple[str, str], float] = {}
    for m in mirnas:
        name = canonical_name(m, "hsa", known)
        sub = plan.interactions[(plan.interactions["mirna"] == name)
                                & plan.interactions["gene"].isin(want)]
        for r in sub.itertuples(index=False):
            cs = float(r.context_score)  # type: ignore[arg-type]
            rep = (1 - 2 ** min(0.0, cs)) if cs == cs else VALIDATED_MAX_REPRESSION
            key = (str(r.gene), m)
            out[key] = max(out.get(key, 0.0), rep)
    return [{"gene": g, "mirna": m, "max_repression": round(v, 6)}
            for (g, m), v in sorted(out.items())]


def _gene_sets(spec: DesignSpec, kb: Any) -> tuple[list[GeneSet], str]:
    if spec.gene_sets:
        from exomir.formats import read_gmt

        return list(read_gmt(Path(spec.gene_sets))), spec.gene_sets
    sets = kb.gene_sets()
    return sets, "knowledge base gene sets"


def cargo_section(spec: DesignSpec, kb: Any = None) -> tuple[Section, CargoPlan]:
    """Rank cargo from the knowledge base's gated, name-unified evidence; mimics only where
    the indication's studies support delivering a miRNA, inhibitors only where they support
    inhibiting it (:func:`exomir.cargo.rank.rank_for_indication`)."""
    from exomir.cargo.enrich import enrich
    from exomir.cargo.evidence import cargo_evidence
    from exomir.cargo.rank import MIMIC, exosome_motifs, profile, rank_for_indication

    if kb is None:
        from exomir.kb import open_kb

        kb = open_kb()
    sec = Section("Cargo")
    ind = spec.indication.value
    ev = cargo_evidence(ind, kb=kb)
    inter, mature = ev.interactions, ev.mature
    prof = profile(ind)
    ranking = rank_for_indication(ind, k=spec.cargo_k, kb=kb, top=10)
    mimics = [c for c in ranking.candidates.get(1, [])
              if all(ranking.modality.get(m) == MIMIC for m in c.mirnas)]
    best = list(mimics[0].mirnas) if mimics else list(ranking.best(1).mirnas)
    plan = CargoPlan(interactions=inter, profile=prof, best=best,
                     modality=dict(ranking.modality), mature=dict(mature))
    sec.blocks.append(TextBlock(
        f"{prof.get('description', '')} Candidates are scored by weighted coverage of the "
        "genes to repress minus repression of genes to spare (weights are assumptions, range "
        "0.25-1.0; see docs/cargo.md). A miRNA is proposed as a mimic only when studies of "
        "this indication that pass the evidence gates support delivering it, as an inhibitor "
        "only when they support inhibiting it; names are unified to one per miRNA (seed-checked "
        "orthologs, dominant arm) and passenger strands are not ranked without evidence for "
        "that arm."))
    sec.data["ranking"] = {}
    for size, cands in ranking.candidates.items():
        rows = []
        for c in cands:
            d = c.to_dict()
            why = "; ".join(f"{x['gene']} {x['contribution']:+.2f}" for x in d["contributions"])
            levels = sorted({b["evidence"] for x in d["contributions"] for b in x.get("by", [])})
            direction = "; ".join(
                f"{m}: " + ", ".join(f"{k} {', '.join(v)}" for k, v in
                                     ranking.direction_evidence.get(m, {}).items() if v)
                for m in c.mirnas)
            merged = "; ".join(f"{m} <- {', '.join(f)}" for m, f in
                               ranking.merged_forms(c.mirnas).items() if f) or "—"
            motifs = "; ".join(f"{m}: {','.join(exosome_motifs(mature.get(m, ''))) or '-'}"
                               for m in c.mirnas)
            rows.append([c.label, d["score"], d["benefit"], d["spare_penalty"], why,
                         ", ".join(levels), direction or "—", merged, motifs])
        sec.blocks.append(TableBlock(
            f"Best cargo of {size} miRNA(s)",
            ["cargo (modality)", "score", "benefit", "spare penalty", "per-gene contributions",
             "evidence", "direction evidence (studies)", "name forms merged",
             "EXOmotif (GGAG)"], rows,
            provenance=f"exomir.cargo.rank.rank_for_indication(k={spec.cargo_k})"))
        sec.data["ranking"][str(size)] = [c.to_dict() for c in cands]
    sec.data["modality"] = ranking.modality
    sec.data["kept_out"] = ranking.kept_out
    sec.data["interactions_kept_out"] = ranking.interactions_kept_out
    if ranking.kept_out:
        sec.blocks.append(TableBlock(
            f"miRNAs not ranked ({len(ranking.kept_out)})", ["miRNA", "why"],
            [[x["mirna"], x["reason"]] for x in ranking.kept_out],
            provenance="exomir.cargo.rank.rank_for_indication (direction and arm rules)",
            collapsed=True))
    if ranking.interactions_kept_out:
        sec.blocks.append(TableBlock(
            f"Interactions kept out by the evidence gates ({len(ranking.interactions_kept_out)})",
            ["miRNA", "gene", "study", "reason"],
            [[x["mirna"], x["gene"], x["study"], x["reason"]]
             for x in ranking.interactions_kept_out],
            provenance="exomir.cargo.evidence.cargo_evidence (exomir.core.gates)"))
    # Enrichment of the best miRNA's targets.
    sets, origin = _gene_sets(spec, kb)
    top_mirna = plan.best[0]
    genes = sorted(set(inter.loc[inter["mirna"] == top_mirna, "gene"]))
    if sets and genes:
        background = sorted({g for s in sets for g in s.genes} | set(inter["gene"]))
        res = enrich(genes, sets, background=background)
        top = res.head(8)
        sec.blocks.append(TableBlock(
            f"Pathway enrichment of {top_mirna} targets ({len(genes)} genes; {origin})",
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
