"""Evidence gates: which uses of a study each curated exclusion bars.

One table, read by every capability (knowledge-base listings, ``evidence meta``, cargo
ranking, the design report), so a retracted study is kept out everywhere by the same rule.

Uses (:class:`~exomir.core.enums.EvidenceUse`):

* ``pooling``: exomir's own meta-analysis of arm-level outcomes;
* ``interactions``: the study's miRNA-target pairs as interaction evidence;
* ``ranking``: the study as evidence that a miRNA should be delivered or inhibited for the
  study's indication (cargo ranking and its direction of effect).

Verdicts: ``exclude`` (not used), ``subgroup`` (pooled only in an explicitly labelled
subgroup, never in the main estimate), ``use``.
"""

from __future__ import annotations

from typing import Literal

from exomir.core.enums import EvidenceUse, ExclusionReason
from exomir.core.models import Exclusion, Study

Verdict = Literal["use", "subgroup", "exclude"]

_X: Verdict = "exclude"
EFFECTS: dict[ExclusionReason, dict[EvidenceUse, Verdict]] = {
    ExclusionReason.RETRACTED: {EvidenceUse.POOLING: _X, EvidenceUse.INTERACTIONS: _X,
                                EvidenceUse.RANKING: _X},
    ExclusionReason.DUPLICATE_PUBLICATION: {EvidenceUse.POOLING: _X},
    ExclusionReason.NO_CONTROL_ARM: {EvidenceUse.POOLING: _X},
    ExclusionReason.POPULATION_MISMATCH: {EvidenceUse.POOLING: "subgroup",
                                          EvidenceUse.RANKING: _X},
    ExclusionReason.NOT_INDICATION_ENDPOINT: {EvidenceUse.POOLING: _X,
                                              EvidenceUse.RANKING: _X},
    ExclusionReason.NOT_MIRNA_DRIVEN: {EvidenceUse.RANKING: _X},
    ExclusionReason.BIOMARKER_ONLY: {EvidenceUse.POOLING: _X, EvidenceUse.RANKING: _X},
    ExclusionReason.IN_VITRO_ONLY: {EvidenceUse.POOLING: _X},
    ExclusionReason.REFERENCE_ONLY: {EvidenceUse.RANKING: _X},
}

# Short labels for listings; RETRACTED in capitals so no table can hide it.
LABELS: dict[ExclusionReason, str] = {
    ExclusionReason.RETRACTED: "RETRACTED",
    ExclusionReason.DUPLICATE_PUBLICATION: "duplicate publication",
    ExclusionReason.NO_CONTROL_ARM: "no control arm",
    ExclusionReason.POPULATION_MISMATCH: "population mismatch",
    ExclusionReason.NOT_INDICATION_ENDPOINT: "not an endpoint of the indication",
    ExclusionReason.NOT_MIRNA_DRIVEN: "effect not miRNA-driven",
    ExclusionReason.BIOMARKER_ONLY: "biomarker/profiling only",
    ExclusionReason.IN_VITRO_ONLY: "in vitro only",
    ExclusionReason.REFERENCE_ONLY: "reference only (not cargo evidence)",
}

_RANK: dict[Verdict, int] = {"use": 0, "subgroup": 1, "exclude": 2}


def effect(reason: ExclusionReason, use: EvidenceUse) -> Verdict:
    """What one exclusion reason means for one use."""
    return EFFECTS[reason].get(use, "use")


def verdict(study: Study, use: str | EvidenceUse) -> Verdict:
    """The strictest verdict of the study's exclusions for ``use``."""
    u = EvidenceUse.parse(use, field="use") if not isinstance(use, EvidenceUse) else use
    out: Verdict = "use"
    for e in study.exclusions:
        v = effect(e.reason, u)
        if _RANK[v] > _RANK[out]:
            out = v
    return out


def barring(study: Study, use: str | EvidenceUse) -> list[Exclusion]:
    """The exclusions that give ``use`` a verdict other than ``use`` (strictest first)."""
    u = EvidenceUse.parse(use, field="use") if not isinstance(use, EvidenceUse) else use
    hits = [e for e in study.exclusions if effect(e.reason, u) != "use"]
    return sorted(hits, key=lambda e: -_RANK[effect(e.reason, u)])


def is_retracted(study: Study) -> bool:
    return any(e.reason == ExclusionReason.RETRACTED for e in study.exclusions)


def flags(study: Study) -> list[str]:
    """Short labels of every exclusion, retracted first (for listings)."""
    order = sorted(study.exclusions, key=lambda e: e.reason != ExclusionReason.RETRACTED)
    return list(dict.fromkeys(LABELS[e.reason] for e in order))


def explain(e: Exclusion) -> str:
    """One line: label, detail and source key or URL."""
    src = ""
    if e.source is not None:
        src = e.source.key or e.source.url or e.source.citation or ""
    return f"{LABELS[e.reason]}: {e.detail}" + (f" [{src}]" if src else "")
