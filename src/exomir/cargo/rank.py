"""Rank miRNAs and miRNA combinations (cargo sets) for an indication profile.

Repression of gene g by miRNA m, r(m, g) in [0, 1] (exomir assumption, documented in
docs/cargo.md): strong evidence 1.0, weak 0.5, predicted only ``1 - 2**context_score`` (the
fraction of mRNA lost at the predicted log2 fold change; 0.1 if no score). For a set S the
miRNAs act independently: ``R_S(g) = 1 - prod_m (1 - r(m, g))``.

score(S) = sum_{g in repress} w_g R_S(g) - sum_{g in spare} w_g R_S(g)
           - off_target_weight * sum_{g not in profile} R_S(g)

Direction of effect (docs/cargo.md): a miRNA whose indication studies support inhibiting it
enters as an inhibitor (antagomiR/sponge), which relieves its repression of its targets, so
its terms change sign: de-repressing a gene to spare is a benefit, de-repressing a gene to
repress a harm; mimics and inhibitors are combined per gene as separate coverage terms,
``sum_g s_g w_g [R_mimic(g) - R_inhibitor(g)]`` with s_g = +1 (repress), -1 (spare), and the
off-target penalty applies to both. Genes whose direction the curated studies contradict
(``contested`` in the profile) score 0 and are reported.

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

from exomir.core.enums import Indication, TherapeuticDirection
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
    modality: dict[str, str] = field(default_factory=dict)  # miRNA -> mimic | inhibitor

    @property
    def label(self) -> str:
        """``hsa-miR-146a-5p mimic + hsa-miR-16-5p inhibitor``."""
        return " + ".join(f"{m} {self.modality.get(m, MIMIC)}" for m in self.mirnas)

    def to_dict(self) -> dict[str, Any]:
        return {"mirnas": list(self.mirnas), "label": self.label,
                "modality": {m: self.modality.get(m, MIMIC) for m in self.mirnas},
                "score": round(self.score, 4),
                "benefit": round(self.benefit, 4), "spare_penalty": round(self.spare_penalty, 4),
                "off_target_penalty": round(self.off_target_penalty, 4),
                "n_off_targets": self.n_off_targets, "method": self.method,
                "motifs": self.motifs, "contributions": self.contributions}


MIMIC, INHIBITOR = "mimic", "inhibitor"


class _Model:
    def __init__(self, interactions: pd.DataFrame, prof: dict[str, Any],
                 off_target_weight: float, modalities: dict[str, str] | None = None) -> None:
        self.weights: dict[str, tuple[str, float, str]] = {}
        for role in ("repress", "spare"):
            for g in prof.get(role, []):
                self.weights[g["gene"].upper()] = (role, float(g["weight"]), g.get("why", ""))
        for g in prof.get("contested", []):
            self.weights[g["gene"].upper()] = ("contested", 0.0, g.get("why", ""))
        self.modality = dict(modalities or {})
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

    def sign(self, m: str) -> int:
        """+1 for a mimic (represses its targets), -1 for an inhibitor (de-represses them)."""
        return -1 if self.modality.get(m) == INHIBITOR else 1

    def evaluate(self, mirnas: tuple[str, ...], explain: bool = False) -> Candidate:
        genes: dict[str, list[tuple[str, float, str, str]]] = {}
        for m in mirnas:
            for g, (rr, ev, src) in self.r.get(m, {}).items():
                genes.setdefault(g, []).append((m, rr, ev, src))
        benefit = spare = off = 0.0
        n_off = 0
        contrib: list[dict[str, Any]] = []
        for g, hits in genes.items():
            role, w, why = self.weights.get(g, ("off-target", self.off_w, ""))
            parts = {}
            for sgn in (1, -1):
                rs = [h[1] for h in hits if self.sign(h[0]) == sgn]
                parts[sgn] = 1.0 - float(np.prod([1.0 - r for r in rs])) if rs else 0.0
            c = 0.0
            if role in ("repress", "spare"):
                s_g = 1.0 if role == "repress" else -1.0
                for sgn, cover in parts.items():
                    term = s_g * sgn * w * cover
                    c += term
                    if term >= 0:
                        benefit += term
                    else:
                        spare -= term
            elif role == "off-target":
                cover = parts[1] + parts[-1]
                c = -self.off_w * cover
                off += self.off_w * cover
                n_off += 1
            if explain and role != "off-target":
                contrib.append({"gene": g, "role": role, "weight": w,
                                "repression": round(parts[1], 3),
                                "derepression": round(parts[-1], 3),
                                "contribution": round(c, 4),
                                "by": [{"mirna": h[0], "modality": self.modality.get(h[0], MIMIC),
                                        "evidence": h[2], "r": round(h[1], 3), "source": h[3]}
                                       for h in hits], "why": why})
        contrib.sort(key=lambda d: -abs(d["contribution"]))
        return Candidate(mirnas, benefit - spare - off, benefit, spare, off, n_off, contrib,
                         modality={m: self.modality.get(m, MIMIC) for m in mirnas})


def _top_exact(model: _Model, cands: list[str], size: int, top: int,
               batch: int = 2048) -> list[tuple[str, ...]]:
    """Exhaustive scoring of all ``size``-subsets of ``cands``, vectorised in batches."""
    # one column per (gene, mimic|inhibitor): the two coverage terms of a gene are separate
    cols = sorted({(g, model.sign(m)) for m in cands for g in model.r[m]})
    gi = {c: i for i, c in enumerate(cols)}
    keep = np.ones((len(cands), len(cols)))  # 1 - r(m, g)
    for i, m in enumerate(cands):
        for g, (rr, _, _) in model.r[m].items():
            keep[i, gi[(g, model.sign(m))]] = 1.0 - rr

    def weight(g: str, sgn: int) -> float:
        role, w, _ = model.weights.get(g, ("off-target", model.off_w, ""))
        if role == "repress":
            return sgn * w
        if role == "spare":
            return -sgn * w
        if role == "contested":
            return 0.0
        return -model.off_w

    w = np.array([weight(g, sgn) for g, sgn in cols])
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
               max_exact: int = 200_000, top: int = 10,
               modalities: dict[str, str] | None = None,
               candidates: set[str] | None = None) -> dict[int, list[Candidate]]:
    """Best cargo sets of each size 1..k; see module docstring for the objective.

    ``interactions``: :func:`exomir.cargo.evidence.merge` output. ``modalities``: miRNA ->
    ``mimic`` (default) or ``inhibitor``. ``candidates``: restrict the miRNAs that may enter
    a set (default: every miRNA whose own direction can benefit a profile gene).
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
    model = _Model(interactions, prof, off_target_weight, modalities)
    repress = {g["gene"].upper() for g in prof.get("repress", [])}
    spare = {g["gene"].upper() for g in prof.get("spare", [])}
    cands = sorted(m for m, d in model.r.items()
                   if (candidates is None or m in candidates)
                   and (repress if model.sign(m) > 0 else spare) & set(d))
    if not cands:
        raise InputError("no miRNA in the interaction data acts on any intended target of "
                         "this indication (repression by a mimic, or de-repression of a gene "
                         "to spare by an inhibitor)", field="indication", value=indication)
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


# ---------------------------------------------------------------------------------------------
# The indication-level ranking: gated, name-unified evidence, direction of effect as data.
@dataclass
class CargoRanking:
    """A ranking with everything that shaped it (see :func:`rank_for_indication`)."""

    indication: str
    candidates: dict[int, list[Candidate]]
    modality: dict[str, str]  # miRNA -> mimic | inhibitor, for every eligible miRNA
    direction_evidence: dict[str, dict[str, list[str]]]  # miRNA -> direction -> study ids
    kept_out: list[dict[str, str]]  # miRNAs not ranked: mirna, reason
    interactions_kept_out: list[dict[str, str]]  # gated interactions: mirna, gene, study...
    names: dict[str, Any]  # NameReport.to_dict(): merged forms, notes, unresolved
    provenance: dict[str, Any]
    settings: dict[str, Any]

    def best(self, size: int = 1) -> Candidate:
        return self.candidates[size][0]

    def merged_forms(self, mirnas: tuple[str, ...] | list[str]) -> dict[str, list[str]]:
        """Name forms of the evidence merged into each of ``mirnas``."""
        merged = self.names.get("merged", {})
        return {m: list(merged.get(m, [])) for m in mirnas}

    def to_dict(self) -> dict[str, Any]:
        return {"indication": self.indication,
                "candidates": {str(k): [c.to_dict() | {"merged_forms": self.merged_forms(
                    c.mirnas)} for c in v] for k, v in self.candidates.items()},
                "modality": self.modality, "direction_evidence": self.direction_evidence,
                "kept_out": self.kept_out, "interactions_kept_out": self.interactions_kept_out,
                "names": self.names, "provenance": self.provenance, "settings": self.settings}


def rank_for_indication(
    indication: str,
    k: int = 1,
    *,
    kb: Any = None,
    mirtarbase: Any = None,
    predicted: pd.DataFrame | None = None,
    extra_mature: dict[str, str] | None = None,
    prefix: str = "hsa",
    require_direction: bool = True,
    allow_passenger: bool = False,
    off_target_weight: float = 0.01,
    max_exact: int = 200_000,
    top: int = 10,
) -> CargoRanking:
    """Rank cargo for an indication from gated, name-unified evidence.

    * Interactions of studies barred for interaction or ranking evidence are left out
      (:func:`exomir.cargo.evidence.cargo_evidence`), as are names whose arm is unresolved.
    * Direction: a miRNA is proposed as a mimic only when the indication's studies (passing
      the gates) support delivering it, as an inhibitor only when they support inhibiting it;
      conflicting evidence keeps it out. ``require_direction=False`` also admits miRNAs with
      no such study as mimics by target profile alone (labelled a hypothesis).
    * A passenger (minor-arm) strand is not ranked unless an indication study names that arm
      with a direction (``allow_passenger=True`` lifts this).

    ``kb``: the knowledge base (default ``open_kb()``; ``exomir.kb.embedded()`` for the shipped
    dataset only).
    """
    from exomir.cargo.evidence import arm_calls, cargo_evidence, direction_of
    from exomir.core.mirna import family_key, parse_mirna_name

    ind = Indication.parse(indication, field="indication").value
    ev = cargo_evidence(ind, kb=kb, mirtarbase=mirtarbase, prefix=prefix,
                        extra_mature=extra_mature, predicted=predicted)
    calls = arm_calls(prefix)
    modality: dict[str, str] = {}
    kept_out: list[dict[str, str]] = []
    for m in sorted(set(ev.interactions["mirna"])):
        d = direction_of(ev.directions, m)
        if d == "conflict":
            dv = ev.directions[m]
            kept_out.append({"mirna": m, "reason": "conflicting direction evidence: deliver "
                             f"({', '.join(dv['deliver'])}) vs inhibit "
                             f"({', '.join(dv['inhibit'])})"})
            continue
        try:
            name = parse_mirna_name(m)
        except InputError:
            name = None
        call = calls.get(family_key(name)) if name is not None else None
        if (name is not None and name.arm and call is not None and call.dominant
                and name.arm != call.dominant and d is None and not allow_passenger):
            kept_out.append({"mirna": m, "reason": f"passenger strand: -{name.arm} is the minor "
                             f"arm of {call.family} (dominant -{call.dominant}; {call.note}); "
                             "no study of this indication gives evidence for this arm"})
            continue
        if d is None:
            if require_direction:
                gated = ev.directions_gated.get(m)
                why = ("no study of this indication that passes the gates supports delivering "
                       "or inhibiting it")
                if gated:
                    why += " (gated studies: " + ", ".join(
                        f"{k} {', '.join(v)}" for k, v in gated.items()) + ")"
                kept_out.append({"mirna": m, "reason": why})
                continue
            modality[m] = MIMIC
        else:
            modality[m] = MIMIC if d == TherapeuticDirection.DELIVER else INHIBITOR
    frame = ev.interactions[ev.interactions["mirna"].isin(set(modality))]
    res = rank_cargo(frame, ind, k=k, mature=ev.mature, off_target_weight=off_target_weight,
                     max_exact=max_exact, top=top, modalities=modality,
                     candidates=set(modality))
    return CargoRanking(
        indication=ind, candidates=res, modality=modality,
        direction_evidence={m: ev.directions.get(m, {}) for m in modality},
        kept_out=kept_out, interactions_kept_out=ev.kept_out, names=ev.names.to_dict(),
        provenance=ev.provenance,
        settings={"k": k, "prefix": prefix, "require_direction": require_direction,
                  "allow_passenger": allow_passenger, "off_target_weight": off_target_weight,
                  "mirtarbase": str(mirtarbase) if mirtarbase else None})
