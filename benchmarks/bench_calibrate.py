"""Benchmark: a 10-parameter, 4-arm calibration, exomir vs pyPESTO + libRoadRunner, one run.

Problem (written to a temporary folder): mouse i.v. EVs, four arms that share one SBML block
(PEtab conditions: doses 1e9, 1e11 and 1e12 particles - the last two saturate the MPS - and
1e9 with macrophages depleted, mps_factor = 0); 40 log-normal observations (plasma %ID at
5 min - 24 h, liver %ID at 1, 4, 24 h, spleen, lung, kidney %ID; no liver/spleen rows in the
depleted arm) generated from the body
defaults with sigma = 0.1 (seeded); 10 estimated rate constants on log10 scale.

* exomir: ``--starts`` (50) Latin-hypercube starts, least squares (trf) and L-BFGS-B, the
  batched forward-difference Jacobian (p + 1 subjects per arm in one compiled call).
* pyPESTO 0.7 on the exported PEtab files: ``PetabImporterRR`` (libRoadRunner, CVODE at rtol
  1e-8, atol 1e-6: pyPESTO's defaults 1e-6/1e-12 with its 1e-6 FD step stopped L-BFGS-B early),
  gradients by ``pypesto.objective.FD`` (forward differences, step 1e-5, as exomir's forward
  differences), ``ScipyOptimizer('L-BFGS-B')``, started from the first ``--pp-starts`` points
  of the same hypercube; its time is extrapolated linearly to ``--starts`` and the script says
  so.
* "equal final objective": each tool's best NLL is printed; the ratio is reported together
  with the NLL gap.
* sensitivities: the Jacobian at the optimum by forward differences through the compiled
  engine (per-subject step control) and through the numpy engine (one shared step sequence),
  each against a tight central-difference reference (time, max relative error); and forward
  sensitivity equations for one arm (scipy LSODA on [y, S], numpy evaluator; Radau and BDF
  did not finish in 200 s).
* interval coverage: ``--coverage`` (100) synthetic data sets of the small problem of
  tests/calibrate/synthetic.py, 95 % profile intervals of both parameters.

    PYTHONPATH=src:. python benchmarks/bench_calibrate.py [--starts 50] [--pp-starts 3]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from exomir.calibrate.objective import NegLogLikelihood
from exomir.calibrate.optimize import local_fit, multistart, start_points
from exomir.calibrate.petab_io import write_petab
from exomir.calibrate.problem import CalibrationProblem, load_problem

PARAMS = ["k_liver_uptake", "k_spleen_uptake", "k_lung_uptake", "k_kidney_uptake",
          "k_rest_uptake", "k_plasma_elim", "k_rest_return", "k_liver_deg", "k_kidney_return",
          "km_mps"]
ARMS = [("low", 1e9, None), ("mid", 1e11, None), ("high", 1e12, None), ("mpsoff", 1e9, 0.0)]
ROWS = ([("plasma", t) for t in (5 / 1440, 0.5 / 24, 2 / 24, 8 / 24, 1.0)]
        + [("liver", t) for t in (1 / 24, 4 / 24, 1.0)]
        + [("spleen", 4 / 24), ("lung", 4 / 24), ("kidney", 1 / 24)])
SIGMA = 0.1


def write_problem(d: Path, seed: int = 0) -> Path:
    arms = "\n".join(
        f"  - {{id: {a}, dose: {dose!r}"
        + (f", parameters: {{mps_factor: {m}}}" if m is not None else "") + "}"
        for a, dose, m in ARMS)
    obs = "\n".join(
        f"  - {{id: {o}_pct_id, kind: {'plasma_pct_id' if o == 'plasma' else 'organ_pct_id'}"
        + ("" if o == "plasma" else f", tissue: {o}") + f", noise: lognormal, sigma: {SIGMA}}}"
        for o in ("plasma", "liver", "spleen", "lung", "kidney"))
    par = "\n".join(f"  - {{id: {p}, scale: log10, lower: {lo!r}, upper: {hi!r}}}"
                    for p, lo, hi in _bounds())
    (d / "bench.yaml").write_text(f"""id: bench_pk4
spec:
  name: benchmark
  indication: diabetic_wound
  delivery: {{route: intravenous}}
  regimen: {{dose: {{value: 1.0e9, unit: particles}}}}
  subject: {{species: mouse}}
  days: 1
conditions:
{arms}
observables:
{obs}
data: [bench.csv]
parameters:
{par}
""")
    lines = ["arm,time,observable,mean,unit"]
    lines += [f"{a},{t!r},{o}_pct_id,1.0,%ID" for a, _, m in ARMS for o, t in ROWS
              if not (m == 0.0 and o in ("liver", "spleen"))]  # no MPS uptake without MPS
    (d / "bench.csv").write_text("\n".join(lines) + "\n")
    p = load_problem(d / "bench.yaml")
    clean = NegLogLikelihood(p).predict(p.x_nominal())
    rng = np.random.default_rng(seed)
    noisy = clean * np.exp(SIGMA * rng.standard_normal(clean.size))
    lines = ["arm,time,observable,mean,unit"]
    for (_, r), v in zip(p.measurements.iterrows(), noisy, strict=True):
        lines.append(f"{r['simulationConditionId']},{float(r['time'])!r},{r['observable']},"
                     f"{float(v)!r},%ID")
    (d / "bench.csv").write_text("\n".join(lines) + "\n")
    return d / "bench.yaml"


def _bounds() -> list[tuple[str, float, float]]:
    from exomir.body.params import parameter_table

    t = parameter_table("diabetic_wound", "mouse")
    return [(p, t[p].value / 10, t[p].value * 10) for p in PARAMS]


def run_exomir(p: CalibrationProblem, n: int, method: str) -> tuple[float, float, int]:
    f = NegLogLikelihood(p, rtol=1e-8)
    f.nll(p.x_nominal())  # load the compiled kernel before timing
    t = time.perf_counter()
    st = multistart(p, n, seed=0, method=method, objective=f,  # type: ignore[arg-type]
                    include_nominal=False)
    dt = time.perf_counter() - t
    best = st[0].nll
    return dt, best, sum(1 for s in st if s.nll - best < 1e-3)


def run_pypesto(y: Path, p: CalibrationProblem, n: int) -> tuple[float, float, list[float]]:
    import pypesto
    import pypesto.optimize as optimize
    from pypesto.objective import FD
    from pypesto.objective.roadrunner import PetabImporterRR, SolverOptions

    logging.getLogger("petab").setLevel(logging.ERROR)
    imp = PetabImporterRR.from_yaml(str(y))
    obj = imp.create_objective()
    # pyPESTO's defaults (rtol 1e-6, atol 1e-12, FD step 1e-6) stopped L-BFGS-B early at
    # NLL ~19.8 instead of 13.8 (noisy finite differences); these settings reached the optimum
    obj.solver_options = SolverOptions(relative_tolerance=1e-8, absolute_tolerance=1e-6)
    prob = imp.create_problem(objective=obj)
    fprob = pypesto.Problem(FD(prob.objective, method="forward", delta_fun=1e-5,
                               delta_grad=1e-5), lb=prob.lb_full,
                            ub=prob.ub_full, x_fixed_indices=prob.x_fixed_indices,
                            x_fixed_vals=prob.x_fixed_vals, x_names=prob.x_names,
                            x_scales=prob.x_scales)
    x0 = start_points(p, n, seed=0, include_nominal=False)
    fprob.set_x_guesses([fprob.get_full_vector(x, fprob.x_fixed_vals) for x in x0])
    prob.objective(x0[0])  # build the roadrunner model before timing
    t = time.perf_counter()
    res = optimize.minimize(fprob, optimize.ScipyOptimizer(method="L-BFGS-B"), n_starts=n,
                            progress_bar=False)
    dt = time.perf_counter() - t
    fv = [float(r.fval) for r in res.optimize_result]
    return dt, min(fv), fv


def _arm_sensitivities(m: Any, vals: dict[str, np.ndarray], names: list[str],
                       times: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """States Y (n, T) and sensitivities S (n, p, T) w.r.t. log10 of ``names`` for one arm:
    S' = J S + df/dtheta, scipy LSODA on [y, S] with the block-diagonal Jacobian;
    df/dtheta by differences of the right-hand side (no integration)."""
    from scipy.integrate import solve_ivp

    from exomir.body.model import Evaluator

    flat = m.flat_params(vals)
    ev = Evaluator(m, flat)
    n, p = len(m.species), len(names)
    A = ev.A[0]
    h = 1e-7
    evs = []
    for name in names:
        v2 = {kk: vv.copy() for kk, vv in vals.items()}
        v2[name] = v2[name] * np.exp(h * np.log(10))  # d/d log10
        evs.append(Evaluator(m, m.flat_params(v2)))

    def jac_y(t: float, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dy, ent = ev.rhs(t, y.reshape(n, 1), jac=True)
        Jm = A.copy()
        for i, j, c in ent:
            Jm[i, j] += c[0]
        return dy[:, 0], Jm

    def rhs(t: float, z: np.ndarray) -> np.ndarray:
        dy, Jm = jac_y(t, z[:n])
        dS = Jm @ z[n:].reshape(n, p)
        for k, ev2 in enumerate(evs):
            dS[:, k] += (ev2.rhs(t, z[:n].reshape(n, 1))[0][:, 0] - dy) / h
        return np.concatenate([dy, dS.ravel()])

    def jac(t: float, z: np.ndarray) -> np.ndarray:
        return _blockdiag(jac_y(t, z[:n])[1], n, p)

    y0 = m.initial_state(flat)[0] + m.dose_jump(flat)[0]
    z0 = np.concatenate([y0, np.zeros(n * p)])  # the dose depends on no estimated parameter
    atol = np.concatenate([np.full(n, 1e-12 * flat["dose"][0]), np.full(n * p, 1e-6)])
    sol = solve_ivp(rhs, (0.0, float(times[-1])), z0, method="LSODA", jac=jac, t_eval=times,
                    rtol=1e-8, atol=atol)
    return sol.y[:n], sol.y[n:].reshape(n, p, -1), float(flat["dose"][0])


def forward_sensitivity_jacobian(f: NegLogLikelihood, x: np.ndarray, arms: int = 99
                                 ) -> tuple[np.ndarray, np.ndarray]:
    """d residuals / d x by forward sensitivity equations for the first ``arms`` arms
    (observables 100 * state / dose, log-normal residuals (ln m - ln y)/sigma, so
    d r / d x = -(dy/dx)/(y sigma)); returns the Jacobian and the rows filled."""
    pr = f.problem
    J = np.zeros((f.m, x.size))
    lin = pr.linear(x)
    done: list[int] = []
    for arm in f.arms[:arms]:
        m = arm.cond.model
        over = {**arm.cond.fixed, **{k: lin[k] for k in pr.names}}
        vals = {q.name: np.array([over.get(q.name, q.value)]) for q in m.table}
        Y, S, dose = _arm_sensitivities(m, vals, pr.names, arm.times)
        for _oid, form, pos in arm.obs:
            sid = next(s for s in form.symbols if s in m.species)
            i = m.index[sid]
            yy = 100 * Y[i] / dose
            dd = 100 * S[i] / dose
            for r, c in zip(arm.rows[pos], arm.col[pos], strict=True):
                J[r, :] = -(dd[:, c] / yy[c]) / SIGMA
                done.append(int(r))
    return J, np.array(done, dtype=int)


def _blockdiag(Jm: np.ndarray, n: int, p: int) -> np.ndarray:
    """The augmented Jacobian [[J, 0], [0, I (x) J]] for z = [y, S (state-major, n x p)]."""
    out = np.zeros((n * (p + 1), n * (p + 1)))
    out[:n, :n] = Jm
    # S is stored state-major (row i, column k at n + i*p + k): d(JS)_ik/dS_jk = J_ij
    for k in range(p):
        idx = n + np.arange(n) * p + k
        out[np.ix_(idx, idx)] = Jm
    return out


def sensitivities(p: CalibrationProblem, x: np.ndarray) -> list[str]:
    out = []
    ref_f = NegLogLikelihood(p, rtol=1e-11, fd="central", fd_step=1e-4, engine="compiled")
    _, Jref = ref_f.jacobian(x)
    scale = np.abs(Jref).max()

    def err(J: np.ndarray) -> float:
        return float(np.abs(J - Jref).max() / scale)

    for label, kw in (("forward differences, compiled engine, rtol 1e-8", {"rtol": 1e-8}),
                      ("forward differences, compiled engine, rtol 1e-6", {"rtol": 1e-6}),
                      ("forward differences, numpy engine (shared steps), rtol 1e-6",
                       {"rtol": 1e-6, "engine": "numpy"})):
        f = NegLogLikelihood(p, **kw)  # type: ignore[arg-type]
        f.jacobian(x)
        t = time.perf_counter()
        for _ in range(5):
            _, J = f.jacobian(x)
        out.append(f"  {label}: {(time.perf_counter() - t) / 5 * 1e3:8.1f} ms, max rel. error "
                   f"{err(J):.1e}")
    f = NegLogLikelihood(p)
    t = time.perf_counter()
    J, rows = forward_sensitivity_jacobian(f, x, arms=1)
    out.append(f"  forward sensitivity equations, ONE of {len(f.arms)} arms (scipy LSODA, "
               f"rtol 1e-8): {(time.perf_counter() - t) * 1e3:8.1f} ms, max rel. error "
               f"{float(np.abs(J[rows] - Jref[rows]).max() / scale):.1e}")
    return out


def coverage(n: int) -> str:
    from tests.calibrate.synthetic import load, replicate, truth_and_clean

    from exomir.calibrate.profile import profiles

    with tempfile.TemporaryDirectory() as d:
        p = load(Path(d))
    x_true, clean = truth_and_clean(p)
    rng = np.random.default_rng(100)
    cov = np.zeros(2, dtype=int)
    t = time.perf_counter()
    for _ in range(n):
        q = replicate(p, clean, rng)
        f = NegLogLikelihood(q, rtol=1e-8)
        x, v, *_ = local_fit(f, x_true)
        for i, prof in enumerate(profiles(f, x, v).values()):
            lo, hi = prof.ci_x
            cov[i] += int(lo is not None and hi is not None and lo <= x_true[i] <= hi)
    return (f"  {n} synthetic data sets: k_liver_uptake covered {cov[0]}/{n}, k_rest_uptake "
            f"{cov[1]}/{n} (95 % profile intervals; {time.perf_counter() - t:.0f} s)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--starts", type=int, default=50)
    ap.add_argument("--pp-starts", type=int, default=3)
    ap.add_argument("--coverage", type=int, default=100)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        p = load_problem(write_problem(d))
        print(f"problem: {len(p.names)} parameters, {len(p.conditions)} arms, "
              f"{len(p.measurements)} observations")
        y = write_petab(p, d / "petab", constant_noise=True)
        te, be, ne = run_exomir(p, a.starts, "ls_trf")
        print(f"exomir least squares (trf), {a.starts} starts: {te:7.1f} s, best NLL "
              f"{be:.6f}, {ne} starts within 1e-3 of it")
        tl, bl, nl = run_exomir(p, a.starts, "L-BFGS-B")
        print(f"exomir L-BFGS-B,            {a.starts} starts: {tl:7.1f} s, best NLL "
              f"{bl:.6f}, {nl} starts within 1e-3 of it")
        tp, bp, fv = run_pypesto(y, p, a.pp_starts)
        tpx = tp / a.pp_starts * a.starts
        print(f"pyPESTO + libRoadRunner L-BFGS-B, {a.pp_starts} starts: {tp:7.1f} s "
              f"-> extrapolated to {a.starts} starts: {tpx:7.1f} s; best NLL {bp:.6f} "
              f"(final NLLs {', '.join(f'{v:.4f}' for v in fv)})")
        ex_l = run_exomir(p, a.pp_starts, "L-BFGS-B")
        print(f"exomir L-BFGS-B on the same {a.pp_starts} starts: {ex_l[0]:.2f} s, best NLL "
              f"{ex_l[1]:.6f}")
        print(f"ratio (pyPESTO extrapolated / exomir trf): {tpx / te:6.1f}x; "
              f"NLL gap exomir - pyPESTO = {be - bp:+.2e}")
        print(f"ratio (pyPESTO / exomir, both L-BFGS-B, same {a.pp_starts} starts): "
              f"{tp / ex_l[0]:6.1f}x; NLL gap {ex_l[1] - bp:+.2e}")
        f = NegLogLikelihood(p)
        x, *_ = local_fit(f, p.x_nominal())
        print(f"Jacobian at the optimum ({len(p.measurements)} x {len(p.names)}):")
        for ln in sensitivities(p, x):
            print(ln)
    if a.coverage:
        print("interval coverage:")
        print(coverage(a.coverage))


if __name__ == "__main__":
    main()
