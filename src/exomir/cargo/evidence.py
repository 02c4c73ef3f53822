"""Merge validated (curated, knowledge base, miRTarBase) and predicted miRNA-target interactions.

Evidence levels follow miRTarBase: ``strong`` (reporter assay, western blot, qPCR), ``weak``
(high-throughput or a target named without checked validation), ``predicted`` (seed sites).
For a miRNA-gene pair the strongest level wins; every source is kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from exomir.core.enums import EvidenceLevel
from exomir.core.errors import InputError
from exomir.core.models import MirnaTargetInteraction, Source

LEVEL_RANK = {"strong": 0, "weak": 1, "predicted": 2}
COLUMNS = ["mirna", "gene", "evidence", "sources", "context_score", "n_sites"]


@cache
def _curated() -> dict[str, Any]:
    text = resources.files("exomir.cargo").joinpath("data/curated_interactions.yaml").read_text()
    return dict(yaml.safe_load(text))


def curated_mature() -> dict[str, str]:
    """Mature sequences (miRBase 22) of the curated miRNAs: name -> RNA sequence."""
    return {k: v["sequence"] for k, v in _curated()["mature"].items()}


def curated_interactions() -> list[MirnaTargetInteraction]:
    """Interactions shipped with exomir (studies.csv rows and landmark validation papers)."""
    out = []
    for r in _curated()["interactions"]:
        src = r["source"]
        doi = src.split("doi:")[1].split(";")[0].strip() if "doi:" in src else None
        out.append(MirnaTargetInteraction(
            mirna=r["mirna"], gene=r["gene"], evidence=EvidenceLevel(r["evidence"]),
            method=r.get("method"), study_id=r.get("study_id"),
            source=Source(doi=doi, citation=src)))
    return out


def kb_interactions() -> list[MirnaTargetInteraction]:
    """Validated interactions from the exomir knowledge base, or [] when it is not installed."""
    try:
        from exomir.kb import open_kb  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return []
    return list(open_kb().interactions())


def read_mirtarbase(path: str | Path, prefix: str = "hsa") -> list[MirnaTargetInteraction]:
    """miRTarBase pairs for one species (by miRNA name prefix).

    Accepts the redistributed strong-pairs table (columns miRNA, Gene: all strong) or a full
    miRTarBase export with ``Support Type`` (Functional MTI -> strong, Functional MTI (Weak)
    -> weak, Non-Functional MTI dropped) and ``Species (miRNA)``.
    """
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", source=p)
    try:
        # the redistributed table has an unnamed leading row-index column: pandas makes it
        # the index because the header is one field shorter than the rows
        df = pd.read_csv(p, sep="\t", dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read as a tab-separated table: {exc}", source=p) from None
    fields = list(df.columns)
    if "miRNA" not in fields or not ({"Gene", "Target Gene"} & set(fields)):
        raise InputError("miRTarBase table needs columns 'miRNA' and 'Gene' (or 'Target Gene')",
                         source=p, line=1, value=",".join(fields)[:80])
    gcol = "Gene" if "Gene" in fields else "Target Gene"
    sup = df["Support Type"] if "Support Type" in fields else pd.Series([""] * len(df))
    out = []
    for n, (mir, gene, support) in enumerate(zip(df["miRNA"], df[gcol], sup, strict=True), 2):
        mir, gene, support = mir.strip(), gene.strip(), str(support).strip()
        if not mir or not gene or not mir.lower().startswith(prefix + "-"):
            continue
        mir = prefix + mir[len(prefix):]  # 'Hsa-miR-21-5p' -> 'hsa-miR-21-5p'
        if support.startswith("Non-Functional"):
            continue
        level = "weak" if "Weak" in support else "strong"
        out.append(MirnaTargetInteraction(
            mirna=mir, gene=gene.upper(), evidence=EvidenceLevel(level),
            method=support or "strong evidence (reporter/western/qPCR)",
            source=Source(citation=f"miRTarBase ({p.name}, line {n}); Huang 2022 "
                          "doi:10.1093/nar/gkab1079", doi="10.1093/nar/gkab1079")))
    return out


def merge(validated: Iterable[MirnaTargetInteraction],
          predicted: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per (miRNA, gene): strongest evidence, all sources, predicted context++ score.

    ``predicted``: output of :func:`exomir.cargo.context.combine_pairs` (mirna, target,
    n_sites, context_score).
    """
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for it in validated:
        key = (it.mirna, it.gene.upper())
        lvl = str(it.evidence.value if hasattr(it.evidence, "value") else it.evidence)
        src = it.source.citation or it.source.doi or it.source.url or ""
        if it.study_id:
            src = f"{it.study_id}: {src}"
        r = rows.setdefault(key, {"mirna": key[0], "gene": key[1], "evidence": lvl,
                                  "sources": [], "context_score": float("nan"), "n_sites": 0})
        if LEVEL_RANK[lvl] < LEVEL_RANK[r["evidence"]]:
            r["evidence"] = lvl
        if src and src not in r["sources"]:
            r["sources"].append(src)
    if predicted is not None and len(predicted):
        preds: Any = predicted.itertuples(index=False)
        for p in preds:
            key = (str(p.mirna), str(p.target).upper())
            r = rows.setdefault(key, {"mirna": key[0], "gene": key[1], "evidence": "predicted",
                                      "sources": [], "context_score": float("nan"),
                                      "n_sites": 0})
            r["context_score"] = float(p.context_score)
            r["n_sites"] = int(p.n_sites)
            if "context++ (exomir scan)" not in r["sources"]:
                r["sources"].append("context++ (exomir scan)")
    return pd.DataFrame(list(rows.values()), columns=COLUMNS)
