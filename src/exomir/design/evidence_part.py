"""Report section "Evidence": what the curated evidence says for the indication, what was
pooled, what was kept out of synthesis and why, and which database it came from.

The gates are the knowledge base's (:mod:`exomir.core.gates`, read through
:func:`exomir.evidence.synthesis.synthesize_kb`): retracted and mismatched studies are listed
with their reason and source and never enter the main estimate; a population mismatch is
pooled only in its labelled subgroup; a pool of one study is shown as that study's estimate.
Published syntheses are shown next to exomir's pooling, never mixed into it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from exomir.core import Route, Study
from exomir.design.spec import DesignSpec
from exomir.formats.svg import style
from exomir.report import Figure, Section, TableBlock, TextBlock, Warning_


def _flags(s: Study) -> str:
    from exomir.core.gates import flags

    return "; ".join(flags(s))


def database_block(kb: Any) -> tuple[TableBlock, dict[str, Any]]:
    """Which database the report read and what contributed to it (``kb.provenance()``)."""
    prov: dict[str, Any] = kb.provenance() if hasattr(kb, "provenance") else {
        "database": getattr(kb, "url", "unknown")}
    rows: list[list[Any]] = [["database", prov.get("database", "?")]]
    if prov.get("schema_version"):
        rows.append(["schema version", prov["schema_version"]])
    if prov.get("curated_sha256"):
        rows.append(["curated dataset", f"sha256 {prov['curated_sha256'][:16]}…"])
    for origin, counts in sorted((prov.get("rows_by_origin") or {}).items()):
        rows.append([f"rows from {origin}", ", ".join(f"{k} {v}" for k, v in
                                                      sorted(counts.items()))])
    imports = prov.get("imports") or []
    for imp in imports:
        rows.append([f"import {imp.get('id', '')} ({imp.get('at', '')})",
                     ", ".join(map(str, imp.get("sources") or []))
                     + (f"; counts {imp.get('counts')}" if imp.get("counts") else "")])
    if not imports:
        rows.append(["imported sources", "none contributed"])
    if prov.get("gene_set_collections"):
        rows.append(["gene-set collections", ", ".join(
            f"{k} ({v})" for k, v in sorted(prov["gene_set_collections"].items()))])
    return TableBlock("Knowledge base read by this report", ["", "value"], rows,
                      provenance="exomir.kb.KnowledgeBase.provenance"), prov


def evidence_section(spec: DesignSpec, studies: list[Study], kb: Any = None) -> Section:
    from exomir.evidence.plots import forest
    from exomir.evidence.synthesis import synthesize

    sec = Section("Evidence")
    published = kb.syntheses(spec.indication) if kb is not None and hasattr(
        kb, "syntheses") else []
    syn = synthesize(studies, spec.indication, published=published)
    sec.blocks.append(TextBlock(f"Evidence for {spec.indication.value.replace('_', ' ')}: "
                                + syn.headline()))
    sec.data["synthesis"] = syn.to_dict()

    # What was kept out of synthesis, visibly, with the reason and source.
    if syn.kept_out:
        sec.blocks.append(TableBlock(
            f"Kept out of exomir's main pooled estimate ({len(syn.kept_out)} studies)",
            ["study", "gate", "reason", "detail and source"],
            [[x["study"], "labelled subgroup only" if x["gate"] == "subgroup" else "excluded",
              x["label"], x["detail"]] for x in syn.kept_out],
            provenance="exomir.core.gates (curated exclusions) via "
                       "exomir.evidence.synthesis.synthesize"))
    retracted = [s.id for s in studies if "RETRACTED" in _flags(s)]
    if retracted:
        sec.blocks.append(Warning_(
            f"Retracted: {', '.join(retracted)}. Never pooled and never used as interaction or "
            "cargo evidence; listed for transparency only.", severity="critical"))
    for w in syn.warnings:
        sec.blocks.append(Warning_(w, severity="caution"))

    # exomir's own pooling: main population, then labelled subgroups.
    pools = [syn.main, *syn.subgroups]
    for pool in pools:
        if pool.kind == "meta-analysis" and pool.result is not None:
            r = pool.result.to_dict()
            sec.blocks.append(TableBlock(
                f"{pool.label}: random-effects meta-analysis of {syn.outcome} ({syn.measure}, "
                f"REML; k = {pool.k} studies)",
                ["k", "estimate", "ci_lb", "ci_ub", "pi_lb", "pi_ub", "tau2", "i2 (%)", "pval"],
                [[r["k"], r["estimate"], r["ci_lb"], r["ci_ub"], r.get("pi_lb"), r.get("pi_ub"),
                  r["tau2"], r["i2"], r["pval"]]],
                provenance="exomir.evidence.synthesis.synthesize (arm_table -> escalc -> rma)"))
            with tempfile.TemporaryDirectory() as tmp, style(10):
                path = forest(pool.result, Path(tmp) / "forest.svg", measure=syn.measure,
                              title=f"{syn.outcome}: {pool.label}")
                svg = Path(path).read_text(encoding="utf-8")
            fname = "evidence_forest.svg" if pool is syn.main else \
                f"evidence_forest_subgroup{syn.subgroups.index(pool) + 1}.svg"
            sec.blocks.append(Figure(f"Forest plot ({pool.label})", fname, svg,
                                     provenance="exomir.evidence.plots.forest",
                                     caption="Squares: comparisons (area ~ weight); diamond: "
                                             "pooled REML estimate; bar: 95 % prediction "
                                             "interval."))
        elif pool.kind == "single study":
            sec.blocks.append(TableBlock(
                f"{pool.label}: a single study ({pool.studies[0]}), not a meta-analysis",
                ["study", "treatment", "control", "day", f"{syn.measure}", "95 % CI"],
                [[c["label"], c["treatment"], c["control"], c["timepoint_days"], c["yi"],
                  f"{c['ci_lb']:.3g} to {c['ci_ub']:.3g}"] for c in pool.comparisons],
                provenance="exomir.evidence.synthesis.synthesize (escalc per comparison)",
                note="Each comparison with its own CI; comparisons of one study share its "
                     "control arm and are not pooled."))
        if pool.kind != "none":
            left = pool.table.report()
            sec.blocks.append(TextBlock(
                f"{pool.label}: {left['studies_pooled']} of {left['studies_considered']} "
                f"studies have arm-level numbers for '{syn.outcome}' "
                f"({left['comparisons']} comparisons); the others report no arm-level mean/SD "
                "or median/IQR in the text read. No missing SD or n was filled by assumption."))

    # Published syntheses, a separate evidence type.
    if syn.published:
        sec.blocks.append(TableBlock(
            "Published syntheses (as reported; not mixed into exomir's pooling)",
            ["review", "population", "intervention", "outcome", "measure", "estimate",
             "95 % CI", "k", "I² (%)", "source", "url"],
            [[p.citation, p.population, p.intervention, p.outcome, p.measure, p.estimate,
              (f"{p.ci_lb:g} to {p.ci_ub:g}" if p.ci_lb is not None and p.ci_ub is not None
               else "NR"), p.k, p.i2, p.source.key or "", p.source.link or ""]
             for p in syn.published], links={"source": "url"},
            provenance="exomir.kb.KnowledgeBase.syntheses"))
    elif syn.published_note:
        sec.blocks.append(TextBlock(syn.published_note))

    # Evidence gaps: vehicles and routes with no curated study.
    counts = {r.value: 0 for r in Route}
    for s in studies:
        if s.delivery.route:
            counts[s.delivery.route.value] += 1
    unreported = sum(1 for s in studies if s.delivery.route is None)
    gaps = [k for k, v in counts.items() if v == 0]
    sec.data["route_counts"] = counts
    sec.data["gaps"] = gaps
    sec.blocks.append(TableBlock(
        "Studies by route or vehicle", ["route/vehicle", "studies"],
        [[k, v] for k, v in sorted(counts.items(), key=lambda kv: -kv[1]) if v]
        + [["not reported", unreported]], provenance="count over Study.delivery.route"))
    if gaps:
        sec.blocks.append(Warning_(
            "Evidence gaps: no curated study for " + ", ".join(gaps)
            + f"; {unreported} studies do not report the route.", severity="info"))

    # The listing itself, folded, with every flag.
    rows = [[s.id, _flags(s) or "—", s.citation, s.product.source_cell or "NR",
             "; ".join(c.name for c in s.cargo) or (s.cargo_text or "NR")[:60],
             ";".join(s.target_genes) or "NR",
             s.delivery.route.value if s.delivery.route else "NR",
             s.subject.species.value if s.subject.species else "NR",
             s.confidence.value if s.confidence else "NR",
             s.source.key or "", s.source.link or "", bool(s.exclusions)] for s in studies]
    sec.blocks.append(TableBlock(
        f"Curated studies for {spec.indication.value} ({len(studies)}; flagged rows greyed)",
        ["id", "flags", "study", "exosome source", "cargo", "targets", "route/vehicle",
         "species", "confidence", "source", "url", "_excluded"], rows, links={"source": "url"},
        provenance="exomir.kb.KnowledgeBase.studies(indication=...) with "
                   "exomir.core.gates.flags", collapsed=True))
    sec.data["studies"] = [r[0] for r in rows]
    sec.data["flags"] = {r[0]: r[1] for r in rows if r[1] != "—"}
    if kb is not None:
        block, prov = database_block(kb)
        sec.blocks.append(block)
        sec.data["database"] = prov
    # Kept for readers of the older report.json layout.
    main = syn.main
    sec.data["pooled"] = main.result.to_dict() if main.result is not None else None
    sec.data["pooled_kind"] = main.kind
    return sec
