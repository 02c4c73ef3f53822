"""Benchmark: fitting release models to 20-point x 3-replicate curves, against curve_fit.

Prints (1) the time to fit all library models to one curve, (2) the time for N curves
(default 1000) x the chosen model set with every statistic (``fit_many``: each model fitted to
all curves in one batched solve), and (3) the ratio against a plain ``scipy.optimize.curve_fit``
loop over the same models and curves in the same run (same bounds, same first start, no
statistics; Korsmeyer-Peppas, fitted by exomir on F <= 0.6 only, is left out of the loop), and
(4) how exomir's estimates compare with curve_fit's: equal to 0.2 %, or, where not, which
WSSR is lower (exomir refines several starts of multimodal models). Wall and CPU times.
Run:

    PYTHONPATH=src python benchmarks/bench_release.py [--curves 1000] [--models base|all]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import time
import warnings

import numpy as np
from scipy import optimize

from exomir.release.fit import _characteristic_time, _starts, fit_many, fit_models
from exomir.release.io import ReleaseData
from exomir.release.models import parse_model_list

T = np.geomspace(0.05, 14, 20)


def make_curves(n: int, seed: int = 0) -> list[ReleaseData]:
    rng = np.random.default_rng(seed)
    out = []
    tt = np.tile(T, 3)
    reps = np.repeat(np.array(["a", "b", "c"]), T.size)
    for _ in range(n):
        a, b = rng.uniform(1, 5), rng.uniform(0.5, 1.2)
        f = 1 - np.exp(-tt**b / a)
        y = np.clip(f + rng.normal(0, 0.02, tt.size), 0, 1)
        out.append(ReleaseData(t_days=tt, released=y, sd=np.full(tt.size, 0.02),
                               replicate=reps, source="synthetic"))
    return out


def curve_fit_loop(curves: list[ReleaseData], models: str
                   ) -> dict[tuple[int, str], np.ndarray]:
    """Plain curve_fit of every (non power-law) model to every curve; the estimates."""
    ms = parse_model_list(models)
    out = {}
    for i, d in enumerate(curves):
        tc, fend = _characteristic_time(d.t_days, d.released)
        for m in ms:
            t, y, s = d.t_days, d.released, d.sd
            if m.power_law:
                continue  # compared on the same full-data models only
            x0 = _starts(m, tc, fend)[0]
            lo = [p.lower for p in m.params]
            hi = [p.upper for p in m.params]
            with contextlib.suppress(RuntimeError, ValueError):
                popt, _ = optimize.curve_fit(lambda t, *p, m=m: m.func(t, *p), t, y, p0=x0,
                                             sigma=s, bounds=(lo, hi), method="trf")
                out[(i, m.name)] = popt
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--curves", type=int, default=1000)
    ap.add_argument("--models", default="base")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    print(f"load1/5/15 before: {os.getloadavg()}  cpus: {os.cpu_count()}")
    one = make_curves(1, seed=99)
    fit_models(one[0], "all")
    reps = []
    for _ in range(5):
        t0 = time.perf_counter()
        rep = fit_models(one[0], "all")
        reps.append(time.perf_counter() - t0)
    print(f"all {len(rep.fits)} models, one 20-point x 3-replicate curve: "
          f"median {statistics.median(reps) * 1e3:.0f} ms (5 runs)")
    curves = make_curves(args.curves)
    t0, c0 = time.perf_counter(), time.process_time()
    reports = fit_many(curves, args.models)
    t_ours, c_ours = time.perf_counter() - t0, time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    ref = curve_fit_loop(curves, args.models)
    t_ref, c_ref = time.perf_counter() - t0, time.process_time() - c0
    n_models = len(parse_model_list(args.models))
    print(f"{args.curves} curves x {n_models} models ({args.models}) with every statistic: "
          f"exomir {t_ours:.1f} s wall ({c_ours:.1f} s CPU, {t_ours / args.curves * 1e3:.1f} "
          f"ms/curve); plain curve_fit loop ({n_models - 1} models, no statistics) "
          f"{t_ref:.1f} s wall ({c_ref:.1f} s CPU)")
    print(f"ratio exomir/curve_fit = {t_ours / t_ref:.3f} wall, {c_ours / c_ref:.3f} CPU "
          f"(curve_fit / exomir = {t_ref / t_ours:.1f}x)")
    same = lower = higher = 0
    worst = 0.0
    for (i, name), popt in ref.items():
        f = reports[i].get(name)
        rel = np.abs(np.array(f.values) - popt) / np.maximum(np.abs(popt), 1e-9)
        if np.all(rel <= 2e-3):
            same += 1
            worst = max(worst, float(rel.max()))
            continue
        d = reports[i].data
        w = 1.0 / d.sd**2 if d.sd is not None else np.ones(d.n)
        wssr_ref = float(np.sum(w * (f.model.func(d.t_days, *popt) - d.released) ** 2))
        lower += f.wssr < wssr_ref
        higher += f.wssr >= wssr_ref
    print(f"estimates vs curve_fit: {same} of {len(ref)} fits equal to 0.2 % (max relative "
          f"difference {worst:.1e}); of the others exomir's WSSR is lower in {lower}, not "
          f"lower in {higher}")
    print(f"goals: < 30 s: {'met' if t_ours < 30 else 'MISSED'}; no slower than curve_fit: "
          f"{'met' if t_ours <= t_ref else 'MISSED'}")
    print(f"load1/5/15 after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
