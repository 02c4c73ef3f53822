"""Weighted nonlinear least-squares fits of the release-model library, with statistics.

For each model: bounded weighted least squares of the fraction released on every observation
(replicates as separate rows; the model is evaluated once per distinct time),
weights w_i = 1/SD_i^2 when an SD column is given (SD floored at 10 % of the median positive SD
so t = 0 rows with SD = 0 do not get infinite weight), else w_i = 1. Multimodal models get
several data-derived starts (characteristic time x 1, 1/4, 4): all are screened by initial cost,
the best is refined, and the others are refined too when that fit is poor (weighted R^2 < 0.99
or no convergence); the lowest cost is kept.

Solvers: models with an analytic Jacobian (the 12 base models and their burst/plateau variants,
``models.py``) are fitted to all curves at once by the batched bounded Levenberg-Marquardt of
:mod:`exomir.release.batchfit` (``fit_many``; ``fit_models`` is a batch of one); lag-time
variants (kinked at tlag) and ``engine="scipy"`` use ``scipy.optimize.least_squares``
(trust-region reflective, analytic Jacobian where available), the reference the batched solver
is tested against (same estimates to 0.2 %; in practice < 1e-4 relative).

Statistics (DDSolver definitions, Zhang 2010 doi:10.1208/s12248-010-9185-1; weighted forms
reduce to the unweighted ones when w = 1), with n observations and p parameters:

* WSSR = sum w (y - yhat)^2;  SST_w = sum w (y - ybar_w)^2, ybar_w the weighted mean
* R^2 = 1 - WSSR/SST_w;  adjusted R^2 = 1 - (n - 1)/(n - p) (1 - R^2)
* AIC = n ln(WSSR) + 2p;  AICc = AIC + 2p(p + 1)/(n - p - 1);  BIC = n ln(WSSR) + p ln(n)
* MSC (model selection criterion) = ln(SST_w / WSSR) - 2p/n
* covariance = s^2 (J^T J)^-1 with s^2 = WSSR/(n - p) and J the Jacobian of the weighted
  residuals (pseudo-inverse by SVD, as ``scipy.optimize.curve_fit``); SE = sqrt(diag);
  95 % CI = estimate +- t(0.975, n - p) SE.

Korsmeyer-Peppas models are fitted on the observations with mean F <= 0.6 only (Korsmeyer 1983;
Siepmann & Peppas 2012 doi:10.1016/j.jconrel.2012.06.003); their criteria are not comparable
with full-data fits, so they are reported but not ranked. The recommendation takes the
lowest-AICc model among identifiable full-data fits and, among models within 2 AICc units of it,
the one with fewest parameters (Burnham & Anderson 2002, Model Selection and Multimodel
Inference, 2nd ed., doi:10.1007/b97636).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

import numpy as np
from scipy import optimize, stats

from exomir.core.errors import InputError
from exomir.release.io import ReleaseData
from exomir.release.models import ReleaseModel, parse_model_list

Geometry = Literal["slab", "cylinder", "sphere"]
#: Korsmeyer-Peppas exponent limits (Fickian, case II) by geometry: Siepmann & Peppas 2012
#: doi:10.1016/j.jconrel.2012.06.003 Table 1; Ritger & Peppas 1987 doi:10.1016/0168-3659(87)90034-4.
KP_LIMITS: dict[str, tuple[float, float]] = {
    "slab": (0.5, 1.0), "cylinder": (0.45, 0.89), "sphere": (0.43, 0.85)}
KP_MAX_FRACTION = 0.6


@dataclass
class ParamEstimate:
    """A fitted parameter with its standard error and 95 % confidence interval."""

    name: str
    unit: str
    value: float
    se: float
    ci_low: float
    ci_high: float

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "unit": self.unit, "value": self.value, "se": self.se,
                "ci95": [self.ci_low, self.ci_high]}


@dataclass
class ModelFit:
    """One model fitted to one data set."""

    model: ReleaseModel
    params: list[ParamEstimate]
    n: int
    wssr: float
    r2: float
    r2_adj: float
    aic: float
    aicc: float
    bic: float
    msc: float
    subset: str = "all"
    converged: bool = True
    message: str = ""
    rank: int | None = None
    delta_aicc: float | None = None
    interpretation: str | None = None
    residuals: np.ndarray = field(default_factory=lambda: np.empty(0))
    cov: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def values(self) -> list[float]:
        return [p.value for p in self.params]

    @property
    def p(self) -> int:
        return len(self.params)

    @property
    def identifiable(self) -> bool:
        return all(np.isfinite(p.se) and p.se >= 0 for p in self.params)

    def predict(self, t_days: Any) -> np.ndarray:
        return self.model.evaluate(t_days, self.values)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.name, "label": self.model.label, "equation": self.model.equation,
            "rank": self.rank, "subset": self.subset, "n": self.n,
            "params": [p.to_dict() for p in self.params],
            "R2": self.r2, "R2_adj": self.r2_adj, "AIC": self.aic, "AICc": self.aicc,
            "BIC": self.bic, "MSC": self.msc, "WSSR": self.wssr, "delta_AICc": self.delta_aicc,
            "converged": self.converged, "interpretation": self.interpretation,
            "sbml_infix": self.model.sbml_infix(self.values),
        }


@dataclass
class FitReport:
    """All fits to one data set, ranked, with the recommendation and its reason."""

    data: ReleaseData
    fits: list[ModelFit]
    recommended: ModelFit | None
    reason: str
    skipped: list[tuple[str, str]] = field(default_factory=list)
    geometry: str = "slab"

    def get(self, name: str) -> ModelFit:
        for f in self.fits:
            if f.name == name:
                return f
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.data.source, "n_observations": self.data.n,
            "geometry": self.geometry,
            "recommended": self.recommended.name if self.recommended else None,
            "reason": self.reason, "fits": [f.to_dict() for f in self.fits],
            "skipped": [{"model": m, "reason": r} for m, r in self.skipped],
            "notes": list(self.data.notes),
        }


# ----------------------------------------------------------------------------- weights/guesses

def observation_weights(data: ReleaseData) -> np.ndarray:
    """w = 1/SD^2 (SD floored at 10 % of the median positive SD, and at 1e-4), else ones."""
    if data.sd is None:
        return np.ones(data.n)
    pos = data.sd[data.sd > 0]
    floor = max(0.1 * float(np.median(pos)), 1e-4) if pos.size else 1e-2
    return 1.0 / np.maximum(data.sd, floor) ** 2


def _characteristic_time(t: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(time to half of the final mean release, final mean release); fallbacks for odd data."""
    ts = np.unique(t)
    means = np.array([y[t == x].mean() for x in ts])
    fend = float(max(means[-1], 1e-3))
    half = 0.5 * fend
    idx = np.nonzero(means >= half)[0]
    tmax = float(ts[-1]) if ts[-1] > 0 else 1.0
    if idx.size == 0 or idx[0] == 0:
        return (float(ts[ts > 0][0]) if (ts > 0).any() else tmax) or tmax, fend
    i = int(idx[0])
    t0, t1, m0, m1 = ts[i - 1], ts[i], means[i - 1], means[i]
    tc = t0 + (half - m0) * (t1 - t0) / (m1 - m0) if m1 > m0 else t1
    return float(max(tc, 1e-6 * tmax)), fend


def _starts(model: ReleaseModel, tc: float, fend: float) -> list[np.ndarray]:
    lo = np.array([p.lower for p in model.params])
    hi = np.array([p.upper for p in model.params])
    factors = (1.0, 0.25, 4.0) if model.multimodal else (1.0,)
    out = []
    for fac in factors:
        x = np.array([p.guess(tc * fac, fend) for p in model.params], dtype=float)
        span = hi - lo
        x = np.clip(x, lo + 1e-9 * span + 1e-12, hi - 1e-9 * span)
        out.append(x)
    return out


# ----------------------------------------------------------------------------- core fit

def _covariance(jac: np.ndarray, s2: float) -> np.ndarray:
    """s^2 (J^T J)^+ by SVD, as scipy.optimize.curve_fit does."""
    _, sv, vt = np.linalg.svd(jac, full_matrices=False)
    thr = np.finfo(float).eps * max(jac.shape) * (sv[0] if sv.size else 0.0)
    keep = sv > thr
    sv = sv[keep]
    vt = vt[: sv.size]
    pcov = (vt.T / sv**2) @ vt
    if sv.size < jac.shape[1]:
        pcov = np.full((jac.shape[1], jac.shape[1]), np.inf)
    return pcov * s2


@lru_cache(maxsize=256)
def _t975(dof: int) -> float:
    return float(stats.t.ppf(0.975, dof)) if dof > 0 else float("inf")


@dataclass
class _Prepared:
    """The observations one model is fitted to (Korsmeyer-Peppas: the F <= 0.6 subset)."""

    t: np.ndarray
    y: np.ndarray
    w: np.ndarray
    subset: str
    tc: float
    fend: float
    sst: float


def _prepare(model: ReleaseModel, data: ReleaseData, w: np.ndarray) -> _Prepared:
    """Select the observations; InputError when there are fewer times than parameters + 1."""
    t, y = data.t_days, data.released
    subset = "all"
    if model.power_law:
        ts, mean, _ = data.mean_curve()
        ok_t = ts[mean <= KP_MAX_FRACTION]
        sel = np.isin(t, ok_t)
        t, y, w = t[sel], y[sel], w[sel]
        subset = f"F<={KP_MAX_FRACTION:g}"
    n_times = np.unique(t).size
    p = model.n_params
    if n_times <= p:
        raise InputError(
            f"model {model.name} has {p} parameters but only {n_times} distinct time points "
            f"({subset} data)", source=data.source, field="time", value=n_times,
            accepted=f"at least {p + 1} time points")
    tc, fend = _characteristic_time(data.t_days, data.released)
    ybar = float(np.sum(w * y) / np.sum(w))
    return _Prepared(t, y, w, subset, tc, fend, float(np.sum(w * (y - ybar) ** 2)))


def _finish(model: ReleaseModel, pr: _Prepared, x: np.ndarray, jac: np.ndarray,
            converged: bool, message: str, geometry: Geometry) -> ModelFit:
    """Statistics of a fitted parameter vector (see the module docstring)."""
    t, y, w = pr.t, pr.y, pr.w
    n, p = t.size, model.n_params
    with np.errstate(all="ignore"):
        f = model.func(t, *x)
    r = np.sqrt(w) * (f - y)
    r = np.where(np.isfinite(r), r, 1e6)
    wssr = float(r @ r)
    sst = pr.sst
    dof = n - p
    s2 = wssr / dof if dof > 0 else np.inf
    cov = _covariance(jac, s2)
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    tq = _t975(dof)
    ests = [ParamEstimate(ps.name, ps.unit, float(v), float(e), float(v - tq * e),
                          float(v + tq * e)) for ps, v, e in zip(model.params, x, se, strict=True)]
    tiny = np.finfo(float).tiny
    lw = np.log(max(wssr, tiny))
    r2 = 1.0 - wssr / sst if sst > 0 else float("nan")
    aic = n * lw + 2 * p
    fit = ModelFit(
        model=model, params=ests, n=n, wssr=wssr, r2=r2,
        r2_adj=1.0 - (n - 1) / dof * (1.0 - r2) if dof > 0 else float("nan"),
        aic=aic, aicc=aic + 2 * p * (p + 1) / (n - p - 1) if n - p - 1 > 0 else float("inf"),
        bic=n * lw + p * np.log(n),
        msc=float(np.log(sst / wssr) - 2 * p / n) if sst > 0 and wssr > 0 else float("nan"),
        subset=pr.subset, converged=converged, message=message, residuals=y - f, cov=cov)
    if model.power_law:
        n_idx = model.param_names.index("n")
        fit.interpretation = interpret_kp_exponent(ests[n_idx], geometry)
    return fit


def _good_enough(cost: np.ndarray, success: np.ndarray, sst: np.ndarray) -> np.ndarray:
    """The multi-start stopping rule: a converged fit with weighted R2 >= 0.99."""
    with np.errstate(all="ignore"):
        return success & (sst > 0) & (1.0 - 2.0 * cost / np.where(sst > 0, sst, 1.0) >= 0.99)


def fit_model(model: ReleaseModel, data: ReleaseData, *, geometry: Geometry = "slab",
              weights: np.ndarray | None = None, analytic_jac: bool = True) -> ModelFit:
    """Fit one model with ``scipy.optimize.least_squares`` (trust-region reflective): the
    reference implementation of the objective that :func:`fit_model_batch` solves for many
    curves at once. InputError when there are fewer points than parameters + 1.

    ``analytic_jac``: use the model's analytic Jacobian when it has one (else, or when
    False, scipy's 2-point finite differences)."""
    w = observation_weights(data) if weights is None else np.asarray(weights, dtype=float)
    pr = _prepare(model, data, w)
    t, y = pr.t, pr.y
    p = model.n_params
    sw = np.sqrt(pr.w)
    lo = np.array([ps.lower for ps in model.params])
    hi = np.array([ps.upper for ps in model.params])
    # replicates share time points: evaluate the model once per distinct time
    tu, inv = np.unique(t, return_inverse=True)

    def resid(x: np.ndarray) -> np.ndarray:
        r = sw * (model.func(tu, *x)[inv] - y)
        return np.where(np.isfinite(r), r, 1e6)

    jac: Any = "2-point"
    if model.jac is not None and analytic_jac:
        mjac = model.jac

        def jac(x: np.ndarray) -> np.ndarray:
            j = sw[:, None] * mjac(tu, *x)[inv]
            return np.where(np.isfinite(j), j, 0.0)

    best: optimize.OptimizeResult | None = None
    with np.errstate(all="ignore"):
        # Multi-start: screen the starts by their initial cost, refine the best one, and
        # refine the others too only when that local fit is poor (R2 < 0.99 or no convergence).
        starts = sorted(_starts(model, pr.tc, pr.fend),
                        key=lambda x0: float(np.sum(resid(x0) ** 2)))
        for i, x0 in enumerate(starts):
            if i > 0 and best is not None and bool(_good_enough(
                    np.array([best.cost]), np.array([best.success]), np.array([pr.sst]))[0]):
                break
            res = optimize.least_squares(resid, x0, jac=jac, bounds=(lo, hi), method="trf",
                                         x_scale="jac", max_nfev=200 * (p + 1))
            if best is None or res.cost < best.cost:
                best = res
    assert best is not None
    return _finish(model, pr, best.x, best.jac, bool(best.success), str(best.message),
                   geometry)


def fit_model_batch(model: ReleaseModel, datasets: Sequence[ReleaseData],
                    weights: Sequence[np.ndarray] | None = None, *,
                    geometry: Geometry = "slab") -> list[ModelFit | InputError]:
    """Fit one model to many curves at once (:mod:`exomir.release.batchfit`): the same
    objective, bounds and starts as :func:`fit_model`, one batched bounded Levenberg-Marquardt
    for all curves; every start of a multimodal model is refined and the lowest cost kept
    (:func:`fit_model` stops after the first start whose fit has R2 >= 0.99). Returns a fit,
    or the InputError, per curve."""
    from exomir.release.batchfit import Problem, solve

    ws = weights if weights is not None else [observation_weights(d) for d in datasets]
    out: list[ModelFit | InputError] = []
    prepared: list[_Prepared] = []
    where: list[int] = []
    for i, (d, w) in enumerate(zip(datasets, ws, strict=True)):
        try:
            prepared.append(_prepare(model, d, np.asarray(w, float)))
            where.append(i)
            out.append(InputError("not fitted"))
        except InputError as exc:
            out.append(exc)
    if not prepared:
        return out
    c, p = len(prepared), model.n_params
    width = max(pr.t.size for pr in prepared)
    t = np.empty((c, width))
    y = np.zeros((c, width))
    sw = np.zeros((c, width))
    for k, pr in enumerate(prepared):
        m = pr.t.size
        t[k, :m], t[k, m:] = pr.t, pr.t[-1]  # padding rows: weight 0
        y[k, :m] = pr.y
        sw[k, :m] = np.sqrt(pr.w)
    lo = np.array([ps.lower for ps in model.params])
    hi = np.array([ps.upper for ps in model.params])
    starts = np.stack([np.stack(_starts(model, pr.tc, pr.fend)) for pr in prepared], axis=1)
    prob = Problem(model.func, model.jac, t, y, sw, lo, hi)
    every = np.arange(c)
    init = np.stack([np.sum(prob.resid(s, every) ** 2, axis=1) for s in starts])
    order = np.argsort(init, axis=0, kind="stable")  # per curve: starts by initial cost
    best_x = np.zeros((c, p))
    best_cost = np.full(c, np.inf)
    best_jac = np.zeros((c, width, p))
    best_ok = np.zeros(c, bool)
    for k in range(starts.shape[0]):
        # every start is refined (batched, this costs little): the best of all local fits
        # is kept, so a poor local minimum of the first start does not stop the search
        todo = every
        if todo.size == 0:
            break
        sub = Problem(model.func, model.jac, t[todo], y[todo], sw[todo], lo, hi)
        res = solve(sub, starts[order[k, todo], todo], max_iter=200 * (p + 1))
        better = res.cost < best_cost[todo]
        sel = todo[better]
        best_x[sel] = res.x[better]
        best_cost[sel] = res.cost[better]
        best_jac[sel] = res.jac[better]
        best_ok[sel] = res.success[better]
    for k, pr in enumerate(prepared):
        m = pr.t.size
        msg = "converged" if best_ok[k] else "maximum number of iterations reached"
        out[where[k]] = _finish(model, pr, best_x[k], best_jac[k, :m], bool(best_ok[k]), msg,
                                geometry)
    return out


def interpret_kp_exponent(n_est: ParamEstimate, geometry: Geometry = "slab") -> str:
    """Release mechanism from the Korsmeyer-Peppas exponent and its 95 % CI for a geometry."""
    if geometry not in KP_LIMITS:
        raise InputError("unknown geometry", field="geometry", value=geometry,
                         accepted=", ".join(KP_LIMITS))
    nf, n2 = KP_LIMITS[geometry]
    lo, hi, v = n_est.ci_low, n_est.ci_high, n_est.value
    if not (np.isfinite(lo) and np.isfinite(hi)):
        lo = hi = v
    if lo <= nf <= hi:
        mech = "Fickian diffusion"
    elif lo <= n2 <= hi:
        mech = "case II transport (relaxation/erosion, zero-order-like)"
    elif hi < nf:
        mech = "less than Fickian (quasi-Fickian: porous or polydisperse matrix)"
    elif lo > n2:
        mech = "super case II transport"
    else:
        mech = "anomalous (non-Fickian) transport: diffusion plus relaxation/erosion"
    return (f"n = {v:.3g} (95% CI {n_est.ci_low:.3g} to {n_est.ci_high:.3g}) for a {geometry} "
            f"(Fickian {nf}, case II {n2}): {mech}")


def fit_models(data: ReleaseData, models: str | Sequence[str] | None = "all", *,
               geometry: Geometry = "slab", engine: Literal["batch", "scipy"] = "batch"
               ) -> FitReport:
    """Fit several models, rank full-data fits by AICc, recommend one with a reason.

    Models named explicitly raise InputError if the data cannot support them; with ``all``
    such models are skipped and listed in ``skipped``. ``engine``: ``batch`` (default) fits
    models with an analytic Jacobian with the batched solver and the lag-time variants (kinked
    at tlag, numerical Jacobian) with scipy; ``scipy`` uses scipy's least_squares for all (the
    reference).
    """
    return fit_many([data], models, geometry=geometry, engine=engine)[0]


def fit_many(datasets: Sequence[ReleaseData], models: str | Sequence[str] | None = "all", *,
             geometry: Geometry = "slab", engine: Literal["batch", "scipy"] = "batch"
             ) -> list[FitReport]:
    """:func:`fit_models` for many curves: each model is fitted to all curves in one batched
    solve (one numpy pass per iteration for all curves)."""
    chosen = parse_model_list(models)
    explicit = not (models is None or models == "all" or models == ["all"] or models == "base")
    if geometry not in KP_LIMITS:
        raise InputError("unknown geometry", field="geometry", value=geometry,
                         accepted=", ".join(KP_LIMITS))
    ws = [observation_weights(d) for d in datasets]
    fits: list[list[ModelFit]] = [[] for _ in datasets]
    skipped: list[list[tuple[str, str]]] = [[] for _ in datasets]
    for m in chosen:
        if engine == "batch" and m.jac is not None:
            results = fit_model_batch(m, datasets, ws, geometry=geometry)
        else:
            results = []
            for d, w in zip(datasets, ws, strict=True):
                try:
                    results.append(fit_model(m, d, geometry=geometry, weights=w))
                except InputError as exc:
                    results.append(exc)
        for i, r in enumerate(results):
            if isinstance(r, InputError):
                if explicit:
                    raise r
                skipped[i].append((m.name, r.message))
            else:
                fits[i].append(r)
    return [_report(d, f, sk, geometry) for d, f, sk in zip(datasets, fits, skipped,
                                                            strict=True)]


def _report(data: ReleaseData, fits: list[ModelFit], skipped: list[tuple[str, str]],
            geometry: Geometry) -> FitReport:
    if not fits:
        raise InputError("no model could be fitted: too few time points", source=data.source,
                         field="time", value=np.unique(data.t_days).size,
                         accepted="at least 2 distinct time points (more for most models)")
    ranked = sorted([f for f in fits if f.subset == "all"], key=lambda f: f.aicc)
    for i, f in enumerate(ranked, start=1):
        f.rank = i
        f.delta_aicc = f.aicc - ranked[0].aicc
    others = sorted([f for f in fits if f.subset != "all"], key=lambda f: f.aicc)
    rec, reason = _recommend(ranked)
    return FitReport(data=data, fits=ranked + others, recommended=rec, reason=reason,
                     skipped=skipped, geometry=geometry)


def _recommend(ranked: list[ModelFit]) -> tuple[ModelFit | None, str]:
    good = [f for f in ranked if f.identifiable and np.isfinite(f.aicc)]
    if not good:
        if ranked:
            return None, ("no full-data fit has finite standard errors for all parameters; "
                          "collect more time points or restrict the model list")
        return None, "only Korsmeyer-Peppas (F <= 60 %) fits were possible; none ranked"
    best = good[0]
    close = [f for f in good if f.aicc - best.aicc <= 2.0]
    pick = min(close, key=lambda f: (f.p, f.aicc))
    if pick is best:
        nxt = next((f for f in good if f is not best), None)
        gap = f"; next {nxt.name} at dAICc = {nxt.aicc - best.aicc:.2f}" if nxt else ""
        reason = (f"lowest AICc ({best.aicc:.2f}) among identifiable fits, adj. R2 = "
                  f"{best.r2_adj:.4f}, MSC = {best.msc:.2f}{gap}")
    else:
        reason = (f"within 2 AICc units of the lowest ({best.name}, dAICc = "
                  f"{pick.aicc - best.aicc:.2f}) with fewer parameters ({pick.p} vs {best.p}): "
                  f"parsimony rule; adj. R2 = {pick.r2_adj:.4f}")
    return pick, reason
