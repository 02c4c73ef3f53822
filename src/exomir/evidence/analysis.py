"""Subgroups, meta-regression helpers, sensitivity analyses and small-study-effect tests.

Each function mirrors a metafor function with default arguments:

* :func:`subgroups` - separate models per subgroup and the between-subgroup Q test computed as
  a fixed-effect meta-regression of the subgroup estimates on the subgroup factor (metafor's
  recommended "separate tau^2" approach); :func:`moderator_test` is the common-tau^2 version
  (``rma(yi, vi, mods = ~ factor(g))``, omnibus QM).
* :func:`leave1out` (``leave1out``), :func:`cumulative` (``cumul``, ordered by year).
* :func:`egger` (``regtest``: the model's method with the standard error as moderator),
  :func:`begg` (``ranktest``: Kendall's tau between standardised effects and variances),
  :func:`trimfill` (``trimfill``: L0 estimator, side from the sign of the Egger slope).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

from exomir.core.errors import InputError
from exomir.evidence.meta import MetaResult, MetaWarning, rma


def _design(groups: Sequence[object]) -> tuple[np.ndarray, list[str], list[str]]:
    """Dummy coding of a factor with the first level (sorted) as reference, as R's factor()."""
    labels = [str(g) for g in groups]
    levels = sorted(set(labels))
    if len(levels) < 2:
        raise InputError("a subgroup variable needs at least two levels", field="by",
                         value=levels[0] if levels else None)
    X = np.array([[1.0 if lab == lev else 0.0 for lev in levels[1:]] for lab in labels])
    return X, levels, [f"{lev}" for lev in levels[1:]]


@dataclass
class SubgroupResult:
    """Per-subgroup models and the test of subgroup differences."""

    by: str
    groups: dict[str, MetaResult]
    q_between: float
    q_between_df: int
    q_between_pval: float
    overall: MetaResult
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "by": self.by,
            "overall": self.overall.to_dict(),
            "subgroups": {g: r.to_dict() for g, r in self.groups.items()},
            "test_of_subgroup_differences": {
                "q": self.q_between, "df": self.q_between_df, "pval": self.q_between_pval,
                "model": "fixed-effect meta-regression of subgroup estimates (separate tau2)",
            },
            "notes": self.notes,
        }


def subgroups(
    yi: ArrayLike,
    vi: ArrayLike,
    groups: Sequence[object],
    *,
    method: str = "REML",
    test: str = "z",
    slab: Sequence[str] | None = None,
    by: str = "subgroup",
    level: float = 95.0,
) -> SubgroupResult:
    """Fit a model per subgroup and test the difference between subgroup estimates.

    Q_between is the QM statistic of ``rma(est_g, se_g^2, mods = ~ factor(g), method="FE")``
    over the subgroup estimates (equivalently the Q of their fixed-effect pooling), chi-square
    with G - 1 df. Subgroups with one study are fitted with tau^2 = 0 (metafor's k = 1 rule).
    """
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    labels = [str(g) for g in groups]
    if len(labels) != y.size:
        raise InputError(f"{len(labels)} group labels for {y.size} studies", field="by")
    sl = [str(s) for s in slab] if slab is not None else [str(i + 1) for i in range(y.size)]
    levels = sorted(set(labels))
    if len(levels) < 2:
        raise InputError("a subgroup variable needs at least two levels", field=by,
                         value=levels[0] if levels else None)
    fits: dict[str, MetaResult] = {}
    notes: list[str] = []
    for lev in levels:
        idx = [i for i, g in enumerate(labels) if g == lev]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MetaWarning)
            fits[lev] = rma(y[idx], v[idx], method=method, test=test if len(idx) > 1 else "z",
                            slab=[sl[i] for i in idx], level=level)
        if len(idx) == 1:
            notes.append(f"subgroup {lev!r} has one study (tau2 = 0, z test)")
    est = np.array([fits[g].estimate for g in levels])
    se2 = np.array([fits[g].se ** 2 for g in levels])
    Xg, _, names = _design(levels)
    between = rma(est, se2, method="FE", mods=Xg, mod_names=names, slab=levels, tau2_ci=False)
    assert between.qm is not None
    overall = rma(y, v, method=method, test=test, slab=sl, level=level)
    return SubgroupResult(by=by, groups=fits, q_between=between.qm,
                          q_between_df=len(levels) - 1,
                          q_between_pval=float(stats.chi2.sf(between.qm, len(levels) - 1)),
                          overall=overall, notes=notes)


def moderator_test(
    yi: ArrayLike,
    vi: ArrayLike,
    groups: Sequence[object],
    *,
    method: str = "REML",
    test: str = "z",
    slab: Sequence[str] | None = None,
) -> MetaResult:
    """Mixed-effects model with a categorical moderator (common tau^2): ``mods = ~ factor(g)``."""
    X, _, names = _design(groups)
    return rma(yi, vi, mods=X, mod_names=names, method=method, test=test, slab=slab)


def meta_regression(
    data: pd.DataFrame,
    moderators: Sequence[str],
    *,
    method: str = "REML",
    test: str = "z",
    slab: str = "study",
) -> MetaResult:
    """Meta-regression on numeric moderator columns (``rma(yi, vi, mods = ~ x1 + x2)``).

    Non-numeric moderator columns are dummy coded with the first sorted level as reference.
    Rows with a missing moderator are dropped with a warning naming them.
    """
    if not moderators:
        raise InputError("name at least one moderator column", field="moderators")
    missing = [m for m in moderators if m not in data.columns]
    if missing:
        raise InputError("moderator column not found", field="moderators",
                         value=", ".join(missing), accepted=list(map(str, data.columns)))
    df = data.copy()
    na = df[list(moderators)].isna().any(axis=1)
    if na.any():
        names = df.loc[na, slab].astype(str).tolist() if slab in df.columns else []
        warnings.warn(f"{int(na.sum())} row(s) dropped for missing moderators: "
                      f"{', '.join(names)}", MetaWarning, stacklevel=2)
        df = df.loc[~na].reset_index(drop=True)
    cols: list[np.ndarray] = []
    names_out: list[str] = []
    for m in moderators:
        num = pd.to_numeric(df[m], errors="coerce")
        if num.notna().all():
            cols.append(num.to_numpy(dtype=float)[:, None])
            names_out.append(m)
        else:
            X, _, lev_names = _design(df[m].tolist())
            cols.append(X)
            names_out.extend(f"{m}{n}" for n in lev_names)
    mods = np.column_stack(cols)
    return rma(df["yi"], df["vi"], mods=mods, mod_names=names_out, method=method, test=test,
               slab=df[slab].astype(str).tolist() if slab in df.columns else None)


def r2_meta(full: MetaResult, method: str | None = None) -> float:
    """Pseudo R^2 (percent of tau^2 explained): max(0, 100 (tau2_0 - tau2) / tau2_0) (metafor)."""
    null = rma(full.yi, full.vi, method=method or full.method, tau2_ci=False)
    if null.tau2 <= 0:
        return 0.0
    return max(0.0, 100.0 * (null.tau2 - full.tau2) / null.tau2)


def _sensitivity_frame(fits: list[MetaResult], labels: list[str]) -> pd.DataFrame:
    return pd.DataFrame({
        "study": labels,
        "estimate": [f.estimate for f in fits],
        "se": [f.se for f in fits],
        "zval": [f.zval for f in fits],
        "pval": [f.pval for f in fits],
        "ci_lb": [f.ci_lb for f in fits],
        "ci_ub": [f.ci_ub for f in fits],
        "q": [f.q for f in fits],
        "q_pval": [f.q_pval for f in fits],
        "tau2": [f.tau2 for f in fits],
        "i2": [f.i2 for f in fits],
        "h2": [f.h2 for f in fits],
    })


def leave1out(res: MetaResult) -> pd.DataFrame:
    """The model refitted without each study in turn (metafor ``leave1out``); one row each."""
    if not res.int_only:
        raise InputError("leave-one-out is for models without moderators", field="mods")
    if res.k < 2:
        raise InputError("leave-one-out needs k >= 2", field="k", value=res.k)
    fits = []
    idx = np.arange(res.k)
    for i in range(res.k):
        keep = idx != i
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MetaWarning)
            fits.append(rma(res.yi[keep], res.vi[keep], method=res.method, test=res.test,
                            level=res.level, tau2_ci=False))
    return _sensitivity_frame(fits, res.slab)


def cumulative(res: MetaResult, order: Sequence[float] | None = None) -> pd.DataFrame:
    """Cumulative meta-analysis adding studies in ``order`` (e.g. year; metafor ``cumul``).

    Ties keep the input order (stable sort); the first row is the first study alone.
    """
    if not res.int_only:
        raise InputError("cumulative meta-analysis is for models without moderators",
                         field="mods")
    o = np.arange(res.k) if order is None else np.argsort(np.asarray(order, dtype=float),
                                                          kind="stable")
    fits = []
    for j in range(1, res.k + 1):
        sel = o[:j]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MetaWarning)
            fits.append(rma(res.yi[sel], res.vi[sel], method=res.method, test=res.test,
                            level=res.level, tau2_ci=False))
    return _sensitivity_frame(fits, [res.slab[i] for i in o])


@dataclass(frozen=True)
class TestResult:
    """A small-study-effect test: statistic, p-value and (for Egger) the limit estimate."""

    name: str
    statistic: float
    pval: float
    df: int | None = None
    estimate: float | None = None
    ci_lb: float | None = None
    ci_ub: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


def egger(res: MetaResult) -> TestResult:
    """Egger's regression test (Egger 1997) as metafor's ``regtest`` default.

    Refits the model with the standard error sqrt(vi) as moderator (same method and test);
    the statistic is the z (or t) value of that slope. ``estimate`` is the intercept: the
    limit effect as SE -> 0.
    """
    if not res.int_only:
        raise InputError("Egger's test here is for models without moderators", field="mods")
    if res.k < 3:
        raise InputError("Egger's test needs k >= 3", field="k", value=res.k)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MetaWarning)
        fit = rma(res.yi, res.vi, mods=np.sqrt(res.vi), mod_names=["sei"], method=res.method,
                  test=res.test, level=res.level, tau2_ci=False)
    return TestResult("egger", float(fit.stat[1]), float(fit.pvals[1]), df=fit.ddf,
                      estimate=float(fit.beta[0]), ci_lb=float(fit.ci_lbs[0]),
                      ci_ub=float(fit.ci_ubs[0]))


def begg(res: MetaResult) -> TestResult:
    """Begg & Mazumdar (1994) rank correlation test as metafor's ``ranktest``.

    Kendall's tau between the standardised effects (y_i - theta_FE)/sqrt(v_i - 1/sum w) and
    the variances v_i; exact p-value without ties, normal approximation (tau-b) with ties.
    """
    y, v = res.yi, res.vi
    if res.k < 3:
        raise InputError("the rank correlation test needs k >= 3", field="k", value=res.k)
    w = 1.0 / v
    theta = float(np.sum(w * y) / np.sum(w))
    ys = (y - theta) / np.sqrt(v - 1.0 / np.sum(w))
    ties = len(set(ys.tolist())) < ys.size or len(set(v.tolist())) < v.size
    r = stats.kendalltau(ys, v, method="asymptotic" if ties else "exact")
    return TestResult("begg", float(r.statistic), float(r.pvalue))


@dataclass
class TrimFillResult:
    """Trim-and-fill: the number of filled studies, their values and the refitted model."""

    k0: int
    se_k0: float
    side: str
    filled_yi: np.ndarray
    filled_vi: np.ndarray
    fit: MetaResult

    def to_dict(self) -> dict[str, Any]:
        return {"k0": self.k0, "se_k0": self.se_k0, "side": self.side,
                "filled": [{"yi": float(a), "vi": float(b)}
                           for a, b in zip(self.filled_yi, self.filled_vi, strict=True)],
                "adjusted": self.fit.to_dict()}


def trimfill(res: MetaResult, side: str | None = None, maxiter: int = 100) -> TrimFillResult:
    """Trim-and-fill (Duval & Tweedie 2000) with the L0 estimator, as metafor's ``trimfill``.

    The side to fill is opposite to the asymmetry, judged by the sign of the slope of
    ``rma(yi, vi, mods = sqrt(vi))`` (negative slope: fill on the right). Iteratively trims the
    k0 most extreme studies, re-estimates the centre, and recomputes
    k0 = round((4 S_r - k (k + 1)) / (2k - 1)) from the Wilcoxon signed-rank sum S_r of the
    centred effects. The filled studies mirror the k0 trimmed ones about the final centre.
    The refit uses the model's tau^2 method with a z test (metafor's default).
    """
    if not res.int_only:
        raise InputError("trim-and-fill is for models without moderators", field="mods")
    if res.k < 3:
        raise InputError("trim-and-fill needs k >= 3", field="k", value=res.k)
    y0, v0 = res.yi, res.vi
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MetaWarning)
        if side is None:
            slope = rma(y0, v0, mods=np.sqrt(v0), method=res.method, tau2_ci=False).beta[1]
            side = "right" if slope < 0 else "left"
        if side not in ("left", "right"):
            raise InputError("side must be left or right", field="side", value=side,
                             accepted=("left", "right"))
        y = -y0 if side == "right" else y0.copy()
        ix = np.argsort(y, kind="stable")
        y = y[ix]
        v = v0[ix]
        k = y.size
        k0, k0_prev, it = 0, -1, 0
        beta = 0.0
        se_k0 = 0.0
        while k0 != k0_prev:
            k0_prev = k0
            it += 1
            if it > maxiter:
                raise InputError("trim and fill did not converge", field="maxiter", value=maxiter)
            beta = rma(y[: k - k0], v[: k - k0], method=res.method, tau2_ci=False).estimate
            yc = y - beta
            ranks = stats.rankdata(np.abs(yc), method="ordinal")
            sr = float(np.sum(ranks[yc > 0]))
            k0f = (4 * sr - k * (k + 1)) / (2 * k - 1)
            var_sr = (k * (k + 1) * (2 * k + 1) + 10 * k0f**3 + 27 * k0f**2 + 17 * k0f
                      - 18 * k * k0f**2 - 18 * k * k0f + 6 * k * k * k0f) / 24
            se_k0 = max(0.0, 4 * float(np.sqrt(max(var_sr, 0.0))) / (2 * k - 1))
            k0 = max(0, int(_round_half_even(k0f)))
        if k0 > 0:
            yc = y - beta
            yc = -(yc - beta) if side == "right" else yc - beta
            fill_y = -yc[k - k0:]
            fill_v = v[k - k0:]
            fit = rma(np.concatenate([y0, fill_y]), np.concatenate([v0, fill_v]),
                      method=res.method, level=res.level,
                      slab=[*res.slab, *[f"Filled {i + 1}" for i in range(k0)]])
        else:
            fill_y = np.array([])
            fill_v = np.array([])
            fit = res
    return TrimFillResult(k0=k0, se_k0=se_k0, side=side, filled_yi=fill_y, filled_vi=fill_v,
                          fit=fit)


def _round_half_even(x: float) -> float:
    """R's round(): IEC 60559 round half to even, as numpy."""
    return float(np.round(x))
