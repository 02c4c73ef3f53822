"""Merge validated (curated, knowledge base, miRTarBase) and predicted miRNA-target interactions.

Evidence levels follow miRTarBase: ``strong`` (reporter assay, western blot, qPCR), ``weak``
(high-throughput or a target named without checked validation), ``predicted`` (seed sites).
For a miRNA-gene pair the strongest level wins; every source is kept.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from exomir.core.enums import EvidenceLevel
from exomir.core.errors import InputError
from exomir.core.mirna import MirnaName, parse_mirna_name
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
    """miRTarBase interactions for one species, read by :func:`exomir.formats.read_mirtarbase`
    (strong-pairs tables and the official release layout; non-functional MTIs dropped)."""
    from exomir.formats import read_mirtarbase as _read

    return list(_read(Path(path), species=prefix))


def canonical_name(name: str, prefix: str, known: Collection[str]) -> str:
    """The miRNA's name in species ``prefix`` when that mature miRNA is known.

    Unprefixed study names (``miR-146a-5p``) and orthologs of other species
    (``mmu-miR-21a-5p``, ``rno-miR-150-5p``) map to the ``prefix`` entry with the same number,
    paralog letter and arm (trying the letter-less and ``a`` spellings, as mouse ``miR-21a`` is
    human ``miR-21``); names without a known counterpart are kept as they are.
    """
    try:
        n = parse_mirna_name(name)
    except InputError:
        return name
    if n.prefix == prefix or n.arm is None:
        return name
    letters = [n.letter] + ([None] if n.letter == "a" else ["a"] if n.letter is None else [])
    for letter in letters:
        cand = str(MirnaName(prefix, n.kind, n.number, letter, n.paralog, n.arm))
        if cand in known:
            return cand
    return name


def gather(mirtarbase: Path | None = None, prefix: str = "hsa",
           extra_mature: dict[str, str] | None = None,
           predicted: pd.DataFrame | None = None) -> tuple[pd.DataFrame, dict[str, str]]:
    """Validated interactions (curated, knowledge base, optional miRTarBase) merged with
    predictions, names unified to species ``prefix``; returns (interactions, mature seqs)."""
    validated = curated_interactions() + kb_interactions()
    if mirtarbase is not None:
        validated += read_mirtarbase(mirtarbase, prefix=prefix)
    mature = curated_mature()
    try:
        from exomir.kb import open_kb

        mature.update({m.name: m.sequence for m in open_kb().mature_mirnas()})
    except ImportError:  # pragma: no cover - kb is part of the package
        pass
    mature.update(extra_mature or {})
    return merge(validated, predicted, prefix=prefix, known=set(mature)), mature


def merge(validated: Iterable[MirnaTargetInteraction],
          predicted: pd.DataFrame | None = None, *, prefix: str | None = None,
          known: Collection[str] = ()) -> pd.DataFrame:
    """One row per (miRNA, gene): strongest evidence, all sources, predicted context++ score.

    ``predicted``: output of :func:`exomir.cargo.context.combine_pairs` (mirna, target,
    n_sites, context_score). With ``prefix``, validated names are unified to that species
    (:func:`canonical_name`) so one miRNA is not ranked twice under two spellings.
    """
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for it in validated:
        name = canonical_name(it.mirna, prefix, known) if prefix else it.mirna
        key = (name, it.gene.upper())
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
