"""Benchmark: N virtual subjects over 28 days, exomir batched solver vs libRoadRunner.

Runs the diabetic-wound hydrogel example (two applications, depot release, one target gene):
* exomir: one batched call for N subjects (wall time, peak traced memory);
* one subject (median of 5 runs);
* libRoadRunner on the exported SBML for the SAME parameter sets, in one process: a loop of
  set parameters + reset + simulate on the same output grid. By default roadrunner is timed on
  a subset (``--rr-subjects``) and extrapolated linearly to N (stated in the output).
Both at relative tolerance ``--rtol`` (default 1e-6, roadrunner's default); roadrunner's
absolute tolerance 1e-12 (amounts are particles ~1e9, so it acts as pure relative control);
exomir's absolute tolerance 1e-9 x dose for particle states.

    PYTHONPATH=src python benchmarks/bench_body.py [--subjects 10000] [--rr-subjects 500]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from pathlib import Path

import numpy as np

from exomir.body import build_model, load_spec, simulate
from exomir.body.sbml import to_sbml

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--subjects", type=int, default=10_000)
    ap.add_argument("--rr-subjects", type=int, default=500)
    ap.add_argument("--rtol", type=float, default=1e-6)
    ap.add_argument("--spec", default=str(ROOT / "examples" / "diabetic_wound_hydrogel.yaml"))
    a = ap.parse_args()
    model = build_model(load_spec(a.spec))
    ts = np.linspace(0.0, 28.0, 113)

    one = []
    for _ in range(5):
        t0 = time.perf_counter()
        simulate(model, 1, variability=False, times=ts, rtol=a.rtol)
        one.append(time.perf_counter() - t0)
    t_one = float(np.median(one))

    tracemalloc.start()
    t0 = time.perf_counter()
    res = simulate(model, a.subjects, seed=1, times=ts, rtol=a.rtol)
    t_ex = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    import roadrunner

    rr = roadrunner.RoadRunner(to_sbml(model))
    rr.integrator.relative_tolerance = a.rtol
    rr.integrator.absolute_tolerance = 1e-12
    names = [p for p in res.params if p in set(rr.model.getGlobalParameterIds())]
    n_rr = min(a.rr_subjects, a.subjects)
    worst = 0.0
    t0 = time.perf_counter()
    for k in range(n_rr):
        rr.resetAll()
        for p in names:
            rr[p] = float(res.params[p][k])
        rr.reset()
        out = rr.simulate(times=list(ts), selections=["time", "skin_wound", "wound_closure"])
        if k < 20:  # spot-check agreement on two states
            for col, sid in ((1, "skin_wound"), (2, "wound_closure")):
                b = res.Y[k, model.index[sid]]
                m = np.abs(b) > 1e-6 * np.abs(b).max()
                worst = max(worst, float(np.max(np.abs(out[:, col][m] - b[m]) / np.abs(b[m]))))
    t_rr_sub = time.perf_counter() - t0
    t_rr = t_rr_sub / n_rr * a.subjects

    print(f"model: {a.spec} ({len(model.species)} states), 28 days, {ts.size} outputs, "
          f"rtol {a.rtol:g}")
    print(f"exomir, {a.subjects} subjects (one batched solve): {t_ex:.2f} s, "
          f"{res.stats.steps} steps, peak traced memory {peak / 2**20:.0f} MiB")
    print(f"exomir, one subject: {1e3 * t_one:.1f} ms (target < 50 ms)")
    print(f"libRoadRunner, {n_rr} subjects timed: {t_rr_sub:.2f} s "
          f"({1e3 * t_rr_sub / n_rr:.2f} ms/subject); "
          + ("" if n_rr == a.subjects else f"extrapolated to {a.subjects}: ")
          + f"{t_rr:.1f} s")
    print(f"ratio roadrunner/exomir for the ensemble: {t_rr / t_ex:.2f}x (target >= 10x)")
    print(f"max relative difference (20 subjects, 2 states): {worst:.2e}")


if __name__ == "__main__":
    main()
