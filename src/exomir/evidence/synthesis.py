"""Gated evidence synthesis for an indication: what was pooled, what was kept out and why.

The curated exclusions (:mod:`exomir.core.gates`) decide each study's place before any
number is computed:

* ``exclude`` for pooling (retracted, duplicate publication, no control arm, not an endpoint
  of the indication, biomarker-only, in vitro only): kept out, with the reason and source;
* ``subgroup`` (population mismatch, e.g. a non-diabetic wound model for diabetic wounds):
  pooled only in an explicitly labelled subgroup, never in the main estimate;
* ``use``: the main analysis of the indication's population.

Then the arm-level rules of :func:`exomir.evidence.arms.arm_table` apply (reported numbers
only). A pool of one study is reported as a single study (its comparisons' effect sizes with
CIs), not as a meta-analysis; k < 3 studies carries a warning (tau^2 and I^2 are not
estimable with any precision). Published syntheses (systematic reviews' pooled estimates,
:class:`~exomir.core.PublishedSynthesis`) are reported next to exomir's own pooling, never
mixed into it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from exomir.core.enums import EvidenceUse, Indication
from exomir.core.gates import LABELS, barring, explain, verdict
from exomir.core.models import PublishedSynthesis, Study
from exomir.evidence.arms import ArmTable, arm_table
from exomir.evidence.effects import escalc
from exomir.evidence.meta import MetaResult, rma

# The main outcome pooled for each indication, as stored in ArmOutcome.measure.
MAIN_OUTCOME = {Indication.DIABETIC_WOUND: "wound_closure",
                Indication.NEUROPATHIC_PAIN: "paw_withdrawal_threshold"}
FEW_STUDIES = 3  # k below this carries a warning

# Said when no published synthesis could be sourced (never an invented number).
NO_PUBLISHED = {
    Indication.NEUROPATHIC_PAIN:
        "No published preclinical meta-analysis of EVs/exosomes in neuropathic pain with a "
        "pooled estimate could be sourced (searched: systematic reviews and meta-analyses of "
        "EV/exosome therapy in rodent neuropathic pain; found narrative reviews and "
        "meta-analyses of MSC cells, not EVs). None is shown.",
}

Kind = Literal["meta-analysis", "single study", "none"]


@dataclass
class Pool:
    """One pooled analysis (the main one or a labelled subgroup)."""

    label: str
    kind: Kind
    studies: list[str]
    table: ArmTable
    result: MetaResult | None = None
    comparisons: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def k(self) -> int:
        return len(self.studies)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"label": self.label, "kind": self.kind, "k": self.k,
                               "studies": self.studies, "comparisons": self.comparisons,
                               "warnings": self.warnings,
                               "left_out": self.table.report()["left_out"],
                               "notes": self.table.notes}
        if self.result is not None:
            out["result"] = self.result.to_dict()
        return out


@dataclass
class EvidenceSynthesis:
    """What was pooled, what was kept out and why, and the published syntheses."""

    indication: Indication
    outcome: str
    measure: str
    considered: list[str]
    main: Pool
    subgroups: list[Pool]
    kept_out: list[dict[str, str]]
    published: list[PublishedSynthesis]
    published_note: str | None
    warnings: list[str] = field(default_factory=list)

    def headline(self) -> str:
        """One paragraph a report can open the evidence section with."""
        ind = self.indication.value.replace("_", " ")
        m = self.main
        if m.kind == "meta-analysis" and m.result is not None:
            r = m.result
            head = (f"{m.k} {ind} studies pooled ({self.measure} {r.estimate:.2f}, 95 % CI "
                    f"{r.ci_lb:.2f} to {r.ci_ub:.2f}, I² {r.i2:.0f} %)")
        elif m.kind == "single study":
            head = (f"one {ind} study with usable arm-level data ({m.studies[0]}): a single "
                    "study, not a meta-analysis")
        else:
            head = f"no {ind} study with usable arm-level data passes the gates"
        parts = [head]
        gated = sorted({x["study"] for x in self.kept_out if x["gate"] == "exclude"})
        if gated:
            parts.append(f"{len(gated)} kept out by curated exclusions ({', '.join(gated)})")
        for sg in self.subgroups:
            if sg.k:
                parts.append(f"{sg.label}: {sg.k} study(ies) reported separately as a "
                             f"{sg.kind}")
        if self.published:
            ests = ", ".join(f"{p.estimate:g}" for p in self.published)
            parts.append(f"{len(self.published)} published meta-analyses ({self.measure} "
                         f"{ests}) shown alongside")
        elif self.published_note:
            parts.append("no published meta-analysis sourced")
        return "; ".join(parts) + "."

    def to_dict(self) -> dict[str, Any]:
        return {"indication": self.indication.value, "outcome": self.outcome,
                "measure": self.measure, "headline": self.headline(),
                "studies_considered": self.considered, "main": self.main.to_dict(),
                "subgroups": [s.to_dict() for s in self.subgroups],
                "kept_out": self.kept_out,
                "published": [p.model_dump(mode="json", exclude_none=True)
                              for p in self.published],
                "published_note": self.published_note, "warnings": self.warnings}


def _pool(label: str, table: ArmTable, measure: str, method: str, test: str,
          level: float) -> Pool:
    data = table.data
    if data.empty:
        return Pool(label, "none", [], table)
    studies = list(dict.fromkeys(str(s) for s in data["study_id"]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        es = escalc(measure, data)
        comps = []
        z = _z(level)
        for (_, row), y, v in zip(data.iterrows(), es["yi"], es["vi"], strict=True):
            se = math.sqrt(float(v))
            comps.append({"study": str(row["study_id"]), "label": str(row["study"]),
                          "treatment": str(row["treatment"]), "control": str(row["control"]),
                          "timepoint_days": row["timepoint_days"], "yi": float(y),
                          "vi": float(v), "ci_lb": float(y) - z * se,
                          "ci_ub": float(y) + z * se})
        pool = Pool(label, "single study" if len(studies) == 1 else "meta-analysis", studies,
                    table, comparisons=comps)
        if len(studies) == 1:
            pool.warnings.append(
                f"k = 1 ({studies[0]}): a single study, not a meta-analysis; its "
                f"{len(comps)} comparison(s) are shown with their own CIs and not pooled")
        else:
            pool.result = rma(es["yi"], es["vi"], method=method, test=test, level=level,
                              slab=es["study"].astype(str).tolist())
            if len(studies) < FEW_STUDIES:
                pool.warnings.append(
                    f"k = {len(studies)} < {FEW_STUDIES} studies: tau² and I² cannot be "
                    "estimated with any precision; read the pooled estimate as descriptive")
    pool.warnings += [str(w.message) for w in caught]
    return pool


def _z(level: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(0.5 + level / 200.0))


def synthesize(
    studies: Sequence[Study],
    indication: str | Indication,
    outcome: str | None = None,
    *,
    timepoint_days: float | None = None,
    impute_sd: bool = False,
    measure: str = "SMD",
    method: str = "REML",
    test: str = "z",
    level: float = 95.0,
    published: Sequence[PublishedSynthesis] = (),
) -> EvidenceSynthesis:
    """Gate, pool and report the evidence of one indication (see module docstring).

    ``studies``: any studies (those of other indications are ignored). ``outcome`` defaults
    to :data:`MAIN_OUTCOME` of the indication. ``published``: systematic reviews to show next
    to the pooling (those of the indication are kept).
    """
    ind = indication if isinstance(indication, Indication) else Indication.parse(
        indication, field="indication")
    outcome = outcome or MAIN_OUTCOME[ind]
    mine = [s for s in studies if s.indication == ind]
    main: list[Study] = []
    groups: dict[str, list[Study]] = {}
    kept_out: list[dict[str, str]] = []
    for s in mine:
        v = verdict(s, EvidenceUse.POOLING)
        reasons = barring(s, EvidenceUse.POOLING)
        if v == "use":
            main.append(s)
            continue
        e = reasons[0]
        kept_out.append({"study": s.id, "gate": v, "reason": e.reason.value,
                         "label": LABELS[e.reason], "detail": explain(e),
                         "source": (e.source.key or e.source.url or "") if e.source else ""})
        if v == "subgroup":
            label = (f"subgroup: {LABELS[e.reason]} (not the "
                     f"{ind.value.replace('_', ' ')} population)")
            groups.setdefault(label, []).append(s)
    main_pool = _pool(f"main: {ind.value} population", arm_table(
        main, outcome, timepoint_days=timepoint_days, impute_sd=impute_sd), measure, method,
        test, level)
    subs = [_pool(label, arm_table(group, outcome, timepoint_days=timepoint_days,
                                   impute_sd=impute_sd), measure, method, test, level)
            for label, group in sorted(groups.items())]
    pubs = [p for p in published if p.indication == ind]
    syn = EvidenceSynthesis(ind, outcome, measure, [s.id for s in mine], main_pool, subs,
                            kept_out, pubs, None if pubs else NO_PUBLISHED.get(
                                ind, f"no published synthesis recorded for {ind.value}"))
    syn.warnings = list(main_pool.warnings)
    for sg in subs:
        syn.warnings += [f"{sg.label}: {w}" for w in sg.warnings]
    if main_pool.kind == "none":
        syn.warnings.append(f"no pooled estimate for the {ind.value} population: no study "
                            "passing the gates has usable arm-level data for "
                            f"{outcome!r}")
    return syn


def synthesize_kb(kb: Any, indication: str | Indication, outcome: str | None = None,
                  **kwargs: Any) -> EvidenceSynthesis:
    """:func:`synthesize` on a knowledge base (``open_kb()`` or ``embedded()``): its studies
    of the indication and its published syntheses."""
    return synthesize(kb.studies(indication=indication), indication, outcome,
                      published=kb.syntheses(indication), **kwargs)
