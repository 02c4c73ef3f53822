"""Fixed- and random-effects meta-analysis and meta-regression, equivalent to metafor's ``rma.uni``.

All estimators work on the 1-D tau^2 problem with vectorised numpy over the k studies, so a
model with k = 10,000 studies fits in milliseconds. Notation follows Viechtbauer (2005, 2010):
``y`` effect sizes, ``v`` sampling variances, ``X`` the k x p model matrix (intercept first),
``W = diag(1/(v + tau2))`` and ``P = W - W X (X'WX)^-1 X'W``.

Estimators of tau^2 (see docs/evidence.md for the equations and references):
``FE`` (tau^2 = 0), ``DL`` (DerSimonian & Laird 1986), ``HE`` (Hedges 1983 / Hedges & Olkin),
``SJ`` (Sidik & Jonkman 2005), ``PM`` (Paule & Mandel 1982), ``ML`` and ``REML`` (Viechtbauer
2005; Fisher scoring started at the HE estimate, exactly as metafor, iterated to full precision).
``test="knha"`` is the Knapp & Hartung (2003) adjustment. ``confint_tau2`` is the Q-profile
interval (Viechtbauer 2007).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, stats

from exomir.core.errors import InputError

Method = Literal["FE", "EE", "DL", "HE", "SJ", "PM", "ML", "REML"]
METHODS: tuple[str, ...] = ("FE", "EE", "DL", "HE", "SJ", "PM", "ML", "REML")
TESTS: tuple[str, ...] = ("z", "knha")
FloatArray = NDArray[np.float64]

_EPS = float(np.finfo(float).eps)
_ML_TOL = _EPS**0.25  # metafor's con$tol, used by the ll0 check


class MetaWarning(UserWarning):
    """A condition metafor also warns about (e.g. non-positive sampling variances)."""


# ----------------------------------------------------------------------------------------------
# linear algebra on the weighted model: everything is O(k p^2)
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _WFit:
    """Weighted least squares pieces for weights ``w`` (all derived from P without forming it)."""

    w: FloatArray
    beta: FloatArray
    minv: FloatArray  # (X'WX)^-1
    resid: FloatArray
    rss: float  # y'Py
    tr_p: float
    tr_pp: float
    ypp_y: float  # y'PPy


def _wfit(y: FloatArray, X: FloatArray, w: FloatArray, *, need_traces: bool = True) -> _WFit:
    Xw = X * w[:, None]
    M = X.T @ Xw
    try:
        L = np.linalg.cholesky(M)
    except np.linalg.LinAlgError as exc:  # pragma: no cover - guarded by the rank check
        raise InputError("model matrix is not of full rank; cannot fit the model") from exc
    Linv = np.linalg.inv(L)
    minv = Linv.T @ Linv
    beta = minv @ (Xw.T @ y)
    resid = y - X @ beta
    wr = w * resid
    rss = float(wr @ resid)
    ypp_y = float(wr @ wr)
    tr_p = tr_pp = math.nan
    if need_traces:
        w2 = w * w
        xw2x = X.T @ (X * w2[:, None])
        xw3x = X.T @ (X * (w2 * w)[:, None])
        B = minv @ xw2x
        tr_p = float(w.sum() - np.trace(B))
        tr_pp = float(w2.sum() - 2.0 * np.sum(minv * xw3x) + np.sum(B * B.T))
    return _WFit(w, beta, minv, resid, rss, tr_p, tr_pp, ypp_y)


def _q_at(y: FloatArray, v: FloatArray, X: FloatArray, tau2: float) -> float:
    """Generalised Q statistic y'P(tau2)y (metafor's ``.QE.func`` without the objective)."""
    return _wfit(y, X, 1.0 / (v + tau2), need_traces=False).rss


def _loglik(y: FloatArray, v: FloatArray, X: FloatArray, tau2: float, reml: bool) -> float:
    """(Restricted) log-likelihood as metafor computes it for the ll0 check."""
    k, p = X.shape
    f = _wfit(y, X, 1.0 / (v + tau2), need_traces=False)
    if reml:
        _, logdet = np.linalg.slogdet(np.linalg.inv(f.minv))
        return float(-0.5 * (k - p) * math.log(2 * math.pi) - 0.5 * np.log(v + tau2).sum()
                     - 0.5 * logdet - 0.5 * f.rss)
    return float(-0.5 * k * math.log(2 * math.pi) - 0.5 * np.log(v + tau2).sum() - 0.5 * f.rss)


def _tau2_max(y: FloatArray) -> float:
    """metafor's default upper search bound: max(100, 10 * mad(y)^2)."""
    mad = 1.4826 * float(np.median(np.abs(y - np.median(y))))
    return max(100.0, 10.0 * mad * mad)


# ----------------------------------------------------------------------------------------------
# tau^2 estimators
# ----------------------------------------------------------------------------------------------


def _tau2_he(y: FloatArray, v: FloatArray, X: FloatArray) -> float:
    k, p = X.shape
    f = _wfit(y, X, np.ones(k), need_traces=False)
    # tr(P_ols V) = sum v - tr((X'X)^-1 X'VX)
    tr_pv = float(v.sum() - np.sum(f.minv * (X.T @ (X * v[:, None]))))
    return (f.rss - tr_pv) / (k - p)


def _tau2_dl(y: FloatArray, v: FloatArray, X: FloatArray) -> float:
    k, p = X.shape
    f = _wfit(y, X, 1.0 / v)
    return (f.rss - (k - p)) / f.tr_p


def _tau2_sj(y: FloatArray, v: FloatArray, X: FloatArray) -> float:
    k, p = X.shape
    yc = y - y.mean()
    tau0 = float(yc @ yc) / k
    f = _wfit(y, X, 1.0 / (v + tau0), need_traces=False)
    return tau0 * f.rss / (k - p)


def _tau2_pm(y: FloatArray, v: FloatArray, X: FloatArray) -> float:
    k, p = X.shape
    target = float(k - p)
    if _q_at(y, v, X, 0.0) < target:
        return 0.0
    hi = _tau2_max(y)
    if _q_at(y, v, X, hi) > target:
        raise InputError(f"Paule-Mandel: no root below tau2 = {hi:g}; use another method",
                         field="method", value="PM")
    return float(optimize.brentq(lambda t: _q_at(y, v, X, t) - target, 0.0, hi,
                                 xtol=1e-15, rtol=4 * _EPS, maxiter=500))


def _tau2_fisher(y: FloatArray, v: FloatArray, X: FloatArray, reml: bool,
                 allvipos: bool) -> tuple[float, int]:
    """ML/REML by Fisher scoring on tau^2 (metafor's algorithm, iterated to full precision).

    Start: max(0, HE). Step: REML ``(y'PPy - tr P)/tr(PP)``, ML ``(y'PPy - sum w)/sum w^2``;
    halved while it would leave tau^2 >= 0. When the score at tau^2 = 0 points below zero the
    boundary is the maximum and tau^2 = 0 exactly.
    """
    tau2 = max(0.0, _tau2_he(y, v, X))

    def score(t: float) -> float:
        f = _wfit(y, X, 1.0 / (v + t))
        return (f.ypp_y - f.tr_p) if reml else (f.ypp_y - float(f.w.sum()))

    it = 0
    converged = False
    for it in range(1, 201):  # noqa: B007
        if np.any(v + tau2 <= 0):
            raise InputError("division by zero in the weights: sampling variances of 0 with "
                             "tau2 = 0; use method='HE' or drop the zero-variance studies",
                             field="vi", value=0)
        f = _wfit(y, X, 1.0 / (v + tau2))
        if reml:
            adj = (f.ypp_y - f.tr_p) / f.tr_pp
        else:
            adj = (f.ypp_y - float(f.w.sum())) / float((f.w * f.w).sum())
        if not np.isfinite(adj):
            adj = 0.0
        if tau2 + adj < 0.0:
            if tau2 == 0.0:
                converged = True
                break  # the maximum is on the boundary
            # metafor halves the step; when the score at 0 already points below zero the
            # boundary is the maximum: go there exactly (same limit)
            if allvipos and score(0.0) <= 0.0:
                tau2 = 0.0
                converged = True
                break
            while tau2 + adj < 0.0:
                adj /= 2.0
        new = tau2 + adj
        if abs(new - tau2) <= 1e-13 * max(1.0, abs(tau2)) + 1e-300:
            tau2 = new
            converged = True
            break
        tau2 = new
    if not converged:
        # Fisher scoring can oscillate (metafor then stops with "did not converge"); the
        # score is continuous, so bracket its root and solve it by Brent's method instead.
        if allvipos and score(0.0) <= 0.0:
            tau2 = 0.0
        else:
            lo = 0.0
            hi = max(1e-8, tau2)
            while score(hi) > 0.0:
                lo, hi = hi, hi * 2.0
                if hi > 1e300:  # pragma: no cover
                    raise InputError("REML/ML score has no root", field="method")
            tau2 = float(optimize.brentq(score, lo, hi, xtol=1e-15, rtol=4 * _EPS,
                                         maxiter=500))
        warnings.warn("Fisher scoring oscillated (metafor reports non-convergence here); "
                      "tau2 found by bracketing the likelihood score instead", MetaWarning,
                      stacklevel=3)
    if allvipos and tau2 > 0.0:
        # metafor's ll0 check: a local maximum worse than tau2 = 0 is replaced by 0
        ll0 = _loglik(y, v, X, 0.0, reml)
        ll = _loglik(y, v, X, tau2, reml)
        if ll0 - ll > _ML_TOL and tau2 > 1e-5:
            warnings.warn("Fisher scoring may have stopped at a local maximum; setting tau2 = 0 "
                          "(as metafor does)", MetaWarning, stacklevel=3)
            tau2 = 0.0
    return tau2, it


def estimate_tau2(yi: ArrayLike, vi: ArrayLike, method: str = "REML",
                  mods: ArrayLike | None = None) -> float:
    """tau^2 by the named estimator, truncated at 0 (metafor's ``tau2.min = 0``)."""
    y, v, X = _prepare(yi, vi, mods)
    return _estimate(y, v, X, method.upper(), bool(np.all(v > 0)))[0]


def _estimate(y: FloatArray, v: FloatArray, X: FloatArray, method: str,
              allvipos: bool) -> tuple[float, int]:
    if method in ("FE", "EE"):
        return 0.0, 0
    if method in ("DL", "PM") and not allvipos:
        raise InputError(f"{method} estimator cannot be used with non-positive sampling "
                         "variances; use HE, ML or REML", field="vi", value=0)
    it = 0
    if method == "HE":
        tau2 = _tau2_he(y, v, X)
    elif method == "DL":
        tau2 = _tau2_dl(y, v, X)
    elif method == "SJ":
        tau2 = _tau2_sj(y, v, X)
    elif method == "PM":
        tau2 = _tau2_pm(y, v, X)
    elif method in ("ML", "REML"):
        tau2, it = _tau2_fisher(y, v, X, method == "REML", allvipos)
    else:
        raise InputError("unknown tau^2 estimator", field="method", value=method,
                         accepted=METHODS)
    return max(0.0, float(tau2)), it


# ----------------------------------------------------------------------------------------------
# result object
# ----------------------------------------------------------------------------------------------


@dataclass
class MetaResult:
    """A fitted (mixed-effects) meta-analytic model, named as in metafor's ``rma.uni`` object.

    ``beta``/``se``/... are per coefficient (intercept first); the scalar ``estimate`` etc. are
    the intercept (the pooled effect of an intercept-only model). ``weights`` are percent
    (metafor's ``weights()``). ``pi_lb/pi_ub`` are the prediction interval for a new study at
    the intercept (``predict()``); ``tau2_ci_*`` the Q-profile interval (``confint()``).
    """

    k: int
    p: int
    method: str
    test: str
    level: float
    coef_names: list[str]
    beta: FloatArray
    se_beta: FloatArray
    stat: FloatArray
    pvals: FloatArray
    ci_lbs: FloatArray
    ci_ubs: FloatArray
    ddf: int | None
    tau2: float
    se_tau2: float
    tau2_ci_lb: float | None
    tau2_ci_ub: float | None
    i2: float | None
    h2: float | None
    i2_ci_lb: float | None
    i2_ci_ub: float | None
    q: float | None
    q_df: int
    q_pval: float | None
    qm: float | None
    qm_df: tuple[int, ...]
    qm_pval: float | None
    pi_lb: float
    pi_ub: float
    s2w: float
    vb: FloatArray
    yi: FloatArray
    vi: FloatArray
    X: FloatArray
    weights: FloatArray
    slab: list[str]
    iterations: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def estimate(self) -> float:
        return float(self.beta[0])

    @property
    def se(self) -> float:
        return float(self.se_beta[0])

    @property
    def zval(self) -> float:
        return float(self.stat[0])

    @property
    def pval(self) -> float:
        return float(self.pvals[0])

    @property
    def ci_lb(self) -> float:
        return float(self.ci_lbs[0])

    @property
    def ci_ub(self) -> float:
        return float(self.ci_ubs[0])

    @property
    def int_only(self) -> bool:
        return self.p == 1

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary with metafor's names (``zval`` becomes ``tval`` under knha)."""
        statname = "tval" if self.test == "knha" else "zval"
        out: dict[str, Any] = {
            "k": self.k,
            "method": self.method,
            "test": self.test,
            "level": self.level,
            "estimate": self.estimate,
            "se": self.se,
            statname: self.zval,
            "pval": self.pval,
            "ci_lb": self.ci_lb,
            "ci_ub": self.ci_ub,
            "pi_lb": self.pi_lb,
            "pi_ub": self.pi_ub,
            "tau2": self.tau2,
            "se_tau2": _nan_none(self.se_tau2),
            "tau2_ci_lb": self.tau2_ci_lb,
            "tau2_ci_ub": self.tau2_ci_ub,
            "i2": self.i2,
            "h2": self.h2,
            "q": self.q,
            "q_df": self.q_df,
            "q_pval": self.q_pval,
        }
        if self.ddf is not None:
            out["df"] = self.ddf
        if not self.int_only:
            out["coefficients"] = [
                {"name": n, "estimate": float(b), "se": float(s), statname: float(z),
                 "pval": float(pv), "ci_lb": float(lo), "ci_ub": float(hi)}
                for n, b, s, z, pv, lo, hi in zip(self.coef_names, self.beta, self.se_beta,
                                                  self.stat, self.pvals, self.ci_lbs,
                                                  self.ci_ubs, strict=True)
            ]
            out["qm"] = self.qm
            out["qm_df"] = list(self.qm_df)
            out["qm_pval"] = self.qm_pval
        out["studies"] = [
            {"study": s, "yi": float(y), "vi": float(v), "weight": float(w)}
            for s, y, v, w in zip(self.slab, self.yi, self.vi, self.weights, strict=True)
        ]
        if self.notes:
            out["notes"] = list(self.notes)
        return out


def _nan_none(x: float | None) -> float | None:
    if x is None or not np.isfinite(x):
        return None
    return float(x)


# ----------------------------------------------------------------------------------------------
# fitting
# ----------------------------------------------------------------------------------------------


def _prepare(yi: ArrayLike, vi: ArrayLike,
             mods: ArrayLike | None) -> tuple[FloatArray, FloatArray, FloatArray]:
    y = np.asarray(yi, dtype=float).ravel()
    v = np.asarray(vi, dtype=float).ravel()
    if y.shape != v.shape:
        raise InputError(f"yi has {y.size} values but vi has {v.size}", field="vi")
    if y.size == 0:
        raise InputError("no studies to pool (k = 0)", field="yi")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(v))):
        bad = int(np.flatnonzero(~(np.isfinite(y) & np.isfinite(v)))[0])
        raise InputError("yi and vi must be finite numbers; drop or fix missing rows first "
                         "(exomir.evidence.effects drops them with a warning)",
                         field="yi/vi", value=f"row {bad + 1}")
    if np.any(v < 0):
        warnings.warn("negative sampling variances constrained to zero (as metafor)",
                      MetaWarning, stacklevel=3)
        v = np.where(v < 0, 0.0, v)
    X = np.ones((y.size, 1))
    if mods is not None:
        m = np.asarray(mods, dtype=float)
        if m.ndim == 1:
            m = m[:, None]
        if m.shape[0] != y.size:
            raise InputError(f"moderators have {m.shape[0]} rows but there are {y.size} studies",
                             field="mods")
        if not np.all(np.isfinite(m)):
            raise InputError("moderator values must be finite", field="mods")
        X = np.column_stack([X, m])
    return y, v, X


def rma(
    yi: ArrayLike,
    vi: ArrayLike,
    *,
    method: str = "REML",
    test: str = "z",
    mods: ArrayLike | None = None,
    mod_names: Sequence[str] | None = None,
    slab: Sequence[str] | None = None,
    level: float = 95.0,
    tau2_ci: bool = True,
) -> MetaResult:
    """Fit a fixed-effect, random-effects or mixed-effects (meta-regression) model.

    Equivalent to ``metafor::rma(yi, vi, mods = ~ ..., method=, test=, level=)`` with
    ``confint()`` for tau^2 and ``predict()`` for the prediction interval. ``mods`` is a k x m
    array of moderators (an intercept is always added). ``level`` is in percent.
    """
    method = method.upper()
    if method not in METHODS:
        raise InputError("unknown method", field="method", value=method, accepted=METHODS)
    test = test.lower()
    if test not in TESTS:
        raise InputError("unknown test", field="test", value=test, accepted=TESTS)
    if not 0 < level < 100:
        raise InputError("level is a percentage between 0 and 100", field="level", value=level)
    y, v, X = _prepare(yi, vi, mods)
    k, p = X.shape
    names = ["intrcpt"] + (list(mod_names) if mod_names is not None
                           else [f"mod{i}" for i in range(1, p)])
    if len(names) != p:
        raise InputError(f"{len(names) - 1} moderator names for {p - 1} moderators",
                         field="mod_names")
    labels = [str(s) for s in slab] if slab is not None else [str(i + 1) for i in range(k)]
    if len(labels) != k:
        raise InputError(f"{len(labels)} study labels for {k} studies", field="slab")
    notes: list[str] = []
    allvipos = bool(np.all(v > 0))
    if not allvipos:
        warnings.warn("there are studies with non-positive sampling variances", MetaWarning,
                      stacklevel=2)
        notes.append("non-positive sampling variances: Q, I^2, H^2 not computed")
    if p > 1 and np.linalg.matrix_rank(X) < p:
        raise InputError("moderators are collinear (model matrix not of full rank)",
                         field="mods")
    fe = method in ("FE", "EE")
    if (p > k) if fe else (p + 1 > k and not (k == 1 and p == 1)):
        raise InputError(f"{p} coefficients{'' if fe else ' plus tau^2'} cannot be estimated "
                         f"from k = {k} studies", field="k", value=k)
    if k == 1 and test != "z":
        warnings.warn('setting test="z" since k = 1 (as metafor)', MetaWarning, stacklevel=2)
        notes.append("k = 1: test set to z")
        test = "z"

    if k == 1:
        tau2, iters = 0.0, 0
    else:
        tau2, iters = _estimate(y, v, X, method, allvipos)

    if np.any(v + tau2 <= 0):
        raise InputError("sampling variance 0 with tau2 = 0 gives infinite weights; drop "
                         "zero-variance studies or check their SDs", field="vi", value=0)
    fit = _wfit(y, X, 1.0 / (v + tau2))
    vb = fit.minv.copy()
    s2w = 1.0
    if test == "knha":
        s2w = 0.0 if fit.rss <= _EPS else fit.rss / (k - p)
        vb = s2w * vb
        if fe:
            warnings.warn("Knapp & Hartung method is not meant for fixed-effect models",
                          MetaWarning, stacklevel=2)
    se = np.sqrt(np.diag(vb))
    with np.errstate(divide="ignore", invalid="ignore"):
        zval = fit.beta / se
    alpha = 1.0 - level / 100.0
    ddf: int | None = None
    if test == "knha":
        ddf = k - p
        pvals = 2.0 * stats.t.sf(np.abs(zval), ddf)
        crit = float(stats.t.isf(alpha / 2, ddf))
    else:
        pvals = 2.0 * stats.norm.sf(np.abs(zval))
        crit = float(stats.norm.isf(alpha / 2))
    ci_lb = fit.beta - crit * se
    ci_ub = fit.beta + crit * se

    # omnibus test of the moderators (all but the intercept)
    qm: float | None = None
    qm_df: tuple[int, ...] = ()
    qm_p: float | None = None
    if p > 1:
        b = fit.beta[1:]
        try:
            qm = float(b @ np.linalg.solve(vb[1:, 1:], b))
        except np.linalg.LinAlgError:
            qm = math.nan
        m = p - 1
        if test == "knha":
            qm = qm / m
            qm_df = (m, k - p)
            qm_p = float(stats.f.sf(qm, m, k - p)) if k - p > 0 else None
        else:
            qm_df = (m,)
            qm_p = float(stats.chi2.sf(qm, m))

    # heterogeneity (always from the fixed-effect weights, as metafor)
    q: float | None
    q_p: float | None
    i2: float | None
    h2: float | None
    vt = math.nan
    if allvipos:
        if k > p:
            f_fe = _wfit(y, X, 1.0 / v)
            q = max(0.0, f_fe.rss)
            q_p = float(stats.chi2.sf(q, k - p))
            vt = (k - p) / f_fe.tr_p
            if fe:
                i2 = max(0.0, 100.0 * (q - (k - p)) / q) if q > 0 else 0.0
                h2 = q / (k - p)
            else:
                i2 = 100.0 * tau2 / (vt + tau2)
                h2 = tau2 / vt + 1.0
        else:
            q, q_p, i2, h2, vt = 0.0, 1.0, 0.0, 1.0, 0.0
    else:
        q = q_p = i2 = h2 = None

    # standard error of tau^2 (as reported by metafor; informative only)
    se_tau2 = _se_tau2(y, v, X, method, tau2, fit) if (not fe and k > p) else math.nan

    # prediction interval at the intercept (predict.rma default: same crit as the CI)
    x0 = np.zeros(p)
    x0[0] = 1.0
    vpred = float(x0 @ vb @ x0)
    pred = float(x0 @ fit.beta)
    pi_half = crit * math.sqrt(vpred + tau2)
    pi_lb, pi_ub = pred - pi_half, pred + pi_half

    t_lb: float | None = None
    t_ub: float | None = None
    i2_lb: float | None = None
    i2_ub: float | None = None
    if tau2_ci and not fe and k > p and allvipos:
        t_lb, t_ub = confint_tau2(y, v, X, tau2=tau2, level=level)
        if t_lb is not None and t_ub is not None and np.isfinite(vt):
            i2_lb = 100.0 * t_lb / (vt + t_lb)
            i2_ub = 100.0 * t_ub / (vt + t_ub)

    weights = 100.0 * fit.w / fit.w.sum()
    return MetaResult(
        k=k, p=p, method=method, test=test, level=level, coef_names=names, beta=fit.beta,
        se_beta=se, stat=zval, pvals=pvals, ci_lbs=ci_lb, ci_ubs=ci_ub, ddf=ddf, tau2=tau2,
        se_tau2=se_tau2, tau2_ci_lb=t_lb, tau2_ci_ub=t_ub, i2=i2, h2=h2, i2_ci_lb=i2_lb,
        i2_ci_ub=i2_ub, q=q, q_df=k - p, q_pval=q_p, qm=qm, qm_df=qm_df, qm_pval=qm_p,
        pi_lb=pi_lb, pi_ub=pi_ub, s2w=s2w, vb=vb, yi=y, vi=v, X=X, weights=weights,
        slab=labels, iterations=iters, notes=notes,
    )


def _se_tau2(y: FloatArray, v: FloatArray, X: FloatArray, method: str, tau2: float,
             fit: _WFit) -> float:
    """Standard error of tau^2 by metafor's formula for each estimator."""
    k, p = X.shape
    t = max(tau2, 0.0)
    if method == "ML":
        return math.sqrt(2.0 / float((fit.w**2).sum()))
    if method == "REML":
        return math.sqrt(2.0 / fit.tr_pp)
    if method == "PM":
        return math.sqrt(2.0 * k * k / (k - p) / float(fit.w.sum()) ** 2)
    if method == "DL":
        f = _wfit(y, X, 1.0 / v)  # sum(P*P) = tr(PP) for symmetric P
        return math.sqrt((2 * (k - p) + 4 * t * f.tr_p + 2 * t * t * f.tr_pp) / f.tr_p**2)
    return math.nan  # HE / SJ: not reported by exomir (metafor prints them; rarely used)


def confint_tau2(
    yi: ArrayLike,
    vi: ArrayLike,
    X: ArrayLike | None = None,
    *,
    tau2: float = 0.0,
    level: float = 95.0,
) -> tuple[float | None, float | None]:
    """Q-profile confidence interval for tau^2 (Viechtbauer 2007; metafor ``confint``, type QP).

    The bounds solve ``Q(tau2) = chi2_{k-p, 1-a/2}`` (lower) and ``chi2_{k-p, a/2}`` (upper) with
    ``Q(tau2) = y'P(tau2)y``; a bound that would be negative is 0, and bounds beyond the search
    limit ``max(100, 10 tau2)`` are reported as that limit (metafor's ``>`` sign).
    """
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    Xm = np.ones((y.size, 1)) if X is None else np.asarray(X, dtype=float)
    k, p = Xm.shape
    if k <= p:
        return None, None
    alpha = 1.0 - level / 100.0
    crit_u = float(stats.chi2.isf(alpha / 2, k - p))
    crit_l = float(stats.chi2.ppf(alpha / 2, k - p))
    lo_lim = min(0.0, tau2)
    hi_lim = max(100.0, 10.0 * tau2)
    q_lo = _q_at(y, v, Xm, lo_lim)
    q_hi = _q_at(y, v, Xm, hi_lim)

    def root(target: float) -> float:
        return float(optimize.brentq(lambda t: _q_at(y, v, Xm, t) - target, lo_lim, hi_lim,
                                     xtol=1e-14, rtol=4 * _EPS, maxiter=1000))

    if q_lo < crit_l:
        ub = lo_lim
    elif q_hi > crit_l:
        ub = hi_lim
    else:
        ub = root(crit_l)
    if q_hi > crit_u:
        lb = ub = hi_lim
    elif q_lo < crit_u:
        lb = lo_lim
    else:
        lb = root(crit_u)
    return lb, ub
