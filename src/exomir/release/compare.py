"""Model-independent comparison of two release profiles: f1, f2, bootstrap f2 and MDT.

With R_j, T_j the mean percent released of reference and test at the n shared time points:

* difference factor f1 = 100 sum|R_j - T_j| / sum R_j (Moore & Flanner 1996, Pharm Technol
  20:64; FDA 1997);
* similarity factor f2 = 50 log10(100 / sqrt(1 + sum (R_j - T_j)^2 / n)); f2 >= 50 means the
  mean difference is <= 10 percentage points: "similar".

Regulatory conditions checked and reported (FDA 1997 Guidance for Industry, Dissolution
Testing of Immediate Release Solid Oral Dosage Forms; EMA 2010 Guideline on the Investigation
of Bioequivalence, CPMP/EWP/QWP/1401/98 Rev. 1, Appendix I):

1. the same time points for both profiles (only shared points are used);
2. at least 3 time points, time zero excluded;
3. not more than one mean value above 85 % for either product: points after the first one
   at which either product exceeds 85 % are dropped (EMA; FDA counts after 85 % of both);
4. with replicates: CV < 20 % at the earliest time point and < 10 % at later points;
5. 12 units per product are required for a regulatory claim (reported, not enforced).

Bootstrap f2 (Shah VP et al. 1998 Pharm Res 15:889, doi:10.1023/A:1011976615750): replicate
units of each product are resampled with replacement, f2 recomputed on the resampled means;
the 90 % percentile interval is reported, similarity if its lower bound is >= 50.

Mean dissolution time MDT = sum t_mid,j dM_j / sum dM_j over sampling intervals (Costa &
Sousa Lobo 2001 doi:10.1016/S0928-0987(01)00095-1 eq. 27), with F(0) = 0 assumed when the
first time point is after zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from exomir.core.errors import InputError
from exomir.release.io import ReleaseData

LIMIT_85 = 85.0
#: Fewest sampling times after zero a profile needs to be compared (FDA 1997 condition).
MIN_POINTS = 3


def f1_factor(reference_pct: npt.ArrayLike, test_pct: npt.ArrayLike) -> float:
    """Difference factor f1 (percent) from mean percent released at the same times."""
    r = np.asarray(reference_pct, dtype=float)
    t = np.asarray(test_pct, dtype=float)
    _same_shape(r, t)
    return float(100.0 * np.sum(np.abs(r - t)) / np.sum(r))


def f2_factor(reference_pct: npt.ArrayLike, test_pct: npt.ArrayLike) -> float:
    """Similarity factor f2 from mean percent released at the same times."""
    r = np.asarray(reference_pct, dtype=float)
    t = np.asarray(test_pct, dtype=float)
    _same_shape(r, t)
    return float(50.0 * np.log10(100.0 / np.sqrt(1.0 + np.mean((r - t) ** 2))))


def _same_shape(r: np.ndarray, t: np.ndarray) -> None:
    if r.shape != t.shape or r.size == 0:
        raise InputError("profiles must have the same non-empty time points",
                         field="released", value=f"{r.size} vs {t.size}",
                         accepted="equal numbers of time points")


def mean_dissolution_time(t: npt.ArrayLike, released: npt.ArrayLike) -> float:
    """MDT (time units of ``t``) from a cumulative curve; F(0) = 0 prepended if t[0] > 0."""
    tt = np.asarray(t, dtype=float)
    ff = np.asarray(released, dtype=float)
    if tt[0] > 0:
        tt = np.concatenate([[0.0], tt])
        ff = np.concatenate([[0.0], ff])
    dm = np.diff(ff)
    if np.sum(dm) <= 0:
        return float("nan")
    tmid = 0.5 * (tt[1:] + tt[:-1])
    return float(np.sum(tmid * dm) / np.sum(dm))


@dataclass
class Condition:
    """One regulatory condition for using f2."""

    name: str
    passed: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"condition": self.name, "passed": self.passed, "detail": self.detail}


@dataclass
class Comparison:
    """f1/f2 comparison of a reference (A) and a test (B) profile."""

    times_days: np.ndarray
    reference_pct: np.ndarray
    test_pct: np.ndarray
    f1: float
    f2: float
    f2_all_points: float
    conditions: list[Condition]
    mdt_reference_days: float
    mdt_test_days: float
    bootstrap_ci90: tuple[float, float] | None = None
    bootstrap_note: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def conditions_met(self) -> bool:
        return all(c.passed for c in self.conditions)

    @property
    def similar(self) -> bool:
        return self.f2 >= 50.0

    def conclusion(self) -> str:
        base = f"f2 = {self.f2:.1f} ({'>=' if self.similar else '<'} 50: " \
               f"{'similar' if self.similar else 'not similar'})"
        if self.bootstrap_ci90 is not None:
            lo = self.bootstrap_ci90[0]
            base += f"; bootstrap 90% CI lower bound {lo:.1f} " \
                    f"({'>=' if lo >= 50 else '<'} 50)"
        if not self.conditions_met:
            failed = ", ".join(c.name for c in self.conditions if not c.passed)
            base += f"; f2 conditions NOT met ({failed}): f2 is descriptive only"
        return base

    def to_dict(self) -> dict[str, Any]:
        return {
            "times_days": self.times_days.tolist(), "reference_pct": self.reference_pct.tolist(),
            "test_pct": self.test_pct.tolist(), "f1": self.f1, "f2": self.f2,
            "f2_all_shared_points": self.f2_all_points,
            "bootstrap_f2_ci90": list(self.bootstrap_ci90) if self.bootstrap_ci90 else None,
            "bootstrap_note": self.bootstrap_note, "similar": self.similar,
            "conditions_met": self.conditions_met,
            "conditions": [c.to_dict() for c in self.conditions],
            "mdt_reference_days": self.mdt_reference_days, "mdt_test_days": self.mdt_test_days,
            "conclusion": self.conclusion(), "notes": self.notes,
        }


def _points_used(r: np.ndarray, t: np.ndarray) -> int:
    """Number of leading points kept: up to and incl. the first where either exceeds 85 %."""
    over = np.nonzero((r > LIMIT_85) | (t > LIMIT_85))[0]
    return int(over[0]) + 1 if over.size else r.size


def bootstrap_f2(ref_units: np.ndarray, test_units: np.ndarray, *, n_boot: int = 1000,
                 seed: int = 0) -> np.ndarray:
    """f2 of resampled unit means (units x times matrices in percent), ``n_boot`` draws."""
    rng = np.random.default_rng(seed)
    ir = rng.integers(0, ref_units.shape[0], size=(n_boot, ref_units.shape[0]))
    it = rng.integers(0, test_units.shape[0], size=(n_boot, test_units.shape[0]))
    mr = ref_units[ir].mean(axis=1)
    mt = test_units[it].mean(axis=1)
    return np.asarray(50.0 * np.log10(100.0 / np.sqrt(1.0 + np.mean((mr - mt) ** 2, axis=1))))


def compare_profiles(reference: ReleaseData, test: ReleaseData, *, n_boot: int = 1000,
                     seed: int = 0) -> Comparison:
    """f1, f2 (with conditions), bootstrap f2 CI and MDT for two release curves."""
    tr, mr, _ = reference.mean_curve()
    tt, mt, _ = test.mean_curve()
    for d, ts in ((reference, tr), (test, tt)):
        n_after = int((ts > 0).sum())
        if n_after < MIN_POINTS:
            raise InputError(f"a profile needs at least {MIN_POINTS} time points after zero "
                             f"to be compared (this one has {n_after})", source=d.source,
                             field="time", accepted=f">= {MIN_POINTS} sampling times after t = 0"
                             " (FDA 1997 / EMA 2010 f2 conditions)")
    shared = np.intersect1d(np.round(tr, 9), np.round(tt, 9))
    shared = shared[shared > 0]
    conds: list[Condition] = []
    same = tr[tr > 0].size == tt[tt > 0].size == shared.size
    conds.append(Condition("same time points", same,
                           "identical" if same else
                           f"{shared.size} shared of {tr.size} / {tt.size}; shared points used"))
    ri = np.searchsorted(np.round(tr, 9), shared)
    ti = np.searchsorted(np.round(tt, 9), shared)
    r_all = 100.0 * mr[ri]
    t_all = 100.0 * mt[ti]
    if shared.size < 1:
        raise InputError("the two profiles share no time point after zero",
                         source=f"{reference.source} vs {test.source}", field="time",
                         accepted="the same sampling times in both files")
    k = _points_used(r_all, t_all)
    conds.append(Condition(
        "at most one mean > 85 % per product", True,
        f"{k} of {shared.size} points used (later points dropped)" if k < shared.size
        else "no point dropped"))
    conds.append(Condition(">= 3 time points (t > 0)", k >= 3, f"{k} points used"))
    notes: list[str] = []
    r_use, t_use = r_all[:k], t_all[:k]
    f2 = f2_factor(r_use, t_use)
    f1 = f1_factor(r_use, t_use)
    mats = [d.replicate_matrix() for d in (reference, test)]
    boot: tuple[float, float] | None = None
    bnote = ""
    if all(m is not None for m in mats):
        units = []
        for (ts_m, mat), d in zip(mats, (reference, test), strict=True):  # type: ignore[misc]
            idx = np.searchsorted(np.round(ts_m, 9), shared[:k])
            units.append(100.0 * mat[:, idx])
            if mat.shape[0] < 2:
                conds.append(Condition(f"CV < 20 % first point, < 10 % later ({d.source})",
                                       False, "one unit only: CV not defined"))
            else:
                cv = 100.0 * mat[:, idx].std(axis=0, ddof=1) / np.maximum(
                    mat[:, idx].mean(axis=0), 1e-12)
                ok = bool(cv[0] < 20.0 and np.all(cv[1:] < 10.0))
                conds.append(Condition(
                    f"CV < 20 % first point, < 10 % later ({d.source})", ok,
                    "CV % = " + ", ".join(f"{c:.1f}" for c in cv)))
            if mat.shape[0] < 12:
                notes.append(f"{d.source}: {mat.shape[0]} units; 12 per product are required "
                             "for a regulatory f2 claim (FDA 1997)")
        if min(u.shape[0] for u in units) >= 3:
            draws = bootstrap_f2(units[0], units[1], n_boot=n_boot, seed=seed)
            boot = (float(np.percentile(draws, 5)), float(np.percentile(draws, 95)))
            bnote = f"{n_boot} resamples of units (Shah 1998), 90% percentile interval"
        else:
            bnote = "bootstrap needs >= 3 replicate units per product"
    else:
        bnote = "no complete replicate column: CV condition and bootstrap not evaluated"
        notes.append(bnote)
    return Comparison(
        times_days=shared[:k], reference_pct=r_use, test_pct=t_use, f1=f1, f2=f2,
        f2_all_points=f2_factor(r_all, t_all), conditions=conds,
        mdt_reference_days=mean_dissolution_time(tr, mr),
        mdt_test_days=mean_dissolution_time(tt, mt), bootstrap_ci90=boot, bootstrap_note=bnote,
        notes=notes)
