"""Batched bounded Levenberg-Marquardt: one release model fitted to many curves at once.

The objective of each curve is the one of :func:`exomir.release.fit.fit_model`:
0.5 * sum (sqrt(w) (F(t; x) - y))^2 subject to lower <= x <= upper (non-finite residuals count
as 1e6). All curves advance together: the residuals and Jacobians of every curve are one numpy
array (curves x observations x parameters, shorter curves padded with zero-weight rows), the
normal equations of all curves are solved in one batched call, and each curve keeps its own
damping and stops on its own tolerances, so the numpy overhead of one iteration is paid once
for all curves instead of once per curve.

Step (Marquardt 1963; damping update of Nielsen 1999, IMM-REP-1999-05): solve
(J'J + mu diag(J'J)) d = -J'r on the free parameters, x+ = x + d, stopped at 0.995 of the way
to a bound it would cross; accept
when the cost falls, with mu scaled by max(1/3, 1 - (2 rho - 1)^3) (rho = actual / predicted
decrease), else mu *= nu, nu *= 2. A parameter at a bound whose gradient points outward is
held fixed for the step (active set). Stops (success) when an accepted step lowers the cost by
< ``ftol`` * cost with rho > 0.25, when a step is < ``xtol`` * (|x| + ``xtol``), when the
projected gradient is < ``gtol``, or when no step can decrease the cost any more (mu > 1e14);
fails after ``max_iter`` iterations. Tolerances are those of ``scipy.optimize.least_squares`` (1e-8), which
the tests use as the reference.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

Arr = npt.NDArray[np.float64]
_BAD = 1e6  # residual used for non-finite model values (as fit.fit_model)


@dataclass
class BatchResult:
    """Per-curve solution, cost (0.5 |r|^2), Jacobian of the weighted residuals there,
    success flag and number of iterations."""

    x: Arr
    cost: Arr
    jac: Arr
    success: npt.NDArray[np.bool_]
    nit: npt.NDArray[np.int64]


class Problem:
    """Weighted residuals and Jacobians of one model on padded curve arrays."""

    def __init__(self, func: Callable[..., Any], jac: Callable[..., Any] | None, t: Arr,
                 y: Arr, sw: Arr, lo: Arr, hi: Arr) -> None:
        self.func, self.jac_f = func, jac
        self.t, self.y, self.sw = t, y, sw
        self.lo, self.hi = lo, hi

    def resid(self, x: Arr, idx: npt.NDArray[np.int64]) -> Arr:
        cols = [x[:, j:j + 1] for j in range(x.shape[1])]
        with np.errstate(all="ignore"):
            r = self.sw[idx] * (self.func(self.t[idx], *cols) - self.y[idx])
        return np.where(np.isfinite(r), r, _BAD)

    def jac(self, x: Arr, idx: npt.NDArray[np.int64], r: Arr) -> Arr:
        if self.jac_f is not None:
            cols = [x[:, j:j + 1] for j in range(x.shape[1])]
            with np.errstate(all="ignore"):
                j = self.sw[idx][:, :, None] * self.jac_f(self.t[idx], *cols)
            return np.where(np.isfinite(j), j, 0.0)
        # forward differences, step sqrt(eps) max(1, |x|), backwards at an upper bound
        # (as scipy's '2-point' scheme)
        out = np.empty((*r.shape, x.shape[1]))
        for j in range(x.shape[1]):
            h = np.sqrt(np.finfo(float).eps) * np.maximum(1.0, np.abs(x[:, j]))
            h = np.where(x[:, j] + h > self.hi[j], -h, h)
            xp = x.copy()
            xp[:, j] += h
            h = xp[:, j] - x[:, j]
            out[:, :, j] = (self.resid(xp, idx) - r) / h[:, None]
        return np.where(np.isfinite(out), out, 0.0)


def solve(prob: Problem, x0: Arr, *, max_iter: int, ftol: float = 1e-8, xtol: float = 1e-8,
          gtol: float = 1e-8) -> BatchResult:
    """Bounded Levenberg-Marquardt from ``x0`` (curves x parameters) for every curve."""
    c, p = x0.shape
    lo, hi = prob.lo, prob.hi
    x = np.clip(x0, lo, hi)
    every = np.arange(c)
    r = prob.resid(x, every)
    cost = 0.5 * np.einsum("cn,cn->c", r, r)
    jac = prob.jac(x, every, r)
    mu = np.full(c, 1e-3)
    nu = np.full(c, 2.0)
    active = np.ones(c, bool)
    success = np.zeros(c, bool)
    nit = np.zeros(c, np.int64)
    eye = np.eye(p)
    for _ in range(max_iter):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        nit[idx] += 1
        jj = jac[idx]
        a = np.einsum("cnp,cnq->cpq", jj, jj)
        g = np.einsum("cnp,cn->cp", jj, r[idx])
        xi = x[idx]
        span = np.maximum(np.abs(xi), 1.0) * 1e-12
        free = ~(((xi <= lo + span) & (g > 0)) | ((xi >= hi - span) & (g < 0)))
        gfree = np.where(free, g, 0.0)
        done_g = np.max(np.abs(gfree), axis=1) < gtol
        diag = np.einsum("cpp->cp", a)
        dmax = np.max(diag, axis=1, keepdims=True)
        d = np.maximum(diag, 1e-12 * np.maximum(dmax, 1e-300))
        ff = free[:, :, None] & free[:, None, :]
        m = np.where(ff, a, 0.0) + eye * np.where(free, mu[idx, None] * d, 1.0)[:, None, :]
        try:
            step = np.linalg.solve(m, -gfree[..., None])[..., 0]
        except np.linalg.LinAlgError:
            step = np.stack([np.linalg.lstsq(mm, -gg, rcond=None)[0]
                             for mm, gg in zip(m, gfree, strict=True)])
        xn = xi + step
        # a step that leaves the box stops short of the bound (0.995 of the way, as the
        # step-back of trust-region reflective), so a bound is approached geometrically and
        # a parameter sits exactly on it only after it got within 1e-12 (then held fixed)
        xn = np.where(xn < lo, xi + 0.995 * (lo - xi), xn)
        xn = np.where(xn > hi, xi + 0.995 * (hi - xi), xn)
        xn = np.where(np.abs(xn - lo) <= span, lo, np.where(np.abs(hi - xn) <= span, hi, xn))
        step = xn - xi
        rn = prob.resid(xn, idx)
        cn = 0.5 * np.einsum("cn,cn->c", rn, rn)
        pred = -np.einsum("cp,cp->c", step, g) - 0.5 * np.einsum("cp,cpq,cq->c", step, a, step)
        old = cost[idx]
        acc = np.isfinite(cn) & (cn < old)
        rho = np.where(pred > 0, (old - cn) / np.where(pred > 0, pred, 1.0), 0.0)
        # convergence tests (scipy's check_termination: ftol with good model agreement, or
        # xtol on any step)
        small_f = acc & (old - cn < ftol * old)
        small_x = np.linalg.norm(step, axis=1) < xtol * (xtol + np.linalg.norm(xi, axis=1))
        stuck = ~acc & (mu[idx] > 1e14)
        # update accepted curves
        ai = idx[acc]
        if ai.size:
            x[ai] = xn[acc]
            r[ai] = rn[acc]
            cost[ai] = cn[acc]
            jac[ai] = prob.jac(x[ai], ai, r[ai])
            mu[ai] *= np.maximum(1.0 / 3.0, 1.0 - (2.0 * rho[acc] - 1.0) ** 3)
            nu[ai] = 2.0
        ri = idx[~acc]
        mu[ri] *= nu[ri]
        nu[ri] *= 2.0
        fin = done_g | (small_f & (rho > 0.25)) | small_x | stuck
        success[idx[fin]] = True
        active[idx[fin]] = False
    return BatchResult(x=x, cost=cost, jac=jac, success=success, nit=nit)
