"""Calibration of the body model: PEtab problems, multistart fits, profile likelihoods.

Layout (as pyPESTO's): ``problem`` (CalibrationProblem, the short exomir YAML), ``objective``
(NegLogLikelihood over ``body.simulate``), ``optimize`` (multistart), ``profile`` (profile
likelihoods), ``result`` (CalibrationResult: save/load, calibrated-parameter file),
``petab_io`` (the only module importing petab), ``report`` and ``cli``. Import the submodules;
this package imports nothing eagerly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from exomir.calibrate.problem import CalibrationProblem
    from exomir.calibrate.result import CalibrationResult


def calibrate(problem: CalibrationProblem, n_starts: int = 50, *, seed: int = 0,
              profile: bool | Sequence[str] = False, sampler: Literal["lhs", "sobol"] = "lhs",
              method: Literal["ls_trf", "L-BFGS-B"] = "ls_trf", rtol: float = 1e-9,
              engine: Literal["auto", "compiled", "numpy"] = "auto",
              fd: Literal["forward", "central"] = "forward",
              progress: Callable[[str, float, str], None] | None = None,
              refit_unidentified: bool = True) -> CalibrationResult:
    """Multistart fit, Fisher covariance, optional profiles, one result.

    ``progress(stage, fraction, text)`` reports starts ("starts") and profiles ("profile").
    A profile that finds a lower NLL than the best start restarts the local fit from there
    (once) and profiles again. Non-identified parameters are then fixed at their stated values
    and the others refitted (``result.final``)."""
    import time

    import numpy as np

    from exomir.calibrate.objective import NegLogLikelihood
    from exomir.calibrate.optimize import Start, local_fit, multistart
    from exomir.calibrate.profile import profiles
    from exomir.calibrate.result import CalibrationResult, covariance_from_fisher

    f = NegLogLikelihood(problem, rtol=rtol, engine=engine, fd=fd)
    t0 = time.perf_counter()
    cb = None if progress is None else (
        lambda i, n, best: progress("starts", i / n, f"start {i}/{n}, best NLL {best:.4g}"))
    starts = multistart(problem, n_starts, seed, sampler=sampler, method=method, objective=f,
                        progress=cb)
    timings = {"starts_s": time.perf_counter() - t0}
    best = starts[0]
    x, nll = best.x, best.nll
    names = (problem.names if profile is True else list(profile) if profile else [])
    prof: dict[str, Any] = {}
    for _round in range(2):
        F = f.fisher(x)
        if not names:
            break
        t1 = time.perf_counter()
        se = np.sqrt(np.clip(np.diag(covariance_from_fisher(F)), 0, None))
        pcb = None if progress is None else (
            lambda n, fr: progress("profile", (names.index(n) + fr) / len(names),
                                   f"profile {n}"))
        prof = profiles(f, x, nll, names, se=se, progress=pcb)
        timings["profiles_s"] = timings.get("profiles_s", 0.0) + time.perf_counter() - t1
        better = [p.better_optimum for p in prof.values() if p.better_optimum is not None]
        if not better:
            break
        cand = [local_fit(f, b, method) for b in better]
        xb, vb, nev, ok, msg = min(cand, key=lambda c: c[1])
        if vb >= nll - 1e-6:
            break
        starts.insert(0, Start(-1, better[0], xb, vb, vb, nev, 0.0, ok,
                               "refit from a profile point (" + msg + ")"))
        x, nll = xb, vb
    res = CalibrationResult(problem=problem, starts=starts, x=np.asarray(x), nll=float(nll),
                            fisher=f.fisher(x) if prof else F, profiles=prof,
                            settings={"n_starts": n_starts, "seed": seed, "sampler": sampler,
                                      "optimizer": method, "rtol": rtol, "fd": fd,
                                      "fd_step": f.fd_step, "engine": engine},
                            timings=timings)
    unident = [n for n, p in prof.items() if p.verdict != "identifiable"]
    if refit_unidentified and unident:
        idx = {problem.names.index(n): problem.param(n).to_x(problem.param(n).nominal)
               for n in unident}
        xr, vr, _, ok, msg = local_fit(f, res.x, method, fixed=idx)
        res.final = {"fixed": unident, "nll": vr, "converged": ok,
                     "values": {p.id: float(p.from_x(v)) for p, v in
                                zip(problem.estimated, xr, strict=True)}}
    ev = f.evaluate(res.x)
    res.predictions = {"fit": ev.y[0].tolist(), "sigma": ev.sigma[0].tolist(),
                       "residual": f.weighted(ev.y[0], ev.sigma[0]).tolist()}
    if problem.held_out is not None:
        g = NegLogLikelihood(problem, rtol=rtol, engine=engine, include_held_out=True)
        y = g.predict(res.x)
        res.predictions["held_out"] = y[f.m:].tolist()
    res.predictions["curves"] = {k: (t.tolist(), v.tolist())
                                 for k, (t, v) in f.curves(res.x).items()}
    res.timings["total_s"] = time.perf_counter() - t0
    res.settings["n_simulated_subjects"] = f.n_sim
    return res
