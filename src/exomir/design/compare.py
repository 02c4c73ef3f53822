"""Comparing candidates without false winners: paired differences, a minimal important
difference, and ties called ties.

For candidates A and B simulated on the same subjects, the paired difference of the headline
outcome is ``d_i = y_A,i - y_B,i`` (higher is better for both outcomes: wound closure %, paw
withdrawal threshold g). A is **better** than B only when

* the 90 % band of d (5th-95th percentile over subjects; and, once computed, over parameter
  uncertainty) lies above zero, and
* the median of d is at least the minimal important difference (MID);

otherwise the two are **indistinguishable**. The recommended set is every candidate that no
other candidate beats; it is independent of the candidates' order, and when it holds more than
one candidate the answer is "indistinguishable", never a pick by list order or ``max()``.

MID: the spec's ``minimal_important_difference`` (value and source) when given. Otherwise
no published MID for preclinical wound closure or von Frey thresholds was found, so exomir
uses the half-standard-deviation rule (MID ~ 0.5 SD of the outcome between subjects; Norman,
Sloan & Wyrwich 2003, doi:10.1097/01.MLR.0000062554.74615.4C: 0.495 SD, SD 0.155, over 62
MID estimates) applied to the untreated arm's between-subject SD at the headline day. It is an
**assumption** transferred from quality-of-life instruments, with the range 0.2-0.8 SD (mean
+/- 2 SD of those estimates); the report says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from exomir.design.spec import DesignSpec

HALF_SD_RULE = 0.5
HALF_SD_RANGE = (0.2, 0.8)
HALF_SD_SOURCE = ("half-SD rule, Norman, Sloan & Wyrwich 2003 "
                  "doi:10.1097/01.MLR.0000062554.74615.4C (MID ~ 0.5 SD over 62 estimates)")
BAND = (5.0, 95.0)  # the 90 % band of a paired difference


@dataclass
class MID:
    """Minimal important difference of the headline outcome."""

    value: float
    unit: str
    source: str
    assumption: bool
    low: float | None = None
    high: float | None = None
    basis: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def minimal_important_difference(spec: DesignSpec, untreated: np.ndarray, unit: str) -> MID:
    """The spec's MID, or 0.5 SD of the untreated outcome between subjects (assumption)."""
    if spec.minimal_important_difference is not None:
        m = spec.minimal_important_difference
        return MID(m.value, unit, m.source, assumption=False, basis="given in the spec")
    sd = float(np.std(untreated, ddof=1)) if untreated.size > 1 else 0.0
    return MID(HALF_SD_RULE * sd, unit, HALF_SD_SOURCE, assumption=True,
               low=HALF_SD_RANGE[0] * sd, high=HALF_SD_RANGE[1] * sd,
               basis=f"0.5 x between-subject SD of the untreated outcome ({sd:.3g} {unit})")


def paired(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Median and 90 % band of the per-subject difference a - b."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    lo, hi = np.percentile(d, BAND)
    return {"median": float(np.median(d)), "p05": float(lo), "p95": float(hi),
            "share_a_better": float(np.mean(d > 0))}


def verdict(d: Mapping[str, float], mid: float) -> str:
    """``better`` (a over b), ``worse`` or ``indistinguishable`` for a paired difference."""
    if d["p05"] > 0 and d["median"] >= mid:
        return "better"
    if d["p95"] < 0 and -d["median"] >= mid:
        return "worse"
    return "indistinguishable"


def why(d: Mapping[str, float], mid: float) -> str:
    if d["p05"] <= 0 <= d["p95"]:
        return "its 90 % band spans zero"
    if abs(d["median"]) < mid:
        return f"the median difference is below the minimal important difference ({mid:.3g})"
    return "the band lies on one side of zero and exceeds the minimal important difference"


@dataclass
class Ranking:
    recommended: list[str]  # not beaten by any other candidate (sorted by name, any case)
    pairs: list[dict[str, Any]]  # every ordered comparison, by name
    beaten_by: dict[str, list[str]]

    @property
    def tie(self) -> bool:
        return len(self.recommended) > 1

    def to_dict(self) -> dict[str, Any]:
        return {"recommended": self.recommended, "tie": self.tie, "pairs": self.pairs,
                "beaten_by": self.beaten_by}


def rank(outcomes: Mapping[str, np.ndarray], mid: float,
         uncertainty: Mapping[tuple[str, str], Mapping[str, float]] | None = None) -> Ranking:
    """Which candidates no other beats, from per-subject outcomes of paired arms.

    ``uncertainty`` (optional, from global uncertainty analysis): for a pair (a, b), the 90 %
    band of the difference over parameter uncertainty; a pair counts as separated only when
    both the variability band and the uncertainty band exclude zero.
    """
    names = sorted(outcomes, key=lambda n: (n.lower(), n))
    diffs: dict[tuple[str, str], dict[str, float]] = {}
    beaten: dict[str, list[str]] = {n: [] for n in names}
    for a in names:
        for b in names:
            if a == b:
                continue
            d = diffs[(a, b)] = paired(outcomes[a], outcomes[b])
            separated = verdict(d, mid) == "better"
            if separated and uncertainty and (a, b) in uncertainty:
                separated = uncertainty[(a, b)]["p05"] > 0
            if separated:
                beaten[b].append(a)
    pairs = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            v = ("better" if a in beaten[b] else "worse" if b in beaten[a]
                 else "indistinguishable")
            d = diffs[(a, b)]
            reason = why(d, mid)
            if v == "indistinguishable" and verdict(d, mid) != "indistinguishable":
                reason = "its band over parameter uncertainty spans zero"
            pairs.append({"a": a, "b": b, "difference": d, "verdict": v, "why": reason,
                          **({"uncertainty": dict(uncertainty[(a, b)])}
                             if uncertainty and (a, b) in uncertainty else {})})
    top = [n for n in names if not beaten[n]] or list(names)  # a cycle: nobody stands out
    return Ranking(recommended=top, pairs=pairs, beaten_by=beaten)
