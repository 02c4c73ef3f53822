"""Rank miRNAs and miRNA combinations (cargo sets) for an indication profile.

Repression of gene g by miRNA m, r(m, g) in [0, 1] (exomir assumption, documented in
docs/cargo.md): strong evidence 1.0, weak 0.5, predicted only ``1 - 2**context_score`` (the
fraction of mRNA lost at the predicted log2 fold change; 0.1 if no score). For a set S the
miRNAs act independently: ``R_S(g) = 1 - prod_m (1 - r(m, g))``.

score(S) = sum_{g in repress} w_g R_S(g) - sum_{g in spare} w_g R_S(g)
           - off_target_weight * sum_{g not in profile} R_S(g)

Sets of size <= k are enumerated exactly while the number of combinations stays below
``max_exact`` (default 200,000); beyond that a greedy forward selection adds, at each step,
the miRNA with the largest score gain (a (1 - 1/e) approximation for the monotone submodular
coverage part; the penalties make it a heuristic).

Loading hint: the hnRNPA2B1-bound EXOmotif GGAG in the mature sequence (Villarroya-Beltri
2013, doi:10.1038/ncomms3980) is reported per miRNA; it is not part of the score.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import yaml

from exomir.core.enums import Indication
from exomir.core.errors import InputError

EVIDENCE_REPRESSION = {"strong": 1.0, "weak": 0.5}
PREDICTED_DEFAULT = 0.1
EXOMOTIFS = {"GGAG": "hnRNPA2B1 EXOmotif (Villarroya-Beltri 2013 doi:10.1038/ncomms3980)"}


@cache
def profiles() -> dict[str, Any]:
    """All indication profiles (package data ``data/indications.yaml``)."""
    text = resources.files("exomir.cargo").joinpath("data/indications.yaml").read_text()
    return dict(yaml.safe_load(text))


def profile(indication: str) -> dict[str, Any]:
    """The target profile of one indication (InputError lists the accepted names)."""
    ind = Indication.parse(indication, field="indication").value
    p = profiles().get(ind)
    if p is None:
        raise InputError("no target profile for this indication", field="indication",
                         value=indication, accepted=sorted(profiles()))
    return dict(p)


def exosome_motifs(sequence: str) -> list[str]:
    """Known exosome-sorting motifs present in a mature miRNA sequence."""
    s = sequence.upper().replace("T", "U")
    return [m for m in EXOMOTIFS if m in s]


def repression(evidence: str, context_score: float) -> float:
    """r(m, g): 1.0 strong, 0.5 weak, else 1 - 2**context_score (assumption, see module doc)."""
    if evidence in EVIDENCE_REPRESSION:
        return EVIDENCE_REPRESSION[evidence]
    if context_score is None or math.isnan(context_score):
        return PREDICTED_DEFAULT
    return float(1.0 - 2.0 ** min(0.0, context_score))


@dataclass
class Candidate:
    """A ranked cargo set with its per-gene explanation."""

    mirnas: tuple[str, ...]
    score: float
    benefit: float
    spare_penalty: float
    off_target_penalty: float
    n_off_targets: int
    contributions: list[dict[str, Any]] = field(default_factory=list)
    motifs: dict[str, list[str]] = field(default_factory=dict)
    method: str = "exact"

    def to_dict(self) -> dict[str, Any]:
        return {"mirnas": list(self.mirnas), "score": round(self.score, 4),
                "benefit": round(self.benefit, 4), "spare_penalty": round(self.spare_penalty, 4),
                "off_target_penalty": round(self.off_target_penalty, 4),
                "n_off_targets": self.n_off_targets, "method": self.method,
                "motifs": self.motifs, "contributions": self.contributions}


class _Model:
    def __init__(self, interactions: pd.DataFrame, prof: dict[str, Any],
                 off_target_weight: float) -> None:
        self.weights: dict[str, tuple[str, float, str]] = {}
        for role in ("repress", "spare"):
            for g in prof.get(role, []):
                self.weights[g["gene"].upper()] = (role, float(g["weight"]), g.get("why", ""))
        self.off_w = off_target_weight
        self.r: dict[str, dict[str, tuple[float, str, str]]] = {}
        records: Any = interactions.itertuples(index=False)
        for it in records:
            rr = repression(str(it.evidence), float(it.context_score))
            srcs = "; ".join(it.sources) if isinstance(it.sources, list) else str(it.sources)
            d = self.r.setdefault(str(it.mirna), {})
            prev = d.get(str(it.gene))
            if prev is None or rr > prev[0]:
                d[str(it.gene)] = (rr, str(it.evidence), srcs)

    def evaluate(self, mirnas: tuple[str, ...], explain: bool = False) -> Candidate:
        genes: dict[str, list[tuple[str, float, str, str]]] = {}
        for m in mirnas:
            for g, (rr, ev, src) in self.r.get(m, {}).items():
                genes.setdefault(g, []).append((m, rr, ev, src))
        benefit = spare = off = 0.0
        n_off = 0
        contrib: list[dict[str, Any]] = []
        for g, hits in genes.items():
            total = 1.0 - float(np.prod([1.0 - h[1] for h in hits]))
            role, w, why = self.weights.get(g, ("off-target", self.off_w, ""))
            if role == "repress":
                c = w * total
                benefit += c
            elif role == "spare":
                c = -w * total
                spare += w * total
            else:
                c = -self.off_w * total
                off += self.off_w * total
                n_off += 1
            if explain and role != "off-target":
                contrib.append({"gene": g, "role": role, "weight": w,
                                "repression": round(total, 3), "contribution": round(c, 4),
                                "by": [{"mirna": h[0], "evidence": h[2], "r": round(h[1], 3),
                                        "source": h[3]} for h in hits], "why": why})
        contrib.sort(key=lambda d: -abs(d["contribution"]))
        return Candidate(mirnas, benefit - spare - off, benefit, spare, off, n_off, contrib)


def _top_exact(model: _Model, cands: list[str], size: int, top: int,
               batch: int = 2048) -> list[tuple[str, ...]]:
    """Exhaustive scoring of all ``size``-subsets of ``cands``, vectorised in batches."""
    genes = sorted({g for m in cands for g in model.r[m]})
    gi = {g: i for i, g in enumerate(genes)}
    keep = np.ones((len(cands), len(genes)))  # 1 - r(m, g)
    for i, m in enumerate(cands):
        for g, (rr, _, _) in model.r[m].items():
            keep[i, gi[g]] = 1.0 - rr
    w = np.array([model.weights[g][1] if model.weights.get(g, ("", 0, ""))[0] == "repress"
                  else -model.weights[g][1] if g in model.weights else -model.off_w
                  for g in genes])
    scores: list[tuple[float, tuple[str, ...]]] = []
    it = itertools.combinations(range(len(cands)), size)
    while True:
        chunk = np.array(list(itertools.islice(it, batch)), dtype=np.int64)
        if chunk.size == 0:
            break
        prod = np.prod(keep[chunk], axis=1)  # (batch, genes)
        sc = (1.0 - prod) @ w
        for j in np.argsort(-sc, kind="stable")[:top]:
            scores.append((float(sc[j]), tuple(cands[i] for i in chunk[j])))
        scores.sort(key=lambda t: (-t[0], t[1]))
        del scores[top:]
    return [c for _, c in scores]


#: Largest cargo set ranked (miRNAs co-loaded in one product; engineered EVs carry 1-3).
MAX_K = 10


def rank_cargo(interactions: pd.DataFrame, indication: str, k: int = 1,
               mature: dict[str, str] | None = None, off_target_weight: float = 0.01,
               max_exact: int = 200_000, top: int = 10) -> dict[int, list[Candidate]]:
    """Best cargo sets of each size 1..k; see module docstring for the objective.

    ``interactions``: :func:`exomir.cargo.evidence.merge` output.
    Returns {size: [Candidate, ...]} sorted by score (best first), ``top`` per size.
    """
    if not 1 <= k <= MAX_K:
        raise InputError("cargo set size out of range", field="k", value=k,
                         accepted=f"1 to {MAX_K} miRNAs per vesicle product")
    if not 1 <= top <= 1000:
        raise InputError("out of range", field="top", value=top, accepted="1 to 1000")
    if not (math.isfinite(off_target_weight) and 0 <= off_target_weight <= 1e6):
        raise InputError("out of range", field="off_target_weight", value=off_target_weight,
                         accepted="a finite number >= 0")
    prof = profile(indication)
    model = _Model(interactions, prof, off_target_weight)
    targets = {g["gene"].upper() for g in prof.get("repress", [])}
    cands = sorted(m for m, d in model.r.items() if targets & set(d))
    if not cands:
        raise InputError("no miRNA in the interaction data represses any intended target of "
                         "this indication", field="indication", value=indication)
    k = min(k, len(cands))  # a set cannot hold more miRNAs than there are candidates
    out: dict[int, list[Candidate]] = {}
    for size in range(1, k + 1):
        n_comb = math.comb(len(cands), size)
        if n_comb <= max_exact:
            best = [model.evaluate(c, explain=True)
                    for c in _top_exact(model, cands, size, top)]
        else:
            chosen: tuple[str, ...] = ()
            for _ in range(size):
                nxt = max((m for m in cands if m not in chosen),
                          key=lambda m: (model.evaluate((*chosen, m)).score, m))
                chosen = (*chosen, nxt)
            best = [model.evaluate(tuple(sorted(chosen)), explain=True)]
            best[0].method = "greedy"
        for c in best:
            c.motifs = {m: exosome_motifs((mature or {}).get(m, "")) for m in c.mirnas}
        out[size] = best
    return out
