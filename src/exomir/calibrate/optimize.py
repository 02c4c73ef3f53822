"""Multistart local optimisation of a calibration problem.

Starts are a Latin hypercube or scrambled Sobol sample (``scipy.stats.qmc``, seeded) over the
bounds on the estimation scale (log10/log/lin per parameter); start 0 can be the nominal value.
Each start runs ``scipy.optimize.least_squares`` (trust-region reflective, bounds, the batched
finite-difference Jacobian of :class:`NegLogLikelihood`) or ``L-BFGS-B`` on the NLL with the
gradient J^T r. Results are sorted by final NLL (the waterfall).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import optimize, stats

from exomir.calibrate.objective import NegLogLikelihood
from exomir.calibrate.problem import CalibrationProblem
from exomir.core import InputError

Method = Literal["ls_trf", "L-BFGS-B"]


@dataclass
class Start:
    """One local optimisation: where it started and where it ended."""

    index: int
    x0: np.ndarray
    x: np.ndarray
    nll: float
    nll0: float
    n_eval: int
    seconds: float
    converged: bool
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "x0": self.x0.tolist(), "x": self.x.tolist(),
                "nll": self.nll, "nll0": self.nll0, "n_eval": self.n_eval,
                "seconds": self.seconds, "converged": self.converged, "message": self.message}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Start:
        return cls(d["index"], np.asarray(d["x0"]), np.asarray(d["x"]),
                   float(d["nll"] if d["nll"] is not None else np.inf),
                   float(d["nll0"] if d["nll0"] is not None else np.inf),
                   int(d["n_eval"]), float(d["seconds"]), bool(d["converged"]),
                   str(d["message"]))


def start_points(problem: CalibrationProblem, n: int, seed: int = 0,
                 sampler: Literal["lhs", "sobol"] = "lhs",
                 include_nominal: bool = True) -> np.ndarray:
    """n start vectors (estimation scale) within the bounds."""
    if n < 1:
        raise InputError("must be >= 1", field="--starts", value=n)
    if sampler not in ("lhs", "sobol"):
        raise InputError("unknown sampler", field="--sampler", value=sampler,
                         accepted="lhs, sobol")
    lo, hi = problem.x_bounds()
    d = lo.size
    k = n - 1 if include_nominal else n
    if k > 0:
        eng = (stats.qmc.LatinHypercube(d=d, seed=seed) if sampler == "lhs"
               else stats.qmc.Sobol(d=d, scramble=True, seed=seed))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Sobol balance warning for n not a power of 2
            u = eng.random(k)
        pts = lo + u * (hi - lo)
    else:
        pts = np.empty((0, d))
    if include_nominal:
        pts = np.vstack([np.clip(problem.x_nominal(), lo, hi)[None, :], pts])
    return pts


def local_fit(objective: NegLogLikelihood, x0: np.ndarray, method: Method = "ls_trf",
              max_nfev: int | None = None, fixed: dict[int, float] | None = None,
              xtol: float = 1e-10, ftol: float = 1e-10) -> tuple[np.ndarray, float, int, bool,
                                                                str]:
    """One local optimisation from x0 (``fixed``: index -> value held constant, for profiles).

    Returns (x, nll, evaluations, converged, message)."""
    lo, hi = objective.problem.x_bounds()
    p = lo.size
    fixed = fixed or {}
    free = np.array([k for k in range(p) if k not in fixed], dtype=int)
    base = np.asarray(x0, dtype=float).copy()
    for k, v in fixed.items():
        base[k] = v
    n0 = objective.n_calls

    def full(z: np.ndarray) -> np.ndarray:
        x = base.copy()
        x[free] = z
        return x

    z0 = np.clip(base[free], lo[free], hi[free])
    if free.size == 0:
        x = base
        return x, objective.nll(x), 1, True, "nothing free"
    cache: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}

    def rj(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        key = np.asarray(z, dtype=float).tobytes()
        if key not in cache:
            cache.clear()
            r, J = objective.jacobian(full(z))
            cache[key] = (r, J[:, free])
        return cache[key]

    nfev = max_nfev or 100 * (free.size + 1)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if method == "ls_trf":
            res = optimize.least_squares(lambda z: rj(z)[0], z0, jac=lambda z: rj(z)[1],
                                         bounds=(lo[free], hi[free]), method="trf",
                                         x_scale=1.0, xtol=xtol, ftol=ftol, gtol=1e-10,
                                         max_nfev=nfev)
            z = res.x
            ok = bool(res.success)
            msg = str(res.message)
        elif method == "L-BFGS-B":
            def fg(z: np.ndarray) -> tuple[float, np.ndarray]:
                r, J = rj(z)
                return float(0.5 * r @ r), J.T @ r
            res = optimize.minimize(fg, z0, jac=True, method="L-BFGS-B",
                                    bounds=list(zip(lo[free], hi[free], strict=True)),
                                    options={"maxiter": nfev, "ftol": ftol, "gtol": 1e-8})
            z = res.x
            ok = bool(res.success)
            msg = str(res.message)
        else:
            raise InputError("unknown optimiser", field="--optimizer", value=method,
                             accepted="ls_trf, L-BFGS-B")
    x = full(z)
    r = rj(z)[0]
    nll = float(0.5 * r @ r + objective.cost_constant())
    return x, nll, objective.n_calls - n0, ok, msg


def multistart(problem: CalibrationProblem, n_starts: int = 50, seed: int = 0, *,
               sampler: Literal["lhs", "sobol"] = "lhs", method: Method = "ls_trf",
               objective: NegLogLikelihood | None = None,
               progress: Callable[[int, int, float], None] | None = None,
               include_nominal: bool = True, **obj_kw: Any) -> list[Start]:
    """Local fits from ``n_starts`` start points; sorted by final NLL (best first).

    ``progress(done, total, best_nll)`` is called after each start."""
    f = objective or NegLogLikelihood(problem, **obj_kw)
    X0 = start_points(problem, n_starts, seed, sampler, include_nominal)
    out: list[Start] = []
    best = np.inf
    for i, x0 in enumerate(X0):
        t0 = time.perf_counter()
        nll0 = f.nll(x0)
        try:
            x, nll, nev, ok, msg = local_fit(f, x0, method)
        except (ValueError, np.linalg.LinAlgError) as exc:
            x, nll, nev, ok, msg = x0, np.inf, 0, False, f"failed: {exc}"
        out.append(Start(i, x0, x, nll, nll0, nev, time.perf_counter() - t0, ok, msg))
        best = min(best, nll)
        if progress is not None:
            progress(i + 1, len(X0), best)
    out.sort(key=lambda s: (not np.isfinite(s.nll), s.nll))
    return out
