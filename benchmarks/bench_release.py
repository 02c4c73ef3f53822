"""Benchmark: fitting release models to 20-point x 3-replicate curves.

Prints (1) the time to fit all library models to one curve, (2) the time for N curves
(default 1000) with the chosen model set, and (3) the ratio against a plain
``scipy.optimize.curve_fit`` loop over the same models and curves (same bounds, same first
start; our fitter adds multi-starts, statistics and CIs). Run:

    PYTHONPATH=src python benchmarks/bench_release.py [--curves 1000] [--models base|all]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
import warnings

import numpy as np
from scipy import optimize

from exomir.release.fit import _characteristic_time, _starts, fit_models
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


def curve_fit_loop(curves: list[ReleaseData], models: str) -> None:
    ms = parse_model_list(models)
    for d in curves:
        tc, fend = _characteristic_time(d.t_days, d.released)
        for m in ms:
            t, y, s = d.t_days, d.released, d.sd
            if m.power_law:
                continue  # compared on the same full-data models only
            x0 = _starts(m, tc, fend)[0]
            lo = [p.lower for p in m.params]
            hi = [p.upper for p in m.params]
            with contextlib.suppress(RuntimeError, ValueError):
                optimize.curve_fit(lambda t, *p, m=m: m.func(t, *p), t, y, p0=x0, sigma=s,
                                   bounds=(lo, hi), method="trf")


def ours(curves: list[ReleaseData], models: str) -> None:
    for d in curves:
        fit_models(d, models)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--curves", type=int, default=1000)
    ap.add_argument("--models", default="base")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    one = make_curves(1, seed=99)
    reps = []
    for _ in range(5):
        t0 = time.perf_counter()
        rep = fit_models(one[0], "all")
        reps.append(time.perf_counter() - t0)
    print(f"all {len(rep.fits)} models, one 20-point x 3-replicate curve: "
          f"median {statistics.median(reps) * 1e3:.0f} ms (5 runs)")
    curves = make_curves(args.curves)
    t0 = time.perf_counter()
    ours(curves, args.models)
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    curve_fit_loop(curves, args.models)
    t_ref = time.perf_counter() - t0
    n_models = len(parse_model_list(args.models))
    print(f"{args.curves} curves x {n_models} models ({args.models}): exomir {t_ours:.1f} s "
          f"({t_ours / args.curves * 1e3:.0f} ms/curve), plain curve_fit loop {t_ref:.1f} s; "
          f"ratio exomir/curve_fit = {t_ours / t_ref:.2f}")


if __name__ == "__main__":
    main()
