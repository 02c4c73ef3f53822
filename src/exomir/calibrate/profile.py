"""Profile likelihoods, 95 % confidence intervals and identifiability verdicts.

For parameter i the profile is PL(x_i) = min over the other parameters of NLL (Raue 2009,
doi:10.1093/bioinformatics/btp358). From the best fit it steps towards each bound on the
estimation scale, re-optimising the others from the previous point, with a step that doubles
(up to 0.1 of the range) while the profile rises by less than 0.1 of the threshold and halves when it rises by more
than half of it. The 95 % interval is where 2 (PL - NLL_min) crosses the chi-square(1)
quantile 3.841 (three bisection steps between the last points below and above it, then linear
interpolation); an end that reaches its bound first is open.

Verdicts: **identifiable** - the profile crosses the threshold on both sides inside the bounds;
**structurally flat** - the profile rises by less than ``flat_tol`` (NLL units) over the whole
range on both sides (the data carry no information on the parameter, or another parameter
compensates it exactly); **practically non-identifiable** - anything else (at least one open
end, but the profile is not flat).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from exomir.calibrate.objective import NegLogLikelihood
from exomir.calibrate.optimize import local_fit
from exomir.core.calibrated import from_scale

CHI2_95 = float(stats.chi2.ppf(0.95, 1))  # 3.841


@dataclass
class Profile:
    """One parameter's profile on the estimation scale."""

    name: str
    scale: str
    x: np.ndarray  # profile points (estimation scale), sorted
    nll: np.ndarray
    nll_min: float
    ci_x: tuple[float | None, float | None]  # estimation scale; None = open end
    verdict: str
    n_eval: int = 0
    seconds: float = 0.0
    better_optimum: np.ndarray | None = None
    paths: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))

    @property
    def ci(self) -> tuple[float | None, float | None]:
        """95 % profile-likelihood interval on the linear scale (None = open end)."""
        lo, hi = self.ci_x
        return (None if lo is None else float(from_scale(lo, self.scale)),
                None if hi is None else float(from_scale(hi, self.scale)))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "scale": self.scale, "x": self.x.tolist(),
                "nll": self.nll.tolist(), "nll_min": self.nll_min, "ci_x": list(self.ci_x),
                "ci": list(self.ci), "verdict": self.verdict, "n_eval": self.n_eval,
                "seconds": self.seconds,
                "better_optimum": None if self.better_optimum is None
                else self.better_optimum.tolist()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Profile:
        return cls(d["name"], d["scale"], np.asarray(d["x"], dtype=float),
                   np.asarray(d["nll"], dtype=float), float(d["nll_min"]),
                   (d["ci_x"][0], d["ci_x"][1]), d["verdict"], int(d.get("n_eval", 0)),
                   float(d.get("seconds", 0.0)),
                   None if d.get("better_optimum") is None
                   else np.asarray(d["better_optimum"]))


def _crossing(x0: float, x1: float, d0: float, d1: float, thr: float) -> float:
    if d1 == d0:
        return x1
    return x0 + (thr - d0) * (x1 - x0) / (d1 - d0)


def profile_parameter(objective: NegLogLikelihood, x_hat: np.ndarray, nll_hat: float,
                      index: int, *, se: float | None = None, level: float = 0.95,
                      max_steps: int = 40, flat_tol: float = 0.01, refine: int = 3,
                      progress: Callable[[float], None] | None = None) -> Profile:
    """The profile of parameter ``index`` around the optimum ``x_hat`` (see module doc)."""
    t0 = time.perf_counter()
    pr = objective.problem
    par = pr.estimated[index]
    lo, hi = pr.x_bounds()
    span = hi[index] - lo[index]
    thr = float(stats.chi2.ppf(level, 1)) / 2.0  # in NLL units
    s_init = float(np.clip(0.5 * se if se is not None and np.isfinite(se) and se > 0
                           else 0.05 * span, 1e-3 * span, 0.1 * span))
    n_eval = 0
    pts: list[tuple[float, float, np.ndarray]] = [(float(x_hat[index]), nll_hat, x_hat.copy())]
    ends: dict[int, float | None] = {}
    best = (nll_hat, x_hat.copy())
    done_frac = 0.0
    for side, d in enumerate((-1.0, 1.0)):
        bound = lo[index] if d < 0 else hi[index]
        x_prev = x_hat.copy()
        v_prev = nll_hat
        s = s_init
        ends[side] = None
        for _ in range(max_steps):
            if abs(x_prev[index] - bound) < 1e-12:
                break
            xi = x_prev[index] + d * s
            if (xi - bound) * d > 0:
                xi = bound
            x, v, nev, _ok, _ = local_fit(objective, x_prev, fixed={index: xi}, xtol=1e-8,
                                          ftol=1e-8)
            n_eval += nev
            if v < best[0] - 1e-6:
                best = (v, x.copy())
            rise = v - v_prev
            if rise > 0.5 * thr and s > 1e-3 * span and v - nll_hat < thr:
                s *= 0.5  # too big a step below the threshold: retry closer
                continue
            pts.append((xi, v, x.copy()))
            if v - nll_hat >= thr:
                # bisection between the last point below and the first above the threshold
                a, va, xa = x_prev[index], v_prev, x_prev
                b, vb = xi, v
                for _ in range(refine):
                    m = 0.5 * (a + b)
                    xm, vm, nev, _ok, _ = local_fit(objective, xa, fixed={index: m},
                                                    xtol=1e-8, ftol=1e-8)
                    n_eval += nev
                    pts.append((m, vm, xm.copy()))
                    if vm - nll_hat >= thr:
                        b, vb = m, vm
                    else:
                        a, va, xa = m, vm, xm
                ends[side] = _crossing(a, b, va - nll_hat, vb - nll_hat, thr)
                break
            if rise < 0.1 * thr:
                s = min(2.0 * s, 0.1 * span)
            x_prev, v_prev = x, v
        done_frac += 0.5
        if progress is not None:
            progress(done_frac)
    pts.sort(key=lambda t: t[0])
    xs = np.array([p[0] for p in pts])
    vs = np.array([p[1] for p in pts])
    paths = np.array([p[2] for p in pts])
    lo_end, hi_end = ends.get(0), ends.get(1)
    if lo_end is not None and hi_end is not None:
        verdict = "identifiable"
    elif float(np.max(vs) - nll_hat) < flat_tol:
        verdict = "structurally flat"
    else:
        verdict = "practically non-identifiable"
    return Profile(par.id, par.scale, xs, vs, nll_hat, (lo_end, hi_end), verdict, n_eval,
                   time.perf_counter() - t0,
                   better_optimum=best[1] if best[0] < nll_hat - 1e-6 else None, paths=paths)


def profiles(objective: NegLogLikelihood, x_hat: np.ndarray, nll_hat: float,
             names: Sequence[str] | None = None, se: np.ndarray | None = None,
             progress: Callable[[str, float], None] | None = None, **kw: Any
             ) -> dict[str, Profile]:
    """Profiles of ``names`` (default: every estimated parameter)."""
    est = objective.problem.names
    chosen = list(names) if names is not None else est
    out: dict[str, Profile] = {}
    for name in chosen:
        i = est.index(name)
        cb = None if progress is None else (lambda f, n=name: progress(n, f))
        out[name] = profile_parameter(objective, x_hat, nll_hat, i,
                                      se=None if se is None else float(se[i]), progress=cb,
                                      **kw)
    return out
